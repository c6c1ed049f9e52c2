namespace ChipKit.Accel;

/// <summary>Bytes per element of each stream of a layer.</summary>
/// <param name="Input">ifmap / A element.</param>
/// <param name="Weight">filter / B element.</param>
/// <param name="Accumulator">partial sums kept in the ofmap SRAM (int32 or fp32: 4; SCALE-Sim's import: 1).</param>
/// <param name="Output">final output element written to DRAM.</param>
public sealed record WordSizes(int Input, int Weight, int Accumulator, int Output)
{
    /// <summary>SCALE-Sim's word size: one byte for everything.</summary>
    public static WordSizes OneByte { get; } = new(1, 1, 1, 1);
}

/// <summary>Bytes moved by a layer: SRAM traffic per buffer, DRAM traffic per operand, register-file bytes.</summary>
public sealed record Traffic(
    double IfmapSramRead, double IfmapSramWrite,
    double FilterSramRead, double FilterSramWrite,
    double OfmapSramRead, double OfmapSramWrite,
    double IfmapDramRead, double FilterDramRead, double OfmapDramWrite, double OfmapDramRead,
    double RegisterFile)
{
    public double DramBytes => IfmapDramRead + FilterDramRead + OfmapDramWrite + OfmapDramRead;
}

/// <summary>Modeled cost of one layer at one operating point.</summary>
public sealed record LayerCost(
    Layer Layer,
    ComputeResult Compute,
    Traffic Traffic,
    long DramCycles,
    long TotalCycles,
    double Seconds,
    IReadOnlyDictionary<string, double> EnergyJ)
{
    public long StallCycles => TotalCycles - Compute.Cycles;

    public double Joules => EnergyJ.Values.Sum();
}

/// <summary>
/// ChipKit's memory and energy model on top of <see cref="SystolicModel"/>.
/// <para>SRAM traffic: the compute model's reads of each operand (SCALE-Sim's counts), the ofmap written as
/// accumulator words once per row fold (os: once) and read back for every accumulation after the first; the ifmap and
/// filter buffers are written with what comes from DRAM, and the final outputs read out of the ofmap buffer to DRAM.</para>
/// <para>DRAM traffic of <see cref="Estimate"/> (used for `chipkit sim --scalesim-config`, to stay close to SCALE-Sim's
/// fixed loop order; an estimate, not SCALE-Sim's trace-driven buffer): every operand's unique data is fetched once;
/// the streamed operand (os: ifmap, ws: ifmap, is: filter) is fetched again for every column fold when its unique data
/// does not fit in the active half of its double-buffered SRAM; for os the filter column tile is fetched again for
/// every row fold when it does not fit; for ws/is the partial sums of a column fold spill to DRAM (written and read
/// back once per extra row fold) when they do not fit in half the ofmap SRAM. The device model (<see cref="Cost"/>)
/// uses <see cref="EstimateScheduled"/> instead: the loop order with the least DRAM traffic and no spills.</para>
/// <para>Time: DRAM transfers overlap compute (double buffering), so total cycles = max(compute cycles,
/// DRAM bytes / bandwidth); the difference is reported as stall cycles. Seconds = cycles / f of the operating point.</para>
/// <para>Energy: MACs x MAC energy + SRAM bytes x per-byte energy of each buffer + register-file bytes (two operand
/// words per MAC) + DRAM bits x pJ/bit, all dynamic and scaled by (V / V_nominal)^2; plus leakage power x seconds,
/// with leakage power scaled by V / V_nominal (leakage current held constant, first order).</para>
/// </summary>
public static class CostModel
{
    public static Traffic Estimate(Layer layer, ComputeResult c, ModuleSpec m, WordSizes w)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(c);
        ArgumentNullException.ThrowIfNull(m);
        ArgumentNullException.ThrowIfNull(w);
        (_, long sc, long t) = SystolicModel.Map(layer, m.Dataflow);
        double halfIfmap = m.SramKib.Ifmap * 1024 / 2, halfFilter = m.SramKib.Filter * 1024 / 2, halfOfmap = m.SramKib.Ofmap * 1024 / 2;
        double ifmapUnique = (double)layer.IfmapElements * w.Input;
        double filterUnique = (double)layer.FilterElements * w.Weight;
        double outputs = layer.OfmapElements;

        double ifmapDram = ifmapUnique, filterDram = filterUnique, spill = 0;
        double accWrites;
        switch (m.Dataflow)
        {
            case Dataflow.Os:
                if (ifmapUnique > halfIfmap)
                {
                    ifmapDram *= c.ColFolds;
                }

                if ((double)t * Math.Min(m.Cols, sc) * w.Weight > halfFilter)
                {
                    filterDram *= c.RowFolds;
                }

                accWrites = outputs;
                break;
            case Dataflow.Ws:
                if (ifmapUnique > halfIfmap)
                {
                    ifmapDram *= c.ColFolds;
                }

                accWrites = (double)c.RowFolds * t * sc;
                if ((double)t * Math.Min(m.Cols, sc) * w.Accumulator > halfOfmap)
                {
                    spill = (c.RowFolds - 1) * (double)t * sc * w.Accumulator;
                }

                break;
            default:
                if (filterUnique > halfFilter)
                {
                    filterDram *= c.ColFolds;
                }

                accWrites = (double)c.RowFolds * t * sc;
                if ((double)t * Math.Min(m.Cols, sc) * w.Accumulator > halfOfmap)
                {
                    spill = (c.RowFolds - 1) * (double)t * sc * w.Accumulator;
                }

                break;
        }

        return new Traffic(
            (double)c.IfmapSramReads * w.Input, ifmapDram,
            (double)c.FilterSramReads * w.Weight, filterDram,
            ((accWrites - outputs) * w.Accumulator) + (outputs * w.Output), accWrites * w.Accumulator,
            ifmapDram, filterDram, (outputs * w.Output) + spill, spill,
            2.0 * layer.Macs * Math.Max(w.Input, w.Weight));
    }

    /// <summary>
    /// The device model's traffic (ChipKit's `npu:` devices, `chipkit sim --module`, sweeps): SRAM counts as in
    /// <see cref="Estimate"/>, but the layer is scheduled the way a real accelerator's compiler would, with the loop
    /// order that moves the fewest DRAM bytes. Partial sums of an output tile stay on chip until its reduction is
    /// complete (the ofmap buffer acts as the accumulator, as NVDLA's CACC or TPU's accumulators do), so nothing
    /// spills. If the whole ifmap fits in the active half of its buffer, or all the filters fit in theirs, every operand
    /// is fetched once. Otherwise the cheaper of two tilings: ifmap tiles that fit held while all filters stream past
    /// (filters fetched once per ifmap tile), or filter tiles held while the ifmap streams (ifmap fetched once per
    /// filter tile). Outputs are written once.
    /// </summary>
    public static Traffic EstimateScheduled(Layer layer, ComputeResult c, ModuleSpec m, WordSizes w)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(m);
        ArgumentNullException.ThrowIfNull(w);
        Traffic sram = Estimate(layer, c, m, w);
        double halfIfmap = m.SramKib.Ifmap * 1024 / 2, halfFilter = m.SramKib.Filter * 1024 / 2;
        double ifmap = (double)layer.IfmapElements * w.Input;
        double filter = (double)layer.FilterElements * w.Weight;
        double ifmapDram = ifmap, filterDram = filter;
        if (ifmap > halfIfmap && filter > halfFilter)
        {
            double filtersPerIfmapTile = filter * Math.Ceiling(ifmap / halfIfmap);
            double ifmapPerFilterTile = ifmap * Math.Ceiling(filter / halfFilter);
            if (filtersPerIfmapTile + ifmap <= ifmapPerFilterTile + filter)
            {
                filterDram = filtersPerIfmapTile;
            }
            else
            {
                ifmapDram = ifmapPerFilterTile;
            }
        }

        double outputs = (double)layer.OfmapElements * w.Output;
        return sram with
        {
            IfmapSramWrite = ifmapDram, FilterSramWrite = filterDram,
            IfmapDramRead = ifmapDram, FilterDramRead = filterDram, OfmapDramWrite = outputs, OfmapDramRead = 0,
        };
    }

    /// <summary>Cycles, time and energy of one layer on module <paramref name="m"/> at operating point <paramref name="op"/> (the device model: <see cref="EstimateScheduled"/>).</summary>
    public static LayerCost Cost(Layer layer, ModuleSpec m, MacType type, WordSizes w, OperatingPoint op, double? dramBytesPerCycle = null)
    {
        ArgumentNullException.ThrowIfNull(m);
        ArgumentNullException.ThrowIfNull(op);
        ComputeResult c = SystolicModel.Compute(layer, m.Rows, m.Cols, m.Dataflow);
        Traffic tr = EstimateScheduled(layer, c, m, w);
        return Combine(layer, c, tr, m, type, op, dramBytesPerCycle ?? m.DramBytesPerCycle);
    }

    /// <param name="scaleSimConventions">SCALE-Sim's convention: the first fill of the ifmap and filter buffers happens
    /// before cycle 0 and the last drain of the ofmap buffer after the last cycle, so those bytes (at most the active
    /// half of each buffer) take no time, and each of the three buffers has its own DRAM port of <paramref name="bw"/>
    /// (SCALE-Sim's single_layer_sim gives every backing buffer the configured bandwidth). ChipKit's own device model
    /// times the fill and drain and shares one DRAM interface (false).</param>
    /// <param name="tracedTotalCycles">The layer's total cycles from a trace-driven memory model
    /// (<see cref="ScaleSimMemory"/>) instead of max(compute, DRAM) (DramCycles is then the busiest port's words / bw).</param>
    internal static LayerCost Combine(Layer layer, ComputeResult c, Traffic tr, ModuleSpec m, MacType type, OperatingPoint op, double bw, bool scaleSimConventions = false, long? tracedTotalCycles = null)
    {
        double timed = tr.DramBytes;
        if (tracedTotalCycles is not null)
        {
            timed = Math.Max(tr.IfmapDramRead, Math.Max(tr.FilterDramRead, tr.OfmapDramWrite + tr.OfmapDramRead));
        }
        else if (scaleSimConventions)
        {
            double ifmap = tr.IfmapDramRead - Math.Min(tr.IfmapDramRead, m.SramKib.Ifmap * 512);
            double filter = tr.FilterDramRead - Math.Min(tr.FilterDramRead, m.SramKib.Filter * 512);
            double ofmap = tr.OfmapDramWrite + tr.OfmapDramRead - Math.Min(tr.OfmapDramWrite, m.SramKib.Ofmap * 512);
            timed = Math.Max(ifmap, Math.Max(filter, ofmap));
        }

        long dramCycles = (long)Math.Ceiling(timed / bw);
        long total = tracedTotalCycles ?? Math.Max(c.Cycles, dramCycles);
        double seconds = total / (op.Mhz * 1e6);
        double v2 = (op.Volts / m.NominalVolts) * (op.Volts / m.NominalVolts);
        double pj = 1e-12 * v2;
        var e = new Dictionary<string, double>
        {
            ["mac"] = layer.Macs * m.MacPj[type] * pj,
            ["register_file"] = tr.RegisterFile * m.RegisterFilePjPerByte * pj,
            ["sram_ifmap"] = ((tr.IfmapSramRead * m.SramReadPjPerByte.Ifmap) + (tr.IfmapSramWrite * m.SramWritePjPerByte.Ifmap)) * pj,
            ["sram_filter"] = ((tr.FilterSramRead * m.SramReadPjPerByte.Filter) + (tr.FilterSramWrite * m.SramWritePjPerByte.Filter)) * pj,
            ["sram_ofmap"] = ((tr.OfmapSramRead * m.SramReadPjPerByte.Ofmap) + (tr.OfmapSramWrite * m.SramWritePjPerByte.Ofmap)) * pj,
            ["dram"] = tr.DramBytes * 8 * m.DramPjPerBit * pj,
            ["leakage"] = m.LeakageMw * 1e-3 * (op.Volts / m.NominalVolts) * seconds,
        };
        return new LayerCost(layer, c, tr, dramCycles, total, seconds, e);
    }
}
