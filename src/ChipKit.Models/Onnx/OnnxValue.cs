using System.Globalization;
using System.Runtime.InteropServices;

namespace ChipKit.Models.Onnx;

/// <summary>Element types an ONNX tensor may have in a model ChipKit runs (the ONNX TensorProto.DataType codes).</summary>
public enum OnnxElem
{
    F32 = 1,
    U8 = 2,
    S8 = 3,
    S32 = 6,
    I64 = 7,
}

/// <summary>Helpers for <see cref="OnnxElem"/>.</summary>
public static class OnnxElemExtensions
{
    public static int Size(this OnnxElem t) => t switch
    {
        OnnxElem.U8 or OnnxElem.S8 => 1,
        OnnxElem.F32 or OnnxElem.S32 => 4,
        _ => 8,
    };

    public static string Name(this OnnxElem t) => t switch
    {
        OnnxElem.F32 => "float32",
        OnnxElem.U8 => "uint8",
        OnnxElem.S8 => "int8",
        OnnxElem.S32 => "int32",
        _ => "int64",
    };

    public static bool Is8Bit(this OnnxElem t) => t is OnnxElem.U8 or OnnxElem.S8;

    /// <summary>ChipKit's descriptor type of an 8-bit or int32 ONNX type.</summary>
    public static Core.Descriptors.DataType ToDataType(this OnnxElem t) => t switch
    {
        OnnxElem.U8 => Core.Descriptors.DataType.U8,
        OnnxElem.S8 => Core.Descriptors.DataType.S8,
        OnnxElem.S32 => Core.Descriptors.DataType.S32,
        OnnxElem.F32 => Core.Descriptors.DataType.F32,
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };
}

/// <summary>
/// One tensor of a loaded graph: its name, element type and static shape, and its data when it is a constant
/// (an initializer). Constants are stored as byte[] (uint8/int8 raw bits), float[], int[] or long[].
/// </summary>
public sealed class OnnxValue
{
    internal OnnxValue(string name, OnnxElem type, int[] shape, Array? constant = null)
    {
        Name = name;
        Type = type;
        Shape = shape;
        long count = 1;
        foreach (int d in shape)
        {
            count = d > 0 && count > long.MaxValue / d ? long.MaxValue : count * d; // saturates: the loader refuses it
        }

        LongCount = count;
        Count = (int)Math.Min(count, int.MaxValue);
        Constant = constant;
    }

    public string Name { get; }

    public OnnxElem Type { get; }

    /// <summary>Static shape (empty for a scalar).</summary>
    public int[] Shape { get; }

    public int Count { get; }

    /// <summary>The element count without truncation (a shape the loader must refuse can exceed int).</summary>
    public long LongCount { get; }

    /// <summary>Bytes of the tensor's data.</summary>
    public long Bytes => (long)Count * Type.Size();

    /// <summary>The data of a constant (initializer), null for a runtime tensor.</summary>
    public Array? Constant { get; }

    public bool IsConstant => Constant is not null;

    public string ShapeText => "[" + string.Join(",", Shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";

    public override string ToString() => $"'{Name}' {Type.Name()} {ShapeText}";
}

/// <summary>
/// The storage of one tensor while a graph runs: uint8/int8 as raw bytes (int8 as two's complement bits), float32 as
/// float[], int32 as int[]. Allocated once when the session is created; Invoke writes into it.
/// </summary>
public sealed class OnnxBuffer
{
    internal OnnxBuffer(OnnxValue value, byte[]? bytes = null, float[]? floats = null, int[]? ints = null)
    {
        Value = value;
        if (bytes is null && floats is null && ints is null)
        {
            switch (value.Type)
            {
                case OnnxElem.U8 or OnnxElem.S8:
                    bytes = new byte[value.Count];
                    break;
                case OnnxElem.F32:
                    floats = new float[value.Count];
                    break;
                case OnnxElem.S32:
                    ints = new int[value.Count];
                    break;
                default:
                    throw new InvalidOperationException($"tensor {value}: int64 tensors are constants only");
            }
        }

        Bytes = bytes;
        Floats = floats;
        Ints = ints;
    }

    public OnnxValue Value { get; }

    public byte[]? Bytes { get; }

    public float[]? Floats { get; }

    public int[]? Ints { get; }

    public int Count => Value.Count;

    /// <summary>The tensor as raw little-endian bytes (a view, no copy).</summary>
    public Span<byte> Raw => Bytes is not null ? Bytes.AsSpan(0, Count)
        : Floats is not null ? MemoryMarshal.AsBytes(Floats.AsSpan(0, Count))
        : MemoryMarshal.AsBytes(Ints!.AsSpan(0, Count));

    /// <summary>Element i as a double (8-bit values as their integer value).</summary>
    public double this[int i] => Value.Type switch
    {
        OnnxElem.U8 => Bytes![i],
        OnnxElem.S8 => (sbyte)Bytes![i],
        OnnxElem.F32 => Floats![i],
        _ => Ints![i],
    };
}
