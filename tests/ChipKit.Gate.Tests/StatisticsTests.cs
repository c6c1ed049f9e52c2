using ChipKit.Harness.Gate;

namespace ChipKit.Gate.Tests;

/// <summary>
/// Statistics against values computed independently. Sources:
///  - scipy.stats.mannwhitneyu documentation example (males vs females): U1 = 17, exact two-sided p = 0.1111 (14/126),
///    method="asymptotic" p = 0.11134688653314041.
///  - A stdlib-only Python script (brute-force enumeration of all C(9,4) = 126 splits for the exact p; the tie-corrected
///    normal formula with math.erfc; Welch's t and df from their definitions and p by Simpson integration of the
///    Student-t density with 200,000 intervals, which shares no code path with the incomplete-beta continued fraction here).
///  - Student-t table: t(0.975, df=10) = 2.228.
/// </summary>
public class StatisticsTests
{
    private static readonly double[] Males = [19, 22, 16, 29, 24];
    private static readonly double[] Females = [20, 11, 17, 12];

    [Test]
    public void MannWhitney_exact_matches_the_scipy_documentation_example()
    {
        TestOutcome r = Statistics.MannWhitney(Males, Females);
        Assert.That(r.Statistic, Is.EqualTo(17));
        Assert.That(r.Method, Is.EqualTo("exact"));
        Assert.That(r.P, Is.EqualTo(14.0 / 126).Within(1e-12)); // 0.1111, brute-force enumeration
    }

    [Test]
    public void MannWhitney_normal_approximation_matches_scipy_asymptotic()
    {
        TestOutcome r = Statistics.MannWhitney(Males, Females, allowExact: false);
        Assert.That(r.Statistic, Is.EqualTo(17));
        Assert.That(r.Method, Is.EqualTo("normal"));
        Assert.That(r.P, Is.EqualTo(0.11134688653314041).Within(1e-6)); // erfc approximation: ~1e-7 relative
    }

    [Test]
    public void MannWhitney_with_ties_uses_the_tie_corrected_normal_approximation()
    {
        // Python (tie-corrected variance, continuity 1/2): U1 = 18.5, p = 0.010669300560314213.
        double[] x = [1, 2, 2, 3, 3, 3, 4, 5, 6, 7], y = [3, 4, 4, 5, 6, 6, 7, 8, 8, 9, 10];
        TestOutcome r = Statistics.MannWhitney(x, y);
        Assert.That(r.Method, Is.EqualTo("normal"));
        Assert.That(r.Statistic, Is.EqualTo(18.5));
        Assert.That(r.P, Is.EqualTo(0.010669300560314213).Within(1e-7));
    }

    [Test]
    public void MannWhitney_is_symmetric_and_identical_samples_give_p_1()
    {
        TestOutcome a = Statistics.MannWhitney(Males, Females), b = Statistics.MannWhitney(Females, Males);
        Assert.That(b.Statistic, Is.EqualTo(Males.Length * Females.Length - a.Statistic));
        Assert.That(b.P, Is.EqualTo(a.P).Within(1e-12));
        double[] same = [1, 1, 1, 1, 1];
        Assert.That(Statistics.MannWhitney(same, same).P, Is.EqualTo(1));
    }

    [Test]
    public void MannWhitney_complete_separation_gives_the_minimum_p()
    {
        double[] lo = [1, 2, 3, 4, 5], hi = [6, 7, 8, 9, 10];
        Assert.That(Statistics.MannWhitney(lo, hi).P, Is.EqualTo(2.0 / 252).Within(1e-12)); // 2 / C(10,5)
        Assert.That(Statistics.MannWhitneyMinP(5, 5), Is.EqualTo(2.0 / 252).Within(1e-12));
        Assert.That(Statistics.MannWhitneyMinP(4, 4), Is.EqualTo(2.0 / 70).Within(1e-12));
        Assert.That(Statistics.MannWhitneyMinP(4, 5), Is.EqualTo(2.0 / 126).Within(1e-12));
        Assert.That(Statistics.MannWhitneyMinSamples(0.01), Is.EqualTo(5));
        Assert.That(Statistics.MannWhitneyMinSamples(0.002), Is.EqualTo(7)); // 2/C(12,6) = 0.00216 >= 0.002; 2/C(14,7) = 0.00058
    }

    [Test]
    public void MannWhitney_exact_and_normal_agree_for_larger_samples()
    {
        var rng = new Random(7);
        double[] x = Enumerable.Range(0, 40).Select(_ => rng.NextDouble()).ToArray();
        double[] y = Enumerable.Range(0, 45).Select(_ => rng.NextDouble() + 0.15).ToArray();
        TestOutcome exact = Statistics.MannWhitney(x, y), normal = Statistics.MannWhitney(x, y, allowExact: false);
        Assert.That(exact.Method, Is.EqualTo("exact"));
        Assert.That(normal.P, Is.EqualTo(exact.P).Within(0.1 * exact.P + 1e-4));
    }

    [Test]
    public void Welch_matches_an_independent_computation()
    {
        // Wikipedia "Welch's t-test", example 1 data; Python: t = -2.45535639828601, df = 24.988529290231412,
        // p = 0.02137800146286184 (Simpson integration of the t density).
        double[] a = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4];
        double[] b = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4];
        TestOutcome r = Statistics.Welch(a, b);
        Assert.That(r.Statistic, Is.EqualTo(-2.45535639828601).Within(1e-10));
        Assert.That(r.Method, Does.Contain("df=24.989"));
        Assert.That(r.P, Is.EqualTo(0.02137800146286184).Within(1e-9));
    }

    [Test]
    public void StudentT_cdf_matches_the_table_and_integration()
    {
        Assert.That(Statistics.StudentTCdf(2.228, 10), Is.EqualTo(0.9749941140914502).Within(1e-9)); // table: 0.975
        Assert.That(Statistics.StudentTCdf(-2.228, 10), Is.EqualTo(1 - 0.9749941140914502).Within(1e-9));
        Assert.That(Statistics.StudentTCdf(1.5, 3.5), Is.EqualTo(0.8910909064923325).Within(1e-9)); // non-integer df
        Assert.That(Statistics.StudentTCdf(0, 7), Is.EqualTo(0.5).Within(1e-12));
    }

    [Test]
    public void Welch_degenerate_cases()
    {
        Assert.That(Statistics.Welch([2, 2, 2], [2, 2, 2]).P, Is.EqualTo(1));
        Assert.That(Statistics.Welch([2, 2, 2], [3, 3, 3]).P, Is.Zero);
        Assert.Throws<ArgumentException>(() => Statistics.Welch([1], [1, 2]));
    }

    [Test]
    public void LogGamma_and_erfc_known_values()
    {
        Assert.That(Statistics.LogGamma(5), Is.EqualTo(Math.Log(24)).Within(1e-12));
        Assert.That(Statistics.LogGamma(0.5), Is.EqualTo(0.5 * Math.Log(Math.PI)).Within(1e-12));
        Assert.That(Statistics.NormalUpperTail(1.959963984540054), Is.EqualTo(0.025).Within(1e-8));
    }
}
