using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;
using ChipKit.Ort;
using Microsoft.ML.OnnxRuntime;

namespace ChipKit.Ort.Tests;

public class OrtDeviceTests
{
    private static OrtDevice Device(int threads = 1) => new(threads);

    /// <summary>Prepares, runs, verifies against the oracle; returns the outcome (for the ORT-versus-oracle report).</summary>
    private static VerifyOutcome RunAndVerify(string spec, int threads = 1, int seed = 3)
    {
        Workload wl = WorkloadSpec.Parse(spec);
        using OrtDevice dev = Device(threads);
        using IKernel kernel = dev.CreateKernel(wl) ?? throw new AssertionException($"ort has no kernel for {spec}: {OrtDevice.Unsupported(wl)}");
        OpData data = wl.CreateData(seed);
        Expected expected = wl.ComputeReference(data);
        kernel.Prepare(data);
        kernel.Run();
        VerifyOutcome first = wl.Verify(data, expected);
        wl.PoisonOutput(data);
        kernel.Run();
        VerifyOutcome second = wl.Verify(data, expected);
        Assert.That(second.Passed, Is.EqualTo(first.Passed), "a second Run must write the output again (it was poisoned)");
        return first;
    }

    [Test]
    public void Device_is_available_and_records_its_threads()
    {
        using OrtDevice dev = Device(1);
        Assert.That(dev.Info.Available, Is.True, dev.Info.Reason);
        Assert.That(dev.Info.Id, Is.EqualTo("ort"));
        Assert.That(dev.Info.Properties["threads"], Is.EqualTo("1"));
        Assert.That(dev.Info.Properties["version"], Does.StartWith("1."));
        using OrtDevice all = new(0);
        Assert.That(all.Threads, Is.EqualTo(Environment.ProcessorCount));
    }

    [TestCase("gemm:m=37,n=29,k=45")]
    [TestCase("gemm:m=64,n=48,k=33,ta=1")]
    [TestCase("gemm:m=20,n=31,k=17,tb=1,alpha=0.5,beta=2")]
    [TestCase("gemm:m=9,n=70,k=12,ta=1,tb=1,beta=-1")]
    [TestCase("conv:c=8,h=13,k=12,r=3,pad=1")]
    [TestCase("conv:n=2,c=6,h=11,w=9,k=4,r=3,s=2,stride=2,pad_top=1,pad_left=0,pad_bottom=2,pad_right=1")]
    [TestCase("conv:c=8,h=12,k=8,r=3,pad=2,dilation=2,groups=4,bias=1")]
    [TestCase("conv:c=16,h=10,k=16,r=3,pad=1,groups=16")]
    [TestCase("conv:c=16,h=9,k=24,r=1")]
    public void Float_ops_match_the_oracle(string spec)
    {
        VerifyOutcome v = RunAndVerify(spec, threads: 2);
        Assert.That(v.Passed, Is.True, v.Message);
    }

    [TestCase("qgemm:m=33,n=40,k=70,dtype=u8,wtype=u8,out=i32")]
    [TestCase("qgemm:m=17,n=23,k=31,dtype=u8,wtype=u8,out=i32,perchannel=1")]
    [TestCase("qgemm:m=17,n=23,k=31,dtype=s8,wtype=s8,out=i32")]
    [TestCase("qconv:c=8,h=10,k=6,r=3,pad=1,dtype=u8,wtype=u8,out=i32,bias=1")]
    [TestCase("qconv:c=4,h=9,k=8,r=3,stride=2,dtype=s8,wtype=s8,out=i32")]
    [TestCase("qgemm:m=19,n=40,k=77,dtype=u8,wtype=u8,perchannel=1")]
    [TestCase("qgemm:m=19,n=40,k=77,dtype=s8,wtype=s8")]
    [TestCase("qconv:c=8,h=10,k=16,r=3,pad=1,dtype=u8,wtype=u8,perchannel=1,bias=1")]
    [TestCase("qconv:c=8,h=10,k=16,r=3,pad=1,stride=2,dtype=s8,wtype=s8,perchannel=1,bias=1")]
    public void Integer_ops_are_bit_exact(string spec)
    {
        VerifyOutcome v = RunAndVerify(spec);
        Assert.That(v.Passed, Is.True, v.Message);
        Assert.That(v.Mismatches, Is.Zero);
    }

    [Test]
    public void Nhwc_conv_is_skipped_with_a_reason()
    {
        Workload wl = WorkloadSpec.Parse("conv:c=8,h=8,k=8,r=3,pad=1,layout=nhwc");
        using OrtDevice dev = Device();
        Assert.That(dev.CreateKernel(wl), Is.Null);
        Assert.That(OrtDevice.Unsupported(wl), Does.Contain("NCHW"));
        Assert.That(OrtDevice.Unsupported(WorkloadSpec.Parse("conv:c=8,h=8,k=8,r=3")), Is.Null);
    }

    [TestCase("qgemm:m=4,n=5,k=6,dtype=s8,wtype=u8")]
    [TestCase("qconv:c=2,h=5,k=3,r=3,dtype=s8,wtype=u8")]
    [TestCase("qconv:c=2,h=5,k=3,r=3,dtype=u8,wtype=u8,out=i32,perchannel=1")]
    [TestCase("qconv:c=2,h=5,k=3,r=3,dtype=s8,wtype=s8,out=i32,perchannel=1,bias=1")]
    public void Type_pairs_declared_unsupported_are_rejected_by_onnx_runtime_itself(string spec)
    {
        // The device's support table must not hide anything ORT can run: build the model anyway and expect ORT to refuse it.
        Workload wl = WorkloadSpec.Parse(spec);
        Assert.That(OrtDevice.Unsupported(wl), Is.Not.Null);
        using OrtDevice dev = Device();
        Assert.That(dev.CreateKernel(wl), Is.Null);
        using var kernel = new OrtKernel(wl, 1);
        OpData data = wl.CreateData(1);
        Assert.That(() => { kernel.Prepare(data); kernel.Run(); }, Throws.InstanceOf<OnnxRuntimeException>());
    }

    [Test]
    public void Provider_opens_only_ort()
    {
        var p = new OrtProvider();
        Assert.That(p.TryOpen("cpu", new ChipKit.Harness.Devices.DeviceOptions()), Is.Null);
        using IDevice? d = p.TryOpen("ort", new ChipKit.Harness.Devices.DeviceOptions(Threads: 1));
        Assert.That(d, Is.Not.Null);
        Assert.That(d!.Info.Properties["threads"], Is.EqualTo("1"));
    }
}
