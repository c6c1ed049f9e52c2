namespace ChipKit.Core.Descriptors;

/// <summary>
/// The requantisation rule shared by the oracle and every kernel, so integer outputs can be bit-exact:
/// multiplier = (double)x_scale * (double)w_scale / (double)y_scale; y = saturate(round_half_even(acc * multiplier) + y_zp).
/// This matches ONNX's reference (numpy float64 product, np.rint) on all of ONNX's conformance vectors.
/// </summary>
public static class Requantize
{
    public static double Multiplier(float xScale, float wScale, float yScale) => (double)xScale * wScale / yScale;

    /// <summary>Requantise one accumulator. Kernels may vectorise this but must compute exactly these double operations.</summary>
    public static int Apply(int acc, double multiplier, int yZeroPoint, int min, int max)
    {
        double v = Math.Round(acc * multiplier, MidpointRounding.ToEven) + yZeroPoint;
        return v < min ? min : v > max ? max : (int)v;
    }
}
