namespace ChipKit.Ilgpu.Kernels;

/// <summary>
/// Four floats loaded or stored together: a 16-byte vector access on the GPU when the address is 16-byte aligned
/// (<c>ld.global.v4.f32</c> / <c>ld.shared.v4.f32</c>), and the unit of the 8x8 register tile (two F4 per row).
/// </summary>
internal struct F4
{
    public float X;
    public float Y;
    public float Z;
    public float W;

    public F4(float x, float y, float z, float w)
    {
        X = x;
        Y = y;
        Z = z;
        W = w;
    }

    /// <summary>c + a * b, element-wise with a scalar a (one row of the outer product).</summary>
    public static F4 Fma(F4 c, float a, F4 b) => new(c.X + (a * b.X), c.Y + (a * b.Y), c.Z + (a * b.Z), c.W + (a * b.W));

    public readonly float Get(int i) => i == 0 ? X : i == 1 ? Y : i == 2 ? Z : W;
}

/// <summary>Four int32 accumulators (the int8 kernels' register tile unit).</summary>
internal struct I4
{
    public int X;
    public int Y;
    public int Z;
    public int W;

    public readonly int Get(int i) => i == 0 ? X : i == 1 ? Y : i == 2 ? Z : W;
}
