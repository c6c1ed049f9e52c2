using System.Diagnostics;
using System.Globalization;
using ChipKit.Core;

namespace ChipKit.Harness.Power;

/// <summary>Energy over a time window, or no figure and the reason (<see cref="Reason"/> is null exactly when <see cref="Joules"/> is set).</summary>
public sealed record WindowEnergy(double? Joules, string? Reason, int Samples);

/// <summary>
/// A meter whose readings are timestamped (an external logger): energy is asked for a UTC window after the fact,
/// not read as a live counter. The runner records the steady-state loop's UTC start and end and asks for that window.
/// </summary>
public interface IWindowedEnergyMeter : IEnergyMeter
{
    /// <summary>Energy between <paramref name="startUtc"/> and <paramref name="endUtc"/>, or the reason there is none.</summary>
    WindowEnergy MeasureWindow(DateTimeOffset startUtc, DateTimeOffset endUtc);
}

/// <summary>Which quantity a log's value column holds.</summary>
public enum PowerLogKind
{
    /// <summary>Instantaneous (or interval-average) power in watts: energy is the trapezoid integral over the window.</summary>
    Watts,

    /// <summary>A cumulative energy counter in joules: energy is the difference of its values at the window's ends.</summary>
    Joules,
}

/// <summary>One sample of a power log and the line it came from.</summary>
public readonly record struct PowerLogSample(DateTimeOffset Time, double Value, int Line);

/// <summary>A parsed power log.</summary>
public sealed record PowerLog(PowerLogKind Kind, IReadOnlyList<PowerLogSample> Samples);

/// <summary>
/// An external meter's log (a wall-socket meter, a PTDaemon-style logger, a lab supply) as an energy source
/// (<c>chipkit run --power-log DEVICE=FILE</c>, source "external"). The file is CSV: a timestamp column and a value
/// column, either watts or cumulative joules, one sample per line:
/// <code>
/// timestamp,watts
/// 2026-11-26T07:45:00.000Z,61.8
/// 1764143101.0,62.4
/// </code>
/// Timestamps are ISO-8601 (UTC when no offset is given) or unix seconds; they must increase. A header line names
/// the columns (time|timestamp|ts|utc|date and watts|w|power|power_w, or joules|j|energy|energy_j; extra columns are
/// ignored); without a header the first column is the time and the second watts. Lines starting with '#' and blank
/// lines are skipped. A logger may be appending while ChipKit reads: the file is opened shared and re-read when the
/// window ends, and a last line without its newline is not read yet. The log must cover the window, without a gap
/// longer than <see cref="MaxGapSeconds"/>, or there is no figure (with the reason). The logger's clock and this
/// host's must agree (NTP): the window is this host's UTC time.
/// </summary>
public sealed class ExternalLogMeter : IWindowedEnergyMeter
{
    private static readonly string[] TimeNames = ["time", "timestamp", "ts", "utc", "date", "datetime", "time_utc", "timestamp_utc"];
    private static readonly string[] WattNames = ["watts", "w", "power", "power_w", "watt"];
    private static readonly string[] JouleNames = ["joules", "j", "energy", "energy_j", "joule"];

    public ExternalLogMeter(string path, double maxGapSeconds = 5, double coverWaitSeconds = 5)
    {
        Path = path;
        MaxGapSeconds = maxGapSeconds;
        CoverWaitSeconds = coverWaitSeconds;
    }

    public string Path { get; }

    /// <summary>Longest time between two samples inside the window before the log is said not to cover it.</summary>
    public double MaxGapSeconds { get; }

    /// <summary>How long to wait, re-reading the file, for the logger to write a sample at or after the window's end.</summary>
    public double CoverWaitSeconds { get; }

    public string Source => "external";

    public string Description => $"external meter log {Path}";

    /// <summary>Unknown for a log (it depends on the meter); 0 so the runner does not apply a counter-resolution rule.</summary>
    public double ResolutionJoules => 0;

    /// <summary>
    /// Energy logged from the first sample up to now (a cumulative counter for code that only knows
    /// <see cref="IEnergyMeter"/>); waits up to <see cref="CoverWaitSeconds"/> for the log to reach now.
    /// </summary>
    public double ReadJoules()
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        PowerLog log = WaitForCover(now).Log;
        if (log.Samples.Count == 0)
        {
            throw new InvalidOperationException($"power log '{Path}' has no samples");
        }

        WindowEnergy e = Integrate(log, log.Samples[0].Time, now, double.PositiveInfinity, Path);
        return e.Joules ?? throw new InvalidOperationException(e.Reason);
    }

    public WindowEnergy MeasureWindow(DateTimeOffset startUtc, DateTimeOffset endUtc)
    {
        (PowerLog log, double waited) = WaitForCover(endUtc);
        WindowEnergy e = Integrate(log, startUtc, endUtc, MaxGapSeconds, Path);
        return e.Reason is not null && log.Samples.Count > 0 && log.Samples[^1].Time < endUtc
            ? e with { Reason = e.Reason + string.Create(CultureInfo.InvariantCulture, $" (re-read the log for {waited:0.#} s)") }
            : e;
    }

    /// <summary>Re-reads the file until its last sample is at or after <paramref name="until"/>, or the wait is over.</summary>
    private (PowerLog Log, double Waited) WaitForCover(DateTimeOffset until)
    {
        long t0 = Stopwatch.GetTimestamp();
        while (true)
        {
            PowerLog log = Read(Path);
            double waited = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            if ((log.Samples.Count > 0 && log.Samples[^1].Time >= until) || waited >= CoverWaitSeconds)
            {
                return (log, waited);
            }

            Thread.Sleep(100);
        }
    }

    /// <summary>Reads the log now (shared with a writer); errors name the file and line.</summary>
    public static PowerLog Read(string path)
    {
        string text;
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(fs);
            text = reader.ReadToEnd();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ChipKitInputException($"power log '{path}': cannot read it: {e.Message}", e);
        }

        return Parse(text, path);
    }

    /// <summary>Parses a power log (see the class summary for the format). A last line without a newline is still being written and is skipped.</summary>
    public static PowerLog Parse(string text, string path)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] lines = text.Split('\n');
        int complete = lines.Length - 1; // the piece after the last '\n' is empty, or a line the logger is still writing
        PowerLogKind kind = PowerLogKind.Watts;
        int timeCol = 0, valueCol = 1;
        bool seenFirst = false;
        var samples = new List<PowerLogSample>();
        for (int i = 0; i < complete; i++)
        {
            int lineNo = i + 1;
            string line = lines[i].Trim().TrimEnd('\r');
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            string[] f = line.Split(',').Select(x => x.Trim().Trim('"')).ToArray();
            if (!seenFirst)
            {
                seenFirst = true;
                if (!TryTime(f[0], out _))
                {
                    (kind, timeCol, valueCol) = Header(f, path, lineNo);
                    continue;
                }
            }

            if (f.Length <= Math.Max(timeCol, valueCol))
            {
                throw new ChipKitInputException($"power log '{path}:{lineNo}': expected at least {Math.Max(timeCol, valueCol) + 1} comma-separated fields (time and {(kind == PowerLogKind.Watts ? "watts" : "joules")}), got \"{Clip(line)}\"");
            }

            if (!TryTime(f[timeCol], out DateTimeOffset t))
            {
                throw new ChipKitInputException($"power log '{path}:{lineNo}': timestamp \"{Clip(f[timeCol])}\" is neither ISO-8601 (2026-11-26T07:45:00Z) nor unix seconds");
            }

            if (!double.TryParse(f[valueCol], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v) || v < 0)
            {
                throw new ChipKitInputException($"power log '{path}:{lineNo}': {(kind == PowerLogKind.Watts ? "watts" : "joules")} \"{Clip(f[valueCol])}\" is not a finite number >= 0");
            }

            if (samples.Count > 0)
            {
                PowerLogSample prev = samples[^1];
                if (t <= prev.Time)
                {
                    throw new ChipKitInputException($"power log '{path}:{lineNo}': timestamp {t:O} does not increase (line {prev.Line} has {prev.Time:O})");
                }

                if (kind == PowerLogKind.Joules && v < prev.Value)
                {
                    throw new ChipKitInputException($"power log '{path}:{lineNo}': cumulative joules went down ({prev.Value} at line {prev.Line}, {v} here): a counter reset; restart the logger or log watts");
                }
            }

            samples.Add(new PowerLogSample(t, v, lineNo));
        }

        return new PowerLog(kind, samples);
    }

    /// <summary>
    /// Energy over [start, end]: the trapezoid integral of watts, or the difference of cumulative joules, each
    /// linearly interpolated at the window's ends. No figure (with the reason) when the log does not cover the window
    /// or has a gap longer than <paramref name="maxGapSeconds"/> inside it.
    /// </summary>
    public static WindowEnergy Integrate(PowerLog log, DateTimeOffset start, DateTimeOffset end, double maxGapSeconds, string path)
    {
        ArgumentNullException.ThrowIfNull(log);
        IReadOnlyList<PowerLogSample> s = log.Samples;
        if (end <= start)
        {
            return new WindowEnergy(null, $"empty window {start:O} .. {end:O}", 0);
        }

        if (s.Count < 2)
        {
            return new WindowEnergy(null, $"power log '{path}' has {s.Count} sample(s); it cannot cover the window {start:O} .. {end:O}", s.Count);
        }

        if (s[0].Time > start)
        {
            return new WindowEnergy(null, $"power log '{path}' starts at {s[0].Time:O}, after the window's start {start:O}", 0);
        }

        if (s[^1].Time < end)
        {
            return new WindowEnergy(null, $"power log '{path}' ends at {s[^1].Time:O} (line {s[^1].Line}), before the window's end {end:O}", 0);
        }

        // The samples that bracket the window: lo is the last at or before start, hi the first at or after end.
        int lo = 0;
        while (lo + 1 < s.Count && s[lo + 1].Time <= start)
        {
            lo++;
        }

        int hi = lo;
        while (s[hi].Time < end)
        {
            hi++;
        }

        for (int i = lo; i < hi; i++)
        {
            double gap = (s[i + 1].Time - s[i].Time).TotalSeconds;
            if (gap > maxGapSeconds)
            {
                return new WindowEnergy(null, string.Create(CultureInfo.InvariantCulture,
                    $"power log '{path}' has a gap of {gap:0.###} s between lines {s[i].Line} and {s[i + 1].Line} inside the window (at most {maxGapSeconds:0.###} s allowed)"), 0);
            }
        }

        int inside = s.Skip(lo).Take(hi - lo + 1).Count(x => x.Time >= start && x.Time <= end);
        if (log.Kind == PowerLogKind.Joules)
        {
            return new WindowEnergy(At(s, hi - 1, end) - At(s, lo, start), null, inside);
        }

        // Trapezoids over [start, end]: the interpolated value at start, the samples strictly inside, the value at end.
        double joules = 0;
        DateTimeOffset pt = start;
        double pv = At(s, lo, start);
        for (int i = lo + 1; i <= hi; i++)
        {
            DateTimeOffset t = s[i].Time < end ? s[i].Time : end;
            double v = s[i].Time < end ? s[i].Value : At(s, i - 1, end);
            joules += 0.5 * (pv + v) * (t - pt).TotalSeconds;
            pt = t;
            pv = v;
        }

        return new WindowEnergy(joules, null, inside);
    }

    /// <summary>The value at <paramref name="t"/>, linearly interpolated between sample <paramref name="i"/> and the next.</summary>
    private static double At(IReadOnlyList<PowerLogSample> s, int i, DateTimeOffset t)
    {
        if (i + 1 >= s.Count || s[i].Time >= t)
        {
            return s[i].Value;
        }

        double f = (t - s[i].Time).TotalSeconds / (s[i + 1].Time - s[i].Time).TotalSeconds;
        return s[i].Value + (Math.Clamp(f, 0, 1) * (s[i + 1].Value - s[i].Value));
    }

    private static (PowerLogKind Kind, int TimeCol, int ValueCol) Header(string[] names, string path, int lineNo)
    {
        string[] n = names.Select(x => x.ToLowerInvariant()).ToArray();
        int time = Array.FindIndex(n, x => TimeNames.Contains(x));
        int watts = Array.FindIndex(n, x => WattNames.Contains(x));
        int joules = Array.FindIndex(n, x => JouleNames.Contains(x));
        if (time < 0)
        {
            throw new ChipKitInputException($"power log '{path}:{lineNo}': the header \"{Clip(string.Join(',', names))}\" has no time column (time, timestamp, ts, utc, date)");
        }

        if ((watts < 0) == (joules < 0))
        {
            throw new ChipKitInputException($"power log '{path}:{lineNo}': the header \"{Clip(string.Join(',', names))}\" must name exactly one value column: watts (w, power, power_w) or joules (j, energy, energy_j)");
        }

        return watts >= 0 ? (PowerLogKind.Watts, time, watts) : (PowerLogKind.Joules, time, joules);
    }

    /// <summary>ISO-8601 (UTC when no offset is given) or unix seconds (a plain number).</summary>
    public static bool TryTime(string s, out DateTimeOffset t)
    {
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double unix))
        {
            if (double.IsFinite(unix) && unix >= 0 && unix < 253402300799)
            {
                t = DateTimeOffset.UnixEpoch.AddTicks((long)Math.Round(unix * TimeSpan.TicksPerSecond));
                return true;
            }

            t = default;
            return false;
        }

        return DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out t)
            && s.Contains('-', StringComparison.Ordinal);
    }

    private static string Clip(string s) => s.Length <= 60 ? s : s[..57] + "...";
}
