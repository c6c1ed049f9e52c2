using System.Runtime.Intrinsics;
using ChipKit.Core.Descriptors;
using ChipKit.Core.Workloads;
using ChipKit.Cpu;

namespace ChipKit.Cpu.Tests;

/// <summary>
/// The pieces of the fp32 GEMM / implicit-GEMM loops that sit around the micro-kernel: the vectorised A packing,
/// balanced cache blocks, dynamically claimed thread strips, full-width row tails and the stride-1 im2col packer.
/// </summary>
[TestFixture]
public class BlockingTests
{
    /// <summary>Full MR-row slivers of row-major A take the 4x4-transpose path (4 k at a time, then a scalar tail):
    /// every kc from 0 to 13 and an A view with an offset and a row stride wider than the block.</summary>
    [Test]
    public void Row_major_A_packing_matches_element_by_element([Values(0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 13)] int kc, [Values(6, 13)] int mc)
    {
        const int rows = 20, ld = 37, i0 = 2, p0 = 3;
        var data = new float[5 + (rows * ld)];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = i + 0.25f;
        }

        var a = new MatF32(data, 5, ld, 1);
        int slivers = (mc + 5) / 6;
        var expected = new float[slivers * 6 * kc];
        for (int s = 0; s < slivers; s++)
        {
            for (int p = 0; p < kc; p++)
            {
                for (int r = 0; r < 6; r++)
                {
                    int row = (s * 6) + r;
                    expected[(s * kc * 6) + (p * 6) + r] = row < mc ? a[i0 + row, p0 + p] : 0f;
                }
            }
        }

        var v256 = new float[expected.Length + 1];
        var v128 = new float[expected.Length + 1];
        v256[^1] = v128[^1] = -7f;
        SgemmEngine<F32x8, Vector256<float>>.PackABlock(a, i0, mc, p0, kc, v256);
        SgemmEngine<F32x4, Vector128<float>>.PackABlock(a, i0, mc, p0, kc, v128);
        Assert.Multiple(() =>
        {
            Assert.That(v256[..^1], Is.EqualTo(expected));
            Assert.That(v128[..^1], Is.EqualTo(expected));
            Assert.That(v256[^1], Is.EqualTo(-7f), "wrote past the packed block");
            Assert.That(v128[^1], Is.EqualTo(-7f), "wrote past the packed block");
        });
    }

    [Test]
    public void Balanced_steps_keep_the_block_count_and_even_out_the_blocks()
    {
        // M = 1024 in blocks of at most 168 rows: 7 blocks of 150 (the last 124), not 6 x 168 + 16.
        Assert.That(SgemmEngine<F32x8, Vector256<float>>.BalancedStep(1024, 168, 6), Is.EqualTo(150));
        for (int total = 1; total <= 700; total += 7)
        {
            foreach ((int block, int unit) in new[] { (168, 6), (384, 1), (160, 16), (12, 6), (5, 1) })
            {
                int step = SgemmEngine<F32x8, Vector256<float>>.BalancedStep(total, block, unit);
                int blocks = (total + block - 1) / block;
                Assert.That(step, Is.LessThanOrEqualTo(block), $"total {total} block {block}");
                Assert.That((total + step - 1) / step, Is.EqualTo(blocks), $"total {total} block {block}: block count");
                if (total > block)
                {
                    Assert.That(step % unit, Is.Zero, $"total {total} block {block}: whole tiles");
                    Assert.That(total - ((blocks - 1) * step), Is.GreaterThan(step - (blocks * unit)), $"total {total} block {block}: last block too small");
                }
            }
        }
    }

    [Test]
    public void Fp32_blocking_keeps_min_slivers_in_half_of_L2_and_cuts_K_evenly()
    {
        foreach ((long l2, long l3) in new[] { (512L << 10, 32L << 20), (1L << 20, 32L << 20), (2L << 20, 64L << 20), (256L << 10, 8L << 20) })
        {
            GemmBlocking any = SgemmBlocking.Derive(6, 16, 0, l2, l3);
            Assert.That((long)any.MC * any.KC * sizeof(float), Is.LessThanOrEqualTo(l2 / 2), $"L2 {l2}");
            Assert.That(any.MC, Is.GreaterThanOrEqualTo(SgemmBlocking.MinSlivers * 6), $"L2 {l2}");
            foreach (int k in new[] { 1, 5, 64, 576, 1024, 1152, 2304, 4608, 9000 })
            {
                GemmBlocking b = SgemmBlocking.Derive(6, 16, k, l2, l3);
                int blocks = (k + b.KC - 1) / b.KC;
                Assert.Multiple(() =>
                {
                    Assert.That(b.KC, Is.LessThanOrEqualTo(Math.Max(any.KC, 1)), $"L2 {l2} K {k}");
                    Assert.That(blocks, Is.EqualTo((k + any.KC - 1) / any.KC), $"L2 {l2} K {k}: as few KC blocks as the largest KC gives");
                    Assert.That((blocks * b.KC) - k, Is.LessThan(blocks), $"L2 {l2} K {k}: equal KC blocks");
                    Assert.That((long)b.MC * b.KC * sizeof(float), Is.LessThanOrEqualTo(Math.Max(l2 / 2, 6L * b.KC * sizeof(float))), $"L2 {l2} K {k}");
                    Assert.That(b.MC % 6, Is.Zero);
                    Assert.That(b.NC % 16, Is.Zero);
                });
            }
        }

        // A bigger L2 allows a bigger KC (fewer passes over C).
        Assert.That(SgemmBlocking.Derive(6, 16, 0, 2L << 20, 64L << 20).KC, Is.GreaterThan(SgemmBlocking.Derive(6, 16, 0, 256L << 10, 8L << 20).KC));
    }

    [Test]
    public void Strips_are_claimed_dynamically_only_where_they_cost_no_extra_packing()
    {
        var bl = new GemmBlocking(6, 16, 384, 168, 160);
        var packedB = new SgemmCall { M = 1024, N = 1024, K = 1024, PackedB = [] };
        var perCallB = new SgemmCall { M = 64, N = 3136, K = 576 };
        Assert.Multiple(() =>
        {
            // Row strips of a pre-packed-B GEMM: 171 tiles of 6 rows, 28 per MC block -> 7, rounded up to 8 for 2 parts.
            Assert.That(Sgemm.Chunks(packedB, bl, 2, splitN: false), Is.EqualTo(8));
            Assert.That(Sgemm.Chunks(packedB, bl, 1, splitN: false), Is.EqualTo(1));

            // Pixel strips of an implicit-GEMM conv: 196 tiles, 10 per NC block -> 20.
            Assert.That(Sgemm.Chunks(perCallB, bl, 2, splitN: true), Is.EqualTo(20));

            // Row strips when B is packed per call would pack B once per strip: one strip per part.
            Assert.That(Sgemm.Chunks(perCallB, bl, 2, splitN: false), Is.EqualTo(2));

            // Never more strips than tiles.
            Assert.That(Sgemm.Chunks(new SgemmCall { M = 5, N = 40, K = 3, PackedB = [] }, bl, 3, splitN: true), Is.EqualTo(3));
        });
    }

    [Test]
    public void Pixel_split_is_judged_by_round_robin_strips()
    {
        Assert.Multiple(() =>
        {
            // 14x14 layer: 13 pixel tiles dealt in turn give 100 and 96 pixels; preferred to splitting 256 channels.
            Assert.That(Sgemm.Plan(256, 196, 6, 16, 2, preferN: true), Is.EqualTo((2, true)));

            // 7x7 layer: tiles of 16, 16, 16 and 1 pixels give 32 and 17: the channels are split instead.
            Assert.That(Sgemm.Plan(512, 49, 6, 16, 2, preferN: true), Is.EqualTo((2, false)));

            // Pre-packed B (preferN false): rows.
            Assert.That(Sgemm.Plan(1024, 1024, 6, 16, 2, preferN: false), Is.EqualTo((2, false)));
        });
    }

    /// <summary>Many more strips than threads (tiny blocks): every output is written once, the same as one thread.</summary>
    [TestCase("gemm:m=257,n=65,k=33,beta=0.5")]
    [TestCase("gemm:m=131,n=97,k=70,ta=1,alpha=-2")]
    public void Dynamic_row_strips_match_oracle_and_one_thread(string spec)
    {
        var wl = (GemmWorkload)WorkloadSpec.Parse(spec);
        var engine = Sgemm.Create(SimdHost.BestWidth, TestSupport.Tiny);
        int chunks = Sgemm.Chunks(new SgemmCall { M = wl.Desc.M, N = wl.Desc.N, K = wl.Desc.K, PackedB = [] }, engine.Blocking, 2, splitN: false);
        Assert.That(chunks, Is.GreaterThan(2), "the shape must give more strips than threads");
        TestSupport.Check(wl, new GemmPackedKernel(wl.Desc, SimdHost.BestWidth, 2, TestSupport.Tiny));
        TestSupport.Check(wl, new GemmPackedKernel(wl.Desc, SimdWidth.V128, 3, TestSupport.Tiny), seed: 3);

        OpData d1 = wl.CreateData(4), d2 = wl.CreateData(4);
        var k1 = new GemmPackedKernel(wl.Desc, SimdHost.BestWidth, 1, TestSupport.Tiny);
        var k2 = new GemmPackedKernel(wl.Desc, SimdHost.BestWidth, 2, TestSupport.Tiny);
        k1.Prepare(d1);
        k1.Run();
        k2.Prepare(d2);
        k2.Run();
        Assert.That(((GemmData)d2).Y, Is.EqualTo(((GemmData)d1).Y));
    }

    /// <summary>
    /// Edge tiles of one or two valid columns run the per-column kernel (rows 0-3 and 4-5 in 128-bit vectors, four k
    /// steps per iteration): N = 1, 2 past a multiple of NR at every width (NR = 2, 8, 16, 32), K with every remainder
    /// of the 4-step unroll, M with a row tail, alpha and beta, and KC blocks cut by tiny blocking.
    /// </summary>
    [Test]
    public void Column_tail_tiles_match_oracle([Values(1, 2, 9, 17, 18, 33, 34)] int n, [Values(1, 3, 4, 6, 13)] int k)
    {
        var wl = new GemmWorkload(new GemmDesc(13, n, k, false, (n & 1) == 0, 0.75f, n > 9 ? 0.5f : 0f));
        TestSupport.CheckPackedGemm(wl, 2);
    }

    /// <summary>
    /// Stride-1 layers on the implicit GEMM: rows wider than a register tile (full-width runs that touch the left and
    /// right padding), 64 output channels (10 full 6-row tiles and a 4-row tail stored in place), uneven pads,
    /// dilation, bias, at the host width (NR = 16 on AVX2), V128 (NR = 8) and V512 (NR = 32), one and three threads
    /// with tiny blocks (many pixel strips).
    /// </summary>
    [TestCase("conv:n=1,c=8,h=8,w=40,k=64,r=3,s=3,pad=1")]
    [TestCase("conv:n=1,c=5,h=7,w=33,k=10,r=3,s=3,pad_top=0,pad_left=2,pad_bottom=1,pad_right=0,bias=1")]
    [TestCase("conv:n=2,c=4,h=5,w=35,k=7,r=3,s=5,pad=2,dilation=2,bias=1")]
    [TestCase("conv:n=1,c=6,h=17,w=17,k=64,r=3,s=3,pad=1,bias=1")]
    [TestCase("conv:n=1,c=16,h=7,w=7,k=20,r=3,s=3,pad=1,bias=1")]
    public void Stride_one_packer_and_row_tails_match_oracle(string spec)
    {
        var wl = (ConvWorkload)WorkloadSpec.Parse(spec);
        foreach (SimdWidth w in new[] { SimdHost.BestWidth, SimdWidth.V128, SimdWidth.V512 })
        {
            TestSupport.Check(wl, new ConvGemmKernel(wl.Desc, wl.HasBias, w, 1));
        }

        TestSupport.Check(wl, new ConvGemmKernel(wl.Desc, wl.HasBias, SimdHost.BestWidth, 3, TestSupport.Tiny), seed: 6);
    }

    /// <summary>A NaN in a corner of the input reaches exactly the outputs whose window covers it, on rows wider
    /// than a tile: the stride-1 packer's padding taps are zeros, never a neighbouring value.</summary>
    [Test]
    public void Stride_one_padding_is_zero_on_wide_rows([Values(SimdWidth.V256, SimdWidth.V128)] SimdWidth width)
    {
        var wl = (ConvWorkload)WorkloadSpec.Parse("conv:c=3,h=6,w=40,k=7,r=3,s=3,pad=1");
        Conv2dDesc d = wl.Desc;
        var data = (ConvData)wl.CreateData(5);
        data.X[d.InputIndex(0, 1, 0, 0)] = float.NaN;
        data.X[d.InputIndex(0, 2, d.H - 1, d.W - 1)] = float.NaN;
        using var kernel = new ConvGemmKernel(d, false, width, 1);
        kernel.Prepare(data);
        kernel.Run();
        for (int k = 0; k < d.K; k++)
        {
            for (int p = 0; p < d.P; p++)
            {
                for (int q = 0; q < d.Q; q++)
                {
                    bool covers = (p <= 1 && q <= 1) || (p >= d.P - 2 && q >= d.Q - 2);
                    Assert.That(float.IsNaN(data.Y[d.OutputIndex(0, k, p, q)]), Is.EqualTo(covers), $"k={k} p={p} q={q}");
                }
            }
        }
    }
}
