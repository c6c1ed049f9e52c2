using System.Collections.Concurrent;
using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using ChipKit.Core.Workloads;

namespace ChipKit.Bench;

/// <summary>
/// "GOP/s": the workload's <see cref="Workload.Ops"/> (2 per multiply-accumulate, padded taps included) divided by the
/// mean time of one Run. Ops per nanosecond is exactly giga-ops per second. Empty when the case has no result.
/// </summary>
public sealed class GopsColumn : IColumn
{
    /// <summary>The benchmark parameter that holds the workload spec.</summary>
    public const string SpecParameter = nameof(KernelBenchmark.Spec);

    private static readonly ConcurrentDictionary<string, double> OpsBySpec = new(StringComparer.Ordinal);

    public string Id => "ChipKit.GOPs";

    public string ColumnName => "GOP/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Workload operations (2 per multiply-accumulate) per second of mean Run time, in 10^9";

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        double? gops = Gops(summary, benchmarkCase);
        return gops is null ? "NA" : gops.Value.ToString("N2", style?.CultureInfo ?? CultureInfo.InvariantCulture);
    }

    /// <summary>GOP/s of a case, or null when it has no spec parameter or no measured mean.</summary>
    public static double? Gops(Summary summary, BenchmarkCase benchmarkCase)
    {
        double? meanNs = summary[benchmarkCase]?.ResultStatistics?.Mean;
        double? ops = Ops(benchmarkCase);
        return meanNs is > 0 && ops is not null ? ops / meanNs : null;
    }

    /// <summary>The Ops of the case's workload spec, re-parsed from its parameter.</summary>
    public static double? Ops(BenchmarkCase benchmarkCase)
    {
        if (benchmarkCase.Parameters[SpecParameter] is not string spec)
        {
            return null;
        }

        return OpsBySpec.GetOrAdd(spec, s => WorkloadSpec.Parse(s).Ops);
    }

    public override string ToString() => ColumnName;
}
