using ChipKit.Core;
using ChipKit.Models.Tflite;

namespace ChipKit.Models.Onnx;

/// <summary>
/// Converts an int8 TFLite model (as read by <see cref="TfliteReader"/>) into an ONNX model in QLinear / QDQ form
/// with the same weights, biases, scales and zero points, for end-to-end tests of the ONNX executor on real networks:
/// CONV_2D and DEPTHWISE_CONV_2D -> QLinearConv (NHWC -> NCHW weights, depthwise as group = C, fused RELU / RELU6 as
/// an int8 Clip at the quantised bounds), FULLY_CONNECTED -> QDQ Gemm (transB = 1) with the int32 bias,
/// AVERAGE_POOL_2D and SOFTMAX -> DequantizeLinear, the float op, QuantizeLinear; MAX_POOL_2D -> int8 MaxPool;
/// ADD -> com.microsoft QLinearAdd; RESHAPE -> Reshape. Activations are NCHW, so the converter supports what needs no
/// transpose: an input with one channel (or 2-D) and reshapes of 1x1 spatial maps. The arithmetic is ONNX's (double
/// requantisation), not TFLite Micro's fixed point, so outputs may differ from the TFLite interpreter by rounding.
/// </summary>
public static class TfliteToOnnx
{
    public static byte[] Convert(TfliteModel t)
    {
        ArgumentNullException.ThrowIfNull(t);
        var g = new OnnxGraphWriter(opset: 13, microsoft: true);
        var names = new Dictionary<int, string>();
        var nchw = new Dictionary<int, int[]>(); // ONNX shape of each activation
        string Fail(string msg) => throw new ChipKitInputException($"{t.Source}: {msg}");

        TfliteTensor input = t.Input;
        Require(input.Type == TfliteType.Int8, t, $"input {input.Name} is {input.Type}, expected Int8");
        g.Input("input", OnnxElem.S8, input.Shape);
        if (input.Shape.Length == 4)
        {
            if (input.Shape[3] != 1)
            {
                Fail($"input {input.ShapeText} has {input.Shape[3]} channels; NHWC -> NCHW would need a Transpose");
            }

            int[] s = [input.Shape[0], 1, input.Shape[1], input.Shape[2]];
            names[input.Index] = g.Node("Reshape", ["input", g.Const("input_nchw_shape", OnnxElem.I64, [4], s.Select(d => (long)d).ToArray())], "input_nchw");
            nchw[input.Index] = s;
        }
        else
        {
            names[input.Index] = "input";
            nchw[input.Index] = input.Shape;
        }

        foreach (TfliteOperator op in t.Operators)
        {
            string n = $"op{op.Index}";
            TfliteTensor x = t.Tensors[op.Inputs[0]], y = t.Tensors[op.Outputs[0]];
            string xN = names.GetValueOrDefault(x.Index) ?? Fail($"operator {op.Index}: input tensor {x.Index} is not computed");
            int[] xs = nchw[x.Index];
            string yN;
            int[] ys;
            switch (op.Op)
            {
                case TfliteOp.Conv2D:
                case TfliteOp.DepthwiseConv2D:
                    {
                        bool dw = op.Op == TfliteOp.DepthwiseConv2D;
                        TfliteTensor w = t.Tensors[op.Inputs[1]];
                        TfliteTensor? b = op.Inputs.Length > 2 && op.Inputs[2] >= 0 ? t.Tensors[op.Inputs[2]] : null;
                        int kh = w.Shape[1], kw = w.Shape[2];
                        int k = dw ? w.Shape[3] : w.Shape[0], cg = dw ? 1 : w.Shape[3];
                        int c = xs[1];
                        var wt = new byte[k * cg * kh * kw];
                        for (int o = 0; o < k; o++)
                        {
                            for (int ci = 0; ci < cg; ci++)
                            {
                                for (int r = 0; r < kh; r++)
                                {
                                    for (int s = 0; s < kw; s++)
                                    {
                                        // TFLite conv [O, KH, KW, I], depthwise [1, KH, KW, C*M]; ONNX [O, I/group, KH, KW]
                                        int src = dw ? (((r * kw) + s) * k) + o : (((((o * kh) + r) * kw) + s) * cg) + ci;
                                        wt[(((((o * cg) + ci) * kh) + r) * kw) + s] = w.Data![src];
                                    }
                                }
                            }
                        }

                        float[] wsc = w.Quant!.Scale;
                        string wN = g.Const(n + "_w", OnnxElem.S8, [k, cg, kh, kw], wt);
                        string wsN = g.Const(n + "_w_scale", OnnxElem.F32, wsc.Length == 1 ? [] : [k], wsc);
                        string wzN = g.Const(n + "_w_zp", OnnxElem.S8, wsc.Length == 1 ? [] : [k], w.Quant.ZeroPoint.Select(z => unchecked((byte)(sbyte)z)).ToArray());
                        (long[] pads, int p, int q) = Padding(op.Options, xs[2], xs[3], kh, kw);
                        var inputs = new List<string> { xN, Scale(g, x), Zp(g, x), wN, wsN, wzN, Scale(g, y), Zp(g, y) };
                        if (b is not null)
                        {
                            inputs.Add(g.Const(n + "_b", OnnxElem.S32, [k], Ints(b)));
                        }

                        yN = g.Node("QLinearConv", [.. inputs], n, ("kernel_shape", new long[] { kh, kw }), ("strides", new long[] { op.Options.StrideH, op.Options.StrideW }),
                            ("dilations", new long[] { op.Options.DilationH, op.Options.DilationW }), ("pads", pads), ("group", (long)(dw ? c : 1)));
                        yN = Activation(g, n, yN, y, op.Options.Activation, t);
                        ys = [xs[0], k, p, q];
                        break;
                    }

                case TfliteOp.FullyConnected:
                    {
                        TfliteTensor w = t.Tensors[op.Inputs[1]];
                        TfliteTensor? b = op.Inputs.Length > 2 && op.Inputs[2] >= 0 ? t.Tensors[op.Inputs[2]] : null;
                        int units = w.Shape[0], depth = w.Shape[1];
                        if (xs.Length != 2 || xs[1] != depth)
                        {
                            Fail($"operator {op.Index}: FULLY_CONNECTED input {string.Join("x", xs)} must be [batch, {depth}]");
                        }

                        string xd = g.Node("DequantizeLinear", [xN, Scale(g, x), Zp(g, x)], n + "_x");
                        string wd = g.Node("DequantizeLinear", [g.Const(n + "_w", OnnxElem.S8, [units, depth], w.Data!), g.Scalar(n + "_w_scale", w.Scale),
                            g.ZeroPoint(n + "_w_zp", OnnxElem.S8, w.ZeroPoint)], n + "_wf");
                        var gin = new List<string> { xd, wd };
                        if (b is not null)
                        {
                            gin.Add(g.Node("DequantizeLinear", [g.Const(n + "_b", OnnxElem.S32, [units], Ints(b)), g.Scalar(n + "_b_scale", x.Scale * w.Scale)], n + "_bf"));
                        }

                        string gemm = g.Node("Gemm", [.. gin], n + "_f", ("transB", 1L));
                        if (op.Options.Activation == TfliteActivation.Relu)
                        {
                            gemm = g.Node("Relu", [gemm], n + "_relu");
                        }
                        else if (op.Options.Activation != TfliteActivation.None)
                        {
                            Fail($"operator {op.Index}: FULLY_CONNECTED activation {op.Options.Activation} is not converted");
                        }

                        yN = g.Node("QuantizeLinear", [gemm, Scale(g, y), Zp(g, y)], n);
                        ys = [xs[0], units];
                        break;
                    }

                case TfliteOp.AveragePool2D:
                case TfliteOp.MaxPool2D:
                    {
                        (long[] pads, int p, int q) = Padding(op.Options, xs[2], xs[3], op.Options.FilterH, op.Options.FilterW);
                        (string, object)[] attrs = [("kernel_shape", new long[] { op.Options.FilterH, op.Options.FilterW }), ("strides", new long[] { op.Options.StrideH, op.Options.StrideW }), ("pads", pads)];
                        if (op.Op == TfliteOp.MaxPool2D)
                        {
                            yN = g.Node("MaxPool", [xN], n, attrs);
                        }
                        else
                        {
                            string f = g.Node("AveragePool", [g.Node("DequantizeLinear", [xN, Scale(g, x), Zp(g, x)], n + "_x")], n + "_f", attrs);
                            yN = g.Node("QuantizeLinear", [f, Scale(g, y), Zp(g, y)], n);
                        }

                        yN = Activation(g, n, yN, y, op.Options.Activation, t);
                        ys = [xs[0], xs[1], p, q];
                        break;
                    }

                case TfliteOp.Reshape:
                    {
                        bool spatial1 = xs.Length == 4 && xs[2] == 1 && xs[3] == 1;
                        if (xs.Length == 4 && !spatial1)
                        {
                            Fail($"operator {op.Index}: RESHAPE of a {string.Join("x", xs)} map would need a Transpose (NCHW vs NHWC order)");
                        }

                        ys = y.Shape;
                        yN = g.Node("Reshape", [xN, g.Const(n + "_shape", OnnxElem.I64, [ys.Length], ys.Select(d => (long)d).ToArray())], n);
                        break;
                    }

                case TfliteOp.Softmax:
                    {
                        if (op.Options.Beta != 1f)
                        {
                            Fail($"operator {op.Index}: SOFTMAX beta {op.Options.Beta} is not converted");
                        }

                        string f = g.Node("Softmax", [g.Node("DequantizeLinear", [xN, Scale(g, x), Zp(g, x)], n + "_x")], n + "_f", ("axis", -1L));
                        yN = g.Node("QuantizeLinear", [f, Scale(g, y), Zp(g, y)], n);
                        ys = xs;
                        break;
                    }

                case TfliteOp.Add:
                    {
                        TfliteTensor x2 = t.Tensors[op.Inputs[1]];
                        string x2N = names.GetValueOrDefault(x2.Index) ?? Fail($"operator {op.Index}: input tensor {x2.Index} is not computed");
                        yN = g.NodeIn("com.microsoft", "QLinearAdd", [xN, Scale(g, x), Zp(g, x), x2N, Scale(g, x2), Zp(g, x2), Scale(g, y), Zp(g, y)], n);
                        yN = Activation(g, n, yN, y, op.Options.Activation, t);
                        ys = xs;
                        break;
                    }

                default:
                    throw new ChipKitInputException($"{t.Source}: operator {op.Index} ({op.Op}) is not converted to ONNX");
            }

            names[y.Index] = yN;
            nchw[y.Index] = ys;
        }

        TfliteTensor output = t.Output;
        g.Output(names[output.Index], OnnxElem.S8, nchw[output.Index]);
        return g.ToBytes();
    }

    private static void Require(bool ok, TfliteModel t, string msg)
    {
        if (!ok)
        {
            throw new ChipKitInputException($"{t.Source}: {msg}");
        }
    }

    private static string Scale(OnnxGraphWriter g, TfliteTensor x) => Dedup(g, g.Scalar($"t{x.Index}_scale", x.Scale));

    private static string Zp(OnnxGraphWriter g, TfliteTensor x) => Dedup(g, g.ZeroPoint($"t{x.Index}_zp", OnnxElem.S8, x.ZeroPoint));

    /// <summary>Keeps one initializer per name (a tensor's parameters are requested by every op that reads it).</summary>
    private static string Dedup(OnnxGraphWriter g, string name)
    {
        var inits = g.Model.Graph.Initializer;
        int last = inits.Count - 1;
        for (int i = 0; i < last; i++)
        {
            if (inits[i].Name == name)
            {
                inits.RemoveAt(last);
                break;
            }
        }

        return name;
    }

    private static int[] Ints(TfliteTensor b)
    {
        var v = new int[b.Data!.Length / 4];
        for (int i = 0; i < v.Length; i++)
        {
            v[i] = BitConverter.ToInt32(b.Data, i * 4);
        }

        return v;
    }

    /// <summary>TFLite SAME / VALID padding as explicit ONNX pads [top, left, bottom, right] (SAME puts the odd pixel last).</summary>
    private static (long[] Pads, int P, int Q) Padding(TfliteOptions o, int h, int w, int kh, int kw)
    {
        if (o.Padding == TflitePadding.Valid)
        {
            int pv = ((h - (((kh - 1) * o.DilationH) + 1)) / o.StrideH) + 1, qv = ((w - (((kw - 1) * o.DilationW) + 1)) / o.StrideW) + 1;
            return ([0, 0, 0, 0], pv, qv);
        }

        int p = (h + o.StrideH - 1) / o.StrideH, q = (w + o.StrideW - 1) / o.StrideW;
        int th = Math.Max(0, ((p - 1) * o.StrideH) + ((kh - 1) * o.DilationH) + 1 - h);
        int tw = Math.Max(0, ((q - 1) * o.StrideW) + ((kw - 1) * o.DilationW) + 1 - w);
        return ([th / 2, tw / 2, th - (th / 2), tw - (tw / 2)], p, q);
    }

    /// <summary>A fused activation as an int8 Clip at TFLite's quantised bounds (nothing when they are the int8 range).</summary>
    private static string Activation(OnnxGraphWriter g, string n, string yN, TfliteTensor y, TfliteActivation a, TfliteModel t)
    {
        int lo = -128, hi = 127;
        switch (a)
        {
            case TfliteActivation.None:
                return yN;
            case TfliteActivation.Relu:
                lo = Math.Max(lo, y.ZeroPoint);
                break;
            case TfliteActivation.Relu6:
                lo = Math.Max(lo, y.ZeroPoint);
                hi = (int)Math.Min(hi, y.ZeroPoint + Math.Round(6.0 / y.Scale, MidpointRounding.AwayFromZero));
                break;
            case TfliteActivation.ReluN1To1:
                lo = (int)Math.Max(lo, y.ZeroPoint + Math.Round(-1.0 / y.Scale, MidpointRounding.AwayFromZero));
                hi = (int)Math.Min(hi, y.ZeroPoint + Math.Round(1.0 / y.Scale, MidpointRounding.AwayFromZero));
                break;
            default:
                throw new ChipKitInputException($"{t.Source}: activation {a} is not converted");
        }

        if (lo == -128 && hi == 127)
        {
            return yN;
        }

        return g.Node("Clip", [yN, g.ZeroPoint(n + "_lo", OnnxElem.S8, lo), g.ZeroPoint(n + "_hi", OnnxElem.S8, hi)], n + "_act");
    }
}
