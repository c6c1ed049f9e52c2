using System.Globalization;
using System.Text;

namespace ChipKit.Accel;

/// <summary>
/// `chipkit sim`: a SCALE-Sim config and topology run through ChipKit's model. The array, dataflow and SRAM sizes come
/// from the config, the energy table and operating point from a module (SCALE-Sim has none). Words are one byte, as in
/// SCALE-Sim. With <c>InterfaceBandwidth: CALC</c> SCALE-Sim sizes the DRAM bandwidth so nothing stalls, and so does
/// ChipKit; with <c>USER</c> each buffer's DRAM port moves <c>Bandwidth</c> words per cycle and the stalls and DRAM
/// traffic come from <see cref="ScaleSimMemory"/>, a reimplementation of SCALE-Sim's trace-driven buffers.
/// </summary>
public sealed class ScaleSimRun
{
    public ScaleSimRun(ScaleSimConfig config, IReadOnlyList<Layer> layers, ModuleSpec energyModule, string? point = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(energyModule);
        Module = energyModule.With(config.ArrayHeight, config.ArrayWidth, config.Dataflow,
            new BufferTriple(config.IfmapSramKb, config.FilterSramKb, config.OfmapSramKb));
        Point = Module.Point(point);
        if (!Module.Supports(MacType.Int8))
        {
            throw new Core.ChipKitInputException($"--module {energyModule.Name}: declares no int8 MAC energy; `chipkit sim` models SCALE-Sim's one-byte words as int8");
        }

        var results = new List<LayerCost>(layers.Count);
        var memory = new List<ScaleSimMemoryResult>();
        foreach (Layer l in layers)
        {
            ComputeResult c = SystolicModel.Compute(l, Module.Rows, Module.Cols, Module.Dataflow);
            Traffic t = CostModel.Estimate(l, c, Module, WordSizes.OneByte);
            if (!config.UserBandwidth)
            {
                results.Add(CostModel.Combine(l, c, t, Module, MacType.Int8, Point, double.PositiveInfinity, scaleSimConventions: true));
                continue;
            }

            ScaleSimMemoryResult mem = ScaleSimMemory.Simulate(l, Module.Rows, Module.Cols, Module.Dataflow,
                Words(config.IfmapSramKb, "IfmapSramSzkB"), Words(config.FilterSramKb, "FilterSramSzkB"), Words(config.OfmapSramKb, "OfmapSramSzkB"), (int)config.Bandwidth);
            memory.Add(mem);
            t = t with
            {
                IfmapSramWrite = mem.IfmapDramReads, IfmapDramRead = mem.IfmapDramReads,
                FilterSramWrite = mem.FilterDramReads, FilterDramRead = mem.FilterDramReads,
                OfmapDramWrite = mem.OfmapDramWrites, OfmapDramRead = 0,
            };
            results.Add(CostModel.Combine(l, c, t, Module, MacType.Int8, Point, config.Bandwidth, scaleSimConventions: true, tracedTotalCycles: mem.TotalCycles));
        }

        Layers = results;
        Memory = memory;
        RunName = config.RunName;
        Bandwidth = config.UserBandwidth ? config.Bandwidth.ToString(CultureInfo.InvariantCulture) + " words/cycle (USER)" : "CALC (no stalls)";
    }

    private static long Words(double kib, string key)
    {
        double words = Math.Floor(kib * 1024);
        if (words < 2)
        {
            throw new Core.ChipKitInputException($"--scalesim-config: [architecture_presets] {key}: {kib} kB is less than two one-byte words; SCALE-Sim's double buffer needs both halves");
        }

        return (long)words;
    }

    private ScaleSimRun(ModuleSpec module, OperatingPoint point, IReadOnlyList<LayerCost> layers)
    {
        Memory = [];
        Module = module;
        Point = point;
        Layers = layers;
        RunName = module.Name;
        Bandwidth = module.DramBytesPerCycle.ToString(CultureInfo.InvariantCulture) + " bytes/cycle (module, one shared DRAM interface, fill and drain timed)";
    }

    /// <summary>
    /// A topology on a module as ChipKit's `npu:` device models it: the module's own array, dataflow, SRAM sizes and
    /// DRAM bandwidth; int8 operands, int32 partial sums, int8 outputs; one shared DRAM interface whose every byte
    /// is timed (no free first fill or last drain). This is the model behind `chipkit sim --module M --topology T`.
    /// </summary>
    public static ScaleSimRun ForModule(IReadOnlyList<Layer> layers, ModuleSpec module, string? point = null)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(module);
        if (!module.Supports(MacType.Int8))
        {
            throw new Core.ChipKitInputException($"--module {module.Name}: declares no int8 MAC energy or word size; `chipkit sim --module` models int8 layers");
        }

        OperatingPoint op = module.Point(point);
        var words = new WordSizes(1, 1, 4, 1);
        return new ScaleSimRun(module, op, layers.Select(l => CostModel.Cost(l, module, MacType.Int8, words, op)).ToList());
    }

    /// <summary>Per layer, SCALE-Sim's trace-driven memory model's results with <c>InterfaceBandwidth: USER</c>
    /// (<see cref="ScaleSimMemory"/>); empty otherwise.</summary>
    public IReadOnlyList<ScaleSimMemoryResult> Memory { get; }

    /// <summary>The config's run name, or the module's name for a module run.</summary>
    public string RunName { get; }

    /// <summary>How DRAM bandwidth was modeled, for the report header.</summary>
    public string Bandwidth { get; }

    /// <summary>Cycles of one pass over all layers (one inference of the topology).</summary>
    public long TotalCycles => Layers.Sum(l => l.TotalCycles);

    /// <summary>Seconds of one pass at the operating point.</summary>
    public double TotalSeconds => Layers.Sum(l => l.Seconds);

    public ModuleSpec Module { get; }

    public OperatingPoint Point { get; }

    public IReadOnlyList<LayerCost> Layers { get; }

    private static string F(double d) => d.ToString("R", CultureInfo.InvariantCulture);

    private static string Name(string s) => s.Contains(',', StringComparison.Ordinal) || s.Contains('"', StringComparison.Ordinal) ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;

    /// <summary>SCALE-Sim's COMPUTE_REPORT columns; utilisation counts stalls as SCALE-Sim does (MACs / (total cycles * PEs)).</summary>
    public string ComputeReport()
    {
        var sb = new StringBuilder("layer,total_cycles,stall_cycles,overall_util_pct,mapping_efficiency_pct,compute_util_pct\n");
        foreach (LayerCost l in Layers)
        {
            double util = (double)(l.Layer.Macs * 100) / (l.TotalCycles * (long)Module.Rows * Module.Cols);
            sb.Append(CultureInfo.InvariantCulture, $"{Name(l.Layer.Name)},{l.TotalCycles},{l.StallCycles},{F(util)},{F(l.Compute.MappingEfficiencyPct)},{F(l.Compute.ComputeUtilPct)}\n");
        }

        return sb.ToString();
    }

    /// <summary>SRAM accesses are SCALE-Sim's counts (words); DRAM accesses (words) from the trace-driven memory model
    /// with USER bandwidth (SCALE-Sim's counts), ChipKit's estimate otherwise.</summary>
    public string AccessReport()
    {
        var sb = new StringBuilder("layer,sram_ifmap_reads,sram_filter_reads,sram_ofmap_writes,dram_ifmap_reads,dram_filter_reads,dram_ofmap_writes,dram_ofmap_reads\n");
        foreach (LayerCost l in Layers)
        {
            sb.Append(CultureInfo.InvariantCulture,
                $"{Name(l.Layer.Name)},{l.Compute.IfmapSramReads},{l.Compute.FilterSramReads},{l.Compute.OfmapSramWrites},{F(l.Traffic.IfmapDramRead)},{F(l.Traffic.FilterDramRead)},{F(l.Traffic.OfmapDramWrite)},{F(l.Traffic.OfmapDramRead)}\n");
        }

        return sb.ToString();
    }

    /// <summary>Average words per cycle: SRAM streams over the layer's total cycles (as SCALE-Sim's BANDWIDTH_REPORT);
    /// DRAM streams with USER bandwidth over each stream's own DRAM active span (first to last DRAM cycle of the
    /// trace-driven model, as SCALE-Sim computes them), otherwise over the total cycles.</summary>
    public string BandwidthReport()
    {
        var sb = new StringBuilder("layer,avg_ifmap_sram_bw,avg_filter_sram_bw,avg_ofmap_sram_bw,avg_ifmap_dram_bw,avg_filter_dram_bw,avg_ofmap_dram_bw\n");
        for (int i = 0; i < Layers.Count; i++)
        {
            LayerCost l = Layers[i];
            double c = l.TotalCycles;
            ScaleSimMemoryResult? m = Memory.Count == Layers.Count ? Memory[i] : null;
            double ifmapSpan = m is null ? c : m.IfmapDramStop - m.IfmapDramStart + 1;
            double filterSpan = m is null ? c : m.FilterDramStop - m.FilterDramStart + 1;
            double ofmapSpan = m is null ? c : m.OfmapDramStop - m.OfmapDramStart + 1;
            sb.Append(CultureInfo.InvariantCulture,
                $"{Name(l.Layer.Name)},{F(l.Compute.IfmapSramReads / c)},{F(l.Compute.FilterSramReads / c)},{F(l.Compute.OfmapSramWrites / c)},{F(l.Traffic.IfmapDramRead / ifmapSpan)},{F(l.Traffic.FilterDramRead / filterSpan)},{F((l.Traffic.OfmapDramWrite + l.Traffic.OfmapDramRead) / ofmapSpan)}\n");
        }

        return sb.ToString();
    }

    public static readonly string[] EnergyKeys = ["mac", "register_file", "sram_ifmap", "sram_filter", "sram_ofmap", "dram", "leakage"];

    /// <summary>Per layer: cycles, seconds at the operating point, energy by component (joules), TOPS/W and energy-delay product; then a total row.</summary>
    public string EnergyReport()
    {
        var sb = new StringBuilder("layer,total_cycles,seconds," + string.Join(",", EnergyKeys.Select(k => k + "_j")) + ",total_j,tops_per_w,edp_js\n");
        long cycles = 0;
        double seconds = 0, ops = 0;
        var sums = EnergyKeys.ToDictionary(k => k, _ => 0.0);
        foreach (LayerCost l in Layers)
        {
            double j = l.Joules;
            sb.Append(CultureInfo.InvariantCulture, $"{Name(l.Layer.Name)},{l.TotalCycles},{F(l.Seconds)},{string.Join(",", EnergyKeys.Select(k => F(l.EnergyJ[k])))},{F(j)},{F(2.0 * l.Layer.Macs / j / 1e12)},{F(j * l.Seconds)}\n");
            cycles += l.TotalCycles;
            seconds += l.Seconds;
            ops += 2.0 * l.Layer.Macs;
            foreach (string k in EnergyKeys)
            {
                sums[k] += l.EnergyJ[k];
            }
        }

        double total = sums.Values.Sum();
        sb.Append(CultureInfo.InvariantCulture, $"TOTAL,{cycles},{F(seconds)},{string.Join(",", EnergyKeys.Select(k => F(sums[k])))},{F(total)},{F(ops / total / 1e12)},{F(total * seconds)}\n");
        return sb.ToString();
    }
}
