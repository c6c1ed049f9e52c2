using ChipKit.Core.Devices;
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
        TestSupport.Check(wl, new QConvNaiveKernel(wl.Desc), seed: 3);
        if (QConvNchwKernel.Supports(wl.Desc))
        {
            Assert.That(kernel.Name, Does.Contain(".nchw."), "NCHW int8 convs take the weights-as-A kernel");
            Assert.Throws<ArgumentException>(() => _ = new QConvPackedKernel(wl.Desc, SimdWidth.V256, 1));
            CheckNchw(wl, seed: 4);
        }
        else
        {
            Assert.That(kernel.Name, Does.Contain(".im2col."), "NHWC int8 convs take the im2col kernel");
            TestSupport.Check(wl, new QConvPackedKernel(wl.Desc, SimdWidth.V512, 1, TestSupport.Tiny), seed: 3);
            TestSupport.Check(wl, new QConvPackedKernel(wl.Desc, SimdWidth.Scalar, 1), seed: 3);
        }
    }

    /// <summary>The NCHW kernel at every width, on tiny blocks (every KC/MC boundary) and with 3 threads.</summary>
    private static void CheckNchw(QConvWorkload wl, int seed)
    {
        foreach (SimdWidth w in TestSupport.AllWidths)
        {
            TestSupport.Check(wl, new QConvNchwKernel(wl.Desc, w, 1), seed: seed);
        }

        TestSupport.Check(wl, new QConvNchwKernel(wl.Desc, SimdWidth.V256, 1, TestSupport.Tiny), seed: seed + 1);
        TestSupport.Check(wl, new QConvNchwKernel(wl.Desc, QGemm.BestWidth, 3, TestSupport.Tiny), seed: seed + 2);
    }

    /// <summary>
    /// Rows long enough for the NCHW kernel's vector packing (8 pixels at unit stride, 16 bytes at stride 2) next to
    /// its scalar tails, clipped by every pad, odd channel counts (the last pair's high half is 0), dilation, groups,
    /// output rows shorter and longer than a sliver, a ResNet-like 1x1 and the 7x7 stride-2 stem.
    /// </summary>
    private static readonly string[] NchwRows =
    [
        "n=1,c=3,h=30,w=45,k=13,r=7,s=7,stride=2,pad=3",
        "n=2,c=5,h=9,w=37,k=7,r=3,s=3,pad=1",
        "n=1,c=8,h=6,w=33,k=16,r=1,s=1",
        "n=1,c=7,h=11,w=40,k=11,r=1,s=1,stride=2",
        "n=1,c=6,h=8,w=41,k=9,r=3,s=3,stride=2,pad=1",
        "n=1,c=4,h=10,w=50,k=6,r=3,s=5,stride_h=1,stride_w=2,pad_top=0,pad_left=4,pad_bottom=2,pad_right=1,dilation_w=3",
        "n=1,c=9,h=7,w=24,k=12,r=3,s=3,pad=2,dilation=2,groups=3",
        "n=1,c=1,h=5,w=70,k=3,r=2,s=9,pad_left=8,pad_right=0",
        "n=1,c=32,h=14,w=14,k=20,r=3,s=3,pad=1",
    ];

    private static IEnumerable<TestCaseData> NchwCases()
    {
        int i = 0;
        foreach (string g in NchwRows)
        {
            string types = TypeMixes[i % 4];
            string output = (i % 3) == 0 ? "i32" : "q";
            int perChannel = (i / 2) % 2, bias = (i + 1) % 2;
            i++;
            yield return new TestCaseData($"qconv:{g},{types},out={output},perchannel={perChannel},bias={bias}");
        }
    }

    [TestCaseSource(nameof(NchwCases))]
    public void QConv_nchw_kernel_vector_rows_are_bit_exact(string spec) => CheckNchw((QConvWorkload)WorkloadSpec.Parse(spec), seed: 11);

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

    private static IEnumerable<TestCaseData> SkinnySpecs()
    {
        int i = 0;
        foreach (int n in new[] { 1, 2, 3, 4 })
        {
            foreach ((int m, int k) in new[] { (1, 1), (2, 15), (3, 16), (65, 17), (130, 33), (7, 300), (129, 1000) })
            {
                string types = TypeMixes[i % 4];
                string output = (i / 4 % 2) == 0 ? "q" : "i32";
                int perChannel = (i / 3) % 2;
                i++;
                yield return new TestCaseData($"qgemm:m={m},n={n},k={k},{types},out={output},perchannel={perChannel}");
            }
        }
    }

    [TestCaseSource(nameof(SkinnySpecs))]
    public void QGemm_skinny_is_bit_exact(string spec)
    {
        var wl = (QGemmWorkload)WorkloadSpec.Parse(spec);
        TestSupport.Check(wl, new QGemmSkinnyKernel(wl.Desc, true, 1), seed: 4);
        TestSupport.Check(wl, new QGemmSkinnyKernel(wl.Desc, false, 1), seed: 5);
        TestSupport.Check(wl, new QGemmSkinnyKernel(wl.Desc, true, 3), seed: 6);
        using var dev = new CpuDevice(1);
        using IKernel chosen = dev.CreateKernel(wl)!;
        Assert.That(chosen.Name, Does.Contain(".skinny."), "N <= 4 takes the skinny kernel");
    }

    [Test]
    public void QGemm_wider_than_skinny_takes_the_packed_kernel()
    {
        using var dev = new CpuDevice(1);
        using IKernel k = dev.CreateKernel(WorkloadSpec.Parse($"qgemm:m=8,n={QGemmSkinnyKernel.MaxN + 1},k=8,dtype=u8,wtype=s8"))!;
        Assert.That(k.Name, Does.Contain(".pmaddwd."));
        Assert.Throws<ArgumentException>(() => _ = new QGemmSkinnyKernel(((QGemmWorkload)WorkloadSpec.Parse("qgemm:m=8,n=5,k=8")).Desc, true, 1));
    }

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

            // The same zero points on 1 to 4 columns, through the skinny kernel.
            for (int cols = 1; cols <= QGemmSkinnyKernel.MaxN; cols++)
            {
                var sd = desc with { N = cols, BQuant = TestSupport.Params(0.01f, bq.ZeroPoints.Take(cols).ToArray()) };
                TestSupport.Check(new QGemmWorkload(sd), new QGemmSkinnyKernel(sd, true, 2));
                TestSupport.Check(new QGemmWorkload(sd), new QGemmSkinnyKernel(sd, false, 1));
            }
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
                if (layout == TensorLayout.Nchw)
                {
                    TestSupport.Check(wl, new QConvNchwKernel(desc, QGemm.BestWidth, 1));
                    TestSupport.Check(wl, new QConvNchwKernel(desc, SimdWidth.V128, 2, TestSupport.Tiny));
                }
                else
                {
                    TestSupport.Check(wl, new QConvPackedKernel(desc, QGemm.BestWidth, 1));
                    TestSupport.Check(wl, new QConvPackedKernel(desc, SimdWidth.V128, 2, TestSupport.Tiny));
                }
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
        IEnumerable<IKernel> kernels = TestSupport.AllWidths.Select(w => (IKernel)new QGemmPackedKernel(desc, w, 1))
            .Append(new QGemmSkinnyKernel(desc, true, 1)).Append(new QGemmSkinnyKernel(desc, false, 1));
        foreach (IKernel kernel in kernels)
        {
            wl.PoisonOutput(data);
            kernel.Prepare(data);
            kernel.Run();
            Assert.That(wl.Verify(data, expected).Passed, Is.True, kernel.Name);
        }
    }

    [Test]
    public void Device_names_quant_kernels()
    {
        using var dev = new CpuDevice(1);
        using var q = dev.CreateKernel(WorkloadSpec.Parse("qgemm:m=4,n=16,k=4,dtype=u8,wtype=s8"))!;
        Assert.That(q.Name, Is.EqualTo($"cpu.qgemm.u8s8.pmaddwd.{SimdHost.Suffix(QGemm.BestWidth)}"));
    }

    /// <summary>
    /// The input that breaks saturating vpmaddubsw: all-255 u8 activations against weights alternating -128 and 127
    /// (pairs sum to 255*127 + 255*127 = 64770 &gt; 32767), zero points 0, int32 and requantised outputs.
    /// </summary>
    [TestCase(true)]
    [TestCase(false)]
    public void Adversarial_all_255_against_minus128_and_127_is_exact(bool quantized)
    {
        DataType yt = quantized ? DataType.U8 : DataType.S32;
        QuantParams? yq = quantized ? QuantParams.PerTensor(40f, 3) : null;
        QuantOutput output = quantized ? QuantOutput.Quantized : QuantOutput.Int32;

        var conv = new Conv2dDesc(1, 64, 12, 20, 24, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1);
        foreach (TensorLayout layout in new[] { TensorLayout.Nchw, TensorLayout.Nhwc })
        {
            var desc = new QConv2dDesc(conv with { Layout = layout }, DataType.U8, DataType.S8, yt, QuantParams.PerTensor(1f, 0), QuantParams.PerTensor(1f, 0), yq, false, output);
            var x = new byte[conv.InputElements];
            Array.Fill(x, (byte)255);
            var w = new byte[conv.WeightElements];
            for (int i = 0; i < w.Length; i++)
            {
                w[i] = unchecked((byte)(sbyte)(i % 2 == 0 ? -128 : 127));
            }

            var data = new QConvData(desc, x, w, null);
            var wl = new QConvWorkload(desc);
            Expected expected = wl.ComputeReference(data);
            IKernel[] kernels = layout == TensorLayout.Nchw
                ? [new QConvNchwKernel(desc, QGemm.BestWidth, 2), new QConvNchwKernel(desc, SimdWidth.V128, 1), new QConvNchwKernel(desc, SimdWidth.Scalar, 1)]
                : [new QConvPackedKernel(desc, QGemm.BestWidth, 2)];
            foreach (IKernel kernel in kernels)
            {
                wl.PoisonOutput(data);
                kernel.Prepare(data);
                kernel.Run();
                VerifyOutcome v = wl.Verify(data, expected);
                Assert.That(v.Passed, Is.True, $"{kernel.Name} {layout}: {v.Message}");
            }
        }

        const int m = 13, n = 40, k = 300;
        var gd = new QGemmDesc(m, n, k, DataType.U8, DataType.S8, yt, QuantParams.PerTensor(1f, 0), QuantParams.PerTensor(1f, 0), yq, output);
        var a = new byte[m * k];
        Array.Fill(a, (byte)255);
        var b = new byte[k * n];
        for (int i = 0; i < b.Length; i++)
        {
            b[i] = unchecked((byte)(sbyte)((i / n) % 2 == 0 ? -128 : 127));
        }

        var gdata = new QGemmData(gd, a, b);
        var gwl = new QGemmWorkload(gd);
        Expected gexp = gwl.ComputeReference(gdata);
        foreach (SimdWidth sw in TestSupport.AllWidths)
        {
            var kernel = new QGemmPackedKernel(gd, sw, 2);
            gwl.PoisonOutput(gdata);
            kernel.Prepare(gdata);
            kernel.Run();
            VerifyOutcome v = gwl.Verify(gdata, gexp);
            Assert.That(v.Passed, Is.True, $"{kernel.Name}: {v.Message}");
        }

        // Four columns of the same through the skinny kernel (B rows alternate -128 / 127 down K).
        var sd = gd with { N = 4 };
        var sb = new byte[k * 4];
        for (int i = 0; i < sb.Length; i++)
        {
            sb[i] = unchecked((byte)(sbyte)((i / 4) % 2 == 0 ? -128 : 127));
        }

        var sdata = new QGemmData(sd, a, sb);
        var swl = new QGemmWorkload(sd);
        Expected sexp = swl.ComputeReference(sdata);
        foreach (bool vector in new[] { true, false })
        {
            var kernel = new QGemmSkinnyKernel(sd, vector, 2);
            swl.PoisonOutput(sdata);
            kernel.Prepare(sdata);
            kernel.Run();
            VerifyOutcome v = swl.Verify(sdata, sexp);
            Assert.That(v.Passed, Is.True, $"{kernel.Name}: {v.Message}");
        }
    }

    /// <summary>
    /// The vectorised requantisation against Requantize.Apply element by element: exact ties (x.5 with both parities),
    /// saturation at both ends, accumulators near the int32 limits with a bias that wraps, s8 and u8 outputs, a
    /// non-finite multiplier (scalar rule), and run lengths that leave vector tails.
    /// </summary>
    [Test]
    public void Vector_requantisation_equals_the_scalar_rule()
    {
        var rng = new Random(5);
        double[] multipliers = [0.5, 0.25, 1.0 / 3, 0.0001234, 1e-7, 3.75, 0.999999999, double.PositiveInfinity];
        foreach ((int min, int max) in new[] { (0, 255), (-128, 127) })
        {
            foreach (int len in new[] { 1, 7, 8, 9, 31, 64, 101 })
            {
                foreach (double m in multipliers)
                {
                    int[] acc = new int[len];
                    for (int i = 0; i < len; i++)
                    {
                        acc[i] = (i % 5) switch
                        {
                            0 => rng.Next(-1000, 1000),
                            1 => int.MaxValue - rng.Next(0, 3),
                            2 => int.MinValue + rng.Next(0, 3),
                            3 => (2 * rng.Next(-300, 300)) + 1,
                            _ => rng.Next(),
                        };
                    }

                    int bias = rng.Next(-10, 10), zp = rng.Next(min, max + 1);
                    var y = new byte[len];
                    RequantRun.Uniform(acc, bias, m, zp, min, max, y);
                    for (int i = 0; i < len; i++)
                    {
                        byte expect = QuantOps.Store8(Requantize.Apply(unchecked(acc[i] + bias), m, zp, min, max));
                        Assert.That(y[i], Is.EqualTo(expect), $"uniform m={m} len={len} i={i} acc={acc[i]}");
                    }

                    double[] ms = Enumerable.Range(0, len).Select(i => multipliers[(i + len) % (multipliers.Length - 1)]).ToArray();
                    int[] biases = Enumerable.Range(0, len).Select(_ => rng.Next(-5000, 5000)).ToArray();
                    RequantRun.PerElement(acc, biases, ms, RequantRun.AllFinite(ms), zp, min, max, y);
                    for (int i = 0; i < len; i++)
                    {
                        byte expect = QuantOps.Store8(Requantize.Apply(unchecked(acc[i] + biases[i]), ms[i], zp, min, max));
                        Assert.That(y[i], Is.EqualTo(expect), $"per-element len={len} i={i} acc={acc[i]} m={ms[i]}");
                    }
                }
            }
        }
    }
}
