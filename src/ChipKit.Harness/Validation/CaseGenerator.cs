using System.Globalization;

namespace ChipKit.Harness.Validation;

/// <summary>How many cases `chipkit validate` runs.</summary>
public enum ValidationLevel
{
    /// <summary>Structural edge cases and every value pattern and quantisation variant once (about a minute on `ref`).</summary>
    Quick,

    /// <summary>Quick plus seeded random shapes around tile boundaries and every dtype combination: deterministic for a seed.</summary>
    Full,
}

/// <summary>
/// Generates validation cases per op. Sizes sit on and around the tile boundaries kernels use (powers of two and
/// their neighbours), so an off-by-one at an edge tile is hit whatever tile size a device picked.
/// </summary>
public static class CaseGenerator
{
    public static readonly string[] Ops = ["gemm", "conv", "qgemm", "qconv"];

    /// <summary>Sizes around tile boundaries.</summary>
    public static readonly int[] EdgeSizes = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65, 95, 96, 97, 127, 128, 129, 255, 256, 257];

    private static readonly string[] QTypes = ["dtype=u8,wtype=s8", "dtype=u8,wtype=u8", "dtype=s8,wtype=s8", "dtype=s8,wtype=u8"];

    public static List<ValidationCase> For(string op, ValidationLevel level, int seed) => op switch
    {
        "gemm" => Gemm(level, seed),
        "conv" => Conv(level, seed),
        "qgemm" => QGemm(level, seed),
        "qconv" => QConv(level, seed),
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "unknown op"),
    };

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);

    private static List<ValidationCase> Gemm(ValidationLevel level, int seed)
    {
        var cases = new List<ValidationCase>();
        (int m, int n, int k)[] shapes =
        [
            (1, 1, 1), (1, 17, 9), (7, 9, 5), (16, 16, 16), (17, 33, 65), (64, 1, 257), (1, 129, 31),
            (129, 65, 17), (257, 3, 64), (33, 257, 8), (96, 97, 95), (255, 128, 2),
        ];
        string[] flags = ["", ",ta=1", ",tb=1", ",ta=1,tb=1", ",alpha=0.5,beta=-1.5", ",ta=1,alpha=-2,beta=1"];
        for (int i = 0; i < shapes.Length; i++)
        {
            (int m, int n, int k) = shapes[i];
            cases.Add(new($"gemm:m={I(m)},n={I(n)},k={I(k)}{flags[i % flags.Length]}", ValuePattern.Random, QuantVariant.Default, seed + i));
        }

        foreach (ValuePattern p in new[] { ValuePattern.Extremes, ValuePattern.MixedMagnitudes, ValuePattern.SpecialValues })
        {
            cases.Add(new("gemm:m=33,n=31,k=65,beta=1", p, QuantVariant.Default, seed));
            cases.Add(new("gemm:m=5,n=17,k=129,ta=1,tb=1", p, QuantVariant.Default, seed + 1));
        }

        if (level == ValidationLevel.Full)
        {
            var rng = new Random(seed);
            for (int i = 0; i < 60; i++)
            {
                int m = Pick(rng), n = Pick(rng), k = Pick(rng);
                cases.Add(new($"gemm:m={I(m)},n={I(n)},k={I(k)}{flags[rng.Next(flags.Length)]}", (ValuePattern)rng.Next(4), QuantVariant.Default, seed + 100 + i));
            }
        }

        return cases;
    }

    private static List<ValidationCase> Conv(ValidationLevel level, int seed)
    {
        string[] geometry =
        [
            "n=1,c=1,h=1,w=1,k=1,r=1,s=1",
            "n=1,c=8,h=9,w=9,k=16,r=1,s=1",
            "n=1,c=16,h=10,w=10,k=17,r=3,s=3,pad=1",
            "n=2,c=3,h=11,w=13,k=5,r=5,s=5,stride=2,pad=2",
            "n=1,c=3,h=23,w=23,k=8,r=7,s=7,stride=2,pad=3",
            "n=1,c=4,h=12,w=9,k=6,r=3,s=3,dilation=2,pad=2",
            "n=1,c=5,h=9,w=8,k=7,r=3,s=2,stride_h=2,stride_w=1,pad_top=1,pad_left=0,pad_bottom=2,pad_right=1",
            "n=1,c=8,h=7,w=7,k=12,r=3,s=3,pad=1,groups=4",
            "n=1,c=16,h=12,w=12,k=16,r=3,s=3,pad=1,groups=16",
            "n=1,c=8,h=9,w=9,k=16,r=3,s=3,stride=2,pad=1,groups=8",
            "n=2,c=33,h=5,w=6,k=31,r=2,s=3,pad_h=1,pad_w=0",
            "n=1,c=2,h=3,w=3,k=3,r=3,s=3,pad=2,dilation=2",
        ];
        var cases = new List<ValidationCase>();
        for (int i = 0; i < geometry.Length; i++)
        {
            cases.Add(new($"conv:{geometry[i]}{(i % 3 == 1 ? ",bias=1" : "")}", ValuePattern.Random, QuantVariant.Default, seed + i));
            cases.Add(new($"conv:{geometry[i]},layout=nhwc{(i % 3 == 2 ? ",bias=1" : "")}", ValuePattern.Random, QuantVariant.Default, seed + i));
        }

        foreach (ValuePattern p in new[] { ValuePattern.Extremes, ValuePattern.MixedMagnitudes, ValuePattern.SpecialValues })
        {
            cases.Add(new("conv:n=1,c=16,h=10,w=10,k=17,r=3,s=3,pad=1,bias=1", p, QuantVariant.Default, seed));
            cases.Add(new("conv:n=1,c=16,h=12,w=12,k=16,r=3,s=3,pad=1,groups=16,layout=nhwc", p, QuantVariant.Default, seed));
        }

        if (level == ValidationLevel.Full)
        {
            var rng = new Random(seed);
            for (int i = 0; i < 40; i++)
            {
                cases.Add(new($"conv:{RandomGeometry(rng)}", (ValuePattern)rng.Next(4), QuantVariant.Default, seed + 100 + i));
            }
        }

        return cases;
    }

    private static List<ValidationCase> QGemm(ValidationLevel level, int seed)
    {
        var cases = new List<ValidationCase>();
        (int m, int n, int k)[] shapes = [(1, 1, 1), (7, 9, 5), (16, 16, 16), (17, 33, 65), (1, 129, 257), (65, 64, 63), (129, 17, 96), (3, 257, 33)];
        for (int i = 0; i < shapes.Length; i++)
        {
            (int m, int n, int k) = shapes[i];
            string extra = (i % 4) switch { 1 => ",perchannel=1", 2 => ",out=i32", 3 => ",out=i32,perchannel=1", _ => "" };
            cases.Add(new($"qgemm:m={I(m)},n={I(n)},k={I(k)},{QTypes[i % 4]}{extra}", ValuePattern.Random, QuantVariant.Default, seed + i));
        }

        AddQuantEdges(cases, "qgemm:m=17,n=33,k=65", seed);
        if (level == ValidationLevel.Full)
        {
            var rng = new Random(seed);
            for (int i = 0; i < 48; i++)
            {
                string extra = (rng.Next(2) == 0 ? "" : ",perchannel=1") + (rng.Next(3) == 0 ? ",out=i32" : "");
                cases.Add(new($"qgemm:m={I(Pick(rng))},n={I(Pick(rng))},k={I(Pick(rng))},{QTypes[rng.Next(4)]}{extra}",
                    QuantPattern(rng), (QuantVariant)rng.Next(6), seed + 100 + i));
            }
        }

        return cases;
    }

    private static ValuePattern QuantPattern(Random rng) => rng.Next(4) switch
    {
        0 => ValuePattern.Extremes,
        1 => ValuePattern.NearZeroPoint,
        _ => ValuePattern.Random,
    };

    private static List<ValidationCase> QConv(ValidationLevel level, int seed)
    {
        string[] geometry =
        [
            "n=1,c=1,h=1,w=1,k=1,r=1,s=1",
            "n=1,c=8,h=9,w=9,k=16,r=1,s=1",
            "n=1,c=16,h=10,w=10,k=17,r=3,s=3,pad=1",
            "n=2,c=3,h=11,w=13,k=5,r=5,s=5,stride=2,pad=2",
            "n=1,c=5,h=9,w=8,k=7,r=3,s=2,stride_h=2,stride_w=1,pad_top=1,pad_left=0,pad_bottom=2,pad_right=1,dilation=2",
            "n=1,c=8,h=7,w=7,k=12,r=3,s=3,pad=1,groups=4",
            "n=1,c=16,h=12,w=12,k=16,r=3,s=3,pad=1,groups=16",
            "n=1,c=33,h=6,w=5,k=31,r=3,s=3,pad=1",
        ];
        var cases = new List<ValidationCase>();
        for (int i = 0; i < geometry.Length; i++)
        {
            string extra = (i % 4) switch { 0 => "", 1 => ",perchannel=1,bias=1", 2 => ",out=i32", _ => ",out=i32,perchannel=1,bias=1" };
            cases.Add(new($"qconv:{geometry[i]},{QTypes[i % 4]}{extra}", ValuePattern.Random, QuantVariant.Default, seed + i));
            cases.Add(new($"qconv:{geometry[i]},layout=nhwc,{QTypes[(i + 1) % 4]}{extra}", ValuePattern.Random, QuantVariant.Default, seed + i));
        }

        AddQuantEdges(cases, "qconv:n=1,c=16,h=10,w=10,k=17,r=3,s=3,pad=1", seed);
        if (level == ValidationLevel.Full)
        {
            var rng = new Random(seed);
            for (int i = 0; i < 40; i++)
            {
                string extra = (rng.Next(2) == 0 ? "" : ",perchannel=1") + (rng.Next(3) == 0 ? ",out=i32" : "") + (rng.Next(2) == 0 ? ",bias=1" : "");
                cases.Add(new($"qconv:{RandomGeometry(rng)},{QTypes[rng.Next(4)]}{extra}",
                    QuantPattern(rng), (QuantVariant)rng.Next(6), seed + 100 + i));
            }
        }

        return cases;
    }

    /// <summary>Every dtype pair at the zero-point extremes, all-max activations with min/max weights, ties, and saturation.</summary>
    private static void AddQuantEdges(List<ValidationCase> cases, string shape, int seed)
    {
        foreach (string types in QTypes)
        {
            foreach (QuantVariant v in new[] { QuantVariant.ZeroPointMin, QuantVariant.ZeroPointMax })
            {
                cases.Add(new($"{shape},{types},perchannel=1", ValuePattern.Extremes, v, seed));
                cases.Add(new($"{shape},{types}", ValuePattern.Random, v, seed + 1));
            }

            cases.Add(new($"{shape},{types},out=i32", ValuePattern.Extremes, QuantVariant.ZeroPointMin, seed + 2));
        }

        foreach (QuantVariant v in new[] { QuantVariant.TieScales, QuantVariant.TinyOutputScale, QuantVariant.HugeOutputScale })
        {
            ValuePattern p = v == QuantVariant.TieScales ? ValuePattern.NearZeroPoint : ValuePattern.Random;
            cases.Add(new($"{shape},dtype=u8,wtype=s8", p, v, seed + 3));
            cases.Add(new($"{shape},dtype=s8,wtype=s8,perchannel=1", p, v, seed + 4));
            cases.Add(new($"{shape},dtype=u8,wtype=u8,perchannel=1", p, v, seed + 5));
        }
    }

    private static int Pick(Random rng) => EdgeSizes[rng.Next(EdgeSizes.Length)];

    private static string RandomGeometry(Random rng)
    {
        int[] channelChoices = [1, 2, 3, 4, 8, 16, 17];
        int g = rng.Next(4) switch { 0 => 2, 1 => 4, _ => 1 };
        bool depthwise = rng.Next(6) == 0;
        int c = depthwise ? channelChoices[rng.Next(channelChoices.Length)] : channelChoices[rng.Next(channelChoices.Length)] * g;
        int k = depthwise ? c : (rng.Next(1, 9) * g);
        if (depthwise)
        {
            g = c;
        }

        int r = new[] { 1, 2, 3, 5 }[rng.Next(4)], s = new[] { 1, 2, 3, 5 }[rng.Next(4)];
        int dil = rng.Next(3) == 0 ? 2 : 1;
        int pad = rng.Next(3);
        int h = Math.Max(((r - 1) * dil) + 1 - (2 * pad), 1) + rng.Next(0, 14);
        int w = Math.Max(((s - 1) * dil) + 1 - (2 * pad), 1) + rng.Next(0, 14);
        int stride = rng.Next(1, 4);
        string layout = rng.Next(2) == 0 ? "" : ",layout=nhwc";
        string groups = g > 1 ? $",groups={I(g)}" : "";
        return $"n={I(rng.Next(1, 3))},c={I(c)},h={I(h)},w={I(w)},k={I(k)},r={I(r)},s={I(s)},stride={I(stride)},pad={I(pad)},dilation={I(dil)}{groups}{layout}";
    }
}
