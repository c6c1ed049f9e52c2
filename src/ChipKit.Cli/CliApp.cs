using System.CommandLine;
using ChipKit.Core;

namespace ChipKit.Cli;

/// <summary>
/// The `chipkit` command line. Thin: it parses arguments and calls the harness.
/// Exit codes: 0 everything verified; 1 some result failed verification or a device failed; 2 bad usage or input.
/// </summary>
public static class CliApp
{
    public const int ExitOk = 0;
    public const int ExitFailed = 1;
    public const int ExitUsage = 2;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ChipKit.Models.ModelWorkload.Register(); // the "model:NAME" workload op (whole TFLite networks)
        var root = new RootCommand(
            "ChipKit: run GEMM, convolution and int8 kernels on every available backend, verify every output against a " +
            "reference oracle, and report throughput with the source of every number.");
        root.Subcommands.Add(DevicesCommand.Create(stdout, stderr));
        root.Subcommands.Add(RunCommand.Create(stdout, stderr));
        root.Subcommands.Add(ReportCommand.Create(stdout, stderr));
        root.Subcommands.Add(SuitesCommand.Create(stdout, stderr));
        root.Subcommands.Add(SimCommand.Create(stdout, stderr));
        root.Subcommands.Add(SweepCommand.Create(stdout, stderr));
        root.Subcommands.Add(MergeCommand.Create(stdout, stderr));
        root.Subcommands.Add(GateCommand.Create(stdout, stderr));
        root.Subcommands.Add(BaselineCommand.Create(stdout, stderr));
        root.Subcommands.Add(ValidateCommand.Create(stdout, stderr));
        root.Subcommands.Add(CompareCommand.Create(stdout, stderr));
        root.Subcommands.Add(PeakCommand.Create(stdout, stderr));
        root.Subcommands.Add(InferCommand.Create(stdout, stderr));

        ParseResult parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (System.CommandLine.Parsing.ParseError e in parse.Errors)
            {
                stderr.WriteLine($"error: {e.Message}");
            }

            stderr.WriteLine("Run 'chipkit --help' (or 'chipkit COMMAND --help') for usage.");
            return ExitUsage;
        }

        return parse.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
    }

    /// <summary>Runs a command body; user errors become a one-line message and exit code 2, never a stack trace.</summary>
    public static int Guard(TextWriter stderr, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (ChipKitInputException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return ExitUsage;
        }
    }
}
