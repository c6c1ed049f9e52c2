using System.Diagnostics;
using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;
using ChipKit.Harness.Results;

namespace ChipKit.Harness.Runner;

/// <summary>
/// Runs every workload on every device: prepare once, run once and verify against the oracle, then time
/// repeated runs until the minimum time and sample count are reached, then verify the output of a final run again.
/// A wrong answer is a failed result and is never timed. An exception is that result's failure; the run goes on.
/// </summary>
public sealed class BenchmarkRunner(RunOptions options)
{
    public RunOptions Options { get; } = options;

    /// <summary>Raised before each workload x device step.</summary>
    public event Action<RunProgress>? Progress;

    /// <summary>Raised as each result completes (the CLI prints it and saves the file).</summary>
    public event Action<ResultRecord>? ResultReady;

    /// <summary>
    /// Runs every workload on every device, except the (workload spec, device id) pairs in <paramref name="completed"/>
    /// (a resumed run: those results are already in the file).
    /// </summary>
    public List<ResultRecord> Run(IReadOnlyList<Workload> workloads, IReadOnlyList<IDevice> devices, IReadOnlySet<(string Workload, string Device)>? completed = null)
    {
        var results = new List<ResultRecord>();
        var hung = new Dictionary<string, string>(StringComparer.Ordinal);
        int total = workloads.Count * devices.Count, index = 0;
        foreach (Workload w in workloads)
        {
            if (completed is not null && devices.All(d => completed.Contains((w.Spec, d.Info.Id))))
            {
                index += devices.Count;
                continue;
            }

            OpData data = w.CreateData(Options.Seed);
            Expected? expected = null;
            string? referenceError = null;
            foreach (IDevice device in devices)
            {
                index++;
                if (completed is not null && completed.Contains((w.Spec, device.Info.Id)))
                {
                    continue;
                }

                if (hung.TryGetValue(device.Info.Id, out string? hungOn))
                {
                    ResultRecord skipped = NewRecord(w, device, "failed", $"not run: {hungOn}");
                    results.Add(skipped);
                    ResultReady?.Invoke(skipped);
                    continue;
                }

                Progress?.Invoke(new RunProgress(index, total, w.Spec, device.Info.Id, "running"));
                if (expected is null && referenceError is null)
                {
                    try
                    {
                        expected = w.ComputeReference(data);
                    }
                    catch (Exception e)
                    {
                        referenceError = $"the oracle failed: {e.GetType().Name}: {e.Message}";
                    }
                }

                ResultRecord r = referenceError is not null
                    ? NewRecord(w, device, "failed", referenceError)
                    : RunWithTimeout(w, device, data, expected!);
                if (r.Message?.StartsWith("timed out", StringComparison.Ordinal) == true)
                {
                    hung[device.Info.Id] = $"the device timed out on {w.Spec} earlier in this run";

                    // The abandoned kernel may still write into these operands: the next device gets fresh ones.
                    data = w.CreateData(Options.Seed);
                }
                else if (r.Message?.StartsWith(DeviceLostPrefix, StringComparison.Ordinal) == true)
                {
                    hung[device.Info.Id] = $"the device was lost on {w.Spec} earlier in this run";
                }

                results.Add(r);
                ResultReady?.Invoke(r);
            }
        }

        return results;
    }

    private static ResultRecord NewRecord(Workload w, IDevice device, string status, string? message) => new()
    {
        Workload = w.Spec,
        Op = w.Op,
        Params = w.Params.ToDictionary(p => p.Key, p => p.Value),
        Device = device.Info.Id,
        Status = status,
        Message = message,
        Ops = w.Ops,
        TimeSource = device.TimeSource switch
        {
            TimeSource.DeviceEvents => "device-events",
            TimeSource.Modeled => "modeled",
            _ => "wall",
        },
        Energy = new EnergyRecord { Source = "none", Note = "no energy meter was used" },
    };

    private readonly Dictionary<Power.IEnergyMeter, double> _idleWatts = [];

    /// <summary>
    /// Energy over a steady-state loop of at least <see cref="RunOptions.PowerDurationSeconds"/>, read from the meter's
    /// counter (not instantaneous power). Too little energy for the meter to resolve gives no per-watt figure, with the reason.
    /// </summary>
    private EnergyRecord MeasureEnergy(IKernel kernel, Power.IEnergyMeter meter, Workload w)
    {
        if (meter is Power.IWindowedEnergyMeter windowed)
        {
            return MeasureWindowedEnergy(kernel, windowed, w);
        }

        // Idle power of the metered domain, once per meter; a declared wattage has no idle figure.
        double? idle = null;
        if (meter.Source != "declared")
        {
            if (!_idleWatts.TryGetValue(meter, out double measured))
            {
                double i0 = meter.ReadJoules();
                long it = Stopwatch.GetTimestamp();
                Thread.Sleep(TimeSpan.FromSeconds(Options.IdleSeconds));
                measured = (meter.ReadJoules() - i0) / Stopwatch.GetElapsedTime(it).TotalSeconds;
                _idleWatts[meter] = measured;
            }

            idle = measured;
        }

        double e0 = meter.ReadJoules();
        DateTimeOffset windowStart = DateTimeOffset.UtcNow;
        (long runs, double seconds) = SteadyLoop(kernel);
        double joules = meter.ReadJoules() - e0;
        var e = new EnergyRecord
        {
            Source = meter.Source,
            IdleWatts = idle,
            LoopSeconds = seconds,
            ResolutionJoules = meter.ResolutionJoules,
            WindowStart = windowStart,
            WindowEnd = windowStart + TimeSpan.FromSeconds(seconds),
            Note = meter.Source == "declared" ? $"{meter.Description}: declared by the user, not measured" : meter.Description,
        };
        if (meter.ResolutionJoules > 0 && joules < 1000 * meter.ResolutionJoules)
        {
            e.Note = $"{meter.Description}: {joules:G3} J over {seconds:0.###} s is too little for the meter's {meter.ResolutionJoules:G3} J resolution; no per-watt figure";
            return e;
        }

        double watts = joules / seconds;
        e.Joules = joules / runs;
        e.Watts = watts;
        e.GopsPerWatt = watts > 0 ? w.Ops * runs / seconds / 1e9 / watts : null;
        return e;
    }

    /// <summary>The steady-state energy loop: back-to-back runs for at least <see cref="RunOptions.PowerDurationSeconds"/>.</summary>
    private (long Runs, double Seconds) SteadyLoop(IKernel kernel)
    {
        long t0 = Stopwatch.GetTimestamp();
        long runs = 0;
        do
        {
            kernel.Run();
            runs++;
        }
        while (Stopwatch.GetElapsedTime(t0).TotalSeconds < Options.PowerDurationSeconds);

        return (runs, Stopwatch.GetElapsedTime(t0).TotalSeconds);
    }

    /// <summary>
    /// Energy of a timestamped external log (<see cref="Power.IWindowedEnergyMeter"/>): the steady-state loop's UTC
    /// start and end are recorded, and the log is read once the loop has ended, for exactly that window. Idle power is
    /// the log's average over an idle window before the first loop. A log that does not cover a window gives no figure,
    /// with the reason.
    /// </summary>
    private EnergyRecord MeasureWindowedEnergy(IKernel kernel, Power.IWindowedEnergyMeter meter, Workload w)
    {
        if (!_idleWatts.ContainsKey(meter))
        {
            DateTimeOffset i0 = DateTimeOffset.UtcNow;
            Thread.Sleep(TimeSpan.FromSeconds(Options.IdleSeconds));
            DateTimeOffset i1 = DateTimeOffset.UtcNow;
            Power.WindowEnergy idle = meter.MeasureWindow(i0, i1);
            _idleWatts[meter] = idle.Joules is double ij ? ij / (i1 - i0).TotalSeconds : double.NaN;
        }

        DateTimeOffset start = DateTimeOffset.UtcNow;
        (long runs, double seconds) = SteadyLoop(kernel);
        DateTimeOffset end = start + TimeSpan.FromSeconds(seconds);
        Power.WindowEnergy window = meter.MeasureWindow(start, end);
        double idleWatts = _idleWatts[meter];
        var e = new EnergyRecord
        {
            Source = meter.Source,
            IdleWatts = double.IsFinite(idleWatts) ? idleWatts : null,
            LoopSeconds = seconds,
            ResolutionJoules = meter.ResolutionJoules,
            WindowStart = start,
            WindowEnd = end,
            Note = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{meter.Description}: {window.Samples} samples in the window"),
        };
        if (window.Joules is not double joules)
        {
            e.Note = $"{meter.Description}: no figure: {window.Reason}";
            return e;
        }

        // Average power over the window the log was integrated over: the window is the loop's length rounded to
        // DateTimeOffset ticks, so dividing by the loop's own seconds would be off by up to a tick.
        double watts = joules / (end - start).TotalSeconds;
        e.Joules = watts * seconds / runs;
        e.Watts = watts;
        e.GopsPerWatt = watts > 0 ? w.Ops * runs / seconds / 1e9 / watts : null;
        return e;
    }

    /// <summary>
    /// <see cref="RunOne"/> on a background thread, abandoned after <see cref="RunOptions.TimeoutSeconds"/>: a hung
    /// kernel becomes a failed result instead of a hung run.
    /// </summary>
    private ResultRecord RunWithTimeout(Workload w, IDevice device, OpData data, Expected expected)
    {
        if (Options.TimeoutSeconds <= 0)
        {
            return RunOne(w, device, data, expected);
        }

        ResultRecord? result = null;
        var worker = new Thread(() => result = RunOne(w, device, data, expected)) { IsBackground = true, Name = $"chipkit {device.Info.Id}" };
        worker.Start();
        if (worker.Join(TimeSpan.FromSeconds(Options.TimeoutSeconds)))
        {
            return result!;
        }

        return NewRecord(w, device, "failed",
            $"timed out after {Options.TimeoutSeconds:0.###} s (--timeout); the kernel did not return and the device is not used again in this run");
    }

    /// <summary>Measures one workload on one device.</summary>
    public ResultRecord RunOne(Workload w, IDevice device, OpData data, Expected expected)
    {
        if (!device.Info.Available)
        {
            return NewRecord(w, device, "skipped", $"device unavailable: {device.Info.Reason}");
        }

        IKernel? kernel;
        try
        {
            // a whole-network workload brings its own kernel per device; otherwise the device's kernel list decides
            kernel = (w as IDeviceAwareWorkload)?.CreateKernel(device) ?? device.CreateKernel(w);
        }
        catch (Exception e)
        {
            return NewRecord(w, device, "failed", Describe(e, "creating a kernel", w));
        }

        if (kernel is null)
        {
            return NewRecord(w, device, "skipped", $"{device.Info.Id} has no kernel for {w.Op}");
        }

        ResultRecord r = NewRecord(w, device, "failed", null);
        r.Kernel = kernel.Name;
        string phase = "prepare";
        try
        {
            using (kernel)
            {
                w.PoisonOutput(data);
                kernel.Prepare(data);
                phase = "first run";
                kernel.Run();
                phase = "verification";
                VerifyOutcome first = w.Verify(data, expected);
                r.Error = ToError(first);
                if (!first.Passed)
                {
                    r.Message = $"wrong answer: {first.Message}";
                    return r;
                }

                if (kernel is IModeledKernel modeled)
                {
                    return FinishModeled(w, r, modeled);
                }

                phase = "warm-up";
                long warm0 = Stopwatch.GetTimestamp();
                do
                {
                    kernel.Run();
                }
                while (Stopwatch.GetElapsedTime(warm0).TotalSeconds < Options.WarmupSeconds);

                phase = "timing";
                var sw = Stopwatch.StartNew();
                kernel.Run();
                double once = Math.Max(sw.Elapsed.TotalSeconds, 1e-9);
                int runsPerSample = (int)Math.Clamp(Math.Ceiling(Options.MinSampleSeconds / once), 1, 1_000_000);
                var samples = new List<double>();
                IDeviceTimedKernel? timed = kernel as IDeviceTimedKernel;
                if (timed is not null)
                {
                    r.TimeSource = "device-events";
                }

                double measured = 0;
                var cpuSamples = new List<double>();
                List<double>? canarySamples = Options.Canary ? [] : null;
                while ((measured < Options.MinTimeSeconds || samples.Count < Options.MinSamples) && samples.Count < Options.MaxSamples)
                {
                    canarySamples?.Add(Canary.Measure());
                    TimeSpan cpu0 = Environment.CpuUsage.TotalTime;
                    long t0 = Stopwatch.GetTimestamp();
                    double deviceSeconds = 0;
                    for (int i = 0; i < runsPerSample; i++)
                    {
                        if (timed is not null)
                        {
                            deviceSeconds += timed.RunTimed();
                        }
                        else
                        {
                            kernel.Run();
                        }
                    }

                    double wall = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                    cpuSamples.Add((Environment.CpuUsage.TotalTime - cpu0).TotalSeconds / runsPerSample);
                    measured += wall;
                    samples.Add((timed is not null ? deviceSeconds : wall) / runsPerSample);
                }

                if (Options.Meters.TryGetValue(device.Info.Id, out Power.IEnergyMeter? meter))
                {
                    phase = "energy loop";
                    r.Energy = MeasureEnergy(kernel, meter, w);
                }
                else
                {
                    r.Energy.Note = Options.NoMeterNote;
                }

                // The timed runs must still compute the right answer: poison, run once more, verify.
                phase = "final verification";
                w.PoisonOutput(data);
                kernel.Run();
                VerifyOutcome last = w.Verify(data, expected);
                r.Error = ToError(last.MaxRel >= first.MaxRel ? last : first);
                if (!last.Passed)
                {
                    r.Message = $"wrong answer after the timed runs: {last.Message}";
                    return r;
                }

                double median = SampleStats.Median(samples);
                r.Seconds = SecondsOf(samples, runsPerSample);
                if (canarySamples is not null)
                {
                    r.CanarySeconds = SecondsOf(canarySamples, 1);
                }

                if (timed is null)
                {
                    // Process CPU time (every thread) per run, next to the wall clock; see ResultRecord.CpuSeconds.
                    r.CpuSeconds = SecondsOf(cpuSamples, runsPerSample);
                }

                r.Gops = w.Ops / median / 1e9;
                r.Verified = true;
                r.Status = "ok";
                r.Message ??= (kernel as IKernelNote)?.Note; // e.g. ILGPU's first launch (compile + JIT), not in the samples
                return r;
            }
        }
        catch (Exception e)
        {
            r.Status = "failed";
            r.Verified = false;
            r.Message = Describe(e, phase, w);
            return r;
        }
    }

    /// <summary>A samples record (median, p90, min, max, CV) of per-run seconds.</summary>
    private static SecondsRecord SecondsOf(List<double> samples, int runsPerSample) => new()
    {
        Samples = samples,
        Median = SampleStats.Median(samples),
        P90 = SampleStats.Percentile(samples, 0.9),
        Min = samples.Min(),
        Max = samples.Max(),
        Cv = SampleStats.Cv(samples),
        RunsPerSample = runsPerSample,
    };

    private const string DeviceLostPrefix = "device lost";

    /// <summary>
    /// A failed result's message. A lost device (<see cref="DeviceLostException"/> anywhere in the exception chain)
    /// is retired for the rest of the run; running out of host or device memory names the workload's operand bytes and
    /// leaves the device in use for the next workloads; anything else is the phase and the exception.
    /// </summary>
    private static string Describe(Exception e, string phase, Workload w)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is DeviceLostException)
            {
                return $"{DeviceLostPrefix} during {phase}: {x.Message}; the device is not used again in this run";
            }

            if (x is DeviceOutOfMemoryException or OutOfMemoryException or InsufficientMemoryException)
            {
                string where = x is DeviceOutOfMemoryException ? "device" : "host";
                return $"out of {where} memory during {phase} ({w.Bytes / 1048576.0:0.#} MiB of operands): {x.Message}";
            }
        }

        return phase == "creating a kernel"
            ? $"creating a kernel failed: {e.GetType().Name}: {e.Message}"
            : $"{phase} threw {e.GetType().Name}: {e.Message}";
    }

    /// <summary>A modeled kernel's outputs were verified; its time and energy come from the model, as one deterministic sample.</summary>
    private static ResultRecord FinishModeled(Workload w, ResultRecord r, IModeledKernel kernel)
    {
        ModeledCost cost = kernel.Cost;
        r.TimeSource = "modeled";
        r.Cycles = cost.Cycles;
        r.Seconds = new SecondsRecord { Samples = [cost.Seconds], Median = cost.Seconds, P90 = cost.Seconds, Min = cost.Seconds, Max = cost.Seconds, Cv = 0, RunsPerSample = 1 };
        r.Gops = w.Ops / cost.Seconds / 1e9;
        r.Energy = new EnergyRecord
        {
            Joules = cost.Joules,
            Watts = cost.Joules / cost.Seconds,
            GopsPerWatt = cost.Joules > 0 ? w.Ops / 1e9 / cost.Joules : null,
            Source = "modeled",
            Note = "from the module's energy-per-action table and leakage, not a measurement",
            Breakdown = cost.EnergyBreakdown.ToDictionary(p => p.Key, p => p.Value),
        };
        r.Verified = true;
        r.Status = "ok";
        return r;
    }

    private static ErrorRecord ToError(VerifyOutcome v) => new()
    {
        MaxAbs = double.IsFinite(v.MaxAbs) ? v.MaxAbs : double.MaxValue,
        MaxRel = double.IsFinite(v.MaxRel) ? v.MaxRel : double.MaxValue,
        Bound = v.Bound,
        Mismatches = v.Mismatches,
    };
}
