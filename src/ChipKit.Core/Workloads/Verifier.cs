namespace ChipKit.Core.Workloads;

/// <summary>Compares kernel outputs with the oracle. NaN or infinity in an output never passes.</summary>
public static class Verifier
{
    /// <summary>
    /// fp32 check: element i passes when |y - ref| &lt;= bound * magnitude_i (plus a denormal floor).
    /// </summary>
    public static VerifyOutcome CompareFloat(ReadOnlySpan<float> actual, FloatExpected expected)
    {
        if (actual.Length != expected.Values.Length)
        {
            return new VerifyOutcome(false, double.NaN, double.NaN, expected.Bound, actual.Length, 0,
                $"output has {actual.Length} elements, expected {expected.Values.Length}");
        }

        double maxAbs = 0, maxRel = 0;
        long bad = 0, first = -1;
        for (int i = 0; i < actual.Length; i++)
        {
            double y = actual[i];
            double r = expected.Values[i];
            double mag = Math.Max(expected.Magnitudes[i], 1e-30);
            double abs = Math.Abs(y - r);
            bool ok = double.IsFinite(y) && abs <= (expected.Bound * mag) + 1e-37;
            if (!double.IsFinite(y))
            {
                abs = double.PositiveInfinity;
            }

            double rel = abs / mag;
            maxAbs = Math.Max(maxAbs, abs);
            maxRel = Math.Max(maxRel, rel);
            if (!ok)
            {
                bad++;
                if (first < 0)
                {
                    first = i;
                }
            }
        }

        string? msg = bad == 0 ? null
            : $"{bad} of {actual.Length} outputs outside the bound {expected.Bound:G3}; first at index {first}: got {actual[(int)first]:R}, expected {expected.Values[first]:R}";
        return new VerifyOutcome(bad == 0, maxAbs, maxRel, expected.Bound, bad, first, msg);
    }

    /// <summary>Integer check: bit-exact.</summary>
    public static VerifyOutcome CompareInt(ReadOnlySpan<int> actual, IntExpected expected)
    {
        if (actual.Length != expected.Values.Length)
        {
            return new VerifyOutcome(false, double.NaN, 0, 0, actual.Length, 0,
                $"output has {actual.Length} elements, expected {expected.Values.Length}");
        }

        long bad = 0, first = -1;
        double maxAbs = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            if (actual[i] != expected.Values[i])
            {
                bad++;
                maxAbs = Math.Max(maxAbs, Math.Abs((double)actual[i] - expected.Values[i]));
                if (first < 0)
                {
                    first = i;
                }
            }
        }

        string? msg = bad == 0 ? null
            : $"{bad} of {actual.Length} outputs differ (bit-exact required); first at index {first}: got {actual[(int)first]}, expected {expected.Values[first]}";
        return new VerifyOutcome(bad == 0, maxAbs, 0, 0, bad, first, msg);
    }
}
