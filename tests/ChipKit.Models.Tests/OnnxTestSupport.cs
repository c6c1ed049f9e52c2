using ChipKit.Models.Onnx;
using Google.Protobuf;
using Onnx;

namespace ChipKit.Models.Tests;

/// <summary>Shared helpers of the ONNX executor tests: the sample models, random inputs, graph surgery.</summary>
public static class OnnxTestSupport
{
    public sealed record Sample(string Name, bool Qdq, bool Signed, bool PerChannel)
    {
        public byte[] Bytes() => Qdq ? OnnxSampleModels.Qdq(Signed, PerChannel) : OnnxSampleModels.QLinear(Signed, PerChannel);

        public override string ToString() => Name;
    }

    public static IEnumerable<Sample> Samples()
    {
        foreach (bool qdq in new[] { false, true })
        {
            foreach (bool signed in new[] { false, true })
            {
                foreach (bool pc in new[] { false, true })
                {
                    yield return new Sample($"{(qdq ? "qdq" : "qlinear")}_{(signed ? "s8" : "u8")}_{(pc ? "perchannel" : "pertensor")}", qdq, signed, pc);
                }
            }
        }
    }

    /// <summary>Fills every graph input with deterministic random data (float inputs in [-1, 1)).</summary>
    public static void RandomInputs(OnnxSession s, int seed)
    {
        var rng = new Random(seed);
        foreach (OnnxBuffer b in s.Inputs)
        {
            Fill(b, rng);
        }
    }

    public static void Fill(OnnxBuffer b, Random rng)
    {
        if (b.Bytes is { } bytes)
        {
            rng.NextBytes(bytes);
        }
        else if (b.Floats is { } f)
        {
            for (int i = 0; i < f.Length; i++)
            {
                f[i] = (float)((rng.NextDouble() * 2) - 1);
            }
        }
        else
        {
            int[] v = b.Ints!;
            for (int i = 0; i < v.Length; i++)
            {
                v[i] = rng.Next(-1000, 1000);
            }
        }
    }

    public static void CopyInputs(OnnxSession from, OnnxSession to)
    {
        for (int i = 0; i < from.Inputs.Count; i++)
        {
            from.Inputs[i].Raw.CopyTo(to.Inputs[i].Raw);
        }
    }

    public static ModelProto Proto(byte[] bytes) => ModelProto.Parser.ParseFrom(bytes);
}
