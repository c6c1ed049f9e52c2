namespace ChipKit.Conformance.Tests;

/// <summary>Output comparisons shared by the conformance tests.</summary>
internal static class Compare
{
    /// <summary>
    /// Float tolerance: |oracle - expected| &lt;= RelTol * magnitude + AbsTol, where magnitude is the oracle's per-element
    /// sum |alpha*a*b| (+ |beta*c|, + |bias|). ONNX's expected outputs are float32 results of numpy, so their error is a
    /// few float32 ulps of the magnitude (2^-24 ~ 6e-8 per operation, K &lt;= 10 here); 1e-5 leaves ample margin while
    /// still catching any wrong index, transpose, pad or bias (those errors are of the order of the magnitude itself).
    /// ONNX's own runner is looser (rtol=1e-3, atol=1e-7).
    /// </summary>
    public const double RelTol = 1e-5;

    /// <summary>Absolute floor for elements whose magnitude is ~0 (ONNX's atol).</summary>
    public const double AbsTol = 1e-7;

    public static void Floats(string test, double[] expected, double[] values, double[] magnitudes)
    {
        Assert.That(values, Has.Length.EqualTo(expected.Length), $"{test}: output element count");
        var bad = new List<string>();
        double worst = 0;
        for (int i = 0; i < values.Length; i++)
        {
            double err = Math.Abs(values[i] - expected[i]);
            double tol = (RelTol * magnitudes[i]) + AbsTol;
            worst = Math.Max(worst, err / tol);
            if (!(err <= tol))
            {
                bad.Add($"[{i}] oracle {values[i]:R} expected {expected[i]:R} |err| {err:E3} > tol {tol:E3}");
            }
        }

        TestContext.Out.WriteLine($"{test}: worst |err|/tol = {worst:F4} over {values.Length} outputs (tol = {RelTol:E0}*magnitude + {AbsTol:E0})");
        Assert.That(bad, Is.Empty, $"{test}: {bad.Count} of {values.Length} outputs outside tolerance (worst err/tol {worst:F3}):\n{string.Join("\n", bad.Take(20))}");
    }

    public static void Ints(string test, double[] expected, int[] actual)
    {
        int[] exp = expected.Select(v => checked((int)v)).ToArray();
        Assert.That(actual, Has.Length.EqualTo(exp.Length), $"{test}: output element count");
        var bad = new List<string>();
        for (int i = 0; i < exp.Length; i++)
        {
            if (actual[i] != exp[i])
            {
                bad.Add($"[{i}] oracle {actual[i]} expected {exp[i]}");
            }
        }

        Assert.That(bad, Is.Empty, $"{test}: {bad.Count} of {exp.Length} outputs differ (bit-exact required):\n{string.Join("\n", bad.Take(20))}");
    }
}
