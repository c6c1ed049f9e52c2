using ChipKit.Core.Descriptors;

namespace ChipKit.Core.Workloads;

/// <summary>Parses inline workload specs such as <c>gemm:m=1000,n=1000,k=1000</c>.</summary>
public static class WorkloadSpec
{
    public static readonly string[] Ops = ["gemm", "conv", "qgemm", "qconv"];

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Func<string, string, Workload>> Extensions = new(StringComparer.Ordinal);

    /// <summary>
    /// Adds an op defined outside Core (e.g. "model", whole networks from ChipKit.Models): <paramref name="parse"/>
    /// gets the whole spec and the text after the colon. Registering the same op again replaces the parser.
    /// </summary>
    public static void Register(string op, Func<string, string, Workload> parse) => Extensions[op] = parse;

    /// <summary>Parses a spec; throws <see cref="ChipKitInputException"/> naming the spec and the bad key.</summary>
    public static Workload Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        string s = spec.Trim();
        int colon = s.IndexOf(':', StringComparison.Ordinal);
        string op = (colon < 0 ? s : s[..colon]).Trim().ToLowerInvariant();
        string body = colon < 0 ? string.Empty : s[(colon + 1)..];
        bool extension = Extensions.TryGetValue(op, out Func<string, string, Workload>? parse) && !Ops.Contains(op);
        SpecKeys? keys = extension ? null : new SpecKeys(s, body);
        try
        {
            Workload w = op switch
            {
                _ when extension => parse!(s, body),
                "gemm" => GemmWorkload.Parse(keys!),
                "conv" => ConvWorkload.Parse(keys!),
                "qgemm" => QGemmWorkload.Parse(keys!),
                "qconv" => QConvWorkload.Parse(keys!),
                _ => throw new ChipKitInputException($"workload '{s}': unknown op '{op}'; expected one of {string.Join(", ", Ops.Concat(Extensions.Keys.Order(StringComparer.Ordinal)))} (e.g. gemm:m=256,n=256,k=256)"),
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
