using ChipKit.Core.Descriptors;

namespace ChipKit.Core.Reference;

/// <summary>
/// Scalar fp32 GEMM oracle: every product and sum in double. Rows run in parallel (each row is independent,
/// so the result does not depend on the thread count).
/// </summary>
public static class GemmReference
{
    /// <summary>
    /// Computes Y = alpha*op(A)*op(B) + beta*C into <paramref name="values"/> ([M*N], double) and, per element,
    /// |alpha|*sum_k |a*b| + |beta*c| into <paramref name="magnitudes"/> (may be empty to skip).
    /// </summary>
    public static void Run(GemmDesc d, ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> c, double[] values, double[] magnitudes)
    {
        d.Validate();

        // op(A) rows and op(B) columns copied K-contiguous once, so the scalar loops stream both (the column-wise
        // walk of a row-major B missed cache on every k for wide N). Four columns share each pass over an A row, as
        // four independent sums; every element's sum still runs over k in order, in double, so the values are
        // those of the plain triple loop.
        float[] at = new float[(long)d.M * d.K], bt = new float[(long)d.N * d.K], cc = c.ToArray();
        for (long m = 0; m < d.M; m++)
        {
            for (long k = 0; k < d.K; k++)
            {
                at[(m * d.K) + k] = d.TransA ? a[(int)((k * d.M) + m)] : a[(int)((m * d.K) + k)];
            }
        }

        for (long n = 0; n < d.N; n++)
        {
            for (long k = 0; k < d.K; k++)
            {
                bt[(n * d.K) + k] = d.TransB ? b[(int)((n * d.K) + k)] : b[(int)((k * d.N) + n)];
            }
        }

        bool withMag = magnitudes.Length > 0;
        Parallel.For(0, d.M, m =>
        {
            ReadOnlySpan<float> ar = at.AsSpan((int)((long)m * d.K), d.K);
            Span<double> sum = stackalloc double[4], mag = stackalloc double[4];
            for (int n0 = 0; n0 < d.N; n0 += 4)
            {
                int cols = Math.Min(4, d.N - n0);
                if (cols == 4)
                {
                    // Four independent sums per pass over the A row (latency of the double adds hidden).
                    ReadOnlySpan<float> b0 = bt.AsSpan((int)((long)n0 * d.K), d.K), b1 = bt.AsSpan((int)((long)(n0 + 1) * d.K), d.K);
                    ReadOnlySpan<float> b2 = bt.AsSpan((int)((long)(n0 + 2) * d.K), d.K), b3 = bt.AsSpan((int)((long)(n0 + 3) * d.K), d.K);
                    double s0 = 0, s1 = 0, s2 = 0, s3 = 0, g0 = 0, g1 = 0, g2 = 0, g3 = 0;
                    for (int k = 0; k < ar.Length; k++)
                    {
                        double av = ar[k];
                        double p0 = av * b0[k], p1 = av * b1[k], p2 = av * b2[k], p3 = av * b3[k];
                        s0 += p0;
                        s1 += p1;
                        s2 += p2;
                        s3 += p3;
                        g0 += Math.Abs(p0);
                        g1 += Math.Abs(p1);
                        g2 += Math.Abs(p2);
                        g3 += Math.Abs(p3);
                    }

                    (sum[0], sum[1], sum[2], sum[3]) = (s0, s1, s2, s3);
                    (mag[0], mag[1], mag[2], mag[3]) = (g0, g1, g2, g3);
                }
                else
                {
                    for (int j = 0; j < cols; j++)
                    {
                        ReadOnlySpan<float> bc = bt.AsSpan((int)((long)(n0 + j) * d.K), d.K);
                        double sj = 0, gj = 0;
                        for (int k = 0; k < bc.Length; k++)
                        {
                            double p = (double)ar[k] * bc[k];
                            sj += p;
                            gj += Math.Abs(p);
                        }

                        sum[j] = sj;
                        mag[j] = gj;
                    }
                }

                for (int j = 0; j < cols; j++)
                {
                    long i = ((long)m * d.N) + n0 + j;
                    double y = d.Alpha * sum[j];
                    double ym = Math.Abs(d.Alpha) * mag[j];
                    if (d.Beta != 0f)
                    {
                        y += d.Beta * (double)cc[i];
                        ym += Math.Abs(d.Beta * (double)cc[i]);
                    }

                    values[i] = y;
                    if (withMag)
                    {
                        magnitudes[i] = ym;
                    }
                }
            }
        });
    }
}
