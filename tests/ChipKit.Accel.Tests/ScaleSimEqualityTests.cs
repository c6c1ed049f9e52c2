using System.Globalization;
using ChipKit.Accel;

namespace ChipKit.Accel.Tests;

/// <summary>
/// ChipKit's cycle model against SCALE-Sim v2's own reports (scalesim/reports: SCALE-Sim run on each config x topology;
/// scalesim/golden_trace: SCALE-Sim's regression reports). Compute cycles, utilisation and mapping efficiency must be
/// equal, bit for bit; SRAM read/write counts too.
/// </summary>
public class ScaleSimEqualityTests
{
    internal static string Data => Path.Combine(TestContext.CurrentContext.TestDirectory, "scalesim");

    public static IEnumerable<TestCaseData> Runs()
    {
        string reports = Path.Combine(Data, "reports");
        foreach (string dir in Directory.GetDirectories(reports).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(dir);
            string[] parts = name.Split("__");
            yield return new TestCaseData(Path.Combine(Data, "configs", parts[0] + ".cfg"), Path.Combine(Data, "topologies", parts[1] + ".csv"), dir)
                .SetArgDisplayNames(name);
        }

        yield return new TestCaseData(Path.Combine(Data, "golden_trace", "scale_ws.cfg"), Path.Combine(Data, "golden_trace", "alexnet_part.csv"),
            Path.Combine(Data, "golden_trace")).SetArgDisplayNames("golden_trace");
    }

    public static IEnumerable<TestCaseData> CalcRuns() => Runs().Where(r => !ScaleSimConfig.Load((string)r.Arguments[0]!).UserBandwidth);

    public static IEnumerable<TestCaseData> UserRuns() => Runs().Where(r => ScaleSimConfig.Load((string)r.Arguments[0]!).UserBandwidth);

    internal static List<double[]> ReadReport(string file) => File.ReadAllLines(file).Skip(1)
        .Where(l => l.Trim().Length > 0)
        .Select(l => l.Split(',').Select(s => s.Trim()).Where(s => s.Length > 0).Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray())
        .ToList();

    [TestCaseSource(nameof(Runs))]
    public void Compute_report_equals_scalesim(string cfgPath, string topoPath, string reportDir)
    {
        ScaleSimConfig cfg = ScaleSimConfig.Load(cfgPath);
        bool gemm = Path.GetFileName(topoPath).StartsWith("gemm_", StringComparison.Ordinal);
        IReadOnlyList<Layer> layers = ScaleSimTopology.Load(topoPath, gemm);
        List<double[]> expected = ReadReport(Path.Combine(reportDir, "COMPUTE_REPORT.csv"));
        List<double[]> access = ReadReport(Path.Combine(reportDir, "DETAILED_ACCESS_REPORT.csv"));
        Assert.That(layers, Has.Count.EqualTo(expected.Count));
        for (int i = 0; i < layers.Count; i++)
        {
            ComputeResult c = SystolicModel.Compute(layers[i], cfg.ArrayHeight, cfg.ArrayWidth, cfg.Dataflow);
            double[] e = expected[i];
            long total = (long)e[1], stalls = (long)e[2];
            using (Assert.EnterMultipleScope())
            {
                Assert.That(c.Cycles, Is.EqualTo(total - stalls), $"layer {i} compute cycles (total - stalls)");
                Assert.That(c.MappingEfficiencyPct, Is.EqualTo(e[4]), $"layer {i} mapping efficiency");
                Assert.That(c.ComputeUtilPct, Is.EqualTo(e[5]), $"layer {i} compute util");
                Assert.That(c.IfmapSramReads, Is.EqualTo((long)access[i][3]), $"layer {i} ifmap SRAM reads");
                Assert.That(c.FilterSramReads, Is.EqualTo((long)access[i][6]), $"layer {i} filter SRAM reads");
                Assert.That(c.OfmapSramWrites, Is.EqualTo((long)access[i][9]), $"layer {i} ofmap SRAM writes");
                if (!cfg.UserBandwidth)
                {
                    Assert.That(stalls, Is.Zero);
                    Assert.That(c.OverallUtilPct, Is.EqualTo(e[3]), $"layer {i} overall util");
                }
            }
        }
    }

    [TestCaseSource(nameof(CalcRuns))]
    public void Sim_compute_report_equals_scalesim_without_stalls(string cfgPath, string topoPath, string reportDir)
    {
        ScaleSimConfig cfg = ScaleSimConfig.Load(cfgPath);

        bool gemm = Path.GetFileName(topoPath).StartsWith("gemm_", StringComparison.Ordinal);
        var run = new ScaleSimRun(cfg, ScaleSimTopology.Load(topoPath, gemm), ModuleLoader.BuiltIn("edge-int8-16x16"));
        List<double[]> expected = ReadReport(Path.Combine(reportDir, "COMPUTE_REPORT.csv"));
        string[] lines = run.ComputeReport().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines[0], Is.EqualTo("layer,total_cycles,stall_cycles,overall_util_pct,mapping_efficiency_pct,compute_util_pct"));
        for (int i = 0; i < expected.Count; i++)
        {
            double[] got = lines[i + 1].Split(',')[1..].Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
            Assert.That(got, Is.EqualTo(expected[i][1..]), $"layer {i}");
        }
    }

    /// <summary>
    /// With <c>InterfaceBandwidth: USER</c> the trace-driven memory model (<see cref="ScaleSimMemory"/>) must put each
    /// layer's total cycles including stalls within 10 % of SCALE-Sim's (issue #4); it is in fact equal, so the whole
    /// compute_report row, the stall cycles and every DRAM column of SCALE-Sim's DETAILED_ACCESS_REPORT (reads or writes
    /// per operand, first and last DRAM cycle) are asserted equal too, the DRAM counts must reach access_report.csv and
    /// bandwidth_report.csv must equal SCALE-Sim's BANDWIDTH_REPORT.
    /// </summary>
    [TestCaseSource(nameof(UserRuns))]
    public void Stalls_with_user_bandwidth(string cfgPath, string topoPath, string reportDir)
    {
        ScaleSimConfig cfg = ScaleSimConfig.Load(cfgPath);
        bool gemm = Path.GetFileName(topoPath).StartsWith("gemm_", StringComparison.Ordinal);
        var run = new ScaleSimRun(cfg, ScaleSimTopology.Load(topoPath, gemm), ModuleLoader.BuiltIn("edge-int8-16x16"));
        List<double[]> expected = ReadReport(Path.Combine(reportDir, "COMPUTE_REPORT.csv"));
        List<double[]> access = ReadReport(Path.Combine(reportDir, "DETAILED_ACCESS_REPORT.csv"));
        string[] compute = run.ComputeReport().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string[] dram = run.AccessReport().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string[] bandwidth = run.BandwidthReport().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        List<double[]> expectedBw = ReadReport(Path.Combine(reportDir, "BANDWIDTH_REPORT.csv"));
        Assert.That(run.Layers, Has.Count.EqualTo(expected.Count));
        Assert.That(run.Memory, Has.Count.EqualTo(expected.Count));
        for (int i = 0; i < expected.Count; i++)
        {
            double[] e = expected[i], a = access[i];
            LayerCost l = run.Layers[i];
            ScaleSimMemoryResult m = run.Memory[i];
            using (Assert.EnterMultipleScope())
            {
                Assert.That((double)l.TotalCycles, Is.EqualTo(e[1]).Within(10).Percent, $"layer {i}: total cycles including stalls (issue #4: within 10 %)");
                Assert.That(l.TotalCycles, Is.EqualTo((long)e[1]), $"layer {i}: total cycles");
                Assert.That(m.StallCycles, Is.EqualTo((long)e[2]), $"layer {i}: stall cycles");
                Assert.That(l.StallCycles, Is.EqualTo((long)e[2]), $"layer {i}: stall cycles in the report");
                double[] row = compute[i + 1].Split(',')[1..].Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
                Assert.That(row, Is.EqualTo(e[1..]), $"layer {i}: compute_report row");
                Assert.That(new[] { m.IfmapDramStart, m.IfmapDramStop, m.IfmapDramReads }, Is.EqualTo(a[10..13].Select(x => (long)x)), $"layer {i}: DRAM ifmap start, stop, reads");
                Assert.That(new[] { m.FilterDramStart, m.FilterDramStop, m.FilterDramReads }, Is.EqualTo(a[13..16].Select(x => (long)x)), $"layer {i}: DRAM filter start, stop, reads");
                Assert.That(new[] { m.OfmapDramStart, m.OfmapDramStop, m.OfmapDramWrites }, Is.EqualTo(a[16..19].Select(x => (long)x)), $"layer {i}: DRAM ofmap start, stop, writes");
                string[] cols = dram[i + 1].Split(',');
                Assert.That(cols[4..8], Is.EqualTo(new[] { a[12], a[15], a[18], 0 }.Select(x => x.ToString("R", CultureInfo.InvariantCulture))), $"layer {i}: access_report DRAM columns");
                double[] bwRow = bandwidth[i + 1].Split(',')[1..].Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
                Assert.That(bwRow, Is.EqualTo(expectedBw[i][1..]), $"layer {i}: bandwidth_report row (SCALE-Sim's BANDWIDTH_REPORT)");
            }
        }
    }
}
