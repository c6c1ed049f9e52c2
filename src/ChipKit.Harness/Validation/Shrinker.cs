using System.Globalization;
using System.Text.RegularExpressions;

namespace ChipKit.Harness.Validation;

/// <summary>
/// Shrinks a failing case to the smallest shape that still fails (greedy, like QuickCheck's shrinking): it lowers one
/// size at a time (to 1, to half, by one), drops optional features (bias, per-channel, transposes, strides, pads,
/// dilations, groups), and keeps any change after which the device still fails. Same seed, pattern and variant.
/// </summary>
public static class Shrinker
{
    private static readonly string[] SizeKeys = ["m", "n", "k", "c", "h", "w", "r", "s"];

    private static readonly (string Key, string Neutral)[] Optional =
    [
        ("bias", "0"), ("perchannel", "0"), ("ta", "0"), ("tb", "0"), ("alpha", "1"), ("beta", "0"),
        ("stride", "1"), ("stride_h", "1"), ("stride_w", "1"), ("pad", "0"), ("pad_h", "0"), ("pad_w", "0"),
        ("pad_top", "0"), ("pad_left", "0"), ("pad_bottom", "0"), ("pad_right", "0"), ("dilation", "1"),
        ("dilation_h", "1"), ("dilation_w", "1"), ("layout", "nchw"),
    ];

    /// <summary>Returns the smallest failing case found within <paramref name="maxAttempts"/> runs, and how many runs it took.</summary>
    public static (CaseOutcome Smallest, int Attempts) Shrink(Func<ValidationCase, CaseOutcome> run, CaseOutcome failing, int maxAttempts = 300)
    {
        CaseOutcome best = failing;
        int attempts = 0;
        bool improved = true;
        while (improved && attempts < maxAttempts)
        {
            improved = false;
            foreach (string spec in Candidates(best.Case.Spec))
            {
                if (attempts >= maxAttempts)
                {
                    break;
                }

                attempts++;
                CaseOutcome o = run(best.Case with { Spec = spec });
                if (o.Status == CaseOutcome.Failed)
                {
                    best = o;
                    improved = true;
                    break;
                }
            }
        }

        return (best, attempts);
    }

    /// <summary>Size of a case, used to order candidates and to prove shrinking made progress: the product of its sizes.</summary>
    public static double Size(string spec)
    {
        double size = 1;
        foreach (string key in SizeKeys)
        {
            if (TryGet(spec, key, out int v))
            {
                size *= v;
            }
        }

        return size;
    }

    private static IEnumerable<string> Candidates(string spec)
    {
        var list = new List<string>();
        foreach (string key in SizeKeys)
        {
            if (!TryGet(spec, key, out int v) || v <= 1)
            {
                continue;
            }

            foreach (int smaller in new[] { 1, v / 2, v - 1 }.Where(x => x >= 1 && x < v).Distinct())
            {
                list.Add(Set(spec, key, smaller));
            }
        }

        if (TryGet(spec, "groups", out int g) && g > 1 && TryGet(spec, "c", out int c) && TryGet(spec, "k", out int k))
        {
            foreach (int g2 in new[] { 1, g / 2 }.Where(x => x >= 1 && x < g).Distinct())
            {
                list.Add(Set(Set(Set(spec, "groups", g2), "c", c / g * g2), "k", k / g * g2));
            }
        }

        foreach ((string key, string neutral) in Optional)
        {
            Match m = Regex.Match(spec, $"(?<=[:,]){key}=([^,]+)");
            if (m.Success && m.Groups[1].Value != neutral)
            {
                list.Add(Remove(spec, key));
            }
        }

        // Canonical form (drops keys left at their defaults), smallest first, so each accepted step is as large as it can be.
        return list.Select(Canonical).Where(s => s != spec).Distinct().OrderBy(Size);
    }

    private static string Canonical(string spec)
    {
        try
        {
            return ChipKit.Core.Workloads.WorkloadSpec.Parse(spec).Spec;
        }
        catch (ChipKit.Core.ChipKitInputException)
        {
            return spec; // an invalid candidate: the case runner reports it as not a valid case and it is not kept
        }
    }

    private static bool TryGet(string spec, string key, out int value)
    {
        Match m = Regex.Match(spec, $"(?<=[:,]){key}=(\\d+)(?=,|$)");
        value = m.Success ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        return m.Success;
    }

    private static string Set(string spec, string key, int value) =>
        Regex.Replace(spec, $"(?<=[:,]){key}=\\d+(?=,|$)", $"{key}={value.ToString(CultureInfo.InvariantCulture)}");

    private static string Remove(string spec, string key) => Regex.Replace(spec, $",{key}=[^,]+", "");
}
