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
        // A - a_zp and the columns of B - b_zp as ints, K-contiguous (the column-wise walk of a row-major B missed
        // cache on every k for wide N); four columns per pass over an A row. Exact int64 sums, so the blocking
        // cannot change a value.
        int aZp = d.AQuant.ZeroPoint(0);
        var at = new int[(long)d.M * d.K];
        for (long i = 0; i < at.Length; i++)
        {
            at[i] = Load(a, i, d.AType) - aZp;
        }

        var bt = new int[(long)d.N * d.K];
        for (int n = 0; n < d.N; n++)
        {
            int bZp = d.BQuant.ZeroPoint(n);
            for (long k = 0; k < d.K; k++)
            {
                bt[((long)n * d.K) + k] = Load(b, (k * d.N) + n, d.BType) - bZp;
            }
        }

        var y = new int[(long)d.M * d.N];
        Parallel.For(0, d.M, m =>
        {
            ReadOnlySpan<int> ar = at.AsSpan((int)((long)m * d.K), d.K);
            Span<long> acc = stackalloc long[4];
            for (int n0 = 0; n0 < d.N; n0 += 4)
            {
                int cols = Math.Min(4, d.N - n0);
                if (cols == 4)
                {
                    ReadOnlySpan<int> b0 = bt.AsSpan((int)((long)n0 * d.K), d.K), b1 = bt.AsSpan((int)((long)(n0 + 1) * d.K), d.K);
                    ReadOnlySpan<int> b2 = bt.AsSpan((int)((long)(n0 + 2) * d.K), d.K), b3 = bt.AsSpan((int)((long)(n0 + 3) * d.K), d.K);
                    long s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                    for (int k = 0; k < ar.Length; k++)
                    {
                        long av = ar[k];
                        s0 += av * b0[k];
                        s1 += av * b1[k];
                        s2 += av * b2[k];
                        s3 += av * b3[k];
                    }

                    (acc[0], acc[1], acc[2], acc[3]) = (s0, s1, s2, s3);
                }
                else
                {
                    for (int j = 0; j < cols; j++)
                    {
                        ReadOnlySpan<int> bc = bt.AsSpan((int)((long)(n0 + j) * d.K), d.K);
                        long sj = 0;
                        for (int k = 0; k < bc.Length; k++)
                        {
                            sj += (long)ar[k] * bc[k];
                        }

                        acc[j] = sj;
                    }
                }

                for (int j = 0; j < cols; j++)
                {
                    int n = n0 + j;
                    int acc32 = unchecked((int)acc[j]);
                    long i = ((long)m * d.N) + n;
                    y[i] = d.Output == QuantOutput.Int32
                        ? acc32
                        : Requantize.Apply(acc32, Requantize.Multiplier(d.AQuant.Scale(0), d.BQuant.Scale(n), d.YQuant!.Scale(0)),
                            d.YQuant.ZeroPoint(0), d.YType.MinValue(), d.YType.MaxValue());
                }
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
