namespace ChipKit.Core.Descriptors;

/// <summary>
/// fp32 GEMM: Y[M,N] = alpha * op(A) * op(B) + beta * C, all row-major.
/// op(A) is [M,K]: A is stored [M,K], or [K,M] when <see cref="TransA"/>.
/// op(B) is [K,N]: B is stored [K,N], or [N,K] when <see cref="TransB"/>.
/// C is [M,N] and is read only when <see cref="Beta"/> is not zero.
/// <see cref="Precision"/>: fp32 arithmetic, or A and B rounded to tf32 / bf16 with fp32 accumulation (tensor cores).
/// </summary>
public sealed record GemmDesc(int M, int N, int K, bool TransA = false, bool TransB = false, float Alpha = 1f, float Beta = 0f,
    GemmPrecision Precision = GemmPrecision.F32)
{
    public void Validate()
    {
        Check.Positive(M, "m");
        Check.Positive(N, "n");
        Check.Positive(K, "k");
        Check.Finite(Alpha, "alpha");
        Check.Finite(Beta, "beta");
        Check.ElementCount((long)M * K, "A (m*k)");
        Check.ElementCount((long)K * N, "B (k*n)");
        Check.ElementCount((long)M * N, "Y (m*n)");
    }

    /// <summary>Row stride of A as stored.</summary>
    public int Lda => TransA ? M : K;

    /// <summary>Row stride of B as stored.</summary>
    public int Ldb => TransB ? K : N;

    /// <summary>Floating-point operations: one multiply and one add per MAC.</summary>
    public double Flops => 2.0 * M * N * K;
}
