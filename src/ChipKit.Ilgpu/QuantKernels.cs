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

/// <summary>
/// What the quantised GEMM and conv kernels share: the <see cref="QuantEpilogue"/> (per-channel zero points and
/// multipliers, weight sums, bias, output buffers) built at Prepare, the output read-back, and re-uploading the
/// activation input for a model executor (<see cref="IStreamingKernel"/>).
/// </summary>
internal abstract class QuantKernel(IlgpuDevice device, string name) : IlgpuKernel(device, name), IStreamingKernel
{
    private MemoryBuffer1D<int, Stride1D.Dense>? _y32;
    private MemoryBuffer1D<byte, Stride1D.Dense>? _y8;
    private MemoryBuffer1D<byte, Stride1D.Dense>? _input;
    private byte[] _inputHost = [];
    private int[]? _hostY32;
    private byte[]? _hostY8;

    public void UploadInputs() => Rewrite(_input!, _inputHost);

    /// <summary>Uploads the activation input (kept for <see cref="UploadInputs"/>) and returns its view.</summary>
    protected ArrayView<byte> InputBuffer(byte[] host)
    {
        _inputHost = host;
        _input = Buffer(host);
        return _input.View;
    }

    /// <summary>The epilogue of an op with <paramref name="channels"/> output channels and <paramref name="outputs"/> outputs; allocates the output buffer.</summary>
    protected QuantEpilogue Epilogue(
        QuantParams x, QuantParams w, QuantParams? y, DataType yType, QuantOutput output, int channels, long outputs,
        int[] weightSums, int[]? bias, int reduction, int[]? hostY32, byte[]? hostY8)
    {
        (int[] zero, double[] mult) = QuantTables.PerChannel(x, w, y, channels);
        bool q = output == QuantOutput.Quantized;
        _y32 = Output<int>(q ? 1 : outputs);
        _y8 = Output<byte>(q ? outputs : 1);
        _hostY32 = hostY32;
        _hostY8 = hostY8;
        return new QuantEpilogue
        {
            WZero = Buffer(zero).View,
            WSum = Buffer(weightSums).View,
            Bias = Buffer(bias ?? []).View,
            Multiplier = Buffer(mult).View,
            Y32 = _y32.View,
            Y8 = _y8.View,
            XZero = x.ZeroPoint(0),
            YZero = q ? y!.ZeroPoint(0) : 0,
            YMin = q ? yType.MinValue() : 0,
            YMax = q ? yType.MaxValue() : 0,
            Reduction = reduction,
            HasBias = bias is null ? 0 : 1,
            Quantized = q ? 1 : 0,
        };
    }

    internal override void ReadBack()
    {
        if (_hostY32 is { } y32)
        {
            Download(_y32!, y32);
        }
        else
        {
            Download(_y8!, _hostY8!);
        }
    }
}

/// <summary>QLinearMatMul / MatMulInteger through <see cref="QgemmTiled"/> (dp4a on CUDA).</summary>
internal sealed class QGemmKernel(IlgpuDevice device, QGemmDesc desc)
    : QuantKernel(device, $"ilgpu.qgemm.{(device.Desc.Kind == IlgpuKind.Cuda ? "dp4a" : "portable")}.{device.Tiles.Name}")
{
    private Action<KernelConfig, QGemmOperands>? _kernel;
    private QGemmOperands _ops;

    protected override void Upload(OpData data)
    {
        var d = (QGemmData)data;
        var wsum = new int[desc.N];
        for (int k = 0; k < desc.K; k++)
        {
            for (int n = 0; n < desc.N; n++)
            {
                wsum[n] = unchecked(wsum[n] + QuantTables.Value(d.B[((long)k * desc.N) + n], desc.BType));
            }
        }

        _ops = new QGemmOperands
        {
            A = InputBuffer(d.A),
            Bm = Buffer(d.B).View,
            Rows = desc.M,
            Cols = desc.N,
            Depth = desc.K,
            ASign = desc.AType == DataType.S8 ? 1 : 0,
            BSign = desc.BType == DataType.S8 ? 1 : 0,
            Out = Epilogue(desc.AQuant, desc.BQuant, desc.YQuant, desc.YType, desc.Output, desc.N, (long)desc.M * desc.N, wsum, null, desc.K, d.Y32, d.Y8),
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
}

/// <summary>QLinearConv / ConvInteger as implicit GEMM through <see cref="QgemmTiled"/> (dp4a on CUDA).</summary>
internal sealed class QConvKernel(IlgpuDevice device, QConv2dDesc desc)
    : QuantKernel(device, $"ilgpu.qconv.implicit-gemm.{(device.Desc.Kind == IlgpuKind.Cuda ? "dp4a" : "portable")}.{device.Tiles.Name}")
{
    private Action<KernelConfig, QConvOperands>? _kernel;
    private QConvOperands _ops;

    protected override void Upload(OpData data)
    {
        var d = (QConvData)data;
        Conv2dDesc c = desc.Conv;
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

        _ops = new QConvOperands
        {
            X = InputBuffer(d.X),
            Wt = Buffer(d.W).View,
            G = ConvGeometry.From(c),
            XSign = desc.XType == DataType.S8 ? 1 : 0,
            WSign = desc.WType == DataType.S8 ? 1 : 0,
            Out = Epilogue(desc.XQuant, desc.WQuant, desc.YQuant, desc.YType, desc.Output, c.K, c.OutputElements, wsum, d.Bias, c.Cg * c.R * c.S, d.Y32, d.Y8),
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
}
