namespace ChipKit.Core.Descriptors;

/// <summary>
/// Linear quantisation parameters of one tensor: real = scale * (q - zero_point).
/// One element means per-tensor; more means per-channel along the axis the op defines
/// (output channel K for conv weights, column N for GEMM B).
/// </summary>
public sealed record QuantParams(float[] Scales, int[] ZeroPoints)
{
    public static QuantParams PerTensor(float scale, int zeroPoint) => new([scale], [zeroPoint]);

    public bool IsPerTensor => Scales.Length == 1;

    public int Count => Scales.Length;

    public float Scale(int channel) => Scales.Length == 1 ? Scales[0] : Scales[channel];

    public int ZeroPoint(int channel) => ZeroPoints.Length == 1 ? ZeroPoints[0] : ZeroPoints[channel];

    public void Validate(string field, DataType type, int channels)
    {
        if (Scales.Length != ZeroPoints.Length)
        {
            throw new ChipKitInputException($"{field}: {Scales.Length} scales but {ZeroPoints.Length} zero points");
        }

        if (Scales.Length != 1 && Scales.Length != channels)
        {
            throw new ChipKitInputException($"{field}: expected 1 (per-tensor) or {channels} (per-channel) scales, got {Scales.Length}");
        }

        foreach (float s in Scales)
        {
            if (!float.IsFinite(s) || s <= 0f)
            {
                throw new ChipKitInputException($"{field}: scale must be a finite positive number, got {s}");
            }
        }

        foreach (int z in ZeroPoints)
        {
            if (z < type.MinValue() || z > type.MaxValue())
            {
                throw new ChipKitInputException($"{field}: zero point {z} is outside the {type.ToSpec()} range [{type.MinValue()}, {type.MaxValue()}]");
            }
        }
    }

    public override string ToString() => IsPerTensor ? $"scale={Scales[0]},zp={ZeroPoints[0]}" : $"per-channel x{Count}";
}
