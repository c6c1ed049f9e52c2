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
        float[] aa = a.ToArray(), bb = b.ToArray(), cc = c.ToArray();
        bool withMag = magnitudes.Length > 0;
        Parallel.For(0, d.M, m =>
        {
            for (int n = 0; n < d.N; n++)
            {
                double sum = 0, mag = 0;
                for (int k = 0; k < d.K; k++)
                {
                    double av = d.TransA ? aa[((long)k * d.M) + m] : aa[((long)m * d.K) + k];
                    double bv = d.TransB ? bb[((long)n * d.K) + k] : bb[((long)k * d.N) + n];
                    sum += av * bv;
                    mag += Math.Abs(av * bv);
                }

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
        });
    }
}
