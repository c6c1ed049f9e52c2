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

/// <summary>
/// ONNX Runtime's QLinearMatMul requantises in float: multiplier = a_scale * b_scale / y_scale in float, then
/// float(acc) * multiplier in float, clamp, round half to even, + y_zp (MLAS's requantize output processor). ChipKit's
/// oracle uses double (Requantize.cs), so ORT differs by 1 on the few outputs where the two roundings part. This test
/// shows that ORT matches the float rule on every output, and that its mismatches with the oracle are exactly those.
/// </summary>
public class FloatRequantizationTests
{
    [TestCase("qgemm:m=256,n=256,k=256,dtype=u8,wtype=u8", 1)]
    [TestCase("qgemm:m=300,n=280,k=512,dtype=s8,wtype=s8,perchannel=1", 2)]
    public void Ort_qlinearmatmul_equals_the_float_requantisation_rule(string spec, int seed)
    {
        var wl = (QGemmWorkload)WorkloadSpec.Parse(spec);
        QGemmDesc d = wl.Desc;
        using var kernel = new OrtKernel(wl, 1);
        var data = (QGemmData)wl.CreateData(seed);
        kernel.Prepare(data);
        kernel.Run();

        bool aSigned = d.AType == DataType.S8, bSigned = d.BType == DataType.S8, ySigned = d.YType == DataType.S8;
        int yMin = d.YType.MinValue(), yMax = d.YType.MaxValue(), yZp = d.YQuant!.ZeroPoint(0);
        long floatRuleMatches = 0, ruleDiffers = 0, ortDiffersFromOracle = 0;
        var acc = new int[d.N];
        for (int m = 0; m < d.M; m++)
        {
            Array.Clear(acc);
            for (int k = 0; k < d.K; k++)
            {
                int a = (aSigned ? (sbyte)data.A[(m * d.K) + k] : data.A[(m * d.K) + k]) - d.AQuant.ZeroPoint(0);
                for (int n = 0; n < d.N; n++)
                {
                    int b = bSigned ? (sbyte)data.B[(k * d.N) + n] : data.B[(k * d.N) + n];
                    acc[n] += a * (b - d.BQuant.ZeroPoint(n));
                }
            }

            for (int n = 0; n < d.N; n++)
            {
                float mf = d.AQuant.Scale(0) * d.BQuant.Scale(n) / d.YQuant.Scale(0);
                float v = Math.Clamp(acc[n] * mf, yMin - yZp, yMax - yZp);
                int floatRule = (int)MathF.Round(v, MidpointRounding.ToEven) + yZp;
                int doubleRule = Requantize.Apply(acc[n], Requantize.Multiplier(d.AQuant.Scale(0), d.BQuant.Scale(n), d.YQuant.Scale(0)), yZp, yMin, yMax);
                byte raw = data.Y8![(m * d.N) + n];
                int ort = ySigned ? (sbyte)raw : raw;
                floatRuleMatches += ort == floatRule ? 1 : 0;
                ruleDiffers += floatRule != doubleRule ? 1 : 0;
                ortDiffersFromOracle += ort != doubleRule ? 1 : 0;
            }
        }

        TestContext.Out.WriteLine($"{spec}: ORT = float rule on {floatRuleMatches} of {(long)d.M * d.N}; float and double rules differ on {ruleDiffers}; ORT differs from the oracle on {ortDiffersFromOracle}");
        Assert.That(floatRuleMatches, Is.EqualTo((long)d.M * d.N));
        Assert.That(ortDiffersFromOracle, Is.EqualTo(ruleDiffers));
        VerifyOutcome v2 = wl.Verify(data, wl.ComputeReference(data));
        Assert.That(v2.Mismatches, Is.EqualTo(ortDiffersFromOracle), "the oracle counts the same mismatches");
    }
}
