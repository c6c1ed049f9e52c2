using ILGPU;

namespace ChipKit.Ilgpu.Kernels;

/// <summary>
/// How the int8 tiled kernel reads op(A) [M,K] and op(B) [K,N] as packed bytes (4 consecutive k per word, the first in
/// the low byte) and finishes an output. Bytes past K read 0; a convolution's padding taps read x_zp.
/// </summary>
internal interface IQuantOperands
{
    int M { get; }

    int N { get; }

    int K { get; }

    int ASigned { get; }

    int BSigned { get; }

    uint LoadA4(int group, int m, int k);

    uint LoadB4(int group, int k, int n);

    /// <summary>Finishes output (m, n): <paramref name="dot"/> = sum_k a*b of the raw bytes, <paramref name="rowSum"/> = sum_k a.</summary>
    void Store(int group, int m, int n, int dot, int rowSum);
}

/// <summary>
/// Per-output-channel constants and the output of a quantised op. With x, w the raw values and z their zero points,
/// sum_k (x - zx)(w - zw) = sum x*w - zw*sum x - zx*sum w + K*zx*zw, all in wrapping int32 (a ring identity, so it is
/// bit-identical to accumulating the differences in int32). sum w per channel is computed once at Prepare.
/// </summary>
internal struct QuantEpilogue
{
    public ArrayView<int> WZero;
    public ArrayView<int> WSum;
    public ArrayView<int> Bias;
    public ArrayView<double> Multiplier;
    public ArrayView<int> Y32;
    public ArrayView<byte> Y8;
    public int XZero;
    public int YZero;
    public int YMin;
    public int YMax;
    public int Reduction;
    public int HasBias;
    public int Quantized;

    public readonly void Write(long index, int channel, int dot, int rowSum)
    {
        int zw = WZero[channel];
        int acc = unchecked(dot - (zw * rowSum) - (XZero * WSum[channel]) + (Reduction * XZero * zw));
        if (HasBias != 0)
        {
            acc = unchecked(acc + Bias[channel]);
        }

        if (Quantized != 0)
        {
            Y8[index] = (byte)(IntMath.Requantize(acc, Multiplier[channel], YZero, YMin, YMax) & 0xFF);
        }
        else
        {
            Y32[index] = acc;
        }
    }
}

/// <summary>QLinearMatMul / MatMulInteger: A [M,K], B [K,N] row-major bytes.</summary>
internal struct QGemmOperands : IQuantOperands
{
    public ArrayView<byte> A;
    public ArrayView<byte> Bm;
    public QuantEpilogue Out;
    public int Rows;
    public int Cols;
    public int Depth;
    public int ASign;
    public int BSign;

    public readonly int M => Rows;

    public readonly int N => Cols;

    public readonly int K => Depth;

    public readonly int ASigned => ASign;

    public readonly int BSigned => BSign;

    public readonly uint LoadA4(int group, int m, int k)
    {
        if (m >= Rows)
        {
            return 0;
        }

        long b = ((long)m * Depth) + k;
        return IntMath.Pack(
            k < Depth ? A[b] : (byte)0,
            k + 1 < Depth ? A[b + 1] : (byte)0,
            k + 2 < Depth ? A[b + 2] : (byte)0,
            k + 3 < Depth ? A[b + 3] : (byte)0);
    }

    public readonly uint LoadB4(int group, int k, int n)
    {
        if (n >= Cols)
        {
            return 0;
        }

        return IntMath.Pack(Bk(k, n), Bk(k + 1, n), Bk(k + 2, n), Bk(k + 3, n));
    }

    private readonly byte Bk(int k, int n) => k < Depth ? Bm[((long)k * Cols) + n] : (byte)0;

    public readonly void Store(int group, int m, int n, int dot, int rowSum) => Out.Write(((long)m * Cols) + n, n, dot, rowSum);
}

/// <summary>QLinearConv / ConvInteger as implicit GEMM (see <see cref="ConvGeometry"/>).</summary>
internal struct QConvOperands : IQuantOperands
{
    public ArrayView<byte> X;
    public ArrayView<byte> Wt;
    public QuantEpilogue Out;
    public ConvGeometry G;
    public int XSign;
    public int WSign;

    public readonly int M => G.Pixels;

    public readonly int N => G.Kg;

    public readonly int K => G.Reduction;

    public readonly int ASigned => XSign;

    public readonly int BSigned => WSign;

    public readonly uint LoadA4(int group, int m, int k) => IntMath.Pack(Xk(group, m, k), Xk(group, m, k + 1), Xk(group, m, k + 2), Xk(group, m, k + 3));

    private readonly byte Xk(int group, int m, int kr)
    {
        if (kr >= G.Reduction || m >= G.Pixels)
        {
            return 0;
        }

        long i = G.InputOffset(group, m, kr);
        return i < 0 ? (byte)(Out.XZero & 0xFF) : X[i]; // a padding tap holds x_zp, so (x - x_zp) = 0
    }

    public readonly uint LoadB4(int group, int k, int n) => IntMath.Pack(Wk(group, k, n), Wk(group, k + 1, n), Wk(group, k + 2, n), Wk(group, k + 3, n));

    private readonly byte Wk(int group, int kr, int kc) => kr < G.Reduction && kc < G.Kg ? Wt[G.WeightOffset(group, kr, kc)] : (byte)0;

    public readonly void Store(int group, int m, int n, int dot, int rowSum)
    {
        int k = (group * G.Kg) + n;
        Out.Write(G.OutputOffset(m, k), k, dot, rowSum);
    }
}
