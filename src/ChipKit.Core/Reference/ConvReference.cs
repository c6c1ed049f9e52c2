using ChipKit.Core.Descriptors;

namespace ChipKit.Core.Reference;

/// <summary>
/// Scalar fp32 2-D convolution oracle (ONNX Conv: cross-correlation, zero padding, groups, dilations), double accumulation.
/// </summary>
public static class ConvReference
{
    /// <summary>Writes the outputs (layout of <paramref name="d"/>) and their magnitude sums (may be empty to skip).</summary>
    public static void Run(Conv2dDesc d, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, double[] values, double[] magnitudes)
    {
        d.Validate();
        float[] xx = x.ToArray(), ww = w.ToArray(), bb = bias.ToArray();
        bool withMag = magnitudes.Length > 0;
        int P = d.P, Q = d.Q;
        Parallel.For(0, d.N * d.K, nk =>
        {
            int n = nk / d.K, k = nk % d.K;
            int g = k / d.Kg;
            for (int p = 0; p < P; p++)
            {
                for (int q = 0; q < Q; q++)
                {
                    double sum = bb.Length > 0 ? bb[k] : 0.0;
                    double mag = Math.Abs(sum);
                    for (int cg = 0; cg < d.Cg; cg++)
                    {
                        int c = (g * d.Cg) + cg;
                        for (int r = 0; r < d.R; r++)
                        {
                            int h = (p * d.StrideH) - d.PadTop + (r * d.DilationH);
                            if (h < 0 || h >= d.H)
                            {
                                continue;
                            }

                            for (int s = 0; s < d.S; s++)
                            {
                                int wi = (q * d.StrideW) - d.PadLeft + (s * d.DilationW);
                                if (wi < 0 || wi >= d.W)
                                {
                                    continue;
                                }

                                double prod = (double)xx[d.InputIndex(n, c, h, wi)] * ww[d.WeightIndex(k, cg, r, s)];
                                sum += prod;
                                mag += Math.Abs(prod);
                            }
                        }
                    }

                    long o = d.OutputIndex(n, k, p, q);
                    values[o] = sum;
                    if (withMag)
                    {
                        magnitudes[o] = mag;
                    }
                }
            }
        });
    }
}
