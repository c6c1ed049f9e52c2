using ChipKit.Core.Descriptors;
using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;
using ChipKit.Cpu;

namespace ChipKit.Cpu.Tests;

internal static class TestSupport
{
    /// <summary>Every width: Vector512/256/128 code runs (emulated by the runtime) even where it is not accelerated.</summary>
    public static readonly SimdWidth[] AllWidths = [SimdWidth.V512, SimdWidth.V256, SimdWidth.V128, SimdWidth.Scalar];

    /// <summary>Tiny cache blocks, so small problems cross every KC/MC/NC boundary.</summary>
    public static readonly BlockSizes Tiny = new(KC: 5, MC: 13, NC: 40);

    /// <summary>Prepares, runs (twice, checking the repeat is identical) and verifies against the oracle.</summary>
    public static void Check(Workload wl, IKernel kernel, int seed = 1)
    {
        OpData data = wl.CreateData(seed);
        Expected expected = wl.ComputeReference(data);
        kernel.Prepare(data);
        kernel.Run();
        VerifyOutcome first = wl.Verify(data, expected);
        Assert.That(first.Passed, Is.True, $"{kernel.Name} on {wl.Spec}: {first.Message}");
        object snapshot = Output(data);
        wl.PoisonOutput(data);
        kernel.Run();
        Assert.That(Output(data), Is.EqualTo(snapshot), $"{kernel.Name} on {wl.Spec}: second Run differs from the first");
    }

    /// <summary>
    /// The packed fp32 GEMM at every width on one thread with cache-derived blocks, then at the host width with
    /// <see cref="Tiny"/> blocks on <paramref name="threads"/> threads (every KC/MC/NC boundary and a thread split).
    /// </summary>
    public static void CheckPackedGemm(GemmWorkload wl, int threads)
    {
        foreach (SimdWidth w in AllWidths)
        {
            Check(wl, new GemmPackedKernel(wl.Desc, w, 1));
        }

        Check(wl, new GemmPackedKernel(wl.Desc, SimdHost.BestWidth, threads, Tiny), seed: 2);
    }

    public static object Output(OpData data) => data switch
    {
        GemmData g => g.Y.Clone(),
        ConvData c => c.Y.Clone(),
        QGemmData q => q.Y32 is not null ? q.Y32.Clone() : q.Y8!.Clone(),
        QConvData q => q.Y32 is not null ? q.Y32.Clone() : q.Y8!.Clone(),
        _ => throw new ArgumentException("unknown data", nameof(data)),
    };

    /// <summary>A small deterministic subset of the size grid that hits full tiles, edge tiles and block boundaries.</summary>
    public static readonly int[] Sizes = [1, 2, 3, 5, 7, 8, 15, 16, 17, 31, 33, 63, 65, 127, 129, 257];

    public static IEnumerable<(int M, int N, int K)> SampledTriples(int count, int seed, int maxProduct)
    {
        var rng = new Random(seed);
        int made = 0;
        while (made < count)
        {
            int m = Sizes[rng.Next(Sizes.Length)], n = Sizes[rng.Next(Sizes.Length)], k = Sizes[rng.Next(Sizes.Length)];
            if ((long)m * n * k > maxProduct)
            {
                continue;
            }

            made++;
            yield return (m, n, k);
        }
    }

    public static QuantParams Params(float scale, params int[] zps) =>
        new(Enumerable.Repeat(scale, zps.Length).Select((s, i) => s * (1f + (0.01f * i))).ToArray(), zps);
}
