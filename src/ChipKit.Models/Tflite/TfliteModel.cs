namespace ChipKit.Models.Tflite;

/// <summary>TFLite tensor element types ChipKit reads (schema.fbs enum TensorType).</summary>
public enum TfliteType : sbyte
{
    Float32 = 0,
    Float16 = 1,
    Int32 = 2,
    UInt8 = 3,
    Int64 = 4,
    String = 5,
    Bool = 6,
    Int16 = 7,
    Complex64 = 8,
    Int8 = 9,
}

/// <summary>The builtin operators ChipKit runs (schema.fbs enum BuiltinOperator values).</summary>
public enum TfliteOp
{
    Add = 0,
    AveragePool2D = 1,
    Conv2D = 3,
    DepthwiseConv2D = 4,
    Dequantize = 6,
    FullyConnected = 9,
    MaxPool2D = 17,
    Reshape = 22,
    Softmax = 25,
    Quantize = 114,
}

/// <summary>schema.fbs enum ActivationFunctionType.</summary>
public enum TfliteActivation : sbyte
{
    None = 0,
    Relu = 1,
    ReluN1To1 = 2,
    Relu6 = 3,
    Tanh = 4,
    SignBit = 5,
}

/// <summary>schema.fbs enum Padding.</summary>
public enum TflitePadding : sbyte
{
    Same = 0,
    Valid = 1,
}

/// <summary>Per-tensor or per-channel quantisation of one tensor.</summary>
public sealed record TfliteQuant(float[] Scale, long[] ZeroPoint, int QuantizedDimension);

/// <summary>One tensor of the (single) subgraph; <see cref="Data"/> is null for activations.</summary>
public sealed class TfliteTensor
{
    public required int Index { get; init; }
    public required string Name { get; init; }
    public required int[] Shape { get; init; }
    public required TfliteType Type { get; init; }
    public TfliteQuant? Quant { get; init; }
    public byte[]? Data { get; init; }
    public long ElementCount { get; init; }

    public int ElementSize => Type switch
    {
        TfliteType.Int8 or TfliteType.UInt8 or TfliteType.Bool => 1,
        TfliteType.Int16 or TfliteType.Float16 => 2,
        TfliteType.Int32 or TfliteType.Float32 => 4,
        TfliteType.Int64 => 8,
        TfliteType.Complex64 => 8,
        _ => 1,
    };

    public float Scale => Quant is { Scale.Length: > 0 } q ? q.Scale[0] : 0f;
    public int ZeroPoint => Quant is { ZeroPoint.Length: > 0 } q ? (int)q.ZeroPoint[0] : 0;

    public string ShapeText => "[" + string.Join(",", Shape) + "]";
}

/// <summary>Decoded builtin options of the operators ChipKit runs.</summary>
public sealed record TfliteOptions
{
    public TflitePadding Padding { get; init; }
    public int StrideW { get; init; } = 1;
    public int StrideH { get; init; } = 1;
    public int DilationW { get; init; } = 1;
    public int DilationH { get; init; } = 1;
    public int DepthMultiplier { get; init; } = 1;
    public int FilterW { get; init; } = 1;
    public int FilterH { get; init; } = 1;
    public TfliteActivation Activation { get; init; }
    public float Beta { get; init; } = 1f;
    public bool KeepNumDims { get; init; }
    public int WeightsFormat { get; init; }
}

/// <summary>One operator: its builtin code, tensor indices (-1 = absent optional input) and options.</summary>
public sealed record TfliteOperator(int Index, TfliteOp Op, int Version, int[] Inputs, int[] Outputs, TfliteOptions Options);

/// <summary>A loaded TFLite model (one subgraph; the only shape every MLPerf Tiny model has).</summary>
public sealed class TfliteModel
{
    public required string Source { get; init; }
    public required uint Version { get; init; }
    public required TfliteTensor[] Tensors { get; init; }
    public required TfliteOperator[] Operators { get; init; }
    public required int[] Inputs { get; init; }
    public required int[] Outputs { get; init; }

    public TfliteTensor Input => Tensors[Inputs[0]];
    public TfliteTensor Output => Tensors[Outputs[0]];
}
