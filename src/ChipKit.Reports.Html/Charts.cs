using System.Globalization;
using ChipKit.Harness.Reports;
using ChipKit.Harness.Results;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace ChipKit.Reports.Html;

/// <summary>One chart of the report: a stable id (for tests and anchors), a title, the inline SVG and a caption.</summary>
public sealed record Chart(string Id, string Title, string Svg, string Caption);

/// <summary>
/// The report's charts, drawn with ScottPlot and exported as SVG (text stays text; no raster, no external resource).
/// Throughput axes are logarithmic: a reference oracle, a SIMD CPU and a modeled accelerator differ by orders of magnitude.
/// </summary>
public static class Charts
{
    public const int Width = 960;
    public const int Height = 440;

    /// <summary>Device colours (Tableau 10): device i of a chart is always colour i.</summary>
    public static readonly string[] DevicePalette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

    private static readonly string[] ComponentPalette = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

    public static Color DeviceColor(int i) => Color.FromHex(DevicePalette[i % DevicePalette.Length]);

    /// <summary>Every device label of the report in first-seen order: a device keeps its colour in every chart.</summary>
    public static List<string> DeviceOrder(ReportSet set) => set.Entries.Select(e => e.DeviceLabel(set.Merged)).Distinct().ToList();

    /// <summary>Workload keys "#1", "#2", ... in first-seen order; the results table lists the same keys.</summary>
    public static Dictionary<string, int> WorkloadKeys(IEnumerable<ReportEntry> entries)
    {
        var keys = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (ReportEntry e in entries)
        {
            keys.TryAdd(e.Result.Workload, keys.Count + 1);
        }

        return keys;
    }

    /// <summary>GOP/s of every verified result: one group of bars per workload, one bar per device (and run, when merged).</summary>
    public static Chart? Gops(ReportSet set, Dictionary<string, int> keys)
    {
        List<ReportEntry> ok = set.Entries.Where(e => e.Result.Status == "ok" && e.Result.Gops is > 0).ToList();
        if (ok.Count == 0)
        {
            return null;
        }

        List<string> devices = ok.Select(e => e.DeviceLabel(set.Merged)).Distinct().ToList();
        List<string> all = DeviceOrder(set);
        using var plt = NewPlot();
        List<(ReportEntry E, double V)> values = ok.Select(e => (e, e.Result.Gops!.Value)).ToList();
        double floor = LogFloor(values.Select(v => v.V));
        var bars = new List<Bar>();
        foreach ((ReportEntry e, double v) in values)
        {
            int d = devices.IndexOf(e.DeviceLabel(set.Merged));
            bars.Add(new Bar
            {
                Position = GroupPosition(keys[e.Result.Workload], d, devices.Count),
                Value = Math.Log10(v),
                ValueBase = floor,
                Size = 0.8 / devices.Count,
                FillColor = DeviceColor(all.IndexOf(devices[d])),
                LineWidth = 0,
            });
        }

        plt.Add.Bars(bars);
        WorkloadAxis(plt, keys, ok);
        LogAxis(plt.Axes.Left);
        plt.Axes.SetLimitsY(floor, LogCeiling(values.Select(v => v.V)));
        for (int d = 0; d < devices.Count; d++)
        {
            plt.Legend.ManualItems.Add(new LegendItem { LabelText = devices[d], FillColor = DeviceColor(all.IndexOf(devices[d])), LineWidth = 0 });
        }

        plt.ShowLegend(Edge.Right);
        plt.Title("Throughput (GOP/s, log scale) per workload and device");
        plt.YLabel("GOP/s");
        plt.XLabel("workload (# as in the results table)");
        return new Chart("gops", "Throughput per workload and device", Svg(plt),
            "Median GOP/s of the verified results (2 ops per multiply-accumulate). Time sources: wall clock or device events (measured); npu devices: modeled cycles.");
    }

    /// <summary>
    /// GOP/s per W: bars styled by the figure's source. Measured (meter): solid fill; modeled: pale fill with a solid
    /// outline; declared (a wattage the user assumed): outline only, and labelled "decl" on the bar.
    /// </summary>
    public static Chart? GopsPerWatt(ReportSet set, Dictionary<string, int> keys)
    {
        List<ReportEntry> with = set.Entries.Where(e => e.Result.Status == "ok" && e.Result.Energy.GopsPerWatt is > 0).ToList();
        if (with.Count == 0)
        {
            return null;
        }

        List<string> devices = with.Select(e => e.DeviceLabel(set.Merged)).Distinct().ToList();
        List<string> all = DeviceOrder(set);
        using var plt = NewPlot();
        double floor = LogFloor(with.Select(e => e.Result.Energy.GopsPerWatt!.Value));
        var bars = new List<Bar>();
        var kinds = new SortedSet<string>(StringComparer.Ordinal);
        foreach (ReportEntry e in with)
        {
            int d = devices.IndexOf(e.DeviceLabel(set.Merged));
            string kind = Provenance.EnergyKind(e.Result.Energy.Source);
            kinds.Add(kind);
            Color c = DeviceColor(all.IndexOf(devices[d]));
            var bar = new Bar
            {
                Position = GroupPosition(keys[e.Result.Workload], d, devices.Count),
                Value = Math.Log10(e.Result.Energy.GopsPerWatt!.Value),
                ValueBase = floor,
                Size = 0.8 / devices.Count,
                Label = kind switch { "measured" => e.Result.Energy.Source, "modeled" => "model", _ => "decl" },
            };
            StyleBySource(bar, kind, c);
            bars.Add(bar);
        }

        var plot = plt.Add.Bars(bars);
        plot.ValueLabelStyle.FontSize = 10;
        WorkloadAxis(plt, keys, with);
        LogAxis(plt.Axes.Left);
        plt.Axes.SetLimitsY(floor, LogCeiling(with.Select(e => e.Result.Energy.GopsPerWatt!.Value)) + 0.3);
        for (int d = 0; d < devices.Count; d++)
        {
            plt.Legend.ManualItems.Add(new LegendItem { LabelText = devices[d], FillColor = DeviceColor(all.IndexOf(devices[d])), LineWidth = 0 });
        }

        foreach (string k in kinds)
        {
            var item = new LegendItem { LabelText = k switch { "measured" => "measured (meter)", "modeled" => "modeled (energy model)", _ => "declared (assumed W, not measured)" } };
            var sample = new Bar();
            StyleBySource(sample, k, Colors.Gray);
            item.FillColor = sample.FillColor;
            item.OutlineColor = sample.LineColor;
            item.OutlineWidth = sample.LineWidth;
            plt.Legend.ManualItems.Add(item);
        }

        plt.ShowLegend(Edge.Right);
        plt.Title("Throughput per watt (GOP/s per W, log scale); source on each bar");
        plt.YLabel("GOP/s per W");
        plt.XLabel("workload (# as in the results table)");
        return new Chart("gops-per-watt", "Throughput per watt, by energy source", Svg(plt),
            "Solid bars: measured by a meter (rapl, nvml, external log); pale bars with an outline: modeled by the module's energy model; outline-only bars labelled decl: a declared wattage, never a measurement.");
    }

    /// <summary>Solid for measured, pale fill + outline for modeled, outline only for declared.</summary>
    private static void StyleBySource(Bar bar, string kind, Color c)
    {
        switch (kind)
        {
            case "measured":
                bar.FillColor = c;
                bar.LineWidth = 0;
                break;
            case "modeled":
                bar.FillColor = c.WithAlpha(0.35);
                bar.LineColor = c;
                bar.LineWidth = 2;
                break;
            default:
                bar.FillColor = Colors.White.WithAlpha(0);
                bar.LineColor = c;
                bar.LineWidth = 2.5f;
                break;
        }
    }

    /// <summary>
    /// The roofline of one device: its compute ceiling per data type and its memory-bandwidth roof, on log-log axes,
    /// and each verified result as a point at (operational intensity, GOP/s).
    /// </summary>
    public static Chart? Roofline(ReportRun run, DeviceRecord device, IReadOnlyList<ResultRecord> results, bool merged, Dictionary<string, int> keys)
    {
        PeakRecord? peak = device.Peak;
        if (peak is null || peak.MemoryGbps is not double bw || bw <= 0 || peak.ComputeGops.Count == 0)
        {
            return null;
        }

        var points = results
            .Where(r => r.Device == device.Id && r.Status == "ok" && r.Gops is > 0)
            .Select(r => (R: r, I: Harness.Reports.Roofline.Intensity(r)))
            .Where(p => p.I is > 0)
            .ToList();
        if (points.Count == 0)
        {
            return null;
        }

        using var plt = NewPlot();
        double xMin = Math.Floor(Math.Log10(Math.Min(points.Min(p => p.I!.Value), peak.ComputeGops.Values.Min() / bw)) - 0.5);
        double xMax = Math.Ceiling(Math.Log10(Math.Max(points.Max(p => p.I!.Value), peak.ComputeGops.Values.Max() / bw)) + 0.5);
        string[] roofColors = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd"];
        int ci = 0;
        foreach ((string type, double compute) in peak.ComputeGops.OrderBy(k => k.Key, StringComparer.Ordinal))
        {
            Color c = Color.FromHex(roofColors[ci++ % roofColors.Length]);
            double ridge = Math.Log10(Harness.Reports.Roofline.Ridge(compute, bw));
            double[] xs = [xMin, ridge, xMax];
            double[] ys = [Math.Log10(bw) + xMin, Math.Log10(compute), Math.Log10(compute)];
            var roof = plt.Add.Scatter(xs, ys);
            roof.Color = c;
            roof.LineWidth = 2;
            roof.MarkerSize = 0;
            roof.LegendText = string.Create(CultureInfo.InvariantCulture, $"{type} roof: {Num(compute)} GOP/s, {Num(bw)} GB/s ({peak.Source})");

            var pts = points.Where(p => Harness.Reports.Roofline.DataType(p.R.Op) == type).ToList();
            if (pts.Count > 0)
            {
                var sc = plt.Add.ScatterPoints(pts.Select(p => Math.Log10(p.I!.Value)).ToArray(), pts.Select(p => Math.Log10(p.R.Gops!.Value)).ToArray());
                sc.Color = c;
                sc.MarkerSize = 9;
                sc.MarkerShape = type == "int8" ? MarkerShape.FilledSquare : MarkerShape.FilledCircle;
                sc.LegendText = $"{type} workloads";
                foreach (var p in pts)
                {
                    var t = plt.Add.Text("#" + keys[p.R.Workload].ToString(CultureInfo.InvariantCulture), Math.Log10(p.I!.Value), Math.Log10(p.R.Gops!.Value));
                    t.LabelFontSize = 10;
                    t.LabelFontColor = Colors.Black;
                    t.LabelAlignment = Alignment.LowerLeft;
                }
            }
        }

        double yTop = Math.Ceiling(Math.Log10(Math.Max(peak.ComputeGops.Values.Max(), points.Max(p => p.R.Gops!.Value))) + 0.3);
        double yBottom = Math.Floor(Math.Min(Math.Log10(bw) + xMin, Math.Log10(points.Min(p => p.R.Gops!.Value))) - 0.2);
        plt.Axes.SetLimits(xMin, xMax, yBottom, yTop);
        LogAxis(plt.Axes.Left);
        LogAxis(plt.Axes.Bottom);
        plt.ShowLegend(Alignment.LowerRight);
        string label = merged ? $"{run.Tag}:{device.Id}" : device.Id;
        plt.Title($"Roofline: {label} (ceilings {peak.Source})");
        plt.XLabel("operational intensity (ops per byte of minimum traffic)");
        plt.YLabel("GOP/s");
        return new Chart($"roofline-{Slug(label)}", $"Roofline of {label}", Svg(plt),
            $"Ceilings {peak.Source}{(peak.Note is null ? "" : ": " + peak.Note)}. Intensity = ops / (inputs + weights + outputs, each moved once). Points: verified results (# as in the results table).");
    }

    /// <summary>Modeled energy per run by component (MAC, each SRAM, DRAM, leakage), as shares of the total, one bar per workload.</summary>
    public static Chart? EnergyBreakdown(ReportRun run, string deviceId, IReadOnlyList<ResultRecord> results, bool merged, Dictionary<string, int> keys)
    {
        var rows = results.Where(r => r.Device == deviceId && r.Status == "ok" && r.Energy.Breakdown is { Count: > 0 }).ToList();
        if (rows.Count == 0)
        {
            return null;
        }

        List<string> components = rows.SelectMany(r => r.Energy.Breakdown!.Keys).Distinct().ToList();
        using var plt = NewPlot();
        var bars = new List<Bar>();
        foreach (ResultRecord r in rows)
        {
            double total = r.Energy.Breakdown!.Values.Where(v => v > 0).Sum();
            double x = keys[r.Workload];
            double at = 0;
            for (int c = 0; c < components.Count; c++)
            {
                if (!r.Energy.Breakdown.TryGetValue(components[c], out double j) || !(j > 0) || total <= 0)
                {
                    continue;
                }

                double share = 100 * j / total;
                bars.Add(new Bar { Position = x, ValueBase = at, Value = at + share, Size = 0.7, FillColor = Color.FromHex(ComponentPalette[c % ComponentPalette.Length]), LineWidth = 0 });
                at += share;
            }

            var t = plt.Add.Text(Joules(total), x, 101);
            t.LabelFontSize = 10;
            t.LabelAlignment = Alignment.LowerCenter;
        }

        plt.Add.Bars(bars);
        plt.Axes.Bottom.TickGenerator = new NumericManual(
            rows.Select(r => (double)keys[r.Workload]).ToArray(),
            rows.Select(r => "#" + keys[r.Workload].ToString(CultureInfo.InvariantCulture)).ToArray());
        plt.Axes.SetLimitsY(0, 112);
        for (int c = 0; c < components.Count; c++)
        {
            plt.Legend.ManualItems.Add(new LegendItem { LabelText = components[c], FillColor = Color.FromHex(ComponentPalette[c % ComponentPalette.Length]), LineWidth = 0 });
        }

        plt.ShowLegend(Edge.Right);
        string label = merged ? $"{run.Tag}:{deviceId}" : deviceId;
        plt.Title($"Modeled energy per run by component: {label}");
        plt.YLabel("% of the run's energy");
        plt.XLabel("workload (# as in the results table); total energy per run on top");
        return new Chart($"energy-breakdown-{Slug(label)}", $"Modeled energy breakdown of {label}", Svg(plt),
            "Modeled, not measured: action counts x energy per action from the module's table, plus leakage x modeled time.");
    }

    /// <summary>A sweep's design points (latency vs energy per inference, log-log) with the Pareto front drawn as a line.</summary>
    public static Chart? Pareto(SweepInput sweep)
    {
        var pts = sweep.Points.Where(p => p.LatencySeconds > 0 && p.EnergyJoules > 0).ToList();
        if (pts.Count == 0)
        {
            return null;
        }

        using var plt = NewPlot();
        var all = plt.Add.ScatterPoints(pts.Select(p => Math.Log10(p.LatencySeconds * 1e3)).ToArray(), pts.Select(p => Math.Log10(p.EnergyJoules * 1e3)).ToArray());
        all.Color = Color.FromHex("#9e9e9e");
        all.MarkerSize = 6;
        all.LegendText = $"design points ({pts.Count})";
        var front = pts.Where(p => p.Pareto).OrderBy(p => p.LatencySeconds).ToList();
        if (front.Count > 0)
        {
            var line = plt.Add.Scatter(front.Select(p => Math.Log10(p.LatencySeconds * 1e3)).ToArray(), front.Select(p => Math.Log10(p.EnergyJoules * 1e3)).ToArray());
            line.Color = Color.FromHex("#d62728");
            line.LineWidth = 2;
            line.MarkerSize = 8;
            line.LegendText = $"Pareto front ({front.Count})";
        }

        LogAxis(plt.Axes.Left);
        LogAxis(plt.Axes.Bottom);
        plt.ShowLegend(Alignment.UpperRight);
        plt.Title($"Sweep of {sweep.Module}: latency vs energy per inference (modeled)");
        plt.XLabel("latency per inference (ms)");
        plt.YLabel("energy per inference (mJ)");
        return new Chart($"pareto-{Slug(sweep.Tag)}", $"Pareto front of sweep {sweep.Tag}", Svg(plt),
            $"Modeled: {sweep.Source}. One inference = every workload of the sweep once ({sweep.Workloads.Count} workloads).");
    }

    private static Plot NewPlot()
    {
        var plt = new Plot();
        plt.Font.Set("DejaVu Sans");
        return plt;
    }

    private static double GroupPosition(int key, int device, int devices) => key + ((device - ((devices - 1) / 2.0)) * (0.8 / devices));

    private static void WorkloadAxis(Plot plt, Dictionary<string, int> keys, IEnumerable<ReportEntry> shown)
    {
        int[] ks = shown.Select(e => keys[e.Result.Workload]).Distinct().Order().ToArray();
        plt.Axes.Bottom.TickGenerator = new NumericManual(ks.Select(k => (double)k).ToArray(), ks.Select(k => "#" + k.ToString(CultureInfo.InvariantCulture)).ToArray());
        plt.Axes.SetLimitsX(ks.Min() - 0.6, ks.Max() + 0.6);
    }

    /// <summary>Ticks at integer powers of ten (values are log10 of the data), labelled with the data's values.</summary>
    private static void LogAxis(IAxis axis)
    {
        axis.TickGenerator = new NumericAutomatic
        {
            MinorTickGenerator = new LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = v => Num(Math.Pow(10, v)),
        };
    }

    private static double LogFloor(IEnumerable<double> values) => Math.Floor(Math.Log10(values.Min()) - 0.05);

    private static double LogCeiling(IEnumerable<double> values) => Math.Ceiling(Math.Log10(values.Max()) + 0.05);

    /// <summary>1e-3 -> "0.001", 1e4 -> "10000", 1e7 -> "1e+07": short and exact for powers of ten.</summary>
    public static string Num(double v) => v >= 1e-3 && v < 1e6 ? v.ToString("0.###", CultureInfo.InvariantCulture) : v.ToString("0.#e+0", CultureInfo.InvariantCulture);

    public static string Joules(double j) => j >= 1 ? $"{Num(j)} J" : j >= 1e-3 ? $"{Num(j * 1e3)} mJ" : $"{Num(j * 1e6)} µJ";

    public static string Slug(string s) => new(s.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '-').ToArray());

    /// <summary>The plot as an SVG element (no XML declaration), ready to inline into HTML.</summary>
    private static string Svg(Plot plt)
    {
        string svg = plt.GetSvgXml(Width, Height);
        int start = svg.IndexOf("<svg", StringComparison.Ordinal);
        return start > 0 ? svg[start..] : svg;
    }
}
