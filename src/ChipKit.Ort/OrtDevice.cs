using System.Globalization;
using System.Runtime.InteropServices;
using ChipKit.Core.Descriptors;
using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;
using ChipKit.Harness.Devices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ChipKit.Ort;

/// <summary>
/// The peer device <c>ort</c>: ONNX Runtime's CPU execution provider (MLAS) running each workload as a single-op ONNX
/// model built in memory (<see cref="OnnxModels"/>), weights as initializers, intra-op threads = --threads,
/// all graph optimisations. Outputs are ORT's own, written into the workload's output buffer and verified like any
/// device's.
/// </summary>
public sealed class OrtDevice : IDevice
{
    private readonly KernelList _kernels;

    /// <param name="threads">Intra-op threads of every session; 0 means <see cref="Environment.ProcessorCount"/>.</param>
    public OrtDevice(int threads = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(threads);
        Threads = threads == 0 ? Environment.ProcessorCount : threads;
        Info = Describe(Threads);
        _kernels = new KernelList(
        [
            new KernelEntry("ort.gemm.f32", w => w is GemmWorkload, w => new OrtKernel(w, Threads)),
            new KernelEntry("ort.conv.f32", w => w is ConvWorkload c && c.Desc.Layout == TensorLayout.Nchw, w => new OrtKernel(w, Threads)),
            new KernelEntry("ort.qgemm", w => w is QGemmWorkload q && SupportsQGemm(q.Desc), w => new OrtKernel(w, Threads)),
            new KernelEntry("ort.qconv", w => w is QConvWorkload q && SupportsQConv(q.Desc), w => new OrtKernel(w, Threads)),
        ]);
    }

    /// <summary>Intra-op threads of the sessions this device creates.</summary>
    public int Threads { get; }

    public DeviceInfo Info { get; }

    public TimeSource TimeSource => TimeSource.Wall;

    /// <summary>Why a workload is not run on ort (null when it is): what ONNX or ONNX Runtime 1.31's CPU provider lacks.</summary>
    public static string? Unsupported(Workload workload) => workload switch
    {
        ConvWorkload c when c.Desc.Layout != TensorLayout.Nchw => "ONNX Conv takes NCHW activations only",
        QConvWorkload q when q.Desc.Conv.Layout != TensorLayout.Nchw => "ONNX QLinearConv / ConvInteger take NCHW activations only",
        QGemmWorkload q when !SupportsQGemm(q.Desc) => $"ONNX Runtime's CPU provider has no QLinearMatMul kernel for A {q.Desc.AType.ToSpec()} x B {q.Desc.BType.ToSpec()}",
        QConvWorkload q when q.Desc.Output == QuantOutput.Int32 && !q.Desc.WQuant.IsPerTensor => "ONNX Runtime's ConvInteger supports per-tensor weight zero points only",
        QConvWorkload q when !SupportsQConv(q.Desc) => $"ONNX Runtime's CPU provider has no QLinearConv kernel for X {q.Desc.XType.ToSpec()} x W {q.Desc.WType.ToSpec()}",
        _ => null,
    };

    // What ONNX Runtime 1.31's CPU provider runs (OrtDeviceTests checks each refusal against ORT itself):
    // QLinearMatMul / QLinearConv have no s8 x u8 kernel; ConvInteger rejects per-channel weight zero points at run time.
    internal static bool SupportsQGemm(QGemmDesc d) => d.Output == QuantOutput.Int32 || !(d.AType == DataType.S8 && d.BType == DataType.U8);

    internal static bool SupportsQConv(QConv2dDesc d) => d.Conv.Layout == TensorLayout.Nchw && (d.Output == QuantOutput.Int32
        ? d.WQuant.IsPerTensor
        : !(d.XType == DataType.S8 && d.WType == DataType.U8));

    public IKernel? CreateKernel(Workload workload)
    {
        ArgumentNullException.ThrowIfNull(workload);
        return _kernels.Create(workload);
    }

    public void Dispose()
    {
    }

    /// <summary>ONNX Runtime's version, or the reason its native library cannot be loaded.</summary>
    public static (string? Version, string? Error) Probe()
    {
        try
        {
            return (OrtEnv.Instance().GetVersionString(), null);
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or OnnxRuntimeException or EntryPointNotFoundException or BadImageFormatException)
        {
            return (null, $"ONNX Runtime's native library did not load: {e.GetType().Name}: {e.Message}");
        }
    }

    private static DeviceInfo Describe(int threads)
    {
        (string? version, string? error) = Probe();
        var props = new Dictionary<string, string>
        {
            ["threads"] = threads.ToString(CultureInfo.InvariantCulture),
            ["provider"] = "CPUExecutionProvider",
            ["graph_optimization"] = "all",
            ["opset"] = OnnxModels.Opset.ToString(CultureInfo.InvariantCulture),

            // A peer library to compare with (--device cpu,ort --compare ort), not a module under evaluation:
            // it runs only when named, never as part of the default device set.
            [DeviceRegistry.PeerProperty] = "true",
        };
        if (version is not null)
        {
            props["version"] = version;
        }

        return new DeviceInfo("ort", "onnxruntime", $"ONNX Runtime {version ?? "?"} CPU provider (MLAS)", error is null, error, props);
    }
}

/// <summary>
/// One ORT session over one single-op model. Prepare builds the model from the bound operands (weights become
/// initializers), creates the session and binds the input and the output to the workload's own buffers (pinned), so
/// Run is one <c>RunWithBinding</c> call that writes the output in place.
/// </summary>
public sealed class OrtKernel : IKernel
{
    private readonly Workload _workload;
    private readonly int _threads;
    private readonly List<GCHandle> _pins = [];
    private readonly List<IDisposable> _owned = [];
    private InferenceSession? _session;
    private OrtIoBinding? _binding;
    private RunOptions? _runOptions;

    public OrtKernel(Workload workload, int threads)
    {
        _workload = workload;
        _threads = threads;
        Name = workload switch
        {
            GemmWorkload g => OnnxModels.NeedsGemm(g.Desc) ? "ort.Gemm" : "ort.MatMul",
            ConvWorkload => "ort.Conv",
            QGemmWorkload q => q.Desc.Output == QuantOutput.Int32 ? "ort.MatMulInteger" : "ort.QLinearMatMul",
            QConvWorkload q => q.Desc.Output == QuantOutput.Int32 ? (q.Desc.HasBias ? "ort.ConvInteger+Add" : "ort.ConvInteger") : "ort.QLinearConv",
            _ => throw new ArgumentException($"ort has no kernel for {workload.Op}", nameof(workload)),
        };
    }

    public string Name { get; }

    public void Prepare(OpData data)
    {
        Release();
        (OnnxModels.Built model, Array input, TensorElementType inType, Array output, TensorElementType outType) = data switch
        {
            GemmData g => (OnnxModels.Gemm(g), (Array)g.A, TensorElementType.Float, (Array)g.Y, TensorElementType.Float),
            ConvData c => (OnnxModels.Conv(c, ((ConvWorkload)_workload).HasBias), c.X, TensorElementType.Float, c.Y, TensorElementType.Float),
            QGemmData q => (OnnxModels.QGemm(q), q.A, Elem(q.Desc.AType), (Array?)q.Y8 ?? q.Y32!, Elem(q.Desc.YType)),
            QConvData q => (OnnxModels.QConv(q), q.X, Elem(q.Desc.XType), (Array?)q.Y8 ?? q.Y32!, Elem(q.Desc.YType)),
            _ => throw new ArgumentException($"unexpected operands {data.GetType().Name}", nameof(data)),
        };

        using var options = new SessionOptions
        {
            IntraOpNumThreads = _threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        _session = new InferenceSession(model.Bytes, options);
        _runOptions = new RunOptions();
        _binding = _session.CreateIoBinding();
        _binding.BindInput(OnnxModels.Input, Wrap(input, inType, model.InputShape));
        _binding.BindOutput(OnnxModels.Output, Wrap(output, outType, model.OutputShape));
        _binding.SynchronizeBoundInputs();
    }

    public void Run()
    {
        if (_session is null || _binding is null || _runOptions is null)
        {
            throw new InvalidOperationException("Prepare was not called");
        }

        _session.RunWithBinding(_runOptions, _binding);
    }

    public void Dispose() => Release();

    private static TensorElementType Elem(DataType t) => t switch
    {
        DataType.U8 => TensorElementType.UInt8,
        DataType.S8 => TensorElementType.Int8,
        DataType.S32 => TensorElementType.Int32,
        _ => TensorElementType.Float,
    };

    /// <summary>An OrtValue over a pinned managed array (no copy): ORT reads the input and writes the output in place.</summary>
    private OrtValue Wrap(Array array, TensorElementType type, long[] shape)
    {
        GCHandle pin = GCHandle.Alloc(array, GCHandleType.Pinned);
        _pins.Add(pin);
        long bytes = (long)array.Length * Marshal.SizeOf(array.GetType().GetElementType()!);
        OrtValue v = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, type, shape, pin.AddrOfPinnedObject(), bytes);
        _owned.Add(v);
        return v;
    }

    private void Release()
    {
        _binding?.Dispose();
        _binding = null;
        foreach (IDisposable d in _owned)
        {
            d.Dispose();
        }

        _owned.Clear();
        _runOptions?.Dispose();
        _runOptions = null;
        _session?.Dispose();
        _session = null;
        foreach (GCHandle h in _pins)
        {
            h.Free();
        }

        _pins.Clear();
    }
}

/// <summary>Registers the <c>ort</c> device (src/ChipKit.Cli/Backends.cs).</summary>
public sealed class OrtProvider : IDeviceProvider
{
    public IEnumerable<DeviceInfo> List(DeviceOptions options)
    {
        using var d = new OrtDevice(options.Threads);
        yield return d.Info;
    }

    public IDevice? TryOpen(string id, DeviceOptions options) => id == "ort" ? new OrtDevice(options.Threads) : null;
}
