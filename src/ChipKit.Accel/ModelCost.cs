namespace ChipKit.Accel;

/// <summary>How a network operator is costed on a module.</summary>
public enum ModelOpKind
{
    /// <summary>CONV_2D or FULLY_CONNECTED: one SCALE-Sim layer (ofmap pixels x window x filters) on the systolic array.</summary>
    Gemm,

    /// <summary>DEPTHWISE_CONV_2D: one SCALE-Sim layer per channel group (pixels x KH*KW x depth multiplier), run <c>Repeats</c> times.</summary>
    Grouped,

    /// <summary>ADD, pools, softmax, quantize: the vector unit (see <see cref="ModelCost"/>).</summary>
    Vector,

    /// <summary>RESHAPE: metadata only, no data moves (the output aliases the input); zero cycles and energy.</summary>
    Free,
}

/// <summary>
/// One operator of a network as the cost model sees it. <see cref="Layer"/> and <see cref="Repeats"/> for
/// <see cref="ModelOpKind.Gemm"/> / <see cref="ModelOpKind.Grouped"/>; <see cref="LaneOps"/> (elementary int32
/// operations), <see cref="ReadBytes"/> and <see cref="WriteBytes"/> for <see cref="ModelOpKind.Vector"/>.
/// </summary>
public sealed record ModelOpShape(string Name, ModelOpKind Kind, Layer? Layer = null, long Repeats = 1, long LaneOps = 0, long ReadBytes = 0, long WriteBytes = 0);

/// <summary>Modeled cost of one operator at one operating point.</summary>
public sealed record ModelLayerCost(string Name, ModelOpKind Kind, long Cycles, double Seconds, double Joules, IReadOnlyDictionary<string, double> EnergyJ);

/// <summary>Modeled cost of one inference: per operator and totals.</summary>
public sealed record ModelCostResult(OperatingPoint Point, IReadOnlyList<ModelLayerCost> Layers, long Cycles, double Seconds, double Joules, IReadOnlyDictionary<string, double> EnergyJ);

/// <summary>
/// Cost of a whole int8 network on a modeled module, operator by operator, operators run one after another.
/// <para>CONV_2D and FULLY_CONNECTED are the module's systolic layer: <see cref="CostModel.Cost"/> with int8 MACs,
/// 1-byte inputs, weights and outputs and 4-byte accumulators (SCALE-Sim's compute cycles, ChipKit's DRAM and energy
/// model: every operand's unique data comes from DRAM once per layer and the outputs go back to DRAM).
/// DEPTHWISE_CONV_2D is grouped convolution: each channel is its own layer of OH*OW pixels x KH*KW taps x depth
/// multiplier filters, so a 16x16 array uses one column per group — the known poor fit of depthwise layers on
/// systolic arrays — repeated for every channel.</para>
/// <para>Other operators (an assumption of ChipKit's, not SCALE-Sim's): a vector unit as wide as the array has
/// columns does one int32 lane operation per lane per cycle; cycles = max(ceil(lane ops / cols), DRAM bytes /
/// bandwidth); energy = lane ops x the int8 MAC energy + DRAM bytes (inputs read, outputs written) x 8 x pJ/bit +
/// ofmap SRAM bytes x its per-byte energy, scaled by (V / V_nominal)^2, plus leakage x time. RESHAPE costs nothing.</para>
/// </summary>
public static class ModelCost
{
    /// <summary>Word sizes of an int8 TFLite layer on the array: int8 in, weights and out; int32 accumulators.</summary>
    public static WordSizes Int8Words { get; } = new(1, 1, 4, 1);

    public static ModelCostResult Evaluate(IReadOnlyList<ModelOpShape> ops, ModuleSpec m, OperatingPoint op)
    {
        ArgumentNullException.ThrowIfNull(ops);
        ArgumentNullException.ThrowIfNull(m);
        ArgumentNullException.ThrowIfNull(op);
        if (!m.Supports(MacType.Int8))
        {
            throw new ArgumentException($"module {m.Name} has no int8 MACs", nameof(m));
        }

        var layers = new List<ModelLayerCost>(ops.Count);
        var total = new Dictionary<string, double>(StringComparer.Ordinal);
        long cycles = 0;
        double seconds = 0;
        foreach (ModelOpShape o in ops)
        {
            ModelLayerCost c = o.Kind switch
            {
                ModelOpKind.Gemm or ModelOpKind.Grouped => Systolic(o, m, op),
                ModelOpKind.Vector => Vector(o, m, op),
                _ => new ModelLayerCost(o.Name, o.Kind, 0, 0, 0, new Dictionary<string, double>()),
            };
            layers.Add(c);
            cycles += c.Cycles;
            seconds += c.Seconds;
            foreach (KeyValuePair<string, double> e in c.EnergyJ)
            {
                total[e.Key] = total.GetValueOrDefault(e.Key) + e.Value;
            }
        }

        return new ModelCostResult(op, layers, cycles, seconds, total.Values.Sum(), total);
    }

    private static ModelLayerCost Systolic(ModelOpShape o, ModuleSpec m, OperatingPoint op)
    {
        Layer layer = o.Layer ?? throw new ArgumentException($"{o.Name}: a {o.Kind} operator needs a layer shape", nameof(o));
        LayerCost c = CostModel.Cost(layer, m, MacType.Int8, Int8Words, op);
        var e = c.EnergyJ.ToDictionary(p => p.Key, p => p.Value * o.Repeats, StringComparer.Ordinal);
        return new ModelLayerCost(o.Name, o.Kind, c.TotalCycles * o.Repeats, c.Seconds * o.Repeats, c.Joules * o.Repeats, e);
    }

    private static ModelLayerCost Vector(ModelOpShape o, ModuleSpec m, OperatingPoint op)
    {
        long compute = (o.LaneOps + m.Cols - 1) / m.Cols;
        double dramBytes = o.ReadBytes + o.WriteBytes;
        long dram = (long)Math.Ceiling(dramBytes / m.DramBytesPerCycle);
        long cycles = Math.Max(compute, dram);
        double seconds = cycles / (op.Mhz * 1e6);
        double v = op.Volts / m.NominalVolts;
        double pj = 1e-12 * v * v;
        var e = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["vector"] = o.LaneOps * m.MacPj[MacType.Int8] * pj,
            ["sram_ofmap"] = ((o.ReadBytes * m.SramReadPjPerByte.Ofmap) + (o.WriteBytes * m.SramWritePjPerByte.Ofmap)) * pj,
            ["dram"] = dramBytes * 8 * m.DramPjPerBit * pj,
            ["leakage"] = m.LeakageMw * 1e-3 * v * seconds,
        };
        return new ModelLayerCost(o.Name, o.Kind, cycles, seconds, e.Values.Sum(), e);
    }
}
