using System.Globalization;
using ChipKit.Core;

namespace ChipKit.Accel;

/// <summary>SCALE-Sim v2's configuration file (the fields ChipKit uses).</summary>
public sealed record ScaleSimConfig(
    string RunName,
    int ArrayHeight,
    int ArrayWidth,
    double IfmapSramKb,
    double FilterSramKb,
    double OfmapSramKb,
    Dataflow Dataflow,
    bool UserBandwidth,
    double Bandwidth)
{
    /// <summary>Parses a SCALE-Sim .cfg (INI: [general], [architecture_presets], [run_presets]; ':' or '=' separators).</summary>
    public static ScaleSimConfig Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new ChipKitInputException($"--scalesim-config '{path}': file not found");
        }

        var values = new Dictionary<string, (string Value, int Line)>(StringComparer.OrdinalIgnoreCase);
        string section = "";
        int n = 0;
        foreach (string raw in File.ReadLines(path))
        {
            n++;
            string line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            if (line[0] == '[')
            {
                section = line.Trim('[', ']').Trim();
                continue;
            }

            int sep = line.IndexOfAny([':', '=']);
            if (sep < 0)
            {
                throw new ChipKitInputException($"{path}:{n}: expected 'Key: value' or 'key = value', got '{line}'");
            }

            values[section + "." + line[..sep].Trim()] = (line[(sep + 1)..].Trim(), n);
        }

        string Get(string key, string? fallback = null)
        {
            if (values.TryGetValue(key, out var v))
            {
                return v.Value;
            }

            return fallback ?? throw new ChipKitInputException($"{path}: [{key.Split('.')[0]}] {key.Split('.')[1]}: missing (required)");
        }

        double Num(string key, bool positive, string? fallback = null)
        {
            string s = Get(key, fallback);
            string first = s.Split(',')[0].Trim();
            if (!double.TryParse(first, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) || !double.IsFinite(d) || (positive ? d <= 0 : d < 0))
            {
                throw new ChipKitInputException($"{path}:{values[key].Line}: [{key.Split('.')[0]}] {key.Split('.')[1]}: expected a {(positive ? "positive" : "non-negative")} number, got '{s}'");
            }

            return d;
        }

        int Int(string key)
        {
            double d = Num(key, positive: true);
            if (d != Math.Floor(d) || d > int.MaxValue)
            {
                throw new ChipKitInputException($"{path}:{values[key].Line}: [{key.Split('.')[0]}] {key.Split('.')[1]}: expected a positive integer, got '{Get(key)}'");
            }

            return (int)d;
        }

        const string A = "architecture_presets.";
        string df = Get(A + "Dataflow").ToLowerInvariant();
        Dataflow dataflow = df switch
        {
            "os" => Dataflow.Os,
            "ws" => Dataflow.Ws,
            "is" => Dataflow.Is,
            _ => throw new ChipKitInputException($"{path}:{values[A + "Dataflow"].Line}: [architecture_presets] Dataflow: expected os, ws or is, got '{df}'"),
        };
        string mode = Get("run_presets.InterfaceBandwidth", "CALC").ToUpperInvariant();
        if (mode is not ("CALC" or "USER"))
        {
            throw new ChipKitInputException($"{path}: [run_presets] InterfaceBandwidth: expected CALC or USER, got '{mode}'");
        }

        bool user = mode == "USER";
        if (user)
        {
            double bw = Num(A + "Bandwidth", positive: true);
            if (bw != Math.Floor(bw) || bw > int.MaxValue)
            {
                throw new ChipKitInputException($"{path}:{values[A + "Bandwidth"].Line}: [architecture_presets] Bandwidth: expected a positive integer (words per cycle, as SCALE-Sim reads it), got '{Get(A + "Bandwidth")}'");
            }
        }

        return new ScaleSimConfig(
            Get("general.run_name", Path.GetFileNameWithoutExtension(path)),
            Int(A + "ArrayHeight"),
            Int(A + "ArrayWidth"),
            Num(A + "IfmapSramSzkB", positive: true),
            Num(A + "FilterSramSzkB", positive: true),
            Num(A + "OfmapSramSzkB", positive: true),
            dataflow,
            user,
            user ? Num(A + "Bandwidth", positive: true) : 0);
    }
}

/// <summary>SCALE-Sim v2 topology files: conv form and GEMM (M, N, K) form.</summary>
public static class ScaleSimTopology
{
    /// <summary>Most layers a topology may expand to (depthwise layers count once per channel).</summary>
    public const int MaxLayers = 100_000;

    /// <summary>
    /// Reads a topology CSV. Conv form: <c>Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels,
    /// Num Filter, Strides,</c> (a layer whose name contains "DP" is depthwise: one layer per channel, as SCALE-Sim
    /// splits it). GEMM form (<paramref name="gemm"/>): <c>Layer, M, N, K,</c>.
    /// </summary>
    public static IReadOnlyList<Layer> Load(string path, bool gemm)
    {
        if (!File.Exists(path))
        {
            throw new ChipKitInputException($"--topology '{path}': file not found");
        }

        var layers = new List<Layer>();
        int n = 0;
        bool first = true;
        foreach (string raw in File.ReadLines(path))
        {
            n++;
            string line = raw.Trim();
            if (first)
            {
                first = false;
                continue;
            }

            if (line.Length == 0)
            {
                continue;
            }

            string[] f = line.Split(',').Select(s => s.Trim()).ToArray();
            if (f.All(s => s.Length == 0))
            {
                continue;
            }

            int need = gemm ? 4 : 8;
            if (f.Count(s => s.Length > 0) < need)
            {
                throw new ChipKitInputException(
                    $"{path}:{n}: expected {need} fields ({(gemm ? "Layer, M, N, K" : "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides")}), got '{line}'" +
                    (gemm ? "" : " (is this a GEMM topology? add --gemm)"));
            }

            long Field(int i, string what)
            {
                if (!long.TryParse(f[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) || v <= 0)
                {
                    throw new ChipKitInputException($"{path}:{n}: {what}: expected a positive integer, got '{f[i]}'");
                }

                return v;
            }

            string name = f[0];
            if (gemm)
            {
                layers.Add(Layer.Gemm(name, Field(1, "M"), Field(2, "N"), Field(3, "K")));
                continue;
            }

            long h = Field(1, "IFMAP Height"), w = Field(2, "IFMAP Width"), fh = Field(3, "Filter Height"), fw = Field(4, "Filter Width");
            long ch = Field(5, "Channels"), nf = Field(6, "Num Filter"), st = Field(7, "Strides");
            long stw = f.Length > 8 && f[8].Length > 0 ? Field(8, "Stride width") : st;
            if (fh > h || fw > w)
            {
                throw new ChipKitInputException($"{path}:{n}: filter {fh}x{fw} is larger than the ifmap {h}x{w}");
            }

            if (name.Contains("DP", StringComparison.Ordinal))
            {
                // SCALE-Sim splits a depthwise layer into one layer per channel: refuse a hostile channel count
                // before it becomes millions of layers (found by fuzzing: Channels=2147483647 exhausted memory).
                if (layers.Count + ch > MaxLayers)
                {
                    throw new ChipKitInputException($"{path}:{n}: depthwise layer '{name}' with {ch} channels would make more than {MaxLayers} layers");
                }

                for (long c = 0; c < ch; c++)
                {
                    layers.Add(Layer.Conv(name + "Channel_" + c.ToString(CultureInfo.InvariantCulture), h, w, fh, fw, 1, nf, st, stw));
                }
            }
            else
            {
                layers.Add(Layer.Conv(name, h, w, fh, fw, ch, nf, st, stw));
            }
        }

        if (layers.Count == 0)
        {
            throw new ChipKitInputException($"{path}: no layers (expected a header line, then one layer per line)");
        }

        return layers;
    }
}
