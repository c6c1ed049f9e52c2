using ChipKit.Core.Descriptors;
using ChipKit.Core.Workloads;
using Onnx;

namespace ChipKit.Onnx;

/// <summary>
/// One runnable piece of an ONNX vector: a ChipKit workload, its operands taken from the vector's inputs, and the
/// vector's expected output for it (a MatMul with batch dimensions gives one piece per batch).
/// </summary>
public sealed record OnnxCaseInstance(string Label, Workload Workload, OpData Data, double[] ExpectedValues);

/// <summary>An ONNX node test folder mapped onto ChipKit's ops.</summary>
public sealed record OnnxVectorCase(string Name, string OnnxOp, string ChipKitOp, IReadOnlyList<OnnxCaseInstance> Instances);

/// <summary>
/// Maps ONNX's node conformance vectors (Gemm, MatMul, Conv, MatMulInteger, QLinearMatMul, ConvInteger, QLinearConv)
/// onto ChipKit workloads with the vectors' own operands. Anything the descriptors cannot express throws
/// <see cref="NotSupportedException"/> naming the vector and the reason: nothing is dropped silently.
/// </summary>
public static class OnnxVectorCases
{
    /// <summary>ONNX op type to ChipKit op.</summary>
    public static readonly IReadOnlyDictionary<string, string> OpMap = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Gemm"] = "gemm",
        ["MatMul"] = "gemm",
        ["Conv"] = "conv",
        ["MatMulInteger"] = "qgemm",
        ["QLinearMatMul"] = "qgemm",
        ["ConvInteger"] = "qconv",
        ["QLinearConv"] = "qconv",
    };

    /// <summary>Every copied vector folder with its op type.</summary>
    public static IReadOnlyList<(string Name, string OnnxOp)> Folders() =>
        OnnxNodeVector.AllNames().Select(n => (n, OnnxNodeVector.ReadOpType(n))).ToList();

    /// <summary>The vectors of one ChipKit op, mapped.</summary>
    public static IEnumerable<OnnxVectorCase> ForOp(string chipkitOp) =>
        Folders().Where(f => OpMap.TryGetValue(f.OnnxOp, out string? op) && op == chipkitOp).Select(f => Load(f.Name));

    public static OnnxVectorCase Load(string name)
    {
        OnnxNodeVector t = OnnxNodeVector.Load(name);
        if (!OpMap.TryGetValue(t.OpType, out string? op))
        {
            throw new NotSupportedException($"{name}: ONNX op {t.OpType} has no ChipKit counterpart");
        }

        IReadOnlyList<OnnxCaseInstance> instances = t.OpType switch
        {
            "Gemm" => [Gemm(t)],
            "MatMul" => MatMul(t),
            "Conv" => [Conv(t)],
            "MatMulInteger" => QMatMul(t, quantized: false),
            "QLinearMatMul" => QMatMul(t, quantized: true),
            "ConvInteger" => [QConv(t, quantized: false)],
            _ => [QConv(t, quantized: true)],
        };
        return new OnnxVectorCase(name, t.OpType, op, instances);
    }

    private static OnnxCaseInstance Gemm(OnnxNodeVector t)
    {
        t.RequireOnlyAttributes("alpha", "beta", "transA", "transB");
        OnnxTensor a = t.RequiredInput(0, "A"), b = t.RequiredInput(1, "B");
        OnnxTensor? c = t.Input(2);
        OnnxTensor y = t.SingleOutput();
        Require(a.Rank == 2 && b.Rank == 2, t, "Gemm takes 2-D A and B");
        bool transA = t.Int("transA", 0) != 0, transB = t.Int("transB", 0) != 0;
        int m = (int)(transA ? a.Dims[1] : a.Dims[0]), k = (int)(transA ? a.Dims[0] : a.Dims[1]);
        int n = (int)(transB ? b.Dims[0] : b.Dims[1]), kb = (int)(transB ? b.Dims[1] : b.Dims[0]);
        Require(kb == k, t, "inner dimensions of op(A) and op(B) differ");
        Shape(t, y.Dims, [m, n]);

        // C absent: Y = alpha*A'B'; beta = 0 tells GemmDesc not to read C.
        float alpha = t.Float("alpha", 1f), beta = c is null ? 0f : t.Float("beta", 1f);
        var d = new GemmDesc(m, n, k, transA, transB, alpha, beta);
        var data = new GemmData(d, a.AsFloats(), b.AsFloats(), c is null ? null : ExpandGemmC(t, c, m, n));
        return new OnnxCaseInstance(t.Name, new GemmWorkload(d), data, y.Values);
    }

    private static List<OnnxCaseInstance> MatMul(OnnxNodeVector t)
    {
        t.RequireOnlyAttributes();
        OnnxTensor a = t.RequiredInput(0, "A"), b = t.RequiredInput(1, "B");
        OnnxTensor y = t.SingleOutput();
        MatMulPlan plan = MatMulPlan.Create(a.Dims, b.Dims);
        Shape(t, y.Dims, plan.OutputShape);
        float[] af = a.AsFloats(), bf = b.AsFloats();
        var d = new GemmDesc(plan.M, plan.N, plan.K);
        return Batches(t, plan, y, (ao, bo) => new GemmData(d, af[ao..(ao + (plan.M * plan.K))], bf[bo..(bo + (plan.K * plan.N))], null), new GemmWorkload(d));
    }

    private static OnnxCaseInstance Conv(OnnxNodeVector t)
    {
        OnnxTensor x = t.RequiredInput(0, "X"), w = t.RequiredInput(1, "W");
        OnnxTensor? bias = t.Input(2);
        OnnxTensor y = t.SingleOutput();
        Conv2dDesc d = ConvMapping.Geometry(t, x, w);
        Shape(t, y.Dims, ConvMapping.OutputShape(d));
        Require(bias is null || (bias.Rank == 1 && bias.Dims[0] == d.K), t, "bias must be [K]");
        return new OnnxCaseInstance(t.Name, new ConvWorkload(d, bias is not null), new ConvData(d, x.AsFloats(), w.AsFloats(), bias?.AsFloats()), y.Values);
    }

    private static List<OnnxCaseInstance> QMatMul(OnnxNodeVector t, bool quantized)
    {
        t.RequireOnlyAttributes();

        // MatMulInteger: A, B, a_zero_point?, b_zero_point?; QLinearMatMul: a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp.
        int bIndex = quantized ? 3 : 1;
        OnnxTensor a = t.RequiredInput(0, "A"), b = t.RequiredInput(bIndex, "B");
        OnnxTensor y = t.SingleOutput();
        MatMulPlan plan = MatMulPlan.Create(a.Dims, b.Dims);
        Shape(t, y.Dims, plan.OutputShape);
        QuantParams aq = quantized ? PerTensor(t, "a", t.RequiredInput(1, "a_scale"), t.Input(2)) : PerTensor(t, "a", null, t.Input(2));
        QuantParams bq = quantized
            ? PerTensorOrChannel(t, "b", t.RequiredInput(4, "b_scale"), t.Input(5), plan.N)
            : PerTensorOrChannel(t, "b", null, t.Input(3), plan.N);
        QuantParams? yq = quantized ? PerTensor(t, "y", t.RequiredInput(6, "y_scale"), t.Input(7)) : null;
        Require(quantized || y.Type == TensorProto.Types.DataType.Int32, t, "MatMulInteger output must be int32");
        var d = new QGemmDesc(plan.M, plan.N, plan.K, EightBit(t, a), EightBit(t, b), quantized ? EightBit(t, y) : DataType.S32,
            aq, bq, yq, quantized ? QuantOutput.Quantized : QuantOutput.Int32);
        byte[] ab = a.AsBytes8(), bb = b.AsBytes8();
        return Batches(t, plan, y, (ao, bo) => new QGemmData(d, ab[ao..(ao + (plan.M * plan.K))], bb[bo..(bo + (plan.K * plan.N))]), new QGemmWorkload(d));
    }

    private static OnnxCaseInstance QConv(OnnxNodeVector t, bool quantized)
    {
        // ConvInteger: x, w, x_zp?, w_zp?; QLinearConv: x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B?.
        OnnxTensor x = t.RequiredInput(0, "x"), w = t.RequiredInput(quantized ? 3 : 1, "w");
        OnnxTensor? bias = quantized ? t.Input(8) : null;
        OnnxTensor y = t.SingleOutput();
        Conv2dDesc conv = ConvMapping.Geometry(t, x, w);
        Shape(t, y.Dims, ConvMapping.OutputShape(conv));
        Require(bias is null || (bias.Type == TensorProto.Types.DataType.Int32 && bias.Rank == 1 && bias.Dims[0] == conv.K), t, "bias must be int32 [K]");
        var d = quantized
            ? new QConv2dDesc(conv, EightBit(t, x), EightBit(t, w), EightBit(t, y),
                PerTensor(t, "x", t.RequiredInput(1, "x_scale"), t.Input(2)),
                PerTensorOrChannel(t, "w", t.RequiredInput(4, "w_scale"), t.Input(5), conv.K),
                PerTensor(t, "y", t.RequiredInput(6, "y_scale"), t.Input(7)),
                HasBias: bias is not null, QuantOutput.Quantized)
            : new QConv2dDesc(conv, EightBit(t, x), EightBit(t, w), DataType.S32,
                PerTensor(t, "x", null, t.Input(2)), PerTensorOrChannel(t, "w", null, t.Input(3), conv.K), null,
                HasBias: false, QuantOutput.Int32);
        Require(quantized || y.Type == TensorProto.Types.DataType.Int32, t, "ConvInteger output must be int32");
        return new OnnxCaseInstance(t.Name, new QConvWorkload(d), new QConvData(d, x.AsBytes8(), w.AsBytes8(), bias?.AsInts()), y.Values);
    }

    /// <summary>One instance per (broadcast) batch of a MatMul, with the matching slice of the expected output.</summary>
    private static List<OnnxCaseInstance> Batches(OnnxNodeVector t, MatMulPlan plan, OnnxTensor y, Func<int, int, OpData> data, Workload workload)
    {
        int mn = plan.M * plan.N;
        var list = new List<OnnxCaseInstance>();
        for (int i = 0; i < plan.Batches.Length; i++)
        {
            (int ao, int bo, int yo) = plan.Batches[i];
            string label = plan.Batches.Length == 1 ? t.Name : $"{t.Name}[batch {i}]";
            list.Add(new OnnxCaseInstance(label, workload, data(ao, bo), y.Values[yo..(yo + mn)]));
        }

        return list;
    }

    /// <summary>Gemm's C broadcasts unidirectionally to [M,N]: scalar, [1], [N], [1,N], [M,1] or [M,N].</summary>
    private static float[] ExpandGemmC(OnnxNodeVector t, OnnxTensor c, int m, int n)
    {
        Require(c.Rank <= 2, t, $"C [{c.ShapeText}] has rank > 2");
        long cm = c.Rank == 2 ? c.Dims[0] : 1;
        long cn = c.Rank >= 1 ? c.Dims[^1] : 1;
        Require((cm == 1 || cm == m) && (cn == 1 || cn == n), t, $"C [{c.ShapeText}] does not broadcast to [{m},{n}]");
        float[] src = c.AsFloats();
        var full = new float[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                full[(i * n) + j] = src[((cm == 1 ? 0 : i) * cn) + (cn == 1 ? 0 : j)];
            }
        }

        return full;
    }

    private static DataType EightBit(OnnxNodeVector t, OnnxTensor x) => x.Type switch
    {
        TensorProto.Types.DataType.Uint8 => DataType.U8,
        TensorProto.Types.DataType.Int8 => DataType.S8,
        _ => throw new NotSupportedException($"{t.Name}: tensor '{x.Name}' is {x.Type}; ChipKit's quantised descriptors take u8 or s8 only"),
    };

    /// <summary>Per-tensor parameters; an absent scale (the *Integer ops have none) is 1 and an absent zero point 0, as in ONNX.</summary>
    private static QuantParams PerTensor(OnnxNodeVector t, string what, OnnxTensor? scale, OnnxTensor? zeroPoint)
    {
        QuantParams q = Params(scale, zeroPoint);
        Require(q.Count == 1, t, $"{what} has {q.Count} quantisation parameters; ChipKit's descriptors express only per-tensor {what} " +
            "parameters (ONNX allows per-row a_zero_point / a_scale for the MatMul ops)");
        return q;
    }

    /// <summary>Per-tensor, or per-channel along the output channel / column (count entries in the last dim).</summary>
    private static QuantParams PerTensorOrChannel(OnnxNodeVector t, string what, OnnxTensor? scale, OnnxTensor? zeroPoint, int count)
    {
        foreach (OnnxTensor? p in new[] { scale, zeroPoint })
        {
            Require(p is null || p.Count == 1 || (p.Count == count && p.Dims[^1] == count), t,
                $"{what} parameter '{p?.Name}' [{p?.ShapeText}] is neither per-tensor nor per-channel over {count} channels");
        }

        return Params(scale, zeroPoint);
    }

    private static QuantParams Params(OnnxTensor? scale, OnnxTensor? zeroPoint)
    {
        float[] s = scale?.AsFloats() ?? [1f];
        int[] z = zeroPoint?.AsInts() ?? [0];
        if (s.Length == 1 && z.Length > 1)
        {
            s = Enumerable.Repeat(s[0], z.Length).ToArray();
        }
        else if (z.Length == 1 && s.Length > 1)
        {
            z = Enumerable.Repeat(z[0], s.Length).ToArray();
        }

        return new QuantParams(s, z);
    }

    private static void Shape(OnnxNodeVector t, long[] expected, long[] actual) =>
        Require(expected.SequenceEqual(actual), t, $"output shape [{string.Join(",", actual)}] differs from the vector's [{string.Join(",", expected)}]");

    private static void Require(bool condition, OnnxNodeVector t, string message)
    {
        if (!condition)
        {
            throw new NotSupportedException($"{t.Name}: {message}");
        }
    }
}
