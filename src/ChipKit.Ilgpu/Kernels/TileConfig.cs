namespace ChipKit.Ilgpu.Kernels;

/// <summary>
/// Block tiling of the fp32 and int8 tiled kernels, as a type so ILGPU sees the sizes as constants (shared-memory
/// sizes must be constant; the loops over them unroll). One number B fixes the shape:
/// block tile BM = BN = 16*B, k tile BK = B (fp32: B floats; int8: B packed words of 4 bytes), (2B)^2 threads, each
/// computing an 8x8 register tile. With BM*BK/4 = threads, every thread loads exactly one 16-byte vector of A and one
/// of B per k tile (fp32).
/// </summary>
internal interface ITileConfig
{
    int B { get; }
}

/// <summary>B = 8: 128x128 block, 256 threads, 8x8 per thread: the CUDA configuration (needs 16 KiB of shared memory for two buffers).</summary>
internal struct Tile8 : ITileConfig
{
    public readonly int B => 8;
}

/// <summary>B = 4: 64x64 block, 64 threads: devices whose groups hold fewer than 256 threads (ILGPU's CPU accelerator as configured here).</summary>
internal struct Tile4 : ITileConfig
{
    public readonly int B => 4;
}

/// <summary>Host-side view of a tile configuration.</summary>
internal sealed record TileShape(int B, string Name)
{
    public static readonly TileShape Large = new(8, "128x128x8");
    public static readonly TileShape Small = new(4, "64x64x4");

    public int BlockM => 16 * B;

    public int BlockN => 16 * B;

    public int Threads => 4 * B * B;

    /// <summary>Shared memory of the double-buffered fp32 kernel in bytes.</summary>
    public int SharedBytes => 2 * 2 * B * BlockM * sizeof(float);

    /// <summary>The largest configuration that fits the device's group size and shared memory.</summary>
    public static TileShape? For(int maxThreadsPerGroup, long maxSharedBytesPerGroup) =>
        Large.Threads <= maxThreadsPerGroup && Large.SharedBytes <= maxSharedBytesPerGroup ? Large
        : Small.Threads <= maxThreadsPerGroup && Small.SharedBytes <= maxSharedBytesPerGroup ? Small
        : null;
}
