using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;

namespace ChipKit.OpenCL.Tests;

/// <summary>
/// The panel GEMM (pack A, pack B, register-blocked micro-kernel) with the blocks other devices get (float4 / float8 /
/// float16 vectors, 1..8 rows, runtime-chosen and fixed work-group sizes), on the first OpenCL device: shapes straddle
/// every panel edge, with every transpose and alpha / beta.
/// </summary>
public class PanelGemmTests
{
    private static readonly ClPanel[] Panels = [new(6, 8, 8), new(8, 16, 0), new(6, 4, 1), new(1, 4, 3), new(5, 8, 0)];

    private static readonly string[] Specs =
    [
        "gemm:m=1,n=1,k=1", "gemm:m=6,n=16,k=1", "gemm:m=7,n=17,k=3", "gemm:m=13,n=33,k=31,ta=1",
        "gemm:m=65,n=66,k=64,tb=1", "gemm:m=48,n=96,k=20,ta=1,tb=1,alpha=-0.5", "gemm:m=31,n=5,k=100,beta=0.75",
        "gemm:m=100,n=130,k=9,ta=1,alpha=2,beta=-1",
    ];

    [Test]
    public void Every_panel_block_matches_the_oracle([ValueSource(nameof(Panels))] ClPanel panel)
    {
        var device = (OpenClDevice)ClTestSupport.Devices[0];
        var tiling = new ClTiling(8, 8, 4, 2, 2);
        foreach (string spec in Specs)
        {
            var wl = (GemmWorkload)WorkloadSpec.Parse(spec);
            OpData data = wl.CreateData(11);
            Expected expected = wl.ComputeReference(data);
            using var k = new ClGemmKernel(device, wl.Desc, tiling, panel);
            Assert.That(k.Name, Is.EqualTo($"opencl.gemm.f32.panel.{panel.PM}x{2 * panel.PV}"));
            k.Prepare(data);
            k.Run();
            VerifyOutcome v = wl.Verify(data, expected);
            Assert.That(v.Passed, Is.True, $"{k.Name} local={panel.Local} on {spec}: {v.Message}");
            wl.PoisonOutput(data);
            double s = k.RunTimed();
            v = wl.Verify(data, expected);
            Assert.That(v.Passed, Is.True, $"{k.Name} local={panel.Local} on {spec} (timed): {v.Message}");
            Assert.That(s, Is.GreaterThan(0));
        }
    }

    [Test]
    public void Panel_block_follows_the_device_vector_width_and_type()
    {
        static ClDeviceDesc Dev(string type, int width, long wg) => new(0, 0, 0, 0, "p", "d", "v", "OpenCL 1.2", "1", "OpenCL C 1.2",
            type, 1, 1 << 16, true, wg, [wg, wg, wg], 1 << 30, 1000, "") { NativeFloatWidth = width };
        Assert.That(ClPanel.Choose(Dev("cpu", 8, 4096)), Is.EqualTo(new ClPanel(6, 8, 8)));
        Assert.That(ClPanel.Choose(Dev("cpu", 16, 4096)), Is.EqualTo(new ClPanel(8, 16, 8)));
        Assert.That(ClPanel.Choose(Dev("cpu", 4, 4096)), Is.EqualTo(new ClPanel(6, 4, 8)));
        Assert.That(ClPanel.Choose(Dev("cpu", 1, 2)), Is.EqualTo(new ClPanel(6, 4, 2)));
        Assert.That(ClPanel.Choose(Dev("gpu", 8, 1024)), Is.Null);
        Assert.That(ClPanel.Choose(Dev("accelerator", 8, 1024)), Is.Null);
    }

    [Test]
    public void The_cpu_device_runs_the_panel_kernel_and_times_all_three_stages()
    {
        var device = (OpenClDevice)ClTestSupport.Devices[0];
        if (device.Desc.Type != "cpu")
        {
            Assert.Ignore($"{device.Desc.Id} is a {device.Desc.Type} device");
        }

        Workload wl = WorkloadSpec.Parse("gemm:m=96,n=128,k=64");
        using IKernel k = device.CreateKernel(wl)!;
        Assert.That(k.Name, Does.StartWith("opencl.gemm.f32.panel."));
        ClTestSupport.CheckWorkload(wl, 3);
    }
}
