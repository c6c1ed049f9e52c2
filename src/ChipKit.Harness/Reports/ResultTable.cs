using System.Globalization;
using System.Text;
using ChipKit.Harness.Results;

namespace ChipKit.Harness.Reports;

/// <summary>Output formats of `chipkit report` and of the live table of `chipkit run`.</summary>
public enum ReportFormat
{
    Table,
    Md,
    Csv,
}

/// <summary>Renders results as an aligned text table, a Markdown table or CSV. Every number says where it came from.</summary>
public static class ResultTable
{
    public static readonly string[] Columns = ["workload", "device", "kernel", "status", "median_ms", "gops", "cv_%", "max_err/bound", "time_src", "energy"];

    /// <summary>The cells of one result, in <see cref="Columns"/> order.</summary>
    public static string[] Cells(ResultRecord r)
    {
        string err = r.Error is null ? "-"
            : r.Error.Bound == 0 ? (r.Error.Mismatches == 0 ? "exact" : $"{r.Error.Mismatches} differ")
            : $"{r.Error.MaxRel:0.0e+0}/{r.Error.Bound:0.0e+0}";
        string energy = r.Energy.Joules is double j ? $"{j:G4} J ({r.Energy.Source})" : r.Energy.Source;
        return
        [
            r.Workload,
            r.Device,
            r.Kernel ?? "-",
            r.Status,
            r.Seconds is null ? "-" : (r.Seconds.Median * 1e3).ToString(r.Seconds.Median < 1e-3 ? "0.0000" : "0.000", CultureInfo.InvariantCulture),
            r.Gops is double g ? g.ToString(g < 10 ? "0.000" : "0.0", CultureInfo.InvariantCulture) : "-",
            r.Seconds is null ? "-" : (r.Seconds.Cv * 100).ToString("0.0", CultureInfo.InvariantCulture),
            err,
            r.TimeSource,
            energy,
        ];
    }

    /// <summary>Column widths for a fixed workload column width, for printing rows as they arrive.</summary>
    public static int[] LiveWidths(int workloadWidth) => [Math.Max(workloadWidth, 8), 6, 30, 7, 10, 8, 6, 15, 8, 6];

    /// <summary>The extra column of `--compare PEER`: this result's gops over the peer's on the same workload.</summary>
    public const string RatioColumn = "ratio";

    /// <summary><see cref="Columns"/> plus <see cref="RatioColumn"/>.</summary>
    public static string[] ColumnsWithRatio => [.. Columns, RatioColumn];

    /// <summary><see cref="Cells(ResultRecord)"/> plus the ratio cell ("-" where there is none, e.g. on the peer itself).</summary>
    public static string[] CellsWithRatio(ResultRecord r) => [.. Cells(r), RatioCell(r)];

    /// <summary><see cref="LiveWidths"/> plus the ratio column.</summary>
    public static int[] LiveWidthsWithRatio(int workloadWidth) => [.. LiveWidths(workloadWidth), 6];

    private static string RatioCell(ResultRecord r) => r.Compare is null ? "-"
        : r.Compare.Ratio is double x ? x.ToString("0.00", CultureInfo.InvariantCulture)
        : $"({r.Compare.Peer} {r.Compare.PeerStatus})";

    public static string FormatRow(string[] cells, int[] widths) => FormatRow(cells, widths, i => i is 4 or 5 or 6 or 10);

    private static string FormatRow(string[] cells, int[] widths, Func<int, bool> isNumeric)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < cells.Length; i++)
        {
            bool numeric = isNumeric(i);
            sb.Append(numeric ? cells[i].PadLeft(widths[i]) : cells[i].PadRight(widths[i]));
            if (i < cells.Length - 1)
            {
                sb.Append("  ");
            }
        }

        return sb.ToString().TrimEnd();
    }

    public static string Render(IReadOnlyList<ResultRecord> results, ReportFormat format)
    {
        bool withRatio = results.Any(r => r.Compare is not null);
        string[] columns = withRatio ? ColumnsWithRatio : Columns;
        List<string[]> rows = results.Select(r => withRatio ? CellsWithRatio(r) : Cells(r)).ToList();
        return RenderRows(columns, rows, format, 0);
    }

    /// <summary>
    /// Several results files merged: the same table with a leading "run" column (each file's tag, A, B, ...);
    /// one file renders exactly as <see cref="Render(IReadOnlyList{ResultRecord}, ReportFormat)"/>.
    /// </summary>
    public static string Render(ReportSet set, ReportFormat format)
    {
        ArgumentNullException.ThrowIfNull(set);
        List<ReportEntry> entries = set.Entries.ToList();
        if (!set.Merged)
        {
            return Render(entries.Select(e => e.Result).ToList(), format);
        }

        bool withRatio = entries.Any(e => e.Result.Compare is not null);
        string[] columns = ["run", .. withRatio ? ColumnsWithRatio : Columns];
        List<string[]> rows = entries.Select(e => (string[])[e.Run.Tag, .. withRatio ? CellsWithRatio(e.Result) : Cells(e.Result)]).ToList();
        return RenderRows(columns, rows, format, 1);
    }

    /// <summary>Rows in <paramref name="format"/>; <paramref name="shift"/> leading columns come before the standard ones.</summary>
    private static string RenderRows(string[] columns, List<string[]> rows, ReportFormat format, int shift)
    {
        bool Numeric(int i) => (i - shift) is 4 or 5 or 6 or 10;
        var sb = new StringBuilder();
        switch (format)
        {
            case ReportFormat.Csv:
                sb.AppendLine(string.Join(',', columns));
                foreach (string[] row in rows)
                {
                    sb.AppendLine(string.Join(',', row.Select(Csv)));
                }

                break;
            case ReportFormat.Md:
                sb.AppendLine("| " + string.Join(" | ", columns) + " |");
                sb.AppendLine("|" + string.Concat(columns.Select((c, i) => (i - shift) is 4 or 5 or 6 ? "---:|" : "---|")));
                foreach (string[] row in rows)
                {
                    sb.AppendLine("| " + string.Join(" | ", row.Select(c => c.Replace("|", "\\|", StringComparison.Ordinal))) + " |");
                }

                break;
            default:
                int[] widths = columns.Select((c, i) => Math.Max(c.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
                sb.AppendLine(FormatRow(columns, widths, Numeric));
                sb.AppendLine(FormatRow(widths.Select(w => new string('-', w)).ToArray(), widths, Numeric));
                foreach (string[] row in rows)
                {
                    sb.AppendLine(FormatRow(row, widths, Numeric));
                }

                break;
        }

        return sb.ToString();
    }

    /// <summary>"N ok, N failed, N skipped" and the failures' messages.</summary>
    public static string Summary(IReadOnlyList<ResultRecord> results)
    {
        int ok = results.Count(r => r.Status == "ok"), failed = results.Count(r => r.Status == "failed"), skipped = results.Count(r => r.Status == "skipped");
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{ok} ok, {failed} failed, {skipped} skipped");
        foreach (ResultRecord r in results.Where(r => r.Status != "ok"))
        {
            sb.AppendLine();
            sb.Append(CultureInfo.InvariantCulture, $"  {r.Status}: {r.Workload} on {r.Device}: {r.Message}");
        }

        return sb.ToString();
    }

    /// <summary><see cref="Summary(IReadOnlyList{ResultRecord})"/> over merged files: failures name their run tag.</summary>
    public static string Summary(ReportSet set)
    {
        ArgumentNullException.ThrowIfNull(set);
        if (!set.Merged)
        {
            return Summary(set.Entries.Select(e => e.Result).ToList());
        }

        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{set.Count("ok")} ok, {set.Count("failed")} failed, {set.Count("skipped")} skipped");
        foreach (ReportEntry e in set.Entries.Where(e => e.Result.Status != "ok"))
        {
            sb.AppendLine();
            sb.Append(CultureInfo.InvariantCulture, $"  {e.Result.Status}: [{e.Run.Tag}] {e.Result.Workload} on {e.Result.Device}: {e.Result.Message}");
        }

        return sb.ToString();
    }

    private static string Csv(string cell) => cell.Contains(',', StringComparison.Ordinal) || cell.Contains('"', StringComparison.Ordinal)
        ? "\"" + cell.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""
        : cell;
}
