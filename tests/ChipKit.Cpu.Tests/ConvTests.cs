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

    [TestCaseSource(nameof(General))]
    public void Im2col_matches_oracle(string spec)
    {
        var wl = (ConvWorkload)WorkloadSpec.Parse(spec);
        foreach (SimdWidth w in new[] { SimdHost.BestWidth, SimdWidth.V512, SimdWidth.Scalar })
        {
            TestSupport.Check(wl, new ConvIm2colKernel(wl.Desc, wl.HasBias, w, 1));
        }

        TestSupport.Check(wl, new ConvIm2colKernel(wl.Desc, wl.HasBias, SimdHost.BestWidth, 3, TestSupport.Tiny), seed: 5);
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
        TestSupport.Check(wl, new ConvIm2colKernel(wl.Desc, wl.HasBias, SimdHost.BestWidth, 1), seed: 4);
    }

    [Test]
    public void Device_picks_im2col_for_general_conv()
    {
        using var dev = new CpuDevice(1);
        using var kernel = dev.CreateKernel(WorkloadSpec.Parse("conv:c=4,h=5,k=4,r=3,groups=2"))!;
        Assert.That(kernel.Name, Does.StartWith("cpu.conv.f32.im2col."));
    }
}
