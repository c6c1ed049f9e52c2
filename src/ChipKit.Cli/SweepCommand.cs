using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using ChipKit.Accel;
using ChipKit.Core;
using ChipKit.Core.Workloads;
using ChipKit.Harness.Suites;

namespace ChipKit.Cli;

/// <summary>
/// `chipkit sweep --space FILE (--suite S | --workload SPEC... | --topology CSV [--gemm]) --out DIR [--shard i/N]`:
/// evaluates every design point of a space (array shapes x dataflows x SRAM sizes x operating points) with the modeled
/// accelerator's cycle and energy model, and writes every point plus the Pareto front (latency vs energy per inference).
/// </summary>
internal static class SweepCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var space = new Option<string>("--space") { Description = "Design-space JSON: {\"module\", \"arrays\": [\"16x16\", ...], \"dataflows\": [\"os\", ...], \"sram_kib\": [[ifmap, filter, ofmap], ...], \"operating_points\": [...]}.", HelpName = "FILE", Required = true };
        var module = new Option<string?>("--module", "-m") { Description = "Base module (built-in name or module JSON); overrides the space file's \"module\".", HelpName = "NAME|FILE" };
        var suite = new Option<string?>("--suite", "-s") { Description = "A built-in suite or suite file: one inference = every workload once.", HelpName = "NAME|FILE" };
        var workload = new Option<string[]>("--workload", "-w") { Description = "Inline workloads (repeatable), as for `chipkit run`.", HelpName = "SPEC" };
        var topology = new Option<string?>("--topology", "-t") { Description = "A SCALE-Sim topology CSV instead (layers modeled as int8).", HelpName = "FILE" };
        var gemm = new Option<bool>("--gemm") { Description = "The topology is in GEMM form (Layer, M, N, K)." };
        var shard = new Option<string?>("--shard") { Description = "Evaluate only points with index % N == i (0 <= i < N), for job arrays; combine with `chipkit merge`.", HelpName = "i/N" };
        var threads = new Option<int>("--threads") { Description = "Worker threads (0 = all cores).", DefaultValueFactory = _ => 0 };
        var outDir = new Option<string>("--out", "-o") { Description = "Output directory: sweep.json, points.csv, pareto.csv.", HelpName = "DIR", Required = true };
        var cmd = new Command("sweep", "Sweep a modeled accelerator's design space over a workload list; every point plus the latency/energy Pareto front.")
        {
            space, module, suite, workload, topology, gemm, shard, threads, outDir,
        };
        cmd.SetAction(pr => CliApp.Guard(stderr, () =>
        {
            (int, int) sh = Sweeper.ParseShard(pr.GetValue(shard));
            if (pr.GetValue(threads) < 0)
            {
                throw new ChipKitInputException($"--threads must be >= 0, got {pr.GetValue(threads)}");
            }

            SweepSpace sp = SweepSpace.Load(pr.GetValue(space)!, pr.GetValue(module));
            var work = new List<(string, NpuCost)>();
            string? topo = pr.GetValue(topology);
            string? s = pr.GetValue(suite);
            string[] inline = pr.GetValue(workload) ?? [];
            if (topo is not null)
            {
                foreach (Layer l in ScaleSimTopology.Load(topo, pr.GetValue(gemm)))
                {
                    work.Add((l.Name, new NpuCost(l, 1, MacType.Int8, new WordSizes(1, 1, 4, 1))));
                }
            }

            var workloads = new List<Workload>();
            if (s is not null)
            {
                workloads.AddRange(SuiteLoader.Load(s).Workloads);
            }

            workloads.AddRange(inline.Select(WorkloadSpec.Parse));
            foreach (Workload w in workloads)
            {
                NpuCost plan = NpuCost.Plan(w) ?? throw new ChipKitInputException($"workload {w.Spec}: no accelerator mapping for op {w.Op}");
                work.Add((w.Spec, plan));
            }

            if (work.Count == 0)
            {
                throw new ChipKitInputException("sweep: give --suite, --workload or --topology");
            }

            var sw = Stopwatch.StartNew();
            SweepResult r = Sweeper.Run(sp, work, sh, pr.GetValue(threads));
            sw.Stop();
            string dir = pr.GetValue(outDir)!;
            r.Write(dir);
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Points.Count} of {sp.Count} design points (shard {r.Shards[0]}) x {work.Count} workloads in {sw.Elapsed.TotalSeconds:0.###} s (modeled, not measured)"));
            stdout.WriteLine("Pareto front (latency vs energy per inference):");
            stdout.WriteLine($"{"index",6} {"array",9} {"df",3} {"sram_kib",16} {"point",8} {"latency_ms",11} {"energy_mJ",10} {"TOPS/W",7}");
            foreach (SweepPoint p in r.Points.Where(p => p.Pareto).OrderBy(p => p.LatencySeconds))
            {
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{p.Index,6} {p.Rows + "x" + p.Cols,9} {p.Dataflow,3} {$"{p.IfmapKib}/{p.FilterKib}/{p.OfmapKib}",16} {p.OperatingPoint,8} {p.LatencySeconds * 1e3,11:0.####} {p.EnergyJoules * 1e3,10:0.####} {p.TopsPerWatt,7:0.###}"));
            }

            stdout.WriteLine($"wrote {Path.Combine(dir, "sweep.json")}, points.csv, pareto.csv");
            return CliApp.ExitOk;
        }));
        return cmd;
    }
}
