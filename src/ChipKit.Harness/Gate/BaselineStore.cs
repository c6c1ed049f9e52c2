using System.Text.Json;
using System.Text.RegularExpressions;
using ChipKit.Core;
using ChipKit.Harness.Results;

namespace ChipKit.Harness.Gate;

/// <summary>One stored baseline.</summary>
public sealed record BaselineEntry(string Path, string FingerprintId, string Machine, string Suite, DateTimeOffset Created, int Results, string? Commit);

/// <summary>
/// Baselines kept per machine fingerprint and suite: DIR/&lt;fingerprint id&gt;/&lt;suite&gt;.json (a copy of the results
/// file) and DIR/&lt;fingerprint id&gt;/machine.json (the fingerprint's fields, for people). Default DIR: .chipkit/baselines.
/// </summary>
public sealed partial class BaselineStore(string directory)
{
    public const string DefaultDirectory = ".chipkit/baselines";

    public string Directory { get; } = directory;

    /// <summary>The suite a results file belongs to: its run.suite, or "custom" for inline workloads.</summary>
    public static string SuiteOf(ResultsDocument doc) => string.IsNullOrWhiteSpace(doc.Run.Suite) ? "custom" : Path.GetFileNameWithoutExtension(doc.Run.Suite);

    public static string CheckName(string name, string what)
    {
        if (!SafeName().IsMatch(name))
        {
            throw new ChipKitInputException($"{what} '{name}': expected letters, digits, '.', '_' or '-' (it names a file)");
        }

        return name;
    }

    public string PathFor(MachineFingerprint fp, string suite) => System.IO.Path.Combine(Directory, fp.Id, CheckName(suite, "--name") + ".json");

    /// <summary>
    /// Checks the results file and stores a copy. Refuses files with failed or unverified results (a baseline must be
    /// a clean run: the gate fails closed on every failed result, so it would fail every comparison).
    /// </summary>
    public BaselineEntry Save(string resultsPath, string? suite)
    {
        ResultsDocument doc = ResultsFile.Read(resultsPath);
        for (int i = 0; i < doc.Results.Count; i++)
        {
            ResultRecord r = doc.Results[i];
            if (r.Status == "failed" || (r.Status == "ok" && !r.Verified))
            {
                throw new ChipKitInputException($"results file '{resultsPath}': $.results[{i}] ({r.Workload} on {r.Device}) is {(r.Status == "failed" ? "failed" : "unverified")}; a baseline must contain only verified or skipped results");
            }
        }

        if (!doc.Results.Any(r => r.Status == "ok"))
        {
            throw new ChipKitInputException($"results file '{resultsPath}': $.results has no ok result to use as a baseline");
        }

        string name = suite ?? SuiteOf(doc);
        MachineFingerprint fp = MachineFingerprint.From(doc.Machine);
        string target = PathFor(fp, name);
        ResultsFile.WriteAtomic(target, doc);
        string machineFile = System.IO.Path.Combine(Directory, fp.Id, "machine.json");
        File.WriteAllText(machineFile, JsonSerializer.Serialize(fp, ResultsFile.Options));
        return ToEntry(target, fp.Id, doc, name);
    }

    /// <summary>The stored baseline for this machine and suite, or null.</summary>
    public string? Find(MachineFingerprint fp, string suite)
    {
        string p = PathFor(fp, suite);
        return File.Exists(p) ? p : null;
    }

    /// <summary>Every stored baseline (files that do not read as results are reported, not skipped silently).</summary>
    public List<BaselineEntry> List()
    {
        var list = new List<BaselineEntry>();
        if (!System.IO.Directory.Exists(Directory))
        {
            return list;
        }

        foreach (string dir in System.IO.Directory.GetDirectories(Directory).Order(StringComparer.Ordinal))
        {
            foreach (string file in System.IO.Directory.GetFiles(dir, "*.json").Order(StringComparer.Ordinal))
            {
                if (System.IO.Path.GetFileName(file) == "machine.json")
                {
                    continue;
                }

                ResultsDocument doc = ResultsFile.Read(file);
                list.Add(ToEntry(file, System.IO.Path.GetFileName(dir), doc, System.IO.Path.GetFileNameWithoutExtension(file)));
            }
        }

        return list;
    }

    private static BaselineEntry ToEntry(string path, string id, ResultsDocument doc, string suite) =>
        new(path, id, MachineFingerprint.From(doc.Machine).Describe(), suite, doc.Created, doc.Results.Count(r => r.Status == "ok"), doc.Chipkit.Commit);

    [GeneratedRegex("^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$")]
    private static partial Regex SafeName();
}
