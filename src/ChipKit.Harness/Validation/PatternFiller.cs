using ChipKit.Core.Descriptors;
using ChipKit.Core.Workloads;

namespace ChipKit.Harness.Validation;

/// <summary>Overwrites a case's generated operands with a <see cref="ValuePattern"/> (deterministic for a seed).</summary>
public static class PatternFiller
{
    /// <summary>Subnormal, signed-zero and near-underflow values salted into <see cref="ValuePattern.SpecialValues"/>.</summary>
    private static readonly float[] Specials = [-0.0f, 1e-40f, -3e-42f, float.Epsilon, -float.Epsilon, 1.17549435e-38f, -1.17549435e-38f, 0f];

    public static void Apply(OpData data, ValuePattern pattern, int seed)
    {
        if (pattern == ValuePattern.Random)
        {
            return;
        }

        var rng = new Random(seed ^ 0x2545F491);
        switch (data)
        {
            case GemmData g:
                FillFloats(g.A, pattern, rng);
                FillFloats(g.B, pattern, rng);
                if (g.C is not null)
                {
                    FillFloats(g.C, pattern, rng);
                }

                break;
            case ConvData c:
                FillFloats(c.X, pattern, rng);
                FillFloats(c.W, pattern, rng);
                if (c.Bias is not null)
                {
                    FillFloats(c.Bias, pattern, rng);
                }

                break;
            case QGemmData q when pattern == ValuePattern.NearZeroPoint:
                NearZero(q.A, q.Desc.AType, _ => q.Desc.AQuant.ZeroPoint(0), rng);
                NearZero(q.B, q.Desc.BType, i => q.Desc.BQuant.ZeroPoint((int)(i % q.Desc.N)), rng);
                break;
            case QConvData q when pattern == ValuePattern.NearZeroPoint:
                int perK = q.Desc.Conv.Cg * q.Desc.Conv.R * q.Desc.Conv.S;
                NearZero(q.X, q.Desc.XType, _ => q.Desc.XQuant.ZeroPoint(0), rng);
                NearZero(q.W, q.Desc.WType, i => q.Desc.WQuant.ZeroPoint((int)(i / perK)), rng);
                break;
            case QGemmData q when pattern == ValuePattern.Extremes:
                FillActivations(q.A, q.Desc.AType);
                FillWeights(q.B, q.Desc.BType);
                break;
            case QConvData q when pattern == ValuePattern.Extremes:
                FillActivations(q.X, q.Desc.XType);
                FillWeights(q.W, q.Desc.WType);
                break;
        }
    }

    /// <summary>Whether the pattern means anything for this op (8-bit ops have Random, Extremes and NearZeroPoint).</summary>
    public static bool AppliesTo(string op, ValuePattern pattern) => pattern switch
    {
        ValuePattern.Random or ValuePattern.Extremes => true,
        ValuePattern.NearZeroPoint => op is "qgemm" or "qconv",
        _ => op is "gemm" or "conv",
    };

    private static void NearZero(byte[] a, DataType t, Func<long, int> zeroPoint, Random rng)
    {
        for (long i = 0; i < a.Length; i++)
        {
            int v = Math.Clamp(zeroPoint(i) + rng.Next(-3, 4), t.MinValue(), t.MaxValue());
            a[i] = unchecked((byte)v);
        }
    }

    private static void FillFloats(float[] a, ValuePattern pattern, Random rng)
    {
        for (int i = 0; i < a.Length; i++)
        {
            float sign = rng.Next(2) == 0 ? -1f : 1f;
            a[i] = pattern switch
            {
                ValuePattern.Extremes => sign,
                ValuePattern.MixedMagnitudes => sign * MathF.Pow(2f, rng.Next(-40, 41)) * (1f + (float)rng.NextDouble()),
                ValuePattern.SpecialValues => rng.Next(4) == 0 ? Specials[rng.Next(Specials.Length)] : (float)((rng.NextDouble() * 2) - 1),
                _ => a[i],
            };
        }
    }

    /// <summary>Activations at the top of their range: the largest products a saturating int16 path could overflow on.</summary>
    private static void FillActivations(byte[] a, DataType t) => Array.Fill(a, t == DataType.U8 ? (byte)255 : unchecked((byte)(sbyte)127));

    /// <summary>Weights alternating the type's minimum and maximum.</summary>
    private static void FillWeights(byte[] w, DataType t)
    {
        byte lo = t == DataType.U8 ? (byte)0 : unchecked((byte)(sbyte)-128);
        byte hi = t == DataType.U8 ? (byte)255 : unchecked((byte)(sbyte)127);
        for (int i = 0; i < w.Length; i++)
        {
            w[i] = (i & 1) == 0 ? lo : hi;
        }
    }
}
