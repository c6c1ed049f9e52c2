using System.Globalization;
using System.Text.Json;
using ChipKit.Core;
using ChipKit.Cpu;
using ChipKit.Harness.Results;

namespace ChipKit.Harness.Reports;

/// <summary>
/// Builds the <see cref="PeakRecord"/> of a device: measured on this host by the peak probe (<see cref="Peak"/>), read
/// from a `chipkit peak --out FILE` document, or modeled from a module's array size, clock and DRAM bandwidth.
/// </summary>
public static class PeakRecords
{
    /// <summary>Schema id of `chipkit peak --out` documents.</summary>
    public const string PeakSchema = "chipkit.peak/1";

    /// <summary>
    /// The ceilings of measured figures: the best fp32 FMA figure over vector widths and the int8 figure at the largest
    /// thread count measured, and the best STREAM triad bandwidth at that thread count.
    /// </summary>
    public static PeakRecord FromFigures(IReadOnlyList<PeakFigure> figures, string note)
    {
        ArgumentNullException.ThrowIfNull(figures);
        var record = new PeakRecord { Source = "measured", Note = note };
        if (figures.Count == 0)
        {
            return record;
        }

        int threads = figures.Max(f => f.Threads);
        IEnumerable<PeakFigure> top = figures.Where(f => f.Threads == threads);
        if (top.Where(f => f.Kind == "fp32-fma").Select(f => f.Value).DefaultIfEmpty(0).Max() is > 0 and double fp32)
        {
            record.ComputeGops["fp32"] = fp32;
        }

        if (top.Where(f => f.Kind == "int8-pmaddwd").Select(f => f.Value).DefaultIfEmpty(0).Max() is > 0 and double int8)
        {
            record.ComputeGops["int8"] = int8;
        }

        if (top.Where(f => f.Kind == "stream-triad").Select(f => f.Value).DefaultIfEmpty(0).Max() is > 0 and double bw)
        {
            record.MemoryGbps = bw;
        }

        return record;
    }

    /// <summary>
    /// A modeled module's ceilings: rows x cols MACs per cycle, 2 ops each, at the operating point's clock, for every
    /// MAC type it has; DRAM bytes per cycle x clock.
    /// </summary>
    public static PeakRecord Modeled(int rows, int cols, double mhz, double dramBytesPerCycle, IEnumerable<string> dataTypes, string note)
    {
        var record = new PeakRecord { Source = "modeled", Note = note, MemoryGbps = dramBytesPerCycle * mhz * 1e6 / 1e9 };
        double gops = 2.0 * rows * cols * mhz * 1e6 / 1e9;
        foreach (string t in dataTypes)
        {
            record.ComputeGops[t] = gops;
        }

        return record;
    }

    /// <summary>The measured figures of a `chipkit peak --out` (or `--json`) document; errors name the file and field.</summary>
    public static (string? Cpu, List<PeakFigure> Figures) ReadFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ChipKitInputException($"peak file '{path}': cannot read it: {e.Message}", e);
        }

        return Parse(text, path);
    }

    public static (string? Cpu, List<PeakFigure> Figures) Parse(string text, string path)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(text);
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new ChipKitInputException($"peak file '{path}': expected a JSON object written by `chipkit peak --out FILE`");
            }

            if (root.TryGetProperty("schema", out JsonElement schema) && schema.GetString() != PeakSchema)
            {
                throw new ChipKitInputException($"peak file '{path}': $.schema must be \"{PeakSchema}\", got \"{schema}\"");
            }

            if (!root.TryGetProperty("figures", out JsonElement figs) || figs.ValueKind != JsonValueKind.Array)
            {
                throw new ChipKitInputException($"peak file '{path}': $.figures must be an array (write the file with `chipkit peak --out FILE`)");
            }

            string? cpu = root.TryGetProperty("cpu", out JsonElement c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
            var list = new List<PeakFigure>();
            int i = 0;
            foreach (JsonElement f in figs.EnumerateArray())
            {
                string at = $"$.figures[{i}]";
                string kind = Str(f, "kind", path, at);
                string unit = Str(f, "unit", path, at);
                double value = Num(f, "value", path, at);
                double threads = Num(f, "threads", path, at);
                if (value < 0 || threads < 1)
                {
                    throw new ChipKitInputException($"peak file '{path}': {at}: value must be >= 0 and threads >= 1");
                }

                string width = f.TryGetProperty("width", out JsonElement wd) && wd.ValueKind == JsonValueKind.String ? wd.GetString()! : "";
                double seconds = f.TryGetProperty("seconds", out JsonElement s) && s.ValueKind == JsonValueKind.Number ? s.GetDouble() : 0;
                list.Add(new PeakFigure(kind, width, (int)threads, value, unit, seconds));
                i++;
            }

            return (cpu, list);
        }
        catch (JsonException e)
        {
            throw new ChipKitInputException($"peak file '{path}': invalid JSON at line {(e.LineNumber ?? 0) + 1}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Gives the cpu device of every document the peak record (replacing one the run recorded: the file was asked
    /// for). Returns notes for the reader, e.g. when the file was measured on another CPU model.
    /// </summary>
    public static List<string> ApplyToCpu(IEnumerable<ResultsDocument> docs, PeakRecord peak, string? peakCpu, string path)
    {
        var notes = new List<string>();
        foreach (ResultsDocument d in docs)
        {
            foreach (DeviceRecord dev in d.Devices.Where(x => x.Id == "cpu"))
            {
                dev.Peak = peak;
            }

            if (peakCpu is not null && d.Machine.Cpu.Length > 0 && !string.Equals(peakCpu.Trim(), d.Machine.Cpu.Trim(), StringComparison.Ordinal))
            {
                notes.Add(string.Create(CultureInfo.InvariantCulture, $"note: peak file '{path}' was measured on \"{peakCpu}\", the results on \"{d.Machine.Cpu}\""));
            }
        }

        return notes;
    }

    private static string Str(JsonElement o, string name, string path, string at) =>
        o.ValueKind == JsonValueKind.Object && o.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()!
            : throw new ChipKitInputException($"peak file '{path}': {at}.{name} must be a string");

    private static double Num(JsonElement o, string name, string path, string at) =>
        o.ValueKind == JsonValueKind.Object && o.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.Number && double.IsFinite(v.GetDouble())
            ? v.GetDouble()
            : throw new ChipKitInputException($"peak file '{path}': {at}.{name} must be a number");
}
