using ChipKit.Core.Descriptors;

namespace ChipKit.Core.Workloads;

/// <summary>Deterministic operand generation (System.Random with a seed is stable across .NET versions).</summary>
public static class DataGen
{
    /// <summary>Uniform values in [-1, 1), never exactly zero.</summary>
    public static float[] Floats(Random rng, long count)
    {
        var a = new float[count];
        for (long i = 0; i < count; i++)
        {
            float v = (float)((rng.NextDouble() * 2.0) - 1.0);
            a[i] = v == 0f ? 0.5f : v;
        }

        return a;
    }

    /// <summary>Uniform 8-bit values over the whole range of the type, stored as raw bytes.</summary>
    public static byte[] Bytes(Random rng, long count)
    {
        var a = new byte[count];
        rng.NextBytes(a);
        return a;
    }

    /// <summary>A zero point inside the type's range, drawn around the middle so data spans both signs.</summary>
    public static int ZeroPoint(Random rng, DataType t) => t == DataType.U8 ? rng.Next(96, 161) : rng.Next(-32, 33);

    /// <summary>A scale in [lo, hi).</summary>
    public static float Scale(Random rng, double lo, double hi) => (float)(lo + (rng.NextDouble() * (hi - lo)));

    public static int[] Ints(Random rng, long count, int lo, int hi)
    {
        var a = new int[count];
        for (long i = 0; i < count; i++)
        {
            a[i] = rng.Next(lo, hi);
        }

        return a;
    }
}
