namespace ChipKit.Core.Descriptors;

/// <summary>
/// The arithmetic of a GEMM. <see cref="F32"/> is IEEE fp32 throughout. <see cref="Tf32"/> and <see cref="Bf16"/> are
/// tensor-core GEMMs: A and B are rounded to tf32 (10 explicit mantissa bits) or bf16 (7 bits), the products (exact in
/// fp32) are accumulated in fp32. Only devices with such units offer kernels for them; elsewhere they are skipped.
/// </summary>
public enum GemmPrecision
{
    F32,
    Tf32,
    Bf16,
}

public static class GemmPrecisionExtensions
{
    /// <summary>Spec name: "f32", "tf32", "bf16".</summary>
    public static string ToSpec(this GemmPrecision p) => p switch
    {
        GemmPrecision.F32 => "f32",
        GemmPrecision.Tf32 => "tf32",
        GemmPrecision.Bf16 => "bf16",
        _ => throw new ArgumentOutOfRangeException(nameof(p)),
    };

    /// <summary>
    /// Unit roundoff of rounding an fp32 input to this precision (round to nearest): 2^-11 for tf32, 2^-8 for bf16, 0 for f32
    /// (fp32 inputs are used as they are).
    /// </summary>
    public static double InputUnitRoundoff(this GemmPrecision p) => p switch
    {
        GemmPrecision.F32 => 0,
        GemmPrecision.Tf32 => Math.Pow(2, -11),
        GemmPrecision.Bf16 => Math.Pow(2, -8),
        _ => throw new ArgumentOutOfRangeException(nameof(p)),
    };
}
