using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ChipKit.Cpu;

/// <summary>
/// One exact int GEMM call: C[M,N] (int32, row stride Ldc) = A16[M,K] * B (+ C when Accumulate), where A16 holds
/// zero-point-adjusted values as int16, row stride Lda (even, rows zero-padded to an even K), and B was packed by
/// <see cref="IQGemm.PackB"/>. With <see cref="PackedA"/> set (by <see cref="QGemm.PackA"/>, e.g. conv weights packed
/// once), A is read from it and A16/AOffset/Lda are unused.
/// </summary>
internal struct QGemmCall
{
    public int M, N, K;
    public bool Accumulate;
    public int[]? PackedA;
    public short[] A16;
    public long AOffset;
    public long Lda;
    public int[] PackedB;
    public int[] C;
    public long COffset;
    public long Ldc;
}

/// <summary>Per-thread buffers of the int8 GEMM (B is always pre-packed, so none for B).</summary>
internal sealed class QGemmScratch(GemmBlocking b, int threads) : GemmScratch<int>(b, threads);

internal interface IQGemm
{
    GemmBlocking Blocking { get; }

    SimdWidth Width { get; }

    /// <summary>
    /// Packs B[k, j] - zeroPoint(j) (K x N, read through <paramref name="value"/>) as int16 pairs in NR-column slivers:
    /// [ceil(N/NR)][ceil(K/2)][NR] int32s, each (B[2p, j] | B[2p+1, j] &lt;&lt; 16), zero-padded.
    /// </summary>
    int[] PackB(int k, int n, Func<int, int, int> value);

    void Run(in QGemmCall call, QGemmScratch scratch, int threads);
}

internal static class QGemm
{
    public const int MR = 6;

    /// <summary>The widest vpmaddwd form this host runs natively (AVX-512BW, AVX2, SSE2), else the scalar form.</summary>
    public static SimdWidth BestWidth =>
        Avx512BW.IsSupported && Vector512.IsHardwareAccelerated ? SimdWidth.V512
        : Avx2.IsSupported && Vector256.IsHardwareAccelerated ? SimdWidth.V256
        : Sse2.IsSupported || Vector128.IsHardwareAccelerated ? SimdWidth.V128
        : SimdWidth.Scalar;

    public static string Describe(SimdWidth w) => w switch
    {
        SimdWidth.V512 => "pmaddwd.v512 (avx512bw)",
        SimdWidth.V256 => "pmaddwd.v256 (avx2)",
        SimdWidth.V128 => Sse2.IsSupported ? "pmaddwd.v128 (sse2)" : "madd.v128 (portable)",
        _ => "scalar",
    };

    /// <summary>The engine for one width; <paramref name="blocking"/> (KC in k-pairs) overrides the cache-derived sizes.</summary>
    public static IQGemm Create(SimdWidth w, BlockSizes? blocking = null) => w switch
    {
        SimdWidth.V512 => new QGemmEngine<Q16x32, Vector512<int>>(w, blocking),
        SimdWidth.V256 => new QGemmEngine<Q16x16, Vector256<int>>(w, blocking),
        SimdWidth.V128 => new QGemmEngine<Q16x8, Vector128<int>>(w, blocking),
        _ => new QGemmEngine<Q16x1, int>(w, blocking),
    };

    /// <summary>
    /// Packs A[i, k] (M x K, read through <paramref name="value"/>) whole, as the GEMM's A blocks would hold it:
    /// [ceil(M/MR)][ceil(K/2)][MR] int32 pairs (A[i, 2p] | A[i, 2p+1] &lt;&lt; 16), zero-padded; the sliver of row tile
    /// t for k-pairs [pc, pc+kc) is then the contiguous run at (t*kp + pc)*MR.
    /// </summary>
    public static int[] PackA(int m, int k, Func<int, int, int> value)
    {
        int kp = (k + 1) / 2;
        var dst = new int[(long)((m + MR - 1) / MR) * MR * kp];
        long d = 0;
        for (int s = 0; s < m; s += MR)
        {
            for (int p = 0; p < kp; p++)
            {
                for (int r = 0; r < MR; r++)
                {
                    int row = s + r;
                    int lo = row < m ? value(row, 2 * p) : 0;
                    int hi = row < m && (2 * p) + 1 < k ? value(row, (2 * p) + 1) : 0;
                    dst[d++] = Pair(lo, hi);
                }
            }
        }

        return dst;
    }

    /// <summary>Packs two int16 values into one int32 (first in the low half), the layout vpmaddwd multiplies pairwise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Pair(int lo, int hi) => (ushort)(short)lo | (hi << 16);
}

/// <summary>Exact int8 GEMM for one vector width: int16 operands, vpmaddwd, int32 accumulators.</summary>
internal sealed class QGemmEngine<TL, TV> : IQGemm, IBlockEngine<QGemmCall, QGemmScratch>
    where TL : struct, ILanes<int, TV>
    where TV : struct
{
    private const int MR = QGemm.MR;

    public QGemmEngine(SimdWidth width, BlockSizes? blocking)
    {
        Width = width;
        Blocking = blocking is { } b
            ? GemmBlocking.Requested(MR, NR, b)
            : GemmBlocking.Derive(MR, NR, sizeof(int), 1, SimdHost.L1d, SimdHost.L2, SimdHost.L3);
    }

    /// <summary>Register tile columns: two vectors of int32 lanes.</summary>
    public static int NR => 2 * TL.Count;

    public GemmBlocking Blocking { get; }

    public SimdWidth Width { get; }

    public int[] PackB(int k, int n, Func<int, int, int> value)
    {
        int nr = NR, kp = (k + 1) / 2;
        var dst = new int[(long)((n + nr - 1) / nr) * nr * kp];
        long d = 0;
        for (int s = 0; s < n; s += nr)
        {
            for (int p = 0; p < kp; p++)
            {
                for (int j = 0; j < nr; j++)
                {
                    int col = s + j;
                    int lo = col < n ? value(2 * p, col) : 0;
                    int hi = col < n && (2 * p) + 1 < k ? value((2 * p) + 1, col) : 0;
                    dst[d++] = QGemm.Pair(lo, hi);
                }
            }
        }

        return dst;
    }

    public void Run(in QGemmCall call, QGemmScratch scratch, int threads)
    {
        // With A pre-packed no strip packs anything, so column strips (each reading only its own B) are as good.
        (int parts, bool splitN) = Sgemm.Plan(call.M, call.N, MR, NR, Math.Min(threads, scratch.Threads), call.PackedA is not null);
        if (parts == 1)
        {
            Block(call, scratch, 0, 0, call.M, 0, call.N);
            return;
        }

        BlockJob<QGemmCall, QGemmScratch>.Run(ref _job, this, MR, NR, call, scratch, call.M, call.N, parts, splitN);
    }

    /// <summary>One job object per engine (no allocation per Run); the pool runs one region at a time.</summary>
    private BlockJob<QGemmCall, QGemmScratch>? _job;

    /// <summary>Packs k-pairs [p0, p0+kcp) of A16 rows [i0, i0+mc) as [ceil(mc/MR)][kcp][MR] int32 pairs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackABlock(in QGemmCall c, int i0, int mc, int p0, int kcp, int[] dst)
    {
        ReadOnlySpan<int> src = MemoryMarshal.Cast<short, int>(c.A16.AsSpan());
        long d = 0;
        for (int s = 0; s < mc; s += MR)
        {
            int rows = Math.Min(MR, mc - s);
            for (int r = 0; r < MR; r++)
            {
                if (r < rows)
                {
                    // A16 rows start at even offsets, so int index (offset/2 + pair) reads elements 2p and 2p+1.
                    long rowPair = ((c.AOffset + ((i0 + s + r) * c.Lda)) / 2) + p0;
                    for (int p = 0; p < kcp; p++)
                    {
                        dst[d + ((long)p * MR) + r] = src[(int)(rowPair + p)];
                    }
                }
                else
                {
                    for (int p = 0; p < kcp; p++)
                    {
                        dst[d + ((long)p * MR) + r] = 0;
                    }
                }
            }

            d += (long)kcp * MR;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Block(in QGemmCall c, QGemmScratch scratch, int t, int m0, int m1, int n0, int n1)
    {
        if (m0 >= m1 || n0 >= n1)
        {
            return;
        }

        GemmBlocking bl = Blocking;
        int nr = NR, kp = (c.K + 1) / 2;
        int[] aBuf = c.PackedA ?? scratch.A[t], tile = scratch.Tile[t];
        ref int b0 = ref MemoryMarshal.GetArrayDataReference(c.PackedB);
        ref int a0 = ref MemoryMarshal.GetArrayDataReference(aBuf);
        ref int y0 = ref MemoryMarshal.GetArrayDataReference(c.C);
        ref int tl = ref MemoryMarshal.GetArrayDataReference(tile);
        for (int pc = 0; pc < kp; pc += bl.KC)
        {
            int kcp = Math.Min(bl.KC, kp - pc);
            bool accumulate = c.Accumulate || pc > 0;
            for (int ic = m0; ic < m1; ic += bl.MC)
            {
                int mc = Math.Min(bl.MC, m1 - ic);
                if (c.PackedA is null)
                {
                    PackABlock(c, ic, mc, pc, kcp, aBuf);
                }

                for (int jr = n0; jr < n1; jr += nr)
                {
                    int ncols = Math.Min(nr, n1 - jr);
                    ref int bs = ref Unsafe.Add(ref b0, (nint)(((long)(jr / nr) * kp * nr) + ((long)pc * nr)));
                    for (int ir = 0; ir < mc; ir += MR)
                    {
                        int nrows = Math.Min(MR, mc - ir);
                        // Row strips start at whole tiles (BlockJob), so (ic + ir) / MR is the tile of pre-packed A.
                        ref int aS = ref c.PackedA is null
                            ? ref Unsafe.Add(ref a0, (nint)((long)(ir / MR) * kcp * MR))
                            : ref Unsafe.Add(ref a0, (nint)((((long)(ic + ir) / MR * kp) + pc) * MR));
                        long yo = c.COffset + ((long)(ic + ir) * c.Ldc) + jr;
                        if (nrows == MR && ncols == nr)
                        {
                            MicroKernel(kcp, ref aS, ref bs, ref Unsafe.Add(ref y0, (nint)yo), (nint)c.Ldc, accumulate);
                        }
                        else
                        {
                            MicroKernel(kcp, ref aS, ref bs, ref tl, nr, false);
                            for (int i = 0; i < nrows; i++)
                            {
                                ref int yr = ref Unsafe.Add(ref y0, (nint)(yo + (i * c.Ldc)));
                                for (int j = 0; j < ncols; j++)
                                {
                                    int v = Unsafe.Add(ref tl, (i * nr) + j);
                                    Unsafe.Add(ref yr, j) = accumulate ? unchecked(Unsafe.Add(ref yr, j) + v) : v;
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// Integer micro-kernel, the same contract as the fp32 one with k counted in pairs: C (MR x NR int32, row stride
    /// <paramref name="ldc"/>) := A_s * B_s (+ C when <paramref name="accumulate"/>). A_s holds kcp groups of MR int32s
    /// (each an int16 pair of one row), B_s kcp groups of NR int32s (an int16 pair per column). Each step broadcasts
    /// one row's pair to every lane and vpmaddwd multiplies it with the column pairs: lane j gets
    /// a[2p]*b[2p, j] + a[2p+1]*b[2p+1, j], added to its int32 accumulator (wrapping, as ONNX's int32 accumulation).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void MicroKernel(int kcp, ref int a, ref int b, ref int c, nint ldc, bool accumulate)
    {
        int w = TL.Count;
        Prefetch.Tile(ref c, ldc, MR, 2 * w);

        TV c00 = TL.Zero, c01 = TL.Zero, c10 = TL.Zero, c11 = TL.Zero, c20 = TL.Zero, c21 = TL.Zero;
        TV c30 = TL.Zero, c31 = TL.Zero, c40 = TL.Zero, c41 = TL.Zero, c50 = TL.Zero, c51 = TL.Zero;
        for (int p = 0; p < kcp; p++)
        {
            RegisterTile<int, TL, TV>.Step(ref a, ref b, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
            a = ref Unsafe.Add(ref a, MR);
            b = ref Unsafe.Add(ref b, 2 * w);
        }

        StoreRow(ref c, w, c00, c01, accumulate);
        StoreRow(ref Unsafe.Add(ref c, ldc), w, c10, c11, accumulate);
        StoreRow(ref Unsafe.Add(ref c, 2 * ldc), w, c20, c21, accumulate);
        StoreRow(ref Unsafe.Add(ref c, 3 * ldc), w, c30, c31, accumulate);
        StoreRow(ref Unsafe.Add(ref c, 4 * ldc), w, c40, c41, accumulate);
        StoreRow(ref Unsafe.Add(ref c, 5 * ldc), w, c50, c51, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(ref int c, int w, TV v0, TV v1, bool accumulate)
    {
        ref int c1 = ref Unsafe.Add(ref c, w);
        if (accumulate)
        {
            TL.Store(ref c, TL.Add(v0, TL.Load(ref c)));
            TL.Store(ref c1, TL.Add(v1, TL.Load(ref c1)));
        }
        else
        {
            TL.Store(ref c, v0);
            TL.Store(ref c1, v1);
        }
    }
}
