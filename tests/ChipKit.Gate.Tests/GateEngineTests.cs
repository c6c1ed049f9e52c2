using ChipKit.Harness.Gate;
using ChipKit.Harness.Results;

namespace ChipKit.Gate.Tests;

public class GateEngineTests
{
    private const string W = "gemm:m=64,n=64,k=64";

    private static GateReport Gate(ResultsDocument b, ResultsDocument c, GateOptions? o = null) =>
        GateEngine.Compare(b, "base.json", c, "cur.json", o ?? new GateOptions());

    private static GateRow Only(GateReport r) => r.Rows.Single();

    [Test]
    public void Identical_samples_pass()
    {
        double[] s = Docs.Noisy(1e-3, 0.02, 20, 1);
        GateReport r = Gate(Docs.Doc(Docs.Ok(W, "cpu", s)), Docs.Doc(Docs.Ok(W, "cpu", s)));
        Assert.That(r.ExitCode, Is.Zero);
        Assert.That(Only(r).Verdict, Is.EqualTo(Verdict.Pass));
        Assert.That(Only(r).ChangePercent, Is.Zero);
        Assert.That(Only(r).P, Is.EqualTo(1).Within(1e-9));
    }

    [TestCase(GateTest.MannWhitney)]
    [TestCase(GateTest.Welch)]
    [TestCase(GateTest.Percentage)]
    public void A_20_percent_slowdown_with_low_noise_regresses(GateTest test)
    {
        ResultsDocument b = Docs.Doc(Docs.Ok(W, "cpu", Docs.Noisy(1e-3, 0.01, 15, 1)));
        ResultsDocument c = Docs.Doc(Docs.Ok(W, "cpu", Docs.Noisy(1.2e-3, 0.01, 15, 2)));
        foreach (GateMetric m in new[] { GateMetric.Gops, GateMetric.Seconds })
        {
            GateReport r = Gate(b, c, new GateOptions { Test = test, Metric = m });
            Assert.That(Only(r).Verdict, Is.EqualTo(Verdict.Regressed), $"{m}: {Only(r).Detail}");
            Assert.That(r.ExitCode, Is.EqualTo(1));
            Assert.That(Only(r).ChangePercent, m == GateMetric.Seconds ? Is.EqualTo(20).Within(2) : Is.EqualTo(-16.7).Within(2));
            if (test != GateTest.Percentage)
            {
                Assert.That(Only(r).P, Is.LessThan(1e-4));
            }
        }
    }

    [Test]
    public void A_speedup_is_reported_as_an_improvement_and_passes()
    {
        GateReport r = Gate(Docs.Doc(Docs.Ok(W, "cpu", Docs.Noisy(1e-3, 0.01, 15, 1))), Docs.Doc(Docs.Ok(W, "cpu", Docs.Noisy(0.8e-3, 0.01, 15, 2))));
        Assert.That(Only(r).Verdict, Is.EqualTo(Verdict.Improved));
        Assert.That(r.ExitCode, Is.Zero);
    }

    [Test]
    public void A_significant_2_percent_change_under_a_5_percent_threshold_passes_but_fails_a_1_percent_one()
    {
        ResultsDocument b = Docs.Doc(Docs.Ok(W, "cpu", Docs.Noisy(1e-3, 0.002, 30, 1)));
        ResultsDocument c = Docs.Doc(Docs.Ok(W, "cpu", Docs.Noisy(1.02e-3, 0.002, 30, 2)));
        GateReport r = Gate(b, c);
        Assert.That(Only(r).P, Is.LessThan(1e-6), "the change is significant");
        Assert.That(Only(r).Verdict, Is.EqualTo(Verdict.Pass));
        Assert.That(Only(r).Detail, Does.Contain("within the 5% threshold"));
        Assert.That(Gate(b, c, new GateOptions { Threshold = 0.01 }).ExitCode, Is.EqualTo(1));
    }

    [Test]
    public void Noisy_overlapping_samples_pass_even_when_the_medians_differ_beyond_the_threshold()
    {
        // 25 % noise: the medians of two draws from the same distribution can differ by more than 5 %.
        ResultsDocument b = Docs.Doc(Docs.Ok(W, "cpu", Docs.Noisy(1e-3, 0.25, 12, 3)));
        ResultsDocument c = Docs.Doc(Docs.Ok(W, "cpu", Docs.Noisy(1e-3, 0.25, 12, 4)));
        GateReport r = Gate(b, c, new GateOptions { Metric = GateMetric.Seconds });
        Assert.That(Math.Abs(Only(r).ChangePercent!.Value), Is.GreaterThan(5), "the test must matter here");
        Assert.That(Only(r).Verdict, Is.EqualTo(Verdict.Pass), Only(r).Detail);
        Assert.That(Only(r).Detail, Does.Contain("not significant"));
        Assert.That(Only(Gate(b, c, new GateOptions { Metric = GateMetric.Seconds, Test = GateTest.Percentage })).Verdict, Is.AnyOf(Verdict.Regressed, Verdict.Improved),
            "the percentage test alone cries wolf on the same data");
    }

    [Test]
    public void Too_few_samples_fail_closed_and_say_why()
    {
        ResultsDocument b = Docs.Doc(Docs.Ok(W, "cpu", [1e-3, 1.01e-3, 1.02e-3, 0.99e-3]));
        ResultsDocument c = Docs.Doc(Docs.Ok(W, "cpu", [2e-3, 2.01e-3, 2.02e-3, 1.99e-3]));
        GateReport r = Gate(b, c);
        Assert.That(Only(r).Verdict, Is.EqualTo(Verdict.Insufficient));
        Assert.That(r.ExitCode, Is.EqualTo(2));
        Assert.That(Only(r).Detail, Does.Contain("smallest possible p = 0.0286"));
        Assert.That(Only(r).Detail, Does.Contain("--min-samples 5"));
        Assert.That(Gate(b, c, new GateOptions { Alpha = 0.05 }).ExitCode, Is.EqualTo(1), "4 vs 4 can reach p < 0.05");
        ResultsDocument one = Docs.Doc(Docs.Ok(W, "cpu", [1e-3]));
        Assert.That(Only(Gate(one, one, new GateOptions { Test = GateTest.Welch })).Verdict, Is.EqualTo(Verdict.Insufficient));
    }

    [Test]
    public void A_workload_missing_from_the_current_run_fails_unless_allowed()
    {
        double[] s = Docs.Noisy(1e-3, 0.01, 10, 1);
        ResultsDocument b = Docs.Doc(Docs.Ok(W, "cpu", s), Docs.Ok("conv:c=3,h=8,k=4,r=3", "cpu", s));
        ResultsDocument c = Docs.Doc(Docs.Ok(W, "cpu", s), Docs.Ok("gemm:m=1,n=1,k=1", "cpu", s));
        GateReport r = Gate(b, c);
        Assert.That(r.ExitCode, Is.EqualTo(2));
        Assert.That(r.Rows.Single(x => x.Workload.StartsWith("conv")).Verdict, Is.EqualTo(Verdict.Missing));
        Assert.That(r.Rows.Single(x => x.Workload == "gemm:m=1,n=1,k=1").Verdict, Is.EqualTo(Verdict.New));
        GateReport allowed = Gate(b, c, new GateOptions { AllowMissing = true });
        Assert.That(allowed.ExitCode, Is.Zero);
        Assert.That(allowed.Rows.Single(x => x.Workload.StartsWith("conv")).Verdict, Is.EqualTo(Verdict.MissingAllowed));
    }

    [Test]
    public void A_failed_or_unverified_result_in_either_file_fails_with_exit_2()
    {
        double[] s = Docs.Noisy(1e-3, 0.01, 10, 1);
        ResultRecord failed = Docs.Ok(W, "cpu", s);
        failed.Status = "failed";
        failed.Verified = false;
        failed.Message = "wrong answer: y[3]";
        GateReport r1 = Gate(Docs.Doc(Docs.Ok(W, "cpu", s)), Docs.Doc(failed));
        Assert.That(Only(r1).Verdict, Is.EqualTo(Verdict.Failed));
        Assert.That(r1.ExitCode, Is.EqualTo(2));
        Assert.That(Only(r1).Detail, Does.Contain("current 'cur.json' $.results[0].status is failed: wrong answer"));

        ResultRecord unverified = Docs.Ok(W, "cpu", s);
        unverified.Verified = false;
        GateReport r2 = Gate(Docs.Doc(unverified), Docs.Doc(Docs.Ok(W, "cpu", s)));
        Assert.That(r2.ExitCode, Is.EqualTo(2));
        Assert.That(Only(r2).Detail, Does.Contain("baseline 'base.json' $.results[0].verified is false"));
    }

    [Test]
    public void Modeled_values_are_compared_exactly()
    {
        ResultsDocument b = Docs.Doc(Docs.Modeled(W, 1e-3, 1000, 2e-6));
        Assert.That(Only(Gate(b, b)).Verdict, Is.EqualTo(Verdict.Pass), "one modeled sample is enough: no test");
        Assert.That(Only(Gate(b, b)).Method, Is.EqualTo("exact"));

        ResultsDocument slower = Docs.Doc(Docs.Modeled(W, 1.1e-3, 1100, 2e-6));
        GateReport r = Gate(b, slower);
        Assert.That(Only(r).Verdict, Is.EqualTo(Verdict.Regressed));
        Assert.That(Only(r).P, Is.Null);
        Assert.That(Only(Gate(b, slower, new GateOptions { Metric = GateMetric.Cycles })).Verdict, Is.EqualTo(Verdict.Regressed));
        Assert.That(Only(Gate(b, slower, new GateOptions { Metric = GateMetric.Joules })).Verdict, Is.EqualTo(Verdict.Pass));
        Assert.That(Only(Gate(b, slower, new GateOptions { Metric = GateMetric.GopsPerWatt })).Verdict, Is.EqualTo(Verdict.Pass), "same joules per run, so the same GOP/J");

        ResultsDocument slightly = Docs.Doc(Docs.Modeled(W, 1.01e-3, 1010, 2e-6));
        Assert.That(Only(Gate(b, slightly)).Verdict, Is.EqualTo(Verdict.Pass));
        Assert.That(Only(Gate(b, slightly, new GateOptions { Threshold = 0 })).Verdict, Is.EqualTo(Verdict.Regressed), "threshold 0: any worse value");
        ResultsDocument moreEnergy = Docs.Doc(Docs.Modeled(W, 1e-3, 1000, 3e-6));
        Assert.That(Only(Gate(b, moreEnergy, new GateOptions { Metric = GateMetric.Joules })).Verdict, Is.EqualTo(Verdict.Regressed));
    }

    [Test]
    public void A_metric_the_results_do_not_have_is_an_error_naming_file_and_path()
    {
        ResultsDocument d = Docs.Doc(Docs.Ok(W, "cpu", Docs.Noisy(1e-3, 0.01, 10, 1)));
        GateReport r = Gate(d, d, new GateOptions { Metric = GateMetric.Cycles });
        Assert.That(r.ExitCode, Is.EqualTo(2));
        Assert.That(Only(r).Detail, Does.Contain("baseline 'base.json' $.results[0].cycles is absent"));
        Assert.That(Only(Gate(d, d, new GateOptions { Metric = GateMetric.Joules })).Detail, Does.Contain("$.results[0].energy.joules is null"));
        Assert.That(Only(Gate(d, d, new GateOptions { Clock = GateClock.Cpu })).Detail, Does.Contain("$.results[0].cpu_seconds is absent"));

        ResultsDocument modeled = Docs.Doc(Docs.Modeled(W, 1e-3, 1000, 2e-6));
        modeled.Results[0].Device = "cpu";
        Assert.That(Only(Gate(d, modeled)).Detail, Does.Contain("cannot compare a wall time value"));
    }

    [Test]
    public void Cpu_clock_uses_the_cpu_samples()
    {
        double[] wall = Docs.Noisy(1e-3, 0.01, 12, 1);
        ResultsDocument b = Docs.Doc(Docs.Ok(W, "cpu", wall, cpu: Docs.Noisy(2e-3, 0.01, 12, 2)));
        ResultsDocument c = Docs.Doc(Docs.Ok(W, "cpu", wall, cpu: Docs.Noisy(2.4e-3, 0.01, 12, 3)));
        Assert.That(Gate(b, c).ExitCode, Is.Zero, "wall clock unchanged");
        GateReport r = Gate(b, c, new GateOptions { Clock = GateClock.Cpu, Metric = GateMetric.Seconds });
        Assert.That(Only(r).Verdict, Is.EqualTo(Verdict.Regressed));
        Assert.That(Only(r).BaselineMedian, Is.EqualTo(2e-3).Within(1e-4));
    }

    [Test]
    public void Different_machines_warn_and_fail_with_strict_machine()
    {
        double[] s = Docs.Noisy(1e-3, 0.01, 10, 1);
        ResultsDocument b = Docs.Doc(Docs.Ok(W, "cpu", s));
        ResultsDocument c = Docs.Doc(Docs.Machine("Other CPU"), Docs.Ok(W, "cpu", s));
        GateReport r = Gate(b, c);
        Assert.That(r.ExitCode, Is.Zero);
        Assert.That(r.Warnings.Single(), Does.Contain("cpu: \"Test CPU 9000\" vs \"Other CPU\""));
        GateReport strict = Gate(b, c, new GateOptions { StrictMachine = true });
        Assert.That(strict.ExitCode, Is.EqualTo(2));
        Assert.That(strict.Errors.Single(), Does.Contain("--strict-machine"));

        MachineRecord sameMajor = Docs.Machine();
        sameMajor.Runtime = ".NET 10.0.7";
        sameMajor.Hostname = "another-runner";
        Assert.That(Gate(b, Docs.Doc(sameMajor, Docs.Ok(W, "cpu", s))).Warnings, Is.Empty, "hostname and runtime patch level are not the machine");
    }

    [Test]
    public void Duplicate_workload_and_device_in_one_file_is_an_input_error()
    {
        double[] s = Docs.Noisy(1e-3, 0.01, 10, 1);
        ResultsDocument d = Docs.Doc(Docs.Ok(W, "cpu", s), Docs.Ok(W, "cpu", s));
        var e = Assert.Throws<ChipKit.Core.ChipKitInputException>(() => Gate(Docs.Doc(Docs.Ok(W, "cpu", s)), d));
        Assert.That(e!.Message, Does.Contain("'cur.json': $.results[1] repeats"));
    }
}
