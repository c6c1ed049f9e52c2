using ChipKit.Core.Descriptors;
using ChipKit.Core.Workloads;
using ChipKit.Ilgpu.Kernels;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace ChipKit.Ilgpu.Tests;

/// <summary>
/// The tensor-core kernels without a GPU: (1) ILGPU's PTX backend compiles them for sm_80 and the PTX holds the inline
/// instructions (mma.sync, cvt to tf32 / bf16x2, dp4a, mul.rn.f64); (2) on the CPU accelerator the same kernels run
/// with the warp-shuffle emulation of mma.sync, which checks the fragment layouts (loading, storing) against the oracle
/// within the precision's bound.
/// </summary>
[NonParallelizable]
public class TensorCoreTests
{
    private static string Ptx(System.Reflection.MethodInfo method)
    {
        using Context ctx = Context.Create(b => b.Optimize(OptimizationLevel.O2));
        using var backend = new PTXBackend(ctx, CudaArchitecture.SM_80, CudaInstructionSet.ISA_80, null!);
        var compiled = (PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(method), KernelSpecialization.Empty);
        return compiled.PTXAssembly;
    }

    [Test]
    public void Tf32_and_bf16_kernels_compile_to_sm80_ptx_with_mma_sync()
    {
        string tf32 = Ptx(typeof(MmaGemm).GetMethod(nameof(MmaGemm.Tf32))!);
        Assert.That(tf32, Does.Contain(".target sm_80"));
        Assert.That(tf32, Does.Contain("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32"));
        Assert.That(tf32, Does.Contain("cvt.rna.tf32.f32"));
        // The shuffle emulation stays in the PTX behind a constant-true predicate (ILGPU folds CudaAsm.IsSupported only
        // at code generation); ptxas removes it. What matters is that the CUDA path is the instruction itself.

        string bf16 = Ptx(typeof(MmaGemm).GetMethod(nameof(MmaGemm.Bf16))!);
        Assert.That(bf16, Does.Contain("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32"));
        Assert.That(bf16, Does.Contain("cvt.rn.bf16x2.f32"));
    }

    [Test]
    public void Int8_kernel_uses_dp4a_and_an_uncontracted_double_multiply_on_cuda()
    {
        string ptx = Ptx(typeof(QgemmTiled).GetMethod(nameof(QgemmTiled.Kernel))!.MakeGenericMethod(typeof(Tile8), typeof(QGemmOperands)));
        Assert.That(ptx, Does.Contain("dp4a.u32.s32").And.Contain("dp4a.s32.s32"));
        Assert.That(ptx, Does.Contain("mul.rn.f64"));
    }

    [Test]
    public void Sgemm_cuda_kernel_keeps_the_8x8_tile_in_registers_and_uses_wide_loads()
    {
        string ptx = Ptx(typeof(SgemmTiled).GetMethod(nameof(SgemmTiled.Kernel))!.MakeGenericMethod(typeof(Tile8), typeof(GemmOperands)));
        TestContext.Out.WriteLine($"PTX: {ptx.Length} chars, {ptx.Split('\n').Count(l => l.Contains("fma.rn.f32"))} fma.rn.f32 lines");
        Assert.That(ptx, Does.Not.Contain(".local"), "no local-memory spill of the register tile");
        Assert.That(ptx, Does.Contain("ld.shared.v4.f32"), "16-byte shared-memory fragment loads");
        Assert.That(ptx, Does.Contain("ld.global.v4.f32"), "16-byte global loads");
        Assert.That(ptx, Does.Contain("bar.sync"));
    }

    // One 32-deep k tile (tf32: two MMA k steps; bf16: one, partly past K): every emulated mma is 32 warp shuffles,
    // each a barrier of OS threads on the CPU accelerator, so sizes stay small.
    [TestCase(GemmPrecision.Tf32, "gemm:m=20,n=40,k=16,ta=1,dtype=tf32")]
    [TestCase(GemmPrecision.Bf16, "gemm:m=37,n=17,k=13,tb=1,alpha=0.5,beta=1,dtype=bf16")]
    public void Tensor_core_kernels_with_emulated_mma_match_the_oracle_within_the_precision_bound(GemmPrecision p, string spec)
    {
        var w = (ReducedPrecisionGemmWorkload)WorkloadSpec.Parse(spec);
        Assert.That(w.Precision, Is.EqualTo(p));
        OpData data = w.CreateData(11);
        var expected = (FloatExpected)w.ComputeReference(data);
        using var kernel = new MmaGemmKernel(IlgpuTestSupport.Cpu, w.Desc);
        kernel.Prepare(data);
        kernel.Run();
        VerifyOutcome o = w.Verify(data, expected);
        Assert.That(o.Passed, Is.True, o.Message);

        // The bound is meaningful: the rounding to the precision shows (fp32 would be ~100x more accurate) ...
        Assert.That(o.MaxRel, Is.GreaterThan(GemmWorkload.ErrorBound(w.Desc.K)), "inputs were rounded to the precision");

        // ... and a wrong layout would not pass: swapping two output columns fails.
        float[] y = ((GemmData)data).Y;
        (y[0], y[1]) = (y[1], y[0]);
        Assert.That(w.Verify(data, expected).Passed, Is.False);
    }

    [Test]
    public void Reduced_precision_bound_is_stated_and_ordered()
    {
        double tf32 = ReducedPrecisionGemmWorkload.ErrorBound(GemmPrecision.Tf32, 4096);
        double bf16 = ReducedPrecisionGemmWorkload.ErrorBound(GemmPrecision.Bf16, 4096);
        Assert.That(tf32, Is.EqualTo((2 * Math.Pow(2, -11)) + Math.Pow(2, -22) + (2 * 4100 * Math.Pow(2, -23))).Within(1e-15));
        Assert.That(bf16, Is.GreaterThan(tf32));
        Assert.That(WorkloadSpec.Parse("gemm:m=2,n=2,k=2,dtype=bf16").Spec, Is.EqualTo("gemm:m=2,n=2,k=2,dtype=bf16"));
        Assert.That(WorkloadSpec.Parse("gemm:m=2,n=2,k=2,dtype=f32"), Is.TypeOf<GemmWorkload>());
        Assert.Throws<ChipKit.Core.ChipKitInputException>(() => WorkloadSpec.Parse("gemm:m=2,n=2,k=2,dtype=fp8"));
    }
}
