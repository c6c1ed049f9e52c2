using ChipKit.Core.Descriptors;
using ChipKit.Core.Reference;

namespace ChipKit.Core.Workloads;

/// <summary>
/// Quantised GEMM workload: spec <c>qgemm:m=..,n=..,k=..[,dtype=u8|s8][,wtype=u8|s8][,out=q|i32][,perchannel=1]</c>.
/// dtype is A's type (default u8), wtype B's (default: dtype); out=q is QLinearMatMul (8-bit output of dtype),
/// out=i32 is MatMulInteger; perchannel=1 gives B one scale and zero point per column.
/// </summary>
public sealed class QGemmWorkload : Workload
{
    public QGemmWorkload(QGemmDesc desc, bool perChannelSpec = false)
    {
        desc.Validate();
        Desc = desc;
        PerChannel = perChannelSpec || !desc.BQuant.IsPerTensor;
    }

    public QGemmDesc Desc { get; }

    public bool PerChannel { get; }

    public override string Op => "qgemm";

    public override string Spec => "qgemm:" + string.Join(',', Params.Select(p => $"{p.Key}={p.Value}"));

    public override IReadOnlyList<KeyValuePair<string, string>> Params =>
    [
        new("m", GemmWorkload.I(Desc.M)), new("n", GemmWorkload.I(Desc.N)), new("k", GemmWorkload.I(Desc.K)),
        .. QuantSpec.Params(Desc.AType, Desc.BType, Desc.Output, PerChannel),
    ];

    public override double Ops => Desc.Ops;

    public override long Bytes => ((long)Desc.M * Desc.K) + ((long)Desc.K * Desc.N) + ((long)Desc.M * Desc.N * (Desc.Output == QuantOutput.Int32 ? 4 : 1));

    public override OpData CreateData(int seed)
    {
        var rng = new Random(seed);
        var data = new QGemmData(Desc, DataGen.Bytes(rng, (long)Desc.M * Desc.K), DataGen.Bytes(rng, (long)Desc.K * Desc.N));
        PoisonOutput(data);
        return data;
    }

    public override Expected ComputeReference(OpData data)
    {
        var d = (QGemmData)data;
        return new IntExpected(QuantReference.Gemm(Desc, d.A, d.B));
    }

    public override VerifyOutcome Verify(OpData data, Expected expected) => QuantOutputs.Verify(((QGemmData)data).Y8, ((QGemmData)data).Y32, Desc.YType, (IntExpected)expected);

    public override void PoisonOutput(OpData data) => QuantOutputs.Poison(((QGemmData)data).Y8, ((QGemmData)data).Y32);

    internal static QGemmWorkload Parse(SpecKeys keys)
    {
        keys.RejectUnknown(["m", "n", "k", .. QuantSpec.Keys]);
        int m = keys.Int("m"), n = keys.Int("n"), k = keys.Int("k");
        DataType a = QuantSpec.Type(keys.Choice("dtype", "u8", "u8", "s8"));
        DataType b = QuantSpec.Type(keys.Choice("wtype", a.ToSpec(), "u8", "s8"));
        QuantOutput output = keys.Choice("out", "q", "q", "i32") == "i32" ? QuantOutput.Int32 : QuantOutput.Quantized;
        bool perChannel = keys.Bool("perchannel", false);
        DataType y = output == QuantOutput.Int32 ? DataType.S32 : a;
        Check.Positive(m, "m");
        Check.Positive(n, "n");
        Check.Positive(k, "k");
        Check.ElementCount((long)m * k, "A (m*k)");
        Check.ElementCount((long)k * n, "B (k*n)");
        Check.ElementCount((long)m * n, "Y (m*n)");
        Check.MemoryBudget(((double)m * k) + ((double)k * n) + (16.0 * m * n) + (8.0 * n), "this workload");
        (QuantParams qa, QuantParams qb, QuantParams? qy) = QuantSpec.Generate(a, b, y, n, perChannel, k, output == QuantOutput.Quantized);
        return new QGemmWorkload(new QGemmDesc(m, n, k, a, b, y, qa, qb, qy, output), perChannel);
    }
}

/// <summary>Output handling shared by the quantised workloads.</summary>
internal static class QuantOutputs
{
    public const byte Poison8 = 0xA5;
    public const int Poison32 = int.MinValue + 0x5A5A;

    public static void Poison(byte[]? y8, int[]? y32)
    {
        if (y8 is not null)
        {
            Array.Fill(y8, Poison8);
        }

        if (y32 is not null)
        {
            Array.Fill(y32, Poison32);
        }
    }

    public static VerifyOutcome Verify(byte[]? y8, int[]? y32, DataType yType, IntExpected expected)
    {
        if (y32 is not null)
        {
            return Verifier.CompareInt(y32, expected);
        }

        var asInt = new int[y8!.Length];
        for (int i = 0; i < asInt.Length; i++)
        {
            asInt[i] = yType == DataType.S8 ? (sbyte)y8[i] : y8[i];
        }

        return Verifier.CompareInt(asInt, expected);
    }
}
