using ChipKit.Core;
using ChipKit.Core.Descriptors;
using Onnx;

namespace ChipKit.Models.Onnx;

/// <summary>
/// One node while the graph is loaded: typed access to its attributes and inputs, and errors that name the file, the
/// node (index, name, op) and the field. Every accessor checks before it returns, so nothing downstream sees a value
/// of the wrong type or an undefined tensor.
/// </summary>
internal sealed class OnnxNodeContext
{
    private readonly Func<string, OnnxValue?> _lookup;

    public OnnxNodeContext(string file, int index, NodeProto node, int opset, Func<string, OnnxValue?> lookup)
    {
        File = file;
        Index = index;
        Node = node;
        Opset = opset;
        _lookup = lookup;
    }

    public string File { get; }

    public int Index { get; }

    public NodeProto Node { get; }

    /// <summary>The opset version of the node's domain.</summary>
    public int Opset { get; }

    public string Op => Node.OpType;

    public string Where => Describe(Index, Node);

    /// <summary>"node i ('name', Op)" with control characters of hostile files escaped, so a message stays one line.</summary>
    public static string Describe(int index, NodeProto node) => $"node {index} ('{Printable(node.Name)}', {Printable(node.OpType)})";

    public static string Printable(string s) => s.Any(char.IsControl)
        ? string.Concat(s.Select(ch => char.IsControl(ch) ? $"\\u{(int)ch:x4}" : ch.ToString()))
        : s;

    public ChipKitInputException Error(string field, string message) => new($"{File}: {Where}, field {field}: {message}");

    /// <summary>Runs a ChipKit descriptor validation and locates its message at this node.</summary>
    public void Located(string field, Action validate)
    {
        try
        {
            validate();
        }
        catch (ChipKitInputException e)
        {
            throw new ChipKitInputException($"{File}: {Where}, field {field}: {e.Message}", e);
        }
    }

    public void InputCount(int min, int max)
    {
        if (Node.Input.Count < min || Node.Input.Count > max)
        {
            throw Error("input", min == max ? $"expected {min} inputs, got {Node.Input.Count}" : $"expected {min} to {max} inputs, got {Node.Input.Count}");
        }

        if (Node.Output.Count < 1 || Node.Output[0].Length == 0)
        {
            throw Error("output", "expected one output");
        }

        for (int i = 1; i < Node.Output.Count; i++)
        {
            if (Node.Output[i].Length != 0)
            {
                throw Error($"output[{i}]", $"optional output '{Node.Output[i]}' is not supported (only the first output is computed)");
            }
        }
    }

    /// <summary>Refuses attributes this implementation does not interpret, so none is silently ignored.</summary>
    public void OnlyAttributes(params string[] known)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (AttributeProto a in Node.Attribute)
        {
            if (!seen.Add(a.Name))
            {
                throw Error($"attribute {a.Name}", "appears twice");
            }

            if (Array.IndexOf(known, a.Name) < 0)
            {
                throw Error($"attribute {a.Name}", $"not supported for {Op} (supported: {(known.Length == 0 ? "none" : string.Join(", ", known))})");
            }

            if (a.RefAttrName.Length != 0)
            {
                throw Error($"attribute {a.Name}", "references a function attribute; only plain graphs are supported");
            }
        }
    }

    private AttributeProto? Attr(string name, AttributeProto.Types.AttributeType type)
    {
        foreach (AttributeProto a in Node.Attribute)
        {
            if (a.Name == name)
            {
                // Some old exporters leave type unset (0); the payload is then read as the expected kind.
                if (a.Type != type && a.Type != AttributeProto.Types.AttributeType.Undefined)
                {
                    throw Error($"attribute {name}", $"expected type {type}, got {a.Type}");
                }

                return a;
            }
        }

        return null;
    }

    public long Int(string name, long fallback) => Attr(name, AttributeProto.Types.AttributeType.Int)?.I ?? fallback;

    public float Float(string name, float fallback) => Attr(name, AttributeProto.Types.AttributeType.Float)?.F ?? fallback;

    public string String(string name, string fallback) => Attr(name, AttributeProto.Types.AttributeType.String)?.S.ToStringUtf8() ?? fallback;

    public long[]? Ints(string name) => Attr(name, AttributeProto.Types.AttributeType.Ints)?.Ints.ToArray();

    /// <summary>An int attribute that must be one of the allowed values.</summary>
    public long IntIn(string name, long fallback, params long[] allowed)
    {
        long v = Int(name, fallback);
        if (Array.IndexOf(allowed, v) < 0)
        {
            throw Error($"attribute {name}", $"expected {string.Join(" or ", allowed)}, got {v}");
        }

        return v;
    }

    /// <summary>Name of input slot i, or null when the optional input is absent (missing or empty name).</summary>
    public string? InputName(int slot) => slot < Node.Input.Count && Node.Input[slot].Length > 0 ? Node.Input[slot] : null;

    /// <summary>A required input: its name is present and refers to a tensor defined earlier.</summary>
    public OnnxValue In(int slot, string field) => Opt(slot, field) ?? throw Error(field, $"required input {slot} is missing");

    /// <summary>An optional input: null when absent; an error when named but undefined.</summary>
    public OnnxValue? Opt(int slot, string field)
    {
        string? name = InputName(slot);
        if (name is null)
        {
            return null;
        }

        return _lookup(name) ?? throw Error(field, $"tensor '{name}' is not a graph input, an initializer or the output of an earlier node");
    }

    /// <summary>A required constant (initializer) input.</summary>
    public OnnxValue Const(int slot, string field)
    {
        OnnxValue v = In(slot, field);
        return v.IsConstant ? v : throw Error(field, $"tensor '{v.Name}' must be a constant (initializer); ChipKit needs quantisation parameters and weights at load time");
    }

    public OnnxValue? OptConst(int slot, string field)
    {
        OnnxValue? v = Opt(slot, field);
        return v is null || v.IsConstant ? v : throw Error(field, $"tensor '{v.Name}' must be a constant (initializer)");
    }

    /// <summary>A required 8-bit (u8 or s8) input.</summary>
    public OnnxValue Int8In(int slot, string field)
    {
        OnnxValue v = In(slot, field);
        Type(v, field, OnnxElem.U8, OnnxElem.S8);
        return v;
    }

    /// <summary>A required 8-bit (u8 or s8) constant (initializer) input.</summary>
    public OnnxValue Int8Const(int slot, string field)
    {
        OnnxValue v = Const(slot, field);
        Type(v, field, OnnxElem.U8, OnnxElem.S8);
        return v;
    }

    public void Type(OnnxValue v, string field, params OnnxElem[] allowed)
    {
        if (Array.IndexOf(allowed, v.Type) < 0)
        {
            throw Error(field, $"tensor '{v.Name}' is {v.Type.Name()}; expected {string.Join(" or ", allowed.Select(t => t.Name()))}");
        }
    }

    public void Rank(OnnxValue v, string field, int rank)
    {
        if (v.Shape.Length != rank)
        {
            throw Error(field, $"tensor '{v.Name}' has shape {v.ShapeText}; expected rank {rank}");
        }
    }

    /// <summary>A float32 constant holding one value (shape [] or [1]), finite and positive: a per-tensor scale.</summary>
    public float Scale(OnnxValue v, string field)
    {
        float[] s = Scales(v, field, 1);
        return s[0];
    }

    /// <summary>A float32 constant with 1 (per-tensor) or <paramref name="channels"/> values, each finite and positive.</summary>
    public float[] Scales(OnnxValue v, string field, int channels)
    {
        if (!v.IsConstant)
        {
            throw Error(field, $"tensor '{v.Name}' must be a constant (initializer)");
        }

        Type(v, field, OnnxElem.F32);
        CheckParamShape(v, field, channels);
        float[] s = (float[])v.Constant!;
        foreach (float x in s)
        {
            if (!float.IsFinite(x) || x <= 0f)
            {
                throw Error(field, $"scale must be a finite positive number, got {x}");
            }
        }

        return s;
    }

    /// <summary>
    /// Zero points of an 8-bit (or int32) tensor: a constant of exactly <paramref name="type"/> with 1 or
    /// <paramref name="channels"/> values; absent means 0.
    /// </summary>
    public int[] ZeroPoints(OnnxValue? v, string field, OnnxElem type, int channels)
    {
        if (v is null)
        {
            return [0];
        }

        if (!v.IsConstant)
        {
            throw Error(field, $"tensor '{v.Name}' must be a constant (initializer)");
        }

        if (v.Type != type)
        {
            throw Error(field, $"zero point '{v.Name}' is {v.Type.Name()}; it must have the data's type {type.Name()}");
        }

        CheckParamShape(v, field, channels);
        return Values(v);
    }

    /// <summary>Integer values of an 8-bit or int32 constant.</summary>
    public static int[] Values(OnnxValue v) => v.Constant switch
    {
        byte[] b => v.Type == OnnxElem.S8 ? b.Select(x => (int)(sbyte)x).ToArray() : b.Select(x => (int)x).ToArray(),
        int[] i => i,
        _ => throw new InvalidOperationException($"{v} is not an integer constant"),
    };

    private void CheckParamShape(OnnxValue v, string field, int channels)
    {
        bool scalar = v.Count == 1 && v.Shape.Length <= 1;
        bool vector = v.Shape.Length == 1 && v.Shape[0] == channels;
        if (!scalar && !vector)
        {
            throw Error(field, channels == 1
                ? $"tensor '{v.Name}' has shape {v.ShapeText}; expected a scalar (per-tensor)"
                : $"tensor '{v.Name}' has shape {v.ShapeText}; expected a scalar or [{channels}] (one per channel)");
        }
    }

    /// <summary>Quantisation parameters for ChipKit's descriptors (validated against the 8-bit type's range).</summary>
    public QuantParams Quant(OnnxValue scale, OnnxValue? zeroPoint, OnnxElem type, int channels, string field)
    {
        float[] s = Scales(scale, field + " scale", channels);
        int[] z = ZeroPoints(zeroPoint, field + " zero point", type, channels);
        if (s.Length != z.Length)
        {
            // ONNX allows a per-channel scale with a per-tensor zero point (and vice versa): expand to per-channel.
            int n = Math.Max(s.Length, z.Length);
            s = s.Length == n ? s : Enumerable.Repeat(s[0], n).ToArray();
            z = z.Length == n ? z : Enumerable.Repeat(z[0], n).ToArray();
        }

        return new QuantParams(s, z);
    }
}
