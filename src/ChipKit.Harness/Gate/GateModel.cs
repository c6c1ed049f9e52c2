namespace ChipKit.Harness.Gate;

/// <summary>The quantity compared per workload and device.</summary>
public enum GateMetric
{
    Gops,
    Seconds,
    Joules,
    GopsPerWatt,
    Cycles,
}

/// <summary>How a change is judged significant.</summary>
public enum GateTest
{
    /// <summary>Mann-Whitney U (rank test; robust to outliers and skew). The default.</summary>
    MannWhitney,

    /// <summary>Welch's unequal-variances t-test.</summary>
    Welch,

    /// <summary>No test: the medians' change against the threshold alone (noise-prone, one sample is enough).</summary>
    Percentage,
}

/// <summary>Which timing samples feed the seconds and gops metrics.</summary>
public enum GateClock
{
    Wall,
    Cpu,

    /// <summary>Wall samples divided by the paired canary samples of `chipkit run --canary`, rescaled to the baseline's median canary time.</summary>
    Canary,
}

/// <summary>Per workload x device outcome.</summary>
public enum Verdict
{
    /// <summary>No significant change beyond the threshold.</summary>
    Pass,

    /// <summary>Significantly better, beyond the threshold.</summary>
    Improved,

    /// <summary>Significantly worse, beyond the threshold.</summary>
    Regressed,

    /// <summary>Too few samples for the test to ever reach alpha: fails closed.</summary>
    Insufficient,

    /// <summary>In the baseline but not measured in the current run.</summary>
    Missing,

    /// <summary>Missing, but --allow-missing was given.</summary>
    MissingAllowed,

    /// <summary>A failed or unverified result in either file.</summary>
    Failed,

    /// <summary>Data that cannot be compared (absent metric, bad samples, different time sources).</summary>
    Error,

    /// <summary>Only in the current run (nothing to compare with).</summary>
    New,

    /// <summary>Skipped (no kernel for the op) in both files.</summary>
    Skipped,
}

public sealed record GateOptions
{
    public GateMetric Metric { get; init; } = GateMetric.Gops;

    /// <summary>The smallest relative change that counts, as a fraction (0.05 = 5 %).</summary>
    public double Threshold { get; init; } = 0.05;

    public GateTest Test { get; init; } = GateTest.MannWhitney;

    /// <summary>Significance level: a change is significant when p &lt; alpha.</summary>
    public double Alpha { get; init; } = 0.01;

    public GateClock Clock { get; init; } = GateClock.Wall;
    public bool AllowMissing { get; init; }
    public bool StrictMachine { get; init; }
}

/// <summary>One workload on one device.</summary>
public sealed record GateRow
{
    public required string Workload { get; init; }
    public required string Device { get; init; }
    public required Verdict Verdict { get; init; }
    public double? BaselineMedian { get; init; }
    public double? CurrentMedian { get; init; }

    /// <summary>(current - baseline) / baseline of the medians, in percent.</summary>
    public double? ChangePercent { get; init; }
    public double? P { get; init; }
    public int BaselineSamples { get; init; }
    public int CurrentSamples { get; init; }

    /// <summary>exact (deterministic values), the test's method, or "-".</summary>
    public string Method { get; init; } = "-";
    public string Detail { get; init; } = "";
}

/// <summary>Everything the gate decided, for the console, Markdown and JUnit writers.</summary>
public sealed class GateReport
{
    public required GateOptions Options { get; init; }
    public required string BaselinePath { get; init; }
    public required string CurrentPath { get; init; }
    public List<GateRow> Rows { get; } = [];

    /// <summary>Set when several runs per side were merged into per-run medians.</summary>
    public string? Aggregation { get; set; }
    public List<string> Warnings { get; } = [];

    /// <summary>Problems with the whole comparison (e.g. a machine mismatch under --strict-machine).</summary>
    public List<string> Errors { get; } = [];

    public bool LowerIsBetter => GateEngine.LowerIsBetter(Options.Metric);
    public string Unit => GateEngine.Unit(Options.Metric);

    /// <summary>0 pass; 1 regression; 2 missing, failed, insufficient or uncomparable data (wins over 1: fail closed).</summary>
    public int ExitCode
    {
        get
        {
            if (Errors.Count > 0 || Rows.Any(r => r.Verdict is Verdict.Insufficient or Verdict.Missing or Verdict.Failed or Verdict.Error))
            {
                return 2;
            }

            return Rows.Any(r => r.Verdict == Verdict.Regressed) ? 1 : 0;
        }
    }

    public string Outcome => ExitCode switch
    {
        0 => "PASS",
        1 => "REGRESSION",
        _ => "ERROR",
    };

    public string Settings => $"metric {GateEngine.MetricName(Options.Metric)} ({(LowerIsBetter ? "lower" : "higher")} is better)"
        + (Options.Metric is GateMetric.Seconds or GateMetric.Gops ? $", clock {Options.Clock.ToString().ToLowerInvariant()}" : "")
        + $", test {GateEngine.TestName(Options.Test)}"
        + (Options.Test == GateTest.Percentage ? "" : $", alpha {Options.Alpha:G4}")
        + $", threshold {Options.Threshold * 100:G4}%";
}
