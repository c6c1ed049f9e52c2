using System.Buffers.Binary;
using Google.Protobuf;
using Onnx;

namespace ChipKit.Onnx;

/// <summary>
/// One ONNX backend node test folder (onnx-node/&lt;name&gt;/): the single node of model.onnx, its attributes,
/// and the TensorProtos of test_data_set_0, all parsed with OnnxSharp's generated ONNX messages (Google.Protobuf).
/// </summary>
public sealed class OnnxNodeVector
{
    private readonly Dictionary<string, OnnxTensor> _byName;

    private OnnxNodeVector(string name, NodeProto node, IReadOnlyList<OnnxTensor> inputs, IReadOnlyList<OnnxTensor> outputs)
    {
        Name = name;
        Node = node;
        Inputs = inputs;
        Outputs = outputs;
        _byName = inputs.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    public string Name { get; }

    public NodeProto Node { get; }

    public string OpType => Node.OpType;

    /// <summary>Graph inputs in graph.input order (input_&lt;i&gt;.pb).</summary>
    public IReadOnlyList<OnnxTensor> Inputs { get; }

    /// <summary>Expected graph outputs (output_&lt;j&gt;.pb).</summary>
    public IReadOnlyList<OnnxTensor> Outputs { get; }

    /// <summary>Folder holding the copied test vectors in the test output directory.</summary>
    public static string Root => Path.Combine(AppContext.BaseDirectory, "onnx-node");

    /// <summary>Names of all test folders (those with a model.onnx), sorted.</summary>
    public static IReadOnlyList<string> AllNames()
    {
        if (!Directory.Exists(Root))
        {
            throw new DirectoryNotFoundException($"ONNX test vectors not found at {Root} (are they copied to the output directory?)");
        }

        return Directory.GetDirectories(Root)
            .Where(d => File.Exists(Path.Combine(d, "model.onnx")))
            .Select(Path.GetFileName)
            .OfType<string>()
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>op_type of the single node in a test's model.onnx.</summary>
    public static string ReadOpType(string name) => ReadNode(Path.Combine(Root, name)).OpType;

    public static OnnxNodeVector Load(string name)
    {
        string dir = Path.Combine(Root, name);
        NodeProto node = ReadNode(dir);
        string data = Path.Combine(dir, "test_data_set_0");
        return new OnnxNodeVector(name, node, ReadTensors(data, "input_"), ReadTensors(data, "output_"));
    }

    /// <summary>The tensor fed to node input <paramref name="index"/>, or null when the optional input is absent.</summary>
    public OnnxTensor? Input(int index)
    {
        if (index >= Node.Input.Count || Node.Input[index].Length == 0)
        {
            return null;
        }

        string name = Node.Input[index];
        return _byName.TryGetValue(name, out OnnxTensor? t)
            ? t
            : throw new InvalidOperationException($"{Name}: node input '{name}' has no data file (initializers are not supported)");
    }

    public OnnxTensor RequiredInput(int index, string what) =>
        Input(index) ?? throw new InvalidOperationException($"{Name}: required input {index} ({what}) is missing");

    public OnnxTensor SingleOutput()
    {
        if (Outputs.Count != 1)
        {
            throw new InvalidOperationException($"{Name}: expected one output, found {Outputs.Count}");
        }

        return Outputs[0];
    }

    public AttributeProto? Attribute(string name) => Node.Attribute.FirstOrDefault(a => a.Name == name);

    public long Int(string name, long fallback) => Attribute(name)?.I ?? fallback;

    public float Float(string name, float fallback) => Attribute(name)?.F ?? fallback;

    public string String(string name, string fallback) => Attribute(name) is { } a ? a.S.ToStringUtf8() : fallback;

    public long[]? Ints(string name) => Attribute(name)?.Ints.ToArray();

    /// <summary>Fails when the node has an attribute this mapping does not know, so nothing is ignored silently.</summary>
    public void RequireOnlyAttributes(params string[] known)
    {
        string[] unknown = Node.Attribute.Select(a => a.Name).Where(n => !known.Contains(n)).ToArray();
        if (unknown.Length > 0)
        {
            throw new NotSupportedException($"{Name}: attribute(s) {string.Join(", ", unknown)} of {OpType} are not mapped onto ChipKit's descriptors");
        }
    }

    private static NodeProto ReadNode(string dir)
    {
        ModelProto model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(dir, "model.onnx")));
        if (model.Graph.Node.Count != 1)
        {
            throw new InvalidOperationException($"{dir}: expected a single-node graph, found {model.Graph.Node.Count} nodes");
        }

        NodeProto node = model.Graph.Node[0];
        if (node.Domain.Length != 0 && node.Domain != "ai.onnx")
        {
            throw new NotSupportedException($"{dir}: node domain '{node.Domain}' is not the default ONNX domain");
        }

        return node;
    }

    private static List<OnnxTensor> ReadTensors(string dir, string prefix)
    {
        var list = new List<OnnxTensor>();
        for (int i = 0; ; i++)
        {
            string path = Path.Combine(dir, $"{prefix}{i}.pb");
            if (!File.Exists(path))
            {
                return list;
            }

            list.Add(new OnnxTensor(TensorProto.Parser.ParseFrom(File.ReadAllBytes(path))));
        }
    }
}

/// <summary>A decoded ONNX TensorProto: shape, element type and values (raw_data or the typed fields).</summary>
public sealed class OnnxTensor
{
    public OnnxTensor(TensorProto proto)
    {
        Proto = proto;
        Name = proto.Name;
        Type = (TensorProto.Types.DataType)proto.DataType;
        Dims = proto.Dims.ToArray();
        long count = 1;
        foreach (long d in Dims)
        {
            count *= d;
        }

        Count = checked((int)count);
        if (proto.DataLocation == TensorProto.Types.DataLocation.External)
        {
            throw new NotSupportedException($"tensor '{Name}': external data is not supported");
        }

        Values = Decode(proto, Type, Count);
    }

    public TensorProto Proto { get; }

    public string Name { get; }

    public TensorProto.Types.DataType Type { get; }

    /// <summary>Shape; empty for a scalar.</summary>
    public long[] Dims { get; }

    public int Rank => Dims.Length;

    public int Count { get; }

    /// <summary>Every element as a double (exact for all types handled: 8/16/32-bit integers, float16, float32, float64).</summary>
    public double[] Values { get; }

    public string ShapeText => Dims.Length == 0 ? "scalar" : string.Join("x", Dims);

    public float[] AsFloats() => Values.Select(v => (float)v).ToArray();

    public int[] AsInts() => Values.Select(v => checked((int)v)).ToArray();

    /// <summary>8-bit tensors as ChipKit stores them: the raw bits in bytes (s8 two's complement).</summary>
    public byte[] AsBytes8()
    {
        if (Type is not (TensorProto.Types.DataType.Uint8 or TensorProto.Types.DataType.Int8))
        {
            throw new InvalidOperationException($"tensor '{Name}' is {Type}, not an 8-bit integer tensor");
        }

        return Values.Select(v => unchecked((byte)(int)v)).ToArray();
    }

    private static double[] Decode(TensorProto p, TensorProto.Types.DataType type, int count)
    {
        double[] v = p.RawData.Length > 0 ? DecodeRaw(p.RawData, type, count) : DecodeTyped(p, type);
        if (v.Length != count)
        {
            throw new InvalidDataException($"tensor '{p.Name}': {v.Length} elements stored but dims [{string.Join(",", p.Dims)}] need {count}");
        }

        return v;
    }

    private static double[] DecodeRaw(ByteString raw, TensorProto.Types.DataType type, int count)
    {
        ReadOnlySpan<byte> s = raw.Span;
        int width = type switch
        {
            TensorProto.Types.DataType.Int8 or TensorProto.Types.DataType.Uint8 or TensorProto.Types.DataType.Bool => 1,
            TensorProto.Types.DataType.Int16 or TensorProto.Types.DataType.Uint16 or TensorProto.Types.DataType.Float16 => 2,
            TensorProto.Types.DataType.Int32 or TensorProto.Types.DataType.Uint32 or TensorProto.Types.DataType.Float => 4,
            TensorProto.Types.DataType.Int64 or TensorProto.Types.DataType.Uint64 or TensorProto.Types.DataType.Double => 8,
            _ => throw new NotSupportedException($"raw_data of type {type} is not supported by this reader"),
        };
        if (s.Length != count * width)
        {
            throw new InvalidDataException($"raw_data holds {s.Length} bytes, expected {count} x {width}");
        }

        var v = new double[count];
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<byte> e = s.Slice(i * width, width);
            v[i] = type switch
            {
                TensorProto.Types.DataType.Int8 => (sbyte)e[0],
                TensorProto.Types.DataType.Uint8 or TensorProto.Types.DataType.Bool => e[0],
                TensorProto.Types.DataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(e),
                TensorProto.Types.DataType.Uint16 => BinaryPrimitives.ReadUInt16LittleEndian(e),
                TensorProto.Types.DataType.Float16 => (double)BinaryPrimitives.ReadHalfLittleEndian(e),
                TensorProto.Types.DataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(e),
                TensorProto.Types.DataType.Uint32 => BinaryPrimitives.ReadUInt32LittleEndian(e),
                TensorProto.Types.DataType.Float => BinaryPrimitives.ReadSingleLittleEndian(e),
                TensorProto.Types.DataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(e),
                TensorProto.Types.DataType.Uint64 => BinaryPrimitives.ReadUInt64LittleEndian(e),
                _ => BinaryPrimitives.ReadDoubleLittleEndian(e),
            };
        }

        return v;
    }

    private static double[] DecodeTyped(TensorProto p, TensorProto.Types.DataType type) => type switch
    {
        TensorProto.Types.DataType.Float => p.FloatData.Select(f => (double)f).ToArray(),
        TensorProto.Types.DataType.Double => p.DoubleData.ToArray(),
        TensorProto.Types.DataType.Int64 => p.Int64Data.Select(i => (double)i).ToArray(),
        TensorProto.Types.DataType.Uint32 or TensorProto.Types.DataType.Uint64 => p.Uint64Data.Select(i => (double)i).ToArray(),

        // int32_data carries INT32, INT16, INT8, UINT16, UINT8, BOOL one element per value, FLOAT16 as its bit pattern.
        TensorProto.Types.DataType.Int32 or TensorProto.Types.DataType.Int16 or TensorProto.Types.DataType.Int8
            or TensorProto.Types.DataType.Uint16 or TensorProto.Types.DataType.Uint8 or TensorProto.Types.DataType.Bool
            => p.Int32Data.Select(i => (double)i).ToArray(),
        TensorProto.Types.DataType.Float16 => p.Int32Data.Select(i => (double)BitConverter.UInt16BitsToHalf(checked((ushort)i))).ToArray(),
        _ => throw new NotSupportedException($"tensor '{p.Name}': type {type} is not supported by this reader"),
    };
}
