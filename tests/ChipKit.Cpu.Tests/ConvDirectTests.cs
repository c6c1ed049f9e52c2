using System.Runtime.Intrinsics.X86;
using ChipKit.Core.Descriptors;
using ChipKit.Core.Workloads;
using ChipKit.Cpu;

namespace ChipKit.Cpu.Tests;

/// <summary>
/// The direct NCHW conv (<see cref="ConvDirectNchwKernel"/>): 6-pixel x 16-channel tiles over a zero-bordered,
/// channel-interleaved copy of the input. Every row tail (Q mod 6), tiles that wrap output rows, output-channel tails
/// (K mod 16, below and above 8), input-channel tails (C mod 8), several input-channel passes, pads 0/1/2 uneven,
/// R x S other than 3x3, dilation, bias, 1 and 3 threads.
/// </summary>
[TestFixture]
public class ConvDirectTests
{
    private static IEnumerable<TestCaseData> RowTails()
    {
        // Q = W for 3x3 pad 1: Q mod 6 = 0..5, and K mod 16 = 0, 5, 9, 1.
        int[] ks = [16, 5, 25, 33];
        for (int w = 12; w < 18; w++)
        {
            yield return new TestCaseData($"conv:n=1,c=9,h=5,w={w},k={ks[w % ks.Length]},r=3,s=3,pad=1");
        }
    }

    public static readonly string[] Shapes =
    [
        "n=1,c=1,h=7,w=7,k=3,r=3,s=3,pad=1",
        "n=2,c=8,h=6,w=9,k=16,r=3,s=3,pad=0",
        "n=1,c=20,h=9,w=8,k=17,r=3,s=3,pad_top=2,pad_left=0,pad_bottom=1,pad_right=2",
        "n=1,c=13,h=5,w=11,k=40,r=5,s=3,pad_top=0,pad_left=2,pad_bottom=2,pad_right=1",
        "n=1,c=7,h=10,w=10,k=8,r=2,s=4,pad=2",
        "n=1,c=72,h=6,w=7,k=24,r=3,s=3,pad=1",
        "n=1,c=5,h=11,w=9,k=12,r=3,s=3,stride_h=2,stride_w=1,pad=1",
        "n=1,c=6,h=12,w=13,k=10,r=3,s=3,pad=2,dilation=2",
        "n=1,c=3,h=2,w=1,k=4,r=3,s=3,pad=2",
        "n=1,c=16,h=1,w=40,k=20,r=1,s=5,pad_left=2,pad_right=2",
        "n=1,c=16,h=15,w=15,k=24,r=3,s=3,stride=2,pad=1",
        "n=2,c=11,h=14,w=29,k=9,r=3,s=3,stride=2,pad_top=0,pad_left=1,pad_bottom=2,pad_right=0",
        "n=1,c=8,h=9,w=20,k=16,r=3,s=5,stride_h=1,stride_w=2,pad=2",
        "n=1,c=9,h=12,w=17,k=7,r=2,s=3,stride_h=3,stride_w=2,pad_left=1,dilation_w=2",
    ];

    private static IEnumerable<TestCaseData> ShapeCases()
    {
        foreach (string g in Shapes)
        {
            yield return new TestCaseData($"conv:{g}");
        }
    }

    [TestCaseSource(nameof(RowTails))]
    [TestCaseSource(nameof(ShapeCases))]
    public void Matches_oracle(string spec)
    {
        foreach (int bias in new[] { 0, 1 })
        {
            foreach (int threads in new[] { 1, 3 })
            {
                var wl = (ConvWorkload)WorkloadSpec.Parse($"{spec},bias={bias}");
                Assert.That(ConvDirectNchwKernel.CanRun(wl.Desc), Is.True);
                TestSupport.Check(wl, new ConvDirectNchwKernel(wl.Desc, wl.HasBias, threads), seed: 11 + threads + bias);
            }
        }
    }

    /// <summary>A NaN in the corners of the input reaches exactly the outputs whose window covers it: the zero border
    /// of the padded copy is zeros, and a tile that wraps a row never reads a neighbour's pixel.</summary>
    [Test]
    public void Nan_in_input_corners_reaches_only_covering_outputs([Values(1, 3)] int threads, [Values(14, 17)] int w)
    {
        var wl = (ConvWorkload)WorkloadSpec.Parse($"conv:c=11,h=7,w={w},k=21,r=3,s=3,pad=1");
        Conv2dDesc d = wl.Desc;
        var data = (ConvData)wl.CreateData(5);
        data.X[d.InputIndex(0, 0, 0, 0)] = float.NaN;
        data.X[d.InputIndex(0, 10, d.H - 1, d.W - 1)] = float.NaN;
        data.X[d.InputIndex(0, 9, 0, d.W - 1)] = float.NaN;
        using var kernel = new ConvDirectNchwKernel(d, false, threads);
        kernel.Prepare(data);
        kernel.Run();
        for (int k = 0; k < d.K; k++)
        {
            for (int p = 0; p < d.P; p++)
            {
                for (int q = 0; q < d.Q; q++)
                {
                    bool covers = (p <= 1 && q <= 1) || (p >= d.P - 2 && q >= d.Q - 2) || (p <= 1 && q >= d.Q - 2);
                    Assert.That(float.IsNaN(data.Y[d.OutputIndex(0, k, p, q)]), Is.EqualTo(covers), $"k={k} p={p} q={q}");
                }
            }
        }
    }

    /// <summary>A NaN weight of output channel k reaches channel k wherever its tap is inside the input, and no other
    /// channel of the 16-channel tile.</summary>
    [Test]
    public void Nan_weight_stays_in_its_output_channel([Values(1, 3)] int threads)
    {
        var wl = (ConvWorkload)WorkloadSpec.Parse("conv:c=10,h=6,w=13,k=19,r=3,s=3,pad=1");
        Conv2dDesc d = wl.Desc;
        var data = (ConvData)wl.CreateData(6);
        const int K = 17;
        data.W[d.WeightIndex(K, 9, 1, 2)] = float.NaN;
        using var kernel = new ConvDirectNchwKernel(d, false, threads);
        kernel.Prepare(data);
        kernel.Run();
        for (int k = 0; k < d.K; k++)
        {
            for (int p = 0; p < d.P; p++)
            {
                for (int q = 0; q < d.Q; q++)
                {
                    float y = data.Y[d.OutputIndex(0, k, p, q)];
                    if (k != K)
                    {
                        Assert.That(float.IsFinite(y), Is.True, $"k={k} p={p} q={q}");
                    }
                    else if (q + 1 < d.W)
                    {
                        // Tap (r=1, s=2) of output (p, q) is input (p, q + 1): inside the image.
                        Assert.That(float.IsNaN(y), Is.True, $"k={k} p={p} q={q}");
                    }
                }
            }
        }
    }

    [Test]
    public void Run_allocates_nothing_after_prepare()
    {
        var wl = (ConvWorkload)WorkloadSpec.Parse("conv:n=2,c=24,h=10,w=11,k=20,r=3,s=3,pad=1,bias=1");
        OpData data = wl.CreateData(3);
        using var kernel = new ConvDirectNchwKernel(wl.Desc, true, 1);
        kernel.Prepare(data);
        kernel.Run();
        long before = GC.GetAllocatedBytesForCurrentThread();
        kernel.Run();
        kernel.Run();
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }

    [Test]
    public void Rejects_what_it_cannot_run()
    {
        foreach (string spec in new[]
        {
            "conv:c=4,h=8,w=8,k=4,r=3,s=3,pad=1,groups=2",
            "conv:c=4,h=8,w=8,k=4,r=3,s=3,pad=1,layout=nhwc",
        })
        {
            var wl = (ConvWorkload)WorkloadSpec.Parse(spec);
            Assert.That(ConvDirectNchwKernel.CanRun(wl.Desc), Is.False, spec);
            Assert.That(ConvDirectNchwKernel.Preferred(wl.Desc, SimdWidth.V256), Is.False, spec);
            Assert.Throws<ArgumentException>(() => _ = new ConvDirectNchwKernel(wl.Desc, false, 1), spec);
        }
    }

    /// <summary>The selection rule: stride-1 (any C) or stride-2 (C >= 8), dilation-1, non-1x1 NCHW at V256 with FMA;
    /// the implicit GEMM elsewhere (the 3-channel stem among them).</summary>
    [Test]
    public void Device_picks_direct_only_where_the_rule_says()
    {
        foreach (string spec in new[] { "conv:c=64,h=56,w=56,k=64,r=3,s=3,pad=1", "conv:c=512,h=7,w=7,k=512,r=3,s=3,pad=1", "conv:c=3,h=9,w=9,k=5,r=5,s=5", "conv:c=128,h=56,w=56,k=128,r=3,s=3,stride=2,pad=1" })
        {
            var wl = (ConvWorkload)WorkloadSpec.Parse(spec);
            Assert.That(ConvDirectNchwKernel.Preferred(wl.Desc, SimdWidth.V256), Is.EqualTo(Fma.IsSupported), spec);
            Assert.That(ConvDirectNchwKernel.Preferred(wl.Desc, SimdWidth.V128), Is.False, spec);
            Assert.That(ConvDirectNchwKernel.Preferred(wl.Desc, SimdWidth.V512), Is.False, spec);
        }

        foreach (string spec in new[]
        {
            "conv:c=64,h=56,w=56,k=64,r=1,s=1",
            "conv:c=16,h=16,w=16,k=16,r=3,s=3,pad=2,dilation=2",
            "conv:c=16,h=16,w=16,k=16,r=3,s=3,stride_h=2,stride_w=1,pad=1",
            "conv:c=3,h=224,w=224,k=64,r=7,s=7,stride=2,pad=3",
            "conv:c=16,h=16,w=16,k=16,r=3,s=3,stride=3,pad=1",
        })
        {
            var wl = (ConvWorkload)WorkloadSpec.Parse(spec);
            Assert.That(ConvDirectNchwKernel.Preferred(wl.Desc, SimdWidth.V256), Is.False, spec);
        }
    }
}
