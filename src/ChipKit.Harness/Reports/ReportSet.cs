using System.Globalization;
using ChipKit.Harness.Results;

namespace ChipKit.Harness.Reports;

/// <summary>One results file in a report: a short tag (A, B, ...) that every result of it carries, its path and the document.</summary>
public sealed record ReportRun(string Tag, string Path, ResultsDocument Doc)
{
    /// <summary>"A: results/x.json (2026-11-26 07:45:00Z)".</summary>
    public string Label => string.Create(CultureInfo.InvariantCulture, $"{Tag}: {Path} ({Doc.Created:u})");

    public DeviceRecord? Device(string id) => Doc.Devices.FirstOrDefault(d => d.Id == id);
}

/// <summary>One result with the run (file) it came from.</summary>
public sealed record ReportEntry(ReportRun Run, ResultRecord Result)
{
    public DeviceRecord? Device => Run.Device(Result.Device);

    /// <summary>The device label used in merged reports: the id alone for one file, "A:cpu" for several.</summary>
    public string DeviceLabel(bool merged) => merged ? $"{Run.Tag}:{Result.Device}" : Result.Device;
}

/// <summary>One design point of a sweep (`chipkit sweep --out DIR`'s sweep.json), in the report's neutral form.</summary>
public sealed record SweepPointData(long Index, string Label, double LatencySeconds, double EnergyJoules, double TopsPerWatt, bool Pareto);

/// <summary>A sweep file in a report: modeled design points and which are on the latency/energy Pareto front.</summary>
public sealed record SweepInput(string Tag, string Path, string Module, IReadOnlyList<string> Workloads, string Source, IReadOnlyList<SweepPointData> Points);

/// <summary>
/// What `chipkit report FILE...` renders: several results files merged (each result tagged with its file's run tag),
/// sweeps, and notes for the reader (e.g. a peak file measured on another CPU).
/// </summary>
public sealed class ReportSet
{
    public List<ReportRun> Runs { get; } = [];

    public List<SweepInput> Sweeps { get; } = [];

    public List<string> Notes { get; } = [];

    /// <summary>Every result of every run, in file order.</summary>
    public IEnumerable<ReportEntry> Entries => Runs.SelectMany(r => r.Doc.Results.Select(x => new ReportEntry(r, x)));

    /// <summary>True when results of more than one file are shown (device labels and tables then carry the run tag).</summary>
    public bool Merged => Runs.Count > 1;

    /// <summary>The tag of the next input: A, B, ..., Z, AA, AB, ...</summary>
    public string NextTag()
    {
        int n = Runs.Count + Sweeps.Count;
        string tag = "";
        do
        {
            tag = (char)('A' + (n % 26)) + tag;
            n = (n / 26) - 1;
        }
        while (n >= 0);
        return tag;
    }

    public ReportRun AddRun(string path, ResultsDocument doc)
    {
        var run = new ReportRun(NextTag(), path, doc);
        Runs.Add(run);
        return run;
    }

    public int Count(string status) => Entries.Count(e => e.Result.Status == status);

    public bool AnyFailed => Entries.Any(e => e.Result.Status == "failed");
}

/// <summary>What an energy source is: measured (a meter), modeled, declared (a wattage the user assumed) or none.</summary>
public static class Provenance
{
    public static string EnergyKind(string source) => source switch
    {
        "rapl" or "nvml" or "external" => "measured",
        "modeled" => "modeled",
        "declared" => "declared",
        _ => "none",
    };

    public static string TimeKind(string timeSource) => timeSource switch
    {
        "wall" or "device-events" => "measured",
        "modeled" => "modeled",
        _ => timeSource,
    };
}
