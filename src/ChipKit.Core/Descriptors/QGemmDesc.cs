namespace ChipKit.Core.Descriptors;

/// <summary>
/// Quantised GEMM with ONNX semantics (QLinearMatMul when <see cref="Output"/> is Quantized, MatMulInteger when Int32).
/// A is [M,K] of <see cref="AType"/>, B is [K,N] of <see cref="BType"/>, both row-major.
/// acc[m,n] = sum_k (A[m,k] - a_zp) * (B[k,n] - b_zp[n]) in int32 arithmetic (wrapping, as int32 accumulation does).
/// Quantized: Y = saturate(round_half_even(acc * (a_scale * b_scale[n] / y_scale)) + y_zp), the multiplier and the
/// product evaluated in double precision (see <see cref="Requantize"/>).
/// Int32: Y = acc. B's parameters may be per-column (N entries).
/// </summary>
public sealed record QGemmDesc(
    int M, int N, int K,
    DataType AType, DataType BType, DataType YType,
    QuantParams AQuant, QuantParams BQuant, QuantParams? YQuant,
    QuantOutput Output = QuantOutput.Quantized)
{
    public double Ops => 2.0 * M * N * K;

    public void Validate()
    {
        Check.Positive(M, "m");
        Check.Positive(N, "n");
        Check.Positive(K, "k");
        Check.ElementCount((long)M * K, "A (m*k)");
        Check.ElementCount((long)K * N, "B (k*n)");
        Check.ElementCount((long)M * N, "Y (m*n)");
        if (!AType.Is8Bit())
        {
            throw new ChipKitInputException($"dtype (A) must be u8 or s8, got {AType.ToSpec()}");
        }

        if (!BType.Is8Bit())
        {
            throw new ChipKitInputException($"wtype (B) must be u8 or s8, got {BType.ToSpec()}");
        }

        AQuant.Validate("a quantisation", AType, 1);
        BQuant.Validate("b quantisation", BType, N);
        if (Output == QuantOutput.Quantized)
        {
            if (!YType.Is8Bit() || YQuant is null)
            {
                throw new ChipKitInputException("a requantised output needs an 8-bit ytype and y quantisation parameters");
            }

            YQuant.Validate("y quantisation", YType, 1);
        }
        else if (YType != DataType.S32)
        {
            throw new ChipKitInputException($"an integer (MatMulInteger) output is s32, got {YType.ToSpec()}");
        }
    }
}
