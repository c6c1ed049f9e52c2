using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace ChipKit.Bench;

public static class Program
{
    /// <summary>
    /// The energy diagnoser: the meter CHIPKIT_BENCH_METER names (rapl by default, nvml:N, external:FILE); when it is
    /// missing, a wattage declared in CHIPKIT_BENCH_DECLARED_WATTS (labelled declared); else its columns say "no meter".
    /// </summary>
    public static EnergyDiagnoser Energy { get; } = EnergyDiagnoser.FromEnvironment();

    /// <summary>
    /// BenchmarkDotNet's defaults plus the Kernel and GOP/s columns, the memory diagnoser (Run should allocate 0 B),
    /// the energy diagnoser with its J/op, Avg W and GOP/s/W columns, and a Spec column wide enough to show whole
    /// workload specs.
    /// </summary>
    public static IConfig Config { get; } = ManualConfig.Create(DefaultConfig.Instance)
        .AddColumn(new KernelColumn(), new GopsColumn())
        .AddDiagnoser(MemoryDiagnoser.Default, Energy)
        .AddColumn(Energy.Columns())
        .WithSummaryStyle(SummaryStyle.Default.WithMaxParameterColumnWidth(80));

    /// <returns>0 when every selected benchmark produced a result; 1 when any failed (e.g. its kernel is missing or does not verify).</returns>
    public static int Main(string[] args)
    {
        IEnumerable<Summary> summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, Config);
        bool failed = false;
        foreach (Summary s in summaries)
        {
            if (s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success))
            {
                failed = true;
            }
        }

        if (failed)
        {
            Console.Error.WriteLine("ChipKit.Bench: some benchmarks failed (see the errors above); their rows have no numbers.");
        }

        return failed ? 1 : 0;
    }
}
