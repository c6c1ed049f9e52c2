using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ChipKit.Models.Kernels;

/// <summary>Vector forms of the element-wise int8 ops, bit-exact with their scalar kernels in Layers.cs.</summary>
internal static class FastElementwise
{
    /// <summary>
    /// TFLM's int8 ADD on eight elements at a time: each input (x - zp) * 2^20 requantised by its multiplier, the sum
    /// requantised by the output multiplier, + zero point, clamped. Returns how many leading elements it wrote (a
    /// multiple of 8); the caller finishes the tail with the scalar kernel. Requires AVX2.
    /// </summary>
    public static int Add(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<sbyte> y, int zp1, int zp2, int zpOut,
        (int M, int S) m1, (int M, int S) m2, (int M, int S) mOut, int actMin, int actMax)
    {
        var q1 = P(m1);
        var q2 = P(m2);
        var q3 = P(mOut);
        Vector256<int> z1 = Vector256.Create(zp1), z2 = Vector256.Create(zp2), zo = Vector256.Create(zpOut);
        Vector256<int> lo = Vector256.Create(actMin), hi = Vector256.Create(actMax);
        ref sbyte ar = ref MemoryMarshal.GetReference(a);
        ref sbyte br = ref MemoryMarshal.GetReference(b);
        ref sbyte yr = ref MemoryMarshal.GetReference(y);
        int n = y.Length, i = 0;
        for (; i + 8 <= n; i += 8)
        {
            Vector256<int> va = Avx2.ConvertToVector256Int32(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<long>(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref ar, i)))).AsSByte());
            Vector256<int> vb = Avx2.ConvertToVector256Int32(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<long>(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref br, i)))).AsSByte());
            Vector256<int> s1 = RequantVector.Apply(Avx2.ShiftLeftLogical(Avx2.Subtract(va, z1), AddLayer.LeftShift), q1.M, q1.L, q1.R, q1.K, q1.H);
            Vector256<int> s2 = RequantVector.Apply(Avx2.ShiftLeftLogical(Avx2.Subtract(vb, z2), AddLayer.LeftShift), q2.M, q2.L, q2.R, q2.K, q2.H);
            Vector256<int> v = Avx2.Add(RequantVector.Apply(Avx2.Add(s1, s2), q3.M, q3.L, q3.R, q3.K, q3.H), zo);
            v = Avx2.Min(Avx2.Max(v, lo), hi);
            Vector128<short> s16 = Sse2.PackSignedSaturate(v.GetLower(), v.GetUpper());
            Vector128<sbyte> s8 = Sse2.PackSignedSaturate(s16, s16);
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref yr, i)), s8.AsInt64().ToScalar());
        }

        return i;
    }

    private static (Vector256<int> M, Vector256<int> L, Vector256<int> R, Vector256<int> K, Vector256<int> H) P((int M, int S) m)
    {
        int left = m.S > 0 ? m.S : 0, right = m.S > 0 ? 0 : -m.S;
        int mask = (int)((1L << right) - 1);
        return (Vector256.Create(m.M), Vector256.Create(left), Vector256.Create(right), Vector256.Create(mask), Vector256.Create(mask >> 1));
    }

    /// <summary>
    /// AVERAGE_POOL_2D: per output pixel the window sum of every channel in int32 vectors (16 channels per step,
    /// scalar tail), then TFLM's rounded division (sum ± count/2) / count, truncating, per channel.
    /// </summary>
    public static void AveragePool(ReadOnlySpan<sbyte> x, Span<sbyte> y, Window g, int actMin, int actMax, int[] sums)
    {
        ref sbyte xr = ref MemoryMarshal.GetReference(x);
        for (int n = 0; n < g.N; n++)
        {
            for (int oy = 0; oy < g.OH; oy++)
            {
                for (int ox = 0; ox < g.OW; ox++)
                {
                    int iy0 = oy * g.SH - g.PadTop, ix0 = ox * g.SW - g.PadLeft;
                    int y0 = Math.Max(0, -iy0), y1 = Math.Min(g.KH, g.H - iy0);
                    int x0 = Math.Max(0, -ix0), x1 = Math.Min(g.KW, g.W - ix0);
                    Array.Clear(sums, 0, g.C);
                    ref int sr = ref sums[0];
                    for (int ky = y0; ky < y1; ky++)
                    {
                        for (int kx = x0; kx < x1; kx++)
                        {
                            ref sbyte px = ref Unsafe.Add(ref xr, ((n * g.H + iy0 + ky) * g.W + ix0 + kx) * g.C);
                            int c = 0;
                            if (Vector256.IsHardwareAccelerated)
                            {
                                for (; c + 16 <= g.C; c += 16)
                                {
                                    (Vector256<short> w16, _) = Vector256.Widen(Vector128.LoadUnsafe(ref px, (nuint)c).ToVector256Unsafe());
                                    (Vector256<int> l, Vector256<int> h) = Vector256.Widen(w16);
                                    (Vector256.LoadUnsafe(ref sr, (nuint)c) + l).StoreUnsafe(ref sr, (nuint)c);
                                    (Vector256.LoadUnsafe(ref sr, (nuint)c + 8) + h).StoreUnsafe(ref sr, (nuint)c + 8);
                                }
                            }

                            for (; c < g.C; c++)
                            {
                                Unsafe.Add(ref sr, c) += Unsafe.Add(ref px, c);
                            }
                        }
                    }

                    int count = (y1 - y0) * (x1 - x0);
                    Span<sbyte> yo = y.Slice(((n * g.OH + oy) * g.OW + ox) * g.C, g.C);
                    for (int c = 0; c < g.C; c++)
                    {
                        int sum = sums[c];
                        int r = count == 0 ? 0 : sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
                        yo[c] = (sbyte)(r < actMin ? actMin : r > actMax ? actMax : r);
                    }
                }
            }
        }
    }
}
