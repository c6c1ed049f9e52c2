using System.Globalization;
using ChipKit.Core;
using ChipKit.Core.Descriptors;
using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;
using ChipKit.Cpu;

namespace ChipKit.Accel;

/// <summary>
/// A modeled accelerator as a ChipKit device (<c>npu:NAME</c>, <c>npu:path/to/module.json</c>, optionally
/// <c>@POINT</c> for an operating point). Its kernels compute the real outputs with the CPU backend's kernels, so they
/// are verified like any device's, and report the module's modeled cycles, seconds and energy.
/// </summary>
public sealed class NpuDevice : IDevice
{
    public const string Prefix = "npu:";

    private readonly CpuDevice _cpu;

    public NpuDevice(ModuleSpec module, string id, string? point = null, int threads = 0)
    {
        ArgumentNullException.ThrowIfNull(module);
        Module = module;
        Point = module.Point(point);
        _cpu = new CpuDevice(threads);
        var props = new Dictionary<string, string>
        {
            ["array"] = $"{module.Rows}x{module.Cols}",
            ["dataflow"] = module.Dataflow.ToString().ToLowerInvariant(),
            ["sram_kib"] = string.Create(CultureInfo.InvariantCulture, $"ifmap={module.SramKib.Ifmap},filter={module.SramKib.Filter},ofmap={module.SramKib.Ofmap}"),
            ["mac_types"] = string.Join(",", module.MacPj.Keys.Select(k => k.ToString().ToLowerInvariant())),
            ["operating_point"] = string.Create(CultureInfo.InvariantCulture, $"{Point.Name} ({Point.Volts} V, {Point.Mhz} MHz)"),
            ["dram"] = string.Create(CultureInfo.InvariantCulture, $"{module.DramType} {module.DramBytesPerCycle} B/cycle {module.DramPjPerBit} pJ/bit"),
            ["technology_nm"] = module.TechnologyNm.ToString(CultureInfo.InvariantCulture),
            ["outputs"] = "computed by the cpu backend and verified; time and energy modeled",
        };
        Info = new DeviceInfo(id, "npu-model", module.Description.Length > 0 ? module.Description : module.Name, true, null, props);
    }

    /// <summary>Opens <c>npu:NAME[@POINT]</c> or <c>npu:FILE.json[@POINT]</c>; null when the id is not an npu id.</summary>
    public static NpuDevice? TryOpen(string id, int threads = 0)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (!id.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        string rest = id[Prefix.Length..];
        string? point = null;
        int at = rest.LastIndexOf('@');
        if (at >= 0)
        {
            point = rest[(at + 1)..];
            rest = rest[..at];
        }

        if (rest.Length == 0)
        {
            throw new ChipKitInputException($"--device '{id}': expected npu:NAME or npu:path/to/module.json; built-in modules: {string.Join(", ", ModuleLoader.BuiltInNames)}");
        }

        ModuleSpec m;
        try
        {
            m = ModuleLoader.Resolve(rest);
        }
        catch (ChipKitInputException e)
        {
            throw new ChipKitInputException($"--device '{id}': {e.Message}", e);
        }

        return new NpuDevice(m, id, point, threads);
    }

    /// <summary>The built-in modules as devices, for `chipkit devices`.</summary>
    public static IEnumerable<DeviceInfo> ListBuiltIn()
    {
        foreach (string n in ModuleLoader.BuiltInNames)
        {
            using var d = new NpuDevice(ModuleLoader.BuiltIn(n), Prefix + n, threads: 1);
            yield return d.Info;
        }
    }

    public ModuleSpec Module { get; }

    public OperatingPoint Point { get; }

    public DeviceInfo Info { get; }

    public TimeSource TimeSource => TimeSource.Modeled;

    public IKernel? CreateKernel(Workload workload)
    {
        ArgumentNullException.ThrowIfNull(workload);
        NpuCost? plan = NpuCost.Plan(workload);
        if (plan is null || !Module.Supports(plan.Type))
        {
            return null;
        }

        IKernel? inner = _cpu.CreateKernel(workload);
        if (inner is null)
        {
            return null;
        }

        ModeledCost cost = plan.Evaluate(Module, Point);
        string name = $"npu.{Module.Dataflow.ToString().ToLowerInvariant()}.{plan.Type.ToString().ToLowerInvariant()}({inner.Name})";
        return new NpuKernel(name, inner, cost);
    }

    public void Dispose() => _cpu.Dispose();

    private sealed class NpuKernel(string name, IKernel inner, ModeledCost cost) : IModeledKernel
    {
        public string Name { get; } = name;

        public ModeledCost Cost { get; } = cost;

        public void Prepare(OpData data) => inner.Prepare(data);

        public void Run() => inner.Run();

        public void Dispose() => inner.Dispose();
    }
}

/// <summary>A workload as the module runs it: the layer (per group and batch image), how many times, the MAC type and word sizes.</summary>
public sealed record NpuCost(Layer Layer, long Repeats, MacType Type, WordSizes Words)
{
    /// <summary>The mapping of a ChipKit workload, or null for an op the module has no mapping for.</summary>
    public static NpuCost? Plan(Workload w) => w switch
    {
        GemmWorkload g => new(Layer.Gemm(g.Spec, g.Desc.M, g.Desc.N, g.Desc.K), 1, MacType.Fp32, new WordSizes(4, 4, 4, 4)),
        ConvWorkload c => new(ConvLayer(c.Spec, c.Desc), (long)c.Desc.N * c.Desc.Groups, MacType.Fp32, new WordSizes(4, 4, 4, 4)),
        QGemmWorkload q => new(Layer.Gemm(q.Spec, q.Desc.M, q.Desc.N, q.Desc.K), 1, MacType.Int8, new WordSizes(1, 1, 4, q.Desc.Output == QuantOutput.Int32 ? 4 : 1)),
        QConvWorkload q => new(ConvLayer(q.Spec, q.Desc.Conv), (long)q.Desc.Conv.N * q.Desc.Conv.Groups, MacType.Int8, new WordSizes(1, 1, 4, q.Desc.Output == QuantOutput.Int32 ? 4 : 1)),
        _ => null,
    };

    /// <summary>One group of one image of a convolution as SCALE-Sim's operand matrices: P*Q x R*S*C/g by K/g.</summary>
    public static Layer ConvLayer(string name, Conv2dDesc d)
    {
        ArgumentNullException.ThrowIfNull(d);
        return new Layer(name, (long)d.P * d.Q, (long)d.R * d.S * d.Cg, d.Kg, (long)d.H * d.W * d.Cg);
    }

    public ModeledCost Evaluate(ModuleSpec m, OperatingPoint op)
    {
        LayerCost c = CostModel.Cost(Layer, m, Type, Words, op);
        var breakdown = c.EnergyJ.ToDictionary(p => p.Key, p => p.Value * Repeats);
        return new ModeledCost(c.Seconds * Repeats, c.TotalCycles * Repeats, c.Joules * Repeats, breakdown);
    }
}
