using System.Text.Json;
using ChipKit.Core;
using ChipKit.Harness.Results;
using ChipKit.Harness.Runner;

namespace ChipKit.Harness.Gate;

/// <summary>
/// Several results files of the same suite on one side of a comparison become one document whose timing samples are
/// the per-run medians: the statistical test then sees the run-to-run drift of the machine (which samples within one
/// run do not show) and needs enough runs rather than enough samples (5 per side for Mann-Whitney at alpha 0.01).
/// A result failed or unverified in any run is failed; a workload absent from any run is absent.
/// </summary>
public static class RunMerger
{
    public static ResultsDocument Merge(IReadOnlyList<(ResultsDocument Doc, string Path)> runs, string role)
    {
        if (runs.Count == 1)
        {
            return runs[0].Doc;
        }

        MachineFingerprint first = MachineFingerprint.From(runs[0].Doc.Machine);
        for (int k = 1; k < runs.Count; k++)
        {
            List<string> diff = first.Differences(MachineFingerprint.From(runs[k].Doc.Machine));
            if (diff.Count > 0)
            {
                throw new ChipKitInputException($"{role} runs '{runs[0].Path}' and '{runs[k].Path}' come from different machines ($.machine: {string.Join("; ", diff)}); the runs of one side must share a machine");
            }
        }

        var merged = new ResultsDocument
        {
            Schema = runs[0].Doc.Schema, Created = runs[0].Doc.Created, Chipkit = runs[0].Doc.Chipkit, Machine = runs[0].Doc.Machine,
            Run = runs[0].Doc.Run, Devices = runs[0].Doc.Devices,
        };
        var lookups = runs.Select(r => r.Doc.Results.Select((x, i) => (x, i)).GroupBy(p => (p.x.Workload, p.x.Device)).ToDictionary(g => g.Key, g => g.First())).ToList();
        foreach (ResultRecord r0 in runs[0].Doc.Results)
        {
            var parts = new List<(ResultRecord R, int Index, string Path)>();
            bool inAll = true;
            for (int k = 0; k < runs.Count; k++)
            {
                if (lookups[k].TryGetValue((r0.Workload, r0.Device), out var hit))
                {
                    parts.Add((hit.x, hit.i, runs[k].Path));
                }
                else
                {
                    inAll = false;
                }
            }

            if (!inAll)
            {
                continue; // absent from a run: absent from the side (the gate reports it missing)
            }

            var bad = parts.FirstOrDefault(p => p.R.Status == "failed" || (p.R.Status == "ok" && !p.R.Verified));
            ResultRecord m = Clone(r0);
            if (bad.R is not null)
            {
                m.Status = "failed";
                m.Verified = false;
                m.Message = $"in '{bad.Path}' $.results[{bad.Index}]: {(bad.R.Status == "failed" ? bad.R.Message : "not verified")}";
            }
            else if (parts.Any(p => p.R.Status == "skipped"))
            {
                var s = parts.First(p => p.R.Status == "skipped");
                m.Status = "skipped";
                m.Message = $"in '{s.Path}': {s.R.Message}";
            }
            else
            {
                m.Seconds = MediansOf(parts.Select(p => p.R.Seconds).ToList());
                m.CpuSeconds = parts.All(p => p.R.CpuSeconds is not null) ? MediansOf(parts.Select(p => p.R.CpuSeconds).ToList()) : null;
                m.CanarySeconds = parts.All(p => p.R.CanarySeconds is not null) ? MediansOf(parts.Select(p => p.R.CanarySeconds).ToList()) : null;
            }

            merged.Results.Add(m);
        }

        return merged;
    }

    private static SecondsRecord? MediansOf(List<SecondsRecord?> perRun)
    {
        if (perRun.Any(s => s is null || s.Samples.Count == 0))
        {
            return null;
        }

        List<double> medians = perRun.Select(s => SampleStats.Median(s!.Samples)).ToList();
        return new SecondsRecord
        {
            Samples = medians, Median = SampleStats.Median(medians), Min = medians.Min(), Max = medians.Max(), Cv = SampleStats.Cv(medians), RunsPerSample = 1,
        };
    }

    // A JSON round trip copies every field, including ones added to the schema later.
    private static ResultRecord Clone(ResultRecord r) =>
        JsonSerializer.Deserialize<ResultRecord>(JsonSerializer.Serialize(r, ResultsFile.Options), ResultsFile.Options)!;
}
