using System.Globalization;
using System.Runtime.InteropServices;
using ChipKit.Accel;
using ChipKit.Core;
using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;
using ChipKit.Models.Tflite;

namespace ChipKit.Models;

/// <summary>The input and output of one inference of a <see cref="ModelWorkload"/>.</summary>
public sealed class ModelData(sbyte[] input, int outputBytes, string inputNote) : OpData
{
    public sbyte[] Input { get; } = input;
    public sbyte[] Output { get; } = new sbyte[outputBytes];

    /// <summary>Where the input came from (the bundled sample, or seeded random values).</summary>
    public string InputNote { get; } = inputNote;
}

/// <summary>
/// A whole int8 TFLite network as a ChipKit workload: spec <c>model:NAME</c> (a built-in MLPerf Tiny model: ic01, ic02,
/// kws01, vww01, ad01, sww01) or <c>model:path/to/file.tflite</c>. One run is one inference (copy the input in,
/// Invoke, copy the output out). The oracle is the scalar <c>ref</c> interpreter; every device's output must equal it
/// bit for bit. Kernels: <c>ref</c> (the scalar interpreter), <c>cpu</c> (the SIMD fast paths, one thread) and
/// <c>npu:*</c> modules with int8 MACs (outputs computed by the cpu interpreter, time and energy from
/// <see cref="ModelCost"/>) and devices that implement <see cref="ITfliteModelDevice"/> (OpenCL: the model as a chain
/// of OpenCL C kernels, timed by device events). The input is the bundled sample's first input where the model has one, otherwise
/// deterministic random int8 values from the run's seed.
/// </summary>
public sealed class ModelWorkload : Workload, IDeviceAwareWorkload
{
    private ModelWorkload(string name, string path, MlperfTiny.Entry? entry, TfliteModel model)
    {
        Name = name;
        Path = path;
        Entry = entry;
        Model = model;
        var probe = new Interpreter(model, fast: false);
        Macs = probe.Layers.Sum(l => l.Macs);
        ArenaBytes = probe.ArenaBytes;
        InputBytes = probe.Input.Length;
        OutputBytes = probe.Output.Length;
    }

    /// <summary>Registers the "model" op with <see cref="WorkloadSpec"/> (idempotent).</summary>
    public static void Register() => WorkloadSpec.Register("model", Parse);

    /// <summary>Parses the text after "model:": a built-in name or a .tflite path.</summary>
    public static ModelWorkload Parse(string spec, string body)
    {
        ArgumentNullException.ThrowIfNull(body);
        string name = body.Trim();
        if (name.Length == 0)
        {
            throw new ChipKitInputException($"workload '{spec}': expected model:NAME (one of {string.Join(", ", MlperfTiny.Models.Select(m => m.Id))}) or model:path/to/file.tflite");
        }

        (string path, MlperfTiny.Entry? entry) = MlperfTiny.Resolve(name);
        TfliteModel model = TfliteReader.Load(path);
        return new ModelWorkload(entry is not null && MlperfTiny.Find(name) is not null ? entry.Id : name, path, entry, model);
    }

    public string Name { get; }
    public string Path { get; }
    public MlperfTiny.Entry? Entry { get; }
    public TfliteModel Model { get; }
    public long Macs { get; }
    public int ArenaBytes { get; }
    public int InputBytes { get; }
    public int OutputBytes { get; }

    public override string Op => "model";

    public override string Spec => "model:" + Name;

    public override IReadOnlyList<KeyValuePair<string, string>> Params =>
    [
        new("model", Name),
        new("file", System.IO.Path.GetFileName(Path)),
        new("operators", Model.Operators.Length.ToString(CultureInfo.InvariantCulture)),
        new("macs", Macs.ToString(CultureInfo.InvariantCulture)),
        new("input", $"{Model.Input.ShapeText} {Model.Input.Type}"),
    ];

    /// <summary>2 operations per multiply-accumulate of the conv, depthwise and FC layers.</summary>
    public override double Ops => 2.0 * Macs;

    public override long Bytes => new FileInfo(Path).Length + ArenaBytes + InputBytes + OutputBytes;

    public override OpData CreateData(int seed)
    {
        sbyte[] x;
        string note;
        if (Entry?.Sample is string sample)
        {
            x = MemoryMarshal.Cast<byte, sbyte>(File.ReadAllBytes(MlperfTiny.PathOf(sample)).AsSpan(0, InputBytes)).ToArray();
            note = $"bundled sample {sample} (first input)";
        }
        else
        {
            var rng = new Random(seed);
            x = new sbyte[InputBytes];
            for (int i = 0; i < x.Length; i++)
            {
                x[i] = (sbyte)rng.Next(-128, 128);
            }

            note = $"random int8 input (seed {seed}); no bundled sample";
        }

        var data = new ModelData(x, OutputBytes, note);
        PoisonOutput(data);
        return data;
    }

    public override Expected ComputeReference(OpData data)
    {
        var d = (ModelData)data;
        var oracle = new Interpreter(Model, fast: false);
        d.Input.CopyTo(oracle.Input);
        oracle.Invoke();
        int[] values = new int[OutputBytes];
        ReadOnlySpan<sbyte> y = oracle.Output;
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = y[i];
        }

        return new IntExpected(values);
    }

    public override VerifyOutcome Verify(OpData data, Expected expected)
    {
        var d = (ModelData)data;
        int[] e = ((IntExpected)expected).Values;
        long mismatches = 0, first = -1;
        double maxAbs = 0;
        for (int i = 0; i < e.Length; i++)
        {
            int diff = Math.Abs(d.Output[i] - e[i]);
            if (diff != 0)
            {
                mismatches++;
                first = first < 0 ? i : first;
                maxAbs = Math.Max(maxAbs, diff);
            }
        }

        return mismatches == 0
            ? new VerifyOutcome(true, 0, 0, 0, 0, -1, null)
            : new VerifyOutcome(false, maxAbs, 0, 0, mismatches, first,
                $"{mismatches} of {e.Length} output values differ from the ref interpreter; first at {first}: {d.Output[first]} vs {e[first]}");
    }

    public override void PoisonOutput(OpData data)
    {
        // a pattern no correct inference is likely to write everywhere; verification compares every value anyway
        sbyte[] y = ((ModelData)data).Output;
        for (int i = 0; i < y.Length; i++)
        {
            y[i] = (sbyte)(i % 2 == 0 ? 0x5A : -0x5B);
        }
    }

    public IKernel? CreateKernel(IDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (device is NpuDevice npu)
        {
            if (!npu.Module.Supports(MacType.Int8))
            {
                return null;
            }

            ModelCostResult cost = NpuModelCost.Evaluate(Model, npu.Module, npu.Point);
            var modeled = new ModeledCost(cost.Seconds, cost.Cycles, cost.Joules, cost.EnergyJ);
            return new NpuModelKernel($"npu.{npu.Module.Dataflow.ToString().ToLowerInvariant()}.tflite-int8(cpu.tflite.int8.simd)", Model, modeled);
        }

        if (device is ITfliteModelDevice modelDevice)
        {
            // a backend with its own model executor (opencl:P.D): the whole network as a chain of its kernels
            return modelDevice.CreateModelKernel(Model);
        }

        return device.Info.Id switch
        {
            "ref" => new ModelKernel("ref.tflite.int8.scalar", Model, fast: false),
            "cpu" => new ModelKernel("cpu.tflite.int8.simd.1t", Model, fast: true),
            _ => null,
        };
    }

    /// <summary>One inference per Run on a prepared interpreter (created in Prepare; Run allocates nothing).</summary>
    private class ModelKernel(string name, TfliteModel model, bool fast) : IKernel
    {
        private Interpreter? _interp;
        private ModelData? _data;

        public string Name { get; } = name;

        public void Prepare(OpData data)
        {
            _data = (ModelData)data;
            _interp = new Interpreter(model, fast) { TimeLayers = false }; // an inference, not a profile
        }

        public void Run()
        {
            if (_interp is null || _data is null)
            {
                throw new InvalidOperationException("Prepare was not called");
            }

            _data.Input.CopyTo(_interp.Input);
            _interp.Invoke();
            _interp.Output.CopyTo(_data.Output);
        }

        public void Dispose()
        {
        }
    }

    /// <summary>The npu: outputs from the cpu interpreter (verified), cost from the module's model.</summary>
    private sealed class NpuModelKernel(string name, TfliteModel model, ModeledCost cost) : ModelKernel(name, model, fast: true), IModeledKernel
    {
        public ModeledCost Cost { get; } = cost;
    }
}
