namespace ChipKit.Harness.Power;

/// <summary>
/// A cumulative energy counter (RAPL powercap, NVML total energy, an external meter log) or a declared wattage.
/// <see cref="Source"/> is what the results file records: "rapl", "nvml", "external" are measurements; "declared" is not.
/// </summary>
public interface IEnergyMeter
{
    /// <summary>rapl | nvml | external | declared.</summary>
    string Source { get; }

    /// <summary>What it measures, e.g. "package-0 + dram".</summary>
    string Description { get; }

    /// <summary>Smallest energy step the counter resolves, in joules.</summary>
    double ResolutionJoules { get; }

    /// <summary>Joules since an arbitrary origin; differences between two reads are the energy in between.</summary>
    double ReadJoules();
}

/// <summary>A wattage the user declared (`--declared-watts DEVICE=W`): energy = W x time. The last resort, labelled `declared`.</summary>
public sealed class DeclaredMeter(double watts) : IEnergyMeter
{
    private readonly long _origin = System.Diagnostics.Stopwatch.GetTimestamp();

    public string Source => "declared";

    public string Description => $"declared {Watts} W";

    public double ResolutionJoules => 0;

    public double Watts { get; } = watts;

    public double ReadJoules() => Watts * System.Diagnostics.Stopwatch.GetElapsedTime(_origin).TotalSeconds;
}
