using System.Globalization;
using ChipKit.Core.Descriptors;
using ChipKit.Core.Reference;

namespace ChipKit.Core.Workloads;

/// <summary>
/// fp32 GEMM workload: spec <c>gemm:m=..,n=..,k=..[,ta=1][,tb=1][,alpha=..][,beta=..]</c>. With <c>dtype=tf32|bf16</c>
/// the spec parses to a <see cref="ReducedPrecisionGemmWorkload"/> instead (a different type, so fp32 kernels never claim it).
/// </summary>
public sealed class GemmWorkload : Workload
{
    internal static readonly string[] Keys = ["m", "n", "k", "ta", "tb", "alpha", "beta", "dtype"];

    public GemmWorkload(GemmDesc desc)
    {
        ArgumentNullException.ThrowIfNull(desc);
        if (desc.Precision != GemmPrecision.F32)
        {
            throw new ArgumentException($"GemmWorkload is fp32; a {desc.Precision.ToSpec()} GEMM is a {nameof(ReducedPrecisionGemmWorkload)}", nameof(desc));
        }

        desc.Validate();
        Desc = desc;
    }

    public GemmDesc Desc { get; }

    public override string Op => "gemm";

    public override string Spec => "gemm:" + string.Join(',', Params.Select(p => $"{p.Key}={p.Value}"));

    public override IReadOnlyList<KeyValuePair<string, string>> Params
    {
        get
        {
            var p = new List<KeyValuePair<string, string>> { new("m", I(Desc.M)), new("n", I(Desc.N)), new("k", I(Desc.K)) };
            if (Desc.TransA)
            {
                p.Add(new("ta", "1"));
            }

            if (Desc.TransB)
            {
                p.Add(new("tb", "1"));
            }

            if (Desc.Alpha != 1f)
            {
                p.Add(new("alpha", F(Desc.Alpha)));
            }

            if (Desc.Beta != 0f)
            {
                p.Add(new("beta", F(Desc.Beta)));
            }

            return p;
        }
    }

    public override double Ops => Desc.Flops;

    public override long Bytes => 4L * (((long)Desc.M * Desc.K) + ((long)Desc.K * Desc.N) + (2L * Desc.M * Desc.N));

    /// <summary>Allowed normwise relative error: (K+4) units of fp32 rounding (2^-23), a bound any summation order meets.</summary>
    public static double ErrorBound(int k) => (k + 4) * Math.Pow(2, -23);

    public override OpData CreateData(int seed)
    {
        var rng = new Random(seed);
        float[] a = DataGen.Floats(rng, (long)Desc.M * Desc.K);
        float[] b = DataGen.Floats(rng, (long)Desc.K * Desc.N);
        float[]? c = Desc.Beta != 0f ? DataGen.Floats(rng, (long)Desc.M * Desc.N) : null;
        var data = new GemmData(Desc, a, b, c);
        PoisonOutput(data);
        return data;
    }

    public override Expected ComputeReference(OpData data)
    {
        var d = (GemmData)data;
        var values = new double[(long)Desc.M * Desc.N];
        var mags = new double[values.Length];
        GemmReference.Run(Desc, d.A, d.B, d.C ?? [], values, mags);
        return new FloatExpected(values, mags, ErrorBound(Desc.K));
    }

    public override VerifyOutcome Verify(OpData data, Expected expected) => Verifier.CompareFloat(((GemmData)data).Y, (FloatExpected)expected);

    public override void PoisonOutput(OpData data) => Array.Fill(((GemmData)data).Y, float.NaN);

    internal static Workload Parse(SpecKeys keys)
    {
        keys.RejectUnknown(Keys);
        GemmPrecision precision = keys.Choice("dtype", "f32", "f32", "tf32", "bf16") switch
        {
            "tf32" => GemmPrecision.Tf32,
            "bf16" => GemmPrecision.Bf16,
            _ => GemmPrecision.F32,
        };
        var desc = new GemmDesc(keys.Int("m"), keys.Int("n"), keys.Int("k"), keys.Bool("ta", false), keys.Bool("tb", false),
            keys.Float("alpha", 1f), keys.Float("beta", 0f), precision);
        return precision == GemmPrecision.F32 ? new GemmWorkload(desc) : new ReducedPrecisionGemmWorkload(desc);
    }

    internal static string I(int v) => v.ToString(CultureInfo.InvariantCulture);

    internal static string F(float v) => v.ToString("R", CultureInfo.InvariantCulture);
}
