using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ChipKit.Models.Kernels;

/// <summary>
/// Per-lane parameters of TFLite's MultiplyByQuantizedMultiplier, derived once from (multiplier, shift) so the vector
/// form needs no branches: left = max(shift, 0), right = max(-shift, 0), mask = 2^right - 1, half = mask &gt;&gt; 1.
/// </summary>
internal sealed class RequantParams
{
    public RequantParams(int length)
    {
        Mult = new int[length];
        Left = new int[length];
        Right = new int[length];
        Mask = new int[length];
        Half = new int[length];
        Bias = new int[length];
    }

    public int[] Mult { get; }
    public int[] Left { get; }
    public int[] Right { get; }
    public int[] Mask { get; }
    public int[] Half { get; }
    public int[] Bias { get; }

    /// <summary>Lane <paramref name="lane"/> gets channel parameters (multiplier, shift, bias).</summary>
    public void Set(int lane, int multiplier, int shift, int bias)
    {
        Mult[lane] = multiplier;
        Left[lane] = shift > 0 ? shift : 0;
        int right = shift > 0 ? 0 : -shift;
        Right[lane] = right;
        Mask[lane] = (int)((1L << right) - 1);
        Half[lane] = Mask[lane] >> 1;
        Bias[lane] = bias;
    }
}

/// <summary>
/// TFLite Micro's requantisation, eight int32 lanes at a time, bit-exact with <see cref="FixedPoint"/>:
/// x * 2^left (wrapping, as TFLite's <c>x * (1 &lt;&lt; left)</c>), SaturatingRoundingDoublingHighMul by the multiplier
/// (64-bit products in even and odd lanes; the saturating case a = b = INT_MIN cannot occur because multipliers are
/// in [2^30, 2^31) or 0), then RoundingDivideByPOT by 2^right (ties away from zero).
/// </summary>
internal static class RequantVector
{
    /// <summary>MultiplyByQuantizedMultiplier on eight lanes. Requires <see cref="Avx2.IsSupported"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Apply(Vector256<int> x, Vector256<int> mult, Vector256<int> left, Vector256<int> right, Vector256<int> mask, Vector256<int> half)
    {
        x = Avx2.ShiftLeftLogicalVariable(x, left.AsUInt32());

        // SaturatingRoundingDoublingHighMul: (x * m + nudge) / 2^31, truncated toward zero, in 64-bit lanes
        Vector256<long> even = Avx2.Multiply(x, mult);
        Vector256<long> odd = Avx2.Multiply(Avx2.ShiftRightLogical(x.AsInt64(), 32).AsInt32(), Avx2.ShiftRightLogical(mult.AsInt64(), 32).AsInt32());
        Vector256<int> he = HighMul(even);
        Vector256<int> ho = HighMul(odd);

        // even results sit in the low dword of each qword; move the odd ones to the high dword and interleave
        Vector256<int> srdhm = Avx2.Blend(he, Avx2.ShiftLeftLogical(ho.AsInt64(), 32).AsInt32(), 0b1010_1010);

        // RoundingDivideByPOT: (x >> e) + (remainder > (mask >> 1) + (x < 0))
        Vector256<int> rem = Avx2.And(srdhm, mask);
        Vector256<int> neg = Avx2.CompareGreaterThan(Vector256<int>.Zero, srdhm);   // -1 where x < 0
        Vector256<int> threshold = Avx2.Subtract(half, neg);
        Vector256<int> up = Avx2.CompareGreaterThan(rem, threshold);                // -1 where rounding up
        return Avx2.Subtract(Avx2.ShiftRightArithmeticVariable(srdhm, right.AsUInt32()), up);
    }

    /// <summary>
    /// (p + nudge) / 2^31 truncated toward zero, nudge = 2^30 for p &gt;= 0 and 1 - 2^30 otherwise; the int32 result is
    /// the low dword of each qword (bits 31..62 of the adjusted sum: a logical shift gives the same low dword as an
    /// arithmetic one, which AVX2 lacks for 64-bit lanes).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> HighMul(Vector256<long> p)
    {
        Vector256<long> pneg = Avx2.CompareGreaterThan(Vector256<long>.Zero, p);
        Vector256<long> r = Avx2.Add(Avx2.Add(p, Vector256.Create(1L << 30)), Avx2.And(pneg, Vector256.Create(1L - (1L << 31))));
        Vector256<long> rneg = Avx2.CompareGreaterThan(Vector256<long>.Zero, r);
        r = Avx2.Add(r, Avx2.And(rneg, Vector256.Create((1L << 31) - 1)));
        return Avx2.ShiftRightLogical(r, 31).AsInt32();
    }

    /// <summary>
    /// acc (+ bias) → requantised, + output zero point, clamped to [lo, hi], for the lanes [offset, offset + 8) of
    /// <paramref name="p"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Finish(Vector256<int> acc, RequantParams p, int offset, Vector256<int> zp, Vector256<int> lo, Vector256<int> hi)
    {
        ref int b = ref p.Bias[offset];
        Vector256<int> v = Apply(Avx2.Add(acc, Vector256.LoadUnsafe(ref b)),
            Vector256.LoadUnsafe(ref p.Mult[offset]), Vector256.LoadUnsafe(ref p.Left[offset]), Vector256.LoadUnsafe(ref p.Right[offset]),
            Vector256.LoadUnsafe(ref p.Mask[offset]), Vector256.LoadUnsafe(ref p.Half[offset]));
        return Avx2.Min(Avx2.Max(Avx2.Add(v, zp), lo), hi);
    }

    /// <summary>Scalar form of <see cref="Finish"/> for one lane (portable path and tails).</summary>
    public static int FinishScalar(int acc, RequantParams p, int lane, int zp, int lo, int hi)
    {
        int left = p.Left[lane], right = p.Right[lane];
        int v = FixedPoint.RoundingDivideByPot(FixedPoint.SatRoundDoublingHighMul(unchecked((acc + p.Bias[lane]) * (1 << left)), p.Mult[lane]), right) + zp;
        return v < lo ? lo : v > hi ? hi : v;
    }
}
