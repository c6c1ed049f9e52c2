namespace ChipKit.Core.Descriptors;

/// <summary>Element types of the tensors ChipKit works on.</summary>
public enum DataType
{
    F32,
    U8,
    S8,
    S32,
}

public static class DataTypeExtensions
{
    /// <summary>Short name used in workload specs and results ("f32", "u8", "s8", "s32").</summary>
    public static string ToSpec(this DataType t) => t switch
    {
        DataType.F32 => "f32",
        DataType.U8 => "u8",
        DataType.S8 => "s8",
        DataType.S32 => "s32",
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    public static int MinValue(this DataType t) => t switch
    {
        DataType.U8 => 0,
        DataType.S8 => -128,
        _ => throw new ArgumentOutOfRangeException(nameof(t), "only 8-bit types have a quantised range"),
    };

    public static int MaxValue(this DataType t) => t switch
    {
        DataType.U8 => 255,
        DataType.S8 => 127,
        _ => throw new ArgumentOutOfRangeException(nameof(t), "only 8-bit types have a quantised range"),
    };

    public static bool Is8Bit(this DataType t) => t is DataType.U8 or DataType.S8;
}
