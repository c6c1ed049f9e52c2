using System.CommandLine;
using System.Text.Json;
using ChipKit.Core;
using ChipKit.Core.Devices;
using ChipKit.Harness.Devices;
using ChipKit.Harness.Results;
using ChipKit.Harness.Validation;

namespace ChipKit.Cli;

/// <summary>
/// `chipkit validate --device ID [--ops ...] [--level quick|full] [--seed N] [--out FILE] [--markdown FILE]`:
/// a conformance report for one device. Exit 0 when every case of every claimed op passes, 1 otherwise.
/// </summary>
internal static class ValidateCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var device = new Option<string>("--device", "-d") { Description = "The device to validate (see `chipkit devices`).", Required = true, HelpName = "ID" };
        var ops = new Option<string>("--ops") { Description = "Comma-separated ops to validate: gemm,conv,qgemm,qconv. Default: all.", HelpName = "OP,..." };
        var level = new Option<string>("--level") { Description = "quick (edge cases, every value pattern and quantisation variant) or full (adds seeded random shapes around tile boundaries).", DefaultValueFactory = _ => "quick" };
        level.AcceptOnlyFromAmong("quick", "full");
        var seed = new Option<int>("--seed") { Description = "Seed of the generated cases and operands; the same seed gives the same cases.", DefaultValueFactory = _ => 1 };
        var threads = new Option<int>("--threads", "-t") { Description = "Threads for the CPU device (0 = all cores).", DefaultValueFactory = _ => 0 };
        var output = new Option<string?>("--out", "-o") { Description = "Write the report as JSON (schema chipkit.validation/1).", HelpName = "FILE" };
        var markdown = new Option<string?>("--markdown") { Description = "Write the report as Markdown.", HelpName = "FILE" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Do not print progress on stderr." };
        var cmd = new Command("validate", "Check a device's outputs against the oracle on edge-case shapes and values; report per op, with the smallest failing case.")
        {
            device, ops, level, seed, threads, output, markdown, quiet,
        };
        cmd.SetAction(pr => CliApp.Guard(stderr, () =>
        {
            string[] opList = (pr.GetValue(ops) ?? string.Join(',', CaseGenerator.Ops))
                .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (string op in opList)
            {
                if (Array.IndexOf(CaseGenerator.Ops, op) < 0)
                {
                    throw new ChipKitInputException($"--ops: unknown op '{op}'; expected some of {string.Join(",", CaseGenerator.Ops)}");
                }
            }

            string id = pr.GetValue(device)!;
            if (id.Contains(',', StringComparison.Ordinal))
            {
                throw new ChipKitInputException($"--device '{id}': validate takes one device at a time");
            }

            int t = pr.GetValue(threads);
            if (t < 0)
            {
                throw new ChipKitInputException($"--threads must be >= 0, got {t}");
            }

            using IDevice dev = Backends.Registry.Open(id, new DeviceOptions(t))[0];
            var validator = new Validator(dev, pr.GetValue(level) == "full" ? ValidationLevel.Full : ValidationLevel.Quick, pr.GetValue(seed));
            if (!pr.GetValue(quiet))
            {
                validator.CaseDone += (op, i, n, o) =>
                {
                    if (o.Status == CaseOutcome.Failed || i == n || i % 10 == 0)
                    {
                        stderr.WriteLine($"[{op} {i}/{n}] {o.Status}: {o.Case}");
                    }
                };
            }

            ValidationReport report = validator.Run(opList);
            string md = Validator.ToMarkdown(report);
            stdout.Write(md);
            if (pr.GetValue(output) is string path)
            {
                WriteAtomic(path, JsonSerializer.Serialize(report, ResultsFile.Options));
                stdout.WriteLine($"\nreport: {path}");
            }

            if (pr.GetValue(markdown) is string mdPath)
            {
                WriteAtomic(mdPath, md);
            }

            return report.Passed ? CliApp.ExitOk : CliApp.ExitFailed;
        }));
        return cmd;
    }

    private static void WriteAtomic(string path, string text)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string tmp = full + $".tmp-{Environment.ProcessId}";
        File.WriteAllText(tmp, text);
        File.Move(tmp, full, overwrite: true);
    }
}
