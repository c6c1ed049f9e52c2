using ChipKit.Core.Descriptors;
using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;
using ChipKit.Cpu;

namespace ChipKit.Cpu.Tests;

[TestFixture]
public class GemmSkinnyTests
{
    /// <summary>M and K around every vector width and register tile (1..4 rows, 1..4 vectors of 4, 8 or 16 lanes).</summary>
    private static readonly int[] Edges = [1, 3, 7, 8, 9, 31, 33, 257];

    private static IEnumerable<TestCaseData> Shapes()
    {
        int i = 0;
        for (int n = 1; n <= GemmSkinnyKernel.MaxN; n++)
        {
            foreach (int m in Edges)
            {
                foreach (int k in Edges)
                {
                    bool ta = (i & 1) != 0, tb = (i & 2) != 0;
                    float alpha = (i % 3) switch { 0 => 1f, 1 => 0.5f, _ => -1.25f };
                    float beta = (i % 5) switch { 1 => 2f, 3 => -0.5f, _ => 0f };
                    i++;
                    yield return new TestCaseData(m, n, k, ta, tb, alpha, beta)
                        .SetArgDisplayNames($"m{m}n{n}k{k}ta{(ta ? 1 : 0)}tb{(tb ? 1 : 0)}a{alpha}b{beta}");
                }
            }
        }
    }

    /// <summary>Every width on 1, 2 and 3 threads with the cache-derived K block and M chunk, then the host width with a
    /// 5-long K block (partial sums across blocks, block tails) and 20-row M chunks (ta=1: chunk and vector tails) on 3 threads.</summary>
    [TestCaseSource(nameof(Shapes))]
    public void Skinny_matches_oracle_at_every_width_and_thread_count(int m, int n, int k, bool ta, bool tb, float alpha, float beta)
    {
        var wl = new GemmWorkload(new GemmDesc(m, n, k, ta, tb, alpha, beta));
        foreach (SimdWidth w in TestSupport.AllWidths)
        {
            foreach (int threads in new[] { 1, 2, 3 })
            {
                TestSupport.Check(wl, new GemmSkinnyKernel(wl.Desc, w, threads));
            }
        }

        TestSupport.Check(wl, new GemmSkinnyKernel(wl.Desc, SimdHost.BestWidth, 3, kBlock: 5, chunkM: 20), seed: 2);
    }

    /// <summary>Larger shapes: K = 1000 in 64-long blocks (15 full blocks and a tail; ta=0) or M = 301 in 40-row chunks
    /// (ta=1), all N, beta != 0, then the default blocks at another width.</summary>
    [TestCase(false)]
    [TestCase(true)]
    public void K_blocks_and_M_chunks_match_oracle(bool ta)
    {
        for (int n = 1; n <= GemmSkinnyKernel.MaxN; n++)
        {
            var wl = new GemmWorkload(new GemmDesc(301, n, 1000, ta, false, 0.75f, 1.5f));
            TestSupport.Check(wl, new GemmSkinnyKernel(wl.Desc, SimdWidth.V256, 2, kBlock: 64, chunkM: 40));
            TestSupport.Check(wl, new GemmSkinnyKernel(wl.Desc, SimdWidth.V128, 3));
        }
    }

    /// <summary>A NaN in A at (row r, k p) reaches exactly row r of Y; a NaN in B at (p, column c) exactly column c.
    /// Rows and columns chosen to sit in a full register tile, a row/vector tail and a scalar K tail.</summary>
    [TestCase(false, false)]
    [TestCase(true, false)]
    [TestCase(false, true)]
    [TestCase(true, true)]
    public void Nan_reaches_exactly_the_outputs_it_touches(bool ta, bool tb)
    {
        const int M = 45, K = 37;
        for (int n = 1; n <= GemmSkinnyKernel.MaxN; n++)
        {
            foreach (SimdWidth w in TestSupport.AllWidths)
            {
                var desc = new GemmDesc(M, n, K, ta, tb);
                var wl = new GemmWorkload(desc);
                var data = (GemmData)wl.CreateData(5);
                (int Row, int P)[] aNans = [(1, 0), (17, 36), (44, 20)];
                foreach ((int row, int p) in aNans)
                {
                    data.A[ta ? ((long)p * M) + row : ((long)row * K) + p] = float.NaN;
                }

                int col = n - 1;
                bool bNan = n > 1;
                if (bNan)
                {
                    data.B[tb ? ((long)col * K) + 35 : (35L * n) + col] = float.NaN;
                }

                var kernel = new GemmSkinnyKernel(desc, w, 2, kBlock: 16, chunkM: 12);
                kernel.Prepare(data);
                kernel.Run();
                for (int i = 0; i < M; i++)
                {
                    for (int j = 0; j < n; j++)
                    {
                        bool touched = aNans.Any(x => x.Row == i) || (bNan && j == col);
                        Assert.That(float.IsNaN(data.Y[((long)i * n) + j]), Is.EqualTo(touched), $"{kernel.Name} n={n} ta={ta} tb={tb} i={i} j={j}");
                    }
                }
            }
        }
    }

    [Test]
    public void Device_picks_skinny_up_to_the_threshold_and_packed_above()
    {
        using var dev = new CpuDevice(2);
        string sfx = SimdHost.Suffix(dev.Width);
        for (int n = 1; n <= GemmSkinnyKernel.MaxN + 3; n++)
        {
            foreach (string t in new[] { string.Empty, ",ta=1", ",tb=1,beta=0.5" })
            {
                Workload wl = WorkloadSpec.Parse($"gemm:m=67,n={n},k=45{t}");
                using IKernel kernel = dev.CreateKernel(wl)!;
                string expected = n <= GemmSkinnyKernel.MaxN ? $"cpu.gemm.f32.skinny.{sfx}" : $"cpu.gemm.f32.packed.{sfx}";
                Assert.That(kernel.Name, Is.EqualTo(expected), wl.Spec);
                TestSupport.Check(wl, kernel);
            }
        }

        Assert.That(() => new GemmSkinnyKernel(new GemmDesc(8, GemmSkinnyKernel.MaxN + 1, 8), SimdWidth.V256, 1), Throws.ArgumentException);
    }

    [TestCase("gemm:m=301,n=1,k=129")]
    [TestCase("gemm:m=301,n=4,k=129,ta=1,beta=0.5")]
    [TestCase("gemm:m=97,n=3,k=2000,tb=1")]
    public void Run_after_prepare_does_not_allocate(string spec)
    {
        Workload wl = WorkloadSpec.Parse(spec);
        foreach (int threads in new[] { 1, 2 })
        {
            var kernel = new GemmSkinnyKernel(((GemmWorkload)wl).Desc, SimdHost.BestWidth, threads, kBlock: 64, chunkM: 40);
            OpData data = wl.CreateData(1);
            kernel.Prepare(data);
            for (int i = 0; i < 5; i++)
            {
                kernel.Run();
            }

            long least = long.MaxValue;
            for (int window = 0; window < 3; window++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < 10; i++)
                {
                    kernel.Run();
                }

                least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
            }

            Assert.That(least, Is.Zero, $"{kernel.Name} allocated in Run on {threads} threads");
            Assert.That(wl.Verify(data, wl.ComputeReference(data)).Passed, Is.True);
        }
    }

    [Test]
    public void Run_before_prepare_throws()
    {
        var kernel = new GemmSkinnyKernel(new GemmDesc(4, 2, 4), SimdWidth.V128, 1);
        Assert.That(kernel.Run, Throws.InvalidOperationException);
    }
}
