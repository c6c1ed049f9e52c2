using ChipKit.Core.Descriptors;
using ChipKit.Core.Reference;

namespace ChipKit.Core.Workloads;

/// <summary>
/// fp32 conv workload: spec <c>conv:n=1,c=64,h=56,w=56,k=64,r=3,s=3,stride=1,pad=1[,groups=..][,dilation=..][,layout=nhwc][,bias=1]</c>.
/// Missing keys: n=1, w=h, s=r, stride=1, pad=0, dilation=1, groups=1, layout=nchw, bias=0.
/// </summary>
public sealed class ConvWorkload : Workload
{
    public ConvWorkload(Conv2dDesc desc, bool hasBias = false)
    {
        desc.Validate();
        Desc = desc;
        HasBias = hasBias;
    }

    public Conv2dDesc Desc { get; }

    public bool HasBias { get; }

    public override string Op => "conv";

    public override string Spec => "conv:" + string.Join(',', Params.Select(p => $"{p.Key}={p.Value}"));

    public override IReadOnlyList<KeyValuePair<string, string>> Params
    {
        get
        {
            List<KeyValuePair<string, string>> p = ConvSpec.Params(Desc);
            if (HasBias)
            {
                p.Add(new("bias", "1"));
            }

            return p;
        }
    }

    public override double Ops => Desc.Flops;

    public override long Bytes => 4L * (Desc.InputElements + Desc.WeightElements + Desc.OutputElements);

    public override OpData CreateData(int seed)
    {
        var rng = new Random(seed);
        float[] x = DataGen.Floats(rng, Desc.InputElements);
        float[] w = DataGen.Floats(rng, Desc.WeightElements);
        float[]? bias = HasBias ? DataGen.Floats(rng, Desc.K) : null;
        var data = new ConvData(Desc, x, w, bias);
        PoisonOutput(data);
        return data;
    }

    public override Expected ComputeReference(OpData data)
    {
        var d = (ConvData)data;
        var values = new double[Desc.OutputElements];
        var mags = new double[values.Length];
        ConvReference.Run(Desc, d.X, d.W, d.Bias ?? [], values, mags);
        return new FloatExpected(values, mags, GemmWorkload.ErrorBound((Desc.Cg * Desc.R * Desc.S) + 1));
    }

    public override VerifyOutcome Verify(OpData data, Expected expected) => Verifier.CompareFloat(((ConvData)data).Y, (FloatExpected)expected);

    public override void PoisonOutput(OpData data) => Array.Fill(((ConvData)data).Y, float.NaN);

    internal static ConvWorkload Parse(SpecKeys keys)
    {
        keys.RejectUnknown([.. ConvSpec.Keys, "bias"]);
        return new ConvWorkload(ConvSpec.Parse(keys), keys.Bool("bias", false));
    }
}
