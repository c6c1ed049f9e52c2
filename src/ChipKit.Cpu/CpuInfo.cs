using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ChipKit.Cpu;

/// <summary>The vector width the CPU kernels are specialised for.</summary>
public enum SimdWidth
{
    Scalar,
    V128,
    V256,
    V512,
}

/// <summary>Host facts the CPU kernels size themselves by: model name, vector width, cache sizes.</summary>
public static class CpuInfo
{
    private static readonly Lazy<(long L1, long L2, long L3)> Caches = new(ReadCaches);

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
    public static long L1d => Caches.Value.L1;

    /// <summary>L2 cache size in bytes (512 KiB when unknown).</summary>
    public static long L2 => Caches.Value.L2;

    /// <summary>L3 cache size in bytes (8 MiB when unknown).</summary>
    public static long L3 => Caches.Value.L3;

    /// <summary>CPU model from /proc/cpuinfo, else the runtime's description of the architecture.</summary>
    public static string ModelName()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                foreach (string line in File.ReadLines("/proc/cpuinfo"))
                {
                    if (line.StartsWith("model name", StringComparison.Ordinal) || line.StartsWith("Model", StringComparison.Ordinal))
                    {
                        int colon = line.IndexOf(':', StringComparison.Ordinal);
                        if (colon > 0 && colon < line.Length - 1)
                        {
                            string name = line[(colon + 1)..].Trim();
                            if (name.Length > 0)
                            {
                                return name;
                            }
                        }
                    }
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return $"{RuntimeInformation.ProcessArchitecture} CPU ({RuntimeInformation.OSDescription})";
    }

    private static (long L1, long L2, long L3) ReadCaches()
    {
        long l1 = 0, l2 = 0, l3 = 0;
        try
        {
            const string root = "/sys/devices/system/cpu/cpu0/cache";
            if (Directory.Exists(root))
            {
                foreach (string dir in Directory.GetDirectories(root, "index*"))
                {
                    string level = ReadText(Path.Combine(dir, "level"));
                    string type = ReadText(Path.Combine(dir, "type"));
                    long size = ParseSize(ReadText(Path.Combine(dir, "size")));
                    if (size <= 0 || type == "Instruction")
                    {
                        continue;
                    }

                    switch (level)
                    {
                        case "1": l1 = size; break;
                        case "2": l2 = size; break;
                        case "3": l3 = size; break;
                    }
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return (l1 > 0 ? l1 : 32 * 1024, l2 > 0 ? l2 : 512 * 1024, l3 > 0 ? l3 : 8 * 1024 * 1024);
    }

    private static string ReadText(string path) => File.Exists(path) ? File.ReadAllText(path).Trim() : string.Empty;

    /// <summary>Parses sysfs sizes such as "32K", "1024K", "32M".</summary>
    internal static long ParseSize(string s)
    {
        if (s.Length == 0)
        {
            return 0;
        }

        long mult = 1;
        char last = char.ToUpperInvariant(s[^1]);
        if (last is 'K' or 'M' or 'G')
        {
            mult = last == 'K' ? 1024 : last == 'M' ? 1024 * 1024 : 1024L * 1024 * 1024;
            s = s[..^1];
        }

        return long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) ? v * mult : 0;
    }
}
