using ChipKit.Core.Descriptors;

namespace ChipKit.Core.Workloads;

/// <summary>Parses inline workload specs such as <c>gemm:m=1000,n=1000,k=1000</c>.</summary>
public static class WorkloadSpec
{
    public static readonly string[] Ops = ["gemm", "conv", "qgemm", "qconv"];

    /// <summary>Parses a spec; throws <see cref="ChipKitInputException"/> naming the spec and the bad key.</summary>
    public static Workload Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        string s = spec.Trim();
        int colon = s.IndexOf(':', StringComparison.Ordinal);
        string op = (colon < 0 ? s : s[..colon]).Trim().ToLowerInvariant();
        string body = colon < 0 ? string.Empty : s[(colon + 1)..];
        var keys = new SpecKeys(s, body);
        try
        {
            Workload w = op switch
            {
                "gemm" => GemmWorkload.Parse(keys),
                "conv" => ConvWorkload.Parse(keys),
                "qgemm" => QGemmWorkload.Parse(keys),
                "qconv" => QConvWorkload.Parse(keys),
                _ => throw new ChipKitInputException($"workload '{s}': unknown op '{op}'; expected one of {string.Join(", ", Ops)} (e.g. gemm:m=256,n=256,k=256)"),
            };

            // Operands, output and the oracle's double-precision values and magnitudes (16 bytes per output).
            Check.MemoryBudget(w.Bytes + (16.0 * w.Bytes / 4), "this workload");
            return w;
        }
        catch (ChipKitInputException e) when (!e.Message.StartsWith("workload '", StringComparison.Ordinal))
        {
            throw new ChipKitInputException($"workload '{s}': {e.Message}", e);
        }
    }
}
