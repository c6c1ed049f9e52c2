using ChipKit.Harness.Gate;
using ChipKit.Harness.Results;

namespace ChipKit.Gate.Tests;

public class RunMergerTests
{
    private const string W = "gemm:m=64,n=64,k=64";

    /// <summary>Runs whose level drifts by up to +-10 % from run to run, each with 50 tight samples.</summary>
    private static List<(ResultsDocument, string)> Runs(int first, int count, double scale)
    {
        double[] drift = [1.00, 1.08, 0.93, 1.10, 0.95, 1.04, 0.91, 1.06, 0.97, 1.02];
        return Enumerable.Range(first, count)
            .Select(i => (Docs.Doc(Docs.Ok(W, "cpu", Docs.Noisy(1e-3 * drift[i % drift.Length] * scale, 0.005, 50, 100 + i))), $"run{i}.json"))
            .ToList();
    }

    [Test]
    public void Run_to_run_drift_fools_a_two_run_comparison_but_not_the_run_level_one()
    {
        List<(ResultsDocument Doc, string Path)> b = Runs(0, 5, 1.0), c = Runs(5, 5, 1.0);
        // run 3 (+10 %) vs run 6 (-9 %): tight samples, large drift, "significant improvement"; run 6 vs run 3 a regression.
        GateReport pair = GateEngine.Compare(c[1].Doc, "run6.json", b[3].Doc, "run3.json", new GateOptions());
        Assert.That(pair.Rows.Single().Verdict, Is.EqualTo(Verdict.Regressed), "the false alarm the run-level test exists for");

        GateReport runs = GateEngine.Compare(b, c, new GateOptions());
        GateRow row = runs.Rows.Single();
        Assert.That(row.Verdict, Is.EqualTo(Verdict.Pass), row.Detail);
        Assert.That((row.BaselineSamples, row.CurrentSamples), Is.EqualTo((5, 5)));
        Assert.That(runs.Aggregation, Does.Contain("5 baseline run(s) vs 5 current run(s)"));
        Assert.That(runs.BaselinePath, Is.EqualTo("run0.json (+4 more runs)"));
    }

    [Test]
    public void A_slowdown_of_every_run_beyond_the_drift_regresses()
    {
        GateReport r = GateEngine.Compare(Runs(0, 5, 1.0), Runs(5, 5, 1.3), new GateOptions());
        Assert.That(r.Rows.Single().Verdict, Is.EqualTo(Verdict.Regressed), r.Rows.Single().Detail);
        Assert.That(r.Rows.Single().P, Is.EqualTo(2.0 / 252).Within(1e-12), "complete separation of 5 vs 5 runs");
        Assert.That(r.ExitCode, Is.EqualTo(1));
    }

    [Test]
    public void Too_few_runs_are_insufficient_and_a_failure_in_any_run_fails()
    {
        Assert.That(GateEngine.Compare(Runs(0, 4, 1.0), Runs(5, 4, 1.3), new GateOptions()).Rows.Single().Verdict, Is.EqualTo(Verdict.Insufficient));

        List<(ResultsDocument Doc, string Path)> c = Runs(5, 5, 1.0);
        c[2].Doc.Results[0].Status = "failed";
        c[2].Doc.Results[0].Verified = false;
        c[2].Doc.Results[0].Message = "wrong answer";
        GateReport r = GateEngine.Compare(Runs(0, 5, 1.0), c, new GateOptions());
        Assert.That(r.Rows.Single().Verdict, Is.EqualTo(Verdict.Failed));
        Assert.That(r.Rows.Single().Detail, Does.Contain("in 'run7.json' $.results[0]: wrong answer"));

        List<(ResultsDocument Doc, string Path)> gap = Runs(5, 5, 1.0);
        gap[4].Doc.Results.Clear();
        Assert.That(GateEngine.Compare(Runs(0, 5, 1.0), gap, new GateOptions()).Rows.Single().Verdict, Is.EqualTo(Verdict.Missing));

        List<(ResultsDocument Doc, string Path)> mixed = Runs(5, 5, 1.0);
        mixed[1].Doc.Machine = Docs.Machine("Other CPU");
        var e = Assert.Throws<ChipKit.Core.ChipKitInputException>(() => GateEngine.Compare(Runs(0, 5, 1.0), mixed, new GateOptions()));
        Assert.That(e!.Message, Does.Contain("'run5.json' and 'run6.json' come from different machines"));
    }

    [Test]
    public void Cli_accepts_repeated_baseline_and_current()
    {
        string dir = Path.Combine(Path.GetTempPath(), "chipkit-runs-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var args = new List<string> { "gate" };
            foreach ((ResultsDocument d, string name) in Runs(0, 5, 1.0))
            {
                ResultsFile.WriteAtomic(Path.Combine(dir, name), d);
                args.AddRange(["--baseline", Path.Combine(dir, name)]);
            }

            foreach ((ResultsDocument d, string name) in Runs(5, 5, 1.3))
            {
                ResultsFile.WriteAtomic(Path.Combine(dir, name), d);
                args.AddRange(["--current", Path.Combine(dir, name)]);
            }

            var o = new StringWriter();
            int code = ChipKit.Cli.CliApp.Run([.. args], o, new StringWriter());
            Assert.That(code, Is.EqualTo(1), o.ToString());
            Assert.That(o.ToString(), Does.Contain("run medians: 5 baseline run(s) vs 5 current run(s)"));
            Assert.That(o.ToString(), Does.Contain("5/5"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
