using System.Runtime.Intrinsics;
using ChipKit.Core.Descriptors;

namespace ChipKit.Core.Reference;

/// <summary>
/// Scalar fp32 GEMM oracle: every product and sum in double. Rows run in parallel (each row is independent,
/// so the result does not depend on the thread count).
/// </summary>
public static class GemmReference
{
    /// <summary>Output tile edge (rows of A and columns of B kept in cache together).</summary>
    private const int Block = 16;

    /// <summary>
    /// Computes Y = alpha*op(A)*op(B) + beta*C into <paramref name="values"/> ([M*N], double) and, per element,
    /// |alpha|*sum_k |a*b| + |beta*c| into <paramref name="magnitudes"/> (may be empty to skip).
    /// </summary>
    public static void Run(GemmDesc d, ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> c, double[] values, double[] magnitudes)
    {
        d.Validate();

        // op(A) rows and op(B) columns copied K-contiguous once, so the scalar loops stream both (the column-wise
        // walk of a row-major B missed cache on every k for wide N), in Block x Block tiles of the output so a tile's
        // rows and columns are read from cache, summed with double vectors (see Dot).
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
        Parallel.For(0, (d.M + Block - 1) / Block, mb =>
        {
            int m0 = mb * Block, m1 = Math.Min(d.M, m0 + Block);
            for (int n0 = 0; n0 < d.N; n0 += Block)
            {
                for (int m = m0; m < m1; m++)
                {
                    ReadOnlySpan<float> ar = at.AsSpan((int)((long)m * d.K), d.K);
                    for (int n = n0; n < Math.Min(d.N, n0 + Block); n++)
                    {
                        (double sum, double mag) = Dot(ar, bt.AsSpan((int)((long)n * d.K), d.K));
                        long i = ((long)m * d.N) + n;
                        double y = d.Alpha * sum;
                        double ym = Math.Abs(d.Alpha) * mag;
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
            }
        });
    }

    /// <summary>
    /// sum_k a[k]*b[k] and sum_k |a[k]*b[k]| in double (each product exact), in four interleaved partial sums per
    /// vector lane: the rounding of the double sums (about K * 2^-53 relative to the magnitude) stays far below the
    /// fp32 bound the result is checked against, whatever the order.
    /// </summary>
    private static (double Sum, double Mag) Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        int k = 0;
        double sum = 0, mag = 0;
        if (Vector256.IsHardwareAccelerated && a.Length >= 8)
        {
            Vector256<double> s0 = Vector256<double>.Zero, s1 = s0, g0 = s0, g1 = s0;
            for (; k <= a.Length - 8; k += 8)
            {
                Vector256<float> av = Vector256.Create(a.Slice(k, 8)), bv = Vector256.Create(b.Slice(k, 8));
                Vector256<double> p0 = Vector256.WidenLower(av) * Vector256.WidenLower(bv);
                Vector256<double> p1 = Vector256.WidenUpper(av) * Vector256.WidenUpper(bv);
                s0 += p0;
                s1 += p1;
                g0 += Vector256.Abs(p0);
                g1 += Vector256.Abs(p1);
            }

            sum = Vector256.Sum(s0 + s1);
            mag = Vector256.Sum(g0 + g1);
        }

        for (; k < a.Length; k++)
        {
            double p = (double)a[k] * b[k];
            sum += p;
            mag += Math.Abs(p);
        }

        return (sum, mag);
    }
}
