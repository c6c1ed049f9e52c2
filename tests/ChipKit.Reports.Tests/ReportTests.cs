using System.Text.Json;
using ChipKit.Core;
using ChipKit.Cpu;
using ChipKit.Harness.Reports;
using ChipKit.Harness.Results;
using ChipKit.Reports.Html;

namespace ChipKit.Reports.Tests;

public class ReportTests
{
    /// <summary>A results document with the given results on devices cpu and npu:x (hand-made, as an older or foreign tool could write).</summary>
    private static ResultsDocument Doc(params ResultRecord[] results) => new()
    {
        Created = new DateTimeOffset(2026, 11, 26, 7, 0, 0, TimeSpan.Zero),
        Machine = new MachineRecord { Cpu = "Test CPU", Cores = 2 },
        Devices =
        [
            new DeviceRecord { Id = "cpu", Backend = "cpu-simd", Name = "Test CPU", Available = true },
            new DeviceRecord { Id = "npu:x", Backend = "npu-model", Name = "npu", Available = true },
        ],
        Results = [.. results],
    };

    private static ResultRecord Ok(string workload, string device, double gops, EnergyRecord? energy = null)
    {
        var w = ChipKit.Core.Workloads.WorkloadSpec.Parse(workload);
        double seconds = w.Ops / gops / 1e9;
        return new ResultRecord
        {
            Workload = workload, Op = w.Op, Device = device, Kernel = "k", Status = "ok", Verified = true, Ops = w.Ops, Gops = gops,
            TimeSource = device.StartsWith("npu", StringComparison.Ordinal) ? "modeled" : "wall",
            Seconds = new SecondsRecord { Samples = [seconds], Median = seconds, Min = seconds, Max = seconds },
            Energy = energy ?? new EnergyRecord { Source = "none", Note = "no meter" },
        };
    }

    [Test]
    public void Minimum_traffic_counts_inputs_weights_and_outputs_once()
    {
        // gemm 64x32x16 fp32: A 64*16 + B 16*32 + Y 64*32 floats; C is read only when beta != 0.
        Assert.That(Roofline.MinimumTrafficBytes("gemm:m=64,n=32,k=16"), Is.EqualTo(4 * ((64 * 16) + (16 * 32) + (64 * 32))));
        Assert.That(Roofline.MinimumTrafficBytes("gemm:m=64,n=32,k=16,beta=0.5"), Is.EqualTo(4 * ((64 * 16) + (16 * 32) + (2 * 64 * 32))));

        // qgemm u8 x s8 -> u8: one byte per element; out=i32 writes 4 bytes per output.
        Assert.That(Roofline.MinimumTrafficBytes("qgemm:m=64,n=32,k=16"), Is.EqualTo((64 * 16) + (16 * 32) + (64 * 32)));
        Assert.That(Roofline.MinimumTrafficBytes("qgemm:m=64,n=32,k=16,out=i32"), Is.EqualTo((64 * 16) + (16 * 32) + (4 * 64 * 32)));

        // conv 1x8x10x10, 16 3x3 filters, pad 1, with bias: input 800 + weights 1152 + output 1600 floats + 16 bias floats.
        Assert.That(Roofline.MinimumTrafficBytes("conv:c=8,h=10,k=16,r=3,pad=1,bias=1"), Is.EqualTo(4 * (800 + 1152 + 1600 + 16)));
        Assert.That(Roofline.MinimumTrafficBytes("nonsense:x=1"), Is.Null);

        ResultRecord r = Ok("gemm:m=64,n=32,k=16", "cpu", 10);
        Assert.That(Roofline.Intensity(r), Is.EqualTo(2.0 * 64 * 32 * 16 / (4.0 * ((64 * 16) + (16 * 32) + (64 * 32)))).Within(1e-12));
    }

    [Test]
    public void Attainable_throughput_is_the_lower_of_the_two_roofs()
    {
        var peak = new PeakRecord { Source = "measured", ComputeGops = { ["fp32"] = 100, ["int8"] = 400 }, MemoryGbps = 10 };
        Assert.That(Roofline.Attainable(peak, "gemm", 2), Is.EqualTo(20));
        Assert.That(Roofline.Attainable(peak, "gemm", 50), Is.EqualTo(100));
        Assert.That(Roofline.Attainable(peak, "qconv", 30), Is.EqualTo(300));
        Assert.That(Roofline.Attainable(peak, "qconv", 100), Is.EqualTo(400));
        Assert.That(Roofline.Attainable(new PeakRecord { ComputeGops = { ["fp32"] = 100 } }, "gemm", 2), Is.Null, "no bandwidth, no roofline");
        Assert.That(Roofline.Ridge(100, 10), Is.EqualTo(10));
    }

    [Test]
    public void Modeled_peak_is_array_times_two_times_clock_and_dram_bytes_per_cycle_times_clock()
    {
        PeakRecord p = PeakRecords.Modeled(16, 16, 500, 8, ["int8"], "n");
        Assert.That(p.Source, Is.EqualTo("modeled"));
        Assert.That(p.ComputeGops["int8"], Is.EqualTo(256).Within(1e-9));
        Assert.That(p.MemoryGbps, Is.EqualTo(4).Within(1e-12));
    }

    [Test]
    public void Measured_peak_takes_the_best_figures_at_the_largest_thread_count()
    {
        PeakRecord p = PeakRecords.FromFigures(
        [
            new PeakFigure("fp32-fma", "v128", 1, 30, "GFLOP/s", 0.2),
            new PeakFigure("fp32-fma", "v256", 1, 60, "GFLOP/s", 0.2),
            new PeakFigure("stream-triad", "-", 1, 9, "GB/s", 0.1),
            new PeakFigure("fp32-fma", "v128", 4, 100, "GFLOP/s", 0.2),
            new PeakFigure("fp32-fma", "v256", 4, 210, "GFLOP/s", 0.2),
            new PeakFigure("int8-pmaddwd", "v256", 4, 500, "GOP/s", 0.2),
            new PeakFigure("stream-triad", "-", 4, 20, "GB/s", 0.1),
        ], "test");
        Assert.That(p.Source, Is.EqualTo("measured"));
        Assert.That(p.ComputeGops, Is.EqualTo(new Dictionary<string, double> { ["fp32"] = 210, ["int8"] = 500 }));
        Assert.That(p.MemoryGbps, Is.EqualTo(20));
    }

    [TestCase("[1,2]", "expected a JSON object")]
    [TestCase("{\"figures\": 3}", "$.figures must be an array")]
    [TestCase("{\"schema\": \"other/1\", \"figures\": []}", "$.schema")]
    [TestCase("{\"figures\": [{\"kind\": \"fp32-fma\", \"unit\": \"GFLOP/s\", \"threads\": 2}]}", "$.figures[0].value must be a number")]
    [TestCase("{\"figures\": [{\"kind\": \"fp32-fma\", \"unit\": \"GFLOP/s\", \"value\": 5, \"threads\": 0}]}", "$.figures[0]: value must be >= 0 and threads >= 1")]
    [TestCase("{\"figures\": [", "invalid JSON")]
    public void A_bad_peak_file_names_the_file_and_field(string text, string expected)
    {
        var ex = Assert.Throws<ChipKitInputException>(() => PeakRecords.Parse(text, "p.json"));
        Assert.That(ex!.Message, Does.Contain("peak file 'p.json'").And.Contain(expected));
    }

    [Test]
    public void Results_files_without_peak_or_window_fields_still_read_and_new_fields_round_trip()
    {
        string old = """
            {"schema":"chipkit.results/1","devices":[{"id":"cpu","backend":"cpu-simd","name":"x","available":true}],
             "results":[{"workload":"gemm:m=8,n=8,k=8","device":"cpu","status":"ok","ops":1024,"gops":1.0}]}
            """;
        ResultsDocument doc = ResultsFile.Parse(old, "old.json");
        Assert.That(doc.Devices[0].Peak, Is.Null);
        Assert.That(doc.Results[0].Energy.WindowStart, Is.Null);

        doc.Devices[0].Peak = new PeakRecord { Source = "measured", Note = "n", ComputeGops = { ["fp32"] = 12.5 }, MemoryGbps = 3 };
        doc.Results[0].Energy.WindowStart = new DateTimeOffset(2026, 11, 26, 7, 0, 0, TimeSpan.Zero);
        ResultsDocument back = ResultsFile.Parse(ResultsFile.Serialize(doc), "new.json");
        Assert.That(back.Devices[0].Peak!.ComputeGops["fp32"], Is.EqualTo(12.5));
        Assert.That(back.Devices[0].Peak!.MemoryGbps, Is.EqualTo(3));
        Assert.That(back.Results[0].Energy.WindowStart, Is.EqualTo(doc.Results[0].Energy.WindowStart));
        Assert.That(ResultsFile.Serialize(doc), Does.Contain("\"compute_gops\"").And.Contain("\"memory_gbps\""));

        string nullPeak = old.Replace("\"available\":true}", "\"available\":true,\"peak\":{\"source\":\"measured\",\"compute_gops\":null}}", StringComparison.Ordinal);
        Assert.That(ResultsFile.Parse(nullPeak, "n.json").Devices[0].Peak!.ComputeGops, Is.Empty);
    }

    [Test]
    public void Merged_files_tag_every_result_with_its_run_in_json_and_tables()
    {
        string dir = TestFiles.TempDir();
        string a = Path.Combine(dir, "a.json"), b = Path.Combine(dir, "b.json");
        ResultsFile.WriteAtomic(a, Doc(Ok("gemm:m=64,n=64,k=64", "cpu", 20)));
        ResultsDocument db = Doc(Ok("gemm:m=64,n=64,k=64", "cpu", 30), new ResultRecord { Workload = "gemm:m=8,n=8,k=8", Device = "cpu", Status = "failed", Message = "wrong answer: 3 differ" });
        ResultsFile.WriteAtomic(b, db);

        (int code, string json, _) = TestFiles.Cli("report", a, b, "--format", "json");
        Assert.That(code, Is.EqualTo(1), "a failed result in any file makes the report exit 1");
        using JsonDocument j = JsonDocument.Parse(json);
        JsonElement root = j.RootElement;
        Assert.That(root.GetProperty("schema").GetString(), Is.EqualTo(ReportJson.SchemaId));
        Assert.That(root.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("file").GetString()), Is.EqualTo(new[] { a, b }));
        JsonElement[] results = [.. root.GetProperty("results").EnumerateArray()];
        Assert.That(results.Select(r => r.GetProperty("run").GetString()), Is.EqualTo(new[] { "A", "B", "B" }));
        Assert.That(results[1].GetProperty("gops").GetDouble(), Is.EqualTo(30));
        Assert.That(results[1].GetProperty("energy").GetProperty("kind").GetString(), Is.EqualTo("none"));
        Assert.That(results[1].GetProperty("intensity_ops_per_byte").GetDouble(), Is.EqualTo(2.0 * 64 * 64 * 64 / (4.0 * 3 * 64 * 64)).Within(1e-12));
        Assert.That(root.GetProperty("summary").GetProperty("failed").GetInt32(), Is.EqualTo(1));

        (code, string table, _) = TestFiles.Cli("report", a, b);
        Assert.That(code, Is.EqualTo(1));
        string[] lines = table.Split('\n');
        Assert.That(lines.Any(l => l.StartsWith("run  workload", StringComparison.Ordinal)), Is.True, table);
        Assert.That(lines.Count(l => l.StartsWith("B ", StringComparison.Ordinal)), Is.EqualTo(2), table);
        Assert.That(table, Does.Contain("failed: [B] gemm:m=8,n=8,k=8 on cpu: wrong answer: 3 differ"));

        (code, string csv, _) = TestFiles.Cli("report", a, b, "--format", "csv");
        Assert.That(csv.Split('\n')[0].TrimEnd(), Does.StartWith("run,workload,device"));

        // One file renders exactly as before: no run column.
        (code, string single, _) = TestFiles.Cli("report", a, "--format", "csv");
        Assert.That(code, Is.EqualTo(0));
        Assert.That(single.Split('\n')[0].TrimEnd(), Does.StartWith("workload,device"));

        (code, _, string err) = TestFiles.Cli("report", a, b, "--format", "bmf");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("bmf takes one results file"));
    }

    [Test]
    public void Report_out_writes_the_file_and_missing_inputs_are_input_errors()
    {
        string dir = TestFiles.TempDir();
        string a = Path.Combine(dir, "a.json");
        ResultsFile.WriteAtomic(a, Doc(Ok("gemm:m=64,n=64,k=64", "cpu", 20)));
        string outPath = Path.Combine(dir, "sub", "r.md");
        (int code, string stdout, string stderr) = TestFiles.Cli("report", a, "--format", "md", "--out", outPath);
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stdout, Is.Empty);
        Assert.That(File.ReadAllText(outPath), Does.StartWith("# ChipKit results").And.Contain("| gemm:m=64,n=64,k=64 | cpu |"));

        (code, _, stderr) = TestFiles.Cli("report", a, Path.Combine(dir, "missing.json"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("missing.json': no such file"));

        (code, _, stderr) = TestFiles.Cli("report", a, "--peak", Path.Combine(dir, "nopeak.json"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("--peak").And.Contain("no such file"));
    }

    [Test]
    public void Report_peak_gives_the_cpu_device_measured_ceilings_from_a_peak_file()
    {
        string dir = TestFiles.TempDir();
        string a = Path.Combine(dir, "a.json"), peak = Path.Combine(dir, "peak.json");
        ResultsFile.WriteAtomic(a, Doc(Ok("gemm:m=64,n=64,k=64", "cpu", 20)));
        File.WriteAllText(peak, """
            {"schema":"chipkit.peak/1","cpu":"Other CPU","figures":[
              {"kind":"fp32-fma","width":"v256","threads":2,"value":80,"unit":"GFLOP/s","seconds":0.2},
              {"kind":"stream-triad","width":"-","threads":2,"value":8,"unit":"GB/s","seconds":0.1}]}
            """);
        (int code, string json, string err) = TestFiles.Cli("report", a, "--format", "json", "--peak", peak);
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(err, Does.Contain("measured on \"Other CPU\""), "a peak file from another CPU model is pointed out");
        using JsonDocument j = JsonDocument.Parse(json);
        JsonElement cpu = j.RootElement.GetProperty("runs")[0].GetProperty("devices")[0];
        Assert.That(cpu.GetProperty("peak").GetProperty("source").GetString(), Is.EqualTo("measured"));
        Assert.That(cpu.GetProperty("peak").GetProperty("compute_gops").GetProperty("fp32").GetDouble(), Is.EqualTo(80));
        JsonElement roof = j.RootElement.GetProperty("results")[0].GetProperty("roofline");
        Assert.That(roof.GetProperty("attainable_gops").GetDouble(), Is.EqualTo(Math.Min(80, 8 * (2.0 * 64 * 64 * 64 / (4.0 * 3 * 64 * 64)))).Within(1e-9));
        Assert.That(j.RootElement.GetProperty("runs")[0].GetProperty("devices")[1].GetProperty("peak").ValueKind, Is.EqualTo(JsonValueKind.Null), "only the cpu device takes the file's ceilings");
    }

    [Test]
    public void Html_encodes_every_string_from_the_file()
    {
        ResultsDocument doc = Doc(
            Ok("gemm:m=64,n=64,k=64", "cpu", 20),
            new ResultRecord { Workload = "gemm:m=8,n=8,k=8", Device = "cpu", Kernel = "<b>k</b>", Status = "failed", Message = "<script>alert(1)</script> & <img src=x onerror=alert(2)>" });
        doc.Devices[0].Name = "<iframe src=javascript:alert(3)>";
        doc.Machine.Cpu = "\"><svg onload=alert(4)>";
        doc.Run.Args = ["run", "--out", "</td><script>x</script>"];
        var set = new ReportSet();
        set.AddRun("<evil>.json", doc);
        string html = HtmlReport.Render(set, DateTimeOffset.UnixEpoch);
        Assert.That(html, Does.Not.Contain("<script").IgnoreCase);
        Assert.That(html, Does.Not.Contain("<img").IgnoreCase);
        Assert.That(html, Does.Not.Contain("<iframe").IgnoreCase);
        Assert.That(html, Does.Not.Contain("<svg onload"));
        Assert.That(html, Does.Not.Contain("<b>k</b>"));
        Assert.That(html, Does.Contain("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(2)&gt;"));
        Assert.That(html, Does.Contain("&lt;evil&gt;.json"));
        Assert.That(CountOf(html, "<svg"), Is.EqualTo(1), "one chart: GOP/s (no energy, no ceilings)");
    }

    [Test]
    public void Html_labels_energy_sources_and_never_shows_declared_as_measured()
    {
        ResultsDocument doc = Doc(
            Ok("gemm:m=64,n=64,k=64", "cpu", 20, new EnergyRecord { Source = "declared", Joules = 0.5, Watts = 65, GopsPerWatt = 20 / 65.0, Note = "declared 65 W: declared by the user, not measured" }),
            Ok("qgemm:m=64,n=64,k=64", "npu:x", 100, new EnergyRecord
            {
                Source = "modeled", Joules = 1e-6, Watts = 0.2, GopsPerWatt = 500,
                Breakdown = new Dictionary<string, double> { ["mac"] = 4e-7, ["dram"] = 5e-7, ["leakage"] = 1e-7 },
            }));
        doc.Devices[1].Peak = PeakRecords.Modeled(16, 16, 500, 8, ["int8"], "modeled from the module");
        var set = new ReportSet();
        set.AddRun("r.json", doc);
        List<Chart> charts = HtmlReport.BuildCharts(set, Charts.WorkloadKeys(set.Entries));
        Assert.That(charts.Select(c => c.Id), Is.EqualTo(new[] { "gops", "gops-per-watt", "roofline-npu-x", "energy-breakdown-npu-x" }));
        Chart perWatt = charts[1];
        Assert.That(SvgTexts(perWatt.Svg), Does.Contain("decl").And.Contain("model"));
        Assert.That(perWatt.Svg, Does.Contain("declared (assumed W, not measured)"));
        Assert.That(perWatt.Svg, Does.Not.Contain("measured (meter)"), "no measured figure in this file, so no measured legend entry");
        Assert.That(SvgTexts(charts[3].Svg), Is.SupersetOf(new[] { "mac", "dram", "leakage" }));
        Assert.That(charts[2].Svg, Does.Contain("int8 roof: 256 GOP/s, 4 GB/s (modeled)"));

        string html = HtmlReport.Render(set, DateTimeOffset.UnixEpoch);
        Assert.That(CountOf(html, "<svg"), Is.EqualTo(4));
        Assert.That(CountOf(html, "data-chart=\""), Is.EqualTo(4));
        string[] ids = [.. System.Text.RegularExpressions.Regex.Matches(html, "\\bid=\"([^\"]+)\"").Select(m => m.Groups[1].Value)];
        Assert.That(ids, Is.Not.Empty.And.Unique, "the inlined SVGs' clip-path ids do not clash");
        Assert.That(System.Text.RegularExpressions.Regex.Matches(html, "url\\(#([^)]+)\\)").Select(m => m.Groups[1].Value), Is.SubsetOf(ids), "every url(#id) resolves in the page");
        Assert.That(html, Does.Contain("<td class=\"declared\">declared</td>"));
        Assert.That(html, Does.Contain("<td class=\"modeled\">modeled</td>"));
        Assert.That(html, Does.Contain("<td class=\"measured\">wall (measured)</td>"), "the cpu's time is measured, its energy declared");
        Assert.That(html, Does.Not.Contain("declared (measured)").And.Not.Contain("modeled (measured)"));
        Assert.That(System.Text.RegularExpressions.Regex.IsMatch(html, "(src|href)\\s*=|url\\(\\s*['\"]?(https?:|//)|@import|<link|<script|<iframe", System.Text.RegularExpressions.RegexOptions.IgnoreCase),
            Is.False, "self-contained: no script, stylesheet, font or image is fetched");
    }

    [Test]
    public void A_sweep_output_renders_its_pareto_front_in_html_and_json()
    {
        string dir = TestFiles.TempDir();
        string space = Path.Combine(dir, "space.json");
        File.WriteAllText(space, """{"module":"edge-int8-16x16","arrays":["8x8","16x16","32x32"],"dataflows":["os","ws"],"operating_points":["nominal","eco"]}""");
        string sweepDir = Path.Combine(dir, "sweep");
        (int code, _, string err) = TestFiles.Cli("sweep", "--space", space, "--workload", "qgemm:m=64,n=64,k=64", "--workload", "qconv:c=16,h=14,k=32,r=3,pad=1", "--out", sweepDir);
        Assert.That(code, Is.EqualTo(0), err);

        (code, string html, err) = TestFiles.Cli("report", sweepDir, "--format", "html");
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(html, Does.Contain("data-chart=\"pareto-a\""));
        Assert.That(CountOf(html, "<svg"), Is.EqualTo(1));
        Assert.That(html, Does.Contain("Pareto front ("));

        (code, string json, _) = TestFiles.Cli("report", Path.Combine(sweepDir, "sweep.json"), "--format", "json");
        Assert.That(code, Is.EqualTo(0));
        using JsonDocument j = JsonDocument.Parse(json);
        JsonElement sweep = j.RootElement.GetProperty("sweeps")[0];
        Assert.That(sweep.GetProperty("kind").GetString(), Is.EqualTo("modeled"));
        Assert.That(sweep.GetProperty("points").GetArrayLength(), Is.EqualTo(12));
        Assert.That(sweep.GetProperty("points").EnumerateArray().Count(p => p.GetProperty("pareto").GetBoolean()), Is.GreaterThan(0));

        (code, _, err) = TestFiles.Cli("report", sweepDir);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("sweep output").And.Contain("--format html"));
    }

    /// <summary>The text content of every &lt;text&gt; element of an SVG.</summary>
    private static List<string> SvgTexts(string svg) =>
        [.. System.Text.RegularExpressions.Regex.Matches(svg, "<text[^>]*>([^<]*)</text>").Select(m => System.Net.WebUtility.HtmlDecode(m.Groups[1].Value.Trim()))];

    private static int CountOf(string s, string what)
    {
        int n = 0;
        for (int i = s.IndexOf(what, StringComparison.Ordinal); i >= 0; i = s.IndexOf(what, i + what.Length, StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }
}
