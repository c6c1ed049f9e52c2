using ChipKit.Core.Descriptors;
using Onnx;

namespace ChipKit.Models.Onnx;

/// <summary>Per-operator checks and shape inference.</summary>
internal sealed partial class OnnxGraphBuilder
{
    private static readonly string[] ConvAttributes = ["auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"];

    private OnnxLayer BuildNode(OnnxNodeContext c)
    {
        string output = c.Node.Output.Count > 0 ? c.Node.Output[0] : "";
        switch (c.Op)
        {
            case "QuantizeLinear":
                return BuildQuantize(c, output);
            case "DequantizeLinear":
                return BuildDequantize(c, output);
            case "QLinearConv":
                {
                    c.InputCount(8, 9);
                    c.OnlyAttributes(ConvAttributes);
                    OnnxValue x = c.Int8In(0, "x");
                    OnnxValue w = c.Int8Const(3, "w");
                    c.Rank(w, "w", 4);
                    int k = w.Shape[0];
                    QuantParams xq = c.Quant(c.Const(1, "x_scale"), c.OptConst(2, "x_zero_point"), x.Type, 1, "x");
                    QuantParams wq = c.Quant(c.Const(4, "w_scale"), c.OptConst(5, "w_zero_point"), w.Type, k, "w");
                    OnnxValue yzp = c.Int8Const(7, "y_zero_point");
                    QuantParams yq = c.Quant(c.Const(6, "y_scale"), yzp, yzp.Type, 1, "y");
                    int[]? bias = Bias(c, c.OptConst(8, "B"), k, "B");
                    return Conv(c, "QLinearConv", x, w, xq, wq, yq, yzp.Type, bias, QuantOutput.Quantized, output, relu: false);
                }

            case "ConvInteger":
                {
                    c.InputCount(2, 4);
                    c.OnlyAttributes(ConvAttributes);
                    OnnxValue x = c.Int8In(0, "x");
                    OnnxValue w = c.Int8Const(1, "w");
                    c.Rank(w, "w", 4);
                    int k = w.Shape[0];
                    int[] xz = c.ZeroPoints(c.OptConst(2, "x_zero_point"), "x_zero_point", x.Type, 1);
                    int[] wz = c.ZeroPoints(c.OptConst(3, "w_zero_point"), "w_zero_point", w.Type, k);
                    var xq = new QuantParams([1f], xz);
                    var wq = new QuantParams(Enumerable.Repeat(1f, wz.Length).ToArray(), wz);
                    return Conv(c, "ConvInteger", x, w, xq, wq, null, OnnxElem.S32, null, QuantOutput.Int32, output, relu: false);
                }

            case "QLinearMatMul":
                {
                    c.InputCount(8, 8);
                    c.OnlyAttributes();
                    OnnxValue a = c.Int8In(0, "a");
                    OnnxValue b = c.Int8Const(3, "b");
                    int n = b.Shape.Length >= 2 ? b.Shape[^1] : throw c.Error("b", $"tensor '{b.Name}' has shape {b.ShapeText}; expected rank >= 2");
                    QuantParams aq = c.Quant(c.Const(1, "a_scale"), c.OptConst(2, "a_zero_point"), a.Type, 1, "a");
                    QuantParams bq = c.Quant(c.Const(4, "b_scale"), c.OptConst(5, "b_zero_point"), b.Type, n, "b");
                    OnnxValue yzp = c.Int8Const(7, "y_zero_point");
                    QuantParams yq = c.Quant(c.Const(6, "y_scale"), yzp, yzp.Type, 1, "y");
                    return MatMul(c, "QLinearMatMul", a, b, (byte[])b.Constant!, aq, bq, yq, yzp.Type, QuantOutput.Quantized, output, relu: false);
                }

            case "MatMulInteger":
                {
                    c.InputCount(2, 4);
                    c.OnlyAttributes();
                    OnnxValue a = c.Int8In(0, "A");
                    OnnxValue b = c.Int8Const(1, "B");
                    int n = b.Shape.Length >= 2 ? b.Shape[^1] : throw c.Error("B", $"tensor '{b.Name}' has shape {b.ShapeText}; expected rank >= 2");
                    int[] az = c.ZeroPoints(c.OptConst(2, "a_zero_point"), "a_zero_point", a.Type, 1);
                    int[] bz = c.ZeroPoints(c.OptConst(3, "b_zero_point"), "b_zero_point", b.Type, n);
                    var aq = new QuantParams([1f], az);
                    var bq = new QuantParams(Enumerable.Repeat(1f, bz.Length).ToArray(), bz);
                    return MatMul(c, "MatMulInteger", a, b, (byte[])b.Constant!, aq, bq, null, OnnxElem.S32, QuantOutput.Int32, output, relu: false);
                }

            case "Add":
                {
                    c.InputCount(2, 2);
                    c.OnlyAttributes();
                    OnnxValue a = c.In(0, "A"), b = c.In(1, "B");
                    c.Type(a, "A", OnnxElem.F32, OnnxElem.S32);
                    if (b.Type != a.Type)
                    {
                        throw c.Error("B", $"tensor '{b.Name}' is {b.Type.Name()}; Add needs both inputs of type {a.Type.Name()}");
                    }

                    int[] shape = Broadcast(c, a, b);
                    return new AddLayer(a, b, new OnnxValue(output, a.Type, shape));
                }

            case "QLinearAdd":
                {
                    c.InputCount(7, 8);
                    c.OnlyAttributes();
                    OnnxValue a = c.In(0, "A"), b = c.In(3, "B");
                    c.Type(a, "A", OnnxElem.U8, OnnxElem.S8);
                    if (b.Type != a.Type)
                    {
                        throw c.Error("B", $"tensor '{b.Name}' is {b.Type.Name()}; QLinearAdd needs both inputs of type {a.Type.Name()}");
                    }

                    QuantParams aq = c.Quant(c.Const(1, "A_scale"), c.OptConst(2, "A_zero_point"), a.Type, 1, "A");
                    QuantParams bq = c.Quant(c.Const(4, "B_scale"), c.OptConst(5, "B_zero_point"), b.Type, 1, "B");
                    QuantParams cq = c.Quant(c.Const(6, "C_scale"), c.OptConst(7, "C_zero_point"), a.Type, 1, "C");
                    int[] shape = Broadcast(c, a, b);
                    return new QLinearAddLayer(a, b, new OnnxValue(output, a.Type, shape), aq, bq, cq);
                }

            case "Relu":
                {
                    c.InputCount(1, 1);
                    c.OnlyAttributes();
                    OnnxValue x = c.In(0, "X");
                    if (c.Opset >= 14)
                    {
                        c.Type(x, "X", OnnxElem.F32, OnnxElem.S8, OnnxElem.S32);
                    }
                    else
                    {
                        c.Type(x, "X", OnnxElem.F32);
                    }

                    return new ClipLayer("Relu", x, new OnnxValue(output, x.Type, x.Shape), 0, double.PositiveInfinity);
                }

            case "Clip":
                return BuildClip(c, output);
            case "MaxPool":
            case "AveragePool":
                return BuildPool(c, output);
            case "GlobalAveragePool":
                {
                    c.InputCount(1, 1);
                    c.OnlyAttributes();
                    OnnxValue x = c.In(0, "X");
                    c.Type(x, "X", OnnxElem.F32);
                    if (x.Shape.Length < 3)
                    {
                        throw c.Error("X", $"tensor '{x.Name}' has shape {x.ShapeText}; expected [N, C, spatial...]");
                    }

                    int[] shape = x.Shape.Select((d, i) => i < 2 ? d : 1).ToArray();
                    return new GlobalAveragePoolLayer(x, new OnnxValue(output, x.Type, shape));
                }

            case "Reshape":
                return BuildReshape(c, output);
            case "Flatten":
                {
                    c.InputCount(1, 1);
                    c.OnlyAttributes("axis");
                    OnnxValue x = c.In(0, "input");
                    int r = x.Shape.Length;
                    long axis = c.Int("axis", 1);
                    if (axis < -r || axis > r)
                    {
                        throw c.Error("attribute axis", $"{axis} is outside [{-r}, {r}] for rank {r}");
                    }

                    int ax = (int)(axis < 0 ? axis + r : axis);
                    int outer = 1;
                    for (int i = 0; i < ax; i++)
                    {
                        outer *= x.Shape[i];
                    }

                    return new AliasLayer("Flatten", x, new OnnxValue(output, x.Type, [outer, x.Count / outer]));
                }

            case "Softmax":
                {
                    c.InputCount(1, 1);
                    c.OnlyAttributes("axis");
                    OnnxValue x = c.In(0, "input");
                    c.Type(x, "input", OnnxElem.F32);
                    int r = x.Shape.Length;
                    if (r == 0)
                    {
                        throw c.Error("input", "Softmax needs a tensor of rank >= 1");
                    }

                    long axis = c.Int("axis", c.Opset < 13 ? 1 : -1);
                    if (axis < -r || axis >= r)
                    {
                        throw c.Error("attribute axis", $"{axis} is outside [{-r}, {r - 1}] for rank {r}");
                    }

                    int ax = (int)(axis < 0 ? axis + r : axis);
                    int outer = 1, len = 1, inner = 1;
                    for (int i = 0; i < r; i++)
                    {
                        if (i < ax)
                        {
                            outer *= x.Shape[i];
                        }
                        else if (i == ax || c.Opset < 13)
                        {
                            len *= x.Shape[i]; // before opset 13 the input is coerced to 2-D at axis
                        }
                        else
                        {
                            inner *= x.Shape[i];
                        }
                    }

                    return new SoftmaxLayer(x, new OnnxValue(output, x.Type, x.Shape), outer, len, inner);
                }

            default:
                throw c.Error("op_type", QdqReason(c.Index));
        }
    }

    private static OnnxLayer BuildQuantize(OnnxNodeContext c, string output)
    {
        c.InputCount(2, 3);
        c.OnlyAttributes("axis", "saturate", "block_size", "output_dtype", "precision");
        OnnxValue x = c.In(0, "x");
        c.Type(x, "x", OnnxElem.F32);
        OnnxValue? zp = c.OptConst(2, "y_zero_point");
        OnnxElem yType = QuantizedType(c, zp);
        (float[] s, int[] z, int axisLen, int inner) = AxisParams(c, x, c.Const(1, "y_scale"), zp, yType, "y_scale", "y_zero_point");
        return new QuantizeLayer(x, new OnnxValue(output, yType, x.Shape), s, z, axisLen, inner);
    }

    private static OnnxElem QuantizedType(OnnxNodeContext c, OnnxValue? zp)
    {
        RejectBlocked(c);
        long dtype = c.Int("output_dtype", 0);
        if (dtype != 0 && dtype != 2 && dtype != 3)
        {
            throw c.Error("attribute output_dtype", $"{dtype} is not supported; ChipKit quantises to uint8 (2) or int8 (3)");
        }

        if (zp is not null)
        {
            c.Type(zp, "y_zero_point", OnnxElem.U8, OnnxElem.S8);
            if (dtype != 0 && dtype != (long)zp.Type)
            {
                throw c.Error("attribute output_dtype", $"{dtype} contradicts the zero point's type {zp.Type.Name()}");
            }

            return zp.Type;
        }

        return dtype == 3 ? OnnxElem.S8 : OnnxElem.U8;
    }

    private static void RejectBlocked(OnnxNodeContext c)
    {
        if (c.Int("block_size", 0) != 0)
        {
            throw c.Error("attribute block_size", "blocked quantisation is not supported (per-tensor or per-axis only)");
        }

        if (c.Int("precision", 0) != 0)
        {
            throw c.Error("attribute precision", "only the default precision (0) is supported");
        }
    }

    private static OnnxLayer BuildDequantize(OnnxNodeContext c, string output)
    {
        (OnnxValue x, float[] s, int[] z, int axisLen, int inner) = DequantizeParams(c);
        return new DequantizeLayer(x, new OnnxValue(output, OnnxElem.F32, x.Shape), s, z, axisLen, inner);
    }

    private static (OnnxValue X, float[] Scales, int[] ZeroPoints, int AxisLen, int Inner) DequantizeParams(OnnxNodeContext c)
    {
        c.InputCount(2, 3);
        c.OnlyAttributes("axis", "block_size", "output_dtype", "precision");
        RejectBlocked(c);
        long dtype = c.Int("output_dtype", 0);
        if (dtype != 0 && dtype != 1)
        {
            throw c.Error("attribute output_dtype", $"{dtype} is not supported; ChipKit dequantises to float32 (1)");
        }

        OnnxValue x = c.In(0, "x");
        c.Type(x, "x", OnnxElem.U8, OnnxElem.S8, OnnxElem.S32);
        OnnxValue? zp = c.OptConst(2, "x_zero_point");
        (float[] s, int[] z, int axisLen, int inner) = AxisParams(c, x, c.Const(1, "x_scale"), zp, x.Type, "x_scale", "x_zero_point");
        if (x.Type == OnnxElem.S32 && z.Any(v => v != 0))
        {
            throw c.Error("x_zero_point", "an int32 input's zero point must be 0");
        }

        return (x, s, z, axisLen, inner);
    }

    /// <summary>Per-tensor or per-axis scale and zero point of QuantizeLinear / DequantizeLinear.</summary>
    private static (float[] Scales, int[] ZeroPoints, int AxisLen, int Inner) AxisParams(
        OnnxNodeContext c, OnnxValue x, OnnxValue scale, OnnxValue? zp, OnnxElem zpType, string scaleField, string zpField)
    {
        c.Type(scale, scaleField, OnnxElem.F32);
        if (scale.Count == 1 && scale.Shape.Length <= 1)
        {
            c.Int("axis", 1); // type-checked, unused for a per-tensor scale
            return (c.Scales(scale, scaleField, 1), c.ZeroPoints(zp, zpField, zpType, 1), 1, 1);
        }

        if (c.Opset < 13)
        {
            throw c.Error(scaleField, $"tensor '{scale.Name}' has shape {scale.ShapeText}; per-axis quantisation needs opset >= 13");
        }

        int r = x.Shape.Length;
        long axis = c.Int("axis", 1);
        if (axis < -r || axis >= r)
        {
            throw c.Error("attribute axis", $"{axis} is outside [{-r}, {r - 1}] for input {x.ShapeText}");
        }

        int ax = (int)(axis < 0 ? axis + r : axis);
        int len = x.Shape[ax];
        float[] s = c.Scales(scale, scaleField, len);
        int[] z = c.ZeroPoints(zp, zpField, zpType, len);
        if (z.Length != s.Length && zp is not null && zp.Shape.Length == 1)
        {
            throw c.Error(zpField, $"shape {zp.ShapeText} must match the scale's {scale.ShapeText}");
        }

        int inner = 1;
        for (int i = ax + 1; i < r; i++)
        {
            inner *= x.Shape[i];
        }

        if (z.Length == 1)
        {
            z = Enumerable.Repeat(z[0], len).ToArray();
        }

        return (s, z, len, inner);
    }

    private static int[]? Bias(OnnxNodeContext c, OnnxValue? b, int k, string field)
    {
        if (b is null)
        {
            return null;
        }

        c.Type(b, field, OnnxElem.S32);
        if (b.Shape.Length != 1 || b.Shape[0] != k)
        {
            throw c.Error(field, $"tensor '{b.Name}' has shape {b.ShapeText}; expected [{k}] (one per output channel)");
        }

        return (int[])b.Constant!;
    }

    private static QConvLayer Conv(OnnxNodeContext c, string op, OnnxValue x, OnnxValue w, QuantParams xq, QuantParams wq, QuantParams? yq,
        OnnxElem yType, int[]? bias, QuantOutput kind, string output, bool relu)
    {
        c.Rank(x, "x", 4);
        Conv2dDesc conv = ConvGeometry(c, x, w.Shape);
        var desc = new QConv2dDesc(conv, x.Type.ToDataType(), w.Type.ToDataType(), yType.ToDataType(), xq, wq, yq, bias is not null, kind);
        c.Located("attributes", desc.Validate);
        var y = new OnnxValue(output, yType, [conv.N, conv.K, conv.P, conv.Q]);
        return new QConvLayer(op, desc, (byte[])w.Constant!, bias, x, y, relu);
    }

    /// <summary>Conv geometry from the ONNX attributes (NCHW input, [K, C/group, R, S] weights).</summary>
    private static Conv2dDesc ConvGeometry(OnnxNodeContext c, OnnxValue x, int[] wShape)
    {
        long group = c.Int("group", 1);
        if (group < 1 || group > x.Shape[1])
        {
            throw c.Error("attribute group", $"{group} must be in [1, C={x.Shape[1]}]");
        }

        if ((long)wShape[1] * group != x.Shape[1])
        {
            throw c.Error("w", $"weights {ShapeText(wShape)} with group {group} need C = {(long)wShape[1] * group} input channels; x {x.ShapeText} has {x.Shape[1]}");
        }

        if (wShape[0] % group != 0)
        {
            throw c.Error("attribute group", $"{group} does not divide the {wShape[0]} output channels");
        }

        long[]? ks = c.Ints("kernel_shape");
        if (ks is not null && (ks.Length != 2 || ks[0] != wShape[2] || ks[1] != wShape[3]))
        {
            throw c.Error("attribute kernel_shape", $"[{string.Join(",", ks)}] must equal the weights' spatial dims [{wShape[2]},{wShape[3]}]");
        }

        (long sh, long sw) = Pair(c, "strides", 1);
        (long dh, long dw) = Pair(c, "dilations", 1);
        long[] pads = Pads(c);
        string autoPad = c.String("auto_pad", "NOTSET");
        (int pt, int pb, _) = Spatial(c, 0, x.Shape[2], wShape[2], sh, dh, autoPad, pads[0], pads[2], false);
        (int pl, int pr, _) = Spatial(c, 1, x.Shape[3], wShape[3], sw, dw, autoPad, pads[1], pads[3], false);
        return new Conv2dDesc(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], wShape[0], wShape[2], wShape[3],
            pt, pl, pb, pr, (int)sh, (int)sw, (int)dh, (int)dw, (int)group);
    }

    private static string ShapeText(int[] s) => "[" + string.Join(",", s) + "]";

    private static (long, long) Pair(OnnxNodeContext c, string name, long fallback)
    {
        long[]? v = c.Ints(name);
        if (v is null)
        {
            return (fallback, fallback);
        }

        if (v.Length != 2)
        {
            throw c.Error($"attribute {name}", $"expected 2 values (2-D), got {v.Length}");
        }

        foreach (long e in v)
        {
            if (e < 1 || e > int.MaxValue)
            {
                throw c.Error($"attribute {name}", $"{e} must be in [1, {int.MaxValue}]");
            }
        }

        return (v[0], v[1]);
    }

    private static long[] Pads(OnnxNodeContext c)
    {
        long[]? p = c.Ints("pads");
        if (p is null)
        {
            return [0, 0, 0, 0];
        }

        if (p.Length != 4)
        {
            throw c.Error("attribute pads", $"expected 4 values [top, left, bottom, right], got {p.Length}");
        }

        foreach (long e in p)
        {
            if (e < 0 || e > (1 << 30))
            {
                throw c.Error("attribute pads", $"{e} must be in [0, {1 << 30}]");
            }
        }

        string autoPad = c.String("auto_pad", "NOTSET");
        if (autoPad != "NOTSET" && p.Any(e => e != 0))
        {
            throw c.Error("attribute pads", $"explicit pads cannot be combined with auto_pad {autoPad}");
        }

        return p;
    }

    /// <summary>Padding and output size along one spatial axis (ONNX's rules for explicit pads, VALID and SAME_*).</summary>
    internal static (int Begin, int End, int Out) Spatial(OnnxNodeContext c, int axis, int size, long k, long stride, long dilation, string autoPad, long padBegin, long padEnd, bool ceil)
    {
        if (k < 1 || k > int.MaxValue)
        {
            throw c.Error("attribute kernel_shape", $"{k} must be in [1, {int.MaxValue}]");
        }

        long dk = ((k - 1) * dilation) + 1;
        long o;
        switch (autoPad)
        {
            case "NOTSET":
            case "VALID":
                {
                    if (autoPad == "VALID")
                    {
                        padBegin = padEnd = 0;
                    }

                    long total = size + padBegin + padEnd - dk;
                    if (total < 0)
                    {
                        throw c.Error("attribute kernel_shape", $"the window ({dk} with dilation) along spatial axis {axis} is larger than the padded input ({size + padBegin + padEnd})");
                    }

                    o = ceil ? ((total + stride - 1) / stride) + 1 : (total / stride) + 1;
                    if (ceil && (o - 1) * stride >= size + padBegin)
                    {
                        o--; // the last window must start inside the input or its leading padding
                    }

                    break;
                }

            case "SAME_UPPER":
            case "SAME_LOWER":
                {
                    o = (size + stride - 1) / stride;
                    long total = Math.Max(0, ((o - 1) * stride) + dk - size);
                    padBegin = autoPad == "SAME_UPPER" ? total / 2 : total - (total / 2);
                    padEnd = total - padBegin;
                    break;
                }

            default:
                throw c.Error("attribute auto_pad", $"'{autoPad}' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER");
        }

        if (o < 1 || o > int.MaxValue || padBegin > int.MaxValue || padEnd > int.MaxValue)
        {
            throw c.Error("attributes", $"output size {o} along spatial axis {axis} is out of range");
        }

        return ((int)padBegin, (int)padEnd, (int)o);
    }

    /// <summary>A quantised matmul: A [..., M, K] x constant B [K, N] (or B with A's batch dims).</summary>
    private static QGemmLayer MatMul(OnnxNodeContext c, string op, OnnxValue a, OnnxValue bValue, byte[] b, QuantParams aq, QuantParams bq, QuantParams? yq,
        OnnxElem yType, QuantOutput kind, string output, bool relu)
    {
        int[] bs = bValue.Shape;
        if (a.Shape.Length < 2)
        {
            throw c.Error("A", $"tensor '{a.Name}' has shape {a.ShapeText}; expected rank >= 2");
        }

        int k = a.Shape[^1], n = bs[^1];
        if (bs[^2] != k)
        {
            throw c.Error("B", $"tensor '{bValue.Name}' {bValue.ShapeText} does not match A {a.ShapeText}: inner dimensions {k} and {bs[^2]}");
        }

        int batches = 1, m;
        if (bs.Length == 2)
        {
            m = a.Count / k; // A's batch dims fold into M
        }
        else
        {
            if (bs.Length != a.Shape.Length || !bs.AsSpan(0, bs.Length - 2).SequenceEqual(a.Shape.AsSpan(0, bs.Length - 2)))
            {
                throw c.Error("B", $"batched B {bValue.ShapeText} must have A's batch dims {a.ShapeText} (broadcasting is not supported)");
            }

            for (int i = 0; i < bs.Length - 2; i++)
            {
                batches *= bs[i];
            }

            m = a.Shape[^2];
        }

        var desc = new QGemmDesc(m, n, k, a.Type.ToDataType(), bValue.Type.ToDataType(), yType.ToDataType(), aq, bq, yq, kind);
        c.Located("shapes", desc.Validate);
        int[] yShape = [.. a.Shape[..^1], n];
        return new QGemmLayer(op, desc, b, batches, a, new OnnxValue(output, yType, yShape), relu);
    }

    private static int[] Broadcast(OnnxNodeContext c, OnnxValue a, OnnxValue b)
    {
        int r = Math.Max(a.Shape.Length, b.Shape.Length);
        if (r > 8)
        {
            throw c.Error("B", $"rank {r} is more than the 8 supported");
        }

        var shape = new int[r];
        for (int i = 0; i < r; i++)
        {
            int da = i - (r - a.Shape.Length) is int ia && ia >= 0 ? a.Shape[ia] : 1;
            int db = i - (r - b.Shape.Length) is int ib && ib >= 0 ? b.Shape[ib] : 1;
            if (da != db && da != 1 && db != 1)
            {
                throw c.Error("B", $"shapes {a.ShapeText} and {b.ShapeText} do not broadcast (dimension {i}: {da} vs {db})");
            }

            shape[i] = Math.Max(da, db);
        }

        long count = 1;
        foreach (int d in shape)
        {
            count *= d;
        }

        if (count > Check.MaxElements)
        {
            throw c.Error("B", $"the broadcast output of {a.ShapeText} and {b.ShapeText} is too large");
        }

        return shape;
    }

    private static OnnxLayer BuildClip(OnnxNodeContext c, string output)
    {
        double min, max;
        OnnxValue x;
        if (c.Opset < 11)
        {
            c.InputCount(1, 1);
            c.OnlyAttributes("min", "max");
            x = c.In(0, "input");
            c.Type(x, "input", OnnxElem.F32);
            min = c.Float("min", float.MinValue);
            max = c.Float("max", float.MaxValue);
        }
        else
        {
            c.InputCount(1, 3);
            c.OnlyAttributes();
            x = c.In(0, "input");
            if (c.Opset >= 12)
            {
                c.Type(x, "input", OnnxElem.F32, OnnxElem.U8, OnnxElem.S8, OnnxElem.S32);
            }
            else
            {
                c.Type(x, "input", OnnxElem.F32);
            }

            min = ClipBound(c, x, c.OptConst(1, "min"), "min", double.NegativeInfinity);
            max = ClipBound(c, x, c.OptConst(2, "max"), "max", double.PositiveInfinity);
        }

        if (double.IsNaN(min) || double.IsNaN(max))
        {
            throw c.Error("min", "NaN bounds are not supported");
        }

        return new ClipLayer("Clip", x, new OnnxValue(output, x.Type, x.Shape), min, max);
    }

    private static double ClipBound(OnnxNodeContext c, OnnxValue x, OnnxValue? bound, string field, double fallback)
    {
        if (bound is null)
        {
            return fallback;
        }

        if (bound.Type != x.Type || bound.Count != 1 || bound.Shape.Length > 1)
        {
            throw c.Error(field, $"tensor '{bound.Name}' must be a {x.Type.Name()} scalar, got {bound.Type.Name()} {bound.ShapeText}");
        }

        return bound.Constant switch
        {
            float[] f => f[0],
            int[] i => i[0],
            byte[] b => x.Type == OnnxElem.S8 ? (sbyte)b[0] : b[0],
            _ => fallback,
        };
    }

    private static OnnxLayer BuildPool(OnnxNodeContext c, string output)
    {
        bool max = c.Op == "MaxPool";
        c.InputCount(1, 1);
        if (max)
        {
            c.OnlyAttributes("auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides");
            c.IntIn("storage_order", 0, 0, 1); // only affects the Indices output, which is refused
        }
        else
        {
            c.OnlyAttributes("auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "strides");
        }

        OnnxValue x = c.In(0, "X");
        if (max && c.Opset >= 12)
        {
            c.Type(x, "X", OnnxElem.F32, OnnxElem.U8, OnnxElem.S8);
        }
        else
        {
            c.Type(x, "X", OnnxElem.F32);
        }

        c.Rank(x, "X", 4);
        long[] ks = c.Ints("kernel_shape") ?? throw c.Error("attribute kernel_shape", "is required");
        if (ks.Length != 2)
        {
            throw c.Error("attribute kernel_shape", $"expected 2 values (2-D pooling), got {ks.Length}");
        }

        bool ceil = c.IntIn("ceil_mode", 0, 0, 1) == 1;
        bool includePad = !max && c.IntIn("count_include_pad", 0, 0, 1) == 1;
        (long sh, long sw) = Pair(c, "strides", 1);
        (long dh, long dw) = Pair(c, "dilations", 1);
        long[] pads = Pads(c);
        string autoPad = c.String("auto_pad", "NOTSET");
        (int pt, int pb, int p) = Spatial(c, 0, x.Shape[2], ks[0], sh, dh, autoPad, pads[0], pads[2], ceil);
        (int pl, int pr, int q) = Spatial(c, 1, x.Shape[3], ks[1], sw, dw, autoPad, pads[1], pads[3], ceil);
        var g = new PoolGeometry(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], (int)ks[0], (int)ks[1], (int)sh, (int)sw, (int)dh, (int)dw, pt, pl, pb, pr, p, q);
        return new PoolLayer(max, x, new OnnxValue(output, x.Type, [g.N, g.C, p, q]), g, includePad);
    }

    private static OnnxLayer BuildReshape(OnnxNodeContext c, string output)
    {
        c.InputCount(2, 2);
        c.OnlyAttributes("allowzero");
        OnnxValue x = c.In(0, "data");
        OnnxValue s = c.Const(1, "shape");
        c.Type(s, "shape", OnnxElem.I64);
        if (s.Shape.Length != 1)
        {
            throw c.Error("shape", $"tensor '{s.Name}' has shape {s.ShapeText}; expected 1-D");
        }

        bool allowZero = c.IntIn("allowzero", 0, 0, 1) == 1;
        long[] req = (long[])s.Constant!;
        var shape = new int[req.Length];
        int infer = -1;
        long known = 1;
        for (int i = 0; i < req.Length; i++)
        {
            long d = req[i];
            if (d == -1)
            {
                if (infer >= 0)
                {
                    throw c.Error("shape", "more than one -1");
                }

                infer = i;
                continue;
            }

            if (d == 0 && !allowZero)
            {
                if (i >= x.Shape.Length)
                {
                    throw c.Error("shape", $"0 at position {i} copies a dimension the input {x.ShapeText} does not have");
                }

                d = x.Shape[i];
            }

            if (d < 1 || d > Check.MaxElements)
            {
                throw c.Error("shape", $"dimension {i} is {req[i]}; expected a positive size, 0 (copy) or -1 (infer)");
            }

            known *= d;
            if (known > Check.MaxElements)
            {
                throw c.Error("shape", $"[{string.Join(",", req)}] is too large");
            }

            shape[i] = (int)d;
        }

        if (infer >= 0)
        {
            if (x.Count % known != 0)
            {
                throw c.Error("shape", $"[{string.Join(",", req)}] cannot hold the {x.Count} elements of {x.ShapeText}");
            }

            shape[infer] = (int)(x.Count / known);
        }
        else if (known != x.Count)
        {
            throw c.Error("shape", $"[{string.Join(",", req)}] has {known} elements; the input {x.ShapeText} has {x.Count}");
        }

        return new AliasLayer("Reshape", x, new OnnxValue(output, x.Type, shape));
    }
}
