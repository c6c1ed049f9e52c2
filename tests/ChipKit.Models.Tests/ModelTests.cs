using System.Text.Json;
using ChipKit.Core;
using ChipKit.Models;
using ChipKit.Models.Kernels;
using ChipKit.Models.Tflite;

namespace ChipKit.Models.Tests;

public class FixedPointTests
{
    [Test]
    public void SatRoundDoublingHighMul_RoundsTiesTowardPlusInfinity()
    {
        // a*b = ±2^30 is exactly ±1/2 after dividing by 2^31
        Assert.That(FixedPoint.SatRoundDoublingHighMul(1 << 15, 1 << 15), Is.EqualTo(1));
        Assert.That(FixedPoint.SatRoundDoublingHighMul(-(1 << 15), 1 << 15), Is.EqualTo(0));
        Assert.That(FixedPoint.SatRoundDoublingHighMul(int.MinValue, int.MinValue), Is.EqualTo(int.MaxValue));
        var rng = new Random(7);
        for (int i = 0; i < 20000; i++)
        {
            int a = rng.Next(int.MinValue, int.MaxValue), b = rng.Next(int.MinValue, int.MaxValue);
            System.Numerics.BigInteger p = (System.Numerics.BigInteger)a * b + (1L << 30);
            System.Numerics.BigInteger q = System.Numerics.BigInteger.DivRem(p, 1L << 31, out System.Numerics.BigInteger r);
            if (r < 0)
            {
                q -= 1; // floor
            }

            Assert.That(FixedPoint.SatRoundDoublingHighMul(a, b), Is.EqualTo((int)q), $"{a} * {b}");
        }
    }

    [Test]
    public void RoundingDivideByPot_RoundsTiesAwayFromZero()
    {
        Assert.That(FixedPoint.RoundingDivideByPot(2, 2), Is.EqualTo(1));   // 0.5 -> 1
        Assert.That(FixedPoint.RoundingDivideByPot(-2, 2), Is.EqualTo(-1)); // -0.5 -> -1
        Assert.That(FixedPoint.RoundingDivideByPot(-6, 2), Is.EqualTo(-2)); // -1.5 -> -2
        Assert.That(FixedPoint.RoundingDivideByPot(5, 2), Is.EqualTo(1));
        Assert.That(FixedPoint.RoundingDivideByPot(int.MinValue, 31), Is.EqualTo(-1));
        Assert.That(FixedPoint.RoundingDivideByPot(7, 0), Is.EqualTo(7));
    }

    [Test]
    public void QuantizeMultiplier_MatchesFrexpAndFlushesTinyScales()
    {
        Assert.That(FixedPoint.QuantizeMultiplier(0.5), Is.EqualTo((1 << 30, 0)));
        Assert.That(FixedPoint.QuantizeMultiplier(1.0), Is.EqualTo((1 << 30, 1)));
        Assert.That(FixedPoint.QuantizeMultiplier(0.75), Is.EqualTo((1610612736, 0)));
        Assert.That(FixedPoint.QuantizeMultiplier(Math.Pow(2, -33)), Is.EqualTo((0, 0)));
        Assert.That(FixedPoint.QuantizeMultiplier(Math.Pow(2, -32) * 1.5).Shift, Is.EqualTo(-31));
        // rounding that reaches 2^31 renormalises
        Assert.That(FixedPoint.QuantizeMultiplier(1 - Math.Pow(2, -40)), Is.EqualTo((1 << 30, 1)));
        Assert.That(FixedPoint.Frexp(6.0, out int e), Is.EqualTo(0.75));
        Assert.That(e, Is.EqualTo(3));
        Assert.That(FixedPoint.Frexp(double.Epsilon, out int e2), Is.EqualTo(0.5));
        Assert.That(e2, Is.EqualTo(-1073));
    }

    [Test]
    public void MultiplyByQuantizedMultiplier_RoundsTwice()
    {
        // M = 0.5 * 2^-1 = 0.25 exactly; 6 * 0.25 = 1.5 rounds away from zero to 2, -6 → -2 (second rounding)
        Assert.That(FixedPoint.MultiplyByQuantizedMultiplier(6, 1 << 30, -1), Is.EqualTo(2));
        Assert.That(FixedPoint.MultiplyByQuantizedMultiplier(-6, 1 << 30, -1), Is.EqualTo(-2));
        // left shift branch
        Assert.That(FixedPoint.MultiplyByQuantizedMultiplier(3, 1 << 30, 2), Is.EqualTo(6));
        // a flushed multiplier outputs 0
        Assert.That(FixedPoint.MultiplyByQuantizedMultiplier(123456, 0, 0), Is.EqualTo(0));
    }

    [Test]
    public void ExpOnNegativeValues_ApproximatesExp()
    {
        Assert.That(FixedPoint.ExpOnNegativeValues(0), Is.EqualTo(int.MaxValue));
        foreach (double v in new[] { -0.01, -0.25, -0.3, -1.0, -2.5, -7.9, -20.0 })
        {
            int q = (int)Math.Round(v * (1 << 26));
            double got = FixedPoint.ExpOnNegativeValues(q) / Math.Pow(2, 31);
            Assert.That(got, Is.EqualTo(Math.Exp(q / Math.Pow(2, 26))).Within(2e-8 + 1e-6 * Math.Exp(v)), $"exp({v})");
        }
    }
}

public class TfliteModelTests
{
    public static readonly string[] Ids = ["ic01", "ic02", "kws01", "vww01", "ad01", "sww01"];

    private static readonly Dictionary<string, TfliteModel> Cache = [];

    internal static TfliteModel Load(string id)
    {
        lock (Cache)
        {
            if (!Cache.TryGetValue(id, out TfliteModel? m))
            {
                m = TfliteReader.Load(MlperfTiny.PathOf(MlperfTiny.Find(id)!.File));
                Cache[id] = m;
            }

            return m;
        }
    }

    private static JsonElement OpsJson(string id)
    {
        string file = Path.ChangeExtension(MlperfTiny.PathOf(MlperfTiny.Find(id)!.File), ".ops.json");
        return JsonDocument.Parse(File.ReadAllText(file)).RootElement.GetProperty("subgraphs")[0];
    }

    [TestCaseSource(nameof(Ids))]
    public void Loader_MatchesTheOperatorDump(string id)
    {
        TfliteModel m = Load(id);
        JsonElement sg = OpsJson(id);
        JsonElement tensors = sg.GetProperty("tensors"), ops = sg.GetProperty("operators");
        Assert.That(m.Tensors, Has.Length.EqualTo(tensors.GetArrayLength()));
        Assert.That(m.Operators, Has.Length.EqualTo(ops.GetArrayLength()));
        for (int i = 0; i < m.Tensors.Length; i++)
        {
            JsonElement t = tensors[i];
            Assert.That(m.Tensors[i].Shape, Is.EqualTo(t.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray()), $"tensor {i} shape");
            Assert.That(m.Tensors[i].Type.ToString().ToUpperInvariant(), Is.EqualTo(t.GetProperty("type").GetString()), $"tensor {i} type");
            Assert.That(m.Tensors[i].Data?.Length ?? 0, Is.EqualTo(t.GetProperty("constant").GetBoolean() ? t.GetProperty("data_bytes").GetInt32() : 0), $"tensor {i} data");
            if (t.TryGetProperty("quantization", out JsonElement q) && q.ValueKind == JsonValueKind.Object && q.TryGetProperty("scale", out JsonElement sc))
            {
                Assert.That(m.Tensors[i].Quant!.Scale.Select(f => (double)f), Is.EqualTo(sc.EnumerateArray().Select(e => (double)(float)e.GetDouble())), $"tensor {i} scales");
                Assert.That(m.Tensors[i].Quant!.ZeroPoint, Is.EqualTo(q.GetProperty("zero_point").EnumerateArray().Select(e => e.GetInt64())), $"tensor {i} zero points");
            }
        }

        for (int i = 0; i < m.Operators.Length; i++)
        {
            Assert.That(TfliteReader.OpName(m.Operators[i].Op), Is.EqualTo(ops[i].GetProperty("op").GetString()));
            Assert.That(m.Operators[i].Inputs, Is.EqualTo(ops[i].GetProperty("inputs").EnumerateArray().Select(e => e.GetInt32())));
            Assert.That(m.Operators[i].Outputs, Is.EqualTo(ops[i].GetProperty("outputs").EnumerateArray().Select(e => e.GetInt32())));
        }
    }

    [TestCaseSource(nameof(Ids))]
    public void PreparedParameters_MatchTflmDerived(string id)
    {
        var interp = new Interpreter(Load(id), fast: false);
        JsonElement ops = OpsJson(id).GetProperty("operators");
        int checkedOps = 0;
        for (int i = 0; i < interp.Layers.Count; i++)
        {
            if (!ops[i].TryGetProperty("tflm_derived", out JsonElement d))
            {
                continue;
            }

            int[] Ints(string name) => d.GetProperty(name).EnumerateArray().Select(e => e.GetInt32()).ToArray();
            switch (interp.Layers[i])
            {
                case ConvLayer c:
                    int[] mults = Ints("output_multiplier"), shifts = Ints("output_shift");
                    if (mults.Length == 1 && c.Multipliers.Count > 1)
                    {
                        mults = Enumerable.Repeat(mults[0], c.Multipliers.Count).ToArray();
                        shifts = Enumerable.Repeat(shifts[0], c.Shifts.Count).ToArray();
                    }

                    Assert.That(c.Multipliers, Is.EqualTo(mults), $"{id} op {i} multipliers");
                    Assert.That(c.Shifts, Is.EqualTo(shifts), $"{id} op {i} shifts");
                    if (d.TryGetProperty("padding_top_bottom_left_right", out JsonElement p))
                    {
                        Window g = c.Geometry;
                        Assert.That(new[] { g.PadTop, g.PadBottom, g.PadLeft, g.PadRight }, Is.EqualTo(p.EnumerateArray().Select(e => e.GetInt32())), $"{id} op {i} padding");
                    }

                    checkedOps++;
                    break;
                case AddLayer a:
                    Assert.That(a.Input1Multiplier, Is.EqualTo((d.GetProperty("input1_multiplier").GetInt32(), d.GetProperty("input1_shift").GetInt32())));
                    Assert.That(a.Input2Multiplier, Is.EqualTo((d.GetProperty("input2_multiplier").GetInt32(), d.GetProperty("input2_shift").GetInt32())));
                    Assert.That(a.OutputMultiplier, Is.EqualTo((d.GetProperty("output_multiplier").GetInt32(), d.GetProperty("output_shift").GetInt32())));
                    checkedOps++;
                    break;
                case SoftmaxLayer s:
                    Assert.That((s.InputMultiplier, s.InputLeftShift, s.DiffMin),
                        Is.EqualTo((d.GetProperty("input_multiplier").GetInt32(), d.GetProperty("input_left_shift").GetInt32(), d.GetProperty("diff_min").GetInt32())));
                    checkedOps++;
                    break;
                case PoolLayer pl:
                    Window w = pl.Geometry;
                    Assert.That(new[] { w.PadTop, w.PadBottom, w.PadLeft, w.PadRight }, Is.EqualTo(Ints("padding_top_bottom_left_right")));
                    checkedOps++;
                    break;
            }
        }

        Assert.That(checkedOps, Is.GreaterThan(0));
    }

    [TestCaseSource(nameof(Ids))]
    public void FastPath_IsBitExactWithTheScalarReference_OnEveryLayer(string id)
    {
        TfliteModel m = Load(id);
        var refI = new Interpreter(m, fast: false, reuseMemory: false);
        var fastI = new Interpreter(m, fast: true, reuseMemory: false);
        var planned = new Interpreter(m, fast: true, reuseMemory: true);
        Assert.That(planned.ArenaBytes, Is.LessThanOrEqualTo(fastI.ArenaBytes));
        var rng = new Random(id.GetHashCode(StringComparison.Ordinal) & 0xFFFF);
        int inputs = id is "ic02" or "vww01" ? 1 : 2;
        for (int s = 0; s < inputs; s++)
        {
            var x = new sbyte[refI.Input.Length];
            for (int i = 0; i < x.Length; i++)
            {
                x[i] = (sbyte)rng.Next(-128, 128);
            }

            x.CopyTo(refI.Input);
            x.CopyTo(fastI.Input);
            x.CopyTo(planned.Input);
            refI.Invoke();
            fastI.Invoke();
            planned.Invoke();
            foreach (Layer l in refI.Layers)
            {
                int t = l.Op.Outputs[0];
                Assert.That(fastI.TensorData(t).ToArray(), Is.EqualTo(refI.TensorData(t).ToArray()), $"{id} sample {s} operator {l.Op.Index} {l.Name}");
            }

            Assert.That(planned.Output.ToArray(), Is.EqualTo(refI.Output.ToArray()), $"{id} planned arena");
        }

        Assert.That(fastI.Layers.Where(l => l is ConvLayer or AddLayer).All(l => l.HasFastPath), Is.True, "every conv, depthwise, FC and ADD has a fast path");
    }

    [Test]
    public void Invoke_AllocatesNothing()
    {
        var interp = new Interpreter(Load("kws01"), fast: true);
        interp.Invoke();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5; i++)
        {
            interp.Invoke();
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }
}

public class AccuracyTests
{
    [Test]
    public void Kws01_Top1OnThe1000LabelledInputs_Is90Point1Percent_AsTflm()
    {
        byte[] data = File.ReadAllBytes(MlperfTiny.PathOf("samples/kws01/kws01_mfcc_int8_1000x49x10.bin"));
        int[] labels = File.ReadAllLines(MlperfTiny.PathOf("samples/kws01/labels.csv")).Skip(1)
            .Select(l => int.Parse(l.Split(',')[2], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.That(labels, Has.Length.EqualTo(1000));
        var interp = new Interpreter(TfliteModelTests.Load("kws01"), fast: true);
        int correct = 0;
        for (int s = 0; s < 1000; s++)
        {
            System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(data.AsSpan(s * 490, 490)).CopyTo(interp.Input);
            interp.Invoke();
            if (ArgMax(interp.Output) == labels[s])
            {
                correct++;
            }
        }

        TestContext.Out.WriteLine($"kws01 top-1: {correct}/1000");
        Assert.That(correct, Is.GreaterThanOrEqualTo(900), "MLPerf Tiny quality target: 90 % top-1");
        // TFLite Micro's reference kernels get 901/1000 on these inputs (README); bit-exact kernels give exactly that
        Assert.That(correct, Is.EqualTo(901));
    }

    [Test]
    public void Sww01_CalibrationAndTestInputs_MatchTflmCounts()
    {
        var interp = new Interpreter(TfliteModelTests.Load("sww01"), fast: true);
        string[] rows = File.ReadAllLines(MlperfTiny.PathOf("samples/sww01/labels.csv"));
        int Count(string file, string set, int n)
        {
            byte[] d = File.ReadAllBytes(MlperfTiny.PathOf("samples/sww01/" + file));
            int[] labels = rows.Where(r => r.StartsWith(set + ",", StringComparison.Ordinal)).Select(r => int.Parse(r.Split(',')[2], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            Assert.That(labels, Has.Length.EqualTo(n), set);
            int ok = 0;
            for (int s = 0; s < n; s++)
            {
                System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(d.AsSpan(s * 1200, 1200)).CopyTo(interp.Input);
                interp.Invoke();
                ok += ArgMax(interp.Output) == labels[s] ? 1 : 0;
            }

            return ok;
        }

        Assert.That(Count("sww01_calibration_int8_45x30x1x40.bin", "calibration", 45), Is.EqualTo(41));
        Assert.That(Count("sww01_test_inputs_int8_3x30x1x40.bin", "test_inputs", 3), Is.EqualTo(2));
    }

    [Test]
    public void Ad01_ToyCarClip_MeanReconstructionErrorMatchesTflm()
    {
        double mse = Ad01ClipScore(fast: true);
        TestContext.Out.WriteLine($"ad01 mean window MSE: {mse:F5}");
        Assert.That(mse, Is.EqualTo(10.2645).Within(0.00005 + 1e-9));
    }

    internal static double Ad01ClipScore(bool fast)
    {
        var interp = new Interpreter(TfliteModelTests.Load("ad01"), fast);
        byte[] q = File.ReadAllBytes(MlperfTiny.PathOf("samples/ad01/ad_normal_id_01_00000000_windows.input.int8.bin"));
        float[] feats = new float[200 * 128];
        Buffer.BlockCopy(File.ReadAllBytes(MlperfTiny.PathOf("samples/ad01/normal_id_01_00000000_hist_librosa.bin")), 0, feats, 0, feats.Length * 4);
        TfliteTensor o = interp.Model.Output;
        double total = 0;
        for (int w = 0; w < 196; w++)
        {
            System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(q.AsSpan(w * 640, 640)).CopyTo(interp.Input);
            interp.Invoke();
            double se = 0;
            for (int i = 0; i < 640; i++)
            {
                double deq = (double)o.Scale * (interp.Output[i] - o.ZeroPoint);
                double d = deq - feats[w * 128 + i];
                se += d * d;
            }

            total += se / 640;
        }

        return total / 196;
    }

    internal static int ArgMax(ReadOnlySpan<sbyte> y)
    {
        int best = 0;
        for (int i = 1; i < y.Length; i++)
        {
            if (y[i] > y[best])
            {
                best = i;
            }
        }

        return best;
    }
}

public class HostileInputTests
{
    private static byte[] Kws() => File.ReadAllBytes(MlperfTiny.PathOf("kws01_dscnn_int8.tflite"));

    [Test]
    public void TruncatedAndCorruptFiles_GiveLocatedInputErrors()
    {
        byte[] b = Kws();
        var e = Assert.Throws<ChipKitInputException>(() => TfliteReader.Parse(b[..4], "t.tflite"));
        Assert.That(e!.Message, Does.StartWith("t.tflite: header"));
        byte[] bad = (byte[])b.Clone();
        bad[4] = (byte)'X';
        Assert.That(Assert.Throws<ChipKitInputException>(() => TfliteReader.Parse(bad, "t.tflite"))!.Message, Does.Contain("TFL3"));
        e = Assert.Throws<ChipKitInputException>(() => TfliteReader.Parse(b[..(b.Length / 2)], "half.tflite"));
        Assert.That(e!.Message, Does.StartWith("half.tflite: "));
        Assert.That(e.Message, Does.Contain("outside the file").Or.Contain("past the end"));
    }

    [Test]
    public void RandomCorruption_NeverEscapesAsAnythingButAnInputError()
    {
        byte[] orig = Kws();
        var rng = new Random(1234);
        int errors = 0;
        for (int trial = 0; trial < 400; trial++)
        {
            byte[] b = (byte[])orig.Clone();
            int flips = rng.Next(1, 4);
            for (int f = 0; f < flips; f++)
            {
                // corrupt the flatbuffer structure (first 1.5 KB and the tail hold tables, vtables and vectors)
                int pos = rng.Next(2) == 0 ? rng.Next(Math.Min(1536, b.Length)) : rng.Next(b.Length - 4096, b.Length);
                b[pos] = (byte)rng.Next(256);
            }

            try
            {
                var interp = new Interpreter(TfliteReader.Parse(b, "fuzz.tflite"), fast: true);
                interp.Invoke();
            }
            catch (ChipKitInputException e)
            {
                Assert.That(e.Message, Does.StartWith("fuzz.tflite"));
                errors++;
            }
        }

        Assert.That(errors, Is.GreaterThan(0));
    }

    [Test]
    public void HugeVectorLength_IsRefusedBeforeAllocating()
    {
        byte[] b = Kws();
        TfliteModel m = TfliteReader.Parse(b, "k");
        // find the shape vector of the input tensor: patch the first 4-byte little-endian "4" followed by [1,49,10,1]
        byte[] pattern = [4, 0, 0, 0, 1, 0, 0, 0, 49, 0, 0, 0, 10, 0, 0, 0, 1, 0, 0, 0];
        int at = b.AsSpan().IndexOf(pattern);
        Assert.That(at, Is.GreaterThan(0));
        b[at] = 0xFF;
        b[at + 1] = 0xFF;
        b[at + 2] = 0xFF;
        b[at + 3] = 0x7F;
        var e = Assert.Throws<ChipKitInputException>(() => TfliteReader.Parse(b, "k.tflite"));
        Assert.That(e!.Message, Does.Contain("subgraph 0, tensor").And.Contain("field shape").And.Contain("past the end"));
        Assert.That(m.Tensors, Is.Not.Empty);
    }

    [Test]
    public void HugeDimensions_AreRefusedAsElementCountOverflow()
    {
        byte[] b = Kws();
        byte[] pattern = [4, 0, 0, 0, 1, 0, 0, 0, 49, 0, 0, 0, 10, 0, 0, 0, 1, 0, 0, 0];
        int at = b.AsSpan().IndexOf(pattern);
        BitConverter.GetBytes(1 << 30).CopyTo(b, at + 8);
        BitConverter.GetBytes(1 << 30).CopyTo(b, at + 12);
        var e = Assert.Throws<ChipKitInputException>(() => TfliteReader.Parse(b, "k.tflite"));
        Assert.That(e!.Message, Does.Contain("field shape").And.Contain("elements"));
    }

    [Test]
    public void UnsupportedOperator_IsNamedWithItsIndex()
    {
        byte[] b = Kws();
        TfliteModel m = TfliteReader.Parse(b, "k");
        Assert.That(m.Operators[^1].Op, Is.EqualTo(TfliteOp.Softmax));
        // operator codes store deprecated_builtin_code (byte) and/or builtin_code (int32): patch each byte 25 (SOFTMAX)
        // in turn to 28 (TANH); the one that is SOFTMAX's code must be refused, naming operator 12
        string? message = null;
        for (int i = 0; i < b.Length && message is null; i++)
        {
            if (b[i] != 25)
            {
                continue;
            }

            byte[] c = (byte[])b.Clone();
            c[i] = 28;
            try
            {
                TfliteReader.Parse(c, "k.tflite");
            }
            catch (ChipKitInputException e) when (e.Message.Contains("builtin code 28", StringComparison.Ordinal))
            {
                message = e.Message;
            }
        }

        Assert.That(message, Does.StartWith("k.tflite: subgraph 0, operator 12").And.Contain("not supported"));
    }
}
