using System.Globalization;
using System.Reflection;
using System.Text.Json;
using ChipKit.Core;

namespace ChipKit.Accel;

/// <summary>Systolic dataflows, as SCALE-Sim names them.</summary>
public enum Dataflow
{
    /// <summary>Output stationary.</summary>
    Os,

    /// <summary>Weight stationary.</summary>
    Ws,

    /// <summary>Input stationary.</summary>
    Is,
}

/// <summary>Data types a module may support, each with its own MAC energy and word size.</summary>
public enum MacType
{
    Int8,
    Fp16,
    Fp32,
}

/// <summary>A (voltage, frequency) pair the module may run at.</summary>
public sealed record OperatingPoint(string Name, double Volts, double Mhz);

/// <summary>The three on-chip buffers (SCALE-Sim's ifmap, filter and ofmap SRAMs).</summary>
public sealed record BufferTriple(double Ifmap, double Filter, double Ofmap);

/// <summary>
/// A modeled accelerator module: a systolic array with three double-buffered SRAMs, a DRAM interface and an energy
/// table (pJ per action at the nominal voltage). Read from JSON (<see cref="ModuleLoader"/>); see docs/accelerator.md.
/// </summary>
public sealed record ModuleSpec(
    string Name,
    string Description,
    double TechnologyNm,
    int Rows,
    int Cols,
    Dataflow Dataflow,
    BufferTriple SramKib,
    IReadOnlyDictionary<MacType, int> WordBytes,
    string DramType,
    double DramBytesPerCycle,
    double DramPjPerBit,
    double NominalVolts,
    double ClockMhz,
    IReadOnlyList<OperatingPoint> OperatingPoints,
    IReadOnlyDictionary<MacType, double> MacPj,
    BufferTriple SramReadPjPerByte,
    BufferTriple SramWritePjPerByte,
    double RegisterFilePjPerByte,
    double LeakageMw,
    IReadOnlyList<string> Sources)
{
    /// <summary>Whether the module has MAC units for this type (a MAC energy is declared for it).</summary>
    public bool Supports(MacType t) => MacPj.ContainsKey(t) && WordBytes.ContainsKey(t);

    /// <summary>The operating point with this name (case-insensitive), or an input error naming the choices.</summary>
    public OperatingPoint Point(string? name)
    {
        if (name is null)
        {
            return OperatingPoints.First(p => p.Volts == NominalVolts && p.Mhz == ClockMhz);
        }

        return OperatingPoints.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
            ?? throw new ChipKitInputException(
                $"operating point '{name}': module {Name} has {string.Join(", ", OperatingPoints.Select(p => p.Name))}");
    }

    /// <summary>
    /// The same module with another array shape, dataflow or SRAM sizes (design-space exploration). A resized buffer's
    /// read and write energy per byte is scaled by <see cref="SramScaling.PjPerByte45"/>(new size) / (old size), the
    /// Horowitz size curve; leakage power is kept as declared.
    /// </summary>
    public ModuleSpec With(int? rows = null, int? cols = null, Dataflow? dataflow = null, BufferTriple? sramKib = null)
    {
        BufferTriple s = sramKib ?? SramKib;
        BufferTriple Scale(BufferTriple e) => new(
            e.Ifmap * SramScaling.Ratio(SramKib.Ifmap, s.Ifmap),
            e.Filter * SramScaling.Ratio(SramKib.Filter, s.Filter),
            e.Ofmap * SramScaling.Ratio(SramKib.Ofmap, s.Ofmap));
        return this with
        {
            Rows = rows ?? Rows, Cols = cols ?? Cols, Dataflow = dataflow ?? Dataflow, SramKib = s,
            SramReadPjPerByte = Scale(SramReadPjPerByte), SramWritePjPerByte = Scale(SramWritePjPerByte),
        };
    }
}

/// <summary>
/// SRAM access energy versus capacity, from Horowitz (ISSCC 2014, 45 nm): a 64-bit read costs 10 pJ at 8 KB, 20 pJ at
/// 32 KB and 100 pJ at 1 MB. Between those points the energy is interpolated linearly in log(size) vs log(energy);
/// below 8 KB the 8-32 KB slope is extended; above 1 MB the buffer is taken as 1 MB banks (100 pJ).
/// </summary>
public static class SramScaling
{
    /// <summary>pJ per byte read from a buffer of <paramref name="kib"/> KiB at 45 nm, 0.9 V.</summary>
    public static double PjPerByte45(double kib)
    {
        double pj64;
        if (kib >= 1024)
        {
            pj64 = 100;
        }
        else if (kib >= 32)
        {
            pj64 = 20 * Math.Pow(kib / 32, Math.Log(5) / Math.Log(32));
        }
        else
        {
            pj64 = 10 * Math.Pow(kib / 8, 0.5);
        }

        return pj64 / 8;
    }

    /// <summary>How much more (or less) a byte costs in a buffer of <paramref name="toKib"/> than of <paramref name="fromKib"/>.</summary>
    public static double Ratio(double fromKib, double toKib) => fromKib == toKib ? 1 : PjPerByte45(toKib) / PjPerByte45(fromKib);
}

/// <summary>Reads and validates module files; knows the built-in modules.</summary>
public static class ModuleLoader
{
    private const string ResourcePrefix = "ChipKit.Accel.Modules.";

    /// <summary>Names of the built-in modules, sorted.</summary>
    public static IReadOnlyList<string> BuiltInNames { get; } = typeof(ModuleLoader).Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal) && n.EndsWith(".json", StringComparison.Ordinal))
        .Select(n => n[ResourcePrefix.Length..^".json".Length])
        .Order(StringComparer.Ordinal)
        .ToList();

    /// <summary>A built-in module by name.</summary>
    public static ModuleSpec BuiltIn(string name)
    {
        Assembly asm = typeof(ModuleLoader).Assembly;
        using Stream? s = asm.GetManifestResourceStream(ResourcePrefix + name + ".json")
            ?? throw new ChipKitInputException($"module '{name}': no such built-in module; built-in: {string.Join(", ", BuiltInNames)}");
        using var r = new StreamReader(s);
        return Parse(r.ReadToEnd(), $"built-in module {name}");
    }

    /// <summary>A built-in module name, or a path to a module file (anything with a '/' or ending in .json).</summary>
    public static ModuleSpec Resolve(string nameOrPath)
    {
        ArgumentNullException.ThrowIfNull(nameOrPath);
        bool looksLikePath = nameOrPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || nameOrPath.Contains('/') || nameOrPath.Contains('\\');
        if (!looksLikePath)
        {
            return BuiltIn(nameOrPath);
        }

        if (!File.Exists(nameOrPath))
        {
            throw new ChipKitInputException($"module file '{nameOrPath}': not found");
        }

        return Parse(File.ReadAllText(nameOrPath), nameOrPath);
    }

    /// <summary>Parses and validates module JSON. Every error names <paramref name="origin"/> and the JSON path.</summary>
    public static ModuleSpec Parse(string json, string origin)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new ChipKitInputException($"{origin}: not valid JSON (line {e.LineNumber + 1}): {e.Message}", e);
        }

        using (doc)
        {
            return new Reader(origin).Module(doc.RootElement);
        }
    }

    private sealed class Reader(string origin)
    {
        private ChipKitInputException Error(string path, string expected) => new($"{origin}: {path}: {expected}");

        public ModuleSpec Module(JsonElement root)
        {
            Obj(root, "$", ["name", "description", "technology_nm", "array", "sram_kib", "word_bytes", "dram", "nominal_volts", "clock_mhz",
                "operating_points", "energy_pj", "leakage_mw", "sources"]);
            string name = Str(root, "$", "name");
            if (name.Length == 0 || name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
            {
                throw Error("$.name", $"expected letters, digits, '-', '_' or '.', got '{name}'");
            }

            JsonElement array = Req(root, "$", "array");
            Obj(array, "$.array", ["rows", "cols", "dataflow"]);
            int rows = PosInt(array, "$.array", "rows");
            int cols = PosInt(array, "$.array", "cols");
            string df = Str(array, "$.array", "dataflow");
            Dataflow dataflow = df switch
            {
                "os" => Dataflow.Os,
                "ws" => Dataflow.Ws,
                "is" => Dataflow.Is,
                _ => throw Error("$.array.dataflow", $"expected \"os\", \"ws\" or \"is\", got \"{df}\""),
            };

            BufferTriple sram = Triple(root, "$", "sram_kib", positive: true);

            JsonElement wb = Req(root, "$", "word_bytes");
            var wordBytes = new Dictionary<MacType, int>();
            foreach (KeyValuePair<string, MacType> t in TypeKeys(wb, "$.word_bytes"))
            {
                wordBytes[t.Value] = PosInt(wb, "$.word_bytes", t.Key);
            }

            JsonElement dram = Req(root, "$", "dram");
            Obj(dram, "$.dram", ["type", "bandwidth_bytes_per_cycle", "pj_per_bit"]);
            string dramType = Str(dram, "$.dram", "type");
            double dramBw = Num(dram, "$.dram", "bandwidth_bytes_per_cycle", positive: true);
            double dramPj = Num(dram, "$.dram", "pj_per_bit", positive: false);

            double tech = Num(root, "$", "technology_nm", positive: true);
            double vnom = Num(root, "$", "nominal_volts", positive: true);
            double clock = Num(root, "$", "clock_mhz", positive: true);

            JsonElement ops = Req(root, "$", "operating_points");
            if (ops.ValueKind != JsonValueKind.Array || ops.GetArrayLength() == 0)
            {
                throw Error("$.operating_points", "expected a non-empty array of {\"name\", \"volts\", \"mhz\"}");
            }

            var points = new List<OperatingPoint>();
            int i = 0;
            foreach (JsonElement op in ops.EnumerateArray())
            {
                string p = $"$.operating_points[{i++}]";
                Obj(op, p, ["name", "volts", "mhz"]);
                string pn = Str(op, p, "name");
                double v = Num(op, p, "volts", positive: true);
                if (v > 2.0)
                {
                    throw Error(p + ".volts", $"expected a supply voltage in (0, 2] V, got {v.ToString(CultureInfo.InvariantCulture)}");
                }

                double f = Num(op, p, "mhz", positive: true);
                if (points.Any(q => string.Equals(q.Name, pn, StringComparison.OrdinalIgnoreCase)))
                {
                    throw Error(p + ".name", $"duplicate operating point name '{pn}'");
                }

                points.Add(new OperatingPoint(pn, v, f));
            }

            OperatingPoint? nominal = points.FirstOrDefault(q => q.Volts == vnom);
            if (nominal is null)
            {
                throw Error("$.nominal_volts", $"{vnom.ToString(CultureInfo.InvariantCulture)} V is not the voltage of any operating point " +
                    $"(expected one of {string.Join(", ", points.Select(q => q.Volts.ToString(CultureInfo.InvariantCulture)))})");
            }

            if (!points.Any(q => q.Volts == vnom && q.Mhz == clock))
            {
                throw Error("$.clock_mhz", $"expected the frequency of an operating point at the nominal {vnom.ToString(CultureInfo.InvariantCulture)} V " +
                    $"({string.Join(", ", points.Where(q => q.Volts == vnom).Select(q => q.Mhz.ToString(CultureInfo.InvariantCulture)))}), got {clock.ToString(CultureInfo.InvariantCulture)}");
            }

            JsonElement e = Req(root, "$", "energy_pj");
            Obj(e, "$.energy_pj", ["mac", "sram_read_per_byte", "sram_write_per_byte", "register_file_per_byte"]);
            JsonElement mac = Req(e, "$.energy_pj", "mac");
            var macPj = new Dictionary<MacType, double>();
            foreach (KeyValuePair<string, MacType> t in TypeKeys(mac, "$.energy_pj.mac"))
            {
                macPj[t.Value] = Num(mac, "$.energy_pj.mac", t.Key, positive: true);
                if (!wordBytes.ContainsKey(t.Value))
                {
                    throw Error("$.word_bytes." + t.Key, $"expected a word size for {t.Key}, which $.energy_pj.mac declares");
                }
            }

            if (macPj.Count == 0)
            {
                throw Error("$.energy_pj.mac", "expected at least one of \"int8\", \"fp16\", \"fp32\"");
            }

            BufferTriple rd = Triple(e, "$.energy_pj", "sram_read_per_byte", positive: false);
            BufferTriple wr = Triple(e, "$.energy_pj", "sram_write_per_byte", positive: false);
            double rf = Num(e, "$.energy_pj", "register_file_per_byte", positive: false);
            double leak = Num(root, "$", "leakage_mw", positive: false);

            JsonElement src = Req(root, "$", "sources");
            if (src.ValueKind != JsonValueKind.Array || src.GetArrayLength() == 0 || src.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.String))
            {
                throw Error("$.sources", "expected a non-empty array of strings naming where each energy figure comes from");
            }

            string desc = root.TryGetProperty("description", out JsonElement d) ? StrOf(d, "$.description") : "";
            return new ModuleSpec(name, desc, tech, rows, cols, dataflow, sram, wordBytes, dramType, dramBw, dramPj, vnom, clock, points,
                macPj, rd, wr, rf, leak, src.EnumerateArray().Select(x => x.GetString()!).ToList());
        }

        private IEnumerable<KeyValuePair<string, MacType>> TypeKeys(JsonElement o, string path)
        {
            if (o.ValueKind != JsonValueKind.Object)
            {
                yield break;
            }

            foreach (JsonProperty p in o.EnumerateObject())
            {
                yield return new(p.Name, p.Name switch
                {
                    "int8" => MacType.Int8,
                    "fp16" => MacType.Fp16,
                    "fp32" => MacType.Fp32,
                    _ => throw Error($"{path}.{p.Name}", "unknown data type; expected \"int8\", \"fp16\" or \"fp32\""),
                });
            }
        }

        private BufferTriple Triple(JsonElement parent, string path, string key, bool positive)
        {
            JsonElement o = Req(parent, path, key);
            string p = path + "." + key;
            Obj(o, p, ["ifmap", "filter", "ofmap"]);
            return new BufferTriple(Num(o, p, "ifmap", positive), Num(o, p, "filter", positive), Num(o, p, "ofmap", positive));
        }

        private void Obj(JsonElement o, string path, string[] allowed)
        {
            if (o.ValueKind != JsonValueKind.Object)
            {
                throw Error(path, $"expected an object, got {o.ValueKind.ToString().ToLowerInvariant()}");
            }

            foreach (JsonProperty p in o.EnumerateObject())
            {
                if (!allowed.Contains(p.Name))
                {
                    throw Error(path + "." + p.Name, $"unknown field; expected one of {string.Join(", ", allowed)}");
                }
            }
        }

        private JsonElement Req(JsonElement o, string path, string key) =>
            o.TryGetProperty(key, out JsonElement v) ? v : throw Error(path + "." + key, "missing (required)");

        private string Str(JsonElement o, string path, string key) => StrOf(Req(o, path, key), path + "." + key);

        private string StrOf(JsonElement v, string path) =>
            v.ValueKind == JsonValueKind.String ? v.GetString()! : throw Error(path, $"expected a string, got {v.ValueKind.ToString().ToLowerInvariant()}");

        private double Num(JsonElement o, string path, string key, bool positive)
        {
            JsonElement v = Req(o, path, key);
            string p = path + "." + key;
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out double d) || !double.IsFinite(d))
            {
                throw Error(p, $"expected a number, got {v.ValueKind.ToString().ToLowerInvariant()}");
            }

            if (positive ? d <= 0 : d < 0)
            {
                throw Error(p, $"expected a {(positive ? "positive" : "non-negative")} number, got {d.ToString(CultureInfo.InvariantCulture)}");
            }

            return d;
        }

        private int PosInt(JsonElement o, string path, string key)
        {
            JsonElement v = Req(o, path, key);
            string p = path + "." + key;
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int n))
            {
                throw Error(p, $"expected a positive integer, got {v.GetRawText()}");
            }

            if (n <= 0)
            {
                throw Error(p, $"expected a positive integer, got {n}");
            }

            return n;
        }
    }
}
