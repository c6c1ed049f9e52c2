using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ChipKit.Core.Descriptors;

namespace ChipKit.Cpu;

/// <summary>
/// Requantisation of a run of int32 accumulators to 8-bit outputs, vectorised: y = saturate(round_half_even((acc + bias)
/// * m) + y_zp) with exactly <see cref="Requantize.Apply"/>'s double operations (the int32 is converted exactly, one
/// double multiply, roundpd to nearest even, one double add, clamp), so results are bit-identical to the scalar rule.
/// A multiplier that is not finite takes the scalar rule (its NaN / infinity handling is the reference's).
/// </summary>
internal static class RequantRun
{
    /// <summary>One multiplier and one bias for the whole run (an NCHW output-channel row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Uniform(ReadOnlySpan<int> acc, int bias, double m, int yZp, int min, int max, Span<byte> y)
    {
        int n = acc.Length, i = 0;
        if (Avx2.IsSupported && double.IsFinite(m))
        {
            Vector256<int> bv = Vector256.Create(bias);
            Vector256<double> mv = Vector256.Create(m);
            var k = new Bounds(yZp, min, max);
            ref int a = ref MemoryMarshal.GetReference(acc);
            ref byte o = ref MemoryMarshal.GetReference(y);
            for (; i <= n - 8; i += 8)
            {
                Vector256<int> v = Vector256.LoadUnsafe(ref a, (nuint)i) + bv;
                Store8(ref Unsafe.Add(ref o, i), k.Apply(v.GetLower(), mv), k.Apply(v.GetUpper(), mv), min < 0);
            }
        }

        for (; i < n; i++)
        {
            y[i] = QuantOps.Store8(Requantize.Apply(unchecked(acc[i] + bias), m, yZp, min, max));
        }
    }

    /// <summary>
    /// A multiplier (and, unless <paramref name="bias"/> is empty, a bias) per element (an NHWC pixel or a GEMM row).
    /// <paramref name="finite"/>: every multiplier is finite (<see cref="AllFinite"/>, computed once at Prepare).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PerElement(ReadOnlySpan<int> acc, ReadOnlySpan<int> bias, ReadOnlySpan<double> m, bool finite, int yZp, int min, int max, Span<byte> y)
    {
        int n = acc.Length, i = 0;
        if (Avx2.IsSupported && finite)
        {
            var k = new Bounds(yZp, min, max);
            ref int a = ref MemoryMarshal.GetReference(acc);
            ref int b = ref MemoryMarshal.GetReference(bias);
            ref double mm = ref MemoryMarshal.GetReference(m);
            ref byte o = ref MemoryMarshal.GetReference(y);
            bool hasBias = !bias.IsEmpty;
            for (; i <= n - 8; i += 8)
            {
                Vector256<int> v = Vector256.LoadUnsafe(ref a, (nuint)i);
                if (hasBias)
                {
                    v += Vector256.LoadUnsafe(ref b, (nuint)i);
                }

                Store8(ref Unsafe.Add(ref o, i), k.Apply(v.GetLower(), Vector256.LoadUnsafe(ref mm, (nuint)i)), k.Apply(v.GetUpper(), Vector256.LoadUnsafe(ref mm, (nuint)(i + 4))), min < 0);
            }
        }

        for (; i < n; i++)
        {
            int v = bias.IsEmpty ? acc[i] : unchecked(acc[i] + bias[i]);
            y[i] = QuantOps.Store8(Requantize.Apply(v, m[i], yZp, min, max));
        }
    }

    /// <summary>True when every multiplier is finite, so the vector form may run.</summary>
    public static bool AllFinite(ReadOnlySpan<double> m)
    {
        foreach (double v in m)
        {
            if (!double.IsFinite(v))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Packs 8 int32 values already in the output type's range into 8 bytes (s8 or u8 bits, as Store8).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store8(ref byte dst, Vector128<int> lo, Vector128<int> hi, bool signed)
    {
        Vector128<short> s = Sse2.PackSignedSaturate(lo, hi);
        Vector128<byte> b = signed ? Sse2.PackSignedSaturate(s, s).AsByte() : Sse2.PackUnsignedSaturate(s, s);
        Unsafe.WriteUnaligned(ref dst, b.AsInt64().ToScalar());
    }

    private readonly struct Bounds(int yZp, int min, int max)
    {
        private readonly Vector256<double> _zp = Vector256.Create((double)yZp), _min = Vector256.Create((double)min), _max = Vector256.Create((double)max);

        /// <summary>saturate(round_half_even(v * m) + zp) for 4 lanes, as int32.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<int> Apply(Vector128<int> v, Vector256<double> m)
        {
            Vector256<double> d = Avx.RoundToNearestInteger(Avx.Multiply(Avx.ConvertToVector256Double(v), m)) + _zp;
            return Avx.ConvertToVector128Int32WithTruncation(Avx.Min(Avx.Max(d, _min), _max));
        }
    }
}
