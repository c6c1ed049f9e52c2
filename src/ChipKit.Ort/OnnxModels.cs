using System.Runtime.InteropServices;
using ChipKit.Core.Descriptors;
using ChipKit.Core.Workloads;
using Google.Protobuf;
using Onnx;

namespace ChipKit.Ort;

/// <summary>
/// Builds the single-op ONNX models the <c>ort</c> device runs, with OnnxSharp's generated ONNX messages. The
/// activation (A or X) is the only graph input; weights, bias, C and every quantisation parameter are initializers,
/// so ONNX Runtime can pre-pack them at session creation, as a deployed model is run.
/// </summary>
public static class OnnxModels
{
    /// <summary>The opset the models import (QLinear ops since 10, Gemm/Conv/MatMul semantics as in 13).</summary>
    public const int Opset = 13;

    public const string Input = "x";
    public const string Output = "y";

    /// <summary>A model and the ONNX op (or ops) it holds.</summary>
    public sealed record Built(byte[] Bytes, string OpName, long[] InputShape, long[] OutputShape);

    /// <summary>True when the gemm needs ONNX Gemm (a transpose, alpha or beta); plain products use MatMul.</summary>
    public static bool NeedsGemm(GemmDesc d) => d.TransA || d.TransB || d.Alpha != 1f || d.Beta != 0f;

    public static Built Gemm(GemmData data)
    {
        GemmDesc d = data.Desc;
        long[] aShape = d.TransA ? [d.K, d.M] : [d.M, d.K];
        long[] bShape = d.TransB ? [d.N, d.K] : [d.K, d.N];
        var g = new GraphProto { Name = "chipkit_gemm" };
        g.Initializer.Add(Tensor("b", TensorProto.Types.DataType.Float, bShape, MemoryMarshal.AsBytes(data.B.AsSpan())));
        NodeProto node;
        string op;
        if (!NeedsGemm(d))
        {
            op = "MatMul";
            node = Node(op, [Input, "b"]);
        }
        else
        {
            op = "Gemm";
            var inputs = new List<string> { Input, "b" };
            if (d.Beta != 0f)
            {
                g.Initializer.Add(Tensor("c", TensorProto.Types.DataType.Float, [d.M, d.N], MemoryMarshal.AsBytes(data.C!.AsSpan())));
                inputs.Add("c");
            }

            node = Node(op, inputs);
            node.Attribute.Add(IntAttr("transA", d.TransA ? 1 : 0));
            node.Attribute.Add(IntAttr("transB", d.TransB ? 1 : 0));
            node.Attribute.Add(FloatAttr("alpha", d.Alpha));
            node.Attribute.Add(FloatAttr("beta", d.Beta));
        }

        g.Node.Add(node);
        long[] yShape = [d.M, d.N];
        g.Input.Add(Value(Input, TensorProto.Types.DataType.Float, aShape));
        g.Output.Add(Value(Output, TensorProto.Types.DataType.Float, yShape));
        return new Built(Serialize(g), op, aShape, yShape);
    }

    public static Built Conv(ConvData data, bool hasBias)
    {
        Conv2dDesc d = data.Desc;
        RequireNchw(d);
        var g = new GraphProto { Name = "chipkit_conv" };
        g.Initializer.Add(Tensor("w", TensorProto.Types.DataType.Float, WeightShape(d), MemoryMarshal.AsBytes(data.W.AsSpan())));
        var inputs = new List<string> { Input, "w" };
        if (hasBias)
        {
            g.Initializer.Add(Tensor("bias", TensorProto.Types.DataType.Float, [d.K], MemoryMarshal.AsBytes(data.Bias!.AsSpan())));
            inputs.Add("bias");
        }

        NodeProto node = Node("Conv", inputs);
        AddConvAttributes(node, d);
        g.Node.Add(node);
        long[] xShape = InputShape(d), yShape = OutputShape(d);
        g.Input.Add(Value(Input, TensorProto.Types.DataType.Float, xShape));
        g.Output.Add(Value(Output, TensorProto.Types.DataType.Float, yShape));
        return new Built(Serialize(g), "Conv", xShape, yShape);
    }

    public static Built QGemm(QGemmData data)
    {
        QGemmDesc d = data.Desc;
        var g = new GraphProto { Name = "chipkit_qgemm" };
        TensorProto.Types.DataType at = Elem(d.AType), bt = Elem(d.BType);
        g.Initializer.Add(Tensor("b", bt, [d.K, d.N], data.B));
        g.Initializer.Add(ZeroPoints("a_zp", at, d.AQuant, false));
        g.Initializer.Add(ZeroPoints("b_zp", bt, d.BQuant, !d.BQuant.IsPerTensor));
        string op;
        NodeProto node;
        if (d.Output == QuantOutput.Int32)
        {
            op = "MatMulInteger";
            node = Node(op, [Input, "b", "a_zp", "b_zp"]);
        }
        else
        {
            op = "QLinearMatMul";
            g.Initializer.Add(Scales("a_scale", d.AQuant, false));
            g.Initializer.Add(Scales("b_scale", d.BQuant, !d.BQuant.IsPerTensor));
            g.Initializer.Add(Scales("y_scale", d.YQuant!, false));
            g.Initializer.Add(ZeroPoints("y_zp", Elem(d.YType), d.YQuant!, false));
            node = Node(op, [Input, "a_scale", "a_zp", "b", "b_scale", "b_zp", "y_scale", "y_zp"]);
        }

        g.Node.Add(node);
        long[] aShape = [d.M, d.K], yShape = [d.M, d.N];
        g.Input.Add(Value(Input, at, aShape));
        g.Output.Add(Value(Output, Elem(d.YType), yShape));
        return new Built(Serialize(g), op, aShape, yShape);
    }

    /// <summary>
    /// QLinearConv, or ConvInteger for an int32 output. ONNX's ConvInteger has no bias input, so an int32 conv with a
    /// bias is ConvInteger followed by an int32 Add of the bias broadcast as [1,K,1,1] (two nodes).
    /// </summary>
    public static Built QConv(QConvData data)
    {
        QConv2dDesc q = data.Desc;
        Conv2dDesc d = q.Conv;
        RequireNchw(d);
        var g = new GraphProto { Name = "chipkit_qconv" };
        TensorProto.Types.DataType xt = Elem(q.XType), wt = Elem(q.WType);
        g.Initializer.Add(Tensor("w", wt, WeightShape(d), data.W));
        g.Initializer.Add(ZeroPoints("x_zp", xt, q.XQuant, false));
        g.Initializer.Add(ZeroPoints("w_zp", wt, q.WQuant, !q.WQuant.IsPerTensor));
        string op;
        if (q.Output == QuantOutput.Int32)
        {
            op = "ConvInteger";
            NodeProto conv = Node(op, [Input, "w", "x_zp", "w_zp"], q.HasBias ? "acc" : Output);
            AddConvAttributes(conv, d);
            g.Node.Add(conv);
            if (q.HasBias)
            {
                op = "ConvInteger+Add";
                g.Initializer.Add(Tensor("bias", TensorProto.Types.DataType.Int32, [1, d.K, 1, 1], MemoryMarshal.AsBytes(data.Bias!.AsSpan())));
                g.Node.Add(Node("Add", ["acc", "bias"], Output));
            }
        }
        else
        {
            op = "QLinearConv";
            g.Initializer.Add(Scales("x_scale", q.XQuant, false));
            g.Initializer.Add(Scales("w_scale", q.WQuant, !q.WQuant.IsPerTensor));
            g.Initializer.Add(Scales("y_scale", q.YQuant!, false));
            g.Initializer.Add(ZeroPoints("y_zp", Elem(q.YType), q.YQuant!, false));
            var inputs = new List<string> { Input, "x_scale", "x_zp", "w", "w_scale", "w_zp", "y_scale", "y_zp" };
            if (q.HasBias)
            {
                g.Initializer.Add(Tensor("bias", TensorProto.Types.DataType.Int32, [d.K], MemoryMarshal.AsBytes(data.Bias!.AsSpan())));
                inputs.Add("bias");
            }

            NodeProto conv = Node(op, inputs);
            AddConvAttributes(conv, d);
            g.Node.Add(conv);
        }

        long[] xShape = InputShape(d), yShape = OutputShape(d);
        g.Input.Add(Value(Input, xt, xShape));
        g.Output.Add(Value(Output, Elem(q.YType), yShape));
        return new Built(Serialize(g), op, xShape, yShape);
    }

    public static TensorProto.Types.DataType Elem(DataType t) => t switch
    {
        DataType.F32 => TensorProto.Types.DataType.Float,
        DataType.U8 => TensorProto.Types.DataType.Uint8,
        DataType.S8 => TensorProto.Types.DataType.Int8,
        DataType.S32 => TensorProto.Types.DataType.Int32,
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    private static void RequireNchw(Conv2dDesc d)
    {
        if (d.Layout != TensorLayout.Nchw)
        {
            throw new NotSupportedException("ONNX Conv takes NCHW activations; NHWC workloads are not run on ort");
        }
    }

    private static long[] InputShape(Conv2dDesc d) => [d.N, d.C, d.H, d.W];

    private static long[] OutputShape(Conv2dDesc d) => [d.N, d.K, d.P, d.Q];

    private static long[] WeightShape(Conv2dDesc d) => [d.K, d.Cg, d.R, d.S];

    private static void AddConvAttributes(NodeProto node, Conv2dDesc d)
    {
        node.Attribute.Add(IntsAttr("kernel_shape", d.R, d.S));
        node.Attribute.Add(IntsAttr("pads", d.PadTop, d.PadLeft, d.PadBottom, d.PadRight));
        node.Attribute.Add(IntsAttr("strides", d.StrideH, d.StrideW));
        node.Attribute.Add(IntsAttr("dilations", d.DilationH, d.DilationW));
        node.Attribute.Add(IntAttr("group", d.Groups));
    }

    private static TensorProto ZeroPoints(string name, TensorProto.Types.DataType type, QuantParams q, bool vector)
    {
        byte[] raw = type == TensorProto.Types.DataType.Int8
            ? q.ZeroPoints.Select(z => unchecked((byte)(sbyte)z)).ToArray()
            : q.ZeroPoints.Select(z => (byte)z).ToArray();
        return Tensor(name, type, vector ? [q.Count] : [], vector ? raw : raw.AsSpan(0, 1));
    }

    private static TensorProto Scales(string name, QuantParams q, bool vector) =>
        Tensor(name, TensorProto.Types.DataType.Float, vector ? [q.Count] : [], MemoryMarshal.AsBytes(vector ? q.Scales.AsSpan() : q.Scales.AsSpan(0, 1)));

    private static TensorProto Tensor(string name, TensorProto.Types.DataType type, long[] dims, ReadOnlySpan<byte> raw)
    {
        var t = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(raw) };
        t.Dims.AddRange(dims);
        return t;
    }

    private static NodeProto Node(string op, IEnumerable<string> inputs, string output = Output)
    {
        var n = new NodeProto { OpType = op, Name = op.ToLowerInvariant() };
        n.Input.AddRange(inputs);
        n.Output.Add(output);
        return n;
    }

    private static AttributeProto IntAttr(string name, long v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = v };

    private static AttributeProto FloatAttr(string name, float v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = v };

    private static AttributeProto IntsAttr(string name, params long[] v)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(v);
        return a;
    }

    private static ValueInfoProto Value(string name, TensorProto.Types.DataType type, long[] shape)
    {
        var s = new TensorShapeProto();
        foreach (long dim in shape)
        {
            s.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = dim });
        }

        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = s } },
        };
    }

    private static byte[] Serialize(GraphProto g)
    {
        var m = new ModelProto { IrVersion = 8, ProducerName = "chipkit", Graph = g };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        return m.ToByteArray();
    }
}
