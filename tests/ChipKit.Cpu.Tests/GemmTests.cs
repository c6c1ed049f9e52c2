using ChipKit.Core.Descriptors;
using ChipKit.Core.Workloads;
using ChipKit.Cpu;

namespace ChipKit.Cpu.Tests;

[TestFixture]
public class GemmTests
{
    private static IEnumerable<TestCaseData> Shapes()
    {
        int i = 0;
        foreach ((int m, int n, int k) in TestSupport.SampledTriples(36, 7, 2_000_000))
        {
            bool ta = (i & 1) != 0, tb = (i & 2) != 0;
            float alpha = (i % 3) switch { 0 => 1f, 1 => 0.5f, _ => -1.25f };
            float beta = (i % 4) switch { 0 => 0f, 1 => 2f, 2 => -0.5f, _ => 0f };
            i++;
            yield return new TestCaseData(m, n, k, ta, tb, alpha, beta).SetArgDisplayNames($"m{m}n{n}k{k}ta{(ta ? 1 : 0)}tb{(tb ? 1 : 0)}a{alpha}b{beta}");
        }

        // Fixed corners: the largest sizes, vectors, and one element.
        yield return new TestCaseData(257, 257, 257, false, false, 1f, 0f).SetArgDisplayNames("m257n257k257");
        yield return new TestCaseData(1, 257, 129, true, true, 2f, 1f).SetArgDisplayNames("m1n257k129");
        yield return new TestCaseData(257, 1, 65, false, true, 1f, 0f).SetArgDisplayNames("m257n1k65");
        yield return new TestCaseData(1, 1, 1, false, false, 1f, 0f).SetArgDisplayNames("m1n1k1");
    }

    [TestCaseSource(nameof(Shapes))]
    public void Packed_matches_oracle_at_every_width(int m, int n, int k, bool ta, bool tb, float alpha, float beta)
    {
        var wl = new GemmWorkload(new GemmDesc(m, n, k, ta, tb, alpha, beta));
        // Tiny blocks and 3 threads: an uneven thread split.
        TestSupport.CheckPackedGemm(wl, 3);
    }

    [TestCase("gemm:m=17,n=33,k=5,ta=1,tb=1,alpha=0.5,beta=2")]
    [TestCase("gemm:m=65,n=31,k=129,ta=1")]
    [TestCase("gemm:m=8,n=127,k=63,tb=1,beta=1")]
    public void Device_kernel_and_naive_kernel_match_oracle(string spec)
    {
        Workload wl = WorkloadSpec.Parse(spec);
        using var dev = new CpuDevice(2);
        using var kernel = dev.CreateKernel(wl)!;
        Assert.That(kernel.Name, Does.StartWith("cpu.gemm.f32.packed."));
        TestSupport.Check(wl, kernel);
        TestSupport.Check(wl, new GemmNaiveKernel(((GemmWorkload)wl).Desc));
    }

    [Test]
    public void Threads_do_not_change_the_result()
    {
        var wl = (GemmWorkload)WorkloadSpec.Parse("gemm:m=129,n=127,k=257,beta=0.5");
        OpData d1 = wl.CreateData(3), d4 = wl.CreateData(3);
        var k1 = new GemmPackedKernel(wl.Desc, SimdHost.BestWidth, 1);
        var k4 = new GemmPackedKernel(wl.Desc, SimdHost.BestWidth, 4);
        k1.Prepare(d1);
        k1.Run();
        k4.Prepare(d4);
        k4.Run();
        Assert.That(((GemmData)d4).Y, Is.EqualTo(((GemmData)d1).Y));
    }

    [Test]
    public void Blocking_is_derived_from_cache_sizes()
    {
        GemmBlocking small = GemmBlocking.Derive(6, 16, 4, 1, 32 * 1024, 512 * 1024, 8 << 20);
        GemmBlocking big = GemmBlocking.Derive(6, 16, 4, 1, 64 * 1024, 2048 * 1024, 64 << 20);
        Assert.Multiple(() =>
        {
            Assert.That(small.KC, Is.EqualTo(384));
            Assert.That(big.KC, Is.GreaterThan(small.KC));
            Assert.That(big.MC, Is.GreaterThan(small.MC));
            Assert.That(small.MC % 6, Is.Zero);
            Assert.That(small.NC % 16, Is.Zero);
        });
    }
}
