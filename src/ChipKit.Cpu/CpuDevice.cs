using System.Globalization;
using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;

namespace ChipKit.Cpu;

/// <summary>
/// The CPU SIMD backend: packed BLIS-style fp32 GEMM (a skinny kernel for N &lt;= 4), implicit-GEMM / depthwise fp32
/// conv and exact int8 kernels (vpmaddwd), each specialised for the widest vector type the JIT accelerates on this host.
/// </summary>
public sealed class CpuDevice : IDevice
{
    private readonly Dictionary<string, KernelList> _lists;

    /// <param name="threads">Worker threads per kernel; 0 means <see cref="Environment.ProcessorCount"/>.</param>
    public CpuDevice(int threads = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(threads);
        Threads = threads == 0 ? Environment.ProcessorCount : threads;
        Width = SimdHost.BestWidth;
        var props = new Dictionary<string, string>
        {
            ["isa"] = SimdHost.IsaName(Width),
            ["threads"] = Threads.ToString(CultureInfo.InvariantCulture),
            ["l1d_bytes"] = SimdHost.L1d.ToString(CultureInfo.InvariantCulture),
            ["l2_bytes"] = SimdHost.L2.ToString(CultureInfo.InvariantCulture),
            ["l3_bytes"] = SimdHost.L3.ToString(CultureInfo.InvariantCulture),
            ["vector_bits"] = (Width switch { SimdWidth.V512 => 512, SimdWidth.V256 => 256, SimdWidth.V128 => 128, _ => 32 }).ToString(CultureInfo.InvariantCulture),
            ["int8"] = QGemm.Describe(QGemm.BestWidth),
        };
        Info = new DeviceInfo("cpu", "cpu-simd", SimdHost.ModelName(), true, null, props);
        _lists = CpuKernels.Lists(Width, QGemm.BestWidth, Threads);
    }

    public DeviceInfo Info { get; }

    public TimeSource TimeSource => TimeSource.Wall;

    /// <summary>Threads each kernel uses.</summary>
    public int Threads { get; }

    /// <summary>Vector width of the fp32 kernels.</summary>
    public SimdWidth Width { get; }

    /// <summary>The ordered kernel list of an op ("gemm", "conv", "qgemm", "qconv"), for inspection.</summary>
    public KernelList KernelsFor(string op) => _lists[op];

    public IKernel? CreateKernel(Workload workload)
    {
        ArgumentNullException.ThrowIfNull(workload);
        return _lists.TryGetValue(workload.Op, out KernelList? list) ? list.Create(workload) : null;
    }

    public void Dispose()
    {
    }
}

/// <summary>The ordered kernel lists of the CPU device (specialised first, plain last).</summary>
internal static class CpuKernels
{
    public static Dictionary<string, KernelList> Lists(SimdWidth w, SimdWidth qw, int threads)
    {
        string sfx = SimdHost.Suffix(w), qsfx = SimdHost.Suffix(qw);
        return new Dictionary<string, KernelList>
        {
            ["gemm"] = new KernelList(
            [
                new KernelEntry($"cpu.gemm.f32.skinny.{sfx}", wl => wl is GemmWorkload g && GemmSkinnyKernel.Supports(g.Desc), wl => new GemmSkinnyKernel(((GemmWorkload)wl).Desc, w, threads)),
                new KernelEntry($"cpu.gemm.f32.packed.{sfx}", wl => wl is GemmWorkload, wl => new GemmPackedKernel(((GemmWorkload)wl).Desc, w, threads)),
                new KernelEntry("cpu.gemm.f32.naive", wl => wl is GemmWorkload, wl => new GemmNaiveKernel(((GemmWorkload)wl).Desc)),
            ]),
            ["conv"] = new KernelList(
            [
                new KernelEntry($"cpu.conv.f32.depthwise.{sfx}", wl => wl is ConvWorkload c && ConvDepthwiseKernel.Supports(c.Desc), wl => new ConvDepthwiseKernel(((ConvWorkload)wl).Desc, ((ConvWorkload)wl).HasBias, threads)),
                new KernelEntry("cpu.conv.f32.direct16.v256", wl => wl is ConvWorkload c && ConvDirectNchwKernel.Preferred(c.Desc, w), wl => new ConvDirectNchwKernel(((ConvWorkload)wl).Desc, ((ConvWorkload)wl).HasBias, threads)),
                new KernelEntry($"cpu.conv.f32.igemm.{sfx}", wl => wl is ConvWorkload, wl => new ConvGemmKernel(((ConvWorkload)wl).Desc, ((ConvWorkload)wl).HasBias, w, threads)),
                new KernelEntry("cpu.conv.f32.direct", wl => wl is ConvWorkload, wl => new ConvDirectKernel(((ConvWorkload)wl).Desc, ((ConvWorkload)wl).HasBias)),
            ]),
            ["qgemm"] = new KernelList(
            [
                new KernelEntry("cpu.qgemm.skinny", wl => wl is QGemmWorkload q && QGemmSkinnyKernel.Supports(q.Desc), wl => new QGemmSkinnyKernel(((QGemmWorkload)wl).Desc, true, threads)),
                new KernelEntry($"cpu.qgemm.pmaddwd.{qsfx}", wl => wl is QGemmWorkload, wl => new QGemmPackedKernel(((QGemmWorkload)wl).Desc, qw, threads)),
                new KernelEntry("cpu.qgemm.naive", wl => wl is QGemmWorkload, wl => new QGemmNaiveKernel(((QGemmWorkload)wl).Desc)),
            ]),
            ["qconv"] = new KernelList(
            [
                new KernelEntry($"cpu.qconv.nchw.pmaddwd.{qsfx}", wl => wl is QConvWorkload q && QConvNchwKernel.Supports(q.Desc), wl => new QConvNchwKernel(((QConvWorkload)wl).Desc, qw, threads)),
                new KernelEntry($"cpu.qconv.im2col.pmaddwd.{qsfx}", wl => wl is QConvWorkload q && QConvPackedKernel.Supports(q.Desc), wl => new QConvPackedKernel(((QConvWorkload)wl).Desc, qw, threads)),
                new KernelEntry("cpu.qconv.naive", wl => wl is QConvWorkload, wl => new QConvNaiveKernel(((QConvWorkload)wl).Desc)),
            ]),
        };
    }
}
