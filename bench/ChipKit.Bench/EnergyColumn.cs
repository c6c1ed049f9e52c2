using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using ChipKit.Harness.Power;

namespace ChipKit.Bench;

/// <summary>One figure of <see cref="EnergyDiagnoser"/> (J/op, Avg W, GOP/s/W) as a summary column; "no meter" without one.</summary>
public sealed class EnergyColumn(EnergyDiagnoser diagnoser, string id, string name, string legend, Func<EnergyInterval, double?> value, string format) : IColumn
{
    public string Id => id;

    public string ColumnName => name;

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 10;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => legend;

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        EnergyInterval? interval = diagnoser.Result(benchmarkCase);
        if (interval is not null && value(interval) is double v)
        {
            string text = v.ToString(format, style?.CultureInfo ?? CultureInfo.InvariantCulture);
            return interval.Kind == "declared" ? text + " (declared)" : text;
        }

        return diagnoser.Missing(benchmarkCase);
    }

    public override string ToString() => ColumnName;
}
