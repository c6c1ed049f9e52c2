using System.Runtime.Intrinsics;
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
        // cache on every k for wide N), in 16 x 16 output tiles whose rows and columns stay in cache. Sums wrap in int32 as ONNX's accumulator does; integer sums are exact in
        // any order, so the vector form cannot change a value.
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
        const int block = 16;
        Parallel.For(0, (d.M + block - 1) / block, mb =>
        {
            int m0 = mb * block, m1 = Math.Min(d.M, m0 + block);
            for (int n0 = 0; n0 < d.N; n0 += block)
            {
                for (int m = m0; m < m1; m++)
                {
                    ReadOnlySpan<int> ar = at.AsSpan((int)((long)m * d.K), d.K);
                    for (int n = n0; n < Math.Min(d.N, n0 + block); n++)
                    {
                        int acc32 = Dot(ar, bt.AsSpan((int)((long)n * d.K), d.K));
                        long i = ((long)m * d.N) + n;
                        y[i] = d.Output == QuantOutput.Int32
                            ? acc32
                            : Requantize.Apply(acc32, Requantize.Multiplier(d.AQuant.Scale(0), d.BQuant.Scale(n), d.YQuant!.Scale(0)),
                                d.YQuant.ZeroPoint(0), d.YType.MinValue(), d.YType.MaxValue());
                    }
                }
            }
        });
        return y;
    }

    /// <summary>sum_k a[k]*b[k] wrapping in int32 (each product exact: |a|, |b| &lt;= 255).</summary>
    private static int Dot(ReadOnlySpan<int> a, ReadOnlySpan<int> b)
    {
        int k = 0, sum = 0;
        if (Vector256.IsHardwareAccelerated && a.Length >= 8)
        {
            Vector256<int> s0 = Vector256<int>.Zero;
            for (; k <= a.Length - 8; k += 8)
            {
                s0 += Vector256.Create(a.Slice(k, 8)) * Vector256.Create(b.Slice(k, 8));
            }

            sum = Vector256.Sum(s0);
        }

        for (; k < a.Length; k++)
        {
            sum = unchecked(sum + (a[k] * b[k]));
        }

        return sum;
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
