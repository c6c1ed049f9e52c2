using System.Text.Json.Serialization;

namespace ChipKit.Harness.Results;

// The results file, schema "chipkit.results/1". Property names are written in snake_case.
// Later versions add fields; they never rename or remove these.

/// <summary>One run: where it ran, on which devices, and every result.</summary>
public sealed class ResultsDocument
{
    public const string SchemaId = "chipkit.results/1";

    public string Schema { get; set; } = SchemaId;
    public DateTimeOffset Created { get; set; }
    public ToolRecord Chipkit { get; set; } = new();
    public MachineRecord Machine { get; set; } = new();
    public RunRecord Run { get; set; } = new();
    public List<DeviceRecord> Devices { get; set; } = [];
    public List<ResultRecord> Results { get; set; } = [];
}

public sealed class ToolRecord
{
    public string Version { get; set; } = "";
    public string? Commit { get; set; }
}

public sealed class MachineRecord
{
    public string Cpu { get; set; } = "";
    public int Cores { get; set; }
    public List<CacheRecord> Caches { get; set; } = [];
    public long MemoryBytes { get; set; }
    public string Os { get; set; } = "";
    public string Arch { get; set; } = "";
    public string Runtime { get; set; } = "";
    public string Hostname { get; set; } = "";
}

public sealed class CacheRecord
{
    public int Level { get; set; }
    public string Type { get; set; } = "";
    public long SizeBytes { get; set; }
}

/// <summary>The settings the run used.</summary>
public sealed class RunRecord
{
    public string? Suite { get; set; }
    public double MinTimeSeconds { get; set; }
    public double WarmupSeconds { get; set; }
    public int MinSamples { get; set; }
    public int Seed { get; set; }
    public int Threads { get; set; }
    public List<string> Args { get; set; } = [];

    /// <summary>Every workload the run was to measure, in order (what `chipkit run --resume` continues with).</summary>
    public List<string> Workloads { get; set; } = [];
}

public sealed class DeviceRecord
{
    public string Id { get; set; } = "";
    public string Backend { get; set; } = "";
    public string Name { get; set; } = "";
    public bool Available { get; set; }
    public string? Reason { get; set; }
    public Dictionary<string, string> Properties { get; set; } = [];

    /// <summary>Roofline ceilings of this device (absent unless measured with `run --peak`, loaded with `report --peak`, or modeled for npu devices).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public PeakRecord? Peak { get; set; }
}

/// <summary>
/// Roofline ceilings of a device: compute peak per data type (GOP/s; fp32 counts FLOPs, int8 integer ops, 2 per
/// multiply-accumulate) and memory bandwidth (GB/s), with where the figures came from.
/// </summary>
public sealed class PeakRecord
{
    /// <summary>measured (a probe on this host: FMA chains, vpmaddwd, STREAM triad) or modeled (a module's array x clock, DRAM bytes/cycle x clock).</summary>
    public string Source { get; set; } = "";

    /// <summary>How it was obtained, e.g. "chipkit run --peak, 8 threads" or "chipkit peak --out peak.json".</summary>
    public string? Note { get; set; }

    /// <summary>GOP/s by data type: fp32, int8 (keys absent when unknown).</summary>
    public Dictionary<string, double> ComputeGops { get; set; } = [];

    /// <summary>Memory bandwidth in GB/s (10^9 bytes per second); null when unknown.</summary>
    public double? MemoryGbps { get; set; }
}

/// <summary>One workload on one device.</summary>
public sealed class ResultRecord
{
    public string Workload { get; set; } = "";
    public string Op { get; set; } = "";
    public Dictionary<string, string> Params { get; set; } = [];
    public string Device { get; set; } = "";
    public string? Kernel { get; set; }

    /// <summary>ok (verified and timed), failed (wrong answer or error), skipped (the device does not support it).</summary>
    public string Status { get; set; } = "";
    public string? Message { get; set; }
    public bool Verified { get; set; }
    public ErrorRecord? Error { get; set; }
    public double Ops { get; set; }
    public SecondsRecord? Seconds { get; set; }

    /// <summary>
    /// Process CPU time (all threads, user + kernel) per run, sampled alongside <see cref="Seconds"/> for wall-clock
    /// timed kernels; null for modeled and device-timed ones. A kernel using T threads fully shows about T times its
    /// wall time. Steadier than wall time on a shared machine (time the process is descheduled is not counted).
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public SecondsRecord? CpuSeconds { get; set; }

    /// <summary>
    /// With `chipkit run --canary`: wall seconds of ChipKit's fixed canary work (<see cref="Runner.Canary"/>), one
    /// measurement taken right before each of <see cref="Seconds"/>' samples, so sample i and canary i saw the same
    /// machine state. `chipkit gate --clock canary` compares seconds / canary seconds, which cancels a slowdown of
    /// the whole machine between runs.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public SecondsRecord? CanarySeconds { get; set; }

    public string TimeSource { get; set; } = "wall";

    /// <summary>Modeled cycles per run (modeled devices only).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? Cycles { get; set; }

    /// <summary>Giga-operations per second from the median time; null unless the result is ok.</summary>
    public double? Gops { get; set; }
    public EnergyRecord Energy { get; set; } = new();

    /// <summary>This result against the same workload on the peer device of `--compare` (absent without it and on the peer's own results).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public CompareRecord? Compare { get; set; }
}

/// <summary>`--compare PEER`: the peer's throughput on the same workload in the same run, and ratio = gops / peer_gops (above 1: faster than the peer).</summary>
public sealed class CompareRecord
{
    public string Peer { get; set; } = "";

    /// <summary>The peer result's status (ok, failed, skipped); peer_gops and ratio are null unless both results are ok.</summary>
    public string PeerStatus { get; set; } = "";
    public double? PeerGops { get; set; }
    public double? Ratio { get; set; }
}

/// <summary>Largest deviation from the oracle. Floats: max_rel is normwise (|y-ref| / sum|a*b|); integers: bound 0 (bit-exact).</summary>
public sealed class ErrorRecord
{
    public double MaxAbs { get; set; }
    public double MaxRel { get; set; }
    public double Bound { get; set; }
    public long Mismatches { get; set; }
}

/// <summary>Seconds per run: every sample, and statistics over them.</summary>
public sealed class SecondsRecord
{
    public List<double> Samples { get; set; } = [];
    public double Median { get; set; }

    /// <summary>90th percentile of the samples (nearest rank); absent in files written before it existed.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? P90 { get; set; }

    public double Min { get; set; }
    public double Max { get; set; }

    /// <summary>Coefficient of variation (standard deviation / mean) of the samples.</summary>
    public double Cv { get; set; }

    /// <summary>Runs averaged into each sample (short kernels are repeated so one sample lasts long enough to time).</summary>
    public int RunsPerSample { get; set; } = 1;
}

/// <summary>Energy over the measurement, with its source; joules and watts are null when no source exists.</summary>
public sealed class EnergyRecord
{
    public double? Joules { get; set; }
    public double? Watts { get; set; }
    public string Source { get; set; } = "none";

    /// <summary>Idle power of the meter's domain measured before the loops (metered devices).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? IdleWatts { get; set; }

    /// <summary>Throughput per watt: gops over average watts of the energy loop (null without an energy figure).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? GopsPerWatt { get; set; }

    /// <summary>Length of the steady-state energy loop, and the meter's resolution, both for metered devices.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? LoopSeconds { get; set; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? ResolutionJoules { get; set; }

    /// <summary>Joules per component (modeled devices: mac, each SRAM, dram, leakage).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Dictionary<string, double>? Breakdown { get; set; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Note { get; set; }

    /// <summary>UTC start and end of the steady-state energy loop (metered devices): what an external meter's log is aligned with.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTimeOffset? WindowStart { get; set; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTimeOffset? WindowEnd { get; set; }
}
