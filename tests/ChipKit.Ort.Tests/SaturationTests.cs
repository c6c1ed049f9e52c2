using System.Runtime.Intrinsics.X86;
using ChipKit.Core.Descriptors;
using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;
using ChipKit.Ort;

namespace ChipKit.Ort.Tests;

/// <summary>
/// ONNX Runtime's u8 x s8 integer GEMM on an AVX2 host without VNNI (MLAS's vpmaddubsw kernel) is not exact: the
/// products of two adjacent k are summed with int16 saturation. ChipKit's oracle is exact, so those results fail
/// verification (as they must); this test pins down that the difference is exactly that saturation and nothing else.
/// </summary>
public class SaturationTests
{
    [Test]
    public void Ort_u8s8_matmulinteger_equals_int16_saturated_pair_sums_on_avx2_without_vnni()
    {
        if (!Avx2.IsSupported || AvxVnni.IsSupported || Avx512F.IsSupported)
        {
            Assert.Ignore("MLAS takes its vpmaddubsw u8 x s8 path only on AVX2 hosts without VNNI / AVX-512");
        }

        var wl = (QGemmWorkload)WorkloadSpec.Parse("qgemm:m=17,n=23,k=31,dtype=u8,wtype=s8,out=i32");
        using var kernel = new OrtKernel(wl, 1);
        var data = (QGemmData)wl.CreateData(1);
        kernel.Prepare(data);
        kernel.Run();

        VerifyOutcome v = wl.Verify(data, wl.ComputeReference(data));
        Assert.That(v.Passed, Is.False, "the exact oracle must reject the saturated results");
        Assert.That(data.Y32, Is.EqualTo(SaturatedModel(wl.Desc, data.A, data.B)));
    }

    /// <summary>acc = Σ_pairs sat16(a[k]b[k] + a[k+1]b[k+1]) - b_zp Σa - a_zp Σb + K a_zp b_zp (MLAS applies zero points afterwards).</summary>
    private static int[] SaturatedModel(QGemmDesc d, byte[] a, byte[] b)
    {
        var y = new int[d.M * d.N];
        for (int m = 0; m < d.M; m++)
        {
            for (int n = 0; n < d.N; n++)
            {
                long raw = 0, sa = 0, sb = 0;
                for (int k = 0; k < d.K; k += 2)
                {
                    int p = a[(m * d.K) + k] * (sbyte)b[(k * d.N) + n];
                    if (k + 1 < d.K)
                    {
                        p += a[(m * d.K) + k + 1] * (sbyte)b[((k + 1) * d.N) + n];
                    }

                    raw += Math.Clamp(p, short.MinValue, short.MaxValue);
                }

                for (int k = 0; k < d.K; k++)
                {
                    sa += a[(m * d.K) + k];
                    sb += (sbyte)b[(k * d.N) + n];
                }

                int az = d.AQuant.ZeroPoint(0), bz = d.BQuant.ZeroPoint(n);
                y[(m * d.N) + n] = (int)(raw - (bz * sa) - (az * sb) + ((long)d.K * az * bz));
            }
        }

        return y;
    }
}
