using System.Globalization;
using System.Runtime.InteropServices;
using ChipKit.Models.Onnx;
using ChipKit.Models.Tflite;
using Microsoft.ML.OnnxRuntime;

namespace ChipKit.Models.Tests;

/// <summary>
/// End to end on a real network: MLPerf Tiny kws01 (DS-CNN) converted from its int8 TFLite file to ONNX QLinear / QDQ
/// form (<see cref="TfliteToOnnx"/>: 5 QLinearConv, 4 depthwise QLinearConv with group 64, DQ-AveragePool-Q, Reshape,
/// a QDQ Gemm with int32 bias, DQ-Softmax-Q), then run by ChipKit's ONNX executor (cpu and ref), ONNX Runtime and the
/// TFLite interpreter on the 1000 labelled inputs.
/// </summary>
public class OnnxTfliteConversionTests
{
    private static readonly Lazy<(byte[] Onnx, TfliteModel Tflite)> Kws = new(() =>
    {
        TfliteModel t = TfliteReader.Load(MlperfTiny.PathOf("kws01_dscnn_int8.tflite"));
        return (TfliteToOnnx.Convert(t), t);
    });

    private static byte[] Inputs => File.ReadAllBytes(MlperfTiny.PathOf("samples/kws01/kws01_mfcc_int8_1000x49x10.bin"));

    private static int[] Labels => File.ReadAllLines(MlperfTiny.PathOf("samples/kws01/labels.csv")).Skip(1)
        .Select(l => int.Parse(l.Split(',')[2], CultureInfo.InvariantCulture)).ToArray();

    private static int ArgMax(ReadOnlySpan<sbyte> v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++)
        {
            if (v[i] > v[best])
            {
                best = i;
            }
        }

        return best;
    }

    [Test]
    public void Converted_kws01_has_the_expected_layers()
    {
        OnnxModel m = OnnxModel.Parse(Kws.Value.Onnx, "kws01.onnx");
        if (Environment.GetEnvironmentVariable("CHIPKIT_WRITE_ONNX_KWS01") is { } path)
        {
            File.WriteAllBytes(path, Kws.Value.Onnx); // for `chipkit infer` demonstrations (docs/models.md)
        }

        string[] ops = m.Layers.Select(l => l.Op).ToArray();
        Assert.That(ops.Count(o => o == "QLinearConv"), Is.EqualTo(9));
        Assert.That(m.Layers.OfType<QConvLayer>().Count(c => c.Desc.Conv.Groups == 64), Is.EqualTo(4));
        Assert.That(ops, Does.Contain("QDQ Gemm (QLinearConv 1x1)"));
        Assert.That(ops, Does.Contain("AveragePool"));
        Assert.That(ops[^1], Is.EqualTo("QuantizeLinear"));
        Assert.That(m.Macs, Is.EqualTo(2_656_768), "the TFLite model's MAC count (ops.json total_macs)");
    }

    [Test]
    public void Converted_kws01_cpu_is_bit_exact_with_ref_on_every_layer()
    {
        OnnxModel m = OnnxModel.Parse(Kws.Value.Onnx, "kws01.onnx");
        using var cpu = new OnnxSession(m, fast: true);
        using var rf = new OnnxSession(m, fast: false);
        byte[] data = Inputs;
        foreach (int s in new[] { 0, 1, 517 })
        {
            data.AsSpan(s * 490, 490).CopyTo(cpu.Inputs[0].Raw);
            data.AsSpan(s * 490, 490).CopyTo(rf.Inputs[0].Raw);
            cpu.Invoke();
            rf.Invoke();
            foreach (OnnxLayer l in m.Layers)
            {
                Assert.That(cpu.Tensor(l.Output.Name).Raw.ToArray(), Is.EqualTo(rf.Tensor(l.Output.Name).Raw.ToArray()), $"input {s}: {l}");
            }
        }
    }

    [Test]
    public void Converted_kws01_agrees_with_the_tflite_interpreter_and_onnx_runtime()
    {
        OnnxModel m = OnnxModel.Parse(Kws.Value.Onnx, "kws01.onnx");
        using var s = new OnnxSession(m);
        var interp = new Interpreter(Kws.Value.Tflite, fast: true);
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = 1 };
        using var ort = new InferenceSession(Kws.Value.Onnx, options);
        byte[] data = Inputs;
        int[] labels = Labels;
        int correct = 0, sameTop1Tflite = 0, sameTop1Ort = 0, diffTflite = 0, diffOrt = 0, maxTflite = 0, maxOrt = 0;
        const int n = 1000;
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<byte> x = data.AsSpan(i * 490, 490);
            x.CopyTo(s.Inputs[0].Raw);
            s.Invoke();
            ReadOnlySpan<sbyte> mine = MemoryMarshal.Cast<byte, sbyte>(s.Outputs[0].Raw);
            MemoryMarshal.Cast<byte, sbyte>(x).CopyTo(interp.Input);
            interp.Invoke();
            ReadOnlySpan<sbyte> tfl = interp.Output;

            sbyte[] xin = MemoryMarshal.Cast<byte, sbyte>(x).ToArray();
            using OrtValue input = OrtValue.CreateTensorValueFromMemory(xin, [1, 49, 10, 1]);
            using var runOptions = new RunOptions();
            using IDisposableReadOnlyCollection<OrtValue> r = ort.Run(runOptions, ["input"], [input], [m.Outputs[0].Name]);
            ReadOnlySpan<sbyte> theirs = r[0].GetTensorDataAsSpan<sbyte>();

            int top = ArgMax(mine);
            correct += top == labels[i] ? 1 : 0;
            sameTop1Tflite += top == ArgMax(tfl) ? 1 : 0;
            sameTop1Ort += top == ArgMax(theirs) ? 1 : 0;
            for (int j = 0; j < mine.Length; j++)
            {
                int dt = Math.Abs(mine[j] - tfl[j]), dO = Math.Abs(mine[j] - theirs[j]);
                diffTflite += dt == 0 ? 0 : 1;
                diffOrt += dO == 0 ? 0 : 1;
                maxTflite = Math.Max(maxTflite, dt);
                maxOrt = Math.Max(maxOrt, dO);
            }
        }

        int total = n * 12;
        TestContext.Out.WriteLine($"kws01 as ONNX on ChipKit cpu: top-1 {correct}/{n} (TFLite Micro semantics: 901/1000)");
        TestContext.Out.WriteLine($"  vs the TFLite interpreter: same top-1 on {sameTop1Tflite}/{n}, {diffTflite}/{total} output values differ ({(double)diffTflite / total:P2}), max |diff| {maxTflite}");
        TestContext.Out.WriteLine($"  vs ONNX Runtime 1.31.1:    same top-1 on {sameTop1Ort}/{n}, {diffOrt}/{total} output values differ ({(double)diffOrt / total:P2}), max |diff| {maxOrt}");

        // ONNX's double requantisation vs TFLite Micro's fixed point, and vs ORT's float: rounding differences only
        Assert.That(correct, Is.InRange(890, 912), "within about 1 % of TFLite Micro's 901");
        Assert.That(sameTop1Tflite, Is.GreaterThanOrEqualTo(980));
        Assert.That(sameTop1Ort, Is.GreaterThanOrEqualTo(990));
        Assert.That(maxOrt, Is.LessThanOrEqualTo(1), "ORT: float vs double requantisation differs by at most 1 (measured: 1 value of 12000)");
        Assert.That((double)diffOrt / total, Is.LessThanOrEqualTo(0.005));
    }
}
