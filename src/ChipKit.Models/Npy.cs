using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using ChipKit.Core;
using ChipKit.Models.Tflite;

namespace ChipKit.Models;

/// <summary>An array read from a NumPy .npy file: element type, shape and the raw little-endian data.</summary>
public sealed record NpyArray(string Descr, NpyType Type, long[] Shape, byte[] Data)
{
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);

    public string ShapeText => "(" + string.Join(", ", Shape) + (Shape.Length == 1 ? ",)" : ")");
}

/// <summary>The .npy element types ChipKit reads.</summary>
public enum NpyType
{
    Int8,
    UInt8,
    Float32,
}

/// <summary>
/// NumPy's .npy format, versions 1.0, 2.0 and 3.0 (numpy/lib/format.py): the magic <c>\x93NUMPY</c>, a version,
/// a 2-byte (v1) or 4-byte (v2, v3) little-endian header length, and a Python dict literal header with
/// <c>descr</c>, <c>fortran_order</c> and <c>shape</c> (Latin-1 in v1/v2, UTF-8 in v3), then the data.
/// Element types: int8 (<c>|i1</c>), uint8 (<c>|u1</c>), little-endian float32 (<c>&lt;f4</c>). Every error names
/// the file.
/// </summary>
public static partial class Npy
{
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Whether these bytes start with the .npy magic string.</summary>
    public static bool IsNpy(ReadOnlySpan<byte> bytes) => bytes.StartsWith(Magic);

    public static NpyArray Read(byte[] bytes, string file)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ChipKitInputException Bad(string what) => new($"{file}: {what}");
        if (!IsNpy(bytes))
        {
            throw Bad("not a .npy file (expected the magic string \\x93NUMPY)");
        }

        if (bytes.Length < 10)
        {
            throw Bad($"truncated: {bytes.Length} bytes, shorter than the .npy preamble");
        }

        int major = bytes[6], minor = bytes[7];
        if (major is < 1 or > 3 || minor != 0)
        {
            throw Bad($"format version {major}.{minor}; expected 1.0, 2.0 or 3.0");
        }

        int lenBytes = major == 1 ? 2 : 4;
        if (bytes.Length < 8 + lenBytes)
        {
            throw Bad("truncated header length");
        }

        long headerLen = major == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8)) : BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8));
        long dataStart = 8 + lenBytes + headerLen;
        if (dataStart > bytes.Length)
        {
            throw Bad($"truncated: the header says {headerLen} bytes but the file has {bytes.Length - 8 - lenBytes} after the preamble");
        }

        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(bytes, 8 + lenBytes, (int)headerLen).Trim();
        string descr = Field(header, "descr", file, DescrRx());
        string fortran = Field(header, "fortran_order", file, FortranRx());
        string shapeText = Field(header, "shape", file, ShapeRx());

        NpyType type = descr switch
        {
            "|i1" or "<i1" or ">i1" or "i1" => NpyType.Int8,
            "|u1" or "<u1" or ">u1" or "u1" => NpyType.UInt8,
            "<f4" => NpyType.Float32,
            ">f4" => throw Bad("dtype '>f4' (big-endian float32) is not supported; expected int8 ('|i1'), uint8 ('|u1') or little-endian float32 ('<f4')"),
            _ => throw Bad($"dtype '{descr}' is not supported; expected int8 ('|i1'), uint8 ('|u1') or little-endian float32 ('<f4')"),
        };

        long[] shape = shapeText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(d => long.TryParse(d, NumberStyles.None, CultureInfo.InvariantCulture, out long v) && v <= int.MaxValue
                ? v
                : throw Bad($"header field 'shape': '{d}' is not a dimension"))
            .ToArray();
        long count = 1;
        foreach (long d in shape)
        {
            count *= d;
            if (count > TfliteReader.MaxTensorElements)
            {
                throw Bad($"shape ({shapeText}) has more than {TfliteReader.MaxTensorElements} elements");
            }
        }

        if (fortran == "True" && shape.Count(d => d > 1) > 1)
        {
            throw Bad($"fortran_order is True for shape ({shapeText}); save it in C order (numpy.ascontiguousarray)");
        }

        int itemSize = type == NpyType.Float32 ? 4 : 1;
        long need = count * itemSize, have = bytes.Length - dataStart;
        if (have < need)
        {
            throw Bad($"truncated: shape ({shapeText}) of {descr} needs {need} data bytes, the file has {have}");
        }

        if (have > need)
        {
            throw Bad($"{have - need} bytes after the data of shape ({shapeText}) {descr}; expected exactly {need}");
        }

        return new NpyArray(descr, type, shape, bytes.AsSpan((int)dataStart, (int)need).ToArray());
    }

    private static string Field(string header, string key, string file, Regex rx)
    {
        Match m = rx.Match(header);
        if (!header.StartsWith('{') || !m.Success)
        {
            throw new ChipKitInputException($"{file}: header {header}: missing or malformed field '{key}'");
        }

        return m.Groups[1].Value.Trim();
    }

    [GeneratedRegex(@"['""]descr['""]\s*:\s*['""]([^'""]*)['""]")]
    private static partial Regex DescrRx();

    [GeneratedRegex(@"['""]fortran_order['""]\s*:\s*(True|False)")]
    private static partial Regex FortranRx();

    [GeneratedRegex(@"['""]shape['""]\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapeRx();

    /// <summary>
    /// The bytes of the int8 input tensor <paramref name="t"/> from an array with the same element count: int8 as is;
    /// uint8 as the uint8 form of the same quantised values (q = u - 128, TFLite's uint8 → int8 conversion, the zero
    /// point moving by 128); float32 quantised with the tensor's scale and zero point by TFLite's QUANTIZE rule
    /// q = clamp(round_half_away(x / scale) + zero_point, -128, 127). A float32 input tensor takes float32 data as is.
    /// </summary>
    public static byte[] ToTensor(NpyArray a, TfliteTensor t, string file)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(t);
        if (a.Count != t.ElementCount)
        {
            throw new ChipKitInputException($"{file}: shape {a.ShapeText} has {a.Count} elements; the input tensor {t.ShapeText} {t.Type} has {t.ElementCount}");
        }

        if (t.Type == TfliteType.Float32)
        {
            return a.Type == NpyType.Float32
                ? a.Data
                : throw new ChipKitInputException($"{file}: dtype '{a.Descr}'; the input tensor is FLOAT32, expected float32 ('<f4')");
        }

        if (t.Type != TfliteType.Int8)
        {
            throw new ChipKitInputException($"{file}: the input tensor is {t.Type}; .npy inputs are supported for INT8 and FLOAT32 input tensors");
        }

        var q = new byte[a.Count];
        switch (a.Type)
        {
            case NpyType.Int8:
                a.Data.CopyTo(q, 0);
                break;
            case NpyType.UInt8:
                for (int i = 0; i < q.Length; i++)
                {
                    q[i] = (byte)(sbyte)(a.Data[i] - 128);
                }

                break;
            default:
                float scale = t.Scale;
                int zp = t.ZeroPoint;
                if (!(scale > 0))
                {
                    throw new ChipKitInputException($"{file}: float32 data, but the input tensor '{t.Name}' has no positive scale to quantise with");
                }

                for (int i = 0; i < q.Length; i++)
                {
                    float x = BinaryPrimitives.ReadSingleLittleEndian(a.Data.AsSpan(i * 4));
                    if (!float.IsFinite(x))
                    {
                        throw new ChipKitInputException($"{file}: element {i} is {x.ToString(CultureInfo.InvariantCulture)}; expected finite float32 values");
                    }

                    // TFLite AffineQuantize: round half away from zero in float, add the zero point, clamp
                    float r = MathF.Round(x / scale, MidpointRounding.AwayFromZero);
                    int v = r >= 1e9f ? int.MaxValue : r <= -1e9f ? int.MinValue : (int)r + zp;
                    q[i] = (byte)(sbyte)Math.Clamp(v, -128, 127);
                }

                break;
        }

        return q;
    }
}
