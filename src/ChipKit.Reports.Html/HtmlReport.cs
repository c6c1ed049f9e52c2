using System.Globalization;
using System.Net;
using System.Text;
using ChipKit.Harness.Reports;
using ChipKit.Harness.Results;

namespace ChipKit.Reports.Html;

/// <summary>
/// `chipkit report --format html`: one self-contained HTML page (inline CSS, charts as inline SVG; no script, no
/// external stylesheet, font or image) with the runs' provenance, the charts, the results with their verification and
/// the failures with their reasons. Every string that comes from a file is HTML-encoded.
/// </summary>
public static class HtmlReport
{
    private const string Css = """
        body{font-family:"DejaVu Sans",Arial,Helvetica,sans-serif;margin:24px;color:#222;background:#fff;max-width:1400px}
        h1{font-size:22px;margin:0 0 8px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ccc}
        table{border-collapse:collapse;font-size:12px;margin:6px 0 12px}
        th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
        table.wide{width:100%}td.w{overflow-wrap:anywhere}
        th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums}
        .ok{color:#1a7f37}.failed{color:#c62828;font-weight:bold}.skipped{color:#8a6d00}
        .measured{color:#1a7f37}.modeled{color:#1f5fbf}.declared{color:#b45f06;font-style:italic}.none{color:#777}
        figure.chart{margin:10px 0 24px}figcaption{font-size:12px;color:#444;max-width:960px}
        .note{font-size:12px;color:#555}code{font-size:12px}
        """;

    /// <summary>The whole page.</summary>
    public static string Render(ReportSet set, DateTimeOffset generated)
    {
        ArgumentNullException.ThrowIfNull(set);
        var sb = new StringBuilder();
        sb.AppendLine("<!DOCTYPE html>");
        sb.AppendLine("<html lang=\"en\"><head><meta charset=\"utf-8\">");
        sb.AppendLine("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        sb.AppendLine("<title>ChipKit report</title>");
        sb.Append("<style>").Append(Css).AppendLine("</style></head><body>");
        sb.AppendLine("<h1>ChipKit report</h1>");
        sb.Append("<p class=\"note\">Generated ").Append(E(generated.ToString("u", CultureInfo.InvariantCulture)))
          .Append(" from ").Append(set.Runs.Count).Append(" results file(s) and ").Append(set.Sweeps.Count).Append(" sweep(s): ")
          .Append(set.Count("ok")).Append(" ok, ").Append(set.Count("failed")).Append(" failed, ").Append(set.Count("skipped")).AppendLine(" skipped. "
          + "Every figure names its source: <span class=\"measured\">measured</span> (clock or meter), <span class=\"modeled\">modeled</span> (cycle / energy model), "
          + "<span class=\"declared\">declared</span> (a wattage the user assumed; never a measurement), or none.</p>");
        foreach (string n in set.Notes)
        {
            sb.Append("<p class=\"note\">").Append(E(n)).AppendLine("</p>");
        }

        Runs(sb, set);
        Dictionary<string, int> keys = Charts.WorkloadKeys(set.Entries);
        List<Chart> charts = BuildCharts(set, keys);
        sb.AppendLine("<h2 id=\"charts\">Charts</h2>");
        if (charts.Count == 0)
        {
            sb.AppendLine("<p>No chart: no verified result with a throughput figure, and no sweep.</p>");
        }

        foreach (Chart c in charts)
        {
            sb.Append("<figure class=\"chart\" id=\"chart-").Append(E(c.Id)).Append("\" data-chart=\"").Append(E(c.Id)).AppendLine("\">");
            sb.AppendLine(Scoped(c.Svg, c.Id).Replace("<svg ", "<svg role=\"img\" aria-label=\"" + E(c.Title) + "\" ", StringComparison.Ordinal));
            sb.Append("<figcaption>").Append(E(c.Caption)).AppendLine("</figcaption></figure>");
        }

        NoEnergyNote(sb, set);
        Results(sb, set, keys);
        Failures(sb, set);
        Sweeps(sb, set);
        sb.AppendLine("<p class=\"note\">Throughput counts 2 operations per multiply-accumulate (int8 ops are integer ops). Roofline intensity: ops / bytes of inputs + weights + outputs moved once. "
            + "GOP/s per W = throughput over the average power of the energy loop (measured) or of the model (modeled); declared figures use the wattage given with --declared-watts.</p>");
        sb.AppendLine("</body></html>");
        return sb.ToString();
    }

    /// <summary>The charts the page will hold, in order (also what tests count).</summary>
    public static List<Chart> BuildCharts(ReportSet set, Dictionary<string, int> keys)
    {
        ArgumentNullException.ThrowIfNull(set);
        var charts = new List<Chart>();
        Add(charts, Charts.Gops(set, keys));
        Add(charts, Charts.GopsPerWatt(set, keys));
        foreach (ReportRun run in set.Runs)
        {
            foreach (DeviceRecord d in run.Doc.Devices)
            {
                Add(charts, Charts.Roofline(run, d, run.Doc.Results, set.Merged, keys));
            }
        }

        foreach (ReportRun run in set.Runs)
        {
            foreach (string device in run.Doc.Results.Where(r => r.Energy.Breakdown is { Count: > 0 }).Select(r => r.Device).Distinct())
            {
                Add(charts, Charts.EnergyBreakdown(run, device, run.Doc.Results, set.Merged, keys));
            }
        }

        foreach (SweepInput s in set.Sweeps)
        {
            Add(charts, Charts.Pareto(s));
        }

        return charts;
    }

    private static void Add(List<Chart> charts, Chart? c)
    {
        if (c is not null)
        {
            charts.Add(c);
        }
    }

    private static void Runs(StringBuilder sb, ReportSet set)
    {
        if (set.Runs.Count == 0)
        {
            return;
        }

        sb.AppendLine("<h2 id=\"runs\">Runs</h2><table><tr><th>run</th><th>file</th><th>created</th><th>machine</th><th>ChipKit</th><th>settings</th></tr>");
        foreach (ReportRun r in set.Runs)
        {
            ResultsDocument d = r.Doc;
            string machine = $"{d.Machine.Cpu}, {d.Machine.Cores} cores, {d.Machine.Os}, {d.Machine.Arch}, {d.Machine.Runtime}, host {d.Machine.Hostname}";
            string settings = string.Create(CultureInfo.InvariantCulture,
                $"suite {d.Run.Suite ?? "-"}, min-time {d.Run.MinTimeSeconds} s, warmup {d.Run.WarmupSeconds} s, min-samples {d.Run.MinSamples}, seed {d.Run.Seed}, threads {d.Run.Threads}; args: {string.Join(' ', d.Run.Args)}");
            Row(sb, [r.Tag, r.Path, d.Created.ToString("u", CultureInfo.InvariantCulture), machine, $"{d.Chipkit.Version} ({d.Chipkit.Commit ?? "unknown commit"})", settings]);
        }

        sb.AppendLine("</table>");
        sb.AppendLine("<h2 id=\"devices\">Devices</h2><table><tr><th>run</th><th>device</th><th>backend</th><th>name</th><th>available</th><th>roofline ceilings</th></tr>");
        foreach (ReportRun r in set.Runs)
        {
            foreach (DeviceRecord dev in r.Doc.Devices)
            {
                string peak = dev.Peak is not PeakRecord p ? "none recorded (chipkit run --peak, or chipkit report --peak FILE)"
                    : string.Join(", ", p.ComputeGops.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key} {Charts.Num(k.Value)} GOP/s"))
                      + (p.MemoryGbps is double bw ? $", memory {Charts.Num(bw)} GB/s" : ", memory unknown")
                      + $" ({p.Source}{(p.Note is null ? "" : ": " + p.Note)})";
                sb.Append("<tr>");
                Cell(sb, r.Tag);
                Cell(sb, dev.Id);
                Cell(sb, dev.Backend);
                Cell(sb, dev.Name);
                Cell(sb, dev.Available ? "yes" : $"no: {dev.Reason}");
                Cell(sb, peak, dev.Peak?.Source);
                sb.AppendLine("</tr>");
            }
        }

        sb.AppendLine("</table>");
    }

    private static void NoEnergyNote(StringBuilder sb, ReportSet set)
    {
        var without = set.Entries.Where(e => e.Result.Status == "ok" && e.Result.Energy.GopsPerWatt is null)
            .GroupBy(e => e.DeviceLabel(set.Merged))
            .Select(g => $"{g.Key}: {g.First().Result.Energy.Note ?? g.First().Result.Energy.Source}")
            .ToList();
        if (without.Count > 0)
        {
            sb.Append("<p class=\"note\">No GOP/s per W for: ").Append(E(string.Join("; ", without))).AppendLine(".</p>");
        }
    }

    private static void Results(StringBuilder sb, ReportSet set, Dictionary<string, int> keys)
    {
        List<ReportEntry> entries = set.Entries.ToList();
        if (entries.Count == 0)
        {
            return;
        }

        sb.AppendLine("<h2 id=\"results\">Results</h2><table class=\"wide\"><tr><th>#</th>" + (set.Merged ? "<th>run</th>" : "")
            + "<th>workload</th><th>device</th><th>kernel</th><th>status</th><th>verified (max err / bound)</th><th>median ms</th><th>GOP/s</th><th>cv %</th><th>time source</th>"
            + "<th>energy / run</th><th>GOP/s per W</th><th>energy source</th><th>intensity ops/B</th><th>% of roofline</th></tr>");
        foreach (ReportEntry e in entries)
        {
            ResultRecord r = e.Result;
            string kind = Provenance.EnergyKind(r.Energy.Source);
            string verified = !r.Verified ? "no" : r.Error is null ? "yes"
                : r.Error.Bound == 0 ? (r.Error.Mismatches == 0 ? "yes, bit-exact" : $"no, {r.Error.Mismatches} differ")
                : string.Create(CultureInfo.InvariantCulture, $"yes, {r.Error.MaxRel:0.0e+0} / {r.Error.Bound:0.0e+0}");
            double? intensity = Roofline.Intensity(r);
            double? attainable = intensity is double i ? Roofline.Attainable(e.Device?.Peak, r.Op, i) : null;
            sb.Append("<tr>");
            Cell(sb, "#" + keys[r.Workload].ToString(CultureInfo.InvariantCulture));
            if (set.Merged)
            {
                Cell(sb, e.Run.Tag);
            }

            Cell(sb, r.Workload, "w");
            Cell(sb, r.Device, "w");
            Cell(sb, r.Kernel ?? "-", "w");
            Cell(sb, r.Status, r.Status);
            Cell(sb, verified);
            Num(sb, r.Seconds is null ? null : r.Seconds.Median * 1e3, "0.####");
            Num(sb, r.Gops, "0.###");
            Num(sb, r.Seconds is null ? null : r.Seconds.Cv * 100, "0.0");
            Cell(sb, WithKind(r.TimeSource, Provenance.TimeKind(r.TimeSource)), Provenance.TimeKind(r.TimeSource));
            Cell(sb, r.Energy.Joules is double j ? Charts.Joules(j) : "-", kind);
            Num(sb, r.Energy.GopsPerWatt, "0.###", kind);
            Cell(sb, WithKind(r.Energy.Source, kind), kind);
            Num(sb, intensity, "0.##");
            Num(sb, attainable is double a && r.Gops is double g ? 100 * g / a : null, "0.#");
            sb.AppendLine("</tr>");
        }

        sb.AppendLine("</table>");
    }

    private static void Failures(StringBuilder sb, ReportSet set)
    {
        var bad = set.Entries.Where(e => e.Result.Status != "ok").ToList();
        sb.AppendLine("<h2 id=\"failures\">Failures and skips</h2>");
        if (bad.Count == 0)
        {
            sb.AppendLine("<p>None: every result verified.</p>");
            return;
        }

        sb.AppendLine("<table><tr><th>run</th><th>workload</th><th>device</th><th>status</th><th>reason</th></tr>");
        foreach (ReportEntry e in bad)
        {
            sb.Append("<tr>");
            Cell(sb, e.Run.Tag);
            Cell(sb, e.Result.Workload);
            Cell(sb, e.Result.Device);
            Cell(sb, e.Result.Status, e.Result.Status);
            Cell(sb, e.Result.Message ?? "(no message)");
            sb.AppendLine("</tr>");
        }

        sb.AppendLine("</table>");
    }

    private static void Sweeps(StringBuilder sb, ReportSet set)
    {
        foreach (SweepInput s in set.Sweeps)
        {
            sb.Append("<h2 id=\"sweep-").Append(E(Charts.Slug(s.Tag))).Append("\">Sweep ").Append(E(s.Tag)).Append(": ").Append(E(s.Module)).AppendLine(" (modeled)</h2>");
            sb.Append("<p class=\"note\">").Append(E(s.Path)).Append(": ").Append(s.Points.Count).Append(" design points over ")
              .Append(s.Workloads.Count).Append(" workloads. ").Append(E(s.Source)).AppendLine("</p>");
            sb.AppendLine("<table><tr><th>index</th><th>design point</th><th>latency ms</th><th>energy mJ</th><th>TOPS/W</th></tr>");
            foreach (SweepPointData p in s.Points.Where(p => p.Pareto).OrderBy(p => p.LatencySeconds))
            {
                sb.Append("<tr>");
                Num(sb, p.Index, "0");
                Cell(sb, p.Label);
                Num(sb, p.LatencySeconds * 1e3, "0.####");
                Num(sb, p.EnergyJoules * 1e3, "0.####");
                Num(sb, p.TopsPerWatt, "0.###");
                sb.AppendLine("</tr>");
            }

            sb.AppendLine("</table>");
        }
    }

    /// <summary>"rapl (measured)", "wall (measured)"; a source that is its own kind (modeled, declared, none) alone.</summary>
    private static string WithKind(string source, string kind) => source == kind ? source : $"{source} ({kind})";

    private static void Row(StringBuilder sb, string[] cells)
    {
        sb.Append("<tr>");
        foreach (string c in cells)
        {
            Cell(sb, c);
        }

        sb.AppendLine("</tr>");
    }

    private static void Cell(StringBuilder sb, string text, string? cssClass = null)
    {
        sb.Append(cssClass is null ? "<td>" : $"<td class=\"{E(cssClass)}\">").Append(E(text)).Append("</td>");
    }

    private static void Num(StringBuilder sb, double? v, string format, string? cssClass = null)
    {
        sb.Append(cssClass is null ? "<td class=\"n\">" : $"<td class=\"n {E(cssClass)}\">")
          .Append(v is double x ? E(x.ToString(format, CultureInfo.InvariantCulture)) : "-").Append("</td>");
    }

    /// <summary>
    /// Prefixes the SVG's element ids (clip paths) and their url(#...) references with the chart id: several SVGs
    /// inlined into one page share one id namespace, and a clash would clip one chart with another's rectangle.
    /// </summary>
    private static string Scoped(string svg, string chartId)
    {
        string prefix = Charts.Slug(chartId) + "-";
        svg = System.Text.RegularExpressions.Regex.Replace(svg, "\\bid=\"([^\"]+)\"", m => $"id=\"{prefix}{m.Groups[1].Value}\"");
        return System.Text.RegularExpressions.Regex.Replace(svg, "url\\(#([^)]+)\\)", m => $"url(#{prefix}{m.Groups[1].Value})");
    }

    /// <summary>HTML-encodes text from a results file (element content and attribute values alike).</summary>
    public static string E(string? s) => WebUtility.HtmlEncode(s ?? "");
}
