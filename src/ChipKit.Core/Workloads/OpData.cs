using ChipKit.Core.Descriptors;

namespace ChipKit.Core.Workloads;

/// <summary>Inputs and the output buffer of one workload instance. Kernels read the inputs and write the output.</summary>
public abstract class OpData
{
}

/// <summary>fp32 GEMM operands, laid out as <see cref="GemmDesc"/> says. <see cref="Y"/> is the output.</summary>
public sealed class GemmData(GemmDesc desc, float[] a, float[] b, float[]? c) : OpData
{
    public GemmDesc Desc { get; } = desc;
    public float[] A { get; } = a;
    public float[] B { get; } = b;
    public float[]? C { get; } = c;
    public float[] Y { get; } = new float[(long)desc.M * desc.N];
}

/// <summary>fp32 conv operands, laid out as <see cref="Conv2dDesc"/> says. <see cref="Y"/> is the output.</summary>
public sealed class ConvData(Conv2dDesc desc, float[] x, float[] w, float[]? bias) : OpData
{
    public Conv2dDesc Desc { get; } = desc;
    public float[] X { get; } = x;
    public float[] W { get; } = w;
    public float[]? Bias { get; } = bias;
    public float[] Y { get; } = new float[desc.OutputElements];
}

/// <summary>
/// Quantised GEMM operands. 8-bit tensors are stored as raw bytes; s8 data is the same bits read as sbyte
/// (<c>MemoryMarshal.Cast&lt;byte, sbyte&gt;</c>). Output: <see cref="Y8"/> (requantised) or <see cref="Y32"/> (int32).
/// </summary>
public sealed class QGemmData : OpData
{
    public QGemmData(QGemmDesc desc, byte[] a, byte[] b)
    {
        Desc = desc;
        A = a;
        B = b;
        long count = (long)desc.M * desc.N;
        if (desc.Output == QuantOutput.Int32)
        {
            Y32 = new int[count];
        }
        else
        {
            Y8 = new byte[count];
        }
    }

    public QGemmDesc Desc { get; }
    public byte[] A { get; }
    public byte[] B { get; }
    public byte[]? Y8 { get; }
    public int[]? Y32 { get; }
}

/// <summary>Quantised conv operands (see <see cref="QGemmData"/> for the 8-bit storage rule).</summary>
public sealed class QConvData : OpData
{
    public QConvData(QConv2dDesc desc, byte[] x, byte[] w, int[]? bias)
    {
        Desc = desc;
        X = x;
        W = w;
        Bias = bias;
        long count = desc.Conv.OutputElements;
        if (desc.Output == QuantOutput.Int32)
        {
            Y32 = new int[count];
        }
        else
        {
            Y8 = new byte[count];
        }
    }

    public QConv2dDesc Desc { get; }
    public byte[] X { get; }
    public byte[] W { get; }
    public int[]? Bias { get; }
    public byte[]? Y8 { get; }
    public int[]? Y32 { get; }
}
