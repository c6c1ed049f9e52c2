using System.Globalization;
using ChipKit.Core;
using ChipKit.Harness.Results;
using ChipKit.Harness.Runner;

namespace ChipKit.Harness.Gate;

/// <summary>
/// Compares a current results file with a baseline, per workload and device. A workload regresses only when the
/// change of its metric is statistically significant (p &lt; alpha) AND larger than the threshold in the bad direction.
/// Deterministic values (modeled time, cycles, modeled or declared energy) are compared exactly: no test, the
/// threshold alone. Anything that cannot be judged (too few samples, a failed or missing result) fails closed.
/// </summary>
public static class GateEngine
{
    public static bool LowerIsBetter(GateMetric m) => m is GateMetric.Seconds or GateMetric.Joules or GateMetric.Cycles;

    public static string MetricName(GateMetric m) => m switch
    {
        GateMetric.Gops => "gops",
        GateMetric.Seconds => "seconds",
        GateMetric.Joules => "joules",
        GateMetric.GopsPerWatt => "gops_per_watt",
        _ => "cycles",
    };

    public static string TestName(GateTest t) => t switch
    {
        GateTest.MannWhitney => "mannwhitney",
        GateTest.Welch => "welch",
        _ => "percentage",
    };

    public static string Unit(GateMetric m) => m switch
    {
        GateMetric.Gops => "GOP/s",
        GateMetric.Seconds => "s",
        GateMetric.Joules => "J",
        GateMetric.GopsPerWatt => "GOP/s/W",
        _ => "cycles",
    };

    /// <summary>Reads both files (errors name the file and JSON path) and compares them.</summary>
    public static GateReport Compare(string baselinePath, string currentPath, GateOptions options)
    {
        ResultsDocument baseline = ResultsFile.Read(baselinePath);
        ResultsDocument current = ResultsFile.Read(currentPath);
        return Compare(baseline, baselinePath, current, currentPath, options);
    }

    /// <summary>
    /// Several runs per side: each side's runs are merged into per-run medians (<see cref="RunMerger"/>) and the test
    /// treats the run as the unit. One file per side compares the samples themselves.
    /// </summary>
    public static GateReport Compare(IReadOnlyList<(ResultsDocument Doc, string Path)> baselines, IReadOnlyList<(ResultsDocument Doc, string Path)> currents, GateOptions options)
    {
        if (baselines.Count == 0 || currents.Count == 0)
        {
            throw new ChipKitInputException("the gate needs at least one baseline and one current results file");
        }

        static string Label(IReadOnlyList<(ResultsDocument Doc, string Path)> runs) => runs.Count == 1 ? runs[0].Path : $"{runs[0].Path} (+{runs.Count - 1} more runs)";
        GateReport report = Compare(RunMerger.Merge(baselines, "baseline"), Label(baselines), RunMerger.Merge(currents, "current"), Label(currents), options);
        if (baselines.Count > 1 || currents.Count > 1)
        {
            report.Aggregation = $"run medians: {baselines.Count} baseline run(s) vs {currents.Count} current run(s); each sample below is one run's median";
        }

        return report;
    }

    public static GateReport Compare(ResultsDocument baseline, string baselinePath, ResultsDocument current, string currentPath, GateOptions options)
    {
        if (!(options.Alpha > 0 && options.Alpha < 1))
        {
            throw new ChipKitInputException($"--alpha must be between 0 and 1 (exclusive), got {options.Alpha}");
        }

        if (!(options.Threshold >= 0) || double.IsInfinity(options.Threshold))
        {
            throw new ChipKitInputException($"--threshold must be a non-negative percentage, got {options.Threshold * 100}%");
        }

        var report = new GateReport { Options = options, BaselinePath = baselinePath, CurrentPath = currentPath };

        MachineFingerprint fb = MachineFingerprint.From(baseline.Machine), fc = MachineFingerprint.From(current.Machine);
        List<string> diff = fb.Differences(fc);
        if (diff.Count > 0)
        {
            string msg = $"the results come from different machines (baseline '{baselinePath}' $.machine vs current '{currentPath}' $.machine): {string.Join("; ", diff)}";
            if (options.StrictMachine)
            {
                report.Errors.Add(msg + " (--strict-machine)");
            }
            else
            {
                report.Warnings.Add(msg + "; timings may not be comparable (--strict-machine makes this an error)");
            }
        }

        Dictionary<(string, string), int> baseIndex = Index(baseline, baselinePath);
        Dictionary<(string, string), int> curIndex = Index(current, currentPath);

        foreach (((string w, string d), int bi) in baseIndex.OrderBy(p => p.Value))
        {
            ResultRecord b = baseline.Results[bi];
            var bSide = new Side(b, baselinePath, bi, "baseline");
            if (!curIndex.TryGetValue((w, d), out int ci))
            {
                report.Rows.Add(MissingRow(b, options, $"not in the current results '{currentPath}'"));
                continue;
            }

            report.Rows.Add(CompareOne(bSide, new Side(current.Results[ci], currentPath, ci, "current"), options));
        }

        foreach (((string w, string d), int ci) in curIndex.OrderBy(p => p.Value))
        {
            if (!baseIndex.ContainsKey((w, d)))
            {
                ResultRecord c = current.Results[ci];
                var cSide = new Side(c, currentPath, ci, "current");
                if (c.Status == "failed" || (c.Status == "ok" && !c.Verified))
                {
                    report.Rows.Add(new GateRow { Workload = w, Device = d, Verdict = Verdict.Failed, Detail = cSide.FailureText() });
                }
                else
                {
                    report.Rows.Add(new GateRow { Workload = w, Device = d, Verdict = Verdict.New, Detail = "not in the baseline: nothing to compare with" });
                }
            }
        }

        return report;
    }

    private static GateRow MissingRow(ResultRecord b, GateOptions options, string why) => new()
    {
        Workload = b.Workload,
        Device = b.Device,
        Verdict = options.AllowMissing ? Verdict.MissingAllowed : Verdict.Missing,
        Detail = why + (options.AllowMissing ? " (allowed by --allow-missing)" : " (--allow-missing accepts this)"),
    };

    private static Dictionary<(string, string), int> Index(ResultsDocument doc, string path)
    {
        var index = new Dictionary<(string, string), int>();
        for (int i = 0; i < doc.Results.Count; i++)
        {
            ResultRecord r = doc.Results[i];
            if (!index.TryAdd((r.Workload, r.Device), i))
            {
                throw new ChipKitInputException($"results file '{path}': $.results[{i}] repeats workload \"{r.Workload}\" on device \"{r.Device}\" of $.results[{index[(r.Workload, r.Device)]}]; the gate needs one result per workload and device");
            }
        }

        return index;
    }

    private sealed record Side(ResultRecord R, string Path, int Index, string Role)
    {
        public string At(string field) => $"{Role} '{Path}' $.results[{Index}]{(field.Length == 0 ? "" : "." + field)}";

        public string FailureText() => R.Status == "failed"
            ? $"{At("status")} is failed: {R.Message ?? "no message"}"
            : $"{At("verified")} is false: the result was not verified against the oracle";
    }

    /// <summary>A metric's values for one result: samples, and whether they are deterministic (modeled/declared).</summary>
    /// <remarks>With <see cref="GateClock.Canary"/>, <paramref name="CanaryMedian"/> is the side's median canary
    /// seconds and <paramref name="Samples"/> are seconds / canary seconds (or ops per canary-normalised second), which
    /// <see cref="CompareOne"/> rescales to the baseline's machine speed before comparing.</remarks>
    private sealed record Values(List<double> Samples, bool Deterministic, string Source, double? CanaryMedian = null);

    private static GateRow CompareOne(Side b, Side c, GateOptions o)
    {
        string w = b.R.Workload, d = b.R.Device;
        GateRow Row(Verdict v, string detail) => new() { Workload = w, Device = d, Verdict = v, Detail = detail };

        bool bBad = b.R.Status == "failed" || (b.R.Status == "ok" && !b.R.Verified);
        bool cBad = c.R.Status == "failed" || (c.R.Status == "ok" && !c.R.Verified);
        if (bBad || cBad)
        {
            return Row(Verdict.Failed, string.Join("; ", new[] { bBad ? b.FailureText() : null, cBad ? c.FailureText() : null }.Where(s => s is not null)));
        }

        if (b.R.Status == "skipped" && c.R.Status == "skipped")
        {
            return Row(Verdict.Skipped, $"skipped in both: {c.R.Message}");
        }

        if (b.R.Status == "skipped")
        {
            return Row(Verdict.New, $"skipped in the baseline ({b.R.Message}): nothing to compare with");
        }

        if (c.R.Status == "skipped")
        {
            return MissingRow(b.R, o, $"skipped in the current run: {c.R.Message}");
        }

        Values bv, cv;
        try
        {
            bv = Extract(b, o);
            cv = Extract(c, o);
        }
        catch (ChipKitInputException e)
        {
            return Row(Verdict.Error, e.Message);
        }

        if (bv.Deterministic != cv.Deterministic)
        {
            return Row(Verdict.Error, $"cannot compare a {bv.Source} value ({b.At("")}) with a {cv.Source} one ({c.At("")})");
        }

        if (bv.CanaryMedian is double scale && cv.CanaryMedian is not null)
        {
            // Both sides in the baseline machine's seconds: ratio x the baseline's median canary time.
            bool seconds = o.Metric == GateMetric.Seconds;
            bv = bv with { Samples = bv.Samples.Select(x => seconds ? x * scale : x / scale).ToList() };
            cv = cv with { Samples = cv.Samples.Select(x => seconds ? x * scale : x / scale).ToList() };
        }

        double mb = SampleStats.Median(bv.Samples), mc = SampleStats.Median(cv.Samples);
        double change = (mc - mb) / mb;
        double bad = LowerIsBetter(o.Metric) ? change : -change; // > 0: worse
        GateRow Judged(Verdict v, double? p, string method, string detail) => new()
        {
            Workload = w,
            Device = d,
            Verdict = v,
            BaselineMedian = mb,
            CurrentMedian = mc,
            ChangePercent = change * 100,
            P = p,
            BaselineSamples = bv.Samples.Count,
            CurrentSamples = cv.Samples.Count,
            Method = method,
            Detail = detail,
        };
        string pct = (change * 100).ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture) + "%";
        string thr = (o.Threshold * 100).ToString("G4", CultureInfo.InvariantCulture) + "%";

        if (bv.Deterministic)
        {
            if (mb == mc)
            {
                return Judged(Verdict.Pass, null, "exact", $"{bv.Source}: identical");
            }

            Verdict v = bad > o.Threshold ? Verdict.Regressed : -bad > o.Threshold ? Verdict.Improved : Verdict.Pass;
            return Judged(v, null, "exact", v == Verdict.Pass
                ? $"{bv.Source}: changed {pct}, within the {thr} threshold"
                : $"{bv.Source}: {pct} (deterministic, compared exactly against the {thr} threshold)");
        }

        double? pValue = null;
        string method;
        switch (o.Test)
        {
            case GateTest.MannWhitney:
            {
                double minP = Statistics.MannWhitneyMinP(bv.Samples.Count, cv.Samples.Count);
                if (minP >= o.Alpha)
                {
                    int need = Statistics.MannWhitneyMinSamples(o.Alpha);
                    return Judged(Verdict.Insufficient, null, "mannwhitney",
                        $"insufficient samples: Mann-Whitney with {bv.Samples.Count} and {cv.Samples.Count} samples cannot reach p < {o.Alpha:G4} " +
                        $"(smallest possible p = {minP:G3}); take at least {need} samples on each side (chipkit run --min-samples {need})");
                }

                TestOutcome t = Statistics.MannWhitney(bv.Samples, cv.Samples);
                pValue = t.P;
                method = $"mannwhitney ({t.Method})";
                break;
            }

            case GateTest.Welch:
            {
                if (bv.Samples.Count < 2 || cv.Samples.Count < 2)
                {
                    return Judged(Verdict.Insufficient, null, "welch",
                        $"insufficient samples: Welch's t-test needs at least 2 samples on each side, got {bv.Samples.Count} and {cv.Samples.Count}");
                }

                TestOutcome t = Statistics.Welch(bv.Samples, cv.Samples);
                pValue = t.P;
                method = $"welch ({t.Method})";
                break;
            }

            default:
                method = "percentage";
                break;
        }

        bool significant = pValue is null || pValue < o.Alpha;
        string sig = pValue is double pv ? $"p = {pv.ToString("G3", CultureInfo.InvariantCulture).Replace("E", "e", StringComparison.Ordinal)} {(pv < o.Alpha ? "<" : ">=")} alpha {o.Alpha:G4}" : "no significance test";
        if (significant && bad > o.Threshold)
        {
            return Judged(Verdict.Regressed, pValue, method, $"worse: {MetricName(o.Metric)} {pct} (beyond {thr}; {sig})");
        }

        if (significant && -bad > o.Threshold)
        {
            return Judged(Verdict.Improved, pValue, method, $"better: {MetricName(o.Metric)} {pct} (beyond {thr}; {sig})");
        }

        return Judged(Verdict.Pass, pValue, method, significant
            ? $"{pct}, within the {thr} threshold ({sig})"
            : $"{pct}, not significant ({sig})");
    }

    /// <summary>The metric's values of one result; errors name the file and JSON path.</summary>
    private static Values Extract(Side s, GateOptions o)
    {
        ResultRecord r = s.R;
        bool modeledTime = r.TimeSource == "modeled";
        switch (o.Metric)
        {
            case GateMetric.Seconds:
            case GateMetric.Gops:
            {
                SecondsRecord? rec;
                string field;
                if (o.Clock == GateClock.Canary && !modeledTime)
                {
                    List<double> wall = CheckedSamples(r.Seconds?.Samples, s, "seconds.samples");
                    if (r.CanarySeconds is null)
                    {
                        throw new ChipKitInputException($"{s.At("canary_seconds")} is absent: --clock canary needs results of `chipkit run --canary`");
                    }

                    List<double> canary = CheckedSamples(r.CanarySeconds.Samples, s, "canary_seconds.samples");
                    if (canary.Count != wall.Count)
                    {
                        throw new ChipKitInputException($"{s.At("canary_seconds.samples")} has {canary.Count} samples, seconds.samples {wall.Count}: they must be paired one to one");
                    }

                    if (o.Metric == GateMetric.Gops && !(r.Ops > 0))
                    {
                        throw new ChipKitInputException($"{s.At("ops")} must be a positive number of operations, got {r.Ops}");
                    }

                    List<double> ratio = wall.Select((x, i) => x / canary[i]).ToList();
                    return new Values(
                        o.Metric == GateMetric.Seconds ? ratio : ratio.Select(x => r.Ops / x / 1e9).ToList(),
                        false, $"{r.TimeSource} time / canary", SampleStats.Median(canary));
                }

                if (o.Clock == GateClock.Cpu && !modeledTime)
                {
                    rec = r.CpuSeconds;
                    field = "cpu_seconds.samples";
                    if (rec is null)
                    {
                        throw new ChipKitInputException($"{s.At("cpu_seconds")} is absent: --clock cpu needs results that recorded CPU time (a newer `chipkit run`; device-timed kernels have none)");
                    }
                }
                else
                {
                    rec = r.Seconds;
                    field = "seconds.samples";
                }

                List<double> secs = CheckedSamples(rec?.Samples, s, field);
                List<double> v = o.Metric == GateMetric.Seconds ? secs : secs.Select(x => r.Ops / x / 1e9).ToList();
                if (o.Metric == GateMetric.Gops && !(r.Ops > 0))
                {
                    throw new ChipKitInputException($"{s.At("ops")} must be a positive number of operations, got {r.Ops}");
                }

                return new Values(v, modeledTime, modeledTime ? "modeled time" : $"{r.TimeSource} time");
            }

            case GateMetric.Joules:
            {
                if (r.Energy.Joules is not double j || !double.IsFinite(j) || j <= 0)
                {
                    throw new ChipKitInputException($"{s.At("energy.joules")} is {(r.Energy.Joules is null ? "null" : r.Energy.Joules.Value.ToString(CultureInfo.InvariantCulture))} (energy source \"{r.Energy.Source}\"): no energy figure to compare");
                }

                bool det = r.Energy.Source is "modeled" or "declared";
                return new Values([j], det, det ? $"{r.Energy.Source} energy" : $"measured energy ({r.Energy.Source})");
            }

            case GateMetric.GopsPerWatt:
            {
                if (r.Energy.Watts is not double watts || !double.IsFinite(watts) || watts <= 0)
                {
                    throw new ChipKitInputException($"{s.At("energy.watts")} is {(r.Energy.Watts is null ? "null" : r.Energy.Watts.Value.ToString(CultureInfo.InvariantCulture))} (energy source \"{r.Energy.Source}\"): no power figure to compare");
                }

                List<double> secs = CheckedSamples(r.Seconds?.Samples, s, "seconds.samples");
                double gops = r.Ops / SampleStats.Median(secs) / 1e9;
                bool det = modeledTime && r.Energy.Source is "modeled" or "declared";
                return new Values([gops / watts], det, det ? $"{r.Energy.Source} efficiency" : $"measured efficiency ({r.Energy.Source} power)");
            }

            default:
            {
                if (r.Cycles is not long cycles || cycles <= 0)
                {
                    throw new ChipKitInputException($"{s.At("cycles")} is {(r.Cycles is null ? "absent" : r.Cycles.Value.ToString(CultureInfo.InvariantCulture))}: --metric cycles needs a modeled device's cycle count");
                }

                return new Values([cycles], true, "modeled cycles");
            }
        }
    }

    private static List<double> CheckedSamples(List<double>? samples, Side s, string field)
    {
        if (samples is null || samples.Count == 0)
        {
            throw new ChipKitInputException($"{s.At(field)} is empty: an ok result must carry its timing samples");
        }

        for (int i = 0; i < samples.Count; i++)
        {
            if (!double.IsFinite(samples[i]) || samples[i] <= 0)
            {
                throw new ChipKitInputException($"{s.At(field)}[{i}] is {samples[i].ToString(CultureInfo.InvariantCulture)}: samples must be positive finite seconds");
            }
        }

        return samples;
    }
}
