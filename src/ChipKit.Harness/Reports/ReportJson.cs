using System.Text.Json;
using System.Text.Json.Nodes;
using ChipKit.Harness.Results;

namespace ChipKit.Harness.Reports;

/// <summary>
/// `chipkit report --format json`: a normalised, machine-readable dump of one or more results files and sweeps
/// (schema "chipkit.report/1"). Every result carries its run tag and file, its figures with their sources, the
/// roofline position where the device has ceilings, and a "kind" (measured, modeled, declared, none) next to every
/// energy and time source so a consumer never mistakes a model or a declared wattage for a measurement.
/// </summary>
public static class ReportJson
{
    public const string SchemaId = "chipkit.report/1";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static string Write(ReportSet set)
    {
        ArgumentNullException.ThrowIfNull(set);
        var runs = new JsonArray();
        foreach (ReportRun run in set.Runs)
        {
            ResultsDocument d = run.Doc;
            var devices = new JsonArray();
            foreach (DeviceRecord dev in d.Devices)
            {
                devices.Add(new JsonObject
                {
                    ["id"] = dev.Id,
                    ["backend"] = dev.Backend,
                    ["name"] = dev.Name,
                    ["available"] = dev.Available,
                    ["reason"] = dev.Reason,
                    ["peak"] = Peak(dev.Peak),
                });
            }

            runs.Add(new JsonObject
            {
                ["tag"] = run.Tag,
                ["file"] = run.Path,
                ["created"] = d.Created,
                ["schema"] = d.Schema,
                ["chipkit"] = new JsonObject { ["version"] = d.Chipkit.Version, ["commit"] = d.Chipkit.Commit },
                ["machine"] = new JsonObject
                {
                    ["cpu"] = d.Machine.Cpu,
                    ["cores"] = d.Machine.Cores,
                    ["memory_bytes"] = d.Machine.MemoryBytes,
                    ["os"] = d.Machine.Os,
                    ["arch"] = d.Machine.Arch,
                    ["runtime"] = d.Machine.Runtime,
                    ["hostname"] = d.Machine.Hostname,
                },
                ["settings"] = new JsonObject
                {
                    ["suite"] = d.Run.Suite,
                    ["min_time_s"] = d.Run.MinTimeSeconds,
                    ["warmup_s"] = d.Run.WarmupSeconds,
                    ["min_samples"] = d.Run.MinSamples,
                    ["seed"] = d.Run.Seed,
                    ["threads"] = d.Run.Threads,
                    ["args"] = new JsonArray([.. d.Run.Args.Select(a => (JsonNode?)JsonValue.Create(a))]),
                },
                ["devices"] = devices,
            });
        }

        var results = new JsonArray();
        foreach (ReportEntry e in set.Entries)
        {
            results.Add(Result(e));
        }

        var sweeps = new JsonArray();
        foreach (SweepInput s in set.Sweeps)
        {
            var points = new JsonArray();
            foreach (SweepPointData p in s.Points)
            {
                points.Add(new JsonObject
                {
                    ["index"] = p.Index,
                    ["design"] = p.Label,
                    ["latency_s"] = p.LatencySeconds,
                    ["energy_j"] = p.EnergyJoules,
                    ["tops_per_w"] = p.TopsPerWatt,
                    ["pareto"] = p.Pareto,
                });
            }

            sweeps.Add(new JsonObject
            {
                ["tag"] = s.Tag,
                ["file"] = s.Path,
                ["module"] = s.Module,
                ["workloads"] = new JsonArray([.. s.Workloads.Select(w => (JsonNode?)JsonValue.Create(w))]),
                ["source"] = s.Source,
                ["kind"] = "modeled",
                ["points"] = points,
            });
        }

        var root = new JsonObject
        {
            ["schema"] = SchemaId,
            ["summary"] = new JsonObject { ["ok"] = set.Count("ok"), ["failed"] = set.Count("failed"), ["skipped"] = set.Count("skipped") },
            ["runs"] = runs,
            ["results"] = results,
            ["sweeps"] = sweeps,
            ["notes"] = new JsonArray([.. set.Notes.Select(n => (JsonNode?)JsonValue.Create(n))]),
        };
        return root.ToJsonString(Indented);
    }

    private static JsonObject? Peak(PeakRecord? p) => p is null ? null : new JsonObject
    {
        ["source"] = p.Source,
        ["note"] = p.Note,
        ["compute_gops"] = new JsonObject([.. p.ComputeGops.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value)))]),
        ["memory_gbps"] = p.MemoryGbps,
    };

    private static JsonObject Result(ReportEntry e)
    {
        ResultRecord r = e.Result;
        long? bytes = Roofline.MinimumTrafficBytes(r.Workload);
        double? intensity = Roofline.Intensity(r);
        PeakRecord? peak = e.Device?.Peak;
        JsonObject? roof = null;
        if (intensity is double i && Roofline.Attainable(peak, r.Op, i) is double attainable)
        {
            roof = new JsonObject
            {
                ["data_type"] = Roofline.DataType(r.Op),
                ["compute_ceiling_gops"] = Roofline.ComputeCeiling(peak, r.Op),
                ["memory_gbps"] = peak!.MemoryGbps,
                ["attainable_gops"] = attainable,
                ["fraction_of_attainable"] = r.Gops is double g ? g / attainable : null,
                ["peak_source"] = peak.Source,
            };
        }

        EnergyRecord en = r.Energy;
        var energy = new JsonObject
        {
            ["source"] = en.Source,
            ["kind"] = Provenance.EnergyKind(en.Source),
            ["joules_per_run"] = en.Joules,
            ["watts"] = en.Watts,
            ["idle_watts"] = en.IdleWatts,
            ["gops_per_watt"] = en.GopsPerWatt,
            ["loop_s"] = en.LoopSeconds,
            ["resolution_j"] = en.ResolutionJoules,
            ["window_start"] = en.WindowStart,
            ["window_end"] = en.WindowEnd,
            ["breakdown_j"] = en.Breakdown is null ? null : new JsonObject([.. en.Breakdown.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value)))]),
            ["note"] = en.Note,
        };
        return new JsonObject
        {
            ["run"] = e.Run.Tag,
            ["file"] = e.Run.Path,
            ["workload"] = r.Workload,
            ["op"] = r.Op,
            ["params"] = new JsonObject([.. r.Params.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value)))]),
            ["device"] = r.Device,
            ["kernel"] = r.Kernel,
            ["status"] = r.Status,
            ["verified"] = r.Verified,
            ["message"] = r.Message,
            ["error"] = r.Error is null ? null : new JsonObject
            {
                ["max_abs"] = r.Error.MaxAbs,
                ["max_rel"] = r.Error.MaxRel,
                ["bound"] = r.Error.Bound,
                ["mismatches"] = r.Error.Mismatches,
            },
            ["ops"] = r.Ops,
            ["min_traffic_bytes"] = bytes,
            ["intensity_ops_per_byte"] = intensity,
            ["time_source"] = r.TimeSource,
            ["time_kind"] = Provenance.TimeKind(r.TimeSource),
            ["seconds"] = r.Seconds is null ? null : new JsonObject
            {
                ["median"] = r.Seconds.Median,
                ["min"] = r.Seconds.Min,
                ["max"] = r.Seconds.Max,
                ["cv"] = r.Seconds.Cv,
                ["samples"] = r.Seconds.Samples.Count,
                ["runs_per_sample"] = r.Seconds.RunsPerSample,
            },
            ["cycles"] = r.Cycles,
            ["gops"] = r.Gops,
            ["roofline"] = roof,
            ["energy"] = energy,
            ["compare"] = r.Compare is null ? null : new JsonObject
            {
                ["peer"] = r.Compare.Peer,
                ["peer_status"] = r.Compare.PeerStatus,
                ["peer_gops"] = r.Compare.PeerGops,
                ["ratio"] = r.Compare.Ratio,
            },
        };
    }
}
