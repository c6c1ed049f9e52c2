using ChipKit.Core.Descriptors;
using ChipKit.Core.Reference;

namespace ChipKit.Core.Workloads;

/// <summary>
/// A tensor-core GEMM: spec <c>gemm:m=..,n=..,k=..,dtype=tf32|bf16</c> (plus the fp32 GEMM keys). Operands and output are
/// fp32 arrays like <see cref="GemmWorkload"/>'s (<see cref="GemmData"/>); a kernel rounds A and B to the precision and
/// accumulates in fp32. It is its own type so that fp32 kernels (which test <c>is GemmWorkload</c>) never claim it: a
/// device without tensor-core kernels reports it as not supported.
/// The oracle is the fp32 GEMM's (inputs as given, products and sums in double); the bound is
/// <see cref="ErrorBound"/>: input rounding plus fp32 accumulation.
/// </summary>
public sealed class ReducedPrecisionGemmWorkload : Workload
{
    public ReducedPrecisionGemmWorkload(GemmDesc desc)
    {
        ArgumentNullException.ThrowIfNull(desc);
        if (desc.Precision == GemmPrecision.F32)
        {
            throw new ArgumentException("an fp32 GEMM is a GemmWorkload", nameof(desc));
        }

        desc.Validate();
        Desc = desc;
        Fp32 = new GemmWorkload(desc with { Precision = GemmPrecision.F32 });
    }

    public GemmDesc Desc { get; }

    public GemmPrecision Precision => Desc.Precision;

    /// <summary>The same GEMM in fp32 (shares operand generation and the oracle).</summary>
    private GemmWorkload Fp32 { get; }

    public override string Op => "gemm";

    public override string Spec => "gemm:" + string.Join(',', Params.Select(p => $"{p.Key}={p.Value}"));

    public override IReadOnlyList<KeyValuePair<string, string>> Params => [.. Fp32.Params, new("dtype", Precision.ToSpec())];

    public override double Ops => Desc.Flops;

    public override long Bytes => Fp32.Bytes;

    /// <summary>
    /// Allowed error relative to sum_k |a*b| (+ |beta*c|): each input rounded to nearest in the precision (unit roundoff u:
    /// 2^-11 tf32, 2^-8 bf16) perturbs a product by at most 2u + u^2; the products are exact in fp32 and summed in fp32, for
    /// which ChipKit allows (K+4)*2^-23, doubled here because tensor cores may truncate rather than round inside an MMA.
    /// bound = 2u + u^2 + 2*(K+4)*2^-23 (tf32, K=4096: 2.0e-3; bf16: 8.8e-3).
    /// </summary>
    public static double ErrorBound(GemmPrecision precision, int k)
    {
        double u = precision.InputUnitRoundoff();
        return (2 * u) + (u * u) + (2 * GemmWorkload.ErrorBound(k));
    }

    public override OpData CreateData(int seed)
    {
        var d = (GemmData)Fp32.CreateData(seed);
        return new GemmData(Desc, d.A, d.B, d.C);
    }

    public override Expected ComputeReference(OpData data)
    {
        var d = (GemmData)data;
        var values = new double[(long)Desc.M * Desc.N];
        var mags = new double[values.Length];
        GemmReference.Run(Desc, d.A, d.B, d.C ?? [], values, mags);
        return new FloatExpected(values, mags, ErrorBound(Precision, Desc.K));
    }

    public override VerifyOutcome Verify(OpData data, Expected expected) => Verifier.CompareFloat(((GemmData)data).Y, (FloatExpected)expected);

    public override void PoisonOutput(OpData data) => Array.Fill(((GemmData)data).Y, float.NaN);
}
