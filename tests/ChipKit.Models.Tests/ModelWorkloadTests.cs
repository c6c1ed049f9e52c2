using System.Text;
using System.Text.Json;
using ChipKit.Accel;
using ChipKit.Core;
using ChipKit.Core.Workloads;
using ChipKit.Models;
using ChipKit.Models.Tflite;

namespace ChipKit.Models.Tests;

/// <summary>.npy inputs: hand-built files of every supported version and dtype, and every refusal.</summary>
public class NpyTests
{
    /// <summary>A .npy file: version major.0, the header dict padded so the data starts at a multiple of 64.</summary>
    internal static byte[] Npy(int major, string descr, string shape, byte[] data, bool fortran = false, int extra = 0, int cut = 0)
    {
        string dict = $"{{'descr': '{descr}', 'fortran_order': {(fortran ? "True" : "False")}, 'shape': {shape}, }}";
        int pre = 8 + (major == 1 ? 2 : 4);
        int total = (pre + dict.Length + 1 + 63) / 64 * 64;
        string header = dict.PadRight(total - pre - 1) + "\n";
        var ms = new MemoryStream();
        ms.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)major, 0]);
        byte[] h = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetBytes(header);
        if (major == 1)
        {
            ms.Write(BitConverter.GetBytes((ushort)h.Length));
        }
        else
        {
            ms.Write(BitConverter.GetBytes((uint)h.Length));
        }

        ms.Write(h);
        ms.Write(data);
        ms.Write(new byte[extra]);
        byte[] all = ms.ToArray();
        return all[..(all.Length - cut)];
    }

    private static TfliteTensor Input(int[] shape, float scale, int zp) => new()
    {
        Index = 0, Name = "in", Shape = shape, Type = TfliteType.Int8, ElementCount = shape.Aggregate(1L, (a, b) => a * b),
        Quant = new TfliteQuant([scale], [zp], 0),
    };

    [Test]
    public void Int8V1_Uint8V2_Float32V3_AreConverted()
    {
        TfliteTensor t = Input([1, 2, 3], 0.5f, 3);
        byte[] i8 = [0x80, 0xFF, 0, 1, 0x7F, 5];
        NpyArray a = ChipKit.Models.Npy.Read(Npy(1, "|i1", "(1, 2, 3)", i8), "a.npy");
        Assert.That(a.Type, Is.EqualTo(NpyType.Int8));
        Assert.That(ChipKit.Models.Npy.ToTensor(a, t, "a.npy"), Is.EqualTo(i8));

        NpyArray u = ChipKit.Models.Npy.Read(Npy(2, "|u1", "(6,)", [0, 128, 255, 1, 127, 129]), "u.npy");
        Assert.That(ChipKit.Models.Npy.ToTensor(u, t, "u.npy").Select(b => (sbyte)b), Is.EqualTo(new sbyte[] { -128, 0, 127, -127, -1, 1 }));

        // x / 0.5 rounded half away from zero, + 3, clamped: 1.25 → 2.5 → 3 → 6; -1.25 → -3 → 0; 100 → 203 → 127; -0.24 → -0.48 → 0 → 3
        float[] f = [1.25f, -1.25f, 100f, -100f, -0.24f, 0.75f];
        var fb = new byte[24];
        Buffer.BlockCopy(f, 0, fb, 0, 24);
        NpyArray fl = ChipKit.Models.Npy.Read(Npy(3, "<f4", "(2, 3)", fb), "f.npy");
        Assert.That(ChipKit.Models.Npy.ToTensor(fl, t, "f.npy").Select(b => (sbyte)b), Is.EqualTo(new sbyte[] { 6, 0, 127, -128, 3, 5 }));

        // fortran order of a shape with one non-trivial dimension is the same layout
        Assert.That(ChipKit.Models.Npy.Read(Npy(1, "|i1", "(1, 6)", i8, fortran: true), "c.npy").Count, Is.EqualTo(6));
    }

    private static readonly object[] Bad =
    [
        new object[] { Npy(1, "<i4", "(6,)", new byte[24]), "dtype '<i4'" },
        new object[] { Npy(1, ">f4", "(6,)", new byte[24]), "big-endian" },
        new object[] { Npy(1, "|i1", "(2, 3)", new byte[6], fortran: true), "fortran_order" },
        new object[] { Npy(2, "|i1", "(6,)", new byte[6], cut: 2), "truncated" },
        new object[] { Npy(1, "<f4", "(6,)", new byte[24], extra: 3), "3 bytes after the data" },
        new object[] { Npy(1, "|i1", "(7,)", new byte[7]), "has 7 elements" },
        new object[] { new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 9, 0, 0, 0 }, "version 9.0" },
        new object[] { Npy(1, "|i1", "(6,)", new byte[6])[..12], "truncated" },
    ];

    [TestCaseSource(nameof(Bad))]
    public void BadFiles_AreInputErrorsNamingTheFile(byte[] file, string expected)
    {
        TfliteTensor t = Input([1, 6], 0.1f, 0);
        var e = Assert.Throws<ChipKitInputException>(() => ChipKit.Models.Npy.ToTensor(ChipKit.Models.Npy.Read(file, "bad.npy"), t, "bad.npy"));
        Assert.That(e!.Message, Does.StartWith("bad.npy: ").And.Contain(expected));
    }
}

/// <summary>The "model:NAME" workload, the npu cost model of whole networks and the CLI on both.</summary>
public class ModelWorkloadTests
{
    static ModelWorkloadTests() => ModelWorkload.Register();

    [Test]
    public void Spec_ParsesBuiltInNames_AndRefusesUnknownOnes()
    {
        Workload w = WorkloadSpec.Parse("model:KWS01");
        Assert.That((w.Spec, w.Op), Is.EqualTo(("model:kws01", "model")));
        Assert.That(w.Ops, Is.GreaterThan(5e6).And.LessThan(5.5e6));
        var e = Assert.Throws<ChipKitInputException>(() => WorkloadSpec.Parse("model:nope"));
        Assert.That(e!.Message, Does.Contain("model:nope").And.Contain("kws01"));
    }

    [Test]
    public void Verify_PassesTheKernelsOutput_AndFailsAPoisonedOne()
    {
        var w = (ModelWorkload)WorkloadSpec.Parse("model:ad01");
        OpData data = w.CreateData(42);
        Expected expected = w.ComputeReference(data);
        Assert.That(w.Verify(data, expected).Passed, Is.False, "the poisoned output must not verify");
        using var cpu = new ChipKit.Cpu.CpuDevice(1);
        using Core.Devices.IKernel k = w.CreateKernel(cpu)!;
        Assert.That(k.Name, Does.StartWith("cpu."));
        k.Prepare(data);
        k.Run();
        Assert.That(w.Verify(data, expected).Passed, Is.True);
        ((ModelData)data).Output[3] ^= 1;
        VerifyOutcome bad = w.Verify(data, expected);
        Assert.That((bad.Passed, bad.Mismatches, bad.FirstBadIndex), Is.EqualTo((false, 1L, 3L)));
    }

    [Test]
    public void NpuCost_IsTheSumOfItsLayers_MapsDepthwiseAsGroups_AndFollowsDvfs()
    {
        TfliteModel m = TfliteReader.Load(MlperfTiny.PathOf("kws01_dscnn_int8.tflite"));
        ModuleSpec module = ModuleLoader.BuiltIn("edge-int8-16x16");
        ModelCostResult nominal = NpuModelCost.Evaluate(m, module, module.Point(null));
        ModelCostResult eco = NpuModelCost.Evaluate(m, module, module.Point("eco"));
        Assert.That(nominal.Cycles, Is.EqualTo(nominal.Layers.Sum(l => l.Cycles)));
        Assert.That(nominal.Joules, Is.EqualTo(nominal.Layers.Sum(l => l.Joules)).Within(1e-15));
        Assert.That(nominal.Joules, Is.EqualTo(nominal.EnergyJ.Values.Sum()).Within(1e-15));
        Assert.That(eco.Cycles, Is.EqualTo(nominal.Cycles), "cycles do not depend on the operating point");
        Assert.That(eco.Seconds, Is.GreaterThan(nominal.Seconds));
        Assert.That(eco.Joules, Is.LessThan(nominal.Joules), "0.7 V costs less dynamic energy than 0.9 V");

        // layer 0 is CONV_2D 49x10x1 -> 25x5x64 with a 10x4 window: one SCALE-Sim layer 125 x 40 x 64
        IReadOnlyList<ModelOpShape> shapes = NpuModelCost.Shapes(m);
        Assert.That(shapes[0].Layer, Is.EqualTo(new Layer(shapes[0].Name, 125, 40, 64, 490)));
        LayerCost direct = CostModel.Cost(shapes[0].Layer!, module, MacType.Int8, ModelCost.Int8Words, module.Point(null));
        Assert.That(nominal.Layers[0].Cycles, Is.EqualTo(direct.TotalCycles));

        // layer 1 is DEPTHWISE 3x3 over 64 channels: 64 groups of 125 pixels x 9 taps x 1 filter
        Assert.That((shapes[1].Kind, shapes[1].Repeats, shapes[1].Layer!.Window, shapes[1].Layer!.Filters), Is.EqualTo((ModelOpKind.Grouped, 64L, 9L, 1L)));
        LayerCost group = CostModel.Cost(shapes[1].Layer!, module, MacType.Int8, ModelCost.Int8Words, module.Point(null));
        Assert.That(nominal.Layers[1].Cycles, Is.EqualTo(64 * group.TotalCycles));
        Assert.That(shapes[10].Kind, Is.EqualTo(ModelOpKind.Free), "RESHAPE");
        Assert.That(nominal.Layers[10].Joules, Is.Zero);
    }

    private static (int Code, string Out, string Err) Cli(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = ChipKit.Cli.CliApp.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Test]
    public void Infer_OnTheNpu_PrintsModeledCyclesAndEnergy()
    {
        (int code, string o, string err) = Cli("infer", "kws01", "--device", "npu:edge-int8-16x16", "--layers");
        Assert.That(code, Is.Zero, err);
        Assert.That(o, Does.Contain("bit-exact with the ref interpreter"));
        Assert.That(o, Does.Match(@"\d+ cycles per inference; at nominal \(0\.9 V, 500 MHz\): [\d.]+ ms, [\d.]+ uJ per inference"));
        Assert.That(o, Does.Contain("source: modeled"));
        Assert.That(o, Does.Contain("operating point eco"));
        Assert.That(o, Does.Contain("1:DEPTHWISE_CONV_2D"));
        Assert.That(Cli("infer", "kws01", "--device", "npu:no-such-module").Code, Is.EqualTo(2));
        Assert.That(Cli("infer", "kws01", "--device", "gpu").Code, Is.EqualTo(2));
    }

    [Test]
    public void Infer_ReadsNpyInputs_LikeTheRawBytes()
    {
        string dir = Path.Combine(Path.GetTempPath(), "chipkit-npy-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            byte[] raw = File.ReadAllBytes(MlperfTiny.PathOf("samples/kws01/kws_ref_submission_input_int8_49x10.bin"))[..490];
            string rawFile = Path.Combine(dir, "x.bin"), npyFile = Path.Combine(dir, "x.npy"), outRaw = Path.Combine(dir, "y1"), outNpy = Path.Combine(dir, "y2");
            File.WriteAllBytes(rawFile, raw);
            File.WriteAllBytes(npyFile, NpyTests.Npy(1, "|i1", "(1, 49, 10, 1)", raw));
            Assert.That(Cli("infer", "kws01", "--input", rawFile, "--output", outRaw, "--runs", "1").Code, Is.Zero);
            (int code, string o, string err) = Cli("infer", "kws01", "--input", npyFile, "--output", outNpy, "--runs", "1");
            Assert.That(code, Is.Zero, err);
            Assert.That(o, Does.Contain(".npy |i1 (1, 49, 10, 1)"));
            Assert.That(File.ReadAllBytes(outNpy), Is.EqualTo(File.ReadAllBytes(outRaw)));

            string wrong = Path.Combine(dir, "wrong.npy");
            File.WriteAllBytes(wrong, NpyTests.Npy(1, "|i1", "(49, 9)", new byte[441]));
            (code, _, err) = Cli("infer", "kws01", "--input", wrong);
            Assert.That(code, Is.EqualTo(2));
            Assert.That(err, Does.Contain("wrong.npy").And.Contain("441 elements"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void RunSuiteMlperfTiny_OnRefCpuAndNpu_WritesVerifiedResultsWithLatencyAndEnergy()
    {
        string file = Path.Combine(Path.GetTempPath(), "chipkit-mlperf-" + Guid.NewGuid().ToString("N") + ".json");
        try
        {
            (int code, string o, string err) = Cli("run", "--suite", "mlperf-tiny", "--device", "ref,cpu,npu:edge-int8-16x16",
                "--min-time", "0.01s", "--min-samples", "3", "--warmup", "0", "-o", file, "-q");
            Assert.That(code, Is.Zero, err + o);
            Assert.That(o, Does.Contain("inferences/s"));
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(file));
            JsonElement[] results = doc.RootElement.GetProperty("results").EnumerateArray().ToArray();
            Assert.That(results, Has.Length.EqualTo(18));
            foreach (JsonElement r in results)
            {
                string what = $"{r.GetProperty("workload").GetString()} on {r.GetProperty("device").GetString()}";
                Assert.That(r.GetProperty("status").GetString(), Is.EqualTo("ok"), what);
                Assert.That(r.GetProperty("verified").GetBoolean(), Is.True, what);
                JsonElement sec = r.GetProperty("seconds");
                Assert.That(sec.GetProperty("median").GetDouble(), Is.GreaterThan(0), what);
                if (r.GetProperty("device").GetString()!.StartsWith("npu:", StringComparison.Ordinal))
                {
                    Assert.That(r.GetProperty("time_source").GetString(), Is.EqualTo("modeled"), what);
                    Assert.That(r.GetProperty("energy").GetProperty("source").GetString(), Is.EqualTo("modeled"), what);
                    Assert.That(r.GetProperty("energy").GetProperty("joules").GetDouble(), Is.GreaterThan(1e-7).And.LessThan(1e-2), what);
                }
                else
                {
                    Assert.That(sec.GetProperty("samples").GetArrayLength(), Is.GreaterThanOrEqualTo(3), what);
                    Assert.That(sec.GetProperty("p90").GetDouble(), Is.GreaterThanOrEqualTo(sec.GetProperty("median").GetDouble()), what);
                }
            }
        }
        finally
        {
            File.Delete(file);
        }
    }
}
