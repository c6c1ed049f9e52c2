using ChipKit.Core.Descriptors;
using ChipKit.Core.Reference;

namespace ChipKit.Tests;

/// <summary>
/// The GEMM oracles copy op(A) rows and op(B) columns K-contiguous and sum with vectors; each output must still be
/// the plain triple loop's: fp32 within K * 2^-52 of the magnitude (double sums in another order, far below the
/// fp32 bound kernels are checked against), int8 exactly (the same wrapped int32).
/// </summary>
public class ReferenceBlockingTests
{
    [TestCase(1, 1, 1, false, false)]
    [TestCase(5, 7, 9, false, false)]
    [TestCase(6, 4, 13, true, false)]
    [TestCase(3, 9, 17, false, true)]
    [TestCase(8, 11, 5, true, true)]
    [TestCase(4, 6, 1001, true, false)]
    public void Fp32_oracle_equals_the_plain_triple_loop(int m, int n, int k, bool ta, bool tb)
    {
        var rng = new Random(m * 100 + n * 10 + k);
        var d = new GemmDesc(m, n, k, ta, tb, 0.75f, 1.5f);
        float[] a = Enumerable.Range(0, m * k).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        float[] b = Enumerable.Range(0, k * n).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        float[] c = Enumerable.Range(0, m * n).Select(_ => (float)rng.NextDouble()).ToArray();
        var values = new double[m * n];
        var mags = new double[m * n];
        GemmReference.Run(d, a, b, c, values, mags);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0, mag = 0;
                for (int p = 0; p < k; p++)
                {
                    double av = ta ? a[(p * m) + i] : a[(i * k) + p];
                    double bv = tb ? b[(j * k) + p] : b[(p * n) + j];
                    sum += av * bv;
                    mag += Math.Abs(av * bv);
                }

                double y = (0.75 * sum) + (1.5 * (double)c[(i * n) + j]);
                double ym = (0.75 * mag) + Math.Abs(1.5 * (double)c[(i * n) + j]);
                double tol = k * Math.Pow(2, -52) * ym;
                Assert.That(values[(i * n) + j], Is.EqualTo(y).Within(tol), $"value ({i},{j})");
                Assert.That(mags[(i * n) + j], Is.EqualTo(ym).Within(tol), $"magnitude ({i},{j})");
            }
        }
    }

    [TestCase(1, 1, 1, QuantOutput.Int32)]
    [TestCase(7, 9, 33, QuantOutput.Int32)]
    [TestCase(5, 4, 20, QuantOutput.Quantized)]
    [TestCase(3, 13, 40000, QuantOutput.Int32)]
    public void Int8_oracle_equals_the_plain_triple_loop(int m, int n, int k, QuantOutput output)
    {
        var rng = new Random(m + n + k);
        byte[] a = Enumerable.Range(0, m * k).Select(_ => (byte)rng.Next(256)).ToArray();
        byte[] b = Enumerable.Range(0, k * n).Select(_ => (byte)rng.Next(256)).ToArray();
        int[] bZp = Enumerable.Range(0, n).Select(j => j % 2 == 0 ? -128 : 127).ToArray();
        var bq = new QuantParams(Enumerable.Repeat(0.02f, n).ToArray(), bZp);
        QuantParams? yq = output == QuantOutput.Quantized ? QuantParams.PerTensor(0.5f, 10) : null;
        var d = new QGemmDesc(m, n, k, DataType.U8, DataType.S8, output == QuantOutput.Quantized ? DataType.U8 : DataType.S32,
            QuantParams.PerTensor(0.1f, 255), bq, yq, output);
        int[] y = QuantReference.Gemm(d, a, b);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                int acc = 0;
                for (int p = 0; p < k; p++)
                {
                    acc = unchecked(acc + ((a[(i * k) + p] - 255) * ((sbyte)b[(p * n) + j] - bZp[j])));
                }

                int expect = output == QuantOutput.Int32 ? acc
                    : Requantize.Apply(acc, Requantize.Multiplier(0.1f, 0.02f, 0.5f), 10, 0, 255);
                Assert.That(y[(i * n) + j], Is.EqualTo(expect), $"({i},{j})");
            }
        }
    }
}
