using ChipKit.Core.Descriptors;
using ChipKit.Core.Reference;
using Onnx;

namespace ChipKit.Conformance.Tests;

/// <summary>
/// ONNX MatMulInteger, QLinearMatMul, ConvInteger and QLinearConv vectors against ChipKit's integer oracle
/// (QuantReference), bit-exact.
/// </summary>
[TestFixture]
public sealed class QuantOpConformanceTests
{
    [TestCaseSource(typeof(OnnxCases), nameof(OnnxCases.MatMulInteger))]
    public void MatMulInteger(string test)
    {
        var t = OnnxNodeTest.Load(test);
        Assert.That(t.OpType, Is.EqualTo("MatMulInteger"));
        t.RequireOnlyAttributes();

        // Inputs: A, B, a_zero_point (optional), b_zero_point (optional). Output int32.
        OnnxTensor a = t.RequiredInput(0, "A"), b = t.RequiredInput(1, "B");
        OnnxTensor y = t.SingleOutput();
        Assert.That(y.Type, Is.EqualTo(TensorProto.Types.DataType.Int32), $"{test}: output type");
        var plan = MatMulPlan.Create(a.Dims, b.Dims);
        Compare.Shape(test, y.Dims, plan.OutputShape);
        QuantParams aq = PerTensor(test, "a", null, t.Input(2));
        QuantParams bq = PerTensorOrChannel(test, "b", null, t.Input(3), plan.N);
        var d = new QGemmDesc(plan.M, plan.N, plan.K, EightBit(test, a), EightBit(test, b), DataType.S32,
            aq, bq, null, QuantOutput.Int32);
        Compare.Ints(test, y, RunBatches(d, plan, a.AsBytes8(), b.AsBytes8()));
    }

    [TestCaseSource(typeof(OnnxCases), nameof(OnnxCases.QLinearMatMul))]
    public void QLinearMatMul(string test)
    {
        var t = OnnxNodeTest.Load(test);
        Assert.That(t.OpType, Is.EqualTo("QLinearMatMul"));
        t.RequireOnlyAttributes();

        // Inputs: a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point.
        OnnxTensor a = t.RequiredInput(0, "a"), b = t.RequiredInput(3, "b");
        OnnxTensor y = t.SingleOutput();
        var plan = MatMulPlan.Create(a.Dims, b.Dims);
        Compare.Shape(test, y.Dims, plan.OutputShape);
        QuantParams aq = PerTensor(test, "a", t.RequiredInput(1, "a_scale"), t.Input(2));
        QuantParams bq = PerTensorOrChannel(test, "b", t.RequiredInput(4, "b_scale"), t.Input(5), plan.N);
        QuantParams yq = PerTensor(test, "y", t.RequiredInput(6, "y_scale"), t.Input(7));
        DataType yType = EightBit(test, y);
        var d = new QGemmDesc(plan.M, plan.N, plan.K, EightBit(test, a), EightBit(test, b), yType,
            aq, bq, yq, QuantOutput.Quantized);
        Compare.Ints(test, y, RunBatches(d, plan, a.AsBytes8(), b.AsBytes8()));
    }

    [TestCaseSource(typeof(OnnxCases), nameof(OnnxCases.ConvInteger))]
    public void ConvInteger(string test)
    {
        var t = OnnxNodeTest.Load(test);
        Assert.That(t.OpType, Is.EqualTo("ConvInteger"));

        // Inputs: x, w, x_zero_point (optional), w_zero_point (optional). Output int32.
        OnnxTensor x = t.RequiredInput(0, "x"), w = t.RequiredInput(1, "w");
        OnnxTensor y = t.SingleOutput();
        Assert.That(y.Type, Is.EqualTo(TensorProto.Types.DataType.Int32), $"{test}: output type");
        Conv2dDesc conv = ConvMapping.Geometry(t, x, w);
        Compare.Shape(test, y.Dims, ConvMapping.OutputShape(conv));
        var d = new QConv2dDesc(conv, EightBit(test, x), EightBit(test, w), DataType.S32,
            PerTensor(test, "x", null, t.Input(2)), PerTensorOrChannel(test, "w", null, t.Input(3), conv.K), null,
            HasBias: false, QuantOutput.Int32);
        Compare.Ints(test, y, QuantReference.Conv(d, x.AsBytes8(), w.AsBytes8(), []));
    }

    [TestCaseSource(typeof(OnnxCases), nameof(OnnxCases.QLinearConv))]
    public void QLinearConv(string test)
    {
        var t = OnnxNodeTest.Load(test);
        Assert.That(t.OpType, Is.EqualTo("QLinearConv"));

        // Inputs: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B (optional int32).
        OnnxTensor x = t.RequiredInput(0, "x"), w = t.RequiredInput(3, "w");
        OnnxTensor? bias = t.Input(8);
        OnnxTensor y = t.SingleOutput();
        Conv2dDesc conv = ConvMapping.Geometry(t, x, w);
        Compare.Shape(test, y.Dims, ConvMapping.OutputShape(conv));
        if (bias is not null)
        {
            Assert.That(bias.Type, Is.EqualTo(TensorProto.Types.DataType.Int32), $"{test}: bias type");
            Assert.That(bias.Dims, Is.EqualTo(new long[] { conv.K }), $"{test}: bias shape");
        }

        var d = new QConv2dDesc(conv, EightBit(test, x), EightBit(test, w), EightBit(test, y),
            PerTensor(test, "x", t.RequiredInput(1, "x_scale"), t.Input(2)),
            PerTensorOrChannel(test, "w", t.RequiredInput(4, "w_scale"), t.Input(5), conv.K),
            PerTensor(test, "y", t.RequiredInput(6, "y_scale"), t.Input(7)),
            HasBias: bias is not null, QuantOutput.Quantized);
        Compare.Ints(test, y, QuantReference.Conv(d, x.AsBytes8(), w.AsBytes8(), bias?.AsInts() ?? []));
    }

    /// <summary>Runs the 2-D QuantReference.Gemm once per (broadcast) batch and concatenates the outputs.</summary>
    private static int[] RunBatches(QGemmDesc d, MatMulPlan plan, byte[] a, byte[] b)
    {
        int mn = plan.M * plan.N;
        var y = new int[plan.Batches.Length * mn];
        foreach (var (ao, bo, yo) in plan.Batches)
        {
            QuantReference.Gemm(d, a.AsSpan(ao, plan.M * plan.K), b.AsSpan(bo, plan.K * plan.N)).CopyTo(y, yo);
        }

        return y;
    }

    private static DataType EightBit(string test, OnnxTensor t) => t.Type switch
    {
        TensorProto.Types.DataType.Uint8 => DataType.U8,
        TensorProto.Types.DataType.Int8 => DataType.S8,
        _ => throw new NotSupportedException($"{test}: tensor '{t.Name}' is {t.Type}; ChipKit's quantised descriptors take u8 or s8 only"),
    };

    /// <summary>
    /// Per-tensor parameters (A / X / Y side: ChipKit has no per-row A or per-tensor-element X parameters).
    /// An absent scale (the *Integer ops have none) is 1; an absent zero point is 0, as in ONNX.
    /// </summary>
    private static QuantParams PerTensor(string test, string what, OnnxTensor? scale, OnnxTensor? zeroPoint)
    {
        QuantParams q = Params(scale, zeroPoint);
        if (q.Count != 1)
        {
            Assert.Fail($"{test}: {what} has {q.Count} quantisation parameters; ChipKit's descriptors express only per-tensor " +
                $"{what} parameters (ONNX allows per-row a_zero_point / a_scale for the MatMul ops)");
        }

        return q;
    }

    /// <summary>Per-tensor, or per-channel along the output channel / column (count entries in the last dim).</summary>
    private static QuantParams PerTensorOrChannel(string test, string what, OnnxTensor? scale, OnnxTensor? zeroPoint, int count)
    {
        foreach (OnnxTensor? p in new[] { scale, zeroPoint })
        {
            if (p is not null && p.Count != 1 && (p.Count != count || p.Dims[^1] != count))
            {
                Assert.Fail($"{test}: {what} parameter '{p.Name}' [{p.ShapeText}] is neither per-tensor nor per-channel " +
                    $"over {count} channels; ChipKit's descriptors cannot express it (e.g. per-batch parameters)");
            }
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
}
