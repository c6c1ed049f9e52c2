using BenchmarkDotNet.Attributes;
using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;
using ChipKit.Cpu;
using ChipKit.Ort;

namespace ChipKit.Bench;

/// <summary>
/// Times <see cref="IKernel.Run"/> of ChipKit's kernel (<see cref="Cpu"/>: the CPU device unless <see cref="CreateDevice"/> is
/// overridden) next to ONNX Runtime's (<see cref="Ort"/>, the baseline: BenchmarkDotNet's Ratio column is ChipKit / ORT time)
/// for one workload spec and thread count.
/// GlobalSetup creates the operands, prepares the kernel, runs it once and verifies the output against the
/// oracle; it throws when the device has no kernel or the output does not verify, so no number is ever
/// reported for an unverified kernel. GlobalCleanup verifies the output the last timed run left behind.
/// </summary>
public abstract class KernelBenchmark : IDisposable
{
    /// <summary>Operand seed; fixed so every run times the same data.</summary>
    public const int Seed = 1;

    private Workload? _workload;
    private OpData? _data;
    private Expected? _expected;
    private IDevice? _device;
    private IKernel? _kernel;

    /// <summary>The workload spec, e.g. <c>gemm:m=256,n=256,k=256</c>; each derived class gives its own ParamsSource.</summary>
    public abstract string Spec { get; set; }

    /// <summary>Worker threads of the kernel (see <see cref="CpuDevice(int)"/>).</summary>
    [ParamsSource(nameof(ThreadCounts))]
    public int Threads { get; set; }

    /// <summary>One thread and all cores (a single value on a one-core host).</summary>
    public static IEnumerable<int> ThreadCounts => new[] { 1, Environment.ProcessorCount }.Distinct();

    [GlobalSetup(Target = nameof(Cpu))]
    public void Setup() => Setup(CreateDevice(Threads));

    [GlobalSetup(Target = nameof(Ort))]
    public void SetupOrt() => Setup(new OrtDevice(Threads));

    private void Setup(IDevice device)
    {
        _workload = WorkloadSpec.Parse(Spec);
        _device = device;
        _kernel = _device.CreateKernel(_workload)
            ?? throw new InvalidOperationException($"{_device.Info.Id}: no kernel supports '{_workload.Spec}' (threads={Threads}); nothing to benchmark");
        _data = _workload.CreateData(Seed);
        _expected = _workload.ComputeReference(_data);
        _kernel.Prepare(_data);
        _kernel.Run();
        Check("after the first run");
        Console.WriteLine($"// ChipKit: {_kernel.Name} verified on '{_workload.Spec}' (threads={Threads})");
    }

    /// <summary>
    /// The device under test; the CPU SIMD backend unless a derived class says otherwise (peers such as
    /// ONNX Runtime plug in here).
    /// </summary>
    protected virtual IDevice CreateDevice(int threads) => new CpuDevice(threads);

    /// <summary>The name of the kernel this benchmark's device picks for a spec, or null when none supports it (for the Kernel column).</summary>
    public string? KernelNameFor(string spec, int threads, string method = nameof(Cpu))
    {
        using IDevice device = method == nameof(Ort) ? new OrtDevice(threads) : CreateDevice(threads);
        using IKernel? kernel = device.CreateKernel(WorkloadSpec.Parse(spec));
        return kernel?.Name;
    }

    /// <summary>ONNX Runtime (MLAS) on the same workload, weights as initializers, intra-op threads = Threads.</summary>
    [Benchmark(Baseline = true)]
    public void Ort() => _kernel!.Run();

    /// <summary>ChipKit's kernel.</summary>
    [Benchmark]
    public void Cpu() => _kernel!.Run();

    [GlobalCleanup]
    public void Cleanup()
    {
        try
        {
            if (_kernel is not null && _data is not null)
            {
                Check("after the timed runs");
            }
        }
        finally
        {
            Dispose();
        }
    }

    public void Dispose()
    {
        _kernel?.Dispose();
        _device?.Dispose();
        _kernel = null;
        _device = null;
        GC.SuppressFinalize(this);
    }

    private void Check(string when)
    {
        VerifyOutcome v = _workload!.Verify(_data!, _expected!);
        if (!v.Passed)
        {
            throw new InvalidOperationException(
                $"{_kernel!.Name} does not verify on '{_workload.Spec}' (threads={Threads}) {when}: mismatches={v.Mismatches}, " +
                $"first bad index={v.FirstBadIndex}, max abs={v.MaxAbs:G6}, max rel={v.MaxRel:G6}, bound={v.Bound:G6}" +
                (v.Message is null ? string.Empty : $": {v.Message}"));
        }
    }
}

/// <summary>fp32 GEMM: square 256 and 1024, and the DeepBench inference shape M=35, N=700, K=2048.</summary>
public class GemmBenchmarks : KernelBenchmark
{
    [ParamsSource(nameof(Specs))]
    public override string Spec { get; set; } = string.Empty;

    public static IEnumerable<string> Specs =>
    [
        "gemm:m=256,n=256,k=256",
        "gemm:m=1024,n=1024,k=1024",
        "gemm:m=35,n=700,k=2048",
    ];
}

/// <summary>fp32 conv, ResNet-50 layers: 3x3 64->64 at 56x56, 1x1 64->256 at 56x56, the 7x7 stride-2 stem.</summary>
public class ConvBenchmarks : KernelBenchmark
{
    [ParamsSource(nameof(Specs))]
    public override string Spec { get; set; } = string.Empty;

    public static IEnumerable<string> Specs =>
    [
        "conv:n=1,c=64,h=56,w=56,k=64,r=3,s=3,pad=1",
        "conv:n=1,c=64,h=56,w=56,k=256,r=1,s=1",
        "conv:n=1,c=3,h=224,w=224,k=64,r=7,s=7,stride=2,pad=3",
    ];
}

/// <summary>
/// Quantised GEMM with int32 output (MatMulInteger), u8 x u8 and s8 x s8: the int8 cases where ONNX Runtime verifies
/// bit-exactly. Its u8 x s8 saturates in int16 on AVX2 hosts without VNNI, and its QLinearMatMul requantises in float
/// (off by one on a few outputs against the double-precision oracle); see docs/cpu-performance.md.
/// </summary>
public class QGemmBenchmarks : KernelBenchmark
{
    [ParamsSource(nameof(Specs))]
    public override string Spec { get; set; } = string.Empty;

    public static IEnumerable<string> Specs =>
    [
        "qgemm:m=256,n=256,k=256,dtype=u8,wtype=u8,out=i32",
        "qgemm:m=1024,n=1024,k=1024,dtype=s8,wtype=s8,out=i32",
    ];
}

/// <summary>Quantised conv with int32 output and bias (ORT: ConvInteger + Add), u8 x u8: the ResNet-50 3x3 64->64 layer at 56x56 (see <see cref="QGemmBenchmarks"/>).</summary>
public class QConvBenchmarks : KernelBenchmark
{
    [ParamsSource(nameof(Specs))]
    public override string Spec { get; set; } = string.Empty;

    public static IEnumerable<string> Specs =>
    [
        "qconv:n=1,c=64,h=56,w=56,k=64,r=3,s=3,pad=1,dtype=u8,wtype=u8,out=i32,bias=1",
    ];
}
