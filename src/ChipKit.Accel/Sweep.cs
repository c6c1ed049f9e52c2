using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using ChipKit.Core;

namespace ChipKit.Accel;

/// <summary>
/// A design space: the Cartesian product of array shapes, dataflows, SRAM sizes and operating points around a base
/// module. Points are numbered in a fixed order (arrays, dataflows, SRAM sizes, operating points; the last varies
/// fastest) so shards of one space agree on every index.
/// </summary>
public sealed class SweepSpace
{
    public required ModuleSpec Base { get; init; }

    public required IReadOnlyList<(int Rows, int Cols)> Arrays { get; init; }

    public required IReadOnlyList<Dataflow> Dataflows { get; init; }

    public required IReadOnlyList<BufferTriple> Srams { get; init; }

    public required IReadOnlyList<string> Points { get; init; }

    public long Count => (long)Arrays.Count * Dataflows.Count * Srams.Count * Points.Count;

    /// <summary>The design point with this index.</summary>
    public (ModuleSpec Module, OperatingPoint Point) At(long index)
    {
        long i = index;
        int p = (int)(i % Points.Count);
        i /= Points.Count;
        int s = (int)(i % Srams.Count);
        i /= Srams.Count;
        int d = (int)(i % Dataflows.Count);
        i /= Dataflows.Count;
        (int rows, int cols) = Arrays[(int)i];
        ModuleSpec m = Base.With(rows, cols, Dataflows[d], Srams[s]);
        return (m, m.Point(Points[p]));
    }

    /// <summary>
    /// Reads a space file: <c>{"module": "edge-int8-16x16", "arrays": ["8x8", "16x16"], "dataflows": ["os", "ws"],
    /// "sram_kib": [[64, 64, 32], [128, 128, 64]], "operating_points": ["nominal", "eco"]}</c>. Every field but
    /// "module" is optional and defaults to the base module's value; <paramref name="moduleOverride"/> replaces "module".
    /// </summary>
    public static SweepSpace Load(string path, string? moduleOverride)
    {
        if (!File.Exists(path))
        {
            throw new ChipKitInputException($"--space '{path}': file not found");
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new ChipKitInputException($"{path}: not valid JSON (line {e.LineNumber + 1}): {e.Message}", e);
        }

        using (doc)
        {
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new ChipKitInputException($"{path}: $: expected an object");
            }

            string[] allowed = ["module", "arrays", "dataflows", "sram_kib", "operating_points"];
            foreach (JsonProperty p in root.EnumerateObject())
            {
                if (!allowed.Contains(p.Name))
                {
                    throw new ChipKitInputException($"{path}: $.{p.Name}: unknown field; expected one of {string.Join(", ", allowed)}");
                }
            }

            string? moduleName = moduleOverride ?? (root.TryGetProperty("module", out JsonElement mn) && mn.ValueKind == JsonValueKind.String ? mn.GetString() : null);
            if (moduleName is null)
            {
                throw new ChipKitInputException($"{path}: $.module: missing; expected a built-in module name or a module file (or pass --module)");
            }

            ModuleSpec m = ModuleLoader.Resolve(moduleName);
            List<JsonElement> Arr(string key)
            {
                if (!root.TryGetProperty(key, out JsonElement a))
                {
                    return [];
                }

                if (a.ValueKind != JsonValueKind.Array || a.GetArrayLength() == 0)
                {
                    throw new ChipKitInputException($"{path}: $.{key}: expected a non-empty array");
                }

                return a.EnumerateArray().ToList();
            }

            var arrays = new List<(int, int)>();
            int i = 0;
            foreach (JsonElement a in Arr("arrays"))
            {
                string s = a.ValueKind == JsonValueKind.String ? a.GetString()! : "";
                string[] rc = s.Split('x');
                if (rc.Length != 2 || !int.TryParse(rc[0], NumberStyles.None, CultureInfo.InvariantCulture, out int r) || !int.TryParse(rc[1], NumberStyles.None, CultureInfo.InvariantCulture, out int c) || r <= 0 || c <= 0)
                {
                    throw new ChipKitInputException($"{path}: $.arrays[{i}]: expected \"ROWSxCOLS\" with positive integers, got {a.GetRawText()}");
                }

                arrays.Add((r, c));
                i++;
            }

            var dataflows = new List<Dataflow>();
            i = 0;
            foreach (JsonElement d in Arr("dataflows"))
            {
                dataflows.Add((d.ValueKind == JsonValueKind.String ? d.GetString() : null) switch
                {
                    "os" => Dataflow.Os,
                    "ws" => Dataflow.Ws,
                    "is" => Dataflow.Is,
                    _ => throw new ChipKitInputException($"{path}: $.dataflows[{i}]: expected \"os\", \"ws\" or \"is\", got {d.GetRawText()}"),
                });
                i++;
            }

            var srams = new List<BufferTriple>();
            i = 0;
            foreach (JsonElement s in Arr("sram_kib"))
            {
                double[]? v = s.ValueKind == JsonValueKind.Array && s.GetArrayLength() == 3 && s.EnumerateArray().All(x => x.ValueKind == JsonValueKind.Number)
                    ? s.EnumerateArray().Select(x => x.GetDouble()).ToArray() : null;
                if (v is null || v.Any(x => x <= 0 || !double.IsFinite(x)))
                {
                    throw new ChipKitInputException($"{path}: $.sram_kib[{i}]: expected [ifmap, filter, ofmap] KiB, three positive numbers, got {s.GetRawText()}");
                }

                srams.Add(new BufferTriple(v[0], v[1], v[2]));
                i++;
            }

            var points = new List<string>();
            i = 0;
            foreach (JsonElement p in Arr("operating_points"))
            {
                string? n = p.ValueKind == JsonValueKind.String ? p.GetString() : null;
                if (n is null || !m.OperatingPoints.Any(o => string.Equals(o.Name, n, StringComparison.OrdinalIgnoreCase)))
                {
                    throw new ChipKitInputException($"{path}: $.operating_points[{i}]: expected one of module {m.Name}'s operating points ({string.Join(", ", m.OperatingPoints.Select(o => o.Name))}), got {p.GetRawText()}");
                }

                points.Add(n);
                i++;
            }

            return new SweepSpace
            {
                Base = m,
                Arrays = arrays.Count > 0 ? arrays : [(m.Rows, m.Cols)],
                Dataflows = dataflows.Count > 0 ? dataflows : [m.Dataflow],
                Srams = srams.Count > 0 ? srams : [m.SramKib],
                Points = points.Count > 0 ? points : [m.Point(null).Name],
            };
        }
    }
}

/// <summary>One evaluated design point: the whole workload list run once ("one inference").</summary>
public sealed record SweepPoint
{
    [JsonPropertyName("index")] public long Index { get; init; }
    [JsonPropertyName("rows")] public int Rows { get; init; }
    [JsonPropertyName("cols")] public int Cols { get; init; }
    [JsonPropertyName("dataflow")] public string Dataflow { get; init; } = "";
    [JsonPropertyName("ifmap_kib")] public double IfmapKib { get; init; }
    [JsonPropertyName("filter_kib")] public double FilterKib { get; init; }
    [JsonPropertyName("ofmap_kib")] public double OfmapKib { get; init; }
    [JsonPropertyName("operating_point")] public string OperatingPoint { get; init; } = "";
    [JsonPropertyName("volts")] public double Volts { get; init; }
    [JsonPropertyName("mhz")] public double Mhz { get; init; }
    [JsonPropertyName("cycles")] public long Cycles { get; init; }
    [JsonPropertyName("latency_s")] public double LatencySeconds { get; init; }
    [JsonPropertyName("energy_j")] public double EnergyJoules { get; init; }
    [JsonPropertyName("tops_per_w")] public double TopsPerWatt { get; init; }
    [JsonPropertyName("edp_js")] public double Edp { get; init; }
    [JsonPropertyName("pareto")] public bool Pareto { get; set; }
}

/// <summary>A sweep's (or a shard's, or a merge's) output: the points and what produced them.</summary>
public sealed record SweepResult
{
    [JsonPropertyName("schema")] public string Schema { get; init; } = "chipkit.sweep/1";
    [JsonPropertyName("module")] public string Module { get; init; } = "";
    [JsonPropertyName("space_points")] public long SpacePoints { get; init; }
    [JsonPropertyName("workloads")] public IReadOnlyList<string> Workloads { get; init; } = [];
    [JsonPropertyName("shards")] public IReadOnlyList<string> Shards { get; init; } = [];
    [JsonPropertyName("source")] public string Source { get; init; } = "modeled: cycle, time and energy model only; outputs are verified by `chipkit run --device npu:...`";
    [JsonPropertyName("points")] public IReadOnlyList<SweepPoint> Points { get; init; } = [];

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Marks the Pareto front: points no other point beats on both latency and energy (ties kept).</summary>
    public static void MarkPareto(IReadOnlyList<SweepPoint> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        var sorted = points.OrderBy(p => p.LatencySeconds).ThenBy(p => p.EnergyJoules).ToList();
        double best = double.PositiveInfinity;
        foreach (SweepPoint p in sorted)
        {
            p.Pareto = p.EnergyJoules < best;
            if (p.Pareto)
            {
                best = p.EnergyJoules;
            }
        }
    }

    /// <summary>Writes sweep.json, points.csv and pareto.csv into <paramref name="dir"/>.</summary>
    public void Write(string dir)
    {
        try
        {
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "sweep.json"), JsonSerializer.Serialize(this, Json));
            File.WriteAllText(Path.Combine(dir, "points.csv"), Csv(Points));
            File.WriteAllText(Path.Combine(dir, "pareto.csv"), Csv(Points.Where(p => p.Pareto).OrderBy(p => p.LatencySeconds)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ChipKitInputException($"--out '{dir}': cannot write: {e.Message}", e);
        }
    }

    public static SweepResult Read(string dirOrFile)
    {
        string file = Directory.Exists(dirOrFile) ? Path.Combine(dirOrFile, "sweep.json") : dirOrFile;
        if (!File.Exists(file))
        {
            throw new ChipKitInputException($"'{dirOrFile}': no sweep.json (expected a `chipkit sweep --out` directory or its sweep.json)");
        }

        try
        {
            SweepResult r = JsonSerializer.Deserialize<SweepResult>(File.ReadAllText(file), Json)
                ?? throw new ChipKitInputException($"{file}: empty");
            if (r.Schema != "chipkit.sweep/1")
            {
                throw new ChipKitInputException($"{file}: $.schema: expected \"chipkit.sweep/1\", got \"{r.Schema}\"");
            }

            return r;
        }
        catch (JsonException e)
        {
            throw new ChipKitInputException($"{file}: not a sweep result: {e.Message}", e);
        }
    }

    /// <summary>Combines shard results of one space: same module, space and workloads, no index twice; the Pareto front is recomputed.</summary>
    public static SweepResult Merge(IReadOnlyList<(string Origin, SweepResult Result)> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0)
        {
            throw new ChipKitInputException("merge: no inputs");
        }

        SweepResult first = parts[0].Result;
        var seen = new Dictionary<long, string>();
        var points = new List<SweepPoint>();
        foreach ((string origin, SweepResult r) in parts)
        {
            if (r.Module != first.Module || r.SpacePoints != first.SpacePoints || !r.Workloads.SequenceEqual(first.Workloads))
            {
                throw new ChipKitInputException($"{origin}: a different sweep (module {r.Module}, {r.SpacePoints} points, {r.Workloads.Count} workloads) than {parts[0].Origin} (module {first.Module}, {first.SpacePoints} points, {first.Workloads.Count} workloads)");
            }

            foreach (SweepPoint p in r.Points)
            {
                if (!seen.TryAdd(p.Index, origin))
                {
                    throw new ChipKitInputException($"{origin}: design point {p.Index} is also in {seen[p.Index]} (overlapping shards)");
                }

                points.Add(p with { });
            }
        }

        points.Sort((a, b) => a.Index.CompareTo(b.Index));
        MarkPareto(points);
        return first with { Points = points, Shards = parts.SelectMany(p => p.Result.Shards).ToList() };
    }

    private static string Csv(IEnumerable<SweepPoint> points)
    {
        var sb = new StringBuilder("index,rows,cols,dataflow,ifmap_kib,filter_kib,ofmap_kib,operating_point,volts,mhz,cycles,latency_s,energy_j,tops_per_w,edp_js,pareto\n");
        foreach (SweepPoint p in points)
        {
            sb.Append(CultureInfo.InvariantCulture,
                $"{p.Index},{p.Rows},{p.Cols},{p.Dataflow},{p.IfmapKib:R},{p.FilterKib:R},{p.OfmapKib:R},{p.OperatingPoint},{p.Volts:R},{p.Mhz:R},{p.Cycles},{p.LatencySeconds:R},{p.EnergyJoules:R},{p.TopsPerWatt:R},{p.Edp:R},{(p.Pareto ? 1 : 0)}\n");
        }

        return sb.ToString();
    }
}

/// <summary>Evaluates a space (or one shard of it) over a workload list, in parallel.</summary>
public static class Sweeper
{
    /// <summary>Parses "i/N" (0 &lt;= i &lt; N).</summary>
    public static (int Index, int Count) ParseShard(string? s)
    {
        if (s is null)
        {
            return (0, 1);
        }

        string[] p = s.Split('/');
        if (p.Length != 2 || !int.TryParse(p[0], NumberStyles.None, CultureInfo.InvariantCulture, out int i) ||
            !int.TryParse(p[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1 || i >= n)
        {
            throw new ChipKitInputException($"--shard '{s}': expected i/N with 0 <= i < N (e.g. 0/8; with a Slurm array use $SLURM_ARRAY_TASK_ID/N)");
        }

        return (i, n);
    }

    public static SweepResult Run(SweepSpace space, IReadOnlyList<(string Name, NpuCost Plan)> workloads, (int Index, int Count) shard, int threads = 0)
    {
        ArgumentNullException.ThrowIfNull(space);
        ArgumentNullException.ThrowIfNull(workloads);
        foreach ((string name, NpuCost plan) in workloads)
        {
            if (!space.Base.Supports(plan.Type))
            {
                throw new ChipKitInputException($"workload {name}: module {space.Base.Name} declares no {plan.Type.ToString().ToLowerInvariant()} MAC energy (choose an int8 suite/workload or another module)");
            }
        }

        var indices = new List<long>();
        for (long i = shard.Index; i < space.Count; i += shard.Count)
        {
            indices.Add(i);
        }

        var results = new SweepPoint[indices.Count];
        double ops = workloads.Sum(w => 2.0 * w.Plan.Layer.Macs * w.Plan.Repeats);
        Parallel.For(0, indices.Count, new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount }, k =>
        {
            (ModuleSpec m, OperatingPoint op) = space.At(indices[k]);
            long cycles = 0;
            double seconds = 0, joules = 0;
            foreach ((_, NpuCost plan) in workloads)
            {
                LayerCost c = CostModel.Cost(plan.Layer, m, plan.Type, plan.Words, op);
                cycles += c.TotalCycles * plan.Repeats;
                seconds += c.Seconds * plan.Repeats;
                joules += c.Joules * plan.Repeats;
            }

            results[k] = new SweepPoint
            {
                Index = indices[k], Rows = m.Rows, Cols = m.Cols, Dataflow = m.Dataflow.ToString().ToLowerInvariant(),
                IfmapKib = m.SramKib.Ifmap, FilterKib = m.SramKib.Filter, OfmapKib = m.SramKib.Ofmap,
                OperatingPoint = op.Name, Volts = op.Volts, Mhz = op.Mhz,
                Cycles = cycles, LatencySeconds = seconds, EnergyJoules = joules,
                TopsPerWatt = ops / joules / 1e12, Edp = joules * seconds,
            };
        });
        SweepResult.MarkPareto(results);
        return new SweepResult
        {
            Module = space.Base.Name,
            SpacePoints = space.Count,
            Workloads = workloads.Select(w => w.Name).ToList(),
            Shards = [$"{shard.Index}/{shard.Count}"],
            Points = results,
        };
    }
}
