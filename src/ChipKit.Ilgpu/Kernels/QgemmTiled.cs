using ILGPU;

namespace ChipKit.Ilgpu.Kernels;

/// <summary>
/// The int8 tiled kernel (QLinearMatMul, MatMulInteger, QLinearConv, ConvInteger). Contract: for every m &lt; M, n &lt; N
/// it computes dot = sum_k a[m,k]*b[k,n] of the raw 8-bit values and rowSum = sum_k a[m,k] in wrapping int32 and hands
/// both to <see cref="IQuantOperands.Store"/> once (zero points, bias and requantisation are the operands' epilogue),
/// so the result is bit-exact with the oracle for any M, N, K &gt;= 1. Shape as <see cref="SgemmTiled"/>: (2B)^2 threads,
/// 8x8 outputs per thread, a BM x 4B-byte tile of A and 4B-byte x BN tile of B per step, k packed 4 bytes per word so
/// every multiply-accumulate step is one <see cref="IntMath.Dot4"/> (dp4a on CUDA).
/// </summary>
internal static class QgemmTiled
{
    public static void Kernel<TCfg, TOps>(TOps ops)
        where TCfg : struct, ITileConfig
        where TOps : struct, IQuantOperands
    {
        ArrayView<uint> aS = SharedMemory.Allocate<uint>(default(TCfg).B * 16 * default(TCfg).B);
        ArrayView<uint> bS = SharedMemory.Allocate<uint>(default(TCfg).B * 16 * default(TCfg).B);
        int bw = default(TCfg).B; // k words per tile
        int bm = 16 * bw;
        int threads = 4 * bw * bw;

        int tid = Group.IdxX;
        int tx = tid % (2 * bw);
        int ty = tid / (2 * bw);
        int grp = Grid.IdxZ;
        int m0 = Grid.IdxY * bm;
        int n0 = Grid.IdxX * bm;
        int sa = ops.ASigned;
        int sb = ops.BSigned;
        int kBytes = ops.K;
        int steps = (kBytes + (4 * bw) - 1) / (4 * bw);

        I4 c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        I4 c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        int s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        for (int t = 0; t < steps; t++)
        {
            int k0 = t * 4 * bw;

            // BM*B words of each operand, 4 per thread; shared layout [word][row] (k-major).
            for (int i = 0; i < 4; i++)
            {
                int idx = tid + (i * threads);
                int row = idx / bw;
                int word = idx % bw;
                aS[(word * bm) + row] = ops.LoadA4(grp, m0 + row, k0 + (4 * word));
                bS[(word * bm) + row] = ops.LoadB4(grp, k0 + (4 * word), n0 + row);
            }

            Group.Barrier();
            for (int w = 0; w < bw; w++)
            {
                int o = w * bm;
                int ra = o + (4 * ty);
                int rb = o + (bm / 2) + (4 * ty);
                int ca = o + (4 * tx);
                int cb = o + (bm / 2) + (4 * tx);
                uint a0 = aS[ra], a1 = aS[ra + 1], a2 = aS[ra + 2], a3 = aS[ra + 3];
                uint a4 = aS[rb], a5 = aS[rb + 1], a6 = aS[rb + 2], a7 = aS[rb + 3];
                uint b0 = bS[ca], b1 = bS[ca + 1], b2 = bS[ca + 2], b3 = bS[ca + 3];
                uint b4 = bS[cb], b5 = bS[cb + 1], b6 = bS[cb + 2], b7 = bS[cb + 3];
                c00 = Row(c00, a0, b0, b1, b2, b3, sa, sb); c01 = Row(c01, a0, b4, b5, b6, b7, sa, sb);
                c10 = Row(c10, a1, b0, b1, b2, b3, sa, sb); c11 = Row(c11, a1, b4, b5, b6, b7, sa, sb);
                c20 = Row(c20, a2, b0, b1, b2, b3, sa, sb); c21 = Row(c21, a2, b4, b5, b6, b7, sa, sb);
                c30 = Row(c30, a3, b0, b1, b2, b3, sa, sb); c31 = Row(c31, a3, b4, b5, b6, b7, sa, sb);
                c40 = Row(c40, a4, b0, b1, b2, b3, sa, sb); c41 = Row(c41, a4, b4, b5, b6, b7, sa, sb);
                c50 = Row(c50, a5, b0, b1, b2, b3, sa, sb); c51 = Row(c51, a5, b4, b5, b6, b7, sa, sb);
                c60 = Row(c60, a6, b0, b1, b2, b3, sa, sb); c61 = Row(c61, a6, b4, b5, b6, b7, sa, sb);
                c70 = Row(c70, a7, b0, b1, b2, b3, sa, sb); c71 = Row(c71, a7, b4, b5, b6, b7, sa, sb);

                // Row sums of A (a dot product with four ones, unsigned).
                s0 = IntMath.Dot4(a0, 0x01010101u, s0, sa, 0); s1 = IntMath.Dot4(a1, 0x01010101u, s1, sa, 0);
                s2 = IntMath.Dot4(a2, 0x01010101u, s2, sa, 0); s3 = IntMath.Dot4(a3, 0x01010101u, s3, sa, 0);
                s4 = IntMath.Dot4(a4, 0x01010101u, s4, sa, 0); s5 = IntMath.Dot4(a5, 0x01010101u, s5, sa, 0);
                s6 = IntMath.Dot4(a6, 0x01010101u, s6, sa, 0); s7 = IntMath.Dot4(a7, 0x01010101u, s7, sa, 0);
            }

            Group.Barrier();
        }

        int rLo = m0 + (4 * ty);
        int rHi = m0 + (bm / 2) + (4 * ty);
        int cLo = n0 + (4 * tx);
        int cHi = n0 + (bm / 2) + (4 * tx);
        StoreRow(ops, grp, rLo, cLo, cHi, c00, c01, s0);
        StoreRow(ops, grp, rLo + 1, cLo, cHi, c10, c11, s1);
        StoreRow(ops, grp, rLo + 2, cLo, cHi, c20, c21, s2);
        StoreRow(ops, grp, rLo + 3, cLo, cHi, c30, c31, s3);
        StoreRow(ops, grp, rHi, cLo, cHi, c40, c41, s4);
        StoreRow(ops, grp, rHi + 1, cLo, cHi, c50, c51, s5);
        StoreRow(ops, grp, rHi + 2, cLo, cHi, c60, c61, s6);
        StoreRow(ops, grp, rHi + 3, cLo, cHi, c70, c71, s7);
    }

    private static I4 Row(I4 c, uint a, uint b0, uint b1, uint b2, uint b3, int sa, int sb) => new()
    {
        X = IntMath.Dot4(a, b0, c.X, sa, sb),
        Y = IntMath.Dot4(a, b1, c.Y, sa, sb),
        Z = IntMath.Dot4(a, b2, c.Z, sa, sb),
        W = IntMath.Dot4(a, b3, c.W, sa, sb),
    };

    private static void StoreRow<TOps>(TOps ops, int grp, int row, int cLo, int cHi, I4 lo, I4 hi, int rowSum)
        where TOps : struct, IQuantOperands
    {
        if (row >= ops.M)
        {
            return;
        }

        int n = ops.N;
        for (int j = 0; j < 4; j++)
        {
            if (cLo + j < n)
            {
                ops.Store(grp, row, cLo + j, lo.Get(j), rowSum);
            }

            if (cHi + j < n)
            {
                ops.Store(grp, row, cHi + j, hi.Get(j), rowSum);
            }
        }
    }
}
