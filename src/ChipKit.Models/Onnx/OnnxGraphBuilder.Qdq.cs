using ChipKit.Core.Descriptors;
using Google.Protobuf.Collections;
using Onnx;

namespace ChipKit.Models.Onnx;

/// <summary>
/// QDQ folding: DequantizeLinear(x), DequantizeLinear(constant 8-bit W) [, DequantizeLinear(constant int32 bias)]
/// -> Conv / MatMul / Gemm [-> Relu] -> QuantizeLinear (the only consumer) is executed as one QLinearConv /
/// QLinearMatMul with ChipKit's requantisation rule, as ONNX Runtime's QDQ transformer does. A Relu between the
/// float op and QuantizeLinear becomes max(y, y_zero_point) on the requantised output, which equals
/// QuantizeLinear(Relu(.)) exactly because quantisation is monotone and maps 0 to the zero point.
/// </summary>
internal sealed partial class OnnxGraphBuilder
{
    private sealed record QdqGroup(int Node, int DqX, int DqW, int DqB, int Relu, int Quantize);

    private readonly Dictionary<int, string> _qdqReasons = [];

    private string QdqReason(int node) =>
        $"a float op runs only as part of a QDQ group (DequantizeLinear on the activation, on constant 8-bit weights " +
        $"and on an optional constant int32 bias, then one QuantizeLinear consumer, optionally through Relu); here {_qdqReasons.GetValueOrDefault(node, "the pattern does not match")}";

    private Dictionary<int, QdqGroup> FindQdqGroups(RepeatedField<NodeProto> nodes, Dictionary<string, List<int>> consumers, HashSet<string> graphOutputs)
    {
        var producer = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < nodes.Count; i++)
        {
            foreach (string o in nodes[i].Output)
            {
                if (o.Length > 0)
                {
                    producer.TryAdd(o, i);
                }
            }
        }

        bool IsOp(int i, string op) => i >= 0 && nodes[i].OpType == op && nodes[i].Domain is "" or "ai.onnx";
        int Producer(string name) => name.Length > 0 && producer.TryGetValue(name, out int p) ? p : -1;
        bool DqOfConstant(int dq) => IsOp(dq, "DequantizeLinear") && nodes[dq].Input.Count > 0 && _values.TryGetValue(nodes[dq].Input[0], out OnnxValue? v) && v.IsConstant;
        int SoleConsumer(string name) => !graphOutputs.Contains(name) && consumers.TryGetValue(name, out List<int>? c) && c.Count == 1 ? c[0] : -1;

        var groups = new Dictionary<int, QdqGroup>();
        for (int i = 0; i < nodes.Count; i++)
        {
            NodeProto n = nodes[i];
            if (n.OpType is not ("Conv" or "MatMul" or "Gemm") || n.Domain is not ("" or "ai.onnx"))
            {
                continue;
            }

            string Fail(string why)
            {
                _qdqReasons[i] = why;
                return why;
            }

            if (n.Input.Count < 2 || n.Output.Count != 1)
            {
                Fail("it has fewer than 2 inputs or more than one output");
                continue;
            }

            int dqx = Producer(n.Input[0]), dqw = Producer(n.Input[1]);
            if (!IsOp(dqx, "DequantizeLinear"))
            {
                Fail($"input '{n.Input[0]}' is not the output of a DequantizeLinear");
                continue;
            }

            if (!DqOfConstant(dqw))
            {
                Fail($"input '{n.Input[1]}' is not a DequantizeLinear of a constant (initializer)");
                continue;
            }

            int dqb = -1;
            if (n.Input.Count > 2 && n.Input[2].Length > 0)
            {
                dqb = Producer(n.Input[2]);
                if (!DqOfConstant(dqb) || n.OpType == "MatMul")
                {
                    Fail($"the bias '{n.Input[2]}' is not a DequantizeLinear of a constant int32 initializer");
                    continue;
                }
            }

            int next = SoleConsumer(n.Output[0]), relu = -1;
            if (IsOp(next, "Relu"))
            {
                relu = next;
                next = nodes[relu].Output.Count == 1 ? SoleConsumer(nodes[relu].Output[0]) : -1;
            }

            if (!IsOp(next, "QuantizeLinear"))
            {
                Fail($"its output '{n.Output[0]}' is not consumed only by a QuantizeLinear{(relu >= 0 ? " (after Relu)" : "")}");
                continue;
            }

            groups[i] = new QdqGroup(i, dqx, dqw, dqb, relu, next);
        }

        return groups;
    }

    private OnnxLayer BuildQdq(OnnxNodeContext c, QdqGroup g, RepeatedField<NodeProto> nodes)
    {
        OnnxNodeContext Ctx(int i) => new(_file, i, nodes[i], _opset, Lookup);

        // activation: per-tensor 8-bit
        OnnxNodeContext cx = Ctx(g.DqX);
        (OnnxValue x, float[] xs, int[] xz, int xAxis, _) = DequantizeParams(cx);
        if (xAxis != 1 || !x.Type.Is8Bit())
        {
            throw cx.Error("x", $"the activation of the QDQ {c.Op} must be uint8/int8 with a per-tensor scale, got {x.Type.Name()} with {xs.Length} scales");
        }

        var xq = new QuantParams([xs[0]], [xz[0]]);

        // output: QuantizeLinear, per-tensor
        OnnxNodeContext cq = Ctx(g.Quantize);
        cq.InputCount(2, 3);
        cq.OnlyAttributes("axis", "saturate", "block_size", "output_dtype", "precision");
        OnnxValue? yzp = cq.OptConst(2, "y_zero_point");
        OnnxElem yType = QuantizedType(cq, yzp);
        var yq = new QuantParams([cq.Scale(cq.Const(1, "y_scale"), "y_scale")], cq.ZeroPoints(yzp, "y_zero_point", yType, 1));
        string output = nodes[g.Quantize].Output.Count > 0 ? nodes[g.Quantize].Output[0] : throw cq.Error("output", "expected one output");
        cq.InputCount(2, 3);
        if (g.Relu >= 0)
        {
            OnnxNodeContext cr = Ctx(g.Relu);
            cr.InputCount(1, 1);
            cr.OnlyAttributes();
        }

        string relu = g.Relu >= 0 ? "+Relu" : "";
        OnnxNodeContext cw = Ctx(g.DqW);
        (OnnxValue w, float[] ws, int[] wz, int wAxisLen, int wInner) = DequantizeParams(cw);
        if (!w.Type.Is8Bit())
        {
            throw cw.Error("x", $"QDQ weights must be uint8 or int8, got {w.Type.Name()}");
        }

        switch (c.Op)
        {
            case "Conv":
                {
                    c.InputCount(2, 3);
                    c.OnlyAttributes(ConvAttributes);
                    c.Rank(w, "W", 4);
                    int k = w.Shape[0];
                    QuantParams wq = WeightQuant(cw, ws, wz, wAxisLen, wInner, k, w.Count / k);
                    int[]? bias = QdqBias(c, g, nodes, xq, wq, k);
                    return Conv(c, $"QDQ Conv{relu} (QLinearConv)", x, w, xq, wq, yq, yType, bias, QuantOutput.Quantized, output, g.Relu >= 0);
                }

            case "MatMul":
                {
                    c.InputCount(2, 2);
                    c.OnlyAttributes();
                    c.Rank(w, "B", 2);
                    int n = w.Shape[1];
                    QuantParams wq = WeightQuant(cw, ws, wz, wAxisLen, wInner, n, 1);
                    return MatMul(c, $"QDQ MatMul{relu} (QLinearMatMul)", x, w, (byte[])w.Constant!, xq, wq, yq, yType, QuantOutput.Quantized, output, g.Relu >= 0);
                }

            default:
                {
                    c.InputCount(2, 3);
                    c.OnlyAttributes("alpha", "beta", "transA", "transB");
                    if (c.Float("alpha", 1f) != 1f || (g.DqB >= 0 && c.Float("beta", 1f) != 1f))
                    {
                        throw c.Error("attribute alpha", "a QDQ Gemm needs alpha = 1 and beta = 1");
                    }

                    c.IntIn("transA", 0, 0);
                    bool transB = c.IntIn("transB", 0, 0, 1) == 1;
                    c.Rank(x, "A", 2);
                    c.Rank(w, "B", 2);
                    int kk = transB ? w.Shape[1] : w.Shape[0], n = transB ? w.Shape[0] : w.Shape[1];
                    if (kk != x.Shape[1])
                    {
                        throw c.Error("B", $"tensor '{w.Name}' {w.ShapeText} (transB={(transB ? 1 : 0)}) does not match A {x.ShapeText}");
                    }

                    QuantParams wq = transB ? WeightQuant(cw, ws, wz, wAxisLen, wInner, n, kk) : WeightQuant(cw, ws, wz, wAxisLen, wInner, n, 1);
                    byte[] src = (byte[])w.Constant!;
                    int[]? bias = QdqBias(c, g, nodes, xq, wq, n);
                    string op = $"QDQ Gemm{relu} (QLinear{(bias is null ? "MatMul" : "Conv 1x1")})";
                    if (bias is null)
                    {
                        // QGemm wants B as [K, N]
                        byte[] b = transB ? Transpose(src, n, kk) : src;
                        var bValue = new OnnxValue(w.Name, w.Type, [kk, n], b);
                        return MatMul(c, op, x, bValue, b, xq, wq, yq, yType, QuantOutput.Quantized, output, g.Relu >= 0);
                    }

                    // with a bias: a 1x1 convolution over M "images" of K channels, weights [N, K, 1, 1]
                    byte[] wk = transB ? src : Transpose(src, kk, n);
                    var conv = new Conv2dDesc(x.Shape[0], kk, 1, 1, n, 1, 1);
                    var desc = new QConv2dDesc(conv, x.Type.ToDataType(), w.Type.ToDataType(), yType.ToDataType(), xq, wq, yq, true);
                    c.Located("shapes", desc.Validate);
                    return new QConvLayer(op, desc, wk, bias, x, new OnnxValue(output, yType, [x.Shape[0], n]), g.Relu >= 0);
                }
        }
    }

    private static byte[] Transpose(byte[] src, int rows, int cols)
    {
        var t = new byte[src.Length];
        for (int r = 0; r < rows; r++)
        {
            for (int col = 0; col < cols; col++)
            {
                t[(col * rows) + r] = src[(r * cols) + col];
            }
        }

        return t;
    }

    /// <summary>
    /// Weight parameters of a QDQ group: per-tensor, or per output channel where the DequantizeLinear's axis is the
    /// output-channel axis (<paramref name="inner"/> elements after it).
    /// </summary>
    private static QuantParams WeightQuant(OnnxNodeContext cw, float[] ws, int[] wz, int axisLen, int axisInner, int channels, int inner)
    {
        if (ws.Length == 1)
        {
            return new QuantParams([ws[0]], [wz[0]]);
        }

        if (axisLen != channels || axisInner != inner)
        {
            throw cw.Error("attribute axis", $"per-channel weight scales must run along the output-channel axis ({channels} channels); this axis has {axisLen}");
        }

        return new QuantParams(ws, wz);
    }

    private int[]? QdqBias(OnnxNodeContext c, QdqGroup g, RepeatedField<NodeProto> nodes, QuantParams xq, QuantParams wq, int k)
    {
        if (g.DqB < 0)
        {
            return null;
        }

        var cb = new OnnxNodeContext(_file, g.DqB, nodes[g.DqB], _opset, Lookup);
        (OnnxValue b, float[] bs, _, int axisLen, _) = DequantizeParams(cb);
        if (b.Type != OnnxElem.S32 || b.Shape.Length != 1 || b.Shape[0] != k)
        {
            throw cb.Error("x", $"a QDQ bias must be an int32 constant of shape [{k}], got {b}");
        }

        for (int i = 0; i < k; i++)
        {
            // The folded op adds the int32 bias to the accumulator, which is right only if its scale is x_scale * w_scale.
            double expect = (double)xq.Scale(0) * wq.Scale(i), got = bs[axisLen == 1 ? 0 : i];
            if (Math.Abs(got - expect) > 1e-5 * expect)
            {
                throw cb.Error("x_scale", $"the bias scale {got} of channel {i} is not x_scale * w_scale = {expect}; it cannot be folded into the int32 accumulator");
            }
        }

        return (int[])b.Constant!;
    }
}
