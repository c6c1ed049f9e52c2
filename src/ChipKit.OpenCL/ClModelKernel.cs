using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;
using ChipKit.Models;
using ChipKit.Models.Kernels;
using ChipKit.Models.Tflite;
using Silk.NET.OpenCL;

namespace ChipKit.OpenCL;

/// <summary>
/// A whole int8 TFLite model on an OpenCL device (kernels/tflite/tflm.cl): one OpenCL kernel launch per operator,
/// with TFLite Micro's integer requantisation done in the kernels, bit-exact with the <c>ref</c> interpreter.
/// Prepare allocates one device buffer per activation tensor (RESHAPE outputs alias their input's buffer: no copy,
/// no launch) and uploads the constants (weights, transposed for CONV_2D / FULLY_CONNECTED; bias; per-channel
/// multipliers and shifts). Run writes the input once, enqueues the chain on the in-order queue and reads the output
/// once; the activations stay on the device between layers. RunTimed returns the sum of the launches'
/// profiling-event times (transfers excluded), like every OpenCL kernel of ChipKit.
/// </summary>
internal sealed unsafe class ClModelKernel : IDeviceTimedKernel, IModelLayerTimes
{
    private const string File = "tflite/tflm.cl";

    private readonly OpenClDevice _device;
    private readonly TfliteModel _model;
    private readonly Interpreter _plan;
    private readonly nint _program;
    private readonly string _display;
    private readonly int[] _bufferOf;          // tensor index -> index into _activations (-1: not an activation)
    private readonly long[] _bufferBytes;
    private readonly Step[] _steps;
    private readonly List<nint> _constants = [];
    private nint[] _activations = [];
    private ModelData? _data;
    private bool _disposed;

    /// <summary>One kernel launch: its kernel object (arguments set in Prepare), NDRange and the layer it runs.</summary>
    private sealed class Step(Layer layer, nint kernel, nuint[] global)
    {
        public Layer Layer { get; } = layer;
        public nint Kernel { get; } = kernel;
        public nuint[] Global { get; } = global;
    }

    public ClModelKernel(OpenClDevice device, TfliteModel model)
    {
        _device = device;
        _model = model;
        foreach (TfliteOperator op in model.Operators)
        {
            if (op.Op is TfliteOp.Quantize or TfliteOp.Dequantize)
            {
                throw new NotSupportedException($"{model.Source}: operator {op.Index} ({TfliteReader.OpName(op.Op)}) has no OpenCL kernel (ChipKit's OpenCL model executor runs CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, AVERAGE_POOL_2D, MAX_POOL_2D, RESHAPE and SOFTMAX); use --device cpu or ref");
            }
        }

        if (model.Input.Type != TfliteType.Int8 || model.Output.Type != TfliteType.Int8)
        {
            throw new NotSupportedException($"{model.Source}: input {model.Input.Type}, output {model.Output.Type}; the OpenCL model executor needs int8 input and output");
        }

        // the interpreter validates every operator and derives TFLM's integer parameters; its scalar layers are the plan
        _plan = new Interpreter(model, fast: false);
        ClSource src = device.Sources.Load(File);
        Name = $"opencl.tflite.int8.v{Lanes}" + (src.FromUser ? ".user" : "");
        _program = device.Program(src, ClTiling.Choose(device.Desc, sizeof(int)).Defines);
        _display = src.DisplayPath;

        // activation buffers: one per tensor; a RESHAPE output is its input's buffer
        _bufferOf = new int[model.Tensors.Length];
        Array.Fill(_bufferOf, -1);
        var bytes = new List<long>();
        int BufferFor(int tensor)
        {
            if (_bufferOf[tensor] < 0)
            {
                TfliteTensor t = model.Tensors[tensor];
                _bufferOf[tensor] = bytes.Count;
                bytes.Add(t.ElementCount * t.ElementSize);
            }

            return _bufferOf[tensor];
        }

        foreach (int t in model.Inputs)
        {
            BufferFor(t);
        }

        var steps = new List<Step>();
        try
        {
            foreach (Layer layer in _plan.Layers)
            {
                TfliteOperator op = layer.Op;
                if (layer is CopyLayer)
                {
                    _bufferOf[op.Outputs[0]] = BufferFor(op.Inputs[0]);
                    continue;
                }

                foreach (int t in op.Inputs.Where(t => t >= 0 && model.Tensors[t].Data is null))
                {
                    BufferFor(t);
                }

                BufferFor(op.Outputs[0]);
                (string entry, nuint[] global) = layer switch
                {
                    ConvLayer { Depthwise: true } c => ("tfl_dwconv", Range2(Padded(c.Geometry.OC) / Lanes, c.Geometry)),
                    ConvLayer c => ("tfl_conv", Range2(Padded(c.Geometry.OC) / Lanes, c.Geometry)),
                    PoolLayer p => ("tfl_pool", Range2(p.Geometry.C, p.Geometry)),
                    AddLayer => ("tfl_add", new[] { (nuint)Math.Max(1, model.Tensors[op.Outputs[0]].ElementCount) }),
                    SoftmaxLayer s => ("tfl_softmax", new[] { (nuint)Math.Max(1, model.Tensors[op.Outputs[0]].ElementCount / s.Depth) }),
                    _ => throw new NotSupportedException($"{model.Source}: operator {op.Index} ({layer.Name}) has no OpenCL kernel"),
                };
                steps.Add(new Step(layer, device.CreateKernel(_program, entry, _display), global));
            }
        }
        catch
        {
            foreach (Step s in steps)
            {
                Cl.ReleaseKernel(s.Kernel);
            }

            throw;
        }

        _steps = [.. steps];
        _bufferBytes = [.. bytes];
    }

    public string Name { get; }

    /// <summary>Kernel launches per inference (operators less the RESHAPEs).</summary>
    public int Launches => _steps.Length;

    /// <summary>Device-event seconds of each launch of the last <see cref="RunTimed"/>, with the operator it ran.</summary>
    public IReadOnlyList<(int Operator, string Op, double Seconds)> LastLayerSeconds { get; private set; } = [];

    private CL Cl => _device.Cl;

    /// <summary>Output channels per work-item of the conv kernels (int8 vectors).</summary>
    private const int Lanes = 8;

    private static int Padded(int oc) => (oc + Lanes - 1) / Lanes * Lanes;

    private static nuint[] Range2(int channels, Window g) => [(nuint)channels, (nuint)Math.Max(1L, (long)g.N * g.OH * g.OW)];

    public void Prepare(OpData data)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _data = data as ModelData ?? throw new ArgumentException($"expected ModelData, got {data?.GetType().Name}", nameof(data));
        if (_data.Input.Length != _model.Input.ElementCount || _data.Output.Length != _model.Output.ElementCount)
        {
            throw new ArgumentException($"input {_data.Input.Length} / output {_data.Output.Length} bytes; the model needs {_model.Input.ElementCount} / {_model.Output.ElementCount}", nameof(data));
        }

        ReleaseBuffers();
        _activations = new nint[_bufferBytes.Length];
        for (int i = 0; i < _activations.Length; i++)
        {
            _activations[i] = _device.CreateBuffer(_bufferBytes[i]);
        }

        foreach (Step s in _steps)
        {
            SetArgs(s);
        }
    }

    private nint Act(int tensor) => _activations[_bufferOf[tensor]];

    private void SetArgs(Step s)
    {
        nint k = s.Kernel;
        uint i = 0;
        void Int(int v) => ArgValue(k, i++, v);
        void Buf(nint b) => ArgValue(k, i++, b);
        void Geom(Window g)
        {
            foreach (int v in new[] { g.N, g.H, g.W, g.C, g.OH, g.OW, g.OC, g.KH, g.KW, g.SH, g.SW, g.DH, g.DW, g.PadTop, g.PadLeft })
            {
                Int(v);
            }
        }

        TfliteOperator op = s.Layer.Op;
        switch (s.Layer)
        {
            case ConvLayer c:
            {
                Window g = c.Geometry;
                int ocp = Padded(g.OC);
                Geom(g);
                if (c.Depthwise)
                {
                    Int(c.DepthMultiplier);
                }

                Int(ocp);
                Buf(Act(op.Inputs[0]));
                Buf(Constant<sbyte>(c.Depthwise ? PadColumns(c.Weights, g.OC, ocp) : Transpose(c.Weights, g.OC, ocp)));
                Buf(Constant<int>(PadColumns(c.Bias, g.OC, ocp)));
                Buf(Constant<int>(PadColumns(c.Multipliers.ToArray(), g.OC, ocp)));
                Buf(Constant<int>(PadColumns(c.Shifts.ToArray(), g.OC, ocp)));
                Int(c.InputZeroPoint);
                Int(c.OutputZeroPoint);
                Int(c.ActivationMin);
                Int(c.ActivationMax);
                Buf(Act(op.Outputs[0]));
                break;
            }

            case PoolLayer p:
                Geom(p.Geometry);
                Int(p.Average ? 1 : 0);
                Int(p.ActivationMin);
                Int(p.ActivationMax);
                Buf(Act(op.Inputs[0]));
                Buf(Act(op.Outputs[0]));
                break;
            case AddLayer a:
                Int((int)_model.Tensors[op.Outputs[0]].ElementCount);
                Buf(Act(op.Inputs[0]));
                Buf(Act(op.Inputs[1]));
                Int(a.ZeroPoints.Input1);
                Int(a.ZeroPoints.Input2);
                Int(a.ZeroPoints.Output);
                Int(a.Input1Multiplier.M);
                Int(a.Input1Multiplier.S);
                Int(a.Input2Multiplier.M);
                Int(a.Input2Multiplier.S);
                Int(a.OutputMultiplier.M);
                Int(a.OutputMultiplier.S);
                Int(a.ActivationMin);
                Int(a.ActivationMax);
                Buf(Act(op.Outputs[0]));
                break;
            case SoftmaxLayer sm:
                Int((int)(_model.Tensors[op.Outputs[0]].ElementCount / sm.Depth));
                Int(sm.Depth);
                Int(sm.InputMultiplier);
                Int(sm.InputLeftShift);
                Int(sm.DiffMin);
                Buf(Act(op.Inputs[0]));
                Buf(Act(op.Outputs[0]));
                break;
            default:
                throw new InvalidOperationException($"no arguments for {s.Layer.Name}");
        }
    }

    /// <summary>[OC][K] (conv [OC, KH, KW, C], FC [OC, K]) to [K][OCP], zero-padded: a work-item's 8 output channels are one vector load.</summary>
    private static sbyte[] Transpose(ReadOnlySpan<sbyte> w, int oc, int ocp)
    {
        int k = w.Length / oc;
        var t = new sbyte[(long)k * ocp];
        for (int o = 0; o < oc; o++)
        {
            for (int j = 0; j < k; j++)
            {
                t[(long)j * ocp + o] = w[o * k + j];
            }
        }

        return t;
    }

    /// <summary>Rows of <paramref name="oc"/> values (depthwise weights [taps][OC]; per-channel vectors) padded with zeros to rows of <paramref name="ocp"/>.</summary>
    private static T[] PadColumns<T>(ReadOnlySpan<T> v, int oc, int ocp) where T : unmanaged
    {
        int rows = v.Length / oc;
        var t = new T[(long)rows * ocp];
        for (int r = 0; r < rows; r++)
        {
            v.Slice(r * oc, oc).CopyTo(t.AsSpan(r * ocp, oc));
        }

        return t;
    }

    public void Run() => Infer(null);

    public double RunTimed()
    {
        nint* ev = stackalloc nint[Math.Max(1, _steps.Length)];
        for (int i = 0; i < _steps.Length; i++)
        {
            ev[i] = 0;
        }

        try
        {
            Infer(ev);
            ClNative.Check(Cl.WaitForEvents((uint)_steps.Length, ev), "clWaitForEvents");
            var layers = new (int, string, double)[_steps.Length];
            double total = 0;
            for (int i = 0; i < _steps.Length; i++)
            {
                double s = _device.EventSeconds(ev[i]);
                layers[i] = (_steps[i].Layer.Op.Index, _steps[i].Layer.Name, s);
                total += s;
            }

            LastLayerSeconds = layers;
            return total;
        }
        finally
        {
            for (int i = 0; i < _steps.Length; i++)
            {
                if (ev[i] != 0)
                {
                    Cl.ReleaseEvent(ev[i]);
                }
            }
        }
    }

    /// <summary>Input to the device, the chain of launches, output back (blocking).</summary>
    private void Infer(nint* ev)
    {
        ModelData d = _data ?? throw new InvalidOperationException("Prepare was not called");
        _device.Write<sbyte>(Act(_model.Inputs[0]), d.Input, " (model input)");

        for (int i = 0; i < _steps.Length; i++)
        {
            Step s = _steps[i];
            fixed (nuint* pg = s.Global)
            {
                ClNative.Check(Cl.EnqueueNdrangeKernel(_device.Queue, s.Kernel, (uint)s.Global.Length, null, pg, null, 0, null, ev == null ? null : ev + i),
                    $"clEnqueueNDRangeKernel ({Name}, operator {s.Layer.Op.Index} {s.Layer.Name})");
            }
        }

        _device.Read<sbyte>(Act(_model.Outputs[0]), d.Output, " (model output)");
    }

    /// <summary>The device contents of an activation tensor after the last run (tests compare every layer with ref).</summary>
    internal sbyte[] ReadTensor(int tensor)
    {
        if (_bufferOf[tensor] < 0 || _activations.Length == 0)
        {
            throw new ArgumentException($"tensor {tensor} is not a prepared activation", nameof(tensor));
        }

        var y = new sbyte[_model.Tensors[tensor].ElementCount];
        _device.Read<sbyte>(Act(tensor), y);
        return y;
    }

    private void ArgValue<T>(nint kernel, uint index, T value) where T : unmanaged =>
        ClNative.Check(Cl.SetKernelArg(kernel, index, (nuint)sizeof(T), &value), $"clSetKernelArg {index} ({Name})");

    private nint Constant<T>(ReadOnlySpan<T> data) where T : unmanaged
    {
        nint b = _device.CreateBuffer((long)data.Length * sizeof(T));
        _constants.Add(b);
        _device.Write(b, data);
        return b;
    }

    private void ReleaseBuffers()
    {
        foreach (nint b in _constants.Concat(_activations))
        {
            Cl.ReleaseMemObject(b);
        }

        _constants.Clear();
        _activations = [];
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        ReleaseBuffers();
        foreach (Step s in _steps)
        {
            Cl.ReleaseKernel(s.Kernel);
        }
    }
}
