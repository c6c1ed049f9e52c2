using ChipKit.Core.Descriptors;
using ChipKit.Core.Reference;

namespace ChipKit.Core.Workloads;

/// <summary>
/// Quantised conv workload: spec <c>qconv:</c> with the <c>conv:</c> geometry keys plus
/// <c>dtype=u8|s8</c> (X, default u8), <c>wtype</c> (W, default dtype), <c>out=q|i32</c> (QLinearConv or ConvInteger),
/// <c>perchannel=1</c> (per-output-channel weight scales and zero points), <c>bias=1</c> (int32 bias).
/// </summary>
public sealed class QConvWorkload : Workload
{
    public QConvWorkload(QConv2dDesc desc, bool perChannelSpec = false)
    {
        desc.Validate();
        Desc = desc;
        PerChannel = perChannelSpec || !desc.WQuant.IsPerTensor;
    }

    public QConv2dDesc Desc { get; }

    public bool PerChannel { get; }

    public override string Op => "qconv";

    public override string Spec => "qconv:" + string.Join(',', Params.Select(p => $"{p.Key}={p.Value}"));

    public override IReadOnlyList<KeyValuePair<string, string>> Params
    {
        get
        {
            List<KeyValuePair<string, string>> p = ConvSpec.Params(Desc.Conv);
            p.AddRange(QuantSpec.Params(Desc.XType, Desc.WType, Desc.Output, PerChannel));
            if (Desc.HasBias)
            {
                p.Add(new("bias", "1"));
            }

            return p;
        }
    }

    public override double Ops => Desc.Ops;

    public override long Bytes => Desc.Conv.InputElements + Desc.Conv.WeightElements + (Desc.Conv.OutputElements * (Desc.Output == QuantOutput.Int32 ? 4 : 1));

    public override OpData CreateData(int seed)
    {
        var rng = new Random(seed);
        byte[] x = DataGen.Bytes(rng, Desc.Conv.InputElements);
        byte[] w = DataGen.Bytes(rng, Desc.Conv.WeightElements);
        int[]? bias = Desc.HasBias ? DataGen.Ints(rng, Desc.Conv.K, -20000, 20000) : null;
        var data = new QConvData(Desc, x, w, bias);
        PoisonOutput(data);
        return data;
    }

    public override Expected ComputeReference(OpData data)
    {
        var d = (QConvData)data;
        return new IntExpected(QuantReference.Conv(Desc, d.X, d.W, d.Bias ?? []));
    }

    public override VerifyOutcome Verify(OpData data, Expected expected) => QuantOutputs.Verify(((QConvData)data).Y8, ((QConvData)data).Y32, Desc.YType, (IntExpected)expected);

    public override void PoisonOutput(OpData data) => QuantOutputs.Poison(((QConvData)data).Y8, ((QConvData)data).Y32);

    internal static QConvWorkload Parse(SpecKeys keys)
    {
        keys.RejectUnknown([.. ConvSpec.Keys, .. QuantSpec.Keys, "bias"]);
        Conv2dDesc conv = ConvSpec.Parse(keys);
        conv.Validate();
        Check.MemoryBudget(conv.InputElements + (double)conv.WeightElements + (16.0 * conv.OutputElements) + (8.0 * conv.K), "this workload");
        DataType x = QuantSpec.Type(keys.Choice("dtype", "u8", "u8", "s8"));
        DataType w = QuantSpec.Type(keys.Choice("wtype", x.ToSpec(), "u8", "s8"));
        QuantOutput output = keys.Choice("out", "q", "q", "i32") == "i32" ? QuantOutput.Int32 : QuantOutput.Quantized;
        bool perChannel = keys.Bool("perchannel", false);
        bool bias = keys.Bool("bias", false);
        DataType y = output == QuantOutput.Int32 ? DataType.S32 : x;
        (QuantParams qx, QuantParams qw, QuantParams? qy) = QuantSpec.Generate(x, w, y, conv.K, perChannel, conv.Cg * conv.R * conv.S, output == QuantOutput.Quantized);
        return new QConvWorkload(new QConv2dDesc(conv, x, w, y, qx, qw, qy, bias, output), perChannel);
    }
}
