namespace ChipKit.Models.Onnx;

/// <summary>
/// Small synthetic quantised ONNX models (ChipKit has no quantised .onnx files to redistribute): a conv - pool -
/// depthwise conv - residual add - 1x1 conv - global pool - fully connected - softmax chain, in QLinear form
/// (QLinearConv, QLinearMatMul, com.microsoft QLinearAdd, quantised MaxPool) or QDQ form (float Conv / MatMul / Gemm
/// between DequantizeLinear and QuantizeLinear, as ONNX Runtime's quantiser writes them). Weights and parameters are
/// drawn from a seed; uint8 or int8 activations; per-tensor or per-channel weights.
/// </summary>
public static class OnnxSampleModels
{
    public const int Channels = 3, Size = 12, Classes = 10;

    /// <summary>QLinear-form model: input uint8/int8 [1, 3, 12, 12], output float32 [1, 10] probabilities.</summary>
    public static byte[] QLinear(bool signed, bool perChannel, int seed = 1)
    {
        var rng = new Random(seed);
        OnnxElem t = signed ? OnnxElem.S8 : OnnxElem.U8;
        int zpBase = signed ? 0 : 128;
        var g = new OnnxGraphWriter(opset: 13, microsoft: true);
        g.Input("x", t, 1, Channels, Size, Size);
        float xs = 0.02f;
        string xsN = g.Scalar("x_scale", xs), xzN = g.ZeroPoint("x_zp", t, zpBase + 3);

        // conv 3x3, 3 -> 8, pad 1, bias
        (string c1, float s1, string s1N, string z1N) = QConv(g, rng, "c1", "x", xsN, xzN, xs, t, signed, perChannel, 8, 3, 3, 1, group: 1, pad: 1, bias: true);

        // quantised max pool 2x2 stride 2 -> [1, 8, 6, 6]
        string p1 = g.Node("MaxPool", [c1], "p1", ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }));

        // depthwise 3x3 (group 8), pad 1
        (string c2, float s2, string s2N, string z2N) = QConv(g, rng, "c2", p1, s1N, z1N, s1, t, signed, perChannel, 8, 8, 3, 1, group: 8, pad: 1, bias: true);

        // residual: QLinearAdd(p1, c2)
        float s3 = s1 * 1.5f;
        string s3N = g.Scalar("add_scale", s3), z3N = g.ZeroPoint("add_zp", t, zpBase - 5);
        string add = g.NodeIn("com.microsoft", "QLinearAdd", [p1, s1N, z1N, c2, s2N, z2N, s3N, z3N], "add");

        // 1x1 conv 8 -> 16
        (string c3, float s4, string s4N, string z4N) = QConv(g, rng, "c3", add, s3N, z3N, s3, t, signed, perChannel, 16, 8, 1, 1, group: 1, pad: 0, bias: true);

        // float section: dequantise, clip to [0, 6], global average pool, flatten, quantise
        string dq = g.Node("DequantizeLinear", [c3, s4N, z4N], "dq");
        string clip = g.Node("Clip", [dq, g.Scalar("clip_min", 0f), g.Scalar("clip_max", 6f)], "clip");
        string gap = g.Node("GlobalAveragePool", [clip], "gap");
        string flat = g.Node("Flatten", [gap], "flat", ("axis", 1L));
        float s5 = 6f / 255f;
        string s5N = g.Scalar("q_scale", s5), z5N = g.ZeroPoint("q_zp", t, signed ? -128 : 0);
        string q = g.Node("QuantizeLinear", [flat, s5N, z5N], "q");

        // fully connected: QLinearMatMul [1,16] x [16,10]
        (byte[] w, float[] ws, int[] wz) = Weights(rng, signed, perChannel, 16 * Classes, Classes, perColumn: true);
        string wN = g.Const("fc_w", t, [16, Classes], w);
        string wsN = g.Const("fc_w_scale", OnnxElem.F32, perChannel ? [Classes] : [], ws);
        string wzN = g.Const("fc_w_zp", t, perChannel ? [Classes] : [], wz.Select(z => unchecked((byte)z)).ToArray());
        float s6 = OutScale(s5, ws, 16);
        string s6N = g.Scalar("fc_scale", s6), z6N = g.ZeroPoint("fc_zp", t, zpBase);
        string fc = g.Node("QLinearMatMul", [q, s5N, z5N, wN, wsN, wzN, s6N, z6N], "fc");
        string logits = g.Node("DequantizeLinear", [fc, s6N, z6N], "logits");
        g.Node("Softmax", [logits], "prob", ("axis", 1L));
        g.Output("prob", OnnxElem.F32, 1, Classes);
        return g.ToBytes();
    }

    /// <summary>
    /// QDQ-form model: input float32 [1, 3, 12, 12], quantised at the start, every Conv / MatMul / Gemm between
    /// DequantizeLinear and QuantizeLinear (Relu after the first and the 1x1 conv), float MaxPool and
    /// GlobalAveragePool on dequantised data, output float32 [1, 10] probabilities.
    /// </summary>
    public static byte[] Qdq(bool signed, bool perChannel, int seed = 1)
    {
        var rng = new Random(seed);
        OnnxElem t = signed ? OnnxElem.S8 : OnnxElem.U8;
        int zpBase = signed ? 0 : 128;
        var g = new OnnxGraphWriter(opset: 13);
        g.Input("x", OnnxElem.F32, 1, Channels, Size, Size);
        float xs = 2f / 255f;
        string xsN = g.Scalar("x_scale", xs), xzN = g.ZeroPoint("x_zp", t, zpBase);
        string xq = g.Node("QuantizeLinear", ["x", xsN, xzN], "x_q");

        (string c1, float s1, string s1N, string z1N) = QdqConv(g, rng, "c1", xq, xsN, xzN, xs, t, signed, perChannel, 8, 3, 3, group: 1, pad: 1, relu: true);
        string p1 = g.Node("MaxPool", [g.Node("DequantizeLinear", [c1, s1N, z1N], "p1_in")], "p1_f", ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }));
        string p1q = g.Node("QuantizeLinear", [p1, s1N, z1N], "p1_q");
        (string c2, float s2, string s2N, string z2N) = QdqConv(g, rng, "c2", p1q, s1N, z1N, s1, t, signed, perChannel, 8, 8, 3, group: 8, pad: 1, relu: false);
        (string c3, float s3, string s3N, string z3N) = QdqConv(g, rng, "c3", c2, s2N, z2N, s2, t, signed, perChannel, 16, 8, 1, group: 1, pad: 0, relu: true);
        string gap = g.Node("GlobalAveragePool", [g.Node("DequantizeLinear", [c3, s3N, z3N], "gap_in")], "gap");
        string flat = g.Node("Flatten", [gap], "flat");
        float s4 = s3;
        string fq = g.Node("QuantizeLinear", [flat, s3N, z3N], "flat_q");

        // MatMul 16 -> 12 (B [16, 12], per-column scales on axis 1), no bias
        (byte[] w1, float[] ws1, int[] wz1) = Weights(rng, signed, perChannel, 16 * 12, 12, perColumn: true);
        string w1q = g.Const("mm_w", t, [16, 12], w1);
        string w1d = g.Node("DequantizeLinear", [w1q, g.Const("mm_w_scale", OnnxElem.F32, perChannel ? [12] : [], ws1),
            g.Const("mm_w_zp", t, perChannel ? [12] : [], wz1.Select(z => unchecked((byte)z)).ToArray())], "mm_w_f", ("axis", 1L));
        string mm = g.Node("MatMul", [g.Node("DequantizeLinear", [fq, s3N, z3N], "mm_in"), w1d], "mm_f");
        float s5 = OutScale(s4, ws1, 16);
        string s5N = g.Scalar("mm_scale", s5), z5N = g.ZeroPoint("mm_zp", t, zpBase + 2);
        string mmq = g.Node("QuantizeLinear", [mm, s5N, z5N], "mm_q");

        // Gemm 12 -> 10 with transB = 1 (B [10, 12], per-row scales on axis 0) and an int32 bias
        (byte[] w2, float[] ws2, int[] wz2) = Weights(rng, signed, perChannel, 12 * Classes, Classes, perColumn: false);
        string w2d = g.Node("DequantizeLinear", [g.Const("fc_w", t, [Classes, 12], w2), g.Const("fc_w_scale", OnnxElem.F32, perChannel ? [Classes] : [], ws2),
            g.Const("fc_w_zp", t, perChannel ? [Classes] : [], wz2.Select(z => unchecked((byte)z)).ToArray())], "fc_w_f", ("axis", 0L));
        float[] bs = Enumerable.Range(0, Classes).Select(k => s5 * ws2[perChannel ? k : 0]).ToArray();
        int[] bias = Enumerable.Range(0, Classes).Select(_ => rng.Next(-2000, 2000)).ToArray();
        string bd = g.Node("DequantizeLinear", [g.Const("fc_b", OnnxElem.S32, [Classes], bias), g.Const("fc_b_scale", OnnxElem.F32, perChannel ? [Classes] : [], perChannel ? bs : [bs[0]]),
            g.Const("fc_b_zp", OnnxElem.S32, perChannel ? [Classes] : [], new int[perChannel ? Classes : 1])], "fc_b_f", ("axis", 0L));
        string gemm = g.Node("Gemm", [g.Node("DequantizeLinear", [mmq, s5N, z5N], "fc_in"), w2d, bd], "fc_f", ("transB", 1L));
        float s6 = OutScale(s5, ws2, 12);
        string s6N = g.Scalar("fc_scale", s6), z6N = g.ZeroPoint("fc_zp", t, zpBase);
        string fcq = g.Node("QuantizeLinear", [gemm, s6N, z6N], "fc_q");
        g.Node("Softmax", [g.Node("DequantizeLinear", [fcq, s6N, z6N], "logits")], "prob", ("axis", 1L));
        g.Output("prob", OnnxElem.F32, 1, Classes);
        return g.ToBytes();
    }

    /// <summary>Weights, their scales and zero points: int8 symmetric (zp 0) or uint8 around 128 (zp 120..135).</summary>
    private static (byte[] W, float[] Scales, int[] Zps) Weights(Random rng, bool signed, bool perChannel, int count, int channels, bool perColumn)
    {
        var w = new byte[count];
        rng.NextBytes(w);
        int n = perChannel ? channels : 1;
        float[] s = Enumerable.Range(0, n).Select(_ => 0.002f + (0.004f * (float)rng.NextDouble())).ToArray();
        int[] z = Enumerable.Range(0, n).Select(_ => signed ? 0 : rng.Next(120, 136)).ToArray();
        _ = perColumn;
        return (w, s, z);
    }

    /// <summary>An output scale that keeps the requantised values mostly inside the 8-bit range.</summary>
    private static float OutScale(float xs, float[] ws, int reduction) => (float)(xs * ws.Average() * Math.Sqrt(reduction) * 110);

    private static (string Y, float Scale, string ScaleName, string ZpName) QConv(OnnxGraphWriter g, Random rng, string name, string x, string xsN, string xzN, float xs,
        OnnxElem t, bool signed, bool perChannel, int k, int c, int r, int stride, int group, int pad, bool bias)
    {
        int cg = c / group;
        (byte[] w, float[] ws, int[] wz) = Weights(rng, signed, perChannel, k * cg * r * r, k, perColumn: false);
        string wN = g.Const(name + "_w", t, [k, cg, r, r], w);
        string wsN = g.Const(name + "_w_scale", OnnxElem.F32, perChannel ? [k] : [], ws);
        string wzN = g.Const(name + "_w_zp", t, perChannel ? [k] : [], wz.Select(z => unchecked((byte)z)).ToArray());
        float ys = OutScale(xs, ws, cg * r * r);
        string ysN = g.Scalar(name + "_y_scale", ys), yzN = g.ZeroPoint(name + "_y_zp", t, (signed ? 0 : 128) + rng.Next(-10, 10));
        var inputs = new List<string> { x, xsN, xzN, wN, wsN, wzN, ysN, yzN };
        if (bias)
        {
            inputs.Add(g.Const(name + "_b", OnnxElem.S32, [k], Enumerable.Range(0, k).Select(_ => rng.Next(-3000, 3000)).ToArray()));
        }

        string y = g.Node("QLinearConv", [.. inputs], name, ("kernel_shape", new long[] { r, r }), ("strides", new long[] { stride, stride }),
            ("pads", new long[] { pad, pad, pad, pad }), ("group", (long)group));
        return (y, ys, ysN, yzN);
    }

    private static (string Y, float Scale, string ScaleName, string ZpName) QdqConv(OnnxGraphWriter g, Random rng, string name, string xq, string xsN, string xzN, float xs,
        OnnxElem t, bool signed, bool perChannel, int k, int c, int r, int group, int pad, bool relu)
    {
        int cg = c / group;
        (byte[] w, float[] ws, int[] wz) = Weights(rng, signed, perChannel, k * cg * r * r, k, perColumn: false);
        string wd = g.Node("DequantizeLinear", [g.Const(name + "_w", t, [k, cg, r, r], w), g.Const(name + "_w_scale", OnnxElem.F32, perChannel ? [k] : [], ws),
            g.Const(name + "_w_zp", t, perChannel ? [k] : [], wz.Select(z => unchecked((byte)z)).ToArray())], name + "_w_f", ("axis", 0L));
        float[] bs = Enumerable.Range(0, k).Select(i => xs * ws[perChannel ? i : 0]).ToArray();
        string bd = g.Node("DequantizeLinear", [g.Const(name + "_b", OnnxElem.S32, [k], Enumerable.Range(0, k).Select(_ => rng.Next(-3000, 3000)).ToArray()),
            g.Const(name + "_b_scale", OnnxElem.F32, perChannel ? [k] : [], perChannel ? bs : [bs[0]]), g.Const(name + "_b_zp", OnnxElem.S32, perChannel ? [k] : [], new int[perChannel ? k : 1])],
            name + "_b_f", ("axis", 0L));
        string xd = g.Node("DequantizeLinear", [xq, xsN, xzN], name + "_x_f");
        string y = g.Node("Conv", [xd, wd, bd], name + "_f", ("kernel_shape", new long[] { r, r }), ("pads", new long[] { pad, pad, pad, pad }), ("group", (long)group));
        if (relu)
        {
            y = g.Node("Relu", [y], name + "_relu");
        }

        float ys = OutScale(xs, ws, cg * r * r) * (relu ? 0.6f : 1f);
        string ysN = g.Scalar(name + "_y_scale", ys), yzN = g.ZeroPoint(name + "_y_zp", t, relu ? (signed ? -128 : 0) : (signed ? 0 : 128) + rng.Next(-10, 10));
        return (g.Node("QuantizeLinear", [y, ysN, yzN], name), ys, ysN, yzN);
    }
}
