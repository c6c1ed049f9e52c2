using System.CommandLine;
using System.Text;
using System.Text.Json;
using ChipKit.Accel;
using ChipKit.Core;
using ChipKit.Harness.Reports;
using ChipKit.Harness.Results;
using ChipKit.Reports.Html;

namespace ChipKit.Cli;

/// <summary>
/// `chipkit report FILE... [--format table|md|csv|json|html|bmf] [--out FILE] [--peak FILE]`: renders one or more
/// results files (merged; each result tagged with its file's run tag) and, for json and html, sweep outputs. Never
/// re-runs anything.
/// </summary>
internal static class ReportCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var files = new Argument<string[]>("file")
        {
            Description = "Results files written by `chipkit run` (several are merged; each result is tagged with its file's run: A, B, ...), and for json/html also `chipkit sweep --out` directories or their sweep.json.",
            Arity = ArgumentArity.OneOrMore,
        };
        var format = new Option<string>("--format")
        {
            Description = "table (aligned text), md (Markdown), csv, json (normalised machine-readable dump), html (one self-contained page with charts), or bmf (Bencher Metric Format JSON of the verified results; one file).",
            DefaultValueFactory = _ => "table",
        };
        format.AcceptOnlyFromAmong("table", "md", "csv", "json", "html", "bmf");
        var output = new Option<string?>("--out", "-o") { Description = "Write the report to this file instead of stdout.", HelpName = "FILE" };
        var peak = new Option<string?>("--peak") { Description = "Roofline ceilings of the cpu device from a `chipkit peak --out FILE` document (replaces ceilings the run recorded).", HelpName = "FILE" };
        var cmd = new Command("report", "Render results files (and sweeps) as a table, Markdown, CSV, JSON, a self-contained HTML page with charts, or BMF.") { files, format, output, peak };
        cmd.SetAction(pr => CliApp.Guard(stderr, () =>
        {
            string fmt = pr.GetValue(format)!;
            string[] paths = pr.GetValue(files) ?? [];
            ReportSet set = Load(paths);
            if (pr.GetValue(peak) is string peakPath)
            {
                if (!File.Exists(peakPath))
                {
                    throw new ChipKitInputException($"--peak '{peakPath}': no such file (write one with `chipkit peak --out FILE`)");
                }

                (string? cpu, List<Cpu.PeakFigure> figures) = PeakRecords.ReadFile(peakPath);
                PeakRecord record = PeakRecords.FromFigures(figures, $"chipkit peak --out {peakPath}");
                set.Notes.AddRange(PeakRecords.ApplyToCpu(set.Runs.Select(r => r.Doc), record, cpu, peakPath));
            }

            if (set.Sweeps.Count > 0 && fmt is not ("json" or "html"))
            {
                throw new ChipKitInputException($"'{set.Sweeps[0].Path}' is a sweep output: render it with --format html or --format json");
            }

            string text = Render(set, fmt);
            if (pr.GetValue(output) is string outPath)
            {
                try
                {
                    string? dir = Path.GetDirectoryName(Path.GetFullPath(outPath));
                    if (!string.IsNullOrEmpty(dir))
                    {
                        Directory.CreateDirectory(dir);
                    }

                    File.WriteAllText(outPath, text);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new ChipKitInputException($"--out '{outPath}': cannot write: {e.Message}", e);
                }

                stderr.WriteLine($"report: wrote {outPath}");
            }
            else
            {
                stdout.Write(text);
            }

            foreach (string n in set.Notes)
            {
                stderr.WriteLine(n);
            }

            return set.AnyFailed ? CliApp.ExitFailed : CliApp.ExitOk;
        }));
        return cmd;
    }

    /// <summary>Reads every input: results files, and sweep outputs (a directory or a JSON whose schema is chipkit.sweep/*).</summary>
    internal static ReportSet Load(IReadOnlyList<string> paths)
    {
        var set = new ReportSet();
        foreach (string path in paths)
        {
            if (Directory.Exists(path) || (File.Exists(path) && IsSweep(path)))
            {
                SweepResult s = SweepResult.Read(path);
                set.Sweeps.Add(new SweepInput(set.NextTag(), path, s.Module, s.Workloads, s.Source,
                    s.Points.Select(p => new SweepPointData(p.Index,
                        $"{p.Rows}x{p.Cols} {p.Dataflow}, SRAM {p.IfmapKib}/{p.FilterKib}/{p.OfmapKib} KiB, {p.OperatingPoint} ({p.Volts} V, {p.Mhz} MHz)",
                        p.LatencySeconds, p.EnergyJoules, p.TopsPerWatt, p.Pareto)).ToList()));
                continue;
            }

            if (!File.Exists(path))
            {
                throw new ChipKitInputException($"results file '{path}': no such file");
            }

            set.AddRun(path, ResultsFile.Read(path));
        }

        return set;
    }

    private static bool IsSweep(string path)
    {
        try
        {
            using FileStream fs = File.OpenRead(path);
            using JsonDocument doc = JsonDocument.Parse(fs);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("schema", out JsonElement s)
                && s.ValueKind == JsonValueKind.String
                && s.GetString()!.StartsWith("chipkit.sweep/", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            return false; // ResultsFile.Read reports what is wrong with it
        }
    }

    internal static string Render(ReportSet set, string format)
    {
        switch (format)
        {
            case "json":
                return ReportJson.Write(set) + Environment.NewLine;
            case "html":
                return HtmlReport.Render(set, DateTimeOffset.UtcNow);
            case "bmf":
                if (set.Runs.Count != 1)
                {
                    throw new ChipKitInputException($"--format bmf takes one results file, got {set.Runs.Count}");
                }

                return Harness.Gate.BmfWriter.Write(set.Runs[0].Doc.Results) + Environment.NewLine;
        }

        ReportFormat f = Enum.Parse<ReportFormat>(format, ignoreCase: true);
        var sb = new StringBuilder();
        if (f == ReportFormat.Md)
        {
            sb.AppendLine($"# ChipKit results ({set.Runs[0].Doc.Created:u})");
            sb.AppendLine();
            foreach (ReportRun run in set.Runs)
            {
                ResultsDocument doc = run.Doc;
                sb.AppendLine($"{(set.Merged ? $"- [{run.Tag}] {run.Path} ({doc.Created:u}): " : "")}Machine: {doc.Machine.Cpu}, {doc.Machine.Cores} cores, {doc.Machine.Os}, {doc.Machine.Runtime}. ChipKit {doc.Chipkit.Version} ({doc.Chipkit.Commit ?? "unknown commit"}).");
            }

            sb.AppendLine();
        }
        else if (f == ReportFormat.Table && set.Merged)
        {
            foreach (ReportRun run in set.Runs)
            {
                sb.AppendLine($"{run.Label}: {run.Doc.Machine.Cpu}, {run.Doc.Machine.Cores} cores");
            }

            sb.AppendLine();
        }

        sb.Append(ResultTable.Render(set, f));
        if (f != ReportFormat.Csv)
        {
            sb.AppendLine();
            sb.AppendLine(ResultTable.Summary(set));
        }

        return sb.ToString();
    }
}
