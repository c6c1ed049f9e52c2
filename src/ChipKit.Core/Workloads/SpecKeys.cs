using System.Globalization;

namespace ChipKit.Core.Workloads;

/// <summary>Parsed "key=value,key=value" body of a workload spec, with located errors.</summary>
internal sealed class SpecKeys
{
    private readonly Dictionary<string, string> _values = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _used = new(StringComparer.OrdinalIgnoreCase);
    private readonly string _spec;

    public SpecKeys(string spec, string body)
    {
        _spec = spec;
        if (body.Length == 0)
        {
            return;
        }

        foreach (string part in body.Split(','))
        {
            string p = part.Trim();
            int eq = p.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || eq == p.Length - 1)
            {
                throw new ChipKitInputException($"workload '{spec}': '{p}' is not key=value");
            }

            string key = p[..eq].Trim(), value = p[(eq + 1)..].Trim();
            if (!_values.TryAdd(key, value))
            {
                throw new ChipKitInputException($"workload '{spec}': key '{key}' given twice");
            }
        }
    }

    public bool Has(string key) => _values.ContainsKey(key);

    public int Int(string key, int? fallback = null)
    {
        _used.Add(key);
        if (!_values.TryGetValue(key, out string? v))
        {
            return fallback ?? throw new ChipKitInputException($"workload '{_spec}': missing required key '{key}'");
        }

        if (!int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int x))
        {
            throw new ChipKitInputException($"workload '{_spec}': key '{key}' must be an integer, got '{v}'");
        }

        return x;
    }

    public float Float(string key, float fallback)
    {
        _used.Add(key);
        if (!_values.TryGetValue(key, out string? v))
        {
            return fallback;
        }

        if (!float.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out float x) || !float.IsFinite(x))
        {
            throw new ChipKitInputException($"workload '{_spec}': key '{key}' must be a finite number, got '{v}'");
        }

        return x;
    }

    public bool Bool(string key, bool fallback)
    {
        _used.Add(key);
        if (!_values.TryGetValue(key, out string? v))
        {
            return fallback;
        }

        return v.ToLowerInvariant() switch
        {
            "1" or "true" or "yes" => true,
            "0" or "false" or "no" => false,
            _ => throw new ChipKitInputException($"workload '{_spec}': key '{key}' must be 0 or 1, got '{v}'"),
        };
    }

    public string Choice(string key, string fallback, params string[] allowed)
    {
        _used.Add(key);
        if (!_values.TryGetValue(key, out string? v))
        {
            return fallback;
        }

        string lower = v.ToLowerInvariant();
        if (Array.IndexOf(allowed, lower) < 0)
        {
            throw new ChipKitInputException($"workload '{_spec}': key '{key}' must be one of {string.Join('|', allowed)}, got '{v}'");
        }

        return lower;
    }

    /// <summary>Rejects keys the op does not know, listing the ones it does.</summary>
    public void RejectUnknown(IEnumerable<string> known)
    {
        var knownSet = new HashSet<string>(known, StringComparer.OrdinalIgnoreCase);
        foreach (string key in _values.Keys)
        {
            if (!knownSet.Contains(key))
            {
                throw new ChipKitInputException($"workload '{_spec}': unknown key '{key}'; known keys: {string.Join(", ", knownSet.Order())}");
            }
        }
    }
}
