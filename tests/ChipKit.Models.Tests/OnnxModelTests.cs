using ChipKit.Core;
using ChipKit.Core.Descriptors;
using ChipKit.Models.Onnx;
using Google.Protobuf;
using Onnx;

namespace ChipKit.Models.Tests;

/// <summary>The ONNX quantised-model loader and executor on ChipKit's synthetic QLinear and QDQ models.</summary>
public class OnnxModelTests
{
    private static IEnumerable<OnnxTestSupport.Sample> Samples() => OnnxTestSupport.Samples();

    [TestCaseSource(nameof(Samples))]
    public void Sample_model_loads_with_the_expected_layers(OnnxTestSupport.Sample sample)
    {
        OnnxModel m = OnnxModel.Parse(sample.Bytes(), sample.Name + ".onnx");
        string[] ops = m.Layers.Select(l => l.Op).ToArray();
        string[] expected = sample.Qdq
            ?
            [
                "QuantizeLinear", "QDQ Conv+Relu (QLinearConv)", "DequantizeLinear", "MaxPool", "QuantizeLinear",
                "QDQ Conv (QLinearConv)", "QDQ Conv+Relu (QLinearConv)", "DequantizeLinear", "GlobalAveragePool", "Flatten",
                "QuantizeLinear", "QDQ MatMul (QLinearMatMul)", "QDQ Gemm (QLinearConv 1x1)", "DequantizeLinear", "Softmax",
            ]
            :
            [
                "QLinearConv", "MaxPool", "QLinearConv", "QLinearAdd", "QLinearConv", "DequantizeLinear", "Clip",
                "GlobalAveragePool", "Flatten", "QuantizeLinear", "QLinearMatMul", "DequantizeLinear", "Softmax",
            ];
        Assert.That(ops, Is.EqualTo(expected));
        Assert.That(m.Inputs.Single().ShapeText, Is.EqualTo("[1,3,12,12]"));
        Assert.That(m.Outputs.Single().ShapeText, Is.EqualTo("[1,10]"));
        var convs = m.Layers.OfType<QConvLayer>().ToArray();
        Assert.That(convs.Select(c => c.Desc.Conv.Groups), Is.EqualTo(sample.Qdq ? new[] { 1, 8, 1, 1 } : new[] { 1, 8, 1 }));
        Assert.That(convs.All(c => c.Desc.WQuant.IsPerTensor != sample.PerChannel), Is.True);
        Assert.That(convs[0].Desc.XType, Is.EqualTo(sample.Signed ? DataType.S8 : DataType.U8));
    }

    [TestCaseSource(nameof(Samples))]
    public void Cpu_is_bit_exact_with_ref_on_every_layer_output(OnnxTestSupport.Sample sample)
    {
        OnnxModel m = OnnxModel.Parse(sample.Bytes(), sample.Name + ".onnx");
        using var cpu = new OnnxSession(m, fast: true);
        using var rf = new OnnxSession(m, fast: false);
        Assert.That(cpu.Kernels.Where((k, i) => m.Layers[i].HasFastPath).All(k => k.StartsWith("cpu.q", StringComparison.Ordinal)), Is.True, string.Join(", ", cpu.Kernels));
        Assert.That(rf.Kernels.Where((k, i) => m.Layers[i].HasFastPath).All(k => k.StartsWith("ref.", StringComparison.Ordinal)), Is.True);
        for (int seed = 0; seed < 3; seed++)
        {
            OnnxTestSupport.RandomInputs(cpu, seed);
            OnnxTestSupport.CopyInputs(cpu, rf);
            cpu.Invoke();
            rf.Invoke();
            foreach (OnnxLayer l in m.Layers)
            {
                byte[] a = cpu.Tensor(l.Output.Name).Raw.ToArray(), b = rf.Tensor(l.Output.Name).Raw.ToArray();
                Assert.That(a, Is.EqualTo(b), $"seed {seed}: {l}");
            }

            // the data is not degenerate: every quantised conv/matmul output takes many values, few saturate
            foreach (OnnxLayer l in m.Layers.Where(l => l.HasFastPath))
            {
                OnnxBuffer y = rf.Tensor(l.Output.Name);
                int distinct = Enumerable.Range(0, y.Count).Select(i => y[i]).Distinct().Count();
                Assert.That(distinct, Is.GreaterThanOrEqualTo(Math.Min(8, y.Count / 2)), $"{l}: only {distinct} distinct values");
            }

            float[] p = rf.Outputs[0].Floats!;
            Assert.That(p.Sum(), Is.EqualTo(1f).Within(1e-5f));
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Cpu_invoke_allocates_nothing(bool qdq)
    {
        OnnxModel m = OnnxModel.Parse(qdq ? OnnxSampleModels.Qdq(true, true) : OnnxSampleModels.QLinear(false, true), "m.onnx");
        using var s = new OnnxSession(m, fast: true);
        OnnxTestSupport.RandomInputs(s, 1);
        for (int i = 0; i < 5; i++)
        {
            s.Invoke();
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++)
        {
            s.Invoke();
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(allocated, Is.Zero);
        Assert.That(s.LayerSeconds(), Has.Length.EqualTo(m.Layers.Count));
        Assert.That(s.LayerSeconds().Sum(), Is.GreaterThan(0));
    }

    [Test]
    public void QLinearMatMul_matches_a_hand_computed_value()
    {
        // a = [10, 20] (u8, zp 2, scale 0.5); b = [[3], [4]] (s8, zp 0, scale 0.25); y scale 0.125, zp 5
        // acc = (10-2)*3 + (20-2)*4 = 96; 96 * 0.5 * 0.25 / 0.125 = 96 -> 96 + 5 = 101
        // second column b = [[1], [-1]]: acc = 8 - 18 = -10 -> -10 + 5 = -5 -> saturates to 0 (u8)
        var g = new OnnxGraphWriter();
        g.Input("a", OnnxElem.U8, 1, 2);
        g.Node("QLinearMatMul", ["a", g.Scalar("as", 0.5f), g.ZeroPoint("az", OnnxElem.U8, 2), g.Const("b", OnnxElem.S8, [2, 2], new byte[] { 3, 1, 4, unchecked((byte)-1) }),
            g.Scalar("bs", 0.25f), g.ZeroPoint("bz", OnnxElem.S8, 0), g.Scalar("ys", 0.125f), g.ZeroPoint("yz", OnnxElem.U8, 5)], "y");
        g.Output("y", OnnxElem.U8, 1, 2);
        OnnxModel m = OnnxModel.Parse(g.ToBytes(), "hand.onnx");
        foreach (bool fast in new[] { true, false })
        {
            using var s = new OnnxSession(m, fast);
            s.Inputs[0].Bytes![0] = 10;
            s.Inputs[0].Bytes![1] = 20;
            s.Invoke();
            Assert.That(s.Outputs[0].Bytes, Is.EqualTo(new byte[] { 101, 0 }));
        }
    }

    [Test]
    public void Requantisation_ties_round_half_to_even()
    {
        // acc = x - zp; multiplier 0.5: acc 1 -> 0.5 -> 0, acc 3 -> 1.5 -> 2, acc 5 -> 2.5 -> 2, acc -3 -> -1.5 -> -2
        var g = new OnnxGraphWriter();
        g.Input("x", OnnxElem.S8, 1, 1, 1, 4);
        g.Node("QLinearConv", ["x", g.Scalar("xs", 1f), g.ZeroPoint("xz", OnnxElem.S8, 0), g.Const("w", OnnxElem.S8, [1, 1, 1, 1], new byte[] { 1 }),
            g.Scalar("ws", 1f), g.ZeroPoint("wz", OnnxElem.S8, 0), g.Scalar("ys", 2f), g.ZeroPoint("yz", OnnxElem.S8, 0)], "y");
        g.Output("y", OnnxElem.S8, 1, 1, 1, 4);
        OnnxModel m = OnnxModel.Parse(g.ToBytes(), "ties.onnx");
        foreach (bool fast in new[] { true, false })
        {
            using var s = new OnnxSession(m, fast);
            new byte[] { 1, 3, 5, unchecked((byte)-3) }.CopyTo(s.Inputs[0].Bytes!, 0);
            s.Invoke();
            Assert.That(s.Outputs[0].Bytes!.Select(b => (int)(sbyte)b), Is.EqualTo(new[] { 0, 2, 2, -2 }));
        }
    }

    [TestCase(false, false)]
    [TestCase(true, true)]
    public void A_folded_qdq_conv_equals_the_same_qlinearconv(bool signed, bool relu)
    {
        var rng = new Random(3);
        OnnxElem t = signed ? OnnxElem.S8 : OnnxElem.U8;
        var w = new byte[4 * 2 * 3 * 3];
        rng.NextBytes(w);
        int[] bias = [100, -200, 300, -400];
        float[] ws = [0.01f, 0.02f, 0.015f, 0.005f];
        byte[] wz = signed ? new byte[4] : [120, 130, 128, 127];
        int yz = signed ? -3 : 131;

        var q = new OnnxGraphWriter();
        q.Input("x", t, 1, 2, 5, 5);
        q.Node("QLinearConv", ["x", q.Scalar("xs", 0.05f), q.ZeroPoint("xz", t, 7), q.Const("w", t, [4, 2, 3, 3], w), q.Const("ws", OnnxElem.F32, [4], ws),
            q.Const("wz", t, [4], wz), q.Scalar("ys", 0.3f), q.ZeroPoint("yz", t, yz), q.Const("b", OnnxElem.S32, [4], bias)], "y", ("pads", new long[] { 1, 0, 1, 2 }), ("strides", new long[] { 2, 1 }));
        q.Output("y", t);

        var d = new OnnxGraphWriter();
        d.Input("x", t, 1, 2, 5, 5);
        string xd = d.Node("DequantizeLinear", ["x", d.Scalar("xs", 0.05f), d.ZeroPoint("xz", t, 7)], "xd");
        string wd = d.Node("DequantizeLinear", [d.Const("w", t, [4, 2, 3, 3], w), d.Const("ws", OnnxElem.F32, [4], ws), d.Const("wz", t, [4], wz)], "wd", ("axis", 0L));
        string bd = d.Node("DequantizeLinear", [d.Const("b", OnnxElem.S32, [4], bias), d.Const("bs", OnnxElem.F32, [4], ws.Select(s => s * 0.05f).ToArray())], "bd", ("axis", 0L));
        string c = d.Node("Conv", [xd, wd, bd], "c", ("pads", new long[] { 1, 0, 1, 2 }), ("strides", new long[] { 2, 1 }));
        if (relu)
        {
            c = d.Node("Relu", [c], "r");
        }

        d.Node("QuantizeLinear", [c, d.Scalar("ys", 0.3f), d.ZeroPoint("yz", t, yz)], "y");
        d.Output("y", t);

        OnnxModel mq = OnnxModel.Parse(q.ToBytes(), "q.onnx"), md = OnnxModel.Parse(d.ToBytes(), "d.onnx");
        Assert.That(md.Layers.Single().Op, Is.EqualTo(relu ? "QDQ Conv+Relu (QLinearConv)" : "QDQ Conv (QLinearConv)"));
        using var sq = new OnnxSession(mq);
        using var sd = new OnnxSession(md);
        OnnxTestSupport.RandomInputs(sq, 5);
        OnnxTestSupport.CopyInputs(sq, sd);
        sq.Invoke();
        sd.Invoke();
        byte[] expected = sq.Outputs[0].Bytes!.ToArray();
        if (relu)
        {
            for (int i = 0; i < expected.Length; i++)
            {
                expected[i] = signed ? (byte)Math.Max((sbyte)expected[i], yz) : Math.Max(expected[i], (byte)yz);
            }
        }

        Assert.That(sd.Outputs[0].Bytes, Is.EqualTo(expected));
        Assert.That(sq.Outputs[0].Bytes!.Distinct().Count(), Is.GreaterThan(10));
    }

    [Test]
    public void A_symbolic_batch_dimension_is_fixed_to_1_with_a_note()
    {
        ModelProto p = OnnxTestSupport.Proto(OnnxSampleModels.QLinear(false, false));
        p.Graph.Input[0].Type.TensorType.Shape.Dim[0] = new TensorShapeProto.Types.Dimension { DimParam = "N" };
        OnnxModel m = OnnxModel.Parse(p.ToByteArray(), "sym.onnx");
        Assert.That(m.Notes, Has.Some.Contains("symbolic batch dimension 'N' fixed to 1"));
        Assert.That(m.Inputs[0].Shape, Is.EqualTo(new[] { 1, 3, 12, 12 }));
    }

    private static ChipKitInputException Refused(ModelProto p, string file = "bad.onnx") =>
        Assert.Throws<ChipKitInputException>(() => OnnxModel.Parse(p.ToByteArray(), file))!;

    [Test]
    public void A_symbolic_spatial_dimension_is_refused()
    {
        ModelProto p = OnnxTestSupport.Proto(OnnxSampleModels.QLinear(false, false));
        p.Graph.Input[0].Type.TensorType.Shape.Dim[2] = new TensorShapeProto.Types.Dimension { DimParam = "H" };
        Assert.That(Refused(p).Message, Is.EqualTo("bad.onnx: graph input 'x', field shape: dimension 2 is symbolic ('H'); ChipKit needs static shapes (only a symbolic batch dimension 0 is fixed to 1)"));
    }

    [Test]
    public void An_unsupported_operator_is_refused_with_its_location()
    {
        ModelProto p = OnnxTestSupport.Proto(OnnxSampleModels.QLinear(false, false));
        p.Graph.Node[6].OpType = "Sigmoid";
        Assert.That(Refused(p).Message, Does.StartWith("bad.onnx: node 6 ('clip_6', Sigmoid): operator Sigmoid is not supported"));
        p.Graph.Node[6].OpType = "Clip\0\n";
        Assert.That(Refused(p).Message, Does.StartWith("bad.onnx: node 6 ('clip_6', Clip\\u0000\\u000a): operator Clip\\u0000\\u000a is not supported"), "control characters are escaped");
    }

    [Test]
    public void An_unknown_attribute_is_refused()
    {
        ModelProto p = OnnxTestSupport.Proto(OnnxSampleModels.QLinear(true, true));
        p.Graph.Node[0].Attribute.Add(new AttributeProto { Name = "activation", Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8("relu") });
        Assert.That(Refused(p).Message, Does.StartWith("bad.onnx: node 0 ('qlinearconv_0', QLinearConv), field attribute activation: not supported for QLinearConv"));
    }

    [Test]
    public void A_bad_attribute_value_is_refused()
    {
        ModelProto p = OnnxTestSupport.Proto(OnnxSampleModels.QLinear(true, true));
        p.Graph.Node[1].Attribute.Single(a => a.Name == "strides").Ints[0] = 0;
        Assert.That(Refused(p).Message, Is.EqualTo("bad.onnx: node 1 ('maxpool_1', MaxPool), field attribute strides: 0 must be in [1, 2147483647]"));
        p = OnnxTestSupport.Proto(OnnxSampleModels.QLinear(true, true));
        p.Graph.Node[2].Attribute.Single(a => a.Name == "group").I = 3;
        Assert.That(Refused(p).Message, Does.StartWith("bad.onnx: node 2 ('qlinearconv_2', QLinearConv), field w: weights [8,1,3,3] with group 3 need C = 3"));
    }

    [Test]
    public void A_dangling_tensor_name_is_refused()
    {
        ModelProto p = OnnxTestSupport.Proto(OnnxSampleModels.QLinear(false, true));
        p.Graph.Node[3].Input[3] = "nowhere";
        Assert.That(Refused(p).Message, Is.EqualTo("bad.onnx: node 3 ('qlinearadd_3', QLinearAdd), field B: tensor 'nowhere' is not a graph input, an initializer or the output of an earlier node"));
    }

    [Test]
    public void Hostile_initializer_sizes_are_refused_before_allocation()
    {
        ModelProto p = OnnxTestSupport.Proto(OnnxSampleModels.QLinear(false, false));
        TensorProto w = p.Graph.Initializer.Single(t => t.Name == "c1_w");
        w.Dims.Clear();
        w.Dims.AddRange([1L << 20, 1L << 20]);
        Assert.That(Refused(p).Message, Does.StartWith("bad.onnx: initializer 'c1_w', field dims: [1048576,1048576] has more than"));
        w.Dims.Clear();
        w.Dims.AddRange([8, 3, 3, 4]);
        Assert.That(Refused(p).Message, Is.EqualTo("bad.onnx: initializer 'c1_w', field raw_data: holds 216 bytes; dims need 288 x 1 = 288"));
    }

    [Test]
    public void An_output_shape_whose_element_count_overflows_is_refused()
    {
        // pads of 2^29 on the 2x2 / stride 2 max pool of a 12x12 map: P = Q = 2^29 + 6, N*C*P*Q is about 2^61 (more than int, near long's limit)
        ModelProto p = OnnxTestSupport.Proto(OnnxSampleModels.QLinear(false, false));
        AttributeProto pads = new() { Name = "pads", Type = AttributeProto.Types.AttributeType.Ints };
        pads.Ints.AddRange([1L << 29, 1L << 29, 1L << 29, 1L << 29]);
        p.Graph.Node[1].Attribute.Add(pads);
        Assert.That(Refused(p).Message, Does.StartWith("bad.onnx: node 1 ('maxpool_1', MaxPool), field output: tensor 'p1' [1,8,536870918,536870918] would have more than"));
    }

    [Test]
    public void A_model_over_the_memory_budget_is_refused_before_allocation()
    {
        long saved = Check.MemoryLimitBytes;
        try
        {
            Check.MemoryLimitBytes = 20_000;
            var e = Assert.Throws<ChipKitInputException>(() => OnnxModel.Parse(OnnxSampleModels.QLinear(false, false), "big.onnx"));
            Assert.That(e!.Message, Does.StartWith("big.onnx: running this model needs about"));
        }
        finally
        {
            Check.MemoryLimitBytes = saved;
        }
    }

    [Test]
    public void Malformed_bytes_and_wrong_opsets_are_refused()
    {
        byte[] good = OnnxSampleModels.QLinear(false, false);
        var e = Assert.Throws<ChipKitInputException>(() => OnnxModel.Parse(good[..(good.Length / 2)], "cut.onnx"));
        Assert.That(e!.Message, Does.StartWith("cut.onnx: not a valid ONNX model (protobuf)"));
        ModelProto p = OnnxTestSupport.Proto(good);
        p.OpsetImport[0].Version = 9;
        Assert.That(Refused(p).Message, Is.EqualTo("bad.onnx: opset_import: default-domain opset 9 is not supported; expected 10 to 25"));
    }

    [Test]
    public void A_float_conv_outside_a_qdq_group_is_refused_with_the_reason()
    {
        ModelProto p = OnnxTestSupport.Proto(OnnxSampleModels.Qdq(false, false));
        // make the first conv's output a graph output too: the group cannot fold
        p.Graph.Output.Add(new ValueInfoProto { Name = p.Graph.Node.First(n => n.OpType == "Conv").Output[0] });
        string msg = Refused(p).Message;
        Assert.That(msg, Does.Contain("Conv), field op_type: a float op runs only as part of a QDQ group"));
        Assert.That(msg, Does.Contain("is not consumed only by a QuantizeLinear"));
    }

    [Test]
    public void A_qdq_bias_with_the_wrong_scale_is_refused()
    {
        ModelProto p = OnnxTestSupport.Proto(OnnxSampleModels.Qdq(false, false));
        TensorProto bs = p.Graph.Initializer.Single(t => t.Name == "c1_b_scale");
        bs.RawData = ByteString.CopyFrom(BitConverter.GetBytes(1f));
        Assert.That(Refused(p).Message, Does.Contain("field x_scale: the bias scale 1 of channel 0 is not x_scale * w_scale"));
    }
}
