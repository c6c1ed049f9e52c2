using System.Diagnostics;
using ChipKit.Core.Devices;
using ChipKit.Cpu;

namespace ChipKit.Models.Onnx;

/// <summary>
/// Runs a loaded <see cref="OnnxModel"/> on one device: <c>ref</c> (Core's scalar oracle for conv and matmul, scalar
/// code for the rest) or <c>cpu</c> (ChipKit.Cpu's int8 SIMD kernels through IKernel.Prepare/Run, the same scalar
/// code for the rest). All buffers — one per tensor, Reshape/Flatten sharing their input's — and the kernels' packed
/// weights and scratch are allocated here; <see cref="Invoke"/> on <c>cpu</c> allocates nothing. Every tensor stays
/// readable after a run (<see cref="Tensor"/>), so layers can be compared one by one.
/// </summary>
public sealed partial class OnnxSession : IDisposable
{
    private readonly Dictionary<string, OnnxBuffer> _buffers = new(StringComparer.Ordinal);
    private readonly Action[] _runs;
    private readonly long[] _ticks;
    private readonly IDevice? _cpu;
    private readonly bool _ownsDevice;
    private int _count;

    /// <param name="fast">true: the cpu device (or <paramref name="kernelDevice"/>); false: ref.</param>
    /// <param name="threads">Threads of the cpu kernels (1 by default, as the TFLite interpreter).</param>
    /// <param name="kernelDevice">Another device whose quantised conv and matmul kernels (ONNX semantics, the same
    /// descriptors) run the QLinearConv / QLinearMatMul layers, e.g. opencl:0.0 or ilgpu-cuda:0; the other layers run on
    /// the host. The caller keeps ownership. Null: ChipKit's cpu device.</param>
    public OnnxSession(OnnxModel model, bool fast = true, int threads = 1, IDevice? kernelDevice = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        Model = model;
        Fast = fast || kernelDevice is not null;
        _ownsDevice = kernelDevice is null && fast;
        _cpu = kernelDevice ?? (fast ? new CpuDevice(threads) : null);
        Inputs = model.Inputs.Select(Define).ToArray();
        _runs = new Action[model.Layers.Count];
        var kernels = new string[model.Layers.Count];
        for (int i = 0; i < _runs.Length; i++)
        {
            _runs[i] = model.Layers[i].Bind(this, out string kernel);
            kernels[i] = kernel;
        }

        Kernels = kernels;
        Outputs = model.Outputs.Select(o => _buffers[o.Name]).ToArray();
        _ticks = new long[_runs.Length];
    }

    public OnnxModel Model { get; }

    /// <summary>True on the cpu device.</summary>
    public bool Fast { get; }

    public string Device => _cpu?.Info.Id ?? "ref";

    public IReadOnlyList<OnnxBuffer> Inputs { get; }

    public IReadOnlyList<OnnxBuffer> Outputs { get; }

    /// <summary>Name of the kernel that runs each layer.</summary>
    public IReadOnlyList<string> Kernels { get; }

    /// <summary>Runs every layer in order, timing each.</summary>
    public void Invoke()
    {
        for (int i = 0; i < _runs.Length; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            _runs[i]();
            _ticks[i] += Stopwatch.GetTimestamp() - t0;
        }

        _count++;
    }

    /// <summary>The buffer of any tensor of the graph (inputs, every layer output, constants read by a layer).</summary>
    public OnnxBuffer Tensor(string name) => _buffers.TryGetValue(name, out OnnxBuffer? b)
        ? b
        : throw new KeyNotFoundException($"no tensor '{name}' in this session");

    /// <summary>Mean seconds per layer over the runs since the last reset.</summary>
    public double[] LayerSeconds() => _ticks.Select(t => _count == 0 ? 0 : (double)t / Stopwatch.Frequency / _count).ToArray();

    public void ResetTimings()
    {
        Array.Clear(_ticks);
        _count = 0;
    }

    public void Dispose()
    {
        foreach (IKernel k in _kernels)
        {
            k.Dispose();
        }

        if (_ownsDevice)
        {
            _cpu?.Dispose();
        }
    }

    private readonly List<IKernel> _kernels = [];

    /// <summary>
    /// A kernel of the session's device for one layer, disposed with the session. ChipKit's cpu kernels read the
    /// host arrays on every run; another device's kernel must be an <see cref="IStreamingKernel"/> and gets its
    /// activation input copied to the device before every run.
    /// </summary>
    internal IKernel CreateKernel(Core.Workloads.Workload workload, OnnxLayer layer)
    {
        IKernel k = _cpu!.CreateKernel(workload)
            ?? throw new Core.ChipKitInputException($"{Model.File}: {layer}: device {Device} has no kernel for {workload.Spec}");
        _kernels.Add(k);
        if (_ownsDevice)
        {
            return k;
        }

        return k is IStreamingKernel streaming
            ? new Streaming(streaming)
            : throw new Core.ChipKitInputException($"{Model.File}: {layer}: device {Device}'s kernel {k.Name} keeps its inputs on the device from Prepare and cannot take new activations per inference");
    }

    /// <summary>Copies the new activations to the device, then runs.</summary>
    private sealed class Streaming(IStreamingKernel inner) : IKernel
    {
        public string Name => inner.Name;

        public void Prepare(Core.Workloads.OpData data) => inner.Prepare(data);

        public void Run()
        {
            inner.UploadInputs();
            inner.Run();
        }

        public void Dispose()
        {
        }
    }

    /// <summary>The buffer of a tensor a layer reads: defined earlier, or a constant wrapped (not copied).</summary>
    internal OnnxBuffer Get(OnnxValue v)
    {
        if (_buffers.TryGetValue(v.Name, out OnnxBuffer? b))
        {
            return b;
        }

        if (v.Constant is null)
        {
            throw new InvalidOperationException($"tensor {v} is read before it is written");
        }

        b = new OnnxBuffer(v, v.Constant as byte[], v.Constant as float[], v.Constant as int[]);
        _buffers[v.Name] = b;
        return b;
    }

    /// <summary>Allocates the buffer of a tensor.</summary>
    internal OnnxBuffer Define(OnnxValue v)
    {
        var b = new OnnxBuffer(v);
        Set(v, b);
        return b;
    }

    internal void Set(OnnxValue v, OnnxBuffer b) => _buffers[v.Name] = b;
}
