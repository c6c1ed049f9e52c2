using ChipKit.Models.Onnx;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;

namespace ChipKit.Models.Tests;

/// <summary>
/// The same quantised models in ONNX Runtime 1.31.1 (CPU provider, all graph optimisations, so QDQ groups are fused
/// into its QLinear kernels). ORT requantises in float32 (MLAS), ChipKit in double (Requantize), so exact equality is
/// not expected: a rounding tie resolved differently gives +-1 on a few elements, and that difference then travels
/// through the following layers. Checked: every quantised conv / matmul output (made a graph output) and the final
/// probabilities, with the measured differences written to the test log.
/// </summary>
public class OnnxRuntimeCrossCheckTests
{
    /// <summary>Largest |ChipKit - ORT| allowed on a quantised layer output (measured: 1, on 0 to 0.16 % of the elements).</summary>
    private const int MaxQuantDiff = 1;

    /// <summary>Largest fraction of the quantised outputs allowed to differ (measured at most 0.16 %).</summary>
    private const double MaxDifferingFraction = 0.005;

    private static IEnumerable<OnnxTestSupport.Sample> Samples() => OnnxTestSupport.Samples();

    [TestCaseSource(nameof(Samples))]
    public void ChipKit_agrees_with_onnx_runtime_within_the_float_rounding_tolerance(OnnxTestSupport.Sample sample)
    {
        OnnxModel m = OnnxModel.Parse(sample.Bytes(), sample.Name + ".onnx");
        ModelProto proto = OnnxTestSupport.Proto(sample.Bytes());
        OnnxLayer[] checkedLayers = m.Layers.Where(l => l.HasFastPath).ToArray();
        foreach (OnnxLayer l in checkedLayers)
        {
            proto.Graph.Output.Add(new ValueInfoProto { Name = l.Output.Name });
        }

        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = 1 };
        using var ort = new InferenceSession(proto.ToByteArray(), options);
        using var s = new OnnxSession(m);
        long total = 0, differing = 0;
        int worst = 0;
        double worstProb = 0;
        for (int seed = 0; seed < 4; seed++)
        {
            OnnxTestSupport.RandomInputs(s, seed);
            s.Invoke();
            OnnxBuffer x = s.Inputs[0];
            long[] shape = x.Value.Shape.Select(d => (long)d).ToArray();
            using OrtValue input = x.Floats is { } f
                ? OrtValue.CreateTensorValueFromMemory(f.ToArray(), shape)
                : x.Value.Type == OnnxElem.S8
                    ? OrtValue.CreateTensorValueFromMemory(x.Bytes!.Select(b => (sbyte)b).ToArray(), shape)
                    : OrtValue.CreateTensorValueFromMemory(x.Bytes!.ToArray(), shape);
            string[] names = [m.Outputs[0].Name, .. checkedLayers.Select(l => l.Output.Name)];
            using var runOptions = new RunOptions();
            using IDisposableReadOnlyCollection<OrtValue> results = ort.Run(runOptions, [x.Value.Name], [input], names);

            ReadOnlySpan<float> probs = results[0].GetTensorDataAsSpan<float>();
            for (int i = 0; i < probs.Length; i++)
            {
                worstProb = Math.Max(worstProb, Math.Abs(probs[i] - s.Outputs[0].Floats![i]));
            }

            for (int j = 0; j < checkedLayers.Length; j++)
            {
                OnnxBuffer mine = s.Tensor(checkedLayers[j].Output.Name);
                ReadOnlySpan<byte> theirs = results[j + 1].GetTensorDataAsSpan<byte>();
                Assert.That(theirs.Length, Is.EqualTo(mine.Count), checkedLayers[j].ToString());
                int layerDiff = 0;
                for (int i = 0; i < mine.Count; i++)
                {
                    int t = mine.Value.Type == OnnxElem.S8 ? (sbyte)theirs[i] : theirs[i];
                    int d = Math.Abs(t - (int)mine[i]);
                    layerDiff = Math.Max(layerDiff, d);
                    differing += d == 0 ? 0 : 1;
                }

                total += mine.Count;
                worst = Math.Max(worst, layerDiff);
                Assert.That(layerDiff, Is.LessThanOrEqualTo(MaxQuantDiff), $"seed {seed}: {checkedLayers[j]}");
            }
        }

        double fraction = (double)differing / total;
        TestContext.Out.WriteLine($"{sample.Name}: {differing} of {total} quantised outputs differ from ORT ({fraction:P3}), max |diff| {worst}; probabilities max |diff| {worstProb:G3}");
        Assert.That(fraction, Is.LessThanOrEqualTo(MaxDifferingFraction));
        Assert.That(worstProb, Is.LessThan(0.02));
    }
}
