using System.CommandLine;
using System.Globalization;
using ChipKit.Accel;
using ChipKit.Core;

namespace ChipKit.Cli;

/// <summary>
/// `chipkit sim --scalesim-config FILE.cfg --topology FILE.csv [--gemm] [--out DIR]`: runs a SCALE-Sim v2 config and
/// topology through ChipKit's systolic model (cycles equal to SCALE-Sim's compute model) and energy model, and writes
/// compute_report.csv, access_report.csv, bandwidth_report.csv and energy_report.csv to DIR.
/// `chipkit sim --module M --topology FILE.csv`: the same topology on a module as the `npu:` device models it (the
/// module's array, SRAM and DRAM bandwidth; all DRAM traffic timed), with inferences per second of the whole topology.
/// </summary>
internal static class SimCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var config = new Option<string?>("--scalesim-config", "-c") { Description = "SCALE-Sim v2 config (.cfg): array, SRAM sizes, dataflow, InterfaceBandwidth CALC|USER, Bandwidth. Without it the module's own array, SRAM sizes and DRAM bandwidth are modeled.", HelpName = "FILE" };
        var topology = new Option<string>("--topology", "-t") { Description = "SCALE-Sim v2 topology CSV (conv form, or M,N,K with --gemm).", HelpName = "FILE", Required = true };
        var gemm = new Option<bool>("--gemm") { Description = "The topology is in GEMM form: Layer, M, N, K." };
        var module = new Option<string>("--module", "-m") { Description = "Module (built-in name or module JSON). With --scalesim-config only its energy table and operating points are used; without, the whole module is modeled.", DefaultValueFactory = _ => "edge-int8-16x16", HelpName = "NAME|FILE" };
        var point = new Option<string?>("--point") { Description = "Operating point of the module (default: nominal).", HelpName = "NAME" };
        var outDir = new Option<string?>("--out", "-o") { Description = "Directory for compute_report.csv, access_report.csv, bandwidth_report.csv and energy_report.csv (none written without it).", HelpName = "DIR" };
        var cmd = new Command("sim", "Model a topology on a SCALE-Sim v2 config (cycles equal to SCALE-Sim's compute model) or on a module: per-layer cycles, traffic, energy, inferences/s.")
        {
            config, topology, gemm, module, point, outDir,
        };
        cmd.SetAction(pr => CliApp.Guard(stderr, () =>
        {
            string? cfgPath = pr.GetValue(config);
            ScaleSimConfig? cfg = cfgPath is null ? null : ScaleSimConfig.Load(cfgPath);
            IReadOnlyList<Layer> layers = ScaleSimTopology.Load(pr.GetValue(topology)!, pr.GetValue(gemm));
            ModuleSpec m;
            try
            {
                m = ModuleLoader.Resolve(pr.GetValue(module)!);
            }
            catch (ChipKitInputException e)
            {
                throw new ChipKitInputException($"--module: {e.Message}", e);
            }

            ScaleSimRun run = cfg is null ? ScaleSimRun.ForModule(layers, m, pr.GetValue(point)) : new ScaleSimRun(cfg, layers, m, pr.GetValue(point));
            string? dir = pr.GetValue(outDir);
            if (dir is not null)
            {
                try
                {
                    Directory.CreateDirectory(dir);
                    File.WriteAllText(Path.Combine(dir, "compute_report.csv"), run.ComputeReport());
                    File.WriteAllText(Path.Combine(dir, "access_report.csv"), run.AccessReport());
                    File.WriteAllText(Path.Combine(dir, "bandwidth_report.csv"), run.BandwidthReport());
                    File.WriteAllText(Path.Combine(dir, "energy_report.csv"), run.EnergyReport());
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new ChipKitInputException($"--out '{dir}': cannot write the reports: {e.Message}", e);
                }
            }

            var inv = CultureInfo.InvariantCulture;
            stdout.WriteLine(string.Create(inv, $"{run.RunName}: {run.Module.Rows}x{run.Module.Cols} {run.Module.Dataflow.ToString().ToLowerInvariant()}, " +
                $"SRAM {run.Module.SramKib.Ifmap}+{run.Module.SramKib.Filter}+{run.Module.SramKib.Ofmap} KiB, DRAM {run.Bandwidth}, energy table {m.Name} at {run.Point.Name} ({run.Point.Volts} V, {run.Point.Mhz} MHz)"));
            stdout.WriteLine($"{"layer",-24} {"cycles",12} {"stalls",10} {"util_%",8} {"map_eff_%",9} {"energy_uJ",10}");
            foreach (LayerCost l in run.Layers)
            {
                stdout.WriteLine(string.Create(inv, $"{l.Layer.Name,-24} {l.TotalCycles,12} {l.StallCycles,10} {(double)(l.Layer.Macs * 100) / (l.TotalCycles * (long)run.Module.Rows * run.Module.Cols),8:0.00} {l.Compute.MappingEfficiencyPct,9:0.00} {l.Joules * 1e6,10:0.###}"));
            }

            double joules = run.Layers.Sum(l => l.Joules);
            long macs = run.Layers.Sum(l => l.Layer.Macs);
            stdout.WriteLine(string.Create(inv,
                $"total (modeled): {run.TotalCycles} cycles, {run.TotalSeconds * 1e3:0.###} ms = {1 / run.TotalSeconds:0.##} inferences/s at {run.Point.Mhz} MHz, " +
                $"{joules * 1e3:0.###} mJ per inference, {2.0 * macs / joules / 1e12:0.###} TOPS/W, utilisation {100.0 * macs / ((double)run.TotalCycles * run.Module.Rows * run.Module.Cols):0.#} %"));
            if (dir is not null)
            {
                stdout.WriteLine($"wrote {Path.Combine(dir, "compute_report.csv")}, access_report.csv, bandwidth_report.csv, energy_report.csv");
            }

            return CliApp.ExitOk;
        }));
        return cmd;
    }
}
