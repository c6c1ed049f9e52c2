using ChipKit.Core.Descriptors;
using ChipKit.Core.Workloads;
using ChipKit.Cpu;

namespace ChipKit.Cpu.Tests;

[TestFixture]
public class QuantTests
{
    private static readonly string[] TypeMixes = ["dtype=u8,wtype=u8", "dtype=u8,wtype=s8", "dtype=s8,wtype=u8", "dtype=s8,wtype=s8"];

    private static IEnumerable<TestCaseData> QGemmSpecs()
    {
        int i = 0;
        foreach ((int m, int n, int k) in TestSupport.SampledTriples(24, 11, 1_500_000))
        {
            string types = TypeMixes[i % 4];
            string output = (i / 4 % 2) == 0 ? "q" : "i32";
            int perChannel = (i / 2) % 2;
            i++;
            yield return new TestCaseData($"qgemm:m={m},n={n},k={k},{types},out={output},perchannel={perChannel}");
        }

        yield return new TestCaseData("qgemm:m=257,n=129,k=257,dtype=u8,wtype=s8,out=q,perchannel=1");
        yield return new TestCaseData("qgemm:m=1,n=1,k=1,dtype=s8,wtype=s8,out=i32");
    }

    [TestCaseSource(nameof(QGemmSpecs))]
    public void QGemm_is_bit_exact_at_every_width(string spec)
    {
        var wl = (QGemmWorkload)WorkloadSpec.Parse(spec);
        foreach (SimdWidth w in TestSupport.AllWidths)
        {
            TestSupport.Check(wl, new QGemmPackedKernel(wl.Desc, w, 1));
        }

        TestSupport.Check(wl, new QGemmPackedKernel(wl.Desc, QGemm.BestWidth, 3, TestSupport.Tiny), seed: 9);
    }

    private static IEnumerable<TestCaseData> QConvSpecs()
    {
        int i = 0;
        foreach (string g in ConvTests.Geometries.Concat(ConvTests.Depthwise))
        {
            foreach (string layout in new[] { "nchw", "nhwc" })
            {
                string types = TypeMixes[i % 4];
                string output = (i % 3) == 0 ? "i32" : "q";
                int perChannel = (i / 2) % 2, bias = (i / 3) % 2;
                i++;
                yield return new TestCaseData($"qconv:{g},layout={layout},{types},out={output},perchannel={perChannel},bias={bias}");
            }
        }
    }

    [TestCaseSource(nameof(QConvSpecs))]
    public void QConv_is_bit_exact(string spec)
    {
        var wl = (QConvWorkload)WorkloadSpec.Parse(spec);
        using var dev = new CpuDevice(2);
        using var kernel = dev.CreateKernel(wl)!;
        Assert.That(kernel.Name, Does.StartWith("cpu.qconv."));
        TestSupport.Check(wl, kernel);
        TestSupport.Check(wl, new QConvPackedKernel(wl.Desc, SimdWidth.V512, 1, TestSupport.Tiny), seed: 3);
        TestSupport.Check(wl, new QConvPackedKernel(wl.Desc, SimdWidth.Scalar, 1), seed: 3);
        TestSupport.Check(wl, new QConvNaiveKernel(wl.Desc), seed: 3);
    }

    private static IEnumerable<TestCaseData> ExtremeZeroPoints()
    {
        foreach (DataType a in new[] { DataType.U8, DataType.S8 })
        {
            foreach (DataType b in new[] { DataType.U8, DataType.S8 })
            {
                foreach (bool quantized in new[] { true, false })
                {
                    yield return new TestCaseData(a, b, quantized);
                }
            }
        }
    }

    private static (int Lo, int Hi) Range(DataType t) => (t.MinValue(), t.MaxValue());

    [TestCaseSource(nameof(ExtremeZeroPoints))]
    public void QGemm_extreme_zero_points(DataType at, DataType bt, bool quantized)
    {
        const int m = 19, n = 37, k = 67;
        (int aLo, int aHi) = Range(at);
        (int bLo, int bHi) = Range(bt);
        foreach (int aZp in new[] { aLo, aHi })
        {
            QuantParams bq = TestSupport.Params(0.01f, Enumerable.Range(0, n).Select(j => (j % 3) switch { 0 => bLo, 1 => bHi, _ => 0 }).Select(z => Math.Clamp(z, bLo, bHi)).ToArray());
            DataType yt = quantized ? at : DataType.S32;
            QuantParams? yq = quantized ? QuantParams.PerTensor(0.03f * 0.01f * 255f * 255f * 8f / 127f, aZp == aLo ? yt.MaxValue() : yt.MinValue()) : null;
            var desc = new QGemmDesc(m, n, k, at, bt, yt, QuantParams.PerTensor(0.03f, aZp), bq, yq, quantized ? QuantOutput.Quantized : QuantOutput.Int32);
            var wl = new QGemmWorkload(desc);
            foreach (SimdWidth w in TestSupport.AllWidths)
            {
                TestSupport.Check(wl, new QGemmPackedKernel(desc, w, 2, TestSupport.Tiny));
            }

            TestSupport.Check(wl, new QGemmNaiveKernel(desc));
        }
    }

    [TestCaseSource(nameof(ExtremeZeroPoints))]
    public void QConv_extreme_zero_points(DataType xt, DataType wt, bool quantized)
    {
        var conv = new Conv2dDesc(1, 6, 7, 8, 10, 3, 3, PadTop: 1, PadLeft: 2, PadBottom: 0, PadRight: 1, StrideH: 2, Groups: 2);
        (int xLo, int xHi) = Range(xt);
        (int wLo, int wHi) = Range(wt);
        foreach (TensorLayout layout in new[] { TensorLayout.Nchw, TensorLayout.Nhwc })
        {
            foreach (int xZp in new[] { xLo, xHi })
            {
                QuantParams wq = TestSupport.Params(0.02f, Enumerable.Range(0, conv.K).Select(j => j % 2 == 0 ? wLo : wHi).ToArray());
                DataType yt = quantized ? xt : DataType.S32;
                QuantParams? yq = quantized ? QuantParams.PerTensor(0.05f * 0.02f * 255f * 255f * 6f / 127f, xt == DataType.U8 ? 255 : -128) : null;
                var desc = new QConv2dDesc(conv with { Layout = layout }, xt, wt, yt, QuantParams.PerTensor(0.05f, xZp), wq, yq, true,
                    quantized ? QuantOutput.Quantized : QuantOutput.Int32);
                var wl = new QConvWorkload(desc);
                TestSupport.Check(wl, new QConvPackedKernel(desc, QGemm.BestWidth, 1));
                TestSupport.Check(wl, new QConvPackedKernel(desc, SimdWidth.V128, 2, TestSupport.Tiny));
            }
        }
    }

    [Test]
    public void QGemm_int32_accumulation_wraps_like_the_oracle()
    {
        // 255 * 255 * 40000 = 2.6e9 > int.MaxValue: the int32 accumulator must wrap exactly as ONNX's does.
        const int k = 40000;
        var desc = new QGemmDesc(2, 3, k, DataType.U8, DataType.U8, DataType.S32, QuantParams.PerTensor(1f, 0), QuantParams.PerTensor(1f, 0), null, QuantOutput.Int32);
        var wl = new QGemmWorkload(desc);
        var a = new byte[2 * k];
        var b = new byte[k * 3];
        Array.Fill(a, (byte)255);
        Array.Fill(b, (byte)255);
        var data = new QGemmData(desc, a, b);
        var expected = (IntExpected)wl.ComputeReference(data);
        Assert.That(expected.Values[0], Is.LessThan(0), "test precondition: the reference wrapped");
        foreach (SimdWidth w in TestSupport.AllWidths)
        {
            var kernel = new QGemmPackedKernel(desc, w, 1);
            wl.PoisonOutput(data);
            kernel.Prepare(data);
            kernel.Run();
            Assert.That(wl.Verify(data, expected).Passed, Is.True, w.ToString());
        }
    }

    [Test]
    public void Device_names_quant_kernels()
    {
        using var dev = new CpuDevice(1);
        using var q = dev.CreateKernel(WorkloadSpec.Parse("qgemm:m=4,n=4,k=4,dtype=u8,wtype=s8"))!;
        Assert.That(q.Name, Is.EqualTo($"cpu.qgemm.u8s8.pmaddwd.{SimdHost.Suffix(QGemm.BestWidth)}"));
    }
}
