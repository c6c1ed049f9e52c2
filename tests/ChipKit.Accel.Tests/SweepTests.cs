using System.Diagnostics;
using ChipKit.Accel;
using ChipKit.Core;

namespace ChipKit.Accel.Tests;

public class SweepTests
{
    private static string WriteSpace(string json)
    {
        string p = Path.Combine(Path.GetTempPath(), $"chipkit-space-{Guid.NewGuid():N}.json");
        File.WriteAllText(p, json);
        return p;
    }

    private const string Space1080 = """
        { "module": "edge-int8-16x16",
          "arrays": ["8x8", "16x16", "32x32", "64x64", "128x128", "256x256", "16x64", "64x16", "32x128", "128x32"],
          "dataflows": ["os", "ws", "is"],
          "sram_kib": [[16,16,16],[32,32,16],[64,64,32],[128,128,64],[256,256,128],[512,512,256],[64,256,64],[256,64,64],[1024,1024,512],[32,128,32],[128,32,128],[2048,2048,1024]],
          "operating_points": ["nominal", "eco", "boost"] }
        """;

    private static List<(string, NpuCost)> Resnet50() =>
        ScaleSimTopology.Load(Path.Combine(ScaleSimEqualityTests.Data, "topologies", "Resnet50.csv"), false)
            .Select(l => (l.Name, new NpuCost(l, 1, MacType.Int8, new WordSizes(1, 1, 4, 1)))).ToList();

    [Test]
    public void Thousand_points_over_resnet50_shard_merge_and_pareto()
    {
        string path = WriteSpace(Space1080);
        try
        {
            SweepSpace space = SweepSpace.Load(path, null);
            Assert.That(space.Count, Is.EqualTo(1080));
            List<(string, NpuCost)> work = Resnet50();
            var sw = Stopwatch.StartNew();
            SweepResult full = Sweeper.Run(space, work, (0, 1));
            sw.Stop();
            Assert.That(sw.Elapsed.TotalSeconds, Is.LessThan(60), "1080 design points x ResNet-50");
            Assert.That(full.Points, Has.Count.EqualTo(1080));

            // Every point off the front is dominated by a front point; no front point is dominated by any point.
            SweepPoint[] front = full.Points.Where(p => p.Pareto).ToArray();
            Assert.That(front, Is.Not.Empty);
            foreach (SweepPoint p in full.Points)
            {
                bool dominated = full.Points.Any(q => q.LatencySeconds <= p.LatencySeconds && q.EnergyJoules <= p.EnergyJoules &&
                    (q.LatencySeconds < p.LatencySeconds || q.EnergyJoules < p.EnergyJoules));
                if (p.Pareto)
                {
                    Assert.That(dominated, Is.False, $"front point {p.Index} is dominated");
                }
                else
                {
                    Assert.That(front.Any(q => q.LatencySeconds <= p.LatencySeconds && q.EnergyJoules <= p.EnergyJoules), $"point {p.Index}");
                }
            }

            var parts = Enumerable.Range(0, 4).Select(i => ($"shard{i}", Sweeper.Run(space, work, (i, 4)))).ToList();
            SweepResult merged = SweepResult.Merge(parts);
            Assert.That(merged.Points.Select(p => (p.Index, p.LatencySeconds, p.EnergyJoules, p.Pareto)),
                Is.EqualTo(full.Points.OrderBy(p => p.Index).Select(p => (p.Index, p.LatencySeconds, p.EnergyJoules, p.Pareto))));
            Assert.That(() => SweepResult.Merge([parts[0], parts[0]]), Throws.TypeOf<ChipKitInputException>().With.Message.Contains("overlapping"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestCase("""{"module": "edge-int8-16x16", "arrays": ["16by16"]}""", "$.arrays[0]")]
    [TestCase("""{"module": "edge-int8-16x16", "dataflows": ["rs"]}""", "$.dataflows[0]")]
    [TestCase("""{"module": "edge-int8-16x16", "sram_kib": [[1, 2]]}""", "$.sram_kib[0]")]
    [TestCase("""{"module": "edge-int8-16x16", "operating_points": ["turbo"]}""", "$.operating_points[0]")]
    [TestCase("""{"module": "edge-int8-16x16", "depth": 3}""", "$.depth")]
    [TestCase("""{"arrays": ["8x8"]}""", "$.module")]
    public void Bad_space_files_name_the_field(string json, string path)
    {
        string p = WriteSpace(json);
        try
        {
            Assert.That(() => SweepSpace.Load(p, null), Throws.TypeOf<ChipKitInputException>().With.Message.Contains(path));
        }
        finally
        {
            File.Delete(p);
        }
    }

    [Test]
    public void Shard_syntax()
    {
        Assert.That(Sweeper.ParseShard("2/5"), Is.EqualTo((2, 5)));
        Assert.That(Sweeper.ParseShard(null), Is.EqualTo((0, 1)));
        foreach (string bad in new[] { "5/5", "1", "-1/2", "a/b", "0/0" })
        {
            Assert.That(() => Sweeper.ParseShard(bad), Throws.TypeOf<ChipKitInputException>(), bad);
        }
    }

    [Test]
    public void Sram_energy_follows_the_horowitz_size_curve()
    {
        Assert.That(SramScaling.PjPerByte45(8), Is.EqualTo(1.25).Within(1e-12));
        Assert.That(SramScaling.PjPerByte45(32), Is.EqualTo(2.5).Within(1e-12));
        Assert.That(SramScaling.PjPerByte45(1024), Is.EqualTo(12.5).Within(1e-12));
        ModuleSpec m = ModuleLoader.BuiltIn("edge-int8-16x16");
        ModuleSpec big = m.With(sramKib: new BufferTriple(1024, 64, 32));
        Assert.That(big.SramReadPjPerByte.Ifmap, Is.EqualTo(m.SramReadPjPerByte.Ifmap * 12.5 / SramScaling.PjPerByte45(64)).Within(1e-12));
        Assert.That(big.SramReadPjPerByte.Filter, Is.EqualTo(m.SramReadPjPerByte.Filter));
    }
}
