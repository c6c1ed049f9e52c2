using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;

namespace ChipKit.Ilgpu.Tests;

/// <summary>
/// Every ILGPU kernel against the oracle on ILGPU's CPU accelerator (64-thread groups, 64x64 block tiles). Sizes stay
/// small (each group thread is an OS thread) but cover edges that are not tile multiples, both transposes, alpha/beta,
/// several blocks per dimension, every conv geometry option and every int8 type / output / per-channel combination.
/// fp32: within GemmWorkload.ErrorBound ((K+4)*2^-23 of sum|a*b|); int8: bit-exact.
/// </summary>
[NonParallelizable]
public class CpuAcceleratorKernelTests
{
    [TestCase("gemm:m=32,n=24,k=40")]
    [TestCase("gemm:m=1,n=1,k=1")]
    [TestCase("gemm:m=17,n=33,k=9,ta=1")]
    [TestCase("gemm:m=20,n=12,k=31,tb=1,alpha=0.5,beta=-1.25")]
    [TestCase("gemm:m=64,n=64,k=64,ta=1,tb=1")]
    [TestCase("gemm:m=70,n=9,k=13")]
    [TestCase("gemm:m=5,n=67,k=6,beta=2")]
    public void Fp32_gemm_matches_the_oracle(string spec)
    {
        (_, string kernel) = IlgpuTestSupport.RunVerified(IlgpuTestSupport.Cpu, spec);
        Assert.That(kernel, Does.StartWith("ilgpu.gemm.f32.tiled"));
    }

    [TestCase("conv:n=1,c=3,h=8,k=8,r=3,pad=1")]
    [TestCase("conv:n=2,c=4,h=7,w=9,k=5,r=3,s=2,stride=2,pad=1,layout=nhwc")]
    [TestCase("conv:c=4,h=9,k=6,r=3,dilation=2,pad_top=1,pad_left=0,pad_bottom=2,pad_right=1,bias=1")]
    [TestCase("conv:c=8,h=6,k=4,r=3,groups=2,stride_h=2,stride_w=1,pad=1")]
    [TestCase("conv:c=8,h=6,k=8,r=3,groups=8,pad=1,layout=nhwc,bias=1")]
    [TestCase("conv:c=6,h=5,k=3,r=1,layout=nhwc")]
    public void Fp32_conv_matches_the_oracle(string spec)
    {
        (_, string kernel) = IlgpuTestSupport.RunVerified(IlgpuTestSupport.Cpu, spec);
        Assert.That(kernel, Does.StartWith("ilgpu.conv.f32.implicit-gemm"));
    }

    [TestCase("qgemm:m=19,n=23,k=37,dtype=u8,wtype=s8")]
    [TestCase("qgemm:m=16,n=16,k=16,dtype=s8,wtype=s8,out=i32")]
    [TestCase("qgemm:m=9,n=40,k=21,dtype=u8,wtype=u8,perchannel=1")]
    [TestCase("qgemm:m=33,n=7,k=5,dtype=s8,wtype=u8,out=i32,perchannel=1")]
    [TestCase("qgemm:m=70,n=3,k=66,dtype=u8,wtype=s8,perchannel=1")]
    public void Int8_gemm_is_bit_exact(string spec)
    {
        (_, string kernel) = IlgpuTestSupport.RunVerified(IlgpuTestSupport.Cpu, spec);
        Assert.That(kernel, Does.StartWith("ilgpu.qgemm.portable"));
    }

    [TestCase("qconv:c=4,h=6,k=8,r=3,pad=1,dtype=u8,wtype=s8,perchannel=1,bias=1")]
    [TestCase("qconv:n=2,c=3,h=7,k=5,r=3,stride=2,pad=1,layout=nhwc,dtype=s8,wtype=s8,out=i32")]
    [TestCase("qconv:c=6,h=6,k=6,r=3,groups=6,pad=1,dilation=2,dtype=u8,wtype=u8")]
    [TestCase("qconv:c=4,h=5,k=6,r=2,groups=2,dtype=s8,wtype=u8,perchannel=1,out=i32,bias=1")]
    public void Int8_conv_is_bit_exact(string spec)
    {
        (_, string kernel) = IlgpuTestSupport.RunVerified(IlgpuTestSupport.Cpu, spec);
        Assert.That(kernel, Does.StartWith("ilgpu.qconv.implicit-gemm.portable"));
    }

    [Test]
    public void A_wrong_kernel_output_is_caught_poisoned_outputs_never_pass()
    {
        // The harness poisons the output with NaN before the run; a run that writes nothing must fail verification.
        Workload w = WorkloadSpec.Parse("gemm:m=8,n=8,k=8");
        OpData data = w.CreateData(1);
        Expected expected = w.ComputeReference(data);
        w.PoisonOutput(data);
        Assert.That(w.Verify(data, expected).Passed, Is.False);

        using IKernel k = IlgpuTestSupport.Cpu.CreateKernel(w)!;
        k.Prepare(data);
        k.Run();
        ((GemmData)data).Y[5] += 0.01f;
        Assert.That(w.Verify(data, expected).Passed, Is.False, "a perturbed element fails the fp32 bound");
    }

    [Test]
    public void Tensor_core_workloads_are_not_offered_off_cuda()
    {
        Workload tf32 = WorkloadSpec.Parse("gemm:m=16,n=16,k=16,dtype=tf32");
        Assert.That(IlgpuTestSupport.Cpu.CreateKernel(tf32), Is.Null, "ilgpu-cpu has no tensor cores: skipped, not run in fp32");
        Assert.That(IlgpuTestSupport.Cpu.TensorCores, Is.False);
    }

    [Test]
    public void The_first_launch_is_timed_and_reported_as_a_note()
    {
        Workload w = WorkloadSpec.Parse("gemm:m=8,n=4,k=4");
        OpData data = w.CreateData(3);
        using IKernel k = IlgpuTestSupport.Cpu.CreateKernel(w)!;
        Assert.That(((IKernelNote)k).Note, Is.Null);
        k.Prepare(data);
        Assert.That(((IKernelNote)k).Note, Does.StartWith("first launch ").And.Contain("excluded from the samples"));
    }
}
