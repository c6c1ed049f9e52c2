using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ChipKit.Cpu;

/// <summary>A strided fp32 matrix view: element (r, c) is Data[Offset + r*RowStride + c*ColStride].</summary>
internal readonly record struct MatF32(float[] Data, long Offset, long RowStride, long ColStride)
{
    public float this[long r, long c] => Data[Offset + (r * RowStride) + (c * ColStride)];
}

/// <summary>Cache blocking of a BLIS-style GEMM (loop sizes in elements).</summary>
internal readonly record struct GemmBlocking(int MR, int NR, int KC, int MC, int NC)
{
    /// <summary>
    /// Derives KC/MC/NC from the host's cache sizes (BLIS's analytical model, simplified):
    /// a KC x NR micro-panel of B fills about 3/4 of L1 (the rest streams A slivers and C),
    /// an MC x KC block of A fills about half of L2, a KC x NC panel of B about half of L3.
    /// </summary>
    public static GemmBlocking Derive(int mr, int nr, int elementBytes, int kAlign, long l1, long l2, long l3)
    {
        int kc = (int)Math.Clamp(l1 * 3 / 4 / ((long)nr * elementBytes), 64, 1024);
        kc -= kc % kAlign;
        int mc = (int)Math.Clamp(l2 / 2 / ((long)kc * elementBytes), mr, 4096);
        mc -= mc % mr;
        int nc = (int)Math.Clamp(l3 / 2 / ((long)kc * elementBytes), nr, 8192);
        nc -= nc % nr;
        return new GemmBlocking(mr, nr, kc, mc, nc);
    }

    /// <summary>Requested block sizes (tests use tiny ones), MC and NC rounded down to whole MR x NR register tiles (at least one).</summary>
    public static GemmBlocking Requested(int mr, int nr, BlockSizes b) =>
        new(mr, nr, b.KC, Math.Max(mr, b.MC - (b.MC % mr)), Math.Max(nr, b.NC - (b.NC % nr)));
}

/// <summary>Cache blocking of the fp32 engines, for a given K.</summary>
internal static class SgemmBlocking
{
    /// <summary>Fewest MR-row slivers an MC block holds, so each B micro-panel fetched from L3 serves that many tiles.</summary>
    public const int MinSlivers = 8;

    /// <summary>
    /// KC/MC/NC of the fp32 micro-kernel for inner dimension <paramref name="k"/> (0: unknown). The kernel streams
    /// both its A sliver (prefetched in software) and its B micro-panel from L2, (MR + NR) * 4 bytes per k step,
    /// far below L2 bandwidth; so KC need not fit L1. What a larger KC buys is fewer passes over C (each pass loads
    /// and stores every C tile). So KC is the largest value that still lets an MC x KC block of A of
    /// <see cref="MinSlivers"/> slivers fill half of L2, and K is cut into equal KC blocks; MC then fills half of L2
    /// with A, NC an eighth of L3 with B (see below).
    /// </summary>
    public static GemmBlocking Derive(int mr, int nr, int k, long l2, long l3)
    {
        int kcMax = (int)Math.Clamp(l2 / 2 / ((long)MinSlivers * mr * sizeof(float)), 64, 2048);
        int kc = k > 0 ? Math.Max(1, (k + ((k + kcMax - 1) / kcMax) - 1) / ((k + kcMax - 1) / kcMax)) : kcMax;
        int mc = (int)Math.Clamp(l2 / 2 / ((long)kc * sizeof(float)), mr, 4096);
        mc -= mc % mr;
        // The B panel (KC x NC) takes an eighth of the reported L3, not half: the L3 is shared with the other cores
        // (and, on a VM, with other guests), and a panel that spills is re-read from DRAM by every MC block. Measured
        // on DeepBench's M = 512, N = 1500-6000, K = 2048-2816 GEMMs (1 thread, same runs vs ORT): 52-59 GFLOP/s
        // (0.65-0.92 of ORT) with half, 56-66 (0.88-1.35) with an eighth; 2048^3 and 4096^3 unchanged or better.
        // A narrower NC only repacks A more often (M x KC per NC block, a few % at most).
        int nc = (int)Math.Clamp(l3 / 8 / ((long)kc * sizeof(float)), nr, 8192);
        nc -= nc % nr;
        return new GemmBlocking(mr, nr, kc, mc, nc);
    }

    /// <summary><see cref="Derive"/> for this host's caches, as the block sizes <see cref="Sgemm.Create"/> takes.</summary>
    public static BlockSizes ForHost(SimdWidth w, int k)
    {
        GemmBlocking b = Derive(Sgemm.MR, Sgemm.NR(w), k, SimdHost.L2, SimdHost.L3);
        return new BlockSizes(b.KC, b.MC, b.NC);
    }
}

/// <summary>Requested KC/MC/NC (MC and NC are rounded down to whole register tiles).</summary>
internal readonly record struct BlockSizes(int KC, int MC, int NC);

/// <summary>One fp32 GEMM call: Y[M,N] = alpha * A[M,K] * B[K,N] (+ Y when Accumulate), Y row stride Ldy.</summary>
internal struct SgemmCall
{
    public int M, N, K;
    public float Alpha;
    public bool Accumulate;

    /// <summary>A as a strided view, used when <see cref="PackedA"/> is null.</summary>
    public MatF32 A;

    /// <summary>A pre-packed by <see cref="ISgemm.PackA"/> (all of A, [ceil(M/MR)][K][MR]); null to pack per call.</summary>
    public float[]? PackedA;

    /// <summary>Packs blocks of A on the fly (implicit GEMM), used when <see cref="PackedA"/> is null; null to pack the view <see cref="A"/>.</summary>
    public IAPacker? APacker;

    public MatF32 B;

    /// <summary>B pre-packed by <see cref="ISgemm.PackB"/> (all of B, [ceil(N/NR)][K][NR]); null to pack per call.</summary>
    public float[]? PackedB;

    /// <summary>Packs blocks of B on the fly (implicit GEMM), used when <see cref="PackedB"/> is null; null to pack the view <see cref="B"/>.</summary>
    public IBPacker? BPacker;

    public float[] Y;
    public long YOffset;
    public long Ldy;
}

/// <summary>
/// An A operand that exists only as a packing routine (implicit GEMM: the im2col matrix of an NHWC conv input).
/// Called concurrently from several threads, each with its own <paramref name="dst"/>.
/// </summary>
internal interface IAPacker
{
    /// <summary>Rows [i0, i0+mc) x cols [p0, p0+kc) as [ceil(mc/MR)][kc][MR], rows past mc zero.</summary>
    void PackA(int i0, int mc, int p0, int kc, float[] dst);
}

/// <summary>A B operand that exists only as a packing routine (implicit GEMM: the im2col matrix of an NCHW conv input).</summary>
internal interface IBPacker
{
    /// <summary>Rows [p0, p0+kc) x cols [j0, j0+nc) as [ceil(nc/NR)][kc][NR], columns past nc zero.</summary>
    void PackB(int p0, int kc, int j0, int nc, float[] dst);
}

/// <summary>
/// Per-thread buffers of one GEMM shape, allocated before Run so Run does not allocate: an MC x KC block of packed A
/// and an MR x NR edge tile per thread, of element <typeparamref name="T"/> (fp32, or int32 pairs of int16 for int8).
/// </summary>
internal class GemmScratch<T>
{
    public GemmScratch(GemmBlocking b, int threads)
    {
        A = new T[threads][];
        Tile = new T[threads][];
        for (int t = 0; t < threads; t++)
        {
            A[t] = new T[(long)b.MC * b.KC];
            Tile[t] = new T[b.MR * b.NR];
        }
    }

    public T[][] A { get; }
    public T[][] Tile { get; }
    public int Threads => A.Length;
}

/// <summary>Per-thread buffers of the fp32 GEMM: those of <see cref="GemmScratch{T}"/> and a KC x NC panel of packed B.</summary>
internal sealed class SgemmScratch : GemmScratch<float>
{
    public SgemmScratch(GemmBlocking b, int threads)
        : base(b, threads)
    {
        B = new float[threads][];
        for (int t = 0; t < threads; t++)
        {
            B[t] = new float[(long)b.NC * b.KC];
        }
    }

    public float[][] B { get; }
}

/// <summary>Width-independent face of <see cref="SgemmEngine{TL, TV}"/>, chosen once at Prepare.</summary>
internal interface ISgemm
{
    GemmBlocking Blocking { get; }

    SimdWidth Width { get; }

    /// <summary>Packs all of A ([M,K]) into MR-row slivers: [ceil(M/MR)][K][MR], zero-padded.</summary>
    float[] PackA(MatF32 a, int m, int k);

    /// <summary>Packs all of B ([K,N]) into NR-column slivers: [ceil(N/NR)][K][NR], zero-padded.</summary>
    float[] PackB(MatF32 b, int k, int n);

    void Run(in SgemmCall call, SgemmScratch scratch, int threads);
}

internal static class Sgemm
{
    /// <summary>Register tile rows. 6 x (2 vectors) = 12 accumulators + 2 B vectors + 1 broadcast = 15 registers,
    /// which fits the 16 ymm registers of AVX2 and leaves room in AVX-512's 32 zmm (BLIS's haswell/zen shape).</summary>
    public const int MR = 6;

    /// <summary>Register tile columns of width <paramref name="w"/>: two vectors.</summary>
    public static int NR(SimdWidth w) => 2 * (w switch { SimdWidth.V512 => 16, SimdWidth.V256 => 8, SimdWidth.V128 => 4, _ => 1 });

    /// <summary>The engine for one width; <paramref name="blocking"/> overrides the cache-derived KC/MC/NC (tests use tiny blocks).</summary>
    public static ISgemm Create(SimdWidth w, BlockSizes? blocking = null) => w switch
    {
        SimdWidth.V512 => new SgemmEngine<F32x16, Vector512<float>>(w, blocking),
        SimdWidth.V256 => new SgemmEngine<F32x8, Vector256<float>>(w, blocking),
        SimdWidth.V128 => new SgemmEngine<F32x4, Vector128<float>>(w, blocking),
        _ => new SgemmEngine<F32x1, float>(w, blocking),
    };

    /// <summary>
    /// Splits the M x N output into <paramref name="parts"/> rectangles along M (in MR units) or N (in NR units),
    /// so each thread owns whole register tiles and no two threads write the same output.
    /// </summary>
    public static (int Parts, bool SplitN) Plan(int m, int n, int mr, int nr, int threads, bool preferN)
    {
        int mTiles = (m + mr - 1) / mr, nTiles = (n + nr - 1) / nr;
        if (threads <= 1)
        {
            return (1, false);
        }

        // Splitting N lets each thread pack only its own part of B; but with few N tiles (e.g. the 49 output pixels
        // of a 7x7 conv layer: 4 slivers, the last one column wide) the parts can be unbalanced, so split M instead
        // when that gives clearly smaller largest part.
        // (Pixel strips are claimed dynamically, about round-robin when they are few: 13 tiles of a 14x14 layer
        // give parts of 7 and 6 tiles, the 7 including the 4-pixel tail.)
        if (preferN && nTiles >= threads && (mTiles < threads || RoundRobinImbalance(n, nr, threads) <= Imbalance(m, mr, threads) + 0.05))
        {
            return (threads, true);
        }

        if (mTiles >= threads)
        {
            return (threads, false);
        }

        return nTiles >= mTiles ? (Math.Min(threads, nTiles), true) : (Math.Min(threads, mTiles), false);
    }

    /// <summary>
    /// Strips the parts of a split GEMM are claimed in (<see cref="BlockJob{TCall, TScratch}"/>): about one cache block
    /// each (NC columns, or MC rows) but at least four per part where there are enough tiles, a multiple of the parts,
    /// when a strip costs no extra packing (a pixel strip packs
    /// only its own B columns; a row strip packs only its own A rows when B is pre-packed); otherwise one per part.
    /// </summary>
    public static int Chunks(in SgemmCall call, GemmBlocking bl, int parts, bool splitN)
    {
        if (parts <= 1)
        {
            return parts;
        }

        int tiles, perChunk;
        if (splitN)
        {
            tiles = (call.N + bl.NR - 1) / bl.NR;
            perChunk = Math.Max(1, bl.NC / bl.NR);
        }
        else if (call.PackedB is not null)
        {
            tiles = (call.M + bl.MR - 1) / bl.MR;
            perChunk = Math.Max(1, bl.MC / bl.MR);
        }
        else
        {
            return parts;
        }

        // At least four strips per part when the tiles allow, so the last strips even out the parts.
        int chunks = (tiles + perChunk - 1) / perChunk;
        if (chunks < 4 * parts)
        {
            chunks = Math.Min(tiles, 4 * parts);
        }

        chunks = (chunks + parts - 1) / parts * parts;
        return Math.Clamp(chunks, parts, Math.Max(parts, tiles));
    }

    /// <summary>Largest part over the even share when tiles of <paramref name="size"/> (the last one partial) are dealt
    /// to <paramref name="parts"/> parts in turn.</summary>
    private static double RoundRobinImbalance(int total, int size, int parts)
    {
        int tiles = (total + size - 1) / size;
        long largest = 0;
        for (int t = 0; t < parts; t++)
        {
            long sum = 0;
            for (int i = t; i < tiles; i += parts)
            {
                sum += Math.Min(size, total - (i * size));
            }

            largest = Math.Max(largest, sum);
        }

        return largest * (double)parts / total;
    }

    /// <summary>Largest part of <paramref name="total"/> split into <paramref name="parts"/> ranges of whole tiles, over the even share.</summary>
    private static double Imbalance(int total, int size, int parts)
    {
        int largest = 0;
        for (int t = 0; t < parts; t++)
        {
            (int lo, int hi) = Range(t, parts, total, size);
            largest = Math.Max(largest, hi - lo);
        }

        return largest * (double)parts / total;
    }

    /// <summary>Range [start, end) of part <paramref name="t"/> of <paramref name="tiles"/> tiles of <paramref name="size"/>, clipped to <paramref name="total"/>.</summary>
    public static (int Start, int End) Range(int t, int parts, int total, int size)
    {
        int tiles = (total + size - 1) / size;
        int lo = (int)((long)tiles * t / parts), hi = (int)((long)tiles * (t + 1) / parts);
        return (Math.Min(lo * size, total), Math.Min(hi * size, total));
    }
}

/// <summary>Software prefetch of an output tile (x86 only; a no-op elsewhere).</summary>
internal static class Prefetch
{
    /// <summary>Prefetches the cache line holding <paramref name="p"/> into L1 (x86 only; a no-op elsewhere).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Line(ref float p)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(Unsafe.AsPointer(ref p));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Tile<T>(ref T c, nint ldc, int rows, int cols)
        where T : unmanaged
    {
        if (!Sse.IsSupported)
        {
            return;
        }

        for (int i = 0; i < rows; i++)
        {
            ref T row = ref Unsafe.Add(ref c, i * ldc);
            Sse.Prefetch0(Unsafe.AsPointer(ref row));
            Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref row, cols - 1)));
        }
    }
}

/// <summary>The 6 x 2-vector register tile the fp32 and int8 micro-kernels share (MR = 6 rows, NR = 2 vectors).</summary>
internal static class RegisterTile<TE, TL, TV>
    where TE : unmanaged
    where TL : struct, ILanes<TE, TV>
    where TV : struct
{
    /// <summary>
    /// One k step: loads the two B vectors of group <paramref name="b"/> and multiply-accumulates each with the
    /// broadcast A value of each of the 6 rows of group <paramref name="a"/> (a rank-1 update of the tile; for int8, k
    /// counts pairs). Inlined into the kernel, so the 12 accumulators stay in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Step(ref TE a, ref TE b, ref TV c00, ref TV c01, ref TV c10, ref TV c11, ref TV c20, ref TV c21, ref TV c30, ref TV c31, ref TV c40, ref TV c41, ref TV c50, ref TV c51)
    {
        TV b0 = TL.Load(ref b);
        TV b1 = TL.Load(ref Unsafe.Add(ref b, TL.Count));
        TV av = TL.Broadcast(a);
        c00 = TL.MulAdd(av, b0, c00);
        c01 = TL.MulAdd(av, b1, c01);
        av = TL.Broadcast(Unsafe.Add(ref a, 1));
        c10 = TL.MulAdd(av, b0, c10);
        c11 = TL.MulAdd(av, b1, c11);
        av = TL.Broadcast(Unsafe.Add(ref a, 2));
        c20 = TL.MulAdd(av, b0, c20);
        c21 = TL.MulAdd(av, b1, c21);
        av = TL.Broadcast(Unsafe.Add(ref a, 3));
        c30 = TL.MulAdd(av, b0, c30);
        c31 = TL.MulAdd(av, b1, c31);
        av = TL.Broadcast(Unsafe.Add(ref a, 4));
        c40 = TL.MulAdd(av, b0, c40);
        c41 = TL.MulAdd(av, b1, c41);
        av = TL.Broadcast(Unsafe.Add(ref a, 5));
        c50 = TL.MulAdd(av, b0, c50);
        c51 = TL.MulAdd(av, b1, c51);
    }
}

/// <summary>BLIS-style fp32 GEMM for one vector width.</summary>
internal sealed class SgemmEngine<TL, TV> : ISgemm, IBlockEngine<SgemmCall, SgemmScratch>
    where TL : struct, ILanes<float, TV>
    where TV : struct
{
    private const int MR = Sgemm.MR;

    public SgemmEngine(SimdWidth width, BlockSizes? blocking)
    {
        Width = width;
        Blocking = blocking is { } b
            ? GemmBlocking.Requested(MR, NR, b)
            : SgemmBlocking.Derive(MR, NR, 0, SimdHost.L2, SimdHost.L3);
    }

    /// <summary>Register tile columns: two vectors.</summary>
    public static int NR => 2 * TL.Count;

    public GemmBlocking Blocking { get; }

    public SimdWidth Width { get; }

    public float[] PackA(MatF32 a, int m, int k)
    {
        var dst = new float[(long)((m + MR - 1) / MR) * MR * k];
        PackABlock(a, 0, m, 0, k, dst);
        return dst;
    }

    public float[] PackB(MatF32 b, int k, int n)
    {
        var dst = new float[(long)((n + NR - 1) / NR) * NR * k];
        PackBBlock(b, 0, k, 0, n, dst);
        return dst;
    }

    /// <summary>Packs rows [i0, i0+mc) x cols [p0, p0+kc) of A as [ceil(mc/MR)][kc][MR], rows past mc zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void PackABlock(MatF32 a, int i0, int mc, int p0, int kc, float[] dst)
    {
        float[] src = a.Data;
        long d = 0;
        for (int s = 0; s < mc; s += MR)
        {
            int rows = Math.Min(MR, mc - s);
            long rowBase = a.Offset + ((long)(i0 + s) * a.RowStride) + ((long)p0 * a.ColStride);
            if (rows == MR && a.ColStride == 1)
            {
                // Row-major A: read six rows in step; each output group of MR is one k.
                if (kc > 0)
                {
                    // Bounds once per sliver (the last element of row MR-1 and of the sliver), then unchecked refs.
                    _ = src[rowBase + ((MR - 1) * a.RowStride) + kc - 1];
                    _ = dst[d + ((long)kc * MR) - 1];
                    PackRowsMR(ref src[rowBase], (nint)a.RowStride, kc, ref dst[d]);
                }
            }
            else if (rows == MR && a.RowStride == 1)
            {
                // Transposed A: the MR values of one k are contiguous.
                for (int p = 0; p < kc; p++)
                {
                    src.AsSpan((int)(rowBase + (p * a.ColStride)), MR).CopyTo(dst.AsSpan((int)(d + ((long)p * MR)), MR));
                }
            }
            else
            {
                for (int p = 0; p < kc; p++)
                {
                    for (int r = 0; r < MR; r++)
                    {
                        dst[d + ((long)p * MR) + r] = r < rows ? src[rowBase + (r * a.RowStride) + (p * a.ColStride)] : 0f;
                    }
                }
            }

            d += (long)kc * MR;
        }
    }

    /// <summary>
    /// dst[p*MR + r] = src[r*ld + p] for r &lt; MR, p &lt; kc: one full MR-row sliver of row-major A. With SSE, four k
    /// at a time: rows 0-3 by a 4x4 transpose (unpack + movlhps/movhlps), rows 4-5 by one unpack, stored as 4 + 2 floats
    /// per k; the rest element by element. The caller has checked that every index is inside its array.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void PackRowsMR(ref float src, nint ld, int kc, ref float dst)
    {
        int p = 0;
        if (Sse.IsSupported)
        {
            ref float s1 = ref Unsafe.Add(ref src, ld);
            ref float s2 = ref Unsafe.Add(ref src, 2 * ld);
            ref float s3 = ref Unsafe.Add(ref src, 3 * ld);
            ref float s4 = ref Unsafe.Add(ref src, 4 * ld);
            ref float s5 = ref Unsafe.Add(ref src, 5 * ld);
            for (; p <= kc - 4; p += 4)
            {
                if ((p & 15) == 0 && p + 64 < kc)
                {
                    // A is read once per GEMM, 6 rows ld apart (often from L3 or DRAM): fetch 4 lines ahead.
                    PrefetchRows(ref Unsafe.Add(ref src, p + 64), ld);
                }

                Vector128<float> r0 = Vector128.LoadUnsafe(ref src, (nuint)p), r1 = Vector128.LoadUnsafe(ref s1, (nuint)p);
                Vector128<float> r2 = Vector128.LoadUnsafe(ref s2, (nuint)p), r3 = Vector128.LoadUnsafe(ref s3, (nuint)p);
                Vector128<float> r4 = Vector128.LoadUnsafe(ref s4, (nuint)p), r5 = Vector128.LoadUnsafe(ref s5, (nuint)p);
                Vector128<float> t0 = Sse.UnpackLow(r0, r1), t1 = Sse.UnpackHigh(r0, r1);
                Vector128<float> t2 = Sse.UnpackLow(r2, r3), t3 = Sse.UnpackHigh(r2, r3);
                Vector128<float> u0 = Sse.UnpackLow(r4, r5), u1 = Sse.UnpackHigh(r4, r5);
                ref float o = ref Unsafe.Add(ref dst, p * MR);
                Sse.MoveLowToHigh(t0, t2).StoreUnsafe(ref o);
                StoreLow2(ref Unsafe.Add(ref o, 4), u0);
                Sse.MoveHighToLow(t2, t0).StoreUnsafe(ref Unsafe.Add(ref o, MR));
                StoreLow2(ref Unsafe.Add(ref o, MR + 4), Sse.MoveHighToLow(u0, u0));
                Sse.MoveLowToHigh(t1, t3).StoreUnsafe(ref Unsafe.Add(ref o, 2 * MR));
                StoreLow2(ref Unsafe.Add(ref o, (2 * MR) + 4), u1);
                Sse.MoveHighToLow(t3, t1).StoreUnsafe(ref Unsafe.Add(ref o, 3 * MR));
                StoreLow2(ref Unsafe.Add(ref o, (3 * MR) + 4), Sse.MoveHighToLow(u1, u1));
            }
        }

        for (; p < kc; p++)
        {
            ref float o = ref Unsafe.Add(ref dst, p * MR);
            for (int r = 0; r < MR; r++)
            {
                Unsafe.Add(ref o, r) = Unsafe.Add(ref src, (r * ld) + p);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PrefetchRows(ref float src, nint ld)
    {
        for (int r = 0; r < MR; r++)
        {
            Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref src, r * ld)));
        }
    }

    /// <summary>Stores the two low floats of <paramref name="v"/> (one 64-bit store).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreLow2(ref float dst, Vector128<float> v) =>
        Unsafe.WriteUnaligned(ref Unsafe.As<float, byte>(ref dst), v.AsDouble().ToScalar());

    /// <summary>Packs rows [p0, p0+kc) x cols [j0, j0+nc) of B as [ceil(nc/NR)][kc][NR], columns past nc zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void PackBBlock(MatF32 b, int p0, int kc, int j0, int nc, float[] dst)
    {
        int nr = NR;
        float[] src = b.Data;
        long d = 0;
        for (int s = 0; s < nc; s += nr)
        {
            int cols = Math.Min(nr, nc - s);
            long colBase = b.Offset + ((long)p0 * b.RowStride) + ((long)(j0 + s) * b.ColStride);
            if (b.ColStride == 1 && cols == nr)
            {
                // Full sliver of row-major B: two vector copies per k (this runs once per GEMM for im2col operands).
                int w = TL.Count;
                ref float s0 = ref src[colBase];
                ref float o0 = ref dst[d];
                for (int p = 0; p < kc; p++)
                {
                    ref float sp = ref Unsafe.Add(ref s0, (nint)(p * b.RowStride));
                    ref float op = ref Unsafe.Add(ref o0, p * nr);
                    TL.Store(ref op, TL.Load(ref sp));
                    TL.Store(ref Unsafe.Add(ref op, w), TL.Load(ref Unsafe.Add(ref sp, w)));
                }
            }
            else if (b.ColStride == 1)
            {
                for (int p = 0; p < kc; p++)
                {
                    Span<float> o = dst.AsSpan((int)(d + ((long)p * nr)), nr);
                    src.AsSpan((int)(colBase + (p * b.RowStride)), cols).CopyTo(o);
                    o[cols..].Clear();
                }
            }
            else
            {
                for (int p = 0; p < kc; p++)
                {
                    long o = d + ((long)p * nr);
                    long sp = colBase + (p * b.RowStride);
                    for (int j = 0; j < nr; j++)
                    {
                        dst[o + j] = j < cols ? src[sp + (j * b.ColStride)] : 0f;
                    }
                }
            }

            d += (long)kc * nr;
        }
    }

    public void Run(in SgemmCall call, SgemmScratch scratch, int threads)
    {
        (int parts, bool splitN) = Sgemm.Plan(call.M, call.N, MR, NR, Math.Min(threads, scratch.Threads), call.PackedB is null);
        if (parts == 1)
        {
            Block(call, scratch, 0, 0, call.M, 0, call.N);
            return;
        }

        BlockJob<SgemmCall, SgemmScratch>.Run(ref _job, this, MR, NR, call, scratch, call.M, call.N, parts, splitN, Sgemm.Chunks(call, Blocking, parts, splitN));
    }

    /// <summary>One job object per engine (no allocation per Run); the pool runs one region at a time.</summary>
    private BlockJob<SgemmCall, SgemmScratch>? _job;

    /// <summary>The five BLIS loops around the micro-kernel for output rows [m0,m1) x cols [n0,n1) (m0 % MR == 0, n0 % NR == 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Block(in SgemmCall c, SgemmScratch scratch, int t, int m0, int m1, int n0, int n1)
    {
        if (m0 >= m1 || n0 >= n1)
        {
            return;
        }

        GemmBlocking bl = Blocking;
        int nr = NR, K = c.K;
        float[] aBuf = scratch.A[t], bBuf = scratch.B[t], tile = scratch.Tile[t];

        // Equal blocks rather than full blocks and a remainder: M = 1024 with MC = 168 would otherwise end with a
        // 16-row block that reloads each B micro-panel for three tiles.
        int ncStep = BalancedStep(n1 - n0, bl.NC, nr), kcStep = BalancedStep(K, bl.KC, 1), mcStep = BalancedStep(m1 - m0, bl.MC, MR);
        for (int jc = n0; jc < n1; jc += ncStep)
        {
            int nc = Math.Min(ncStep, n1 - jc);
            for (int pc = 0; pc < K; pc += kcStep)
            {
                int kc = Math.Min(kcStep, K - pc);
                if (c.PackedB is null)
                {
                    if (c.BPacker is not null)
                    {
                        c.BPacker.PackB(pc, kc, jc, nc, bBuf);
                    }
                    else
                    {
                        PackBBlock(c.B, pc, kc, jc, nc, bBuf);
                    }
                }

                (float[] bSrc, long bBase, long bStride) = Slivers(c.PackedB, bBuf, jc / nr, pc, K, kc, nr);

                bool accumulate = c.Accumulate || pc > 0;
                for (int ic = m0; ic < m1; ic += mcStep)
                {
                    int mc = Math.Min(mcStep, m1 - ic);
                    if (c.PackedA is null)
                    {
                        if (c.APacker is not null)
                        {
                            c.APacker.PackA(ic, mc, pc, kc, aBuf);
                        }
                        else
                        {
                            PackABlock(c.A, ic, mc, pc, kc, aBuf);
                        }
                    }

                    (float[] aSrc, long aBase, long aStride) = Slivers(c.PackedA, aBuf, ic / MR, pc, K, kc, MR);

                    ref float a0 = ref MemoryMarshal.GetArrayDataReference(aSrc);
                    ref float b0 = ref MemoryMarshal.GetArrayDataReference(bSrc);
                    ref float y0 = ref MemoryMarshal.GetArrayDataReference(c.Y);
                    for (int jr = 0; jr < nc; jr += nr)
                    {
                        int ncols = Math.Min(nr, nc - jr);
                        ref float bs = ref Unsafe.Add(ref b0, (nint)(bBase + ((long)(jr / nr) * bStride)));
                        for (int ir = 0; ir < mc; ir += MR)
                        {
                            int nrows = Math.Min(MR, mc - ir);
                            ref float aS = ref Unsafe.Add(ref a0, (nint)(aBase + ((long)(ir / MR) * aStride)));
                            long yo = c.YOffset + ((long)(ic + ir) * c.Ldy) + jc + jr;
                            if (ncols == nr)
                            {
                                // Full-width tile (a row tail stores only its nrows rows, e.g. 64 channels = 10 x 6 + 4).
                                MicroKernel(kc, ref aS, ref bs, ref Unsafe.Add(ref y0, (nint)yo), (nint)c.Ldy, c.Alpha, accumulate, nrows);
                            }
                            else
                            {
                                // Edge tile: compute the full register tile into scratch, then merge the valid part.
                                ref float tl = ref MemoryMarshal.GetArrayDataReference(tile);
                                if (ncols <= ColumnTail)
                                {
                                    // One or two valid columns (the 49th pixel of a 7x7 conv layer): one column at a time.
                                    for (int j = 0; j < ncols; j++)
                                    {
                                        MicroKernelColumn(kc, ref aS, ref Unsafe.Add(ref bs, j), nr, ref Unsafe.Add(ref tl, j), nr);
                                    }
                                }
                                else if (ncols <= TL.Count)
                                {
                                    // At most one vector of valid columns (N tails, e.g. 7x7 conv outputs): half the work.
                                    MicroKernelHalf(kc, ref aS, ref bs, ref tl, nr);
                                }
                                else
                                {
                                    MicroKernel(kc, ref aS, ref bs, ref tl, nr, 1f, false, MR);
                                }

                                for (int i = 0; i < nrows; i++)
                                {
                                    ref float yr = ref Unsafe.Add(ref y0, (nint)(yo + (i * c.Ldy)));
                                    for (int j = 0; j < ncols; j++)
                                    {
                                        float v = Unsafe.Add(ref tl, (i * nr) + j);
                                        Unsafe.Add(ref yr, j) = accumulate ? MathF.FusedMultiplyAdd(c.Alpha, v, Unsafe.Add(ref yr, j)) : c.Alpha * v;
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// Where the slivers (<paramref name="width"/> = MR rows of A or NR columns of B) of the current KC block start and
    /// how far apart they are: in the operand pre-packed whole (<paramref name="packed"/>, [slivers][K][width]) from
    /// sliver <paramref name="sliver0"/> and k <paramref name="pc"/> on, else in the block just packed into
    /// <paramref name="buffer"/> ([slivers][kc][width]).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (float[] Src, long Base, long Stride) Slivers(float[]? packed, float[] buffer, int sliver0, int pc, int k, int kc, int width) =>
        packed is not null
            ? (packed, ((long)sliver0 * k * width) + ((long)pc * width), (long)k * width)
            : (buffer, 0, (long)kc * width);

    /// <summary>
    /// BLIS micro-kernel contract: computes one MR x NR register tile C := alpha * A_s * B_s (+ C when
    /// <paramref name="accumulate"/>), where
    /// <list type="bullet">
    /// <item>A_s is a packed MR-row sliver: <paramref name="kc"/> groups of MR floats, group p holding A[0..MR, p];</item>
    /// <item>B_s is a packed NR-column sliver: kc groups of NR floats, group p holding B[p, 0..NR];</item>
    /// <item>C is MR rows of NR floats at row stride <paramref name="ldc"/>; all MR x NR entries are written;</item>
    /// <item>slivers are zero-padded at the matrix edges, so the kernel never branches on sizes.</item>
    /// </list>
    /// NR = 2 vectors of TL. The MR x 2 accumulators are plain locals so the JIT enregisters them for the whole k loop
    /// (no spill as long as MR*2 + 3 vector registers exist); each k step loads two B vectors and broadcasts each of
    /// the MR A values, which the JIT folds into a broadcast-from-memory operand.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void MicroKernel(int kc, ref float a, ref float b, ref float c, nint ldc, float alpha, bool accumulate, int rows)
    {
        int w = TL.Count;

        // Start pulling the C tile toward L1 now: its rows are ldc apart (often L2/L3 resident), and a miss at the
        // final load-add-store would otherwise stall after the k loop instead of overlapping with it.
        Prefetch.Tile(ref c, ldc, rows, 2 * w);

        TV c00 = TL.Zero, c01 = TL.Zero, c10 = TL.Zero, c11 = TL.Zero, c20 = TL.Zero, c21 = TL.Zero;
        TV c30 = TL.Zero, c31 = TL.Zero, c40 = TL.Zero, c41 = TL.Zero, c50 = TL.Zero, c51 = TL.Zero;
        int p = 0;
        for (; p <= kc - 2; p += 2)
        {
            // The A sliver streams from L2 (the packed MC x KC block): pull it into L1 ahead of use, one line per two
            // k steps (2 x MR floats = 48 bytes).
            Prefetch.Line(ref Unsafe.Add(ref a, 16 * MR));

            RegisterTile<float, TL, TV>.Step(ref a, ref b, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
            a = ref Unsafe.Add(ref a, MR);
            b = ref Unsafe.Add(ref b, 2 * w);

            RegisterTile<float, TL, TV>.Step(ref a, ref b, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
            a = ref Unsafe.Add(ref a, MR);
            b = ref Unsafe.Add(ref b, 2 * w);
        }

        for (; p < kc; p++)
        {
            RegisterTile<float, TL, TV>.Step(ref a, ref b, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
            a = ref Unsafe.Add(ref a, MR);
            b = ref Unsafe.Add(ref b, 2 * w);
        }

        TV al = TL.Broadcast(alpha);
        StoreRow(ref c, w, c00, c01, al, accumulate);
        if (rows < MR)
        {
            StoreRows(ref c, ldc, w, rows, c10, c11, c20, c21, c30, c31, c40, c41, al, accumulate);
            return;
        }

        StoreRow(ref Unsafe.Add(ref c, ldc), w, c10, c11, al, accumulate);
        StoreRow(ref Unsafe.Add(ref c, 2 * ldc), w, c20, c21, al, accumulate);
        StoreRow(ref Unsafe.Add(ref c, 3 * ldc), w, c30, c31, al, accumulate);
        StoreRow(ref Unsafe.Add(ref c, 4 * ldc), w, c40, c41, al, accumulate);
        StoreRow(ref Unsafe.Add(ref c, 5 * ldc), w, c50, c51, al, accumulate);
    }

    /// <summary>Rows 1 .. rows-1 (rows &lt; MR) of a tile whose row 0 is already stored.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void StoreRows(ref float c, nint ldc, int w, int rows, TV c10, TV c11, TV c20, TV c21, TV c30, TV c31, TV c40, TV c41, TV al, bool accumulate)
    {
        if (rows > 1)
        {
            StoreRow(ref Unsafe.Add(ref c, ldc), w, c10, c11, al, accumulate);
        }

        if (rows > 2)
        {
            StoreRow(ref Unsafe.Add(ref c, 2 * ldc), w, c20, c21, al, accumulate);
        }

        if (rows > 3)
        {
            StoreRow(ref Unsafe.Add(ref c, 3 * ldc), w, c30, c31, al, accumulate);
        }

        if (rows > 4)
        {
            StoreRow(ref Unsafe.Add(ref c, 4 * ldc), w, c40, c41, al, accumulate);
        }
    }

    /// <summary>The largest step, a multiple of <paramref name="unit"/> and at most <paramref name="block"/> (itself a
    /// multiple of unit), that cuts <paramref name="total"/> into as few blocks as <paramref name="block"/> does, of
    /// nearly equal size.</summary>
    internal static int BalancedStep(int total, int block, int unit)
    {
        if (total <= block)
        {
            return Math.Max(block, 1);
        }

        int blocks = (total + block - 1) / block;
        int step = (total + blocks - 1) / blocks;
        step = (step + unit - 1) / unit * unit;
        return Math.Min(step, block);
    }

    /// <summary>Edge tiles with at most this many valid columns run <see cref="MicroKernelColumn"/> per column.</summary>
    internal const int ColumnTail = 2;

    /// <summary>
    /// One column of the register tile: C[r * ldc] := sum over k of A_s[k, r] * B_s[k, 0] (B_s groups
    /// <paramref name="nr"/> floats apart), for r &lt; MR. Rows 0-3 are one 4-lane vector and rows 4-5 the low half of
    /// another, so a k step is two 128-bit FMAs instead of the MR full-width FMAs of <see cref="MicroKernelHalf"/>;
    /// four k steps per iteration go to separate accumulators (eight independent FMA chains).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void MicroKernelColumn(int kc, ref float a, ref float b, int nr, ref float c, nint ldc)
    {
        Vector128<float> lo0 = Vector128<float>.Zero, lo1 = lo0, lo2 = lo0, lo3 = lo0, hi0 = lo0, hi1 = lo0, hi2 = lo0, hi3 = lo0;
        int p = 0;
        for (; p <= kc - 4; p += 4)
        {
            ref float a0 = ref Unsafe.Add(ref a, p * MR);
            ref float b0 = ref Unsafe.Add(ref b, p * nr);
            Vector128<float> bv = Vector128.Create(b0);
            lo0 = Vector128.FusedMultiplyAdd(Vector128.LoadUnsafe(ref a0), bv, lo0);
            hi0 = Vector128.FusedMultiplyAdd(LoadPair(ref Unsafe.Add(ref a0, 4)), bv, hi0);
            bv = Vector128.Create(Unsafe.Add(ref b0, nr));
            lo1 = Vector128.FusedMultiplyAdd(Vector128.LoadUnsafe(ref a0, MR), bv, lo1);
            hi1 = Vector128.FusedMultiplyAdd(LoadPair(ref Unsafe.Add(ref a0, MR + 4)), bv, hi1);
            bv = Vector128.Create(Unsafe.Add(ref b0, 2 * nr));
            lo2 = Vector128.FusedMultiplyAdd(Vector128.LoadUnsafe(ref a0, 2 * MR), bv, lo2);
            hi2 = Vector128.FusedMultiplyAdd(LoadPair(ref Unsafe.Add(ref a0, (2 * MR) + 4)), bv, hi2);
            bv = Vector128.Create(Unsafe.Add(ref b0, 3 * nr));
            lo3 = Vector128.FusedMultiplyAdd(Vector128.LoadUnsafe(ref a0, 3 * MR), bv, lo3);
            hi3 = Vector128.FusedMultiplyAdd(LoadPair(ref Unsafe.Add(ref a0, (3 * MR) + 4)), bv, hi3);
        }

        for (; p < kc; p++)
        {
            Vector128<float> bv = Vector128.Create(Unsafe.Add(ref b, p * nr));
            lo0 = Vector128.FusedMultiplyAdd(Vector128.LoadUnsafe(ref a, (nuint)(p * MR)), bv, lo0);
            hi0 = Vector128.FusedMultiplyAdd(LoadPair(ref Unsafe.Add(ref a, (p * MR) + 4)), bv, hi0);
        }

        Vector128<float> lo = (lo0 + lo1) + (lo2 + lo3), hi = (hi0 + hi1) + (hi2 + hi3);
        c = lo.GetElement(0);
        Unsafe.Add(ref c, ldc) = lo.GetElement(1);
        Unsafe.Add(ref c, 2 * ldc) = lo.GetElement(2);
        Unsafe.Add(ref c, 3 * ldc) = lo.GetElement(3);
        Unsafe.Add(ref c, 4 * ldc) = hi.GetElement(0);
        Unsafe.Add(ref c, 5 * ldc) = hi.GetElement(1);
    }

    /// <summary>p[0], p[1] in the low lanes, zeros above (one 64-bit load: never reads past p[1]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> LoadPair(ref float p) =>
        Vector128.CreateScalar(Unsafe.ReadUnaligned<double>(ref Unsafe.As<float, byte>(ref p))).AsSingle();

    /// <summary>
    /// The micro-kernel on the first vector of each NR-wide B group only: C[0..MR, 0..w) := A_s * B_s[:, 0..w), for
    /// edge tiles whose valid columns fit in one vector. Writes w columns of each of the MR rows (ldc apart).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void MicroKernelHalf(int kc, ref float a, ref float b, ref float c, nint ldc)
    {
        int w = TL.Count;
        TV c0 = TL.Zero, c1 = TL.Zero, c2 = TL.Zero, c3 = TL.Zero, c4 = TL.Zero, c5 = TL.Zero;
        for (int p = 0; p < kc; p++)
        {
            TV b0 = TL.Load(ref b);
            c0 = TL.MulAdd(TL.Broadcast(a), b0, c0);
            c1 = TL.MulAdd(TL.Broadcast(Unsafe.Add(ref a, 1)), b0, c1);
            c2 = TL.MulAdd(TL.Broadcast(Unsafe.Add(ref a, 2)), b0, c2);
            c3 = TL.MulAdd(TL.Broadcast(Unsafe.Add(ref a, 3)), b0, c3);
            c4 = TL.MulAdd(TL.Broadcast(Unsafe.Add(ref a, 4)), b0, c4);
            c5 = TL.MulAdd(TL.Broadcast(Unsafe.Add(ref a, 5)), b0, c5);
            a = ref Unsafe.Add(ref a, MR);
            b = ref Unsafe.Add(ref b, 2 * w);
        }

        TL.Store(ref c, c0);
        TL.Store(ref Unsafe.Add(ref c, ldc), c1);
        TL.Store(ref Unsafe.Add(ref c, 2 * ldc), c2);
        TL.Store(ref Unsafe.Add(ref c, 3 * ldc), c3);
        TL.Store(ref Unsafe.Add(ref c, 4 * ldc), c4);
        TL.Store(ref Unsafe.Add(ref c, 5 * ldc), c5);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(ref float c, int w, TV v0, TV v1, TV alpha, bool accumulate)
    {
        ref float c1 = ref Unsafe.Add(ref c, w);
        if (accumulate)
        {
            TL.Store(ref c, TL.MulAdd(alpha, v0, TL.Load(ref c)));
            TL.Store(ref c1, TL.MulAdd(alpha, v1, TL.Load(ref c1)));
        }
        else
        {
            TL.Store(ref c, TL.MulAdd(alpha, v0, TL.Zero));
            TL.Store(ref c1, TL.MulAdd(alpha, v1, TL.Zero));
        }
    }
}
