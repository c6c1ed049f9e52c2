using System.CommandLine;
using ChipKit.Accel;

namespace ChipKit.Cli;

/// <summary>`chipkit merge DIR... --out DIR`: combines `chipkit sweep --shard` outputs into one result with one Pareto front.</summary>
internal static class MergeCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var inputs = new Argument<string[]>("inputs") { Description = "Shard output directories (or their sweep.json files).", Arity = ArgumentArity.OneOrMore };
        var outDir = new Option<string>("--out", "-o") { Description = "Output directory for the merged sweep.json, points.csv, pareto.csv.", HelpName = "DIR", Required = true };
        var cmd = new Command("merge", "Merge `chipkit sweep --shard` outputs of one design space; the Pareto front is recomputed over all points.") { inputs, outDir };
        cmd.SetAction(pr => CliApp.Guard(stderr, () =>
        {
            string[] ins = pr.GetValue(inputs)!;
            SweepResult merged = SweepResult.Merge(ins.Select(i => (i, SweepResult.Read(i))).ToList());
            merged.Write(pr.GetValue(outDir)!);
            long missing = merged.SpacePoints - merged.Points.Count;
            stdout.WriteLine($"merged {ins.Length} inputs: {merged.Points.Count} of {merged.SpacePoints} design points, {merged.Points.Count(p => p.Pareto)} on the Pareto front");
            if (missing > 0)
            {
                stderr.WriteLine($"warning: {missing} design points are in no input (a shard is missing)");
            }

            return CliApp.ExitOk;
        }));
        return cmd;
    }
}
