using ChipKit.Core.Descriptors;
using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;

namespace ChipKit.OpenCL.Tests;

/// <summary>
/// Every OpenCL kernel against the oracle on every OpenCL device found (PoCL in CI): fp32 within the workload's bound,
/// integers bit-exact. Shapes sit around the tile boundaries (the CPU tiling is 64x64x32, GPUs 64x64x16 or smaller).
/// </summary>
[TestFixture]
public class ConformanceTests
{
    private static readonly int[] Edge = [1, 3, 31, 32, 33, 63, 64, 65, 127, 130];

    public static IEnumerable<string> GemmSpecs()
    {
        var rng = new Random(7);
        string[] tr = ["", ",ta=1", ",tb=1", ",ta=1,tb=1"];
        for (int i = 0; i < 28; i++)
        {
            int m = Edge[rng.Next(Edge.Length)], n = Edge[rng.Next(Edge.Length)], k = Edge[rng.Next(Edge.Length)];
            yield return $"gemm:m={m},n={n},k={k}{tr[i % 4]}";
        }

        yield return "gemm:m=1,n=1,k=1";
        yield return "gemm:m=64,n=64,k=64";
        yield return "gemm:m=129,n=65,k=33,alpha=0.5,beta=-1.5";
        yield return "gemm:m=33,n=64,k=130,ta=1,tb=1,alpha=-2,beta=1";
        yield return "gemm:m=128,n=128,k=128,tb=1,beta=0.25";
        yield return "gemm:m=5,n=300,k=7,ta=1";
    }

    [TestCaseSource(nameof(GemmSpecs))]
    public void Gemm(string spec) => ClTestSupport.CheckAll(spec);

    public static IEnumerable<string> ConvSpecs() =>
    [
        "conv:c=3,h=7,k=5,r=3",
        "conv:c=4,h=9,w=6,k=8,r=3,s=2,pad=1",
        "conv:n=2,c=6,h=9,w=7,k=4,r=3,s=2,stride_h=2,pad_top=1,pad_bottom=2,pad_left=0,pad_right=1,dilation=2,groups=2,layout=nhwc,bias=1",
        "conv:c=5,h=11,k=7,r=5,stride=2,pad=2",
        "conv:c=8,h=10,k=12,r=3,pad=1,groups=4,bias=1",
        "conv:c=8,h=10,k=12,r=3,pad=1,groups=4,layout=nhwc",
        "conv:c=64,h=14,k=65,r=3,pad=1",
        "conv:c=33,h=9,k=70,r=1,layout=nhwc,bias=1",
        "conv:n=3,c=2,h=5,w=13,k=3,r=2,s=3,stride_w=3,dilation_h=2",
        "conv:c=1,h=1,k=1,r=1",
        "conv:c=7,h=6,k=5,r=6,s=6",
        // depthwise (groups = c = k)
        "conv:c=16,h=10,k=16,r=3,pad=1,groups=16",
        "conv:c=16,h=11,k=16,r=3,pad=1,stride=2,groups=16,layout=nhwc,bias=1",
        "conv:n=2,c=5,h=9,w=12,k=5,r=3,s=5,dilation=2,pad_top=2,pad_left=3,groups=5",
        // multiplier 2 (groups = c, k = 2c) goes through the implicit GEMM
        "conv:c=6,h=8,k=12,r=3,pad=1,groups=6",
    ];

    [TestCaseSource(nameof(ConvSpecs))]
    public void Conv(string spec) => ClTestSupport.CheckAll(spec);

    // The quantised kernels run in both forms explicitly, whatever the device's default (CHIPKIT_OPENCL_INTDOT=auto
    // picks the dot-product form on CPU-type devices such as PoCL): the tiled kernels (qgemm, qconv_igemm), and the
    // dot-product kernels (emulated everywhere, native where the device reports cl_khr_integer_dot_product).
    public static IEnumerable<string> QGemmSpecs() =>
    [
        "qgemm:m=1,n=1,k=1",
        "qgemm:m=1,n=1,k=3",
        "qgemm:m=5,n=7,k=5,dtype=s8,wtype=s8",
        "qgemm:m=19,n=35,k=67,dtype=u8,wtype=s8,perchannel=1",
        "qgemm:m=8,n=17,k=33,dtype=s8,out=i32",
        "qgemm:m=64,n=64,k=64,dtype=u8",
        "qgemm:m=65,n=63,k=130,dtype=s8,wtype=u8,perchannel=1",
        "qgemm:m=130,n=129,k=33,dtype=u8,wtype=s8,out=i32,perchannel=1",
        "qgemm:m=3,n=127,k=31,dtype=s8,wtype=s8",
        "qgemm:m=3,n=127,k=31,dtype=s8,wtype=s8,perchannel=1",
        "qgemm:m=127,n=3,k=65,dtype=u8,wtype=u8,out=i32",
        "qgemm:m=9,n=11,k=4097,dtype=u8,wtype=u8",
    ];

    [TestCaseSource(nameof(QGemmSpecs))]
    public void QGemm_tiled(string spec) => ClTestSupport.CheckQuant(WorkloadSpec.Parse(spec), seed: 1, dot: false);

    [TestCaseSource(nameof(QGemmSpecs))]
    public void QGemm_dot4(string spec) => ClTestSupport.CheckQuant(WorkloadSpec.Parse(spec), seed: 1, dot: true);

    public static IEnumerable<string> QConvSpecs() =>
    [
        "qconv:c=1,h=1,k=1,r=1",
        "qconv:c=8,h=9,k=12,r=3,pad=1,dtype=u8,wtype=s8,perchannel=1,bias=1",
        "qconv:c=4,h=7,k=6,r=1,stride=2,dtype=s8,out=i32",
        "qconv:n=2,c=6,h=9,w=7,k=4,r=3,s=2,stride_h=2,pad_top=1,pad_bottom=2,pad_left=0,pad_right=1,dilation=2,groups=2,layout=nhwc,bias=1,dtype=u8,wtype=s8",
        "qconv:c=16,h=10,k=16,r=3,pad=1,groups=16,dtype=u8,wtype=u8,perchannel=1",
        "qconv:c=65,h=6,k=66,r=3,pad=1,dtype=s8,wtype=s8,out=i32,perchannel=1,bias=1",
        "qconv:c=3,h=12,k=70,r=3,stride=2,pad=1,layout=nhwc,dtype=u8,wtype=s8,perchannel=1",
        "qconv:c=5,h=8,k=7,r=3,pad=2,dtype=s8,wtype=u8,perchannel=1,bias=1",
    ];

    [TestCaseSource(nameof(QConvSpecs))]
    public void QConv_tiled(string spec) => ClTestSupport.CheckQuant(WorkloadSpec.Parse(spec), seed: 1, dot: false);

    [TestCaseSource(nameof(QConvSpecs))]
    public void QConv_dot4(string spec) => ClTestSupport.CheckQuant(WorkloadSpec.Parse(spec), seed: 1, dot: true);

    /// <summary>Zero points at the ends of their ranges (0/255, -128/127), per-tensor and per-channel weights,
    /// saturating outputs, an odd K (131; the conv's C/groups·R·S = 27): in the dot-product form the correction terms
    /// at their largest, in the tiled form the zero points subtracted at load. Both forms, GEMM and conv.</summary>
    [TestCase(DataType.U8, DataType.U8, 0, 255, QuantOutput.Quantized, true)]
    [TestCase(DataType.U8, DataType.U8, 0, 255, QuantOutput.Quantized, false)]
    [TestCase(DataType.U8, DataType.S8, 255, -128, QuantOutput.Quantized, true)]
    [TestCase(DataType.S8, DataType.S8, -128, 127, QuantOutput.Quantized, true)]
    [TestCase(DataType.S8, DataType.S8, -128, 127, QuantOutput.Int32, true)]
    [TestCase(DataType.S8, DataType.U8, 127, 0, QuantOutput.Int32, true)]
    [TestCase(DataType.S8, DataType.U8, 127, 0, QuantOutput.Int32, false)]
    [TestCase(DataType.S8, DataType.S8, 0, 0, QuantOutput.Quantized, false)]
    public void Extreme_zero_points(DataType at, DataType bt, int aZp, int bZp, QuantOutput output, bool perChannel)
    {
        // per channel: alternate the zero point between the given end and the other end of the type's range
        QuantParams Weights(int channels, float scale, float step) => perChannel
            ? new QuantParams(Enumerable.Range(0, channels).Select(i => scale + (step * i)).ToArray(),
                Enumerable.Range(0, channels).Select(i => i % 2 == 0 ? bZp : (bt == DataType.U8 ? 255 - bZp : -1 - bZp)).ToArray())
            : QuantParams.PerTensor(scale, bZp);

        const int M = 37, N = 67, K = 131;
        QuantParams? y = output == QuantOutput.Quantized ? QuantParams.PerTensor(0.9f, at == DataType.U8 ? 255 : -128) : null;
        DataType yt = output == QuantOutput.Quantized ? at : DataType.S32;
        var gemm = new QGemmWorkload(new QGemmDesc(M, N, K, at, bt, yt, QuantParams.PerTensor(0.02f, aZp), Weights(N, 0.003f, 0.0001f), y, output));
        var conv = new Conv2dDesc(2, 6, 9, 8, 10, 3, 3, 1, 1, 1, 1, Groups: 2);
        var qconv = new QConvWorkload(new QConv2dDesc(conv, at, bt, yt, QuantParams.PerTensor(0.03f, aZp), Weights(10, 0.004f, 0.0003f), y, HasBias: true, output));
        foreach (bool dot in new[] { false, true })
        {
            ClTestSupport.CheckQuant(gemm, seed: 3, dot);
            ClTestSupport.CheckQuant(qconv, seed: 3, dot);
        }
    }

    /// <summary>On a device without cl_khr_fp64 the quantised kernels write int32 accumulators and the host
    /// requantises them (channel per column, NCHW and NHWC channel); the same PoCL device, described without the
    /// extension, builds the kernels without CHIPKIT_FP64. Both forms.</summary>
    [TestCase("qgemm:m=19,n=35,k=67,dtype=u8,wtype=s8,perchannel=1")]
    [TestCase("qconv:c=8,h=9,k=12,r=3,pad=1,dtype=u8,wtype=s8,perchannel=1,bias=1")]
    [TestCase("qconv:c=5,h=8,k=7,r=3,pad=1,dtype=s8,wtype=s8,perchannel=1,bias=1,layout=nhwc")]
    public void Without_fp64_the_host_requantises(string spec)
    {
        ClDeviceDesc real = ((OpenClDevice)ClTestSupport.Devices[0]).Desc;
        ClDeviceDesc desc = real with { Extensions = string.Join(' ', real.Extensions.Split(' ').Where(e => e != "cl_khr_fp64")) };
        using var device = new OpenClDevice(desc, KernelSources.Embedded, cacheRoot: null);
        Workload wl = WorkloadSpec.Parse(spec);
        OpData data = wl.CreateData(4);
        Expected expected = wl.ComputeReference(data);
        foreach (ClIntDotMode mode in new[] { ClIntDotMode.Off, ClIntDotMode.Emulated })
        {
            using IKernel k = ClTestSupport.QuantKernel(device, wl, mode);
            Assert.That(k.Name, Does.EndWith(".hostrequant"));
            wl.PoisonOutput(data);
            k.Prepare(data);
            k.Run();
            VerifyOutcome v = wl.Verify(data, expected);
            Assert.That(v.Passed, Is.True, $"{k.Name} on {spec}: {v.Message}");
        }
    }
}
