using ChipKit.Core.Workloads;
using ChipKit.Harness.Devices;
using ChipKit.Harness.Gate;
using ChipKit.Harness.Results;
using ChipKit.Harness.Runner;

namespace ChipKit.Gate.Tests;

/// <summary>`chipkit run --canary` and `chipkit gate --clock canary`.</summary>
public class CanaryTests
{
    private const string W = "gemm:m=64,n=64,k=64";

    /// <summary>A result whose samples are machine speed (slow) x kernel time, with canary samples that saw the same machine.</summary>
    private static ResultRecord Run(double kernelSeconds, double machine, int seed)
    {
        // The machine's speed drifts from sample to sample (a shared runner); canary and sample i see the same state.
        double[] state = Docs.Noisy(machine, 0.10, 25, seed);
        double[] jitter = Docs.Noisy(1, 0.01, 25, seed + 1000);
        ResultRecord r = Docs.Ok(W, "cpu", state.Select((s, i) => kernelSeconds * s * jitter[i]));
        List<double> canary = [.. state.Select(s => 3e-4 * s)];
        r.CanarySeconds = new SecondsRecord { Samples = canary, Median = canary.Order().ElementAt(canary.Count / 2), Min = canary.Min(), Max = canary.Max() };
        return r;
    }

    private static GateRow Compare(ResultRecord b, ResultRecord c, GateClock clock, GateMetric metric = GateMetric.Seconds) =>
        GateEngine.Compare(Docs.Doc(b), "base.json", Docs.Doc(c), "cur.json", new GateOptions { Clock = clock, Metric = metric }).Rows.Single();

    [Test]
    public void A_whole_machine_slowdown_is_a_false_alarm_on_the_wall_clock_and_a_pass_on_the_canary_clock()
    {
        ResultRecord b = Run(1e-3, 1.0, 1), c = Run(1e-3, 1.3, 2);
        Assert.That(Compare(b, c, GateClock.Wall).Verdict, Is.EqualTo(Verdict.Regressed));
        GateRow row = Compare(b, c, GateClock.Canary);
        Assert.That(row.Verdict, Is.EqualTo(Verdict.Pass), row.Detail);
        Assert.That(row.ChangePercent, Is.EqualTo(0).Within(2));
    }

    [TestCase(GateMetric.Seconds)]
    [TestCase(GateMetric.Gops)]
    public void A_ten_percent_kernel_slowdown_on_a_drifting_machine_is_caught_on_the_canary_clock(GateMetric metric)
    {
        ResultRecord b = Run(1e-3, 1.0, 3), c = Run(1.1e-3, 0.85, 4);
        GateRow row = Compare(b, c, GateClock.Canary, metric);
        Assert.That(row.Verdict, Is.EqualTo(Verdict.Regressed), row.Detail);
        Assert.That(row.ChangePercent, metric == GateMetric.Seconds ? Is.EqualTo(10).Within(2) : Is.EqualTo(-9.1).Within(2));

        // In baseline-machine units: the baseline's median is (about) its own median wall time.
        double wall = b.Seconds!.Samples.Order().ElementAt(b.Seconds.Samples.Count / 2);
        Assert.That(row.BaselineMedian, metric == GateMetric.Seconds ? Is.EqualTo(wall).Within(2).Percent : Is.EqualTo(b.Ops / wall / 1e9).Within(2).Percent);
    }

    [Test]
    public void Canary_clock_without_canary_samples_is_an_error_naming_the_field()
    {
        ResultRecord b = Run(1e-3, 1, 5);
        ResultRecord c = Docs.Ok(W, "cpu", Docs.Noisy(1e-3, 0.01, 25, 6));
        GateRow row = Compare(b, c, GateClock.Canary);
        Assert.That(row.Verdict, Is.EqualTo(Verdict.Error));
        Assert.That(row.Detail, Does.Contain("cur.json").And.Contain("canary_seconds").And.Contain("chipkit run --canary"));

        c.CanarySeconds = new SecondsRecord { Samples = [1e-4, 1e-4] };
        Assert.That(Compare(b, c, GateClock.Canary).Detail, Does.Contain("must be paired one to one"));
    }

    [Test]
    public void Run_with_canary_records_one_canary_sample_per_timing_sample()
    {
        var runner = new BenchmarkRunner(new RunOptions { MinTimeSeconds = 0.02, MinSamples = 4, Canary = true });
        ResultRecord r = runner.Run([WorkloadSpec.Parse("gemm:m=16,n=16,k=16")], [new ReferenceDevice()]).Single();
        Assert.That(r.Status, Is.EqualTo("ok"), r.Message);
        Assert.That(r.CanarySeconds, Is.Not.Null);
        Assert.That(r.CanarySeconds!.Samples, Has.Count.EqualTo(r.Seconds!.Samples.Count));
        Assert.That(r.CanarySeconds.Samples, Has.All.GreaterThan(0));

        ResultRecord plain = new BenchmarkRunner(new RunOptions { MinTimeSeconds = 0.01, MinSamples = 2 })
            .Run([WorkloadSpec.Parse("gemm:m=16,n=16,k=16")], [new ReferenceDevice()]).Single();
        Assert.That(plain.CanarySeconds, Is.Null);
    }
}
