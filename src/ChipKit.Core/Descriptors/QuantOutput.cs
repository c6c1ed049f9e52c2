namespace ChipKit.Core.Descriptors;

/// <summary>What a quantised op writes.</summary>
public enum QuantOutput
{
    /// <summary>MatMulInteger / ConvInteger: the int32 accumulator (x - x_zp) * (w - w_zp) (+ bias), no requantisation.</summary>
    Int32,

    /// <summary>QLinearMatMul / QLinearConv: requantised to 8 bits with y_scale, y_zero_point, round half to even, saturate.</summary>
    Quantized,
}
