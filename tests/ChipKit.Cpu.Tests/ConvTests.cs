using ChipKit.Core.Descriptors;
using ChipKit.Core.Workloads;
using ChipKit.Cpu;

namespace ChipKit.Cpu.Tests;

[TestFixture]
public class ConvTests
{
    public static readonly string[] Geometries =
    [
        "n=2,c=6,h=9,w=7,k=4,r=3,s=2,stride_h=2,stride_w=1,pad_top=1,pad_left=0,pad_bottom=2,pad_right=1,dilation=2,groups=2",
        "n=1,c=3,h=11,w=13,k=17,r=3,s=3,pad=1",
        "n=1,c=8,h=6,w=6,k=8,r=1,s=1",
        "n=2,c=5,h=7,w=5,k=7,r=1,s=1,stride=2",
        "n=1,c=4,h=10,w=9,k=6,r=5,s=3,stride_h=3,stride_w=2,pad_top=2,pad_left=1,pad_bottom=0,pad_right=3,dilation_h=1,dilation_w=2",
        "n=1,c=12,h=5,w=6,k=9,r=2,s=2,groups=3,pad_bottom=1,pad_right=1",
        "n=1,c=16,h=9,w=9,k=33,r=3,s=3,stride=2,pad=1",
        "n=1,c=1,h=1,w=1,k=1,r=1,s=1",
        "n=1,c=2,h=3,w=3,k=2,r=3,s=3,pad=2,dilation=2,groups=2",
        "n=1,c=40,h=12,w=12,k=20,r=3,s=3,pad=1",
    ];

    public static readonly string[] Depthwise =
    [
        "n=2,c=5,h=9,w=11,k=5,r=3,s=3,pad=1,groups=5",
        "n=1,c=8,h=10,w=7,k=8,r=3,s=5,stride_h=2,stride_w=2,pad_top=0,pad_left=2,pad_bottom=1,pad_right=2,groups=8",
        "n=1,c=3,h=9,w=9,k=3,r=3,s=3,dilation=3,pad=3,groups=3",
        "n=1,c=17,h=6,w=40,k=17,r=2,s=4,stride_h=1,stride_w=3,pad_left=3,groups=17",
    ];

    /// <summary>
    /// Edge shapes of the implicit GEMM: pixel and channel tails of every register tile and cache block (P*Q and K
    /// not multiples of NR / MR, output rows shorter and longer than a sliver), pads, stride 2, dilation 2, groups 2
    /// and 4, 1x1 stride 2, the 7x7 stride 2 pad 3 stem on 3 channels.
    /// </summary>
    public static readonly string[] EdgeShapes =
    [
        "n=1,c=3,h=23,w=21,k=13,r=7,s=7,stride=2,pad=3",
        "n=1,c=7,h=5,w=3,k=11,r=3,s=3,pad=1",
        "n=1,c=5,h=19,w=37,k=7,r=3,s=3,pad=2,dilation=2",
        "n=2,c=8,h=15,w=17,k=12,r=3,s=3,stride=2,pad=1,groups=4",
        "n=1,c=6,h=13,w=11,k=10,r=5,s=5,pad=2,groups=2",
        "n=1,c=9,h=14,w=15,k=19,r=1,s=1,stride=2",
        "n=1,c=4,h=4,w=40,k=5,r=3,s=3,stride_h=1,stride_w=2,pad_top=2,pad_left=0,pad_bottom=1,pad_right=3",
        "n=1,c=2,h=3,w=2,k=3,r=3,s=3,pad=3",
        "n=1,c=16,h=8,w=8,k=6,r=1,s=1,pad=1",
        "n=3,c=10,h=7,w=7,k=14,r=3,s=3,pad=1,dilation=2",
    ];

    private static IEnumerable<TestCaseData> Cases(string[] geoms)
    {
        foreach (string g in geoms)
        {
            foreach (string layout in new[] { "nchw", "nhwc" })
            {
                foreach (int bias in new[] { 0, 1 })
                {
                    yield return new TestCaseData($"conv:{g},layout={layout},bias={bias}");
                }
            }
        }
    }

    private static IEnumerable<TestCaseData> General() => Cases(Geometries);

    private static IEnumerable<TestCaseData> DepthwiseCases() => Cases(Depthwise);

    private static IEnumerable<TestCaseData> EdgeCases() => Cases(EdgeShapes);

    [TestCaseSource(nameof(EdgeCases))]
    public void Implicit_gemm_edge_shapes_match_oracle(string spec)
    {
        var wl = (ConvWorkload)WorkloadSpec.Parse(spec);
        TestSupport.Check(wl, new ConvGemmKernel(wl.Desc, wl.HasBias, SimdHost.BestWidth, 1), seed: 7);
        TestSupport.Check(wl, new ConvGemmKernel(wl.Desc, wl.HasBias, SimdWidth.V128, 2), seed: 8);

        // Tiny blocks: every KC boundary falls inside a tap run, every NC/MC boundary inside an output row.
        TestSupport.Check(wl, new ConvGemmKernel(wl.Desc, wl.HasBias, SimdHost.BestWidth, 2, TestSupport.Tiny), seed: 9);
        TestSupport.Check(wl, new ConvGemmKernel(wl.Desc, wl.HasBias, SimdWidth.Scalar, 1, new BlockSizes(KC: 3, MC: 6, NC: 7)), seed: 10);
    }

    [Test]
    public void Implicit_gemm_propagates_nan_and_padding_is_zero()
    {
        // NaN in one input pixel must reach exactly the outputs whose window covers it (and nothing else:
        // padding taps are 0, never a stale or neighbouring value).
        foreach (string layout in new[] { "nchw", "nhwc" })
        {
            var wl = (ConvWorkload)WorkloadSpec.Parse($"conv:c=3,h=9,w=10,k=5,r=3,s=3,pad=1,layout={layout}");
            Conv2dDesc d = wl.Desc;
            var data = (ConvData)wl.CreateData(3);
            data.X[d.InputIndex(0, 1, 0, 0)] = float.NaN;
            using var kernel = new ConvGemmKernel(d, false, SimdHost.BestWidth, 1);
            kernel.Prepare(data);
            kernel.Run();
            for (int k = 0; k < d.K; k++)
            {
                for (int p = 0; p < d.P; p++)
                {
                    for (int q = 0; q < d.Q; q++)
                    {
                        bool covers = p <= 1 && q <= 1;
                        Assert.That(float.IsNaN(data.Y[d.OutputIndex(0, k, p, q)]), Is.EqualTo(covers), $"{layout} k={k} p={p} q={q}");
                    }
                }
            }
        }
    }

    [TestCaseSource(nameof(General))]
    public void Implicit_gemm_matches_oracle(string spec)
    {
        var wl = (ConvWorkload)WorkloadSpec.Parse(spec);
        foreach (SimdWidth w in new[] { SimdHost.BestWidth, SimdWidth.V512, SimdWidth.Scalar })
        {
            TestSupport.Check(wl, new ConvGemmKernel(wl.Desc, wl.HasBias, w, 1));
        }

        TestSupport.Check(wl, new ConvGemmKernel(wl.Desc, wl.HasBias, SimdHost.BestWidth, 3, TestSupport.Tiny), seed: 5);
        TestSupport.Check(wl, new ConvDirectKernel(wl.Desc, wl.HasBias));
    }

    [TestCaseSource(nameof(DepthwiseCases))]
    public void Depthwise_is_chosen_and_matches_oracle(string spec)
    {
        var wl = (ConvWorkload)WorkloadSpec.Parse(spec);
        using var dev = new CpuDevice(2);
        using var kernel = dev.CreateKernel(wl)!;
        Assert.That(kernel.Name, Does.StartWith("cpu.conv.f32.depthwise."));
        TestSupport.Check(wl, kernel);
        TestSupport.Check(wl, new ConvDepthwiseKernel(wl.Desc, wl.HasBias, 1), seed: 4);
        TestSupport.Check(wl, new ConvGemmKernel(wl.Desc, wl.HasBias, SimdHost.BestWidth, 1), seed: 4);
    }

    [Test]
    public void Device_picks_implicit_gemm_for_general_conv()
    {
        using var dev = new CpuDevice(1);
        using var kernel = dev.CreateKernel(WorkloadSpec.Parse("conv:c=4,h=5,k=4,r=3,groups=2"))!;
        Assert.That(kernel.Name, Does.StartWith("cpu.conv.f32.igemm."));
    }
}
