namespace ChipKit.Harness.Gate;

/// <summary>The outcome of a two-sample test: its statistic, the two-sided p-value and how p was computed.</summary>
/// <param name="Statistic">U (of the first sample) for Mann-Whitney, t for Welch.</param>
/// <param name="P">Two-sided p-value.</param>
/// <param name="Method">"exact", "normal" (with tie and continuity correction) or "student-t (df=...)".</param>
public sealed record TestOutcome(double Statistic, double P, string Method);

/// <summary>Two-sample tests used by the gate, implemented from their textbook definitions (no dependency).</summary>
public static class Statistics
{
    /// <summary>Largest sample size per side for which Mann-Whitney's exact null distribution is used (when there are no ties).</summary>
    public const int ExactLimit = 50;

    /// <summary>
    /// Mann-Whitney U test, two-sided. U is the statistic of <paramref name="x"/>: the number of pairs (xi, yj) with
    /// xi &gt; yj, ties counting one half. Without ties and with both samples of at most <see cref="ExactLimit"/> values,
    /// p comes from the exact permutation distribution of U; otherwise from the normal approximation with the tie
    /// correction of the variance and a continuity correction of 1/2 (the conventions of scipy.stats.mannwhitneyu).
    /// <paramref name="allowExact"/> false forces the normal approximation.
    /// </summary>
    public static TestOutcome MannWhitney(IReadOnlyList<double> x, IReadOnlyList<double> y, bool allowExact = true)
    {
        int n1 = x.Count, n2 = y.Count;
        if (n1 == 0 || n2 == 0)
        {
            throw new ArgumentException("Mann-Whitney needs at least one value in each sample");
        }

        // Midranks over the pooled sample.
        var pooled = new (double v, int g)[n1 + n2];
        for (int i = 0; i < n1; i++)
        {
            pooled[i] = (x[i], 0);
        }

        for (int j = 0; j < n2; j++)
        {
            pooled[n1 + j] = (y[j], 1);
        }

        Array.Sort(pooled, (a, b) => a.v.CompareTo(b.v));
        double r1 = 0, tieTerm = 0;
        bool ties = false;
        for (int i = 0; i < pooled.Length;)
        {
            int k = i;
            while (k + 1 < pooled.Length && pooled[k + 1].v == pooled[i].v)
            {
                k++;
            }

            int t = k - i + 1;
            double midrank = (i + k) / 2.0 + 1;
            for (int m = i; m <= k; m++)
            {
                if (pooled[m].g == 0)
                {
                    r1 += midrank;
                }
            }

            if (t > 1)
            {
                ties = true;
                tieTerm += (double)t * t * t - t;
            }

            i = k + 1;
        }

        double u1 = r1 - n1 * (n1 + 1) / 2.0;
        double mean = n1 * (double)n2 / 2;
        if (allowExact && !ties && n1 <= ExactLimit && n2 <= ExactLimit)
        {
            // Two-sided exact p: twice the smaller tail, capped at 1.
            double[] dist = ExactUDistribution(n1, n2);
            double total = dist.Sum();
            int u = (int)Math.Round(u1);
            int uLow = Math.Min(u, n1 * n2 - u);
            double tail = 0;
            for (int k = 0; k <= uLow; k++)
            {
                tail += dist[k];
            }

            return new TestOutcome(u1, Math.Min(1, 2 * tail / total), "exact");
        }

        int n = n1 + n2;
        double variance = n1 * (double)n2 / 12 * (n + 1 - tieTerm / ((double)n * (n - 1)));
        if (variance <= 0)
        {
            return new TestOutcome(u1, 1, "normal"); // every value equal: no evidence of any difference
        }

        double z = (Math.Abs(u1 - mean) - 0.5) / Math.Sqrt(variance);
        double p = z <= 0 ? 1 : Math.Min(1, 2 * NormalUpperTail(z));
        return new TestOutcome(u1, p, "normal");
    }

    /// <summary>
    /// The smallest two-sided p-value Mann-Whitney can give for these sample sizes: every x above every y,
    /// 2 / C(n1 + n2, n1). If it is not below alpha, no data of these sizes can show a significant change.
    /// </summary>
    public static double MannWhitneyMinP(int n1, int n2)
    {
        if (n1 == 0 || n2 == 0)
        {
            return 1;
        }

        // log C(n1+n2, n1) by summing logs (exact enough for any size we meet).
        double logC = 0;
        for (int i = 1; i <= n1; i++)
        {
            logC += Math.Log(n2 + i) - Math.Log(i);
        }

        return Math.Min(1, 2 * Math.Exp(-logC));
    }

    /// <summary>The smallest n such that Mann-Whitney with n values on each side can reach p &lt; alpha.</summary>
    public static int MannWhitneyMinSamples(double alpha)
    {
        for (int n = 1; n < 1000; n++)
        {
            if (MannWhitneyMinP(n, n) < alpha)
            {
                return n;
            }
        }

        return 1000;
    }

    /// <summary>Counts of each U value (0..n1*n2) over all C(n1+n2, n1) arrangements, by the classic recurrence.</summary>
    private static double[] ExactUDistribution(int n1, int n2)
    {
        // f[i][j][u]: arrangements of i x-values and j y-values with U = u. f(i,j,u) = f(i-1,j,u-j) + f(i,j-1,u).
        var prev = new double[n2 + 1][];
        for (int j = 0; j <= n2; j++)
        {
            prev[j] = new double[1];
            prev[j][0] = 1; // i = 0: U is 0
        }

        for (int i = 1; i <= n1; i++)
        {
            var cur = new double[n2 + 1][];
            cur[0] = new double[1];
            cur[0][0] = 1; // j = 0: U is 0
            for (int j = 1; j <= n2; j++)
            {
                var row = new double[i * j + 1];
                double[] a = prev[j], b = cur[j - 1];
                for (int u = 0; u < row.Length; u++)
                {
                    double v = 0;
                    if (u - j >= 0 && u - j < a.Length)
                    {
                        v += a[u - j];
                    }

                    if (u < b.Length)
                    {
                        v += b[u];
                    }

                    row[u] = v;
                }

                cur[j] = row;
            }

            prev = cur;
        }

        return prev[n2];
    }

    /// <summary>
    /// Welch's unequal-variances t-test, two-sided: t = (mean(x) - mean(y)) / sqrt(sx²/nx + sy²/ny) with the
    /// Welch-Satterthwaite degrees of freedom, p from the Student-t distribution. Needs two values per sample.
    /// When both samples have zero variance, p is 1 if the means are equal and 0 otherwise.
    /// </summary>
    public static TestOutcome Welch(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        int nx = x.Count, ny = y.Count;
        if (nx < 2 || ny < 2)
        {
            throw new ArgumentException("Welch's t-test needs at least two values in each sample");
        }

        double mx = x.Average(), my = y.Average();
        double vx = x.Sum(v => (v - mx) * (v - mx)) / (nx - 1);
        double vy = y.Sum(v => (v - my) * (v - my)) / (ny - 1);
        double se2 = vx / nx + vy / ny;
        if (se2 <= 0)
        {
            return mx == my ? new TestOutcome(0, 1, "degenerate (zero variance)") : new TestOutcome(double.PositiveInfinity * Math.Sign(mx - my), 0, "degenerate (zero variance)");
        }

        double t = (mx - my) / Math.Sqrt(se2);
        double df = se2 * se2 / (vx * vx / ((double)nx * nx * (nx - 1)) + vy * vy / ((double)ny * ny * (ny - 1)));
        return new TestOutcome(t, StudentTTwoSidedP(t, df), $"student-t (df={df:0.###})");
    }

    /// <summary>Two-sided p of Student's t with df degrees of freedom: I_{df/(df+t²)}(df/2, 1/2).</summary>
    public static double StudentTTwoSidedP(double t, double df)
    {
        if (double.IsInfinity(t))
        {
            return 0;
        }

        double xb = df / (df + t * t);
        return Math.Clamp(RegularizedIncompleteBeta(df / 2, 0.5, xb), 0, 1);
    }

    /// <summary>Student-t cumulative distribution function P(T &lt;= t).</summary>
    public static double StudentTCdf(double t, double df)
    {
        double half = StudentTTwoSidedP(t, df) / 2;
        return t >= 0 ? 1 - half : half;
    }

    /// <summary>P(Z &gt; z) for a standard normal Z.</summary>
    public static double NormalUpperTail(double z) => 0.5 * Erfc(z / Math.Sqrt(2));

    /// <summary>Complementary error function (Numerical Recipes' Chebyshev fit, relative error below 1.2e-7).</summary>
    public static double Erfc(double x)
    {
        double z = Math.Abs(x);
        double t = 1 / (1 + 0.5 * z);
        double r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
            t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }

    /// <summary>Regularized incomplete beta I_x(a, b), by Lentz's continued fraction.</summary>
    public static double RegularizedIncompleteBeta(double a, double b, double x)
    {
        if (x <= 0)
        {
            return 0;
        }

        if (x >= 1)
        {
            return 1;
        }

        double lnFront = LogGamma(a + b) - LogGamma(a) - LogGamma(b) + a * Math.Log(x) + b * Math.Log(1 - x);
        double front = Math.Exp(lnFront);
        return x < (a + 1) / (a + b + 2)
            ? front * BetaContinuedFraction(a, b, x) / a
            : 1 - front * BetaContinuedFraction(b, a, 1 - x) / b;
    }

    private static double BetaContinuedFraction(double a, double b, double x)
    {
        const double tiny = 1e-300, eps = 1e-15;
        double qab = a + b, qap = a + 1, qam = a - 1;
        double c = 1, d = 1 - qab * x / qap;
        d = Math.Abs(d) < tiny ? tiny : d;
        d = 1 / d;
        double h = d;
        for (int m = 1; m <= 10_000; m++)
        {
            int m2 = 2 * m;
            double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
            d = 1 + aa * d;
            d = Math.Abs(d) < tiny ? tiny : d;
            c = 1 + aa / c;
            c = Math.Abs(c) < tiny ? tiny : c;
            d = 1 / d;
            h *= d * c;
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
            d = 1 + aa * d;
            d = Math.Abs(d) < tiny ? tiny : d;
            c = 1 + aa / c;
            c = Math.Abs(c) < tiny ? tiny : c;
            d = 1 / d;
            double del = d * c;
            h *= del;
            if (Math.Abs(del - 1) < eps)
            {
                break;
            }
        }

        return h;
    }

    /// <summary>ln Γ(x) for x &gt; 0 (Lanczos approximation, g = 7, 9 terms; about 15 significant digits).</summary>
    public static double LogGamma(double x)
    {
        if (x < 0.5)
        {
            return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        }

        ReadOnlySpan<double> g =
        [
            0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
        ];
        x -= 1;
        double a = g[0];
        double t = x + 7.5;
        for (int i = 1; i < 9; i++)
        {
            a += g[i] / (x + i);
        }

        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(a);
    }
}
