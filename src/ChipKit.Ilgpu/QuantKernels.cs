using ChipKit.Core.Descriptors;
using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;
using ChipKit.Ilgpu.Kernels;
using ILGPU;
using ILGPU.Runtime;

namespace ChipKit.Ilgpu;

/// <summary>The per-channel tables and output buffer of a quantised op, built once at Prepare.</summary>
internal static class QuantTables
{
    /// <summary>
    /// Expands zero points and multipliers to one entry per output channel (per-tensor parameters are repeated) and sums
    /// each channel's raw weights over the reduction (for the zero-point identity of <see cref="QuantEpilogue"/>).
    /// </summary>
    public static (int[] WZero, double[] Multiplier) PerChannel(QuantParams x, QuantParams w, QuantParams? y, int channels)
    {
        var zero = new int[channels];
        var mult = new double[channels];
        for (int c = 0; c < channels; c++)
        {
            zero[c] = w.ZeroPoint(c);
            mult[c] = y is null ? 0 : Requantize.Multiplier(x.Scale(0), w.Scale(c), y.Scale(0));
        }

        return (zero, mult);
    }

    public static int Value(byte b, DataType t) => t == DataType.S8 ? (sbyte)b : b;
}

/// <summary>QLinearMatMul / MatMulInteger through <see cref="QgemmTiled"/> (dp4a on CUDA).</summary>
internal sealed class QGemmKernel(IlgpuDevice device, QGemmDesc desc)
    : IlgpuKernel(device, $"ilgpu.qgemm.{(device.Desc.Kind == IlgpuKind.Cuda ? "dp4a" : "portable")}.{device.Tiles.Name}"), IStreamingKernel
{
    private MemoryBuffer1D<byte, Stride1D.Dense>? _a;

    public void UploadInputs() => Rewrite(_a!, _data!.A);

    private Action<KernelConfig, QGemmOperands>? _kernel;
    private QGemmOperands _ops;
    private MemoryBuffer1D<int, Stride1D.Dense>? _y32;
    private MemoryBuffer1D<byte, Stride1D.Dense>? _y8;
    private QGemmData? _data;

    protected override void Upload(OpData data)
    {
        var d = (QGemmData)data;
        _data = d;
        (int[] zero, double[] mult) = QuantTables.PerChannel(desc.AQuant, desc.BQuant, desc.YQuant, desc.N);
        var wsum = new int[desc.N];
        for (int k = 0; k < desc.K; k++)
        {
            for (int n = 0; n < desc.N; n++)
            {
                wsum[n] = unchecked(wsum[n] + QuantTables.Value(d.B[((long)k * desc.N) + n], desc.BType));
            }
        }

        bool q = desc.Output == QuantOutput.Quantized;
        _y32 = Output<int>(q ? 1 : (long)desc.M * desc.N);
        _y8 = Output<byte>(q ? (long)desc.M * desc.N : 1);
        _ops = new QGemmOperands
        {
            A = (_a = Buffer(d.A)).View,
            Bm = Buffer(d.B).View,
            Rows = desc.M,
            Cols = desc.N,
            Depth = desc.K,
            ASign = desc.AType == DataType.S8 ? 1 : 0,
            BSign = desc.BType == DataType.S8 ? 1 : 0,
            Out = new QuantEpilogue
            {
                WZero = Buffer(zero).View,
                WSum = Buffer(wsum).View,
                Bias = Buffer(Array.Empty<int>()).View,
                Multiplier = Buffer(mult).View,
                Y32 = _y32.View,
                Y8 = _y8.View,
                XZero = desc.AQuant.ZeroPoint(0),
                YZero = q ? desc.YQuant!.ZeroPoint(0) : 0,
                YMin = q ? desc.YType.MinValue() : 0,
                YMax = q ? desc.YType.MaxValue() : 0,
                Reduction = desc.K,
                HasBias = 0,
                Quantized = q ? 1 : 0,
            },
        };
    }

    protected override void Compile() => _kernel = Device.Tiles.B == 8
        ? Accelerator.LoadStreamKernel<QGemmOperands>(QgemmTiled.Kernel<Tile8, QGemmOperands>)
        : Accelerator.LoadStreamKernel<QGemmOperands>(QgemmTiled.Kernel<Tile4, QGemmOperands>);

    internal override void Launch()
    {
        TileShape t = Device.Tiles;
        var grid = new Index3D((desc.N + t.BlockN - 1) / t.BlockN, (desc.M + t.BlockM - 1) / t.BlockM, 1);
        _kernel!(new KernelConfig(grid, new Index3D(t.Threads, 1, 1)), _ops);
    }

    internal override void ReadBack()
    {
        if (_data!.Y32 is { } y32)
        {
            Download(_y32!, y32);
        }
        else
        {
            Download(_y8!, _data.Y8!);
        }
    }
}

/// <summary>QLinearConv / ConvInteger as implicit GEMM through <see cref="QgemmTiled"/> (dp4a on CUDA).</summary>
internal sealed class QConvKernel(IlgpuDevice device, QConv2dDesc desc)
    : IlgpuKernel(device, $"ilgpu.qconv.implicit-gemm.{(device.Desc.Kind == IlgpuKind.Cuda ? "dp4a" : "portable")}.{device.Tiles.Name}"), IStreamingKernel
{
    private MemoryBuffer1D<byte, Stride1D.Dense>? _x;

    public void UploadInputs() => Rewrite(_x!, _data!.X);

    private Action<KernelConfig, QConvOperands>? _kernel;
    private QConvOperands _ops;
    private MemoryBuffer1D<int, Stride1D.Dense>? _y32;
    private MemoryBuffer1D<byte, Stride1D.Dense>? _y8;
    private QConvData? _data;

    protected override void Upload(OpData data)
    {
        var d = (QConvData)data;
        _data = d;
        Conv2dDesc c = desc.Conv;
        (int[] zero, double[] mult) = QuantTables.PerChannel(desc.XQuant, desc.WQuant, desc.YQuant, c.K);
        var wsum = new int[c.K];
        long per = (long)c.Cg * c.R * c.S;
        for (int k = 0; k < c.K; k++)
        {
            int s = 0;
            for (long i = 0; i < per; i++)
            {
                s = unchecked(s + QuantTables.Value(d.W[(k * per) + i], desc.WType));
            }

            wsum[k] = s;
        }

        bool q = desc.Output == QuantOutput.Quantized;
        _y32 = Output<int>(q ? 1 : c.OutputElements);
        _y8 = Output<byte>(q ? c.OutputElements : 1);
        _ops = new QConvOperands
        {
            X = (_x = Buffer(d.X)).View,
            Wt = Buffer(d.W).View,
            G = ConvGeometry.From(c),
            XSign = desc.XType == DataType.S8 ? 1 : 0,
            WSign = desc.WType == DataType.S8 ? 1 : 0,
            Out = new QuantEpilogue
            {
                WZero = Buffer(zero).View,
                WSum = Buffer(wsum).View,
                Bias = Buffer(d.Bias ?? []).View,
                Multiplier = Buffer(mult).View,
                Y32 = _y32.View,
                Y8 = _y8.View,
                XZero = desc.XQuant.ZeroPoint(0),
                YZero = q ? desc.YQuant!.ZeroPoint(0) : 0,
                YMin = q ? desc.YType.MinValue() : 0,
                YMax = q ? desc.YType.MaxValue() : 0,
                Reduction = c.Cg * c.R * c.S,
                HasBias = d.Bias is null ? 0 : 1,
                Quantized = q ? 1 : 0,
            },
        };
    }

    protected override void Compile() => _kernel = Device.Tiles.B == 8
        ? Accelerator.LoadStreamKernel<QConvOperands>(QgemmTiled.Kernel<Tile8, QConvOperands>)
        : Accelerator.LoadStreamKernel<QConvOperands>(QgemmTiled.Kernel<Tile4, QConvOperands>);

    internal override void Launch()
    {
        TileShape t = Device.Tiles;
        Conv2dDesc c = desc.Conv;
        var grid = new Index3D((c.Kg + t.BlockN - 1) / t.BlockN, (_ops.G.Pixels + t.BlockM - 1) / t.BlockM, c.Groups);
        _kernel!(new KernelConfig(grid, new Index3D(t.Threads, 1, 1)), _ops);
    }

    internal override void ReadBack()
    {
        if (_data!.Y32 is { } y32)
        {
            Download(_y32!, y32);
        }
        else
        {
            Download(_y8!, _data.Y8!);
        }
    }
}
