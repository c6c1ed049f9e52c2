namespace ChipKit.Harness.Runner;

/// <summary>Median, extremes and coefficient of variation of timing samples.</summary>
public static class SampleStats
{
    public static double Median(IReadOnlyList<double> samples)
    {
        if (samples.Count == 0)
        {
            return double.NaN;
        }

        double[] s = [.. samples];
        Array.Sort(s);
        int mid = s.Length / 2;
        return s.Length % 2 == 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
    }

    /// <summary>The <paramref name="q"/> quantile by nearest rank (q = 0.9: the smallest sample with at least 90 % at or below it).</summary>
    public static double Percentile(IReadOnlyList<double> samples, double q)
    {
        if (samples.Count == 0)
        {
            return double.NaN;
        }

        double[] s = [.. samples];
        Array.Sort(s);
        int rank = (int)Math.Ceiling(q * s.Length);
        return s[Math.Clamp(rank - 1, 0, s.Length - 1)];
    }

    /// <summary>Sample standard deviation over the mean; 0 for fewer than two samples.</summary>
    public static double Cv(IReadOnlyList<double> samples)
    {
        if (samples.Count < 2)
        {
            return 0;
        }

        double mean = samples.Average();
        double var = samples.Sum(x => (x - mean) * (x - mean)) / (samples.Count - 1);
        return mean > 0 ? Math.Sqrt(var) / mean : 0;
    }
}
