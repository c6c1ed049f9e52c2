using System.Diagnostics;
using System.Globalization;

namespace ChipKit.Harness.Power;

/// <summary>
/// Energy over one interval of work read from an <see cref="IEnergyMeter"/> (RAPL, NVML, an external log, or a declared
/// wattage), and the figures derived from it: joules per operation, average watts, GOP/s per W. Used by the
/// BenchmarkDotNet energy diagnoser around a benchmark's actual workload iterations. Without a meter, or with too
/// little energy for the meter to resolve, the figures are null and <see cref="Status"/> says why.
/// </summary>
public sealed class EnergyInterval
{
    private readonly IEnergyMeter? _meter;
    private readonly Func<long> _clock;
    private double _j0;
    private long _t0;
    private bool _running;

    /// <param name="meter">The meter, or null when there is none.</param>
    /// <param name="noMeterReason">Why there is none (shown as "no meter: REASON").</param>
    /// <param name="clock">Timestamps in <see cref="Stopwatch"/> ticks (tests pass a fake clock).</param>
    public EnergyInterval(IEnergyMeter? meter, string? noMeterReason = null, Func<long>? clock = null)
    {
        _meter = meter;
        _clock = clock ?? Stopwatch.GetTimestamp;
        Status = meter is null ? $"no meter{(noMeterReason is null ? "" : ": " + noMeterReason)}" : "not measured";
    }

    /// <summary>rapl, nvml, external, declared; null without a meter.</summary>
    public string? Source => _meter?.Source;

    public double? Joules { get; private set; }

    public double? Seconds { get; private set; }

    /// <summary>Benchmark operations (invocations) in the interval.</summary>
    public double? Operations { get; private set; }

    /// <summary>Workload operations (e.g. 2 per multiply-accumulate) of one benchmark operation; null when unknown.</summary>
    public double? WorkPerOperation { get; private set; }

    /// <summary>"ok (rapl: package-0)", "no meter: ...", or why there is no figure.</summary>
    public string Status { get; private set; }

    /// <summary>
    /// Seconds the operations themselves took, as timed by the benchmark (null: the whole interval). The interval can
    /// hold more than the timed operations (a harness's per-iteration overhead); power is averaged over the whole
    /// interval, and energy per operation is that average power times the timed seconds per operation.
    /// </summary>
    public double? BusySeconds { get; private set; }

    /// <summary>Joules per operation: average watts x seconds per operation.</summary>
    public double? JoulesPerOperation => AverageWatts is double w && Operations is > 0 ? w * (BusySeconds ?? Seconds!.Value) / Operations : null;

    public double? AverageWatts => Joules is double j && Seconds is > 0 ? j / Seconds : null;

    /// <summary>Workload GOP/s over average watts (= workload GOP per joule of the operations).</summary>
    public double? GopsPerWatt => AverageWatts is > 0 && Operations is double n && WorkPerOperation is double w && (BusySeconds ?? Seconds) is > 0
        ? n * w / (BusySeconds ?? Seconds!.Value) / 1e9 / AverageWatts
        : null;

    /// <summary>The label of a measured figure: "measured" for rapl/nvml/external, "declared" for a declared wattage.</summary>
    public string Kind => _meter?.Source == "declared" ? "declared" : _meter is null ? "none" : "measured";

    public void Start()
    {
        if (_meter is null)
        {
            return;
        }

        // The clock first: a meter may block in ReadJoules (an external log waits for its logger to reach "now", the
        // moment of the call), so the time read before the call is the one its energy reading belongs to.
        _t0 = _clock();
        _j0 = _meter.ReadJoules();
        _running = true;
    }

    /// <summary>Ends the interval: <paramref name="operations"/> benchmark operations ran in it, each worth <paramref name="workPerOperation"/> workload ops.</summary>
    public void Stop(double operations, double? workPerOperation)
    {
        Stop();
        SetOperations(operations, workPerOperation);
    }

    /// <summary>Ends the interval (reads the meter and the clock); the operation count may come later (<see cref="SetOperations"/>).</summary>
    public void Stop()
    {
        if (_meter is null || !_running)
        {
            return;
        }

        _running = false;
        double seconds = (_clock() - _t0) / (double)Stopwatch.Frequency;
        double joules = _meter.ReadJoules() - _j0;
        Seconds = seconds;
        if (!(seconds > 0))
        {
            Status = "no figure: the interval had no duration";
            return;
        }

        if (_meter.ResolutionJoules > 0 && joules < 1000 * _meter.ResolutionJoules)
        {
            Status = string.Create(CultureInfo.InvariantCulture,
                $"no figure: {joules:G3} J over {seconds:0.###} s is too little for the meter's {_meter.ResolutionJoules:G3} J resolution");
            return;
        }

        Joules = joules;
        Status = $"ok ({_meter.Source}: {_meter.Description})";
    }

    /// <summary>
    /// How many benchmark operations the interval held, the workload ops of each (null when unknown), and the seconds
    /// the operations themselves took (null: the whole interval; see <see cref="BusySeconds"/>).
    /// </summary>
    public void SetOperations(double operations, double? workPerOperation, double? busySeconds = null)
    {
        Operations = operations > 0 ? operations : null;
        WorkPerOperation = workPerOperation;
        BusySeconds = busySeconds is > 0 ? busySeconds : null;
    }
}
