using ChipKit.Core.Devices;
using ChipKit.Harness.Devices;

namespace ChipKit.OpenCL.Tests;

public class DeviceTests
{
    [Test]
    public void Every_device_is_listed_as_opencl_P_D_with_its_limits()
    {
        IReadOnlyList<IDevice> devices = ClTestSupport.Devices;
        List<DeviceInfo> infos = new OpenClProvider().List(new DeviceOptions()).ToList();
        Assert.That(infos.Select(i => i.Id), Is.SupersetOf(devices.Select(d => d.Info.Id)));
        foreach (DeviceInfo i in infos.Where(i => i.Available))
        {
            Assert.That(i.Id, Does.Match(@"^opencl:\d+\.\d+$"));
            Assert.That(i.Backend, Is.EqualTo("opencl"));
            foreach (string key in new[] { "vendor", "version", "compute_units", "local_mem_bytes", "max_work_group_size" })
            {
                Assert.That(i.Properties.ContainsKey(key), Is.True, $"{i.Id} lacks {key}");
            }

            Assert.That(int.Parse(i.Properties["compute_units"]), Is.Positive);
            Assert.That(long.Parse(i.Properties["max_work_group_size"]), Is.Positive);
        }
    }

    [Test]
    public void Opencl_alone_opens_the_first_device_and_an_unknown_index_is_an_input_error()
    {
        IReadOnlyList<IDevice> devices = ClTestSupport.Devices;
        var provider = new OpenClProvider();
        using (IDevice d = provider.TryOpen("opencl", new DeviceOptions())!)
        {
            Assert.That(d.Info.Id, Is.EqualTo(devices[0].Info.Id));
            Assert.That(d.TimeSource, Is.EqualTo(TimeSource.DeviceEvents));
        }

        Assert.That(() => provider.TryOpen("opencl:99.0", new DeviceOptions()), Throws.TypeOf<ChipKit.Core.ChipKitInputException>().With.Message.Contain("opencl:99.0"));
        Assert.That(provider.TryOpen("cpu", new DeviceOptions()), Is.Null);
    }

    [Test]
    public void Tiling_respects_the_device_limits()
    {
        static ClDeviceDesc Dev(string type, long wg, long local) => new(0, 0, 0, 0, "p", "d", "v", "OpenCL 1.2", "1", "OpenCL C 1.2",
            type, 1, local, true, wg, [wg, wg, wg], 1 << 30, 1000, "");
        foreach ((string type, long wg, long local) in new[] { ("gpu", 256L, 49152L), ("gpu", 64L, 16384L), ("cpu", 4096L, 524288L), ("accelerator", 16L, 4096L), ("cpu", 1L, 256L) })
        {
            ClTiling t = ClTiling.Choose(Dev(type, wg, local), 4);
            Assert.That(t.WorkGroupSize, Is.LessThanOrEqualTo(wg), $"{type} wg={wg}");
            Assert.That(t.LocalBytes(4), Is.LessThanOrEqualTo(Math.Max(local / 2, 32)), $"{type} local={local}");
            Assert.That(t.TM % t.RM + t.TN % t.RN, Is.Zero);
        }

        Assert.That(Dev("gpu", 256, 1 << 15).Unusable, Is.Null);
        Assert.That((Dev("gpu", 256, 1 << 15) with { Version = "OpenCL 1.1 foo" }).Unusable, Does.Contain("1.2"));
        Assert.That((Dev("gpu", 256, 1 << 15) with { OpenClCVersion = "OpenCL C 1.1" }).Unusable, Does.Contain("OpenCL C 1.2"));
    }

    [Test]
    public void Programs_are_cached_per_device_and_source()
    {
        var d = (OpenClDevice)ClTestSupport.Devices[0];
        ClSource src = d.Sources.Load("gemm/sgemm.cl");
        string opts = new ClTiling(8, 8, 4, 2, 2).Defines + " -DTRANS_A=0 -DTRANS_B=0";
        nint first = d.Program(src, opts);
        Assert.That(d.Program(src, opts), Is.EqualTo(first));
        Assert.That(d.Program(src, opts + " -DUNUSED=1"), Is.Not.EqualTo(first));
    }
}
