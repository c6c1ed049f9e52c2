using System.Collections.Concurrent;
using BenchmarkDotNet.Analysers;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Validators;
using ChipKit.Harness.Power;

namespace ChipKit.Bench;

/// <summary>
/// Energy of each benchmark's actual workload iterations from an <see cref="IEnergyMeter"/> (RAPL powercap by default;
/// any meter — NVML, an external log — through the constructor). The host process reads the meter at BenchmarkDotNet's
/// BeforeActualRun and AfterActualRun signals (the benchmark runs in a child process; RAPL and NVML count the whole
/// package / GPU, so other load on the machine counts too). Adds the columns J/op, Avg W and GOP/s/W, which show
/// "no meter" (and the reason, in the log) when there is none: never a number without a measurement.
/// </summary>
public sealed class EnergyDiagnoser : IDiagnoser
{
    private readonly Func<IEnergyMeter?> _openMeter;
    private readonly string? _noMeterReason;
    private readonly ConcurrentDictionary<BenchmarkCase, EnergyInterval> _intervals = new();
    private IEnergyMeter? _meter;
    private bool _opened;

    /// <summary>The default: this host's RAPL meter, or "no meter" with RaplMeter's reason.</summary>
    public static EnergyDiagnoser Rapl()
    {
        (RaplMeter? meter, string? reason) = RaplMeter.Open();
        return new EnergyDiagnoser(() => meter, reason);
    }

    /// <summary>Environment variable choosing the meter: rapl (default), nvml:N (GPU N), external:FILE (a power log, docs/reports.md).</summary>
    public const string MeterVariable = "CHIPKIT_BENCH_METER";

    /// <summary>Environment variable: a wattage to declare when the chosen meter is missing (figures are then labelled declared).</summary>
    public const string DeclaredWattsVariable = "CHIPKIT_BENCH_DECLARED_WATTS";

    /// <summary>
    /// The meter <see cref="MeterVariable"/> names (RAPL when unset); when it is missing, a wattage declared in
    /// <see cref="DeclaredWattsVariable"/>; else no meter, with the reason.
    /// </summary>
    public static EnergyDiagnoser FromEnvironment()
    {
        string choice = Environment.GetEnvironmentVariable(MeterVariable) ?? "rapl";
        IEnergyMeter? meter;
        string? reason;
        if (choice == "rapl")
        {
            (RaplMeter? rapl, reason) = RaplMeter.Open();
            meter = rapl;
        }
        else if (choice.StartsWith("nvml:", StringComparison.Ordinal) && int.TryParse(choice[5..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int gpu))
        {
            (NvmlMeter? nvml, reason) = NvmlMeter.Open(gpu);
            meter = nvml;
        }
        else if (choice.StartsWith("external:", StringComparison.Ordinal) && choice.Length > 9)
        {
            string file = choice[9..];
            meter = File.Exists(file) ? new ExternalLogMeter(file) : null;
            reason = meter is null ? $"no power log '{file}'" : null;
        }
        else
        {
            throw new ArgumentException($"{MeterVariable}='{choice}': expected rapl, nvml:N or external:FILE");
        }

        if (meter is null && Environment.GetEnvironmentVariable(DeclaredWattsVariable) is string text)
        {
            if (!double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double watts) || !(watts > 0) || !double.IsFinite(watts))
            {
                throw new ArgumentException($"{DeclaredWattsVariable}='{text}': expected a positive wattage such as 65");
            }

            var declared = new DeclaredMeter(watts);
            return new EnergyDiagnoser(() => declared, null);
        }

        return new EnergyDiagnoser(() => meter, reason);
    }

    /// <param name="openMeter">Opens the meter (once, on first use); null means there is none.</param>
    /// <param name="noMeterReason">Why there is none.</param>
    public EnergyDiagnoser(Func<IEnergyMeter?> openMeter, string? noMeterReason)
    {
        _openMeter = openMeter;
        _noMeterReason = noMeterReason;
    }

    public IEnumerable<string> Ids => ["ChipKitEnergy"];

    public IEnumerable<IExporter> Exporters => [];

    public IEnumerable<IAnalyser> Analysers => [];

    /// <summary>Read during the main run: no extra run of the benchmark is needed.</summary>
    public RunMode GetRunMode(BenchmarkCase benchmarkCase) => RunMode.NoOverhead;

    public void Handle(HostSignal signal, DiagnoserActionParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        switch (signal)
        {
            case HostSignal.BeforeActualRun:
                Interval(parameters.BenchmarkCase).Start();
                break;
            case HostSignal.AfterActualRun:
                // The operation count is known only from the results: ProcessResults adds it.
                Interval(parameters.BenchmarkCase).Stop();
                break;
        }
    }

    public IEnumerable<Metric> ProcessResults(DiagnoserResults results)
    {
        ArgumentNullException.ThrowIfNull(results);
        if (_intervals.TryGetValue(results.BenchmarkCase, out EnergyInterval? interval))
        {
            // The actual workload measurements: their operations and the time BenchmarkDotNet timed for them (the
            // signal window also holds the engine's work between iterations, so power is averaged over the window
            // and energy per op is that power x the timed time per op).
            var actual = results.Measurements
                .Where(m => m.IterationMode == IterationMode.Workload && m.IterationStage == IterationStage.Actual)
                .ToList();
            interval.SetOperations(actual.Sum(m => m.Operations), GopsColumn.Ops(results.BenchmarkCase), actual.Sum(m => m.Nanoseconds) / 1e9);
        }

        return [];
    }

    public void DisplayResults(ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        EnsureMeter();
        logger.WriteLineInfo(_meter is null
            ? $"// ChipKit energy: no meter{(_noMeterReason is null ? "" : ": " + _noMeterReason)}"
            : $"// ChipKit energy: {_meter.Source} ({_meter.Description}), read around the actual workload iterations");
        foreach ((BenchmarkCase c, EnergyInterval i) in _intervals)
        {
            if (i.Joules is null)
            {
                logger.WriteLineInfo($"//   {c.DisplayInfo}: {i.Status}");
            }
        }
    }

    public IEnumerable<ValidationError> Validate(ValidationParameters validationParameters) => [];

    /// <summary>The interval of a case, for the columns; null when the case was not measured.</summary>
    public EnergyInterval? Result(BenchmarkCase benchmarkCase) => _intervals.TryGetValue(benchmarkCase, out EnergyInterval? i) ? i : null;

    /// <summary>"no meter" (no meter on this host), or why the case has no figure.</summary>
    public string Missing(BenchmarkCase benchmarkCase)
    {
        EnsureMeter();
        return _meter is null ? "no meter" : Result(benchmarkCase) is EnergyInterval i ? (i.Status.StartsWith("ok", StringComparison.Ordinal) ? "NA" : "no figure") : "NA";
    }

    /// <summary>The three columns this diagnoser fills.</summary>
    public IColumn[] Columns() =>
    [
        new EnergyColumn(this, "ChipKit.JoulesPerOp", "J/op", "Joules per benchmark operation (one Run) from the energy meter, over the actual workload iterations", i => i.JoulesPerOperation, "G4"),
        new EnergyColumn(this, "ChipKit.AvgWatts", "Avg W", "Average power over the actual workload iterations (energy meter / wall time)", i => i.AverageWatts, "N1"),
        new EnergyColumn(this, "ChipKit.GopsPerWatt", "GOP/s/W", "Workload operations (2 per multiply-accumulate) per joule, in 10^9: GOP/s per W", i => i.GopsPerWatt, "N3"),
    ];

    private EnergyInterval Interval(BenchmarkCase c) => _intervals.GetOrAdd(c, _ =>
    {
        EnsureMeter();
        return new EnergyInterval(_meter, _noMeterReason);
    });

    private void EnsureMeter()
    {
        if (!_opened)
        {
            _meter = _openMeter();
            _opened = true;
        }
    }
}
