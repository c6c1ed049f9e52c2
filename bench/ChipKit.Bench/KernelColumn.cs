using System.Collections.Concurrent;
using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace ChipKit.Bench;

/// <summary>
/// "Kernel": the name of the kernel the benchmark's device picks for the case (the first of its list that supports the
/// workload), so a row timed on a fallback such as <c>cpu.gemm.f32.naive</c> says so. "none" when no kernel supports it.
/// </summary>
public sealed class KernelColumn : IColumn
{
    private static readonly ConcurrentDictionary<(Type Type, string Spec, int Threads, string Method), string> Names = new();

    public string Id => "ChipKit.Kernel";

    public string ColumnName => "Kernel";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Params;

    public int PriorityInCategory => 100;

    public bool IsNumeric => false;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Kernel the device selects for the workload (first supporting entry of its kernel list)";

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        if (benchmarkCase.Parameters[GopsColumn.SpecParameter] is not string spec)
        {
            return "?";
        }

        int threads = Convert.ToInt32(benchmarkCase.Parameters[nameof(KernelBenchmark.Threads)] ?? 0, CultureInfo.InvariantCulture);
        return Names.GetOrAdd((benchmarkCase.Descriptor.Type, spec, threads, benchmarkCase.Descriptor.WorkloadMethod.Name), static key =>
        {
            try
            {
                var benchmark = (KernelBenchmark)Activator.CreateInstance(key.Type)!;
                return benchmark.KernelNameFor(key.Spec, key.Threads, key.Method) ?? "none";
            }
#pragma warning disable CA1031 // a column must not take the summary down; the run itself reported the error
            catch (Exception e)
#pragma warning restore CA1031
            {
                return "error: " + e.GetType().Name;
            }
        });
    }

    public override string ToString() => ColumnName;
}
