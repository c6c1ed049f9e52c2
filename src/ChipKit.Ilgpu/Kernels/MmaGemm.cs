using ILGPU;

namespace ChipKit.Ilgpu.Kernels;

/// <summary>
/// Tensor-core GEMM kernels (tf32 m16n8k8, bf16 m16n8k16) over <see cref="GemmOperands"/>. Contract: Y = alpha*op(A)*op(B)
/// + beta*C with A and B rounded to the precision and fp32 accumulation, any M, N, K &gt;= 1 and both transposes.
/// Shape: 128 threads = 4 warps in 2x2, a 64x64 block tile, each warp 32x32 = 2 (m16) x 4 (n8) MMA tiles, k tiles of 32
/// (4 tf32 / 2 bf16 MMA steps per barrier pair) staged in shared memory as fp32 (zero-filled at the edges) and converted to the precision when
/// the fragments are built. Must run with 32-thread warps.
/// </summary>
internal static class MmaGemm
{
    public const int Threads = 128;
    public const int Block = 64;

    /// <summary>k depth of one shared-memory tile: 4 tf32 or 2 bf16 MMA steps between barriers.</summary>
    private const int Bk = 32;
    private const int Pad = 4;

    public static void Tf32(GemmOperands ops)
    {
        // As [64][32+4] (row-major m, k), Bs [32][64+4] (k, n); padded rows spread the fragment reads over banks.
        ArrayView<float> aS = SharedMemory.Allocate<float>(Block * (Bk + Pad));
        ArrayView<float> bS = SharedMemory.Allocate<float>(Bk * (Block + Pad));
        int tid = Group.IdxX;
        int lane = Warp.LaneIdx;
        int warp = tid / 32;
        int g = lane >> 2;
        int t = lane & 3;
        int wm = (warp >> 1) * 32;
        int wn = (warp & 1) * 32;
        int m0 = Grid.IdxY * Block;
        int n0 = Grid.IdxX * Block;
        int ar = Bk + Pad;
        int br = Block + Pad;
        F4 d00 = default, d01 = default, d02 = default, d03 = default, d10 = default, d11 = default, d12 = default, d13 = default;
        for (int k0 = 0; k0 < ops.Depth; k0 += Bk)
        {
            LoadTiles(ops, aS, bS, tid, m0, n0, k0);
            Group.Barrier();

            // MMA k steps of 8 inside the 32-deep tile; steps wholly past K are skipped (uniform across the block).
            for (int ks = 0; ks < Bk && k0 + ks < ops.Depth; ks += 8)
            {
                uint a00 = TensorCore.ToTf32(aS[((wm + g) * ar) + ks + t]);
                uint a01 = TensorCore.ToTf32(aS[((wm + g + 8) * ar) + ks + t]);
                uint a02 = TensorCore.ToTf32(aS[((wm + g) * ar) + ks + t + 4]);
                uint a03 = TensorCore.ToTf32(aS[((wm + g + 8) * ar) + ks + t + 4]);
                uint a10 = TensorCore.ToTf32(aS[((wm + 16 + g) * ar) + ks + t]);
                uint a11 = TensorCore.ToTf32(aS[((wm + 24 + g) * ar) + ks + t]);
                uint a12 = TensorCore.ToTf32(aS[((wm + 16 + g) * ar) + ks + t + 4]);
                uint a13 = TensorCore.ToTf32(aS[((wm + 24 + g) * ar) + ks + t + 4]);
                for (int j = 0; j < 4; j++)
                {
                    int col = wn + (8 * j) + g;
                    uint b0 = TensorCore.ToTf32(bS[((ks + t) * br) + col]);
                    uint b1 = TensorCore.ToTf32(bS[((ks + t + 4) * br) + col]);
                    if (j == 0)
                    {
                        d00 = TensorCore.MmaTf32(d00, a00, a01, a02, a03, b0, b1);
                        d10 = TensorCore.MmaTf32(d10, a10, a11, a12, a13, b0, b1);
                    }
                    else if (j == 1)
                    {
                        d01 = TensorCore.MmaTf32(d01, a00, a01, a02, a03, b0, b1);
                        d11 = TensorCore.MmaTf32(d11, a10, a11, a12, a13, b0, b1);
                    }
                    else if (j == 2)
                    {
                        d02 = TensorCore.MmaTf32(d02, a00, a01, a02, a03, b0, b1);
                        d12 = TensorCore.MmaTf32(d12, a10, a11, a12, a13, b0, b1);
                    }
                    else
                    {
                        d03 = TensorCore.MmaTf32(d03, a00, a01, a02, a03, b0, b1);
                        d13 = TensorCore.MmaTf32(d13, a10, a11, a12, a13, b0, b1);
                    }
                }
            }

            Group.Barrier();
        }

        StoreWarpTile(ops, m0 + wm, n0 + wn, g, t, d00, d01, d02, d03, d10, d11, d12, d13);
    }

    public static void Bf16(GemmOperands ops)
    {
        ArrayView<float> aS = SharedMemory.Allocate<float>(Block * (Bk + Pad));
        ArrayView<float> bS = SharedMemory.Allocate<float>(Bk * (Block + Pad));
        int tid = Group.IdxX;
        int lane = Warp.LaneIdx;
        int warp = tid / 32;
        int g = lane >> 2;
        int t = lane & 3;
        int wm = (warp >> 1) * 32;
        int wn = (warp & 1) * 32;
        int m0 = Grid.IdxY * Block;
        int n0 = Grid.IdxX * Block;
        int ar = Bk + Pad;
        int br = Block + Pad;
        F4 d00 = default, d01 = default, d02 = default, d03 = default, d10 = default, d11 = default, d12 = default, d13 = default;
        for (int k0 = 0; k0 < ops.Depth; k0 += Bk)
        {
            LoadTiles(ops, aS, bS, tid, m0, n0, k0);
            Group.Barrier();
            for (int ks = 0; ks < Bk && k0 + ks < ops.Depth; ks += 16)
            {
                int c0 = ks + (2 * t);
                uint a00 = TensorCore.ToBf16x2(aS[((wm + g) * ar) + c0], aS[((wm + g) * ar) + c0 + 1]);
                uint a01 = TensorCore.ToBf16x2(aS[((wm + g + 8) * ar) + c0], aS[((wm + g + 8) * ar) + c0 + 1]);
                uint a02 = TensorCore.ToBf16x2(aS[((wm + g) * ar) + c0 + 8], aS[((wm + g) * ar) + c0 + 9]);
                uint a03 = TensorCore.ToBf16x2(aS[((wm + g + 8) * ar) + c0 + 8], aS[((wm + g + 8) * ar) + c0 + 9]);
                uint a10 = TensorCore.ToBf16x2(aS[((wm + 16 + g) * ar) + c0], aS[((wm + 16 + g) * ar) + c0 + 1]);
                uint a11 = TensorCore.ToBf16x2(aS[((wm + 24 + g) * ar) + c0], aS[((wm + 24 + g) * ar) + c0 + 1]);
                uint a12 = TensorCore.ToBf16x2(aS[((wm + 16 + g) * ar) + c0 + 8], aS[((wm + 16 + g) * ar) + c0 + 9]);
                uint a13 = TensorCore.ToBf16x2(aS[((wm + 24 + g) * ar) + c0 + 8], aS[((wm + 24 + g) * ar) + c0 + 9]);
                for (int j = 0; j < 4; j++)
                {
                    int col = wn + (8 * j) + g;
                    uint b0 = TensorCore.ToBf16x2(bS[(c0 * br) + col], bS[((c0 + 1) * br) + col]);
                    uint b1 = TensorCore.ToBf16x2(bS[((c0 + 8) * br) + col], bS[((c0 + 9) * br) + col]);
                    if (j == 0)
                    {
                        d00 = TensorCore.MmaBf16(d00, a00, a01, a02, a03, b0, b1);
                        d10 = TensorCore.MmaBf16(d10, a10, a11, a12, a13, b0, b1);
                    }
                    else if (j == 1)
                    {
                        d01 = TensorCore.MmaBf16(d01, a00, a01, a02, a03, b0, b1);
                        d11 = TensorCore.MmaBf16(d11, a10, a11, a12, a13, b0, b1);
                    }
                    else if (j == 2)
                    {
                        d02 = TensorCore.MmaBf16(d02, a00, a01, a02, a03, b0, b1);
                        d12 = TensorCore.MmaBf16(d12, a10, a11, a12, a13, b0, b1);
                    }
                    else
                    {
                        d03 = TensorCore.MmaBf16(d03, a00, a01, a02, a03, b0, b1);
                        d13 = TensorCore.MmaBf16(d13, a10, a11, a12, a13, b0, b1);
                    }
                }
            }

            Group.Barrier();
        }

        StoreWarpTile(ops, m0 + wm, n0 + wn, g, t, d00, d01, d02, d03, d10, d11, d12, d13);
    }

    /// <summary>
    /// Stages the 64x32 tile of op(A) and the 32x64 tile of op(B) at k0 in shared memory as fp32 (zero outside the
    /// matrices). Consecutive threads take consecutive k of A (non-transposed A is k-contiguous) and consecutive n of B.
    /// </summary>
    private static void LoadTiles(GemmOperands ops, ArrayView<float> aS, ArrayView<float> bS, int tid, int m0, int n0, int k0)
    {
        for (int i = tid; i < Block * Bk; i += Threads)
        {
            int r = i / Bk, c = i % Bk;
            aS[(r * (Bk + Pad)) + c] = ElementA(ops, m0 + r, k0 + c);
            int kr = i / Block, nc = i % Block;
            bS[(kr * (Block + Pad)) + nc] = ElementB(ops, k0 + kr, n0 + nc);
        }
    }

    private static float ElementA(GemmOperands o, int m, int k) =>
        m < o.Rows && k < o.Depth ? o.A[o.TransA != 0 ? ((long)k * o.Lda) + m : ((long)m * o.Lda) + k] : 0f;

    private static float ElementB(GemmOperands o, int k, int n) =>
        k < o.Depth && n < o.Cols ? o.Bm[o.TransB != 0 ? ((long)n * o.Ldb) + k : ((long)k * o.Ldb) + n] : 0f;

    private static void StoreWarpTile(GemmOperands ops, int m, int n, int g, int t,
        F4 d00, F4 d01, F4 d02, F4 d03, F4 d10, F4 d11, F4 d12, F4 d13)
    {
        StoreMma(ops, m, n, g, t, d00);
        StoreMma(ops, m, n + 8, g, t, d01);
        StoreMma(ops, m, n + 16, g, t, d02);
        StoreMma(ops, m, n + 24, g, t, d03);
        StoreMma(ops, m + 16, n, g, t, d10);
        StoreMma(ops, m + 16, n + 8, g, t, d11);
        StoreMma(ops, m + 16, n + 16, g, t, d12);
        StoreMma(ops, m + 16, n + 24, g, t, d13);
    }

    private static void StoreMma(GemmOperands ops, int m, int n, int g, int t, F4 d)
    {
        Put(ops, m + g, n + (2 * t), d.X);
        Put(ops, m + g, n + (2 * t) + 1, d.Y);
        Put(ops, m + g + 8, n + (2 * t), d.Z);
        Put(ops, m + g + 8, n + (2 * t) + 1, d.W);
    }

    private static void Put(GemmOperands ops, int m, int n, float v)
    {
        if (m < ops.Rows && n < ops.Cols)
        {
            ops.Store(0, m, n, v);
        }
    }
}
