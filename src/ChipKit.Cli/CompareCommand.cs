using System.CommandLine;
using ChipKit.Core;
using ChipKit.Harness.Reports;
using ChipKit.Harness.Results;

namespace ChipKit.Cli;

/// <summary>`chipkit compare A.json B.json [...] [--format table|md]`: throughput, energy and GOP/s per W side by side, as ratios to A.</summary>
internal static class CompareCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var files = new Argument<string[]>("files") { Description = "Two or more results files; the first is the baseline of the ratios.", Arity = new ArgumentArity(2, 32) };
        var format = new Option<string>("--format") { Description = "table or md.", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "md");
        var cmd = new Command("compare", "Compare results files per workload and device: throughput, energy and GOP/s per W, as ratios to the first file.") { files, format };
        cmd.SetAction(pr => CliApp.Guard(stderr, () =>
        {
            string[] paths = pr.GetValue(files)!;
            var docs = new List<ResultsDocument>();
            foreach (string p in paths)
            {
                if (!File.Exists(p))
                {
                    throw new ChipKitInputException($"results file '{p}': no such file");
                }

                docs.Add(ResultsFile.Read(p));
            }

            stdout.Write(Comparison.Render(paths, docs, pr.GetValue(format) == "md"));
            return CliApp.ExitOk;
        }));
        return cmd;
    }
}
