using System.Globalization;

namespace ChipKit.Harness.Power;

/// <summary>
/// RAPL energy through Linux powercap (<c>/sys/class/powercap/intel-rapl:*</c>; AMD Zen exposes the same tree):
/// the package domains and, where present, their DRAM subdomains. Each <c>energy_uj</c> counter wraps at
/// <c>max_energy_range_uj</c>; reads accumulate deltas and add the range back when a counter wrapped (read often
/// enough that a counter wraps at most once between reads: minutes at package power).
/// </summary>
public sealed class RaplMeter : IEnergyMeter
{
    private readonly Domain[] _domains;
    private readonly object _gate = new();
    private double _total;

    private RaplMeter(Domain[] domains)
    {
        _domains = domains;
        foreach (Domain d in _domains)
        {
            d.Last = d.ReadRaw();
        }
    }

    public string Source => "rapl";

    public string Description => string.Join(" + ", _domains.Select(d => d.Name));

    /// <summary>energy_uj counts microjoules.</summary>
    public double ResolutionJoules => 1e-6;

    /// <summary>The RAPL meter of this machine, or null and the reason when there is none.</summary>
    public static (RaplMeter? Meter, string? Reason) Open(string root = "/sys/class/powercap")
    {
        if (!Directory.Exists(root))
        {
            return (null, $"no RAPL powercap interface ({root} does not exist)");
        }

        var domains = new List<Domain>();
        foreach (string dir in Directory.GetDirectories(root, "intel-rapl:*").Order(StringComparer.Ordinal))
        {
            string id = Path.GetFileName(dir);
            string name = ReadText(Path.Combine(dir, "name"));
            bool package = id.Count(c => c == ':') == 1;
            bool dram = name == "dram";
            if (!(package || dram) || !File.Exists(Path.Combine(dir, "energy_uj")))
            {
                continue; // core / uncore subdomains are inside the package count
            }

            try
            {
                long range = long.Parse(ReadText(Path.Combine(dir, "max_energy_range_uj")), CultureInfo.InvariantCulture);
                var d = new Domain(name.Length > 0 ? name : id, Path.Combine(dir, "energy_uj"), range);
                d.ReadRaw();
                domains.Add(d);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException)
            {
                return (null, $"RAPL domain {id} is not readable: {e.Message}");
            }
        }

        return domains.Count == 0 ? (null, $"no RAPL package domain under {root}") : (new RaplMeter([.. domains]), null);
    }

    public double ReadJoules()
    {
        lock (_gate)
        {
            foreach (Domain d in _domains)
            {
                long raw = d.ReadRaw();
                long delta = raw - d.Last;
                if (delta < 0)
                {
                    delta += d.RangeMicrojoules; // the counter wrapped
                }

                _total += delta * 1e-6;
                d.Last = raw;
            }

            return _total;
        }
    }

    private static string ReadText(string path) => File.Exists(path) ? File.ReadAllText(path).Trim() : "";

    private sealed class Domain(string name, string counter, long range)
    {
        public string Name { get; } = name;

        public long RangeMicrojoules { get; } = range;

        public long Last { get; set; }

        public long ReadRaw() => long.Parse(File.ReadAllText(counter).Trim(), CultureInfo.InvariantCulture);
    }
}
