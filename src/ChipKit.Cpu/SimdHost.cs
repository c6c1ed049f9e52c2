using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ChipKit.Core.Platform;

namespace ChipKit.Cpu;

/// <summary>The vector width the CPU kernels are specialised for.</summary>
public enum SimdWidth
{
    Scalar,
    V128,
    V256,
    V512,
}

/// <summary>
/// Host facts the CPU kernels size themselves by: vector width, and cache sizes from <see cref="CpuInfo"/>
/// (the OS's report, shared with the results file's machine block).
/// </summary>
public static class SimdHost
{
    /// <summary>The widest vector type the JIT accelerates on this host.</summary>
    public static SimdWidth BestWidth =>
        Vector512.IsHardwareAccelerated ? SimdWidth.V512
        : Vector256.IsHardwareAccelerated ? SimdWidth.V256
        : Vector128.IsHardwareAccelerated ? SimdWidth.V128
        : SimdWidth.Scalar;

    /// <summary>"avx512", "avx2", "sse", "neon" or "scalar": the ISA family the kernels actually use.</summary>
    public static string IsaName(SimdWidth w) => w switch
    {
        SimdWidth.V512 => "avx512",
        SimdWidth.V256 => "avx2",
        SimdWidth.V128 => RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? "neon" : "sse",
        _ => "scalar",
    };

    /// <summary>Suffix of kernel names: "v512", "v256", "v128" or "scalar".</summary>
    public static string Suffix(SimdWidth w) => w switch
    {
        SimdWidth.V512 => "v512",
        SimdWidth.V256 => "v256",
        SimdWidth.V128 => "v128",
        _ => "scalar",
    };

    /// <summary>L1 data cache size in bytes (32 KiB when unknown).</summary>
    public static long L1d => CpuInfo.Current.CacheBytes(1, 32 * 1024);

    /// <summary>L2 cache size in bytes (512 KiB when unknown).</summary>
    public static long L2 => CpuInfo.Current.CacheBytes(2, 512 * 1024);

    /// <summary>L3 cache size in bytes (8 MiB when unknown).</summary>
    public static long L3 => CpuInfo.Current.CacheBytes(3, 8 * 1024 * 1024);

    /// <summary>CPU model from /proc/cpuinfo, else the runtime's description of the architecture.</summary>
    public static string ModelName() => CpuInfo.Current.Model;
}
