using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;
using ChipKit.Cpu;

namespace ChipKit.Cpu.Tests;

[TestFixture]
public class DeviceTests
{
    [Test]
    public void Info_describes_the_host()
    {
        using var dev = new CpuDevice(3);
        DeviceInfo info = dev.Info;
        Assert.Multiple(() =>
        {
            Assert.That(info.Id, Is.EqualTo("cpu"));
            Assert.That(info.Backend, Is.EqualTo("cpu-simd"));
            Assert.That(info.Available, Is.True);
            Assert.That(info.Name, Is.Not.Empty);
            Assert.That(info.Properties["isa"], Is.AnyOf("avx512", "avx2", "sse", "neon", "scalar"));
            Assert.That(info.Properties["threads"], Is.EqualTo("3"));
            Assert.That(long.Parse(info.Properties["l1d_bytes"]), Is.GreaterThan(0));
            Assert.That(long.Parse(info.Properties["l2_bytes"]), Is.GreaterThan(0));
            Assert.That(long.Parse(info.Properties["l3_bytes"]), Is.GreaterThan(0));
            Assert.That(dev.TimeSource, Is.EqualTo(TimeSource.Wall));
        });
    }

    [Test]
    public void Default_threads_is_processor_count()
    {
        using var dev = new CpuDevice();
        Assert.That(dev.Threads, Is.EqualTo(Environment.ProcessorCount));
    }

    [Test]
    public void Every_op_has_a_plain_kernel_last()
    {
        using var dev = new CpuDevice(1);
        foreach (string op in WorkloadSpec.Ops)
        {
            IReadOnlyList<KernelEntry> entries = dev.KernelsFor(op).Entries;
            Assert.That(entries, Has.Count.GreaterThanOrEqualTo(2), op);
            Assert.That(entries[^1].Name, Does.EndWith("naive").Or.EndWith("direct"), op);
        }
    }

    [TestCase("32K", 32 * 1024)]
    [TestCase("1024K", 1024 * 1024)]
    [TestCase("32M", 32 * 1024 * 1024)]
    [TestCase("", 0)]
    public void Parses_sysfs_cache_sizes(string text, long expected) => Assert.That(ChipKit.Core.Platform.CpuInfo.ParseSize(text), Is.EqualTo(expected));

    private static IEnumerable<TestCaseData> NoAllocSpecs()
    {
        yield return new TestCaseData("gemm:m=37,n=45,k=29,ta=1,beta=0.5");
        yield return new TestCaseData("gemm:m=37,n=3,k=29,ta=1,beta=0.5");
        yield return new TestCaseData("gemm:m=37,n=2,k=29");
        yield return new TestCaseData("conv:n=2,c=6,h=9,w=7,k=4,r=3,s=2,stride_h=2,pad_top=1,pad_bottom=2,pad_right=1,dilation=2,groups=2,bias=1");
        yield return new TestCaseData("conv:n=1,c=6,h=9,w=7,k=4,r=3,s=3,pad=1,layout=nhwc,bias=1");
        yield return new TestCaseData("conv:n=1,c=8,h=6,w=6,k=8,r=1,s=1,layout=nhwc");
        yield return new TestCaseData("conv:n=1,c=6,h=9,w=7,k=6,r=3,s=3,pad=1,groups=6");
        yield return new TestCaseData("conv:n=1,c=6,h=9,w=7,k=6,r=3,s=3,pad=1,groups=6,layout=nhwc,bias=1");
        yield return new TestCaseData("qgemm:m=33,n=17,k=31,dtype=u8,wtype=s8,out=q,perchannel=1");
        yield return new TestCaseData("qgemm:m=33,n=17,k=31,dtype=s8,out=i32");
        yield return new TestCaseData("qconv:n=1,c=6,h=9,w=7,k=4,r=3,s=3,pad=1,groups=2,dtype=s8,wtype=s8,perchannel=1,bias=1");
        yield return new TestCaseData("qconv:n=1,c=6,h=9,w=7,k=4,r=3,s=3,pad=1,layout=nhwc,out=i32");
    }

    [TestCaseSource(nameof(NoAllocSpecs))]
    public void Run_after_prepare_does_not_allocate(string spec)
    {
        Workload wl = WorkloadSpec.Parse(spec);
        using var dev = new CpuDevice(1);
        using IKernel kernel = dev.CreateKernel(wl)!;
        OpData data = wl.CreateData(1);
        kernel.Prepare(data);
        kernel.Run();
        kernel.Run();
        long before = GC.GetAllocatedBytesForCurrentThread();
        kernel.Run();
        long after = GC.GetAllocatedBytesForCurrentThread();
        Assert.That(after - before, Is.Zero, $"{kernel.Name} allocated in Run");
        Assert.That(wl.Verify(data, wl.ComputeReference(data)).Passed, Is.True);
    }
}
