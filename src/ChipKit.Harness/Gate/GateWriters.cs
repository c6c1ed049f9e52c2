using System.Globalization;
using System.Text;
using System.Xml;

namespace ChipKit.Harness.Gate;

/// <summary>Renders a <see cref="GateReport"/> as console text, a Markdown pull-request comment or JUnit XML.</summary>
public static class GateWriters
{
    public static readonly string[] Columns = ["workload", "device", "baseline", "current", "change", "p", "n", "verdict"];

    public static string VerdictText(Verdict v) => v switch
    {
        Verdict.Pass => "pass",
        Verdict.Improved => "improved",
        Verdict.Regressed => "REGRESSED",
        Verdict.Insufficient => "INSUFFICIENT SAMPLES",
        Verdict.Missing => "MISSING",
        Verdict.MissingAllowed => "missing (allowed)",
        Verdict.Failed => "FAILED",
        Verdict.Error => "ERROR",
        Verdict.New => "new",
        _ => "skipped",
    };

    public static string FormatValue(GateMetric metric, double? value)
    {
        if (value is not double v)
        {
            return "-";
        }

        CultureInfo ic = CultureInfo.InvariantCulture;
        return metric switch
        {
            GateMetric.Seconds => v >= 1 ? v.ToString("0.000", ic) + " s" : v >= 1e-3 ? (v * 1e3).ToString("0.000", ic) + " ms" : (v * 1e6).ToString("0.00", ic) + " µs",
            GateMetric.Cycles => v.ToString("0", ic),
            GateMetric.Joules => v.ToString("G4", ic) + " J",
            GateMetric.GopsPerWatt => v.ToString("G4", ic),
            _ => v.ToString(v < 10 ? "0.000" : "0.0", ic),
        };
    }

    public static string[] Cells(GateReport report, GateRow r) =>
    [
        r.Workload,
        r.Device,
        FormatValue(report.Options.Metric, r.BaselineMedian),
        FormatValue(report.Options.Metric, r.CurrentMedian),
        r.ChangePercent is double c ? c.ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture) + "%" : "-",
        r.P is double p ? p.ToString(p < 1e-3 ? "0.0e+0" : "0.0000", CultureInfo.InvariantCulture) : (r.Method == "exact" ? "exact" : "-"),
        r.BaselineSamples + r.CurrentSamples == 0 ? "-" : $"{r.BaselineSamples}/{r.CurrentSamples}",
        VerdictText(r.Verdict),
    ];

    private static string Header(GateReport report) => report.Options.Metric is GateMetric.Seconds or GateMetric.Gops
        ? $"medians of {GateEngine.MetricName(report.Options.Metric)} ({report.Unit}, {report.Options.Clock.ToString().ToLowerInvariant()} clock)"
        : $"{GateEngine.MetricName(report.Options.Metric)} ({report.Unit})";

    /// <summary>Aligned text for the terminal, then the details of every row that is not a plain pass.</summary>
    public static string Text(GateReport report)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"chipkit gate: {report.Settings}");
        sb.AppendLine($"  baseline: {report.BaselinePath}");
        sb.AppendLine($"  current:  {report.CurrentPath}");
        sb.AppendLine($"  values: {Header(report)}; n = baseline/current samples");
        if (report.Aggregation is not null)
        {
            sb.AppendLine($"  {report.Aggregation}");
        }

        foreach (string w in report.Warnings)
        {
            sb.AppendLine($"warning: {w}");
        }

        foreach (string e in report.Errors)
        {
            sb.AppendLine($"error: {e}");
        }

        List<string[]> rows = report.Rows.Select(r => Cells(report, r)).ToList();
        int[] widths = Columns.Select((c, i) => Math.Max(c.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        string Line(string[] cells) => string.Join("  ", cells.Select((c, i) => i is >= 2 and <= 6 ? c.PadLeft(widths[i]) : c.PadRight(widths[i]))).TrimEnd();
        sb.AppendLine(Line(Columns));
        sb.AppendLine(Line(widths.Select(w => new string('-', w)).ToArray()));
        foreach (string[] row in rows)
        {
            sb.AppendLine(Line(row));
        }

        sb.AppendLine();
        foreach (GateRow r in report.Rows.Where(r => r.Verdict != Verdict.Pass || r.Method == "-"))
        {
            sb.AppendLine($"{VerdictText(r.Verdict)}: {r.Workload} on {r.Device}: {r.Detail}");
        }

        sb.AppendLine(Tally(report));
        return sb.ToString();
    }

    public static string Tally(GateReport report)
    {
        IEnumerable<string> counts = report.Rows.GroupBy(r => r.Verdict).OrderBy(g => g.Key).Select(g => $"{g.Count()} {VerdictText(g.Key).ToLowerInvariant()}");
        return $"gate: {report.Outcome} (exit {report.ExitCode}): {string.Join(", ", counts)}";
    }

    /// <summary>A Markdown summary for a pull-request comment or $GITHUB_STEP_SUMMARY.</summary>
    public static string Markdown(GateReport report)
    {
        string icon = report.ExitCode switch { 0 => "✅", 1 => "❌", _ => "⚠️" };
        var sb = new StringBuilder();
        sb.AppendLine($"## {icon} ChipKit performance gate: {report.Outcome}");
        sb.AppendLine();
        sb.AppendLine($"{Escape(report.Settings)}. Values: {Escape(Header(report))}. A workload regresses only when the change is significant and beyond the threshold.");
        sb.AppendLine();
        sb.AppendLine($"Baseline `{report.BaselinePath}`, current `{report.CurrentPath}`." + (report.Aggregation is null ? "" : $" Compared as {Escape(report.Aggregation)}."));
        sb.AppendLine();
        foreach (string w in report.Warnings)
        {
            sb.AppendLine($"> **Warning:** {Escape(w)}");
            sb.AppendLine();
        }

        foreach (string e in report.Errors)
        {
            sb.AppendLine($"> **Error:** {Escape(e)}");
            sb.AppendLine();
        }

        sb.AppendLine("| workload | device | baseline median | current median | change | p-value | n | verdict |");
        sb.AppendLine("|---|---|---:|---:|---:|---:|---:|---|");
        foreach (GateRow r in report.Rows)
        {
            string[] c = Cells(report, r);
            string verdict = r.Verdict switch
            {
                Verdict.Regressed => "❌ **regressed**",
                Verdict.Improved => "🚀 improved",
                Verdict.Pass => "✅ pass",
                Verdict.New or Verdict.Skipped or Verdict.MissingAllowed => c[7],
                _ => $"⚠️ **{c[7].ToLowerInvariant()}**",
            };
            sb.AppendLine($"| `{Escape(c[0])}` | {Escape(c[1])} | {c[2]} | {c[3]} | {c[4]} | {c[5]} | {c[6]} | {verdict} |");
        }

        List<GateRow> notable = report.Rows.Where(r => r.Verdict is not (Verdict.Pass or Verdict.Skipped)).ToList();
        if (notable.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("<details><summary>Details</summary>");
            sb.AppendLine();
            foreach (GateRow r in notable)
            {
                sb.AppendLine($"- **{VerdictText(r.Verdict)}** `{Escape(r.Workload)}` on {Escape(r.Device)}: {Escape(r.Detail)}");
            }

            sb.AppendLine();
            sb.AppendLine("</details>");
        }

        sb.AppendLine();
        sb.AppendLine(Escape(Tally(report)));
        return sb.ToString();
    }

    private static string Escape(string s) => s.Replace("|", "\\|", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal);

    /// <summary>
    /// JUnit XML: one testcase per workload x device (classname chipkit.gate.DEVICE, name = workload); a regression is a
    /// &lt;failure&gt;, missing/failed/insufficient/uncomparable data an &lt;error&gt;, allowed-missing and skipped a &lt;skipped&gt;.
    /// </summary>
    public static string JUnit(GateReport report)
    {
        var settings = new XmlWriterSettings { Indent = true, Encoding = new UTF8Encoding(false) };
        using var ms = new MemoryStream();
        using (XmlWriter x = XmlWriter.Create(ms, settings))
        {
            int failures = report.Rows.Count(r => r.Verdict == Verdict.Regressed);
            int errors = report.Rows.Count(r => r.Verdict is Verdict.Insufficient or Verdict.Missing or Verdict.Failed or Verdict.Error) + (report.Errors.Count > 0 ? 1 : 0);
            int skipped = report.Rows.Count(r => r.Verdict is Verdict.MissingAllowed or Verdict.Skipped);
            int tests = report.Rows.Count + (report.Errors.Count > 0 ? 1 : 0);
            x.WriteStartDocument();
            x.WriteStartElement("testsuites");
            x.WriteAttributeString("name", "chipkit gate");
            x.WriteAttributeString("tests", tests.ToString(CultureInfo.InvariantCulture));
            x.WriteAttributeString("failures", failures.ToString(CultureInfo.InvariantCulture));
            x.WriteAttributeString("errors", errors.ToString(CultureInfo.InvariantCulture));
            x.WriteAttributeString("skipped", skipped.ToString(CultureInfo.InvariantCulture));
            x.WriteStartElement("testsuite");
            x.WriteAttributeString("name", "chipkit.gate");
            x.WriteAttributeString("tests", tests.ToString(CultureInfo.InvariantCulture));
            x.WriteAttributeString("failures", failures.ToString(CultureInfo.InvariantCulture));
            x.WriteAttributeString("errors", errors.ToString(CultureInfo.InvariantCulture));
            x.WriteAttributeString("skipped", skipped.ToString(CultureInfo.InvariantCulture));
            x.WriteStartElement("properties");
            WriteProperty(x, "settings", report.Settings);
            WriteProperty(x, "baseline", report.BaselinePath);
            WriteProperty(x, "current", report.CurrentPath);
            if (report.Aggregation is not null)
            {
                WriteProperty(x, "aggregation", report.Aggregation);
            }

            foreach (string w in report.Warnings)
            {
                WriteProperty(x, "warning", w);
            }

            x.WriteEndElement();
            if (report.Errors.Count > 0)
            {
                x.WriteStartElement("testcase");
                x.WriteAttributeString("classname", "chipkit.gate");
                x.WriteAttributeString("name", "machine");
                x.WriteStartElement("error");
                x.WriteAttributeString("message", string.Join("; ", report.Errors));
                x.WriteAttributeString("type", "machine-mismatch");
                x.WriteEndElement();
                x.WriteEndElement();
            }

            foreach (GateRow r in report.Rows)
            {
                string[] c = Cells(report, r);
                x.WriteStartElement("testcase");
                x.WriteAttributeString("classname", "chipkit.gate." + r.Device);
                x.WriteAttributeString("name", r.Workload);
                switch (r.Verdict)
                {
                    case Verdict.Regressed:
                        x.WriteStartElement("failure");
                        x.WriteAttributeString("message", $"regressed: {c[2]} -> {c[3]} ({c[4]}, p {c[5]})");
                        x.WriteAttributeString("type", "regression");
                        x.WriteString(r.Detail);
                        x.WriteEndElement();
                        break;
                    case Verdict.Insufficient or Verdict.Missing or Verdict.Failed or Verdict.Error:
                        x.WriteStartElement("error");
                        x.WriteAttributeString("message", r.Detail);
                        x.WriteAttributeString("type", r.Verdict.ToString().ToLowerInvariant());
                        x.WriteEndElement();
                        break;
                    case Verdict.MissingAllowed or Verdict.Skipped:
                        x.WriteStartElement("skipped");
                        x.WriteAttributeString("message", r.Detail);
                        x.WriteEndElement();
                        break;
                    default:
                        x.WriteElementString("system-out", $"{VerdictText(r.Verdict)}: {c[2]} -> {c[3]} ({c[4]}, p {c[5]}); {r.Detail}");
                        break;
                }

                x.WriteEndElement();
            }

            x.WriteEndElement();
            x.WriteEndElement();
            x.WriteEndDocument();
        }

        return Encoding.UTF8.GetString(ms.ToArray());
    }

    private static void WriteProperty(XmlWriter x, string name, string value)
    {
        x.WriteStartElement("property");
        x.WriteAttributeString("name", name);
        x.WriteAttributeString("value", value);
        x.WriteEndElement();
    }
}
