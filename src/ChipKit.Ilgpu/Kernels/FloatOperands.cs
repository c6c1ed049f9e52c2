using ILGPU;

namespace ChipKit.Ilgpu.Kernels;

/// <summary>
/// How a tiled fp32 kernel reads op(A) [M,Kr] and op(B) [Kr,N] and writes Y: the GEMM reads them from memory, the
/// convolution gathers them from the image (implicit GEMM). Loads return four consecutive elements along k
/// (<paramref name="alongK"/>) or along m / n; elements outside the matrix read as 0.
/// </summary>
internal interface IFloatOperands
{
    int M { get; }

    int N { get; }

    int K { get; }

    /// <summary>True when A's rows are contiguous along k (the loader then reads 4 k-values of one row).</summary>
    bool AAlongK { get; }

    /// <summary>True when B is stored with k contiguous (per column n).</summary>
    bool BAlongK { get; }

    F4 LoadA(int group, int m, int k, bool alongK);

    F4 LoadB(int group, int k, int n, bool alongK);

    void Store(int group, int m, int n, float acc);
}

/// <summary>Y = alpha*op(A)*op(B) + beta*C over row-major arrays (GemmDesc's layout).</summary>
internal struct GemmOperands : IFloatOperands
{
    public ArrayView<float> A;
    public ArrayView<float> Bm;
    public ArrayView<float> C;
    public ArrayView<float> Y;
    public int Rows;
    public int Cols;
    public int Depth;
    public int Lda;
    public int Ldb;
    public int TransA;
    public int TransB;
    public float Alpha;
    public float Beta;

    /// <summary>1 when 16-byte vector loads of A (B) are allowed: the row stride is a multiple of 4 floats.</summary>
    public int VecA;
    public int VecB;

    public readonly int M => Rows;

    public readonly int N => Cols;

    public readonly int K => Depth;

    public readonly bool AAlongK => TransA == 0;

    public readonly bool BAlongK => TransB != 0;

    public readonly F4 LoadA(int group, int m, int k, bool alongK) => alongK
        ? Tiles.Load4(A, m, Rows, k, Depth, Lda, VecA != 0)   // A[m, k..k+3], A stored [M,K]
        : Tiles.Load4(A, k, Depth, m, Rows, Lda, VecA != 0);  // A[k, m..m+3], A stored [K,M]

    public readonly F4 LoadB(int group, int k, int n, bool alongK) => alongK
        ? Tiles.Load4(Bm, n, Cols, k, Depth, Ldb, VecB != 0)  // B[n, k..k+3], B stored [N,K]
        : Tiles.Load4(Bm, k, Depth, n, Cols, Ldb, VecB != 0); // B[k, n..n+3], B stored [K,N]

    public readonly void Store(int group, int m, int n, float acc)
    {
        long i = ((long)m * Cols) + n;
        Y[i] = Beta != 0f ? (Alpha * acc) + (Beta * C[i]) : Alpha * acc;
    }
}

/// <summary>
/// ONNX Conv as implicit GEMM, one GEMM per group (grid z): rows m = (n, p, q) output pixels, columns the group's
/// output channels, reduction kr over (c, r, s) of the group's input channels. The order of kr follows the layout:
/// NCHW: kr = (c*R + r)*S + s (the weight row order); NHWC: kr = (r*S + s)*Cg + c (consecutive kr are consecutive
/// channels of one pixel). Taps in the padding read 0.
/// </summary>
internal struct ConvOperands : IFloatOperands
{
    public ArrayView<float> X;
    public ArrayView<float> Wt;
    public ArrayView<float> Bias;
    public ArrayView<float> Y;
    public ConvGeometry G;
    public int HasBias;

    public readonly int M => G.Pixels;

    public readonly int N => G.Kg;

    public readonly int K => G.Reduction;

    public readonly bool AAlongK => true;

    public readonly bool BAlongK => true;

    public readonly F4 LoadA(int group, int m, int k, bool alongK) =>
        new(A(group, m, k), A(group, m, k + 1), A(group, m, k + 2), A(group, m, k + 3));

    public readonly F4 LoadB(int group, int k, int n, bool alongK) =>
        new(Bw(group, k, n), Bw(group, k + 1, n), Bw(group, k + 2, n), Bw(group, k + 3, n));

    private readonly float A(int group, int m, int kr)
    {
        long idx = G.InputOffset(group, m, kr);
        return idx < 0 ? 0f : X[idx];
    }

    private readonly float Bw(int group, int kr, int kc)
    {
        if (kr >= G.Reduction || kc >= G.Kg)
        {
            return 0f;
        }

        return Wt[G.WeightOffset(group, kr, kc)];
    }

    public readonly void Store(int group, int m, int n, float acc)
    {
        int k = (group * G.Kg) + n;
        Y[G.OutputOffset(m, k)] = HasBias != 0 ? acc + Bias[k] : acc;
    }
}
