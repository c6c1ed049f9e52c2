using System.Reflection;
using ChipKit.Accel;
using ChipKit.Core;
using ChipKit.Models.Tflite;
using CsCheck;

namespace ChipKit.Fuzz.Tests;

/// <summary>
/// The same property as <see cref="ParserFuzzTests"/> for the formats vendors and users hand to ChipKit: module JSON,
/// SCALE-Sim configs and topologies, and TFLite models (bytes mutated).
/// </summary>
public class FileFormatFuzzTests
{
    private static string[] ModuleSeeds()
    {
        Assembly asm = typeof(ModuleLoader).Assembly;
        return asm.GetManifestResourceNames().Where(n => n.EndsWith(".json", StringComparison.Ordinal)).Select(n =>
        {
            using var r = new StreamReader(asm.GetManifestResourceStream(n)!);
            return r.ReadToEnd();
        }).ToArray();
    }

    [Test]
    public void Module_json_parser_fails_only_with_input_errors()
    {
        string[] seeds = ModuleSeeds();
        Assert.That(seeds, Is.Not.Empty);
        Gen.OneOf(ParserFuzzTests.Mutated(seeds), Gen.String).Sample(
            s => ParserFuzzTests.OnlyInputErrors(s, x => ModuleLoader.Parse(x, "fuzz.json")), iter: ParserFuzzTests.Iterations, threads: 1);
    }

    [Test]
    public void ScaleSim_config_and_topology_parsers_fail_only_with_input_errors()
    {
        string cfg = "[general]\nrun_name = fuzz\n\n[architecture_presets]\nArrayHeight:    32\nArrayWidth:     32\nIfmapSramSzkB:   64\n" +
            "FilterSramSzkB:  64\nOfmapSramSzkB:   64\nIfmapOffset:    0\nFilterOffset:   10000000\nOfmapOffset:    20000000\n" +
            "Bandwidth : 10\nDataflow : os\nMemoryBanks:   1\n\n[run_presets]\nInterfaceBandwidth: USER\n";
        string conv = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n" +
            "Conv1, 224, 224, 7, 7, 3, 64, 2,\nConv2_DP, 56, 56, 3, 3, 64, 1, 1,\n";
        string gemm = "Layer, M, N, K,\nfc1, 128, 256, 64,\n";
        string file = Path.Combine(Path.GetTempPath(), "chipkit-fuzz-" + Guid.NewGuid().ToString("N"));
        try
        {
            long n = Math.Max(ParserFuzzTests.Iterations / 3, 100);
            ParserFuzzTests.Mutated([cfg]).Sample(s => ParserFuzzTests.OnlyInputErrors(s, x =>
            {
                File.WriteAllText(file, x);
                ScaleSimConfig.Load(file);
            }), iter: n, threads: 1);
            Gen<(string Text, bool Gemm)> topologies = from text in ParserFuzzTests.Mutated([conv, gemm]) from isGemm in Gen.Bool select (text, isGemm);
            topologies.Sample(t => ParserFuzzTests.OnlyInputErrors(t.Text, x =>
            {
                File.WriteAllText(file, x);
                ScaleSimTopology.Load(file, t.Gemm);
            }), iter: n, threads: 1);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Test]
    public void Regression_depthwise_layer_with_a_hostile_channel_count_is_refused()
    {
        // Found by the fuzzer: one layer per channel made 2^31 layers and the process ran out of memory.
        string file = Path.Combine(Path.GetTempPath(), "chipkit-dp-" + Guid.NewGuid().ToString("N") + ".csv");
        try
        {
            File.WriteAllText(file, "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\nConv2_DP, 56, 56, 3, 3, 2147483647, 1, 1,\n");
            var e = Assert.Throws<ChipKitInputException>(() => ScaleSimTopology.Load(file, gemm: false));
            Assert.That(e!.Message, Does.Contain("would make more than"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Test]
    public void Tflite_reader_fails_only_with_input_errors_on_mutated_models()
    {
        byte[] model = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "mlperf-tiny", "kws01_dscnn_int8.tflite"));
        Gen<byte[]> mutated =
            from edits in Gen.Int[1, 8]
            from positions in Gen.Int[0, model.Length - 1].Array[edits]
            from values in Gen.Byte.Array[edits]
            from truncate in Gen.Int[0, 9]
            from cut in Gen.Int[0, model.Length]
            select Mutate(model, positions, values, truncate == 0 ? cut : model.Length);
        mutated.Sample(bytes =>
        {
            try
            {
                TfliteReader.Parse(bytes, "fuzz.tflite");
            }
            catch (ChipKitInputException e)
            {
                Assert.That(e.Message, Does.Contain("fuzz.tflite"));
            }
        }, iter: Math.Max(ParserFuzzTests.Iterations / 3, 100), threads: 1);
    }

    private static byte[] Mutate(byte[] model, int[] positions, byte[] values, int length)
    {
        byte[] b = model[..length];
        for (int i = 0; i < positions.Length; i++)
        {
            if (positions[i] < b.Length)
            {
                b[positions[i]] = values[i];
            }
        }

        return b;
    }
}
