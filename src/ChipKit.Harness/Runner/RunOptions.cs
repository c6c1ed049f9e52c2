namespace ChipKit.Harness.Runner;

/// <summary>How long and how often each workload is measured.</summary>
public sealed record RunOptions
{
    /// <summary>Keep sampling until at least this much time was measured (default 0.5 s) ...</summary>
    public double MinTimeSeconds { get; init; } = 0.5;

    /// <summary>... and at least this many samples were taken (default 5).</summary>
    public int MinSamples { get; init; } = 5;

    /// <summary>Never take more than this many samples.</summary>
    public int MaxSamples { get; init; } = 10_000;

    /// <summary>Short kernels are repeated inside one sample until it lasts at least this long.</summary>
    public double MinSampleSeconds { get; init; } = 0.001;

    /// <summary>
    /// Untimed runs after the first verified one, until this much time has passed (at least one run): lets the JIT
    /// promote the kernel from tier 0 and warms caches, so the first samples are not outliers.
    /// </summary>
    public double WarmupSeconds { get; init; } = 0.1;

    /// <summary>
    /// Longest one workload may take on one device (prepare, runs, verification), in seconds; 0 means no limit.
    /// A workload past it fails with "timed out", and the device is not used again in this run (its kernel may
    /// still be running; it cannot be stopped safely).
    /// </summary>
    public double TimeoutSeconds { get; init; }

    /// <summary>Energy meters by device id (RAPL for cpu, a declared wattage, ...). Devices without one get energy source "none".</summary>
    public IReadOnlyDictionary<string, Power.IEnergyMeter> Meters { get; init; } = new Dictionary<string, Power.IEnergyMeter>();

    /// <summary>Why a device without a meter has none (recorded in each result's energy note).</summary>
    public string NoMeterNote { get; init; } = "no energy meter was used";

    /// <summary>Length of the steady-state loop energy is measured over, when a device has a meter (MLPerf Power / SPECpower style).</summary>
    public double PowerDurationSeconds { get; init; } = 10;

    /// <summary>Idle power is measured once per meter, over this long, before the first loop.</summary>
    public double IdleSeconds { get; init; } = 1;

    /// <summary>Time <see cref="Canary"/>'s fixed work before every sample (`--canary`), for `chipkit gate --clock canary`.</summary>
    public bool Canary { get; init; }

    /// <summary>Seed of the generated operands.</summary>
    public int Seed { get; init; } = 42;
}
