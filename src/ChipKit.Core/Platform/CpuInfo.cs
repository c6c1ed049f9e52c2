using System.Globalization;
using System.Runtime.InteropServices;

namespace ChipKit.Core.Platform;

/// <summary>One cache level as the OS reports it.</summary>
public sealed record CacheInfo(int Level, string Type, long SizeBytes, int LineBytes);

/// <summary>What the OS says about this CPU: model name, logical cores and the caches of CPU 0 (Linux sysfs; fallbacks elsewhere).</summary>
public sealed record CpuInfo(string Model, int LogicalCores, IReadOnlyList<CacheInfo> Caches)
{
    private static readonly Lazy<CpuInfo> Cached = new(Read);

    public static CpuInfo Current => Cached.Value;

    /// <summary>Size of the data (or unified) cache of a level, or <paramref name="fallback"/> when unknown.</summary>
    public long CacheBytes(int level, long fallback)
    {
        foreach (CacheInfo c in Caches)
        {
            if (c.Level == level && c.Type is "Data" or "Unified" && c.SizeBytes > 0)
            {
                return c.SizeBytes;
            }
        }

        return fallback;
    }

    private static CpuInfo Read() => new(ReadModel(), Environment.ProcessorCount, ReadCaches("/sys/devices/system/cpu/cpu0/cache"));

    private static string ReadModel()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                foreach (string line in File.ReadLines("/proc/cpuinfo"))
                {
                    if ((line.StartsWith("model name", StringComparison.Ordinal) || line.StartsWith("Model", StringComparison.Ordinal)) && line.Contains(':', StringComparison.Ordinal))
                    {
                        return line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
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

        return $"{RuntimeInformation.ProcessArchitecture} CPU";
    }

    /// <summary>Reads index*/level, type, size ("48K", "1024K", "32M") and coherency_line_size under a sysfs cache folder.</summary>
    public static IReadOnlyList<CacheInfo> ReadCaches(string folder)
    {
        var list = new List<CacheInfo>();
        if (!Directory.Exists(folder))
        {
            return list;
        }

        foreach (string dir in Directory.GetDirectories(folder, "index*").Order(StringComparer.Ordinal))
        {
            try
            {
                int level = int.Parse(File.ReadAllText(Path.Combine(dir, "level")).Trim(), CultureInfo.InvariantCulture);
                string type = File.ReadAllText(Path.Combine(dir, "type")).Trim();
                long size = ParseSize(File.ReadAllText(Path.Combine(dir, "size")).Trim());
                string linePath = Path.Combine(dir, "coherency_line_size");
                int line = File.Exists(linePath) ? int.Parse(File.ReadAllText(linePath).Trim(), CultureInfo.InvariantCulture) : 64;
                list.Add(new CacheInfo(level, type, size, line));
            }
            catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException or OverflowException or ArgumentException)
            {
                // A cache entry we cannot read is left out; callers fall back to defaults.
            }
        }

        return list;
    }

    /// <summary>Parses sysfs sizes such as "32K", "1024K", "32M"; 0 when empty or unparseable.</summary>
    public static long ParseSize(string s)
    {
        s = s.Trim();
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
