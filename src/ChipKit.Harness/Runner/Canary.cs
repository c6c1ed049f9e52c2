using System.Diagnostics;
using System.Numerics;

namespace ChipKit.Harness.Runner;

/// <summary>
/// A fixed piece of host work timed next to every sample (`chipkit run --canary`): a shared or throttled machine slows
/// the canary and the workload alike, so seconds / canary seconds is steadier between runs than seconds alone, which
/// is what `chipkit gate --clock canary` compares. The work never changes between ChipKit versions
/// (<see cref="Version"/> says which work it is): 64 passes of a dependent multiply-add chain over a 16 KiB float
/// array (L1-resident, like an inner kernel loop) and one strided read pass over a 2 MiB array (L2/L3 and memory,
/// like operand streaming); about 0.2-0.5 ms on a current core.
/// </summary>
public static class Canary
{
    /// <summary>Which fixed work <see cref="Measure"/> times; results of different versions are not comparable.</summary>
    public const int Version = 1;

    private const int SmallFloats = 4096;
    private const int LargeInts = 512 * 1024;

    [ThreadStatic]
    private static float[]? t_small;

    [ThreadStatic]
    private static int[]? t_large;

    /// <summary>Sink so the JIT cannot drop the work.</summary>
    public static double Checksum { get; private set; }

    /// <summary>Runs the fixed work once and returns its wall seconds.</summary>
    public static double Measure()
    {
        float[] small = t_small ??= Enumerable.Range(0, SmallFloats).Select(i => 1f + (i % 7 * 1e-3f)).ToArray();
        int[] large = t_large ??= Enumerable.Range(0, LargeInts).Select(i => (int)(((uint)i * 2654435761u) >> 8)).ToArray();
        long t0 = Stopwatch.GetTimestamp();
        var acc = Vector<float>.Zero;
        var mul = new Vector<float>(0.999f);
        for (int pass = 0; pass < 64; pass++)
        {
            for (int i = 0; i + Vector<float>.Count <= small.Length; i += Vector<float>.Count)
            {
                acc = (acc * mul) + new Vector<float>(small, i);
            }
        }

        long sum = 0;
        for (int i = 0; i < large.Length; i += 16)
        {
            sum += large[i];
        }

        double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        Checksum = Vector.Sum(acc) + sum;
        return seconds;
    }
}
