using System.CommandLine;
using ChipKit.Harness.Suites;

namespace ChipKit.Cli;

/// <summary>`chipkit suites [NAME|FILE]`: lists the built-in suites, or the workloads of one suite.</summary>
internal static class SuitesCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var name = new Argument<string?>("suite") { Description = "A built-in suite name or a suite file; omit to list the built-in suites.", Arity = ArgumentArity.ZeroOrOne };
        var cmd = new Command("suites", "List the built-in suites, or the workloads of one suite.") { name };
        cmd.SetAction(pr => CliApp.Guard(stderr, () =>
        {
            string? n = pr.GetValue(name);
            if (n is null)
            {
                foreach (KeyValuePair<string, string> s in SuiteLoader.BuiltIn)
                {
                    stdout.WriteLine($"{s.Key,-16} {s.Value}");
                }

                return CliApp.ExitOk;
            }

            Suite suite = SuiteLoader.Load(n);
            foreach (Core.Workloads.Workload w in suite.Workloads)
            {
                stdout.WriteLine($"{w.Spec}    ({w.Ops / 1e9:0.###} GOP)");
            }

            return CliApp.ExitOk;
        }));
        return cmd;
    }
}
