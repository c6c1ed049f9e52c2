using ILGPU;

namespace ChipKit.Ilgpu.Kernels;

/// <summary>Loads shared by the tiled kernels.</summary>
internal static class Tiles
{
    /// <summary>
    /// v[row*ld + col .. +3] of a [rows, cols] matrix with row stride ld; elements outside read 0. One 16-byte vector
    /// load when <paramref name="vec"/> (ld % 4 == 0; col is always a multiple of 4 here, so the address is aligned)
    /// and all four are inside.
    /// </summary>
    public static F4 Load4(ArrayView<float> v, int row, int rows, int col, int cols, int ld, bool vec)
    {
        if (row >= rows)
        {
            return default;
        }

        long b = ((long)row * ld) + col;
        if (vec && col + 3 < cols)
        {
            return v.Cast<F4>()[b / 4];
        }

        return new F4(
            col < cols ? v[b] : 0f,
            col + 1 < cols ? v[b + 1] : 0f,
            col + 2 < cols ? v[b + 2] : 0f,
            col + 3 < cols ? v[b + 3] : 0f);
    }
}

/// <summary>
/// The fp32 tiled GEMM kernel (explicitly grouped; one group per BMxBN block of Y, grid z = convolution group).
/// Contract: computes acc[m,n] = sum_k opA[m,k]*opB[k,n] in fp32 for every m &lt; M, n &lt; N of the operands and hands
/// each to <see cref="IFloatOperands.Store"/> exactly once; any M, N, K &gt;= 1 (edges are zero-filled in shared memory,
/// never read out of bounds, never stored out of bounds). Shape (<see cref="ITileConfig"/>): (2B)^2 threads, each an
/// 8x8 register tile made of rows {4ty..4ty+3, BM/2+4ty..} x columns {4tx..4tx+3, BN/2+4tx..} (two 16-byte shared
/// loads per operand per k step, conflict-free across a warp). Double-buffered: the next k tile is loaded from global
/// memory into registers before the FMAs of the current one and stored to the other shared buffer after them, one
/// barrier per k tile.
/// </summary>
internal static class SgemmTiled
{
    public static void Kernel<TCfg, TOps>(TOps ops)
        where TCfg : struct, ITileConfig
        where TOps : struct, IFloatOperands
    {
        // Constants after ILGPU inlines the config (shared-memory sizes must be constant).
        ArrayView<float> aS = SharedMemory.Allocate<float>(2 * default(TCfg).B * 16 * default(TCfg).B);
        ArrayView<float> bS = SharedMemory.Allocate<float>(2 * default(TCfg).B * 16 * default(TCfg).B);
        int bk = default(TCfg).B;
        int bm = 16 * bk;
        int tile = bk * bm;
        ArrayView<F4> aS4 = aS.Cast<F4>();
        ArrayView<F4> bS4 = bS.Cast<F4>();

        int tid = Group.IdxX;
        int tx = tid % (2 * bk);
        int ty = tid / (2 * bk);
        int grp = Grid.IdxZ;
        int m0 = Grid.IdxY * bm;
        int n0 = Grid.IdxX * bm;
        int mCount = ops.M;
        int nCount = ops.N;
        int kCount = ops.K;
        bool aK = ops.AAlongK;
        bool bK = ops.BAlongK;

        // This thread's 16-byte slice of each k tile: along k (row, 4 k) or along m/n (k row, 4 columns).
        int aRow = aK ? tid / (bk / 4) : tid / (bm / 4);
        int aCol = aK ? 4 * (tid % (bk / 4)) : 4 * (tid % (bm / 4));
        int bRow = bK ? tid / (bk / 4) : tid / (bm / 4);
        int bCol = bK ? 4 * (tid % (bk / 4)) : 4 * (tid % (bm / 4));

        int tiles = (kCount + bk - 1) / bk;
        F4 pa = aK ? ops.LoadA(grp, m0 + aRow, aCol, true) : ops.LoadA(grp, m0 + aCol, aRow, false);
        F4 pb = bK ? ops.LoadB(grp, bCol, n0 + bRow, true) : ops.LoadB(grp, bRow, n0 + bCol, false);
        StoreTile(aS, 0, bm, aK, aRow, aCol, pa);
        StoreTile(bS, 0, bm, bK, bRow, bCol, pb);
        Group.Barrier();

        F4 c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        F4 c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        for (int t = 0; t < tiles; t++)
        {
            int cur = (t & 1) * tile;
            bool more = t + 1 < tiles;
            if (more)
            {
                // Prefetch: the global loads are in flight while the FMAs below run.
                int k1 = (t + 1) * bk;
                pa = aK ? ops.LoadA(grp, m0 + aRow, k1 + aCol, true) : ops.LoadA(grp, m0 + aCol, k1 + aRow, false);
                pb = bK ? ops.LoadB(grp, k1 + bCol, n0 + bRow, true) : ops.LoadB(grp, k1 + bRow, n0 + bCol, false);
            }

            for (int kk = 0; kk < bk; kk++)
            {
                int o4 = (cur + (kk * bm)) / 4;
                F4 a0 = aS4[o4 + ty];
                F4 a1 = aS4[o4 + (bm / 8) + ty];
                F4 b0 = bS4[o4 + tx];
                F4 b1 = bS4[o4 + (bm / 8) + tx];
                c00 = F4.Fma(c00, a0.X, b0); c01 = F4.Fma(c01, a0.X, b1);
                c10 = F4.Fma(c10, a0.Y, b0); c11 = F4.Fma(c11, a0.Y, b1);
                c20 = F4.Fma(c20, a0.Z, b0); c21 = F4.Fma(c21, a0.Z, b1);
                c30 = F4.Fma(c30, a0.W, b0); c31 = F4.Fma(c31, a0.W, b1);
                c40 = F4.Fma(c40, a1.X, b0); c41 = F4.Fma(c41, a1.X, b1);
                c50 = F4.Fma(c50, a1.Y, b0); c51 = F4.Fma(c51, a1.Y, b1);
                c60 = F4.Fma(c60, a1.Z, b0); c61 = F4.Fma(c61, a1.Z, b1);
                c70 = F4.Fma(c70, a1.W, b0); c71 = F4.Fma(c71, a1.W, b1);
            }

            if (more)
            {
                int nxt = tile - cur;
                StoreTile(aS, nxt, bm, aK, aRow, aCol, pa);
                StoreTile(bS, nxt, bm, bK, bRow, bCol, pb);
            }

            Group.Barrier();
        }

        int rLo = m0 + (4 * ty);
        int rHi = m0 + (bm / 2) + (4 * ty);
        int cLo = n0 + (4 * tx);
        int cHi = n0 + (bm / 2) + (4 * tx);
        StoreRow(ops, grp, rLo, cLo, cHi, mCount, nCount, c00, c01);
        StoreRow(ops, grp, rLo + 1, cLo, cHi, mCount, nCount, c10, c11);
        StoreRow(ops, grp, rLo + 2, cLo, cHi, mCount, nCount, c20, c21);
        StoreRow(ops, grp, rLo + 3, cLo, cHi, mCount, nCount, c30, c31);
        StoreRow(ops, grp, rHi, cLo, cHi, mCount, nCount, c40, c41);
        StoreRow(ops, grp, rHi + 1, cLo, cHi, mCount, nCount, c50, c51);
        StoreRow(ops, grp, rHi + 2, cLo, cHi, mCount, nCount, c60, c61);
        StoreRow(ops, grp, rHi + 3, cLo, cHi, mCount, nCount, c70, c71);
    }

    /// <summary>Writes a loaded 16-byte slice into the k-major shared tile [BK][BM] at buffer offset <paramref name="buf"/>.</summary>
    private static void StoreTile(ArrayView<float> s, int buf, int bm, bool alongK, int row, int col, F4 v)
    {
        if (alongK)
        {
            // (row, k..k+3) -> four k rows of column `row` (a transpose through shared memory).
            s[buf + (col * bm) + row] = v.X;
            s[buf + ((col + 1) * bm) + row] = v.Y;
            s[buf + ((col + 2) * bm) + row] = v.Z;
            s[buf + ((col + 3) * bm) + row] = v.W;
        }
        else
        {
            // (k row, 4 columns): already k-major, one 16-byte store.
            s.Cast<F4>()[(buf + (row * bm) + col) / 4] = v;
        }
    }

    private static void StoreRow<TOps>(TOps ops, int grp, int row, int cLo, int cHi, int mCount, int nCount, F4 lo, F4 hi)
        where TOps : struct, IFloatOperands
    {
        if (row >= mCount)
        {
            return;
        }

        for (int j = 0; j < 4; j++)
        {
            if (cLo + j < nCount)
            {
                ops.Store(grp, row, cLo + j, lo.Get(j));
            }

            if (cHi + j < nCount)
            {
                ops.Store(grp, row, cHi + j, hi.Get(j));
            }
        }
    }
}
