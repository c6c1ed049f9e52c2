using System.Text.Json.Nodes;
using ChipKit.Accel;
using ChipKit.Core;

namespace ChipKit.Accel.Tests;

public class ModuleTests
{
    private static JsonObject Valid() => new()
    {
        ["name"] = "t",
        ["technology_nm"] = 45,
        ["array"] = new JsonObject { ["rows"] = 4, ["cols"] = 8, ["dataflow"] = "os" },
        ["sram_kib"] = new JsonObject { ["ifmap"] = 8, ["filter"] = 8, ["ofmap"] = 8 },
        ["word_bytes"] = new JsonObject { ["int8"] = 1 },
        ["dram"] = new JsonObject { ["type"] = "LPDDR4", ["bandwidth_bytes_per_cycle"] = 4, ["pj_per_bit"] = 8 },
        ["nominal_volts"] = 0.9,
        ["clock_mhz"] = 100,
        ["operating_points"] = new JsonArray(
            new JsonObject { ["name"] = "nominal", ["volts"] = 0.9, ["mhz"] = 100 },
            new JsonObject { ["name"] = "low", ["volts"] = 0.6, ["mhz"] = 50 }),
        ["energy_pj"] = new JsonObject
        {
            ["mac"] = new JsonObject { ["int8"] = 0.3 },
            ["sram_read_per_byte"] = new JsonObject { ["ifmap"] = 1.25, ["filter"] = 1.25, ["ofmap"] = 1.25 },
            ["sram_write_per_byte"] = new JsonObject { ["ifmap"] = 1.25, ["filter"] = 1.25, ["ofmap"] = 1.25 },
            ["register_file_per_byte"] = 0.03,
        },
        ["leakage_mw"] = 1,
        ["sources"] = new JsonArray("Horowitz ISSCC 2014"),
    };

    [Test]
    public void Valid_module_parses()
    {
        ModuleSpec m = ModuleLoader.Parse(Valid().ToJsonString(), "t.json");
        using (Assert.EnterMultipleScope())
        {
            Assert.That((m.Rows, m.Cols, m.Dataflow), Is.EqualTo((4, 8, Dataflow.Os)));
            Assert.That(m.Supports(MacType.Int8), Is.True);
            Assert.That(m.Supports(MacType.Fp32), Is.False);
            Assert.That(m.Point(null).Name, Is.EqualTo("nominal"));
            Assert.That(m.Point("LOW").Mhz, Is.EqualTo(50));
        }
    }

    public static IEnumerable<TestCaseData> Broken()
    {
        TestCaseData Case(string name, Action<JsonObject> edit, string path, string what)
        {
            return new TestCaseData(edit, path, what).SetArgDisplayNames(name);
        }

        yield return Case("zero rows", j => j["array"]!["rows"] = 0, "$.array.rows", "positive integer");
        yield return Case("fractional cols", j => j["array"]!["cols"] = 2.5, "$.array.cols", "positive integer");
        yield return Case("bad dataflow", j => j["array"]!["dataflow"] = "rs", "$.array.dataflow", "\"os\", \"ws\" or \"is\"");
        yield return Case("unknown field", j => j["colour"] = "red", "$.colour", "unknown field");
        yield return Case("unknown nested field", j => j["array"]!.AsObject()["depth"] = 3, "$.array.depth", "unknown field");
        yield return Case("negative energy", j => j["energy_pj"]!["sram_read_per_byte"]!["filter"] = -1, "$.energy_pj.sram_read_per_byte.filter", "non-negative");
        yield return Case("negative mac energy", j => j["energy_pj"]!["mac"]!["int8"] = -0.2, "$.energy_pj.mac.int8", "positive");
        yield return Case("nominal voltage outside the operating points", j => j["nominal_volts"] = 1.2, "$.nominal_volts", "not the voltage of any operating point");
        yield return Case("clock not at nominal point", j => j["clock_mhz"] = 300, "$.clock_mhz", "frequency of an operating point");
        yield return Case("absurd voltage", j => j["operating_points"]![1]!["volts"] = 5, "$.operating_points[1].volts", "(0, 2] V");
        yield return Case("missing sram", j => j.Remove("sram_kib"), "$.sram_kib", "missing");
        yield return Case("zero sram", j => j["sram_kib"]!["ofmap"] = 0, "$.sram_kib.ofmap", "positive");
        yield return Case("string number", j => j["dram"]!["pj_per_bit"] = "8", "$.dram.pj_per_bit", "expected a number");
        yield return Case("unknown mac type", j => j["energy_pj"]!["mac"]!.AsObject()["int4"] = 0.1, "$.energy_pj.mac.int4", "unknown data type");
        yield return Case("mac without word size", j => j["energy_pj"]!["mac"]!.AsObject()["fp32"] = 4.6, "$.word_bytes.fp32", "word size");
        yield return Case("no sources", j => j["sources"] = new JsonArray(), "$.sources", "non-empty array");
        yield return Case("empty operating points", j => j["operating_points"] = new JsonArray(), "$.operating_points", "non-empty array");
    }

    [TestCaseSource(nameof(Broken))]
    public void Invalid_module_names_the_json_path(Action<JsonObject> edit, string path, string what)
    {
        JsonObject j = Valid();
        edit(j);
        var e = Assert.Throws<ChipKitInputException>(() => ModuleLoader.Parse(j.ToJsonString(), "my.json"))!;
        Assert.That(e.Message, Does.StartWith("my.json: " + path + ": "));
        Assert.That(e.Message, Does.Contain(what));
    }

    [Test]
    public void Malformed_json_names_the_file() =>
        Assert.That(() => ModuleLoader.Parse("{ \"name\": ", "x.json"), Throws.TypeOf<ChipKitInputException>().With.Message.StartsWith("x.json: not valid JSON"));

    [Test]
    public void Built_in_modules_load_and_name_their_sources()
    {
        Assert.That(ModuleLoader.BuiltInNames, Is.SupersetOf(new[] { "edge-int8-16x16", "tpu-v1-like", "edge-int8-32x32-os", "mcu-npu-8x8" }));
        foreach (string n in ModuleLoader.BuiltInNames)
        {
            ModuleSpec m = ModuleLoader.BuiltIn(n);
            Assert.That(m.Name, Is.EqualTo(n));
            Assert.That(m.Sources, Is.Not.Empty);
            Assert.That(string.Join(" ", m.Sources), Does.Contain("Horowitz"));
        }

        ModuleSpec tpu = ModuleLoader.BuiltIn("tpu-v1-like");
        Assert.That((tpu.Rows, tpu.Cols, tpu.Dataflow), Is.EqualTo((256, 256, Dataflow.Ws)));
        Assert.That(ModuleLoader.BuiltIn("edge-int8-16x16").Supports(MacType.Fp32), Is.False);
        Assert.That(ModuleLoader.BuiltIn("mcu-npu-8x8").Supports(MacType.Fp32), Is.True);
    }

    [Test]
    public void Module_file_by_path_and_unknown_name()
    {
        string path = Path.Combine(Path.GetTempPath(), $"chipkit-accel-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, Valid().ToJsonString());
        try
        {
            Assert.That(ModuleLoader.Resolve(path).Rows, Is.EqualTo(4));
        }
        finally
        {
            File.Delete(path);
        }

        Assert.That(() => ModuleLoader.Resolve("no-such-npu"), Throws.TypeOf<ChipKitInputException>().With.Message.Contains("edge-int8-16x16"));
        Assert.That(() => ModuleLoader.Resolve("/nonexistent/m.json"), Throws.TypeOf<ChipKitInputException>().With.Message.Contains("not found"));
    }
}
