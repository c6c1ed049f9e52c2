using System.Diagnostics;
using ChipKit.Core;
using ChipKit.Models.Kernels;
using ChipKit.Models.Tflite;

namespace ChipKit.Models;

/// <summary>
/// Runs a TFLite int8 model. Creation validates every operator (types, shapes, quantisation) and derives TFLite
/// Micro's integer parameters, then plans one arena for all activations (greedy, by lifetime, as TFLM's planner
/// does); <see cref="Invoke"/> allocates nothing. <c>fast</c> selects the SIMD conv / depthwise / FC paths,
/// otherwise every op runs its scalar reference (the `ref` interpreter).
/// </summary>
public sealed class Interpreter
{
    private readonly Layer[] _layers;
    private readonly byte[] _arena;
    private readonly Slot[] _slots;
    private readonly long[] _ticks;

    public Interpreter(TfliteModel model, bool fast, bool reuseMemory = true)
    {
        Model = model;
        Fast = fast;
        _slots = Plan(model, reuseMemory, out int arenaBytes);
        _layers = new Layer[model.Operators.Length];
        for (int i = 0; i < _layers.Length; i++)
        {
            _layers[i] = Prepare(model, model.Operators[i], _slots, fast);
        }

        _arena = new byte[Math.Max(arenaBytes, 1)];
        _ticks = new long[_layers.Length];
    }

    public TfliteModel Model { get; }
    public bool Fast { get; }
    public IReadOnlyList<Layer> Layers => _layers;
    public int ArenaBytes => _arena.Length;
    public int Invocations { get; private set; }

    public Span<sbyte> Input => TensorData(Model.Inputs[0]);
    public Span<sbyte> Output => TensorData(Model.Outputs[0]);

    /// <summary>Raw bytes of an activation tensor in the arena (valid until its slot is reused by a later op).</summary>
    public Span<sbyte> TensorData(int tensor)
    {
        Slot s = _slots[tensor];
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(_arena.AsSpan(s.Offset, s.Length));
    }

    /// <summary>Whether <see cref="Invoke"/> times every layer (two clock reads per layer; default on, for --layers).</summary>
    public bool TimeLayers { get; set; } = true;

    public void Invoke()
    {
        if (!TimeLayers)
        {
            for (int i = 0; i < _layers.Length; i++)
            {
                _layers[i].Run(_arena, Fast);
            }

            Invocations++;
            return;
        }

        for (int i = 0; i < _layers.Length; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            _layers[i].Run(_arena, Fast);
            _ticks[i] += Stopwatch.GetTimestamp() - t0;
        }

        Invocations++;
    }

    /// <summary>Mean seconds per invocation of each layer since the last reset.</summary>
    public double[] LayerSeconds() => _ticks.Select(t => Invocations == 0 ? 0 : (double)t / Stopwatch.Frequency / Invocations).ToArray();

    public void ResetTimings()
    {
        Array.Clear(_ticks);
        Invocations = 0;
    }

    private static ChipKitInputException Fail(TfliteModel m, TfliteOperator op, string field, string what) =>
        new($"{m.Source}: subgraph 0, operator {op.Index} ({TfliteReader.OpName(op.Op)}): {field}: {what}");

    private static Slot[] Plan(TfliteModel m, bool reuse, out int arenaBytes)
    {
        int n = m.Tensors.Length;
        var first = new int[n];
        var last = new int[n];
        Array.Fill(first, int.MaxValue);
        Array.Fill(last, -1);
        foreach (int t in m.Inputs)
        {
            first[t] = -1;
        }

        foreach (int t in m.Outputs)
        {
            last[t] = int.MaxValue;
        }

        foreach (TfliteOperator op in m.Operators)
        {
            foreach (int t in op.Outputs)
            {
                if (m.Tensors[t].Data is not null)
                {
                    throw Fail(m, op, "outputs", $"tensor {t} ('{m.Tensors[t].Name}') is a constant");
                }

                first[t] = Math.Min(first[t], op.Index);
                last[t] = Math.Max(last[t], op.Index);
            }

            foreach (int t in op.Inputs)
            {
                if (t >= 0 && m.Tensors[t].Data is null)
                {
                    if (first[t] == int.MaxValue)
                    {
                        throw Fail(m, op, "inputs", $"tensor {t} ('{m.Tensors[t].Name}') is read before any operator writes it");
                    }

                    last[t] = Math.Max(last[t], op.Index);
                }
            }
        }

        var slots = new Slot[n];
        var placed = new List<(int T, long Off, long Len)>();
        long total = 0;
        IEnumerable<int> order = Enumerable.Range(0, n).Where(t => m.Tensors[t].Data is null && first[t] != int.MaxValue)
            .OrderByDescending(t => m.Tensors[t].ElementCount * m.Tensors[t].ElementSize).ThenBy(t => t);
        foreach (int t in order)
        {
            long len = m.Tensors[t].ElementCount * m.Tensors[t].ElementSize;
            long aligned = (len + 15) / 16 * 16;
            long off = 0;
            if (reuse)
            {
                foreach ((int T, long Off, long Len) p in placed.Where(p => first[p.T] <= last[t] && first[t] <= last[p.T]).OrderBy(p => p.Off))
                {
                    if (off + aligned <= p.Off)
                    {
                        break;
                    }

                    off = Math.Max(off, p.Off + p.Len);
                }
            }
            else
            {
                off = total;
            }

            placed.Add((t, off, aligned));
            total = Math.Max(total, off + aligned);
            if (total > int.MaxValue)
            {
                throw new ChipKitInputException($"{m.Source}: activations need {total} bytes; more than ChipKit's 2 GiB arena");
            }

            slots[t] = new Slot((int)off, (int)len);
        }

        arenaBytes = (int)total;
        return slots;
    }

    private static Layer Prepare(TfliteModel m, TfliteOperator op, Slot[] slots, bool fast)
    {
        TfliteTensor T(int k, string role)
        {
            if (k >= op.Inputs.Length || op.Inputs[k] < 0)
            {
                throw Fail(m, op, "inputs", $"missing input {k} ({role})");
            }

            return m.Tensors[op.Inputs[k]];
        }

        TfliteTensor? Opt(int k) => k < op.Inputs.Length && op.Inputs[k] >= 0 ? m.Tensors[op.Inputs[k]] : null;
        if (op.Outputs.Length != 1)
        {
            throw Fail(m, op, "outputs", $"{op.Outputs.Length} outputs; expected 1");
        }

        TfliteTensor y = m.Tensors[op.Outputs[0]];
        void Int8Act(TfliteTensor t, string role)
        {
            if (t.Type != TfliteType.Int8)
            {
                throw Fail(m, op, role, $"tensor '{t.Name}' is {t.Type}; expected INT8");
            }

            if (t.Data is not null)
            {
                throw Fail(m, op, role, $"tensor '{t.Name}' is a constant; expected an activation");
            }

            QuantOf(t, role);
        }

        (float Scale, int Zp) QuantOf(TfliteTensor t, string role)
        {
            if (t.Quant is null || t.Quant.Scale.Length != 1)
            {
                throw Fail(m, op, role, $"tensor '{t.Name}' needs one per-tensor scale and zero point");
            }

            float s = t.Quant.Scale[0];
            long zp = t.Quant.ZeroPoint[0];
            if (!(s > 0) || float.IsInfinity(s))
            {
                throw Fail(m, op, role, $"tensor '{t.Name}' has scale {s}; expected a finite positive scale");
            }

            if (zp is < -128 or > 127)
            {
                throw Fail(m, op, role, $"tensor '{t.Name}' has zero point {zp}; expected [-128, 127]");
            }

            return (s, (int)zp);
        }

        int[] Shape4(TfliteTensor t, string role)
        {
            if (t.Shape.Length != 4)
            {
                throw Fail(m, op, role, $"tensor '{t.Name}' has shape {t.ShapeText}; expected rank 4 (NHWC)");
            }

            return t.Shape;
        }

        Slot S(TfliteTensor t) => slots[t.Index];
        TfliteOptions o = op.Options;
        switch (op.Op)
        {
            case TfliteOp.Conv2D:
            case TfliteOp.DepthwiseConv2D:
            case TfliteOp.FullyConnected:
                return PrepareConv(m, op, T(0, "input"), T(1, "filter"), Opt(2), y, slots, Int8Act, QuantOf, Shape4, fast);
            case TfliteOp.AveragePool2D:
            case TfliteOp.MaxPool2D:
            {
                TfliteTensor x = T(0, "input");
                Int8Act(x, "input");
                Int8Act(y, "output");
                int[] xs = Shape4(x, "input"), ys = Shape4(y, "output");
                if (o.StrideH < 1 || o.StrideW < 1 || o.FilterH < 1 || o.FilterW < 1)
                {
                    throw Fail(m, op, "builtin_options", $"stride {o.StrideH}x{o.StrideW}, filter {o.FilterH}x{o.FilterW}; expected positive values");
                }

                Window g = Geometry(m, op, xs, ys, xs[3], o.FilterH, o.FilterW, o.Padding, o.StrideH, o.StrideW, 1, 1);
                (float sx, int zx) = QuantOf(x, "input");
                (float sy, int zy) = QuantOf(y, "output");
                if (sx != sy || zx != zy)
                {
                    throw Fail(m, op, "output", $"scale/zero point {sy}/{zy} differ from the input's {sx}/{zx}; int8 pooling does not rescale");
                }

                (int lo, int hi) = Activation(m, op, o.Activation, sy, zy);
                return new PoolLayer(op, S(x), S(y), g, op.Op == TfliteOp.AveragePool2D, lo, hi);
            }

            case TfliteOp.Add:
            {
                TfliteTensor a = T(0, "input1"), b = T(1, "input2");
                Int8Act(a, "input1");
                Int8Act(b, "input2");
                Int8Act(y, "output");
                if (!a.Shape.SequenceEqual(b.Shape) || !a.Shape.SequenceEqual(y.Shape))
                {
                    throw Fail(m, op, "inputs", $"shapes {a.ShapeText} + {b.ShapeText} -> {y.ShapeText}; ChipKit's ADD needs equal shapes (no broadcasting)");
                }

                (float s1, int z1) = QuantOf(a, "input1");
                (float s2, int z2) = QuantOf(b, "input2");
                (float so, int zo) = QuantOf(y, "output");
                double twiceMax = 2 * (double)Math.Max(s1, s2);
                (int lo, int hi) = Activation(m, op, o.Activation, so, zo);
                return new AddLayer(op, S(a), S(b), S(y), z1, z2, zo,
                    FixedPoint.QuantizeMultiplier(s1 / twiceMax), FixedPoint.QuantizeMultiplier(s2 / twiceMax),
                    FixedPoint.QuantizeMultiplier(twiceMax / ((1 << AddLayer.LeftShift) * (double)so)), lo, hi);
            }

            case TfliteOp.Reshape:
            {
                TfliteTensor x = T(0, "input");
                if (x.Type != y.Type || x.ElementCount != y.ElementCount || x.Data is not null)
                {
                    throw Fail(m, op, "output", $"{x.Type} {x.ShapeText} -> {y.Type} {y.ShapeText}; RESHAPE needs the same type and element count");
                }

                return new CopyLayer(op, S(x), S(y));
            }

            case TfliteOp.Softmax:
            {
                TfliteTensor x = T(0, "input");
                Int8Act(x, "input");
                Int8Act(y, "output");
                (float sx, _) = QuantOf(x, "input");
                (float sy, int zy) = QuantOf(y, "output");
                if (sy != 1f / 256 || zy != -128)
                {
                    throw Fail(m, op, "output", $"scale/zero point {sy}/{zy}; TFLM's int8 SOFTMAX needs 1/256 and -128");
                }

                if (!x.Shape.SequenceEqual(y.Shape) || x.Shape.Length == 0 || x.Shape[^1] == 0)
                {
                    throw Fail(m, op, "output", $"shapes {x.ShapeText} -> {y.ShapeText}; expected equal non-empty shapes");
                }

                if (!(o.Beta > 0) || float.IsInfinity(o.Beta))
                {
                    throw Fail(m, op, "builtin_options.beta", $"{o.Beta}; expected a finite positive value");
                }

                double real = Math.Min((double)o.Beta * sx * (1L << 26), int.MaxValue);
                (int mult, int shift) = FixedPoint.QuantizeMultiplier(real);
                if (shift < 0)
                {
                    throw Fail(m, op, "input", $"input scale {sx} gives a softmax multiplier below 1; not supported");
                }

                int diffMin = -(int)Math.Floor(31.0 * (1L << 26) / (1L << shift));
                return new SoftmaxLayer(op, S(x), S(y), x.Shape[^1], mult, shift, diffMin);
            }

            case TfliteOp.Quantize:
            case TfliteOp.Dequantize:
            {
                TfliteTensor x = T(0, "input");
                bool ok = op.Op == TfliteOp.Quantize
                    ? (x.Type is TfliteType.Float32 or TfliteType.Int8) && y.Type == TfliteType.Int8
                    : x.Type == TfliteType.Int8 && y.Type == TfliteType.Float32;
                if (!ok || x.ElementCount != y.ElementCount || x.Data is not null)
                {
                    throw Fail(m, op, "output", $"{x.Type} {x.ShapeText} -> {y.Type} {y.ShapeText} is not supported (QUANTIZE float32|int8 -> int8, DEQUANTIZE int8 -> float32)");
                }

                (float si, int zi) = x.Type == TfliteType.Int8 ? QuantOf(x, "input") : (0f, 0);
                (float so, int zo) = y.Type == TfliteType.Int8 ? QuantOf(y, "output") : (0f, 0);
                return new QuantizeLayer(op, S(x), S(y), x.Type, y.Type, si, zi, so, zo);
            }

            default:
                throw Fail(m, op, "opcode", "not supported");
        }
    }

    private static (int, int) Activation(TfliteModel m, TfliteOperator op, TfliteActivation act, float scale, int zp)
    {
        if (act is not (TfliteActivation.None or TfliteActivation.Relu or TfliteActivation.Relu6 or TfliteActivation.ReluN1To1))
        {
            throw Fail(m, op, "builtin_options.fused_activation_function", $"{act} is not supported (NONE, RELU, RELU6, RELU_N1_TO_1)");
        }

        return Requant.ActivationRange(act, scale, zp);
    }

    private static Window Geometry(TfliteModel m, TfliteOperator op, int[] xs, int[] ys, int oc, int kh, int kw, TflitePadding pad, int sh, int sw, int dh, int dw)
    {
        if (pad is not (TflitePadding.Same or TflitePadding.Valid))
        {
            throw Fail(m, op, "builtin_options.padding", $"{(int)pad}; expected SAME (0) or VALID (1)");
        }

        if (sh < 1 || sw < 1 || dh < 1 || dw < 1 || sh > 4096 || sw > 4096 || dh > 4096 || dw > 4096)
        {
            throw Fail(m, op, "builtin_options", $"stride {sh}x{sw}, dilation {dh}x{dw}; expected values in [1, 4096]");
        }

        int oh = Window.OutSize(pad, xs[1], kh, sh, dh), ow = Window.OutSize(pad, xs[2], kw, sw, dw);
        if (oh < 1 || ow < 1 || ys[0] != xs[0] || ys[1] != oh || ys[2] != ow || ys[3] != oc)
        {
            throw Fail(m, op, "output", $"shape [{string.Join(",", ys)}]; input [{string.Join(",", xs)}] with a {kh}x{kw} window, stride {sh}x{sw}, {pad} padding gives [{xs[0]},{oh},{ow},{oc}]");
        }

        (int pt, int pb) = Window.PadOf(pad, xs[1], oh, kh, sh, dh);
        (int pl, int pr) = Window.PadOf(pad, xs[2], ow, kw, sw, dw);
        return new Window(xs[0], xs[1], xs[2], xs[3], oh, ow, oc, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr);
    }

    private static ConvLayer PrepareConv(TfliteModel m, TfliteOperator op, TfliteTensor x, TfliteTensor w, TfliteTensor? bias, TfliteTensor y, Slot[] slots,
        Action<TfliteTensor, string> int8Act, Func<TfliteTensor, string, (float, int)> quantOf, Func<TfliteTensor, string, int[]> shape4, bool fast)
    {
        int8Act(x, "input");
        int8Act(y, "output");
        if (w.Type != TfliteType.Int8 || w.Data is null)
        {
            throw Fail(m, op, "filter", $"tensor '{w.Name}' is {(w.Data is null ? "not constant" : w.Type.ToString())}; expected constant INT8 weights");
        }

        TfliteOptions o = op.Options;
        bool depthwise = op.Op == TfliteOp.DepthwiseConv2D, fc = op.Op == TfliteOp.FullyConnected;
        Window g;
        int oc;
        int depthMultiplier = 1;
        if (fc)
        {
            if (w.Shape.Length != 2 || o.WeightsFormat != 0)
            {
                throw Fail(m, op, "filter", $"shape {w.ShapeText}, weights_format {o.WeightsFormat}; expected [N, K] in the DEFAULT format");
            }

            oc = w.Shape[0];
            int k = w.Shape[1];
            if (k == 0 || x.ElementCount % k != 0)
            {
                throw Fail(m, op, "input", $"{x.ElementCount} elements do not flatten to rows of K = {k}");
            }

            int batch = (int)(x.ElementCount / k);
            if (y.ElementCount != (long)batch * oc || (y.Shape.Length > 0 && y.Shape[^1] != oc))
            {
                throw Fail(m, op, "output", $"shape {y.ShapeText}; expected [{batch},{oc}]");
            }

            // a fully connected layer is a 1x1 conv over a 1x1 image with K channels
            g = new Window(batch, 1, 1, k, 1, 1, oc, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0);
        }
        else
        {
            int[] xs = shape4(x, "input"), ys = shape4(y, "output");
            if (w.Shape.Length != 4)
            {
                throw Fail(m, op, "filter", $"shape {w.ShapeText}; expected rank 4");
            }

            oc = ys[3];
            if (depthwise)
            {
                if (w.Shape[0] != 1 || w.Shape[3] != oc || xs[3] == 0 || oc % xs[3] != 0)
                {
                    throw Fail(m, op, "filter", $"shape {w.ShapeText} with input channels {xs[3]}, output channels {oc}; expected [1, KH, KW, C*depth_multiplier]");
                }

                depthMultiplier = oc / xs[3];
                if (o.DepthMultiplier != 0 && o.DepthMultiplier != depthMultiplier)
                {
                    throw Fail(m, op, "builtin_options.depth_multiplier", $"{o.DepthMultiplier}; the shapes give {depthMultiplier}");
                }
            }
            else if (w.Shape[0] != oc || w.Shape[3] != xs[3])
            {
                throw Fail(m, op, "filter", $"shape {w.ShapeText}; expected [{oc}, KH, KW, {xs[3]}] (grouped convolution is not supported)");
            }

            g = Geometry(m, op, xs, ys, oc, w.Shape[1], w.Shape[2], o.Padding, o.StrideH, o.StrideW, o.DilationH, o.DilationW);
        }

        (float sx, int zx) = quantOf(x, "input");
        (float sy, int zy) = quantOf(y, "output");
        if (w.Quant is null || (w.Quant.Scale.Length != 1 && w.Quant.Scale.Length != oc))
        {
            throw Fail(m, op, "filter.quantization", $"tensor '{w.Name}' has {w.Quant?.Scale.Length ?? 0} scales; expected 1 or {oc}");
        }

        if (w.Quant.Scale.Length == oc && oc > 1 && w.Quant.QuantizedDimension != (depthwise ? 3 : 0))
        {
            throw Fail(m, op, "filter.quantization.quantized_dimension", $"{w.Quant.QuantizedDimension}; expected {(depthwise ? 3 : 0)}");
        }

        if (w.Quant.ZeroPoint.Any(z => z != 0))
        {
            throw Fail(m, op, "filter.quantization.zero_point", "non-zero weight zero point; int8 weights must be symmetric");
        }

        var mult = new int[oc];
        var shift = new int[oc];
        for (int c = 0; c < oc; c++)
        {
            float ws = w.Quant.Scale[w.Quant.Scale.Length == 1 ? 0 : c];
            if (!(ws >= 0) || float.IsInfinity(ws))
            {
                throw Fail(m, op, "filter.quantization.scale", $"channel {c} scale {ws}; expected finite and non-negative");
            }

            (mult[c], shift[c]) = FixedPoint.QuantizeMultiplier((double)sx * ws / sy);
        }

        var b = new int[oc];
        if (bias is not null)
        {
            if (bias.Type != TfliteType.Int32 || bias.Data is null || bias.ElementCount != oc)
            {
                throw Fail(m, op, "bias", $"tensor '{bias.Name}' is {bias.Type} {bias.ShapeText}{(bias.Data is null ? " (not constant)" : "")}; expected constant INT32 [{oc}]");
            }

            Buffer.BlockCopy(bias.Data, 0, b, 0, oc * 4);
            if (!BitConverter.IsLittleEndian)
            {
                throw new PlatformNotSupportedException("big-endian hosts");
            }
        }

        // int32 accumulation must not overflow: |sum| <= taps * 255 * 128 + |bias|
        long taps = (long)g.KH * g.KW * (depthwise ? 1 : g.C);
        long maxBias = b.Length == 0 ? 0 : b.Max(v => Math.Abs((long)v));
        if (taps * 255 * 128 + maxBias > int.MaxValue)
        {
            throw Fail(m, op, "filter", $"{taps} taps per output could overflow the int32 accumulator");
        }

        var weights = new sbyte[w.Data.Length];
        Buffer.BlockCopy(w.Data, 0, weights, 0, weights.Length);
        (int lo, int hi) = Activation(m, op, o.Activation, sy, zy);
        return new ConvLayer(op, slots[x.Index], slots[y.Index], g, depthwise, depthMultiplier, weights, b, zx, zy, lo, hi, mult, shift, fast);
    }
}
