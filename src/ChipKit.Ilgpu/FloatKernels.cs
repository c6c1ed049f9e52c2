using ChipKit.Core.Descriptors;
using ChipKit.Core.Workloads;
using ChipKit.Ilgpu.Kernels;
using ILGPU;
using ILGPU.Runtime;

namespace ChipKit.Ilgpu;

/// <summary>An fp32 kernel: one output buffer, read back into the workload's Y after every run.</summary>
internal abstract class FloatKernel(IlgpuDevice device, string name) : IlgpuKernel(device, name)
{
    private MemoryBuffer1D<float, Stride1D.Dense>? _y;
    private float[] _host = [];

    /// <summary>Allocates the device output for <paramref name="host"/>, the array <see cref="ReadBack"/> fills.</summary>
    protected MemoryBuffer1D<float, Stride1D.Dense> FloatOutput(float[] host)
    {
        _host = host;
        return _y = Output<float>(host.Length);
    }

    internal override void ReadBack() => Download(_y!, _host);
}

/// <summary>fp32 GEMM through <see cref="SgemmTiled"/> with <see cref="GemmOperands"/>.</summary>
internal sealed class SgemmKernel(IlgpuDevice device, GemmDesc desc) : FloatKernel(device, $"ilgpu.gemm.f32.tiled.{device.Tiles.Name}")
{
    private Action<KernelConfig, GemmOperands>? _kernel;
    private GemmOperands _ops;

    protected override void Upload(OpData data)
    {
        var d = (GemmData)data;
        MemoryBuffer1D<float, Stride1D.Dense> y = FloatOutput(d.Y);
        _ops = GemmUpload(desc, d, y) with
        {
            VecA = desc.Lda % 4 == 0 ? 1 : 0,
            VecB = desc.Ldb % 4 == 0 ? 1 : 0,
        };
    }

    protected override void Compile() => _kernel = Device.Tiles.B == 8
        ? Accelerator.LoadStreamKernel<GemmOperands>(SgemmTiled.Kernel<Tile8, GemmOperands>)
        : Accelerator.LoadStreamKernel<GemmOperands>(SgemmTiled.Kernel<Tile4, GemmOperands>);

    internal override void Launch()
    {
        TileShape t = Device.Tiles;
        var grid = new Index3D((desc.N + t.BlockN - 1) / t.BlockN, (desc.M + t.BlockM - 1) / t.BlockM, 1);
        _kernel!(new KernelConfig(grid, new Index3D(t.Threads, 1, 1)), _ops);
    }
}

/// <summary>fp32 convolution (any layout, stride, pad, dilation, groups) as implicit GEMM through <see cref="SgemmTiled"/>.</summary>
internal sealed class ConvKernel(IlgpuDevice device, Conv2dDesc desc) : FloatKernel(device, $"ilgpu.conv.f32.implicit-gemm.{device.Tiles.Name}")
{
    private Action<KernelConfig, ConvOperands>? _kernel;
    private ConvOperands _ops;

    protected override void Upload(OpData data)
    {
        var d = (ConvData)data;
        MemoryBuffer1D<float, Stride1D.Dense> y = FloatOutput(d.Y);
        _ops = new ConvOperands
        {
            X = Buffer(d.X).View,
            Wt = Buffer(d.W).View,
            Bias = Buffer(d.Bias ?? []).View,
            Y = y.View,
            G = ConvGeometry.From(desc),
            HasBias = d.Bias is null ? 0 : 1,
        };
    }

    protected override void Compile() => _kernel = Device.Tiles.B == 8
        ? Accelerator.LoadStreamKernel<ConvOperands>(SgemmTiled.Kernel<Tile8, ConvOperands>)
        : Accelerator.LoadStreamKernel<ConvOperands>(SgemmTiled.Kernel<Tile4, ConvOperands>);

    internal override void Launch()
    {
        TileShape t = Device.Tiles;
        int m = _ops.G.Pixels;
        var grid = new Index3D((desc.Kg + t.BlockN - 1) / t.BlockN, (m + t.BlockM - 1) / t.BlockM, desc.Groups);
        _kernel!(new KernelConfig(grid, new Index3D(t.Threads, 1, 1)), _ops);
    }
}

/// <summary>tf32 / bf16 GEMM through the <see cref="MmaGemm"/> tensor-core kernels (CUDA sm_80+).</summary>
internal sealed class MmaGemmKernel(IlgpuDevice device, GemmDesc desc)
    : FloatKernel(device, desc.Precision == GemmPrecision.Bf16 ? "ilgpu.gemm.bf16.mma-m16n8k16" : "ilgpu.gemm.tf32.mma-m16n8k8")
{
    private Action<KernelConfig, GemmOperands>? _kernel;
    private GemmOperands _ops;

    protected override void Upload(OpData data)
    {
        var d = (GemmData)data;
        MemoryBuffer1D<float, Stride1D.Dense> y = FloatOutput(d.Y);
        _ops = GemmUpload(desc, d, y);
    }

    protected override void Compile() => _kernel = desc.Precision == GemmPrecision.Bf16
        ? Accelerator.LoadStreamKernel<GemmOperands>(MmaGemm.Bf16)
        : Accelerator.LoadStreamKernel<GemmOperands>(MmaGemm.Tf32);

    internal override void Launch()
    {
        var grid = new Index3D((desc.N + MmaGemm.Block - 1) / MmaGemm.Block, (desc.M + MmaGemm.Block - 1) / MmaGemm.Block, 1);
        _kernel!(new KernelConfig(grid, new Index3D(MmaGemm.Threads, 1, 1)), _ops);
    }
}
