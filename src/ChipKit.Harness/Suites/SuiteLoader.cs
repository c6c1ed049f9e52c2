using System.Globalization;
using System.Reflection;
using System.Text.Json;
using ChipKit.Core;
using ChipKit.Core.Workloads;

namespace ChipKit.Harness.Suites;

/// <summary>
/// Built-in suites and suite files. A suite file is CSV or JSON:
/// CSV with a <c>spec</c> column (one workload spec per row), or DeepBench's columns
/// (<c>kind,suite,M,N,K,a_trans,b_trans</c> for GEMM; <c>kind,suite,N,C,H,W,K,R,S,pad_h,pad_w,stride_h,stride_w</c> for conv);
/// JSON <c>{"name": "...", "workloads": ["gemm:...", ...]}</c> or a bare array of specs. Lines starting with # are comments.
/// </summary>
public static class SuiteLoader
{
    /// <summary>Built-in suite names and what they hold.</summary>
    public static readonly IReadOnlyDictionary<string, string> BuiltIn = new Dictionary<string, string>
    {
        ["quick"] = "a handful of GEMM, conv and int8 shapes covering every kernel path (under a minute)",
        ["resnet50"] = "the 23 distinct ResNet-50 v1.5 conv layers, batch 1, fp32 NCHW",
        ["resnet50-b8"] = "the resnet50 layers at batch 8",
        ["resnet50-int8"] = "the same layers as QLinearConv u8 x s8, per-channel weights, with bias",
        ["deepbench"] = "DeepBench inference GEMM and conv sizes (server and device sets), fp32",
        ["deepbench-gemm"] = "DeepBench inference GEMM sizes, fp32",
        ["deepbench-conv"] = "DeepBench inference conv sizes, fp32",
        ["deepbench-int8"] = "DeepBench inference GEMM sizes as u8 x s8 QLinearMatMul (DeepBench's int8 rule)",
        ["resnet50-u8u8"] = "the resnet50-int8 layers with u8 weights: ONNX Runtime's exact int8 path on x86 without VNNI (its u8 x s8 kernels saturate there)",
        ["deepbench-u8u8"] = "DeepBench inference GEMM sizes as u8 x u8 MatMulInteger (int32 out): exact in ONNX Runtime on any x86",
        ["mlperf-tiny"] = "the six MLPerf Tiny int8 TFLite models as whole networks (model:ic01 ... model:sww01): latency, verified output, energy per inference",
    };

    /// <summary>The models of the mlperf-tiny suite, in MLPerf Tiny's benchmark order.</summary>
    public static readonly IReadOnlyList<string> MlperfTinyIds = ["kws01", "vww01", "ic01", "ad01", "ic02", "sww01"];

    /// <summary>Resolves a suite name or a path to a suite file.</summary>
    public static Suite Load(string nameOrPath)
    {
        string key = nameOrPath.Trim().ToLowerInvariant();
        switch (key)
        {
            case "quick":
                return FromCsv("quick", ReadResource("quick.csv"), "quick");
            case "resnet50":
                return FromCsv("resnet50", ReadResource("resnet50.csv"), "resnet50");
            case "resnet50-int8":
                return new Suite("resnet50-int8", FromCsv("resnet50", ReadResource("resnet50.csv"), "resnet50").Workloads
                    .Select(w => WorkloadSpec.Parse("q" + w.Spec + ",dtype=u8,wtype=s8,perchannel=1,bias=1")).ToList());
            case "resnet50-b8":
                return new Suite(key, Load("resnet50").Workloads.Select(w => WorkloadSpec.Parse(w.Spec.Replace("n=1,", "n=8,", StringComparison.Ordinal))).ToList());
            case "resnet50-u8u8":
                return new Suite(key, Load("resnet50-int8").Workloads.Select(w => WorkloadSpec.Parse(w.Spec.Replace("wtype=s8", "wtype=u8", StringComparison.Ordinal))).ToList());
            case "deepbench-u8u8":
                return new Suite(key, Load("deepbench-gemm").Workloads.Cast<GemmWorkload>()
                    .Select(g => WorkloadSpec.Parse($"qgemm:m={g.Desc.M},n={g.Desc.N},k={g.Desc.K},dtype=u8,wtype=u8,out=i32")).ToList());
            case "deepbench-gemm":
                return FromCsv(key, ReadResource("deepbench_inference_gemm.csv"), "deepbench_inference_gemm.csv");
            case "deepbench-conv":
                return FromCsv(key, ReadResource("deepbench_inference_conv.csv"), "deepbench_inference_conv.csv");
            case "deepbench":
                return new Suite(key, [.. Load("deepbench-gemm").Workloads, .. Load("deepbench-conv").Workloads]);
            case "deepbench-int8":
                return new Suite(key, Load("deepbench-gemm").Workloads.Cast<GemmWorkload>()
                    .Select(g => WorkloadSpec.Parse($"qgemm:m={g.Desc.M},n={g.Desc.N},k={g.Desc.K},dtype=u8,wtype=s8")).ToList());
            case "mlperf-tiny":
                // the "model" op is registered by ChipKit.Models (the CLI does it at start-up)
                return new Suite(key, MlperfTinyIds.Select(id => WorkloadSpec.Parse("model:" + id)).ToList());
        }

        if (!File.Exists(nameOrPath))
        {
            throw new ChipKitInputException(
                $"--suite '{nameOrPath}': not a built-in suite ({string.Join(", ", BuiltIn.Keys)}) and no such file");
        }

        string text;
        try
        {
            text = File.ReadAllText(nameOrPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ChipKitInputException($"suite file '{nameOrPath}': cannot read it: {e.Message}", e);
        }

        string name = Path.GetFileNameWithoutExtension(nameOrPath);
        return nameOrPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || text.TrimStart().StartsWith('[') || text.TrimStart().StartsWith('{')
            ? FromJson(name, text, nameOrPath)
            : FromCsv(name, text, nameOrPath);
    }

    private static string ReadResource(string file)
    {
        using Stream s = Assembly.GetExecutingAssembly().GetManifestResourceStream("ChipKit.Suites." + file)
            ?? throw new InvalidOperationException($"built-in suite resource {file} is missing from the build");
        using var reader = new StreamReader(s);
        return reader.ReadToEnd();
    }

    /// <summary>Parses a CSV suite; errors name the source and line.</summary>
    public static Suite FromCsv(string name, string text, string source)
    {
        string[] lines = text.Split('\n');
        string[]? header = null;
        var workloads = new List<Workload>();
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            if (header is null)
            {
                header = line.Split(',').Select(h => h.Trim().ToLowerInvariant()).ToArray();
                if (Array.IndexOf(header, "spec") < 0 && Array.IndexOf(header, "kind") < 0)
                {
                    throw new ChipKitInputException($"{source}:{i + 1}: the header must have a 'spec' column or DeepBench's 'kind,...' columns, got '{line}'");
                }

                continue;
            }

            try
            {
                workloads.Add(ParseRow(header, line));
            }
            catch (ChipKitInputException e)
            {
                throw new ChipKitInputException($"{source}:{i + 1}: {e.Message}", e);
            }
        }

        if (workloads.Count == 0)
        {
            throw new ChipKitInputException($"{source}: the suite has no workloads");
        }

        return new Suite(name, workloads);
    }

    private static Workload ParseRow(string[] header, string line)
    {
        int specCol = Array.IndexOf(header, "spec");
        if (specCol >= 0)
        {
            // A spec contains commas itself: the spec column is the last one, so take the rest of the line.
            string[] head = line.Split(',', specCol + 1);
            return WorkloadSpec.Parse(head[specCol]);
        }

        string[] cells = line.Split(',').Select(c => c.Trim()).ToArray();
        if (cells.Length != header.Length)
        {
            throw new ChipKitInputException($"expected {header.Length} columns ({string.Join(',', header)}), got {cells.Length}");
        }

        string Cell(string col)
        {
            int j = Array.IndexOf(header, col);
            return j >= 0 ? cells[j] : throw new ChipKitInputException($"missing column '{col}'");
        }

        int IntCell(string col) => int.TryParse(Cell(col), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v)
            ? v
            : throw new ChipKitInputException($"column '{col}' must be an integer, got '{Cell(col)}'");

        return Cell("kind").ToLowerInvariant() switch
        {
            "gemm" => WorkloadSpec.Parse($"gemm:m={IntCell("m")},n={IntCell("n")},k={IntCell("k")},ta={IntCell("a_trans")},tb={IntCell("b_trans")}"),
            "conv" => WorkloadSpec.Parse(
                $"conv:n={IntCell("n")},c={IntCell("c")},h={IntCell("h")},w={IntCell("w")},k={IntCell("k")},r={IntCell("r")},s={IntCell("s")}," +
                $"pad_h={IntCell("pad_h")},pad_w={IntCell("pad_w")},stride_h={IntCell("stride_h")},stride_w={IntCell("stride_w")}"),
            string other => throw new ChipKitInputException($"column 'kind' must be gemm or conv, got '{other}'"),
        };
    }

    /// <summary>Parses a JSON suite: an object with "workloads" (and optional "name"), or a bare array of specs.</summary>
    public static Suite FromJson(string name, string text, string source)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new ChipKitInputException($"{source}: not valid JSON (line {e.LineNumber + 1}): {e.Message}", e);
        }

        using (doc)
        {
            JsonElement list = doc.RootElement;
            if (list.ValueKind == JsonValueKind.Object)
            {
                if (list.TryGetProperty("name", out JsonElement n) && n.ValueKind == JsonValueKind.String)
                {
                    name = n.GetString()!;
                }

                if (!list.TryGetProperty("workloads", out list))
                {
                    throw new ChipKitInputException($"{source}: expected a \"workloads\" array of spec strings");
                }
            }

            if (list.ValueKind != JsonValueKind.Array)
            {
                throw new ChipKitInputException($"{source}: $.workloads must be an array of spec strings");
            }

            var workloads = new List<Workload>();
            int i = 0;
            foreach (JsonElement e in list.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.String)
                {
                    throw new ChipKitInputException($"{source}: $.workloads[{i}] must be a spec string such as \"gemm:m=64,n=64,k=64\"");
                }

                try
                {
                    workloads.Add(WorkloadSpec.Parse(e.GetString()!));
                }
                catch (ChipKitInputException ex)
                {
                    throw new ChipKitInputException($"{source}: $.workloads[{i}]: {ex.Message}", ex);
                }

                i++;
            }

            if (workloads.Count == 0)
            {
                throw new ChipKitInputException($"{source}: the suite has no workloads");
            }

            return new Suite(name, workloads);
        }
    }
}
