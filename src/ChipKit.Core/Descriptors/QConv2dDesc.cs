namespace ChipKit.Core.Descriptors;

/// <summary>
/// Quantised 2-D convolution with ONNX semantics (QLinearConv when <see cref="Output"/> is Quantized, ConvInteger when Int32).
/// Geometry as <see cref="Conv"/>; X of <see cref="XType"/>, W of <see cref="WType"/> ([K, C/groups, R, S]),
/// optional int32 bias per output channel. Padding taps contribute zero to the accumulator (they hold x_zp).
/// acc[n,k,p,q] = bias[k] + sum (X - x_zp) * (W - w_zp[k]); requantisation as <see cref="QGemmDesc"/> with w_scale[k].
/// </summary>
public sealed record QConv2dDesc(
    Conv2dDesc Conv,
    DataType XType, DataType WType, DataType YType,
    QuantParams XQuant, QuantParams WQuant, QuantParams? YQuant,
    bool HasBias,
    QuantOutput Output = QuantOutput.Quantized)
{
    public double Ops => Conv.Flops;

    public void Validate()
    {
        Conv.Validate();
        if (!XType.Is8Bit())
        {
            throw new ChipKitInputException($"dtype (X) must be u8 or s8, got {XType.ToSpec()}");
        }

        if (!WType.Is8Bit())
        {
            throw new ChipKitInputException($"wtype (W) must be u8 or s8, got {WType.ToSpec()}");
        }

        XQuant.Validate("x quantisation", XType, 1);
        WQuant.Validate("w quantisation", WType, Conv.K);
        if (Output == QuantOutput.Quantized)
        {
            if (!YType.Is8Bit() || YQuant is null)
            {
                throw new ChipKitInputException("a requantised output needs an 8-bit ytype and y quantisation parameters");
            }

            YQuant.Validate("y quantisation", YType, 1);
        }
        else if (YType != DataType.S32)
        {
            throw new ChipKitInputException($"an integer (ConvInteger) output is s32, got {YType.ToSpec()}");
        }
    }
}
