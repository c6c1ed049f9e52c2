namespace ChipKit.Core.Descriptors;

/// <summary>Validation helpers that throw <see cref="ChipKitInputException"/> naming the field.</summary>
public static class Check
{
    /// <summary>Largest element count of one tensor ChipKit will allocate (arrays are int-indexed).</summary>
    public const long MaxElements = int.MaxValue / 2;

    /// <summary>
    /// Most bytes one workload may need (operands, output and the oracle's double-precision copy). Default: half of the
    /// memory available to the process; CHIPKIT_MEMORY_LIMIT (bytes, or with a K/M/G suffix) or the CLI's --memory-limit
    /// change it. Workloads over it are refused before anything is allocated.
    /// </summary>
    public static long MemoryLimitBytes { get; set; } = DefaultMemoryLimit();

    private static long DefaultMemoryLimit()
    {
        string? env = Environment.GetEnvironmentVariable("CHIPKIT_MEMORY_LIMIT");
        long fromEnv = env is null ? 0 : Platform.CpuInfo.ParseSize(env);
        return fromEnv > 0 ? fromEnv : Math.Max(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2, 64L << 20);
    }

    /// <summary>Refuses a workload whose estimated footprint exceeds <see cref="MemoryLimitBytes"/>.</summary>
    public static void MemoryBudget(double bytes, string what)
    {
        if (!(bytes <= MemoryLimitBytes))
        {
            throw new ChipKitInputException(
                $"{what} needs about {bytes / (1 << 30):0.##} GiB; the memory limit is {MemoryLimitBytes / (double)(1 << 30):0.##} GiB (--memory-limit or CHIPKIT_MEMORY_LIMIT)");
        }
    }

    public static void Positive(int value, string field)
    {
        if (value <= 0)
        {
            throw new ChipKitInputException($"{field} must be a positive integer, got {value}");
        }
    }

    public static void NonNegative(int value, string field)
    {
        if (value < 0)
        {
            throw new ChipKitInputException($"{field} must be >= 0, got {value}");
        }
    }

    public static void Finite(float value, string field)
    {
        if (!float.IsFinite(value))
        {
            throw new ChipKitInputException($"{field} must be a finite number, got {value}");
        }
    }

    public static void ElementCount(long count, string what)
    {
        if (count <= 0 || count > MaxElements)
        {
            throw new ChipKitInputException($"{what} would have {count} elements; the limit is {MaxElements}");
        }
    }
}
