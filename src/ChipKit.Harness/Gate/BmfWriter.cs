using System.Text.Json;
using System.Text.Json.Nodes;
using ChipKit.Harness.Results;

namespace ChipKit.Harness.Gate;

/// <summary>
/// Bencher Metric Format (https://bencher.dev/docs/reference/bencher-metric-format/): a JSON object keyed by benchmark
/// name ("workload@device"), each holding measures with value / lower_value / upper_value. Only verified (ok) results
/// are written. Measured time uses Bencher's built-in measures: latency (nanoseconds per run: median, min, max) and
/// throughput (operations per second: from the median, the slowest and the fastest sample). Modeled time goes to
/// modeled-latency / modeled-throughput so a model is never shown as a measurement; process CPU time (all threads) to
/// cpu-latency; energy per run to energy-joules (measured) or modeled-energy-joules / declared-energy-joules.
/// </summary>
public static class BmfWriter
{
    public static string Write(IReadOnlyList<ResultRecord> results)
    {
        var root = new JsonObject();
        foreach (ResultRecord r in results.Where(r => r.Status == "ok" && r.Verified && r.Seconds is { Samples.Count: > 0 }))
        {
            SecondsRecord s = r.Seconds!;
            string prefix = r.TimeSource == "modeled" ? "modeled-" : "";
            var bench = new JsonObject
            {
                [prefix + "latency"] = Measure(s.Median * 1e9, s.Min * 1e9, s.Max * 1e9),
            };
            if (r.Ops > 0)
            {
                bench[prefix + "throughput"] = Measure(r.Ops / s.Median, r.Ops / s.Max, r.Ops / s.Min);
            }

            if (r.CpuSeconds is { Samples.Count: > 0 } cpu)
            {
                bench["cpu-latency"] = Measure(cpu.Median * 1e9, cpu.Min * 1e9, cpu.Max * 1e9);
            }

            if (r.Energy.Joules is double j && double.IsFinite(j))
            {
                string src = r.Energy.Source is "modeled" or "declared" ? r.Energy.Source + "-" : "";
                bench[src + "energy-joules"] = new JsonObject { ["value"] = j };
            }

            root[$"{r.Workload}@{r.Device}"] = bench;
        }

        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private static JsonObject Measure(double value, double lower, double upper) => new()
    {
        ["value"] = value,
        ["lower_value"] = lower,
        ["upper_value"] = upper,
    };
}
