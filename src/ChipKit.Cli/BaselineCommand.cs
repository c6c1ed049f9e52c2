using System.CommandLine;
using System.Globalization;
using ChipKit.Core;
using ChipKit.Harness.Gate;
using ChipKit.Harness.Results;

namespace ChipKit.Cli;

/// <summary>`chipkit baseline save FILE [--name SUITE] [--dir DIR]` and `chipkit baseline show [--dir DIR]`.</summary>
internal static class BaselineCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var file = new Argument<string>("file") { Description = "A results file written by `chipkit run` (every result verified or skipped)." };
        var name = new Option<string?>("--name") { Description = "Suite name to store it under (default: the file's run.suite, or custom).", HelpName = "SUITE" };
        var saveDir = new Option<string>("--dir") { Description = "Baseline directory.", DefaultValueFactory = _ => BaselineStore.DefaultDirectory, HelpName = "DIR" };
        var save = new Command("save", "Store a results file as the baseline for its machine fingerprint and suite.") { file, name, saveDir };
        save.SetAction(pr => CliApp.Guard(stderr, () =>
        {
            string path = pr.GetValue(file)!;
            if (!File.Exists(path))
            {
                throw new ChipKitInputException($"results file '{path}': no such file");
            }

            BaselineEntry e = new BaselineStore(pr.GetValue(saveDir)!).Save(path, pr.GetValue(name) is string n ? BaselineStore.CheckName(n, "--name") : null);
            stdout.WriteLine($"saved {e.Path}: suite {e.Suite}, {e.Results} ok results, machine {e.FingerprintId} ({e.Machine})");
            return CliApp.ExitOk;
        }));

        var showDir = new Option<string>("--dir") { Description = "Baseline directory.", DefaultValueFactory = _ => BaselineStore.DefaultDirectory, HelpName = "DIR" };
        var show = new Command("show", "List the stored baselines; * marks those of this machine.") { showDir };
        show.SetAction(pr => CliApp.Guard(stderr, () =>
        {
            var store = new BaselineStore(pr.GetValue(showDir)!);
            List<BaselineEntry> list = store.List();
            string here = MachineFingerprint.From(MachineProbe.Machine()).Id;
            if (list.Count == 0)
            {
                stdout.WriteLine($"no baselines in '{store.Directory}' (this machine: {here}); `chipkit baseline save FILE` stores one");
                return CliApp.ExitOk;
            }

            stdout.WriteLine($"baselines in '{store.Directory}' (this machine: {here}):");
            foreach (IGrouping<string, BaselineEntry> g in list.GroupBy(e => e.FingerprintId))
            {
                stdout.WriteLine($"{(g.Key == here ? "*" : " ")} {g.Key}  {g.First().Machine}");
                foreach (BaselineEntry e in g)
                {
                    stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    {e.Suite,-16} {e.Results,4} results  created {e.Created:u}  commit {e.Commit ?? "unknown"}  {e.Path}"));
                }
            }

            return CliApp.ExitOk;
        }));

        return new Command("baseline", "Keep baselines per machine fingerprint and suite for `chipkit gate`.") { save, show };
    }
}
