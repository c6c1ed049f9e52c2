using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace ChipKit.Models.Onnx;

/// <summary>
/// Builds ONNX models in memory with OnnxSharp's generated messages: graph inputs, initializers, nodes with
/// attributes, outputs. Used for ChipKit's synthetic quantised test models (<see cref="OnnxSampleModels"/>) and by
/// the tests and fuzzers to construct and mutate graphs.
/// </summary>
public sealed class OnnxGraphWriter
{
    private readonly GraphProto _g = new() { Name = "chipkit" };
    private int _nodes;

    /// <param name="opset">Default-domain opset to import.</param>
    /// <param name="microsoft">Also import com.microsoft (for QLinearAdd).</param>
    public OnnxGraphWriter(int opset = 13, bool microsoft = false)
    {
        Model = new ModelProto { IrVersion = 8, ProducerName = "chipkit", Graph = _g };
        Model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        if (microsoft)
        {
            Model.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.microsoft", Version = 1 });
        }
    }

    public ModelProto Model { get; }

    public string Input(string name, OnnxElem type, params int[] shape)
    {
        _g.Input.Add(Value(name, type, shape));
        return name;
    }

    public void Output(string name, OnnxElem type, params int[] shape) => _g.Output.Add(Value(name, type, shape));

    /// <summary>An initializer from byte[] (uint8/int8 bits), float[], int[] or long[] data.</summary>
    public string Const(string name, OnnxElem type, int[] shape, Array data)
    {
        byte[] raw = data switch
        {
            byte[] b => b,
            float[] f => MemoryMarshal.AsBytes(f.AsSpan()).ToArray(),
            int[] i => MemoryMarshal.AsBytes(i.AsSpan()).ToArray(),
            long[] l => MemoryMarshal.AsBytes(l.AsSpan()).ToArray(),
            _ => throw new ArgumentException($"unsupported data {data.GetType().Name}", nameof(data)),
        };
        var t = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(raw) };
        t.Dims.AddRange(shape.Select(d => (long)d));
        _g.Initializer.Add(t);
        return name;
    }

    public string Scalar(string name, float v) => Const(name, OnnxElem.F32, [], new[] { v });

    /// <summary>A scalar zero point of an 8-bit type.</summary>
    public string ZeroPoint(string name, OnnxElem type, int zp) => Const(name, type, [], new[] { unchecked((byte)zp) });

    /// <summary>Adds a node; attributes are long, float, string or long[] values.</summary>
    public string Node(string op, string[] inputs, string output, params (string Name, object Value)[] attributes) =>
        NodeIn("", op, inputs, output, attributes);

    public string NodeIn(string domain, string op, string[] inputs, string output, params (string Name, object Value)[] attributes)
    {
        var n = new NodeProto { OpType = op, Name = $"{op.ToLowerInvariant()}_{_nodes++}", Domain = domain };
        n.Input.AddRange(inputs);
        n.Output.Add(output);
        foreach ((string name, object value) in attributes)
        {
            var a = new AttributeProto { Name = name };
            switch (value)
            {
                case long l:
                    a.Type = AttributeProto.Types.AttributeType.Int;
                    a.I = l;
                    break;
                case int i:
                    a.Type = AttributeProto.Types.AttributeType.Int;
                    a.I = i;
                    break;
                case float f:
                    a.Type = AttributeProto.Types.AttributeType.Float;
                    a.F = f;
                    break;
                case string s:
                    a.Type = AttributeProto.Types.AttributeType.String;
                    a.S = ByteString.CopyFromUtf8(s);
                    break;
                case long[] ls:
                    a.Type = AttributeProto.Types.AttributeType.Ints;
                    a.Ints.AddRange(ls);
                    break;
                default:
                    throw new ArgumentException($"attribute {name}: unsupported value {value.GetType().Name}", nameof(attributes));
            }

            n.Attribute.Add(a);
        }

        _g.Node.Add(n);
        return output;
    }

    public byte[] ToBytes() => Model.ToByteArray();

    private static ValueInfoProto Value(string name, OnnxElem type, int[] shape)
    {
        var s = new TensorShapeProto();
        foreach (int d in shape)
        {
            s.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        }

        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = s } },
        };
    }
}
