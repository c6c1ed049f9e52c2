using ChipKit.Core.Descriptors;

namespace ChipKit.Core.Reference;

/// <summary>
/// Integer oracles for the quantised ops (ONNX MatMulInteger, ConvInteger, QLinearMatMul, QLinearConv).
/// Accumulation is in int64 and then wrapped to int32, which equals int32 accumulation (ONNX's rule) in every case.
/// </summary>
public static class QuantReference
{
    /// <summary>Reads element i of an 8-bit tensor as its integer value.</summary>
    public static int Load(ReadOnlySpan<byte> data, long i, DataType type) => type == DataType.S8 ? (sbyte)data[(int)i] : data[(int)i];

    /// <summary>Quantised GEMM: returns the outputs as ints (int32 accumulators, or 8-bit values for QLinear).</summary>
    public static int[] Gemm(QGemmDesc d, ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        d.Validate();
        byte[] aa = a.ToArray(), bb = b.ToArray();
        var y = new int[(long)d.M * d.N];
        int aZp = d.AQuant.ZeroPoint(0);
        Parallel.For(0, d.M, m =>
        {
            for (int n = 0; n < d.N; n++)
            {
                int bZp = d.BQuant.ZeroPoint(n);
                long acc = 0;
                for (int k = 0; k < d.K; k++)
                {
                    long av = Load(aa, ((long)m * d.K) + k, d.AType) - aZp;
                    long bv = Load(bb, ((long)k * d.N) + n, d.BType) - bZp;
                    acc += av * bv;
                }

                int acc32 = unchecked((int)acc);
                long i = ((long)m * d.N) + n;
                y[i] = d.Output == QuantOutput.Int32
                    ? acc32
                    : Requantize.Apply(acc32, Requantize.Multiplier(d.AQuant.Scale(0), d.BQuant.Scale(n), d.YQuant!.Scale(0)),
                        d.YQuant.ZeroPoint(0), d.YType.MinValue(), d.YType.MaxValue());
            }
        });
        return y;
    }

    /// <summary>Quantised conv: returns the outputs (layout of d.Conv) as ints.</summary>
    public static int[] Conv(QConv2dDesc qd, ReadOnlySpan<byte> x, ReadOnlySpan<byte> w, ReadOnlySpan<int> bias)
    {
        qd.Validate();
        Conv2dDesc d = qd.Conv;
        byte[] xx = x.ToArray(), ww = w.ToArray();
        int[] bb = bias.ToArray();
        var y = new int[d.OutputElements];
        int xZp = qd.XQuant.ZeroPoint(0);
        int P = d.P, Q = d.Q;
        Parallel.For(0, d.N * d.K, nk =>
        {
            int n = nk / d.K, k = nk % d.K;
            int g = k / d.Kg;
            int wZp = qd.WQuant.ZeroPoint(k);
            double mult = qd.Output == QuantOutput.Quantized
                ? Requantize.Multiplier(qd.XQuant.Scale(0), qd.WQuant.Scale(k), qd.YQuant!.Scale(0))
                : 0;
            for (int p = 0; p < P; p++)
            {
                for (int q = 0; q < Q; q++)
                {
                    long acc = bb.Length > 0 ? bb[k] : 0;
                    for (int cg = 0; cg < d.Cg; cg++)
                    {
                        int c = (g * d.Cg) + cg;
                        for (int r = 0; r < d.R; r++)
                        {
                            int h = (p * d.StrideH) - d.PadTop + (r * d.DilationH);
                            if (h < 0 || h >= d.H)
                            {
                                continue; // padding holds x_zp: (x_zp - x_zp) * w = 0
                            }

                            for (int s = 0; s < d.S; s++)
                            {
                                int wi = (q * d.StrideW) - d.PadLeft + (s * d.DilationW);
                                if (wi < 0 || wi >= d.W)
                                {
                                    continue;
                                }

                                long xv = Load(xx, d.InputIndex(n, c, h, wi), qd.XType) - xZp;
                                long wv = Load(ww, d.WeightIndex(k, cg, r, s), qd.WType) - wZp;
                                acc += xv * wv;
                            }
                        }
                    }

                    int acc32 = unchecked((int)acc);
                    long o = d.OutputIndex(n, k, p, q);
                    y[o] = qd.Output == QuantOutput.Int32
                        ? acc32
                        : Requantize.Apply(acc32, mult, qd.YQuant!.ZeroPoint(0), qd.YType.MinValue(), qd.YType.MaxValue());
                }
            }
        });
        return y;
    }
}
