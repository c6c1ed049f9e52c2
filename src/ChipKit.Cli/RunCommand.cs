using System.CommandLine;
using System.Globalization;
using ChipKit.Core;
using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;
using ChipKit.Harness.Devices;
using ChipKit.Harness.Reports;
using ChipKit.Harness.Results;
using ChipKit.Harness.Runner;
using ChipKit.Harness.Suites;

namespace ChipKit.Cli;

/// <summary>
/// `chipkit run`: runs a suite and/or inline workloads on devices, verifies every output, prints a table as results
/// arrive and saves the results file after every result (atomically), so an interrupted run keeps what it measured.
/// </summary>
internal static class RunCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var suite = new Option<string?>("--suite", "-s")
        {
            Description = "A built-in suite (quick, resnet50, resnet50-int8, deepbench, deepbench-gemm, deepbench-conv, deepbench-int8) or a suite file (CSV or JSON). Default: quick, unless --workload is given.",
            HelpName = "NAME|FILE",
        };
        var workload = new Option<string[]>("--workload", "-w")
        {
            Description = "An inline workload, repeatable: gemm:m=1000,n=1000,k=1000[,ta=1][,tb=1][,alpha=A][,beta=B] | conv:n=1,c=64,h=56,w=56,k=64,r=3,s=3,stride=1,pad=1[,groups=G][,dilation=D][,layout=nhwc][,bias=1] | qgemm:... / qconv:... (same keys plus dtype=u8|s8, wtype=u8|s8, out=q|i32, perchannel=1).",
            HelpName = "SPEC",
        };
        var device = new Option<string?>("--device", "-d") { Description = "Comma-separated device ids (see `chipkit devices`), or all. Default: every available device.", HelpName = "ID,..." };
        var threads = new Option<int>("--threads", "-t") { Description = "Threads of the CPU device and of ort's intra-op pool (0 = all cores).", DefaultValueFactory = _ => 0 };
        var minTime = new Option<string>("--min-time") { Description = "Measure each workload at least this long: 0.5s, 500ms, 2 (seconds).", DefaultValueFactory = _ => "0.5s", HelpName = "TIME" };
        var warmup = new Option<string>("--warmup") { Description = "Untimed runs before sampling, for at least this long (JIT tier-up, caches).", DefaultValueFactory = _ => "0.1s", HelpName = "TIME" };
        var minSamples = new Option<int>("--min-samples") { Description = "Take at least this many timing samples.", DefaultValueFactory = _ => 5 };
        var seed = new Option<int>("--seed") { Description = "Seed of the generated operands.", DefaultValueFactory = _ => 42 };
        var output = new Option<string?>("--out", "-o") { Description = "Results file to write. Default: results/chipkit-YYYYMMDD-HHMMSS.json.", HelpName = "FILE" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Do not print progress lines on stderr." };
        var kernels = new Option<string?>("--kernels") { Description = "OpenCL C sources to use instead of the built-in kernels/ (same layout and entry points: gemm/, conv/, quant/, tflite/, common/).", HelpName = "DIR" };
        var timeout = new Option<string>("--timeout") { Description = "Longest one workload may take on one device (10m, 90s); past it the result fails and the device is not used again. 0 = no limit.", DefaultValueFactory = _ => "10m", HelpName = "TIME" };
        var resume = new Option<string?>("--resume") { Description = "Continue an interrupted run: the results file it was writing. Runs what is missing, with the same workloads, devices and settings, and appends to that file.", HelpName = "FILE" };
        var memoryLimit = new Option<string?>("--memory-limit") { Description = "Refuse workloads needing more memory than this (bytes, or 512M, 8G). Default: half the memory available.", HelpName = "SIZE" };
        var declaredWatts = new Option<string[]>("--declared-watts") { Description = "A wattage to assume for a device without a meter, repeatable: DEVICE=W. The last resort: its energy figures are labelled declared, never measured.", HelpName = "DEVICE=W" };
        var powerDuration = new Option<string>("--power-duration") { Description = "Length of the steady-state loop energy is read over, for devices with a meter (RAPL) or a declared wattage.", DefaultValueFactory = _ => "10s", HelpName = "TIME" };
        var canary = new Option<bool>("--canary") { Description = "Time a fixed canary workload before every sample and record it (canary_seconds), so `chipkit gate --clock canary` can cancel a slowdown of the whole machine between runs." };
        var powerLog = new Option<string[]>("--power-log") { Description = "An external meter's log for a device, repeatable: DEVICE=FILE. CSV of timestamp,watts or timestamp,joules (cumulative); energy over each steady-state window is read from it after the window (source external). See docs/reports.md.", HelpName = "DEVICE=FILE" };
        var peakProbe = new Option<bool>("--peak") { Description = "Measure the cpu device's roofline ceilings first (fp32 FMA, int8 vpmaddwd, STREAM triad; a few seconds) and record them in the results file. npu devices always record their modeled ceilings." };
        var compare = new Option<string?>("--compare") { Description = "A device of --device to compare with (e.g. ort): adds a ratio column (gops / the peer's gops on the same workload) to the table and a compare object to each result.", HelpName = "PEER" };

        var cmd = new Command("run", "Run workloads on devices, verify every output against the oracle, and time them.")
        {
            suite, workload, device, threads, minTime, warmup, minSamples, seed, output, quiet, compare, kernels, timeout, resume, memoryLimit, declaredWatts, powerDuration, canary, powerLog, peakProbe,
        };
        cmd.SetAction(pr => CliApp.Guard(stderr, () =>
        {
            int t = pr.GetValue(threads);
            if (t < 0)
            {
                throw new ChipKitInputException($"--threads must be >= 0, got {t}");
            }

            int samples = pr.GetValue(minSamples);
            if (samples < 1)
            {
                throw new ChipKitInputException($"--min-samples must be >= 1, got {samples}");
            }

            if (pr.GetValue(memoryLimit) is string limit)
            {
                long bytes = Core.Platform.CpuInfo.ParseSize(limit);
                Core.Descriptors.Check.MemoryLimitBytes = bytes > 0 ? bytes : throw new ChipKitInputException($"--memory-limit '{limit}': expected a size such as 512M or 8G");
            }

            var options = new RunOptions
            {
                MinTimeSeconds = ParseTime(pr.GetValue(minTime)!, "--min-time"),
                WarmupSeconds = ParseTime(pr.GetValue(warmup)!, "--warmup"),
                TimeoutSeconds = ParseTime(pr.GetValue(timeout)!, "--timeout"),
                MinSamples = samples,
                Seed = pr.GetValue(seed),
                Canary = pr.GetValue(canary),
            };

            // Everything the user typed is checked before anything runs.
            string[] specs = pr.GetValue(workload) ?? [];
            string? suiteName = pr.GetValue(suite);
            string? deviceIds = pr.GetValue(device);
            ResultsDocument? resumed = null;
            if (pr.GetValue(resume) is string resumePath)
            {
                if (!File.Exists(resumePath))
                {
                    throw new ChipKitInputException($"--resume '{resumePath}': no such results file");
                }

                resumed = ResultsFile.Read(resumePath);
                if (resumed.Run.Workloads.Count == 0)
                {
                    throw new ChipKitInputException($"--resume '{resumePath}': $.run.workloads is empty, so the file does not say what the run was to do");
                }

                if (specs.Length > 0 || suiteName is not null || deviceIds is not null)
                {
                    throw new ChipKitInputException("--resume takes the workloads and devices from the file; do not give --suite, --workload or --device with it");
                }

                specs = [.. resumed.Run.Workloads];
                deviceIds = string.Join(',', resumed.Devices.Select(d => d.Id));
                options = options with { MinTimeSeconds = resumed.Run.MinTimeSeconds, WarmupSeconds = resumed.Run.WarmupSeconds, MinSamples = resumed.Run.MinSamples, Seed = resumed.Run.Seed };
                suiteName = resumed.Run.Suite;
            }

            var workloads = new List<Workload>();
            if (resumed is null && (suiteName is not null || specs.Length == 0))
            {
                workloads.AddRange(SuiteLoader.Load(suiteName ?? "quick").Workloads);
            }

            workloads.AddRange(specs.Select(WorkloadSpec.Parse));
            IReadOnlyList<IDevice> devices = Backends.Registry.Open(deviceIds, new DeviceOptions(t, KernelsDir: pr.GetValue(kernels)));
            options = WithMeters(options, devices, pr.GetValue(declaredWatts) ?? [], ParseTime(pr.GetValue(powerDuration)!, "--power-duration"), stderr, pr.GetValue(powerLog) ?? []);
            string outPath = pr.GetValue(resume) ?? pr.GetValue(output) ?? Path.Combine("results", $"chipkit-{DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}.json");
            string[] tokens = [.. pr.Tokens.Select(x => x.Value)];

            try
            {
                string? peer = pr.GetValue(compare);
                if (peer is not null && !devices.Any(d => d.Info.Id == peer))
                {
                    throw new ChipKitInputException($"--compare '{peer}': not one of the devices of this run ({string.Join(", ", devices.Select(d => d.Info.Id))}); add it to --device");
                }

                return Execute(workloads, devices, options, outPath, suiteName ?? (specs.Length == 0 ? "quick" : null), t, pr.GetValue(quiet), stdout, stderr, peer, resumed, tokens, pr.GetValue(peakProbe));
            }
            finally
            {
                foreach (IDevice d in devices)
                {
                    d.Dispose();
                }
            }
        }));
        return cmd;
    }

    private static int Execute(List<Workload> workloads, IReadOnlyList<IDevice> devices, RunOptions options, string outPath, string? suiteName, int threads, bool quiet, TextWriter stdout, TextWriter stderr, string? peer, ResultsDocument? resumed, string[] tokens, bool probePeak = false)
    {
        var doc = resumed ?? new ResultsDocument
        {
            Created = DateTimeOffset.UtcNow,
            Chipkit = MachineProbe.Tool(),
            Machine = MachineProbe.Machine(),
            Run = new RunRecord
            {
                Suite = suiteName,
                MinTimeSeconds = options.MinTimeSeconds,
                WarmupSeconds = options.WarmupSeconds,
                MinSamples = options.MinSamples,
                Seed = options.Seed,
                Threads = threads == 0 ? Environment.ProcessorCount : threads,
                Args = ["run", .. tokens],
                Workloads = [.. workloads.Select(w => w.Spec)],
            },
            Devices = devices.Select(d => new DeviceRecord
            {
                Id = d.Info.Id, Backend = d.Info.Backend, Name = d.Info.Name, Available = d.Info.Available, Reason = d.Info.Reason,
                Properties = d.Info.Properties.ToDictionary(p => p.Key, p => p.Value),
            }).ToList(),
        };
        DevicePeaks.Attach(doc, devices, probePeak, threads, stderr);
        ResultsFile.WriteAtomic(outPath, doc);

        int workloadWidth = Math.Min(workloads.Max(w => w.Spec.Length), 72);
        int[] widths = peer is null ? ResultTable.LiveWidths(workloadWidth) : ResultTable.LiveWidthsWithRatio(workloadWidth);
        stdout.WriteLine(ResultTable.FormatRow(peer is null ? ResultTable.Columns : ResultTable.ColumnsWithRatio, widths));
        stdout.WriteLine(ResultTable.FormatRow(widths.Select(w => new string('-', w)).ToArray(), widths));

        var runner = new BenchmarkRunner(options);
        if (!quiet)
        {
            runner.Progress += p => stderr.WriteLine($"[{p.Index}/{p.Total}] {p.Workload} on {p.Device} ...");
        }

        // A resumed run skips what the file already has; each workload then expects only its missing devices.
        HashSet<(string Workload, string Device)>? completed = resumed?.Results.Select(r => (r.Workload, r.Device)).ToHashSet();
        if (completed is not null)
        {
            stderr.WriteLine($"resuming {outPath}: {completed.Count} results kept, {(workloads.Count * devices.Count) - completed.Count} to run");
        }

        int Expected(string spec) => devices.Count(d => completed is null || !completed.Contains((spec, d.Info.Id)));
        var pending = new List<ResultRecord>();
        runner.ResultReady += r =>
        {
            doc.Results.Add(r);
            ResultsFile.WriteAtomic(outPath, doc);
            if (peer is null)
            {
                stdout.WriteLine(ResultTable.FormatRow(ResultTable.Cells(r), widths));
                if (ModelLine(r) is string line)
                {
                    stdout.WriteLine(line);
                }

                return;
            }

            // With --compare, a workload's rows are printed once all its devices (the peer included) have a result.
            pending.Add(r);
            if (pending.Count == Expected(r.Workload))
            {
                AddComparison(pending, peer);
                ResultsFile.WriteAtomic(outPath, doc);
                foreach (ResultRecord x in pending)
                {
                    stdout.WriteLine(ResultTable.FormatRow(ResultTable.CellsWithRatio(x), widths));
                    if (ModelLine(x) is string line)
                    {
                        stdout.WriteLine(line);
                    }
                }

                pending.Clear();
            }
        };
        runner.Run(workloads, devices, completed);

        stdout.WriteLine();
        stdout.WriteLine(ResultTable.Summary(doc.Results));
        stdout.WriteLine($"results: {outPath}");
        return doc.Results.Any(r => r.Status == "failed") ? CliApp.ExitFailed : CliApp.ExitOk;
    }

    /// <summary>A whole-network result's latency (p50 / p90 of the samples), inferences per second and energy per inference.</summary>
    internal static string? ModelLine(ResultRecord r)
    {
        if (r.Op != "model" || r.Status != "ok" || r.Seconds is not { } sec)
        {
            return null;
        }

        var ci = CultureInfo.InvariantCulture;
        string source = r.TimeSource == "modeled" ? "modeled" : $"{r.TimeSource}, {sec.Samples.Count} samples of {sec.RunsPerSample} inferences";
        string energy = r.Energy.Joules is double j ? $", {(j * 1e6).ToString("G4", ci)} uJ/inference ({r.Energy.Source})" : "";
        return $"    latency p50 {(sec.Median * 1e3).ToString("0.0000", ci)} ms, p90 {((sec.P90 ?? sec.Max) * 1e3).ToString("0.0000", ci)} ms ({source}), " +
            $"{(1 / sec.Median).ToString("0.#", ci)} inferences/s{energy}";
    }

    /// <summary>
    /// Energy meters for this run: RAPL for the cpu device where the kernel exposes powercap, then declared wattages
    /// (--declared-watts ID=W) for devices that have no meter. A device with neither records energy source "none".
    /// </summary>
    private static RunOptions WithMeters(RunOptions options, IReadOnlyList<IDevice> devices, string[] declared, double powerSeconds, TextWriter stderr, string[] powerLogs)
    {
        var meters = new Dictionary<string, Harness.Power.IEnergyMeter>(StringComparer.Ordinal);
        (Harness.Power.RaplMeter? rapl, string? reason) = Harness.Power.RaplMeter.Open();
        if (rapl is not null && devices.Any(d => d.Info.Id == "cpu"))
        {
            meters["cpu"] = rapl;
        }

        // NVIDIA GPUs through ILGPU: NVML's energy counter (or integrated power) of GPU N for ilgpu-cuda:N.
        foreach (IDevice d in devices.Where(d => d.Info.Id.StartsWith("ilgpu-cuda:", StringComparison.Ordinal) && d.Info.Available))
        {
            if (int.TryParse(d.Info.Id["ilgpu-cuda:".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out int gpu))
            {
                (Harness.Power.NvmlMeter? nvml, string? why) = Harness.Power.NvmlMeter.Open(gpu);
                if (nvml is not null)
                {
                    meters[d.Info.Id] = nvml;
                }
                else
                {
                    stderr.WriteLine($"note: no NVML energy meter for {d.Info.Id}: {why}");
                }
            }
        }

        // --power-log DEVICE=FILE: an external meter's log; it replaces RAPL for that device (the user asked for it).
        foreach (string item in powerLogs)
        {
            int eq = item.IndexOf('=', StringComparison.Ordinal);
            string id = eq > 0 ? item[..eq].Trim() : "";
            string file = eq > 0 ? item[(eq + 1)..].Trim() : "";
            if (id.Length == 0 || file.Length == 0)
            {
                throw new ChipKitInputException($"--power-log '{item}': expected DEVICE=FILE, e.g. cpu=wall-meter.csv");
            }

            if (!devices.Any(d => d.Info.Id == id))
            {
                throw new ChipKitInputException($"--power-log '{item}': device '{id}' is not one of this run's devices ({string.Join(", ", devices.Select(d => d.Info.Id))})");
            }

            if (!File.Exists(file))
            {
                throw new ChipKitInputException($"--power-log '{item}': no such file '{file}' (start the logger before the run)");
            }

            Harness.Power.ExternalLogMeter.Read(file); // a malformed log is bad input now, not a failed result later
            meters[id] = new Harness.Power.ExternalLogMeter(file);
        }

        foreach (string item in declared)
        {
            int eq = item.IndexOf('=', StringComparison.Ordinal);
            string id = eq > 0 ? item[..eq].Trim() : "";
            if (eq <= 0 || !double.TryParse(item[(eq + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out double watts) || !double.IsFinite(watts) || watts <= 0)
            {
                throw new ChipKitInputException($"--declared-watts '{item}': expected DEVICE=W with a positive wattage, e.g. cpu=65");
            }

            if (!devices.Any(d => d.Info.Id == id))
            {
                throw new ChipKitInputException($"--declared-watts '{item}': device '{id}' is not one of this run's devices ({string.Join(", ", devices.Select(d => d.Info.Id))})");
            }

            if (meters.TryGetValue(id, out Harness.Power.IEnergyMeter? existing))
            {
                stderr.WriteLine($"note: {id} has a measuring meter ({existing.Source}); --declared-watts for it is ignored");
                continue;
            }

            meters[id] = new Harness.Power.DeclaredMeter(watts);
        }

        return options with
        {
            Meters = meters,
            PowerDurationSeconds = powerSeconds,
            NoMeterNote = reason is null ? "no energy meter for this device" : $"no energy meter: {reason}",
        };
    }

    /// <summary>Gives every non-peer result of one workload its <c>compare</c> record against the peer's result.</summary>
    internal static void AddComparison(IReadOnlyList<ResultRecord> sameWorkload, string peer)
    {
        ResultRecord? p = sameWorkload.FirstOrDefault(x => x.Device == peer);
        if (p is null)
        {
            return;
        }

        foreach (ResultRecord x in sameWorkload.Where(x => x.Device != peer))
        {
            bool both = x.Gops is > 0 && p.Gops is > 0;
            x.Compare = new CompareRecord
            {
                Peer = peer,
                PeerStatus = p.Status,
                PeerGops = p.Gops,
                Ratio = both ? x.Gops!.Value / p.Gops!.Value : null,
            };
        }
    }

    /// <summary>Parses "0.5s", "500ms", "2" (seconds).</summary>
    public static double ParseTime(string text, string option)
    {
        string s = text.Trim().ToLowerInvariant();
        double mult = 1;
        if (s.EndsWith("ms", StringComparison.Ordinal))
        {
            mult = 1e-3;
            s = s[..^2];
        }
        else if (s.EndsWith('m'))
        {
            mult = 60;
            s = s[..^1];
        }
        else if (s.EndsWith('s'))
        {
            s = s[..^1];
        }

        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v) || v < 0)
        {
            throw new ChipKitInputException($"{option} '{text}': expected a non-negative duration such as 0.5s, 500ms, 2 or 10m");
        }

        return v * mult;
    }
}
