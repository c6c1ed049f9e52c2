using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ChipKit.Models.Kernels;

/// <summary>
/// int16 x int16 → int32 dot products with the widened multiply-add (vpmaddwd) that ChipKit's CPU int8 GEMM uses.
/// Operands are (activation - zero point) and int8 weights widened to int16, so every product and every pairwise
/// sum is exact in int32; accumulation order does not change an integer result.
/// Lengths are padded to a multiple of 16 with zeros by the callers.
/// </summary>
internal static class Dot
{
    public const int Pad = 16;

    public static int PadLength(int k) => (k + Pad - 1) / Pad * Pad;

    /// <summary>Four dot products of <paramref name="x"/> with rows w0..w3 (all of padded length k).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Dot4(ref short x, ref short w0, ref short w1, ref short w2, ref short w3, int k, out int r0, out int r1, out int r2, out int r3)
    {
        if (Avx2.IsSupported)
        {
            Vector256<int> a0 = Vector256<int>.Zero, a1 = a0, a2 = a0, a3 = a0;
            for (int i = 0; i < k; i += 16)
            {
                Vector256<short> xv = Vector256.LoadUnsafe(ref x, (nuint)i);
                a0 = Avx2.Add(a0, Avx2.MultiplyAddAdjacent(xv, Vector256.LoadUnsafe(ref w0, (nuint)i)));
                a1 = Avx2.Add(a1, Avx2.MultiplyAddAdjacent(xv, Vector256.LoadUnsafe(ref w1, (nuint)i)));
                a2 = Avx2.Add(a2, Avx2.MultiplyAddAdjacent(xv, Vector256.LoadUnsafe(ref w2, (nuint)i)));
                a3 = Avx2.Add(a3, Avx2.MultiplyAddAdjacent(xv, Vector256.LoadUnsafe(ref w3, (nuint)i)));
            }

            r0 = Vector256.Sum(a0);
            r1 = Vector256.Sum(a1);
            r2 = Vector256.Sum(a2);
            r3 = Vector256.Sum(a3);
            return;
        }

        r0 = Dot1(ref x, ref w0, k);
        r1 = Dot1(ref x, ref w1, k);
        r2 = Dot1(ref x, ref w2, k);
        r3 = Dot1(ref x, ref w3, k);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Dot1(ref short x, ref short w, int k)
    {
        if (Avx2.IsSupported)
        {
            Vector256<int> a = Vector256<int>.Zero;
            for (int i = 0; i < k; i += 16)
            {
                a = Avx2.Add(a, Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref x, (nuint)i), Vector256.LoadUnsafe(ref w, (nuint)i)));
            }

            return Vector256.Sum(a);
        }

        if (Sse2.IsSupported)
        {
            Vector128<int> a = Vector128<int>.Zero;
            for (int i = 0; i < k; i += 8)
            {
                a = Sse2.Add(a, Sse2.MultiplyAddAdjacent(Vector128.LoadUnsafe(ref x, (nuint)i), Vector128.LoadUnsafe(ref w, (nuint)i)));
            }

            return Vector128.Sum(a);
        }

        int s = 0;
        for (int i = 0; i < k; i++)
        {
            s += Unsafe.Add(ref x, i) * Unsafe.Add(ref w, i);
        }

        return s;
    }

    /// <summary>acc[c] += x[c] * w[c] for c in [0, n), int16 operands, int32 accumulators (n a multiple of 16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MulAcc(Span<int> acc, ReadOnlySpan<short> x, ReadOnlySpan<short> w, int n)
    {
        ref int a = ref MemoryMarshal.GetReference(acc);
        ref short xr = ref MemoryMarshal.GetReference(x);
        ref short wr = ref MemoryMarshal.GetReference(w);
        if (Vector256.IsHardwareAccelerated)
        {
            for (int c = 0; c < n; c += 16)
            {
                // |x| <= 255 and |w| <= 128, so the int16 product is exact
                Vector256<short> p = Vector256.LoadUnsafe(ref xr, (nuint)c) * Vector256.LoadUnsafe(ref wr, (nuint)c);
                (Vector256<int> lo, Vector256<int> hi) = Vector256.Widen(p);
                (Vector256.LoadUnsafe(ref a, (nuint)c) + lo).StoreUnsafe(ref a, (nuint)c);
                (Vector256.LoadUnsafe(ref a, (nuint)c + 8) + hi).StoreUnsafe(ref a, (nuint)c + 8);
            }

            return;
        }

        for (int c = 0; c < n; c++)
        {
            Unsafe.Add(ref a, c) += Unsafe.Add(ref xr, c) * Unsafe.Add(ref wr, c);
        }
    }
}
