using System.CommandLine;
using System.Globalization;
using ChipKit.Core;
using ChipKit.Harness.Gate;
using ChipKit.Harness.Results;

namespace ChipKit.Cli;

/// <summary>
/// `chipkit gate`: the CI performance-regression gate. Exit 0 pass, 1 regression, 2 missing/corrupt/failed data,
/// insufficient samples, or (with --strict-machine) different machines.
/// </summary>
internal static class GateCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var baseline = new Option<string[]>("--baseline", "-b") { Description = "The baseline results file; repeat it for several runs (compared as per-run medians). Default: the stored baseline for the current file's machine and suite (see `chipkit baseline`).", HelpName = "FILE" };
        var current = new Option<string[]>("--current", "-c") { Description = "The current results file; repeat it for several runs (compared as per-run medians, 5 per side for alpha 0.01).", HelpName = "FILE", Required = true };
        var metric = new Option<string>("--metric") { Description = "gops (higher is better), seconds, joules, cycles (lower is better) or gops_per_watt (higher is better).", DefaultValueFactory = _ => "gops" };
        metric.AcceptOnlyFromAmong("gops", "seconds", "joules", "gops_per_watt", "cycles");
        var threshold = new Option<string>("--threshold") { Description = "The smallest relative change that counts, in percent: 5%, 2.5, 0%.", DefaultValueFactory = _ => "5%", HelpName = "PERCENT" };
        var test = new Option<string>("--test") { Description = "mannwhitney (rank test, default), welch (Welch's t-test) or percentage (no test: threshold on the medians only).", DefaultValueFactory = _ => "mannwhitney" };
        test.AcceptOnlyFromAmong("mannwhitney", "welch", "percentage");
        var alpha = new Option<double>("--alpha") { Description = "Significance level: a change is significant when p < alpha.", DefaultValueFactory = _ => 0.01 };
        var clock = new Option<string>("--clock") { Description = "Timing samples for gops/seconds: wall (host clock), cpu (process CPU time, all threads) or canary (wall / the paired canary samples of `chipkit run --canary`: cancels a slowdown of the whole machine).", DefaultValueFactory = _ => "wall" };
        clock.AcceptOnlyFromAmong("wall", "cpu", "canary");
        var allowMissing = new Option<bool>("--allow-missing") { Description = "A workload of the baseline missing from the current run is skipped instead of failing." };
        var strictMachine = new Option<bool>("--strict-machine") { Description = "Different machines (cpu, cores, memory, os, arch, .NET major) are an error, not a warning." };
        var summary = new Option<string?>("--summary") { Description = "Write a Markdown summary (for a pull-request comment) to FILE.", HelpName = "FILE" };
        var junit = new Option<string?>("--junit") { Description = "Write JUnit XML (one test case per workload and device) to FILE.", HelpName = "FILE" };
        var dir = new Option<string>("--baseline-dir") { Description = "Where stored baselines are looked up when --baseline is not given.", DefaultValueFactory = _ => BaselineStore.DefaultDirectory, HelpName = "DIR" };
        var name = new Option<string?>("--name") { Description = "Suite name of the stored baseline (default: the current file's run.suite, or custom).", HelpName = "SUITE" };

        var cmd = new Command("gate", "Compare a results file with a baseline: exit 1 on a significant regression beyond the threshold, 2 on missing, failed or insufficient data.")
        {
            baseline, current, metric, threshold, test, alpha, clock, allowMissing, strictMachine, summary, junit, dir, name,
        };
        cmd.SetAction(pr => CliApp.Guard(stderr, () =>
        {
            var options = new GateOptions
            {
                Metric = pr.GetValue(metric) switch
                {
                    "seconds" => GateMetric.Seconds,
                    "joules" => GateMetric.Joules,
                    "gops_per_watt" => GateMetric.GopsPerWatt,
                    "cycles" => GateMetric.Cycles,
                    _ => GateMetric.Gops,
                },
                Threshold = ParsePercent(pr.GetValue(threshold)!),
                Test = pr.GetValue(test) switch
                {
                    "welch" => GateTest.Welch,
                    "percentage" => GateTest.Percentage,
                    _ => GateTest.MannWhitney,
                },
                Alpha = pr.GetValue(alpha),
                Clock = pr.GetValue(clock) switch { "cpu" => GateClock.Cpu, "canary" => GateClock.Canary, _ => GateClock.Wall },
                AllowMissing = pr.GetValue(allowMissing),
                StrictMachine = pr.GetValue(strictMachine),
            };
            if (!(options.Alpha > 0 && options.Alpha < 1))
            {
                throw new ChipKitInputException($"--alpha must be between 0 and 1 (exclusive), got {options.Alpha.ToString(CultureInfo.InvariantCulture)}");
            }

            string[] currentPaths = pr.GetValue(current) ?? [];
            List<(ResultsDocument, string)> curs = currentPaths.Select(p => (ReadChecked(p, "--current"), p)).ToList();
            if (curs.Count == 0)
            {
                throw new ChipKitInputException("--current FILE is required");
            }

            ResultsDocument cur = curs[0].Item1;
            string[] basePaths = pr.GetValue(baseline) ?? [];
            if (basePaths.Length == 0)
            {
                string basePath;
                var store = new BaselineStore(pr.GetValue(dir)!);
                MachineFingerprint fp = MachineFingerprint.From(cur.Machine);
                string suite = BaselineStore.CheckName(pr.GetValue(name) ?? BaselineStore.SuiteOf(cur), "--name");
                basePath = store.Find(fp, suite)
                    ?? throw new ChipKitInputException($"no stored baseline for suite '{suite}' on this machine ({fp.Describe()}; id {fp.Id}) in '{store.Directory}': save one with `chipkit baseline save FILE`, or pass --baseline FILE");
                stderr.WriteLine($"baseline: {basePath} (stored for machine {fp.Id}, suite {suite})");
                basePaths = [basePath];
            }

            List<(ResultsDocument, string)> bases = basePaths.Select(p => (ReadChecked(p, "--baseline"), p)).ToList();
            GateReport report = GateEngine.Compare(bases, curs, options);
            stdout.Write(GateWriters.Text(report));
            if (pr.GetValue(summary) is string md)
            {
                WriteFile(md, GateWriters.Markdown(report), "--summary");
            }

            if (pr.GetValue(junit) is string xml)
            {
                WriteFile(xml, GateWriters.JUnit(report), "--junit");
            }

            return report.ExitCode;
        }));
        return cmd;
    }

    private static ResultsDocument ReadChecked(string path, string option)
    {
        if (!File.Exists(path))
        {
            throw new ChipKitInputException($"{option} '{path}': no such results file");
        }

        return ResultsFile.Read(path);
    }

    private static void WriteFile(string path, string text, string option)
    {
        try
        {
            string? d = Path.GetDirectoryName(Path.GetFullPath(path));
            if (!string.IsNullOrEmpty(d))
            {
                Directory.CreateDirectory(d);
            }

            File.WriteAllText(path, text);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ChipKitInputException($"{option} '{path}': cannot write it: {e.Message}", e);
        }
    }

    /// <summary>"5%", "5" and "2.5 %" are percentages; the result is a fraction (0.05).</summary>
    public static double ParsePercent(string text)
    {
        string s = text.Trim().TrimEnd('%').Trim();
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v) || v < 0)
        {
            throw new ChipKitInputException($"--threshold '{text}': expected a non-negative percentage such as 5% or 2.5");
        }

        return v / 100;
    }
}
