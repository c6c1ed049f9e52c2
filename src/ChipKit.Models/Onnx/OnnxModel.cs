using System.Buffers.Binary;
using ChipKit.Core;
using ChipKit.Core.Descriptors;
using Google.Protobuf;
using Onnx;

namespace ChipKit.Models.Onnx;

/// <summary>
/// A quantised ONNX model loaded for execution: one graph, static shapes, constants decoded, every node checked,
/// shapes inferred, QDQ patterns folded into QLinear layers. Nothing large is allocated here: buffers belong to an
/// <see cref="OnnxSession"/>. Every refusal is a <see cref="ChipKitInputException"/> naming the file, the node
/// (index, name, op) or tensor and the field.
/// </summary>
public sealed class OnnxModel
{
    /// <summary>Default-domain opsets whose semantics of the supported operators this loader implements.</summary>
    public const int MinOpset = 10, MaxOpset = 25;

    /// <summary>Largest model file accepted (protobuf messages are limited to 2 GiB).</summary>
    public const long MaxFileBytes = int.MaxValue;

    internal OnnxModel(string file, int opset, IReadOnlyList<OnnxValue> inputs, IReadOnlyList<OnnxValue> outputs,
        IReadOnlyList<OnnxLayer> layers, IReadOnlyList<string> notes)
    {
        File = file;
        Opset = opset;
        Inputs = inputs;
        Outputs = outputs;
        Layers = layers;
        Notes = notes;
    }

    /// <summary>The file name used in messages.</summary>
    public string File { get; }

    /// <summary>Opset version of the default ONNX domain.</summary>
    public int Opset { get; }

    /// <summary>Runtime graph inputs (initializers are constants, not inputs).</summary>
    public IReadOnlyList<OnnxValue> Inputs { get; }

    public IReadOnlyList<OnnxValue> Outputs { get; }

    /// <summary>The executed layers in graph order (after QDQ folding).</summary>
    public IReadOnlyList<OnnxLayer> Layers { get; }

    /// <summary>What the loader decided on the user's behalf (a symbolic batch dimension fixed to 1, folded QDQ groups).</summary>
    public IReadOnlyList<string> Notes { get; }

    public double Macs => Layers.Sum(l => l.Macs);

    /// <summary>Bytes of every runtime tensor (the session allocates one buffer per tensor; reshapes share).</summary>
    public long ActivationBytes => Layers.Where(l => !l.AliasesInput).Sum(l => l.Output.Bytes) + Inputs.Sum(i => i.Bytes);

    /// <summary>A rough count of elementary operations of one inference (MACs plus pooled taps and elementwise work).</summary>
    public double Work => Layers.Sum(l => l.Work);

    public static OnnxModel Load(string path)
    {
        string name = Path.GetFileName(path);
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new ChipKitInputException($"{path}: file not found");
        }

        if (info.Length > Math.Min(MaxFileBytes, Check.MemoryLimitBytes))
        {
            throw new ChipKitInputException($"{name}: {info.Length} bytes is larger than the {Math.Min(MaxFileBytes, Check.MemoryLimitBytes)} bytes ChipKit reads (protobuf limit or --memory-limit)");
        }

        byte[] bytes;
        try
        {
            bytes = System.IO.File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ChipKitInputException($"{path}: cannot read: {e.Message}", e);
        }

        return Parse(bytes, name);
    }

    /// <summary>Loads a model from its bytes; <paramref name="fileName"/> is used in every message.</summary>
    public static OnnxModel Parse(byte[] bytes, string fileName)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.LongLength > Math.Min(MaxFileBytes, Check.MemoryLimitBytes))
        {
            throw new ChipKitInputException($"{fileName}: {bytes.LongLength} bytes is larger than ChipKit reads");
        }

        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ChipKitInputException($"{fileName}: not a valid ONNX model (protobuf): {e.Message}", e);
        }

        return new OnnxGraphBuilder(fileName, model).Build();
    }

    /// <summary>The decoded data of an initializer, checked against its dims before anything is allocated.</summary>
    internal static Array DecodeInitializer(TensorProto t, OnnxElem type, long count, Func<string, string, ChipKitInputException> error)
    {
        if (t.DataLocation == TensorProto.Types.DataLocation.External)
        {
            throw error("data_location", "external data is not supported; store the initializer inside the model");
        }

        if (t.Segment is not null)
        {
            throw error("segment", "segmented tensors are not supported");
        }

        int width = type.Size();
        if (t.RawData.Length > 0)
        {
            ReadOnlySpan<byte> raw = t.RawData.Span;
            if (raw.Length != count * width)
            {
                throw error("raw_data", $"holds {raw.Length} bytes; dims need {count} x {width} = {count * width}");
            }

            switch (type)
            {
                case OnnxElem.U8 or OnnxElem.S8:
                    return raw.ToArray();
                case OnnxElem.F32:
                    {
                        var f = new float[count];
                        for (int i = 0; i < f.Length; i++)
                        {
                            f[i] = BinaryPrimitives.ReadSingleLittleEndian(raw.Slice(i * 4, 4));
                        }

                        return f;
                    }

                case OnnxElem.S32:
                    {
                        var v = new int[count];
                        for (int i = 0; i < v.Length; i++)
                        {
                            v[i] = BinaryPrimitives.ReadInt32LittleEndian(raw.Slice(i * 4, 4));
                        }

                        return v;
                    }

                default:
                    {
                        var v = new long[count];
                        for (int i = 0; i < v.Length; i++)
                        {
                            v[i] = BinaryPrimitives.ReadInt64LittleEndian(raw.Slice(i * 8, 8));
                        }

                        return v;
                    }
            }
        }

        // typed fields: int32_data carries int8/uint8/int32 one element per entry (ONNX's rule)
        int stored = type switch
        {
            OnnxElem.F32 => t.FloatData.Count,
            OnnxElem.I64 => t.Int64Data.Count,
            _ => t.Int32Data.Count,
        };
        string field = type switch { OnnxElem.F32 => "float_data", OnnxElem.I64 => "int64_data", _ => "int32_data" };
        if (stored != count)
        {
            throw error(field, $"holds {stored} values; dims need {count}");
        }

        switch (type)
        {
            case OnnxElem.F32:
                return t.FloatData.ToArray();
            case OnnxElem.I64:
                return t.Int64Data.ToArray();
            case OnnxElem.S32:
                return t.Int32Data.ToArray();
            default:
                {
                    var b = new byte[count];
                    int min = type == OnnxElem.S8 ? -128 : 0, max = type == OnnxElem.S8 ? 127 : 255;
                    for (int i = 0; i < b.Length; i++)
                    {
                        int v = t.Int32Data[i];
                        if (v < min || v > max)
                        {
                            throw error(field, $"value {v} at {i} is outside the {type.Name()} range [{min}, {max}]");
                        }

                        b[i] = unchecked((byte)v);
                    }

                    return b;
                }
        }
    }
}
