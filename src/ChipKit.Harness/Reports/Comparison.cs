using System.Globalization;
using System.Text;
using ChipKit.Harness.Results;

namespace ChipKit.Harness.Reports;

/// <summary>One workload on one device across several results files: each file's figures and their ratio to the first file's.</summary>
public sealed record ComparisonRow(string Workload, string Device, IReadOnlyList<ResultRecord?> Results)
{
    public static double? Ratio(double? value, double? baseline) => value is > 0 && baseline is > 0 ? value / baseline : null;
}

/// <summary>
/// `chipkit compare A.json B.json [...]`: per workload and device, throughput, energy per run and GOP/s per W of every
/// file, with the samples' spread, and each file's ratio to the first (the baseline). Works across machines and runs:
/// the machines are printed so a reader sees what is being compared.
/// </summary>
public static class Comparison
{
    public static List<ComparisonRow> Build(IReadOnlyList<ResultsDocument> docs)
    {
        var keys = new List<(string, string)>();
        var seen = new HashSet<(string, string)>();
        foreach (ResultsDocument d in docs)
        {
            foreach (ResultRecord r in d.Results)
            {
                if (seen.Add((r.Workload, r.Device)))
                {
                    keys.Add((r.Workload, r.Device));
                }
            }
        }

        return keys.Select(k => new ComparisonRow(k.Item1, k.Item2,
            docs.Select(d => d.Results.LastOrDefault(r => r.Workload == k.Item1 && r.Device == k.Item2)).ToList())).ToList();
    }

    private static string Num(double? v, string format = "G4") => v is double x ? x.ToString(format, CultureInfo.InvariantCulture) : "-";

    private static string Cell(ResultRecord? r) => r is null ? "missing"
        : r.Status != "ok" ? r.Status
        : $"{Num(r.Gops)} ±{Num(r.Seconds?.Cv * 100, "0.#")}%";

    public static string Render(IReadOnlyList<string> names, IReadOnlyList<ResultsDocument> docs, bool markdown)
    {
        List<ComparisonRow> rows = Build(docs);
        var sb = new StringBuilder();
        for (int i = 0; i < docs.Count; i++)
        {
            MachineRecord m = docs[i].Machine;
            sb.AppendLine(CultureInfo.InvariantCulture, $"{(markdown ? "- " : "")}[{(char)('A' + i)}] {names[i]}: {m.Cpu}, {m.Cores} cores, {m.Runtime}, {docs[i].Created:u}");
        }

        sb.AppendLine();
        var header = new List<string> { "workload", "device" };
        for (int i = 0; i < docs.Count; i++)
        {
            char c = (char)('A' + i);
            header.Add($"{c} gops");
            if (i > 0)
            {
                header.Add($"{c}/A gops");
            }
        }

        for (int i = 0; i < docs.Count; i++)
        {
            header.Add($"{(char)('A' + i)} J/run");
        }

        for (int i = 0; i < docs.Count; i++)
        {
            header.Add($"{(char)('A' + i)} gops/W");
        }

        var table = new List<string[]> { header.ToArray() };
        foreach (ComparisonRow row in rows)
        {
            var cells = new List<string> { row.Workload, row.Device };
            ResultRecord? a = row.Results[0];
            for (int i = 0; i < row.Results.Count; i++)
            {
                cells.Add(Cell(row.Results[i]));
                if (i > 0)
                {
                    cells.Add(Num(ComparisonRow.Ratio(row.Results[i]?.Gops, a?.Gops), "0.000"));
                }
            }

            foreach (ResultRecord? r in row.Results)
            {
                cells.Add(r?.Energy.Joules is double j ? $"{Num(j)} ({r.Energy.Source})" : "-");
            }

            foreach (ResultRecord? r in row.Results)
            {
                cells.Add(r?.Energy.GopsPerWatt is double g ? $"{Num(g)} ({r.Energy.Source})" : "-");
            }

            table.Add(cells.ToArray());
        }

        if (markdown)
        {
            sb.AppendLine("| " + string.Join(" | ", table[0]) + " |");
            sb.AppendLine("|" + string.Concat(table[0].Select(_ => "---|")));
            foreach (string[] r in table.Skip(1))
            {
                sb.AppendLine("| " + string.Join(" | ", r) + " |");
            }
        }
        else
        {
            int[] widths = Enumerable.Range(0, table[0].Length).Select(i => table.Max(r => r[i].Length)).ToArray();
            foreach (string[] r in table)
            {
                sb.AppendLine(string.Join("  ", r.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
            }
        }

        sb.AppendLine();
        sb.AppendLine("gops: median throughput ± the samples' coefficient of variation; ratios are each file's median over A's. Energy figures name their source (none, rapl, modeled, declared, ...).");
        return sb.ToString();
    }
}
