using System.CommandLine;
using ChipKit.Core;
using ChipKit.Harness.Reports;
using ChipKit.Harness.Results;

namespace ChipKit.Cli;

/// <summary>`chipkit report FILE [--format table|md|csv]`: renders a results file; never re-runs anything.</summary>
internal static class ReportCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var file = new Argument<string>("file") { Description = "A results file written by `chipkit run`." };
        var format = new Option<string>("--format") { Description = "table (aligned text), md (Markdown), csv, or bmf (Bencher Metric Format JSON of the verified results).", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "md", "csv", "bmf");
        var cmd = new Command("report", "Render a results file as a table, Markdown or CSV.") { file, format };
        cmd.SetAction(pr => CliApp.Guard(stderr, () =>
        {
            string path = pr.GetValue(file)!;
            if (!File.Exists(path))
            {
                throw new ChipKitInputException($"results file '{path}': no such file");
            }

            ResultsDocument doc = ResultsFile.Read(path);
            if (pr.GetValue(format) == "bmf")
            {
                stdout.WriteLine(ChipKit.Harness.Gate.BmfWriter.Write(doc.Results));
                return doc.Results.Any(r => r.Status == "failed") ? CliApp.ExitFailed : CliApp.ExitOk;
            }

            ReportFormat f = Enum.Parse<ReportFormat>(pr.GetValue(format)!, ignoreCase: true);
            if (f == ReportFormat.Md)
            {
                stdout.WriteLine($"# ChipKit results ({doc.Created:u})");
                stdout.WriteLine();
                stdout.WriteLine($"Machine: {doc.Machine.Cpu}, {doc.Machine.Cores} cores, {doc.Machine.Os}, {doc.Machine.Runtime}. ChipKit {doc.Chipkit.Version} ({doc.Chipkit.Commit ?? "unknown commit"}).");
                stdout.WriteLine();
            }

            stdout.Write(ResultTable.Render(doc.Results, f));
            if (f != ReportFormat.Csv)
            {
                stdout.WriteLine();
                stdout.WriteLine(ResultTable.Summary(doc.Results));
            }

            return doc.Results.Any(r => r.Status == "failed") ? CliApp.ExitFailed : CliApp.ExitOk;
        }));
        return cmd;
    }
}
