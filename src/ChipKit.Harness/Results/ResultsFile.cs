using System.Text.Json;
using System.Text.Json.Serialization;
using ChipKit.Core;

namespace ChipKit.Harness.Results;

/// <summary>Reads and writes results files. Writes are atomic: a temporary file in the same folder, then a rename.</summary>
public static class ResultsFile
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public static string Serialize(ResultsDocument doc) => JsonSerializer.Serialize(doc, Options);

    /// <summary>Writes the document to <paramref name="path"/> atomically (readers never see a half-written file).</summary>
    public static void WriteAtomic(string path, ResultsDocument doc)
    {
        string full = Path.GetFullPath(path);
        string? dir = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }

        string tmp = full + $".tmp-{Environment.ProcessId}";
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        using (var w = new StreamWriter(fs))
        {
            w.Write(Serialize(doc));
            w.Flush();
            fs.Flush(flushToDisk: true);
        }

        File.Move(tmp, full, overwrite: true);
    }

    /// <summary>Reads and checks a results file; errors name the file and the JSON path.</summary>
    public static ResultsDocument Read(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ChipKitInputException($"results file '{path}': cannot read it: {e.Message}", e);
        }

        return Parse(text, path);
    }

    /// <summary>Parses and checks results JSON; errors name <paramref name="source"/> and the JSON path.</summary>
    public static ResultsDocument Parse(string text, string source)
    {
        string path = source;
        ResultsDocument? doc;
        try
        {
            doc = JsonSerializer.Deserialize<ResultsDocument>(text, Options);
        }
        catch (JsonException e)
        {
            throw new ChipKitInputException($"results file '{path}': invalid at {e.Path ?? "$"} (line {(e.LineNumber ?? 0) + 1}): {e.Message}", e);
        }

        if (doc is null)
        {
            throw new ChipKitInputException($"results file '{path}': empty document");
        }

        if (doc.Schema is null || !doc.Schema.StartsWith("chipkit.results/", StringComparison.Ordinal))
        {
            throw new ChipKitInputException($"results file '{path}': $.schema must be \"{ResultsDocument.SchemaId}\", got \"{doc.Schema}\"");
        }

        if (doc.Results is null)
        {
            throw new ChipKitInputException($"results file '{path}': $.results must be an array");
        }

        // Optional blocks may be absent or null in hand-made or older files; readers get empty ones, never null.
        doc.Chipkit ??= new ToolRecord();
        doc.Machine ??= new MachineRecord();
        doc.Run ??= new RunRecord();
        doc.Devices ??= [];
        for (int i = 0; i < doc.Devices.Count; i++)
        {
            if (doc.Devices[i] is null)
            {
                throw new ChipKitInputException($"results file '{path}': $.devices[{i}] is null");
            }

            doc.Devices[i].Properties ??= [];
            if (doc.Devices[i].Peak is PeakRecord peak)
            {
                peak.ComputeGops ??= [];
            }
        }

        for (int i = 0; i < doc.Results.Count; i++)
        {
            ResultRecord r = doc.Results[i];
            if (r is null)
            {
                throw new ChipKitInputException($"results file '{path}': $.results[{i}] is null");
            }

            r.Params ??= [];
            r.Energy ??= new EnergyRecord();
            if (r.Seconds is not null && r.Seconds.Samples is null)
            {
                throw new ChipKitInputException($"results file '{path}': $.results[{i}].seconds.samples must be an array");
            }

            if (string.IsNullOrEmpty(r.Workload) || string.IsNullOrEmpty(r.Device))
            {
                throw new ChipKitInputException($"results file '{path}': $.results[{i}] needs \"workload\" and \"device\"");
            }

            if (r.Status is not ("ok" or "failed" or "skipped"))
            {
                throw new ChipKitInputException($"results file '{path}': $.results[{i}].status must be ok, failed or skipped, got \"{r.Status}\"");
            }
        }

        return doc;
    }
}
