using System.Text.Json;
using ChipKit.Cli;
using ChipKit.Harness.Results;

namespace ChipKit.Tests;

public class CliTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "chipkit-cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static (int code, string stdout, string stderr) Cli(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CliApp.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Test]
    public void Run_writes_a_schema_valid_file_with_verified_results()
    {
        string file = Path.Combine(_dir, "r.json");
        (int code, string stdout, _) = Cli("run", "--workload", "gemm:m=33,n=17,k=9", "--workload", "qconv:c=4,h=6,k=5,r=3,pad=1,perchannel=1,bias=1",
            "--device", "ref", "--min-time", "10ms", "--min-samples", "2", "--out", file, "--quiet");
        Assert.That(code, Is.Zero, stdout);
        Assert.That(stdout, Does.Contain("gemm:m=33,n=17,k=9"));
        Assert.That(stdout, Does.Contain("2 ok, 0 failed, 0 skipped"));

        ResultsDocument doc = ResultsFile.Read(file);
        Assert.That(doc.Schema, Is.EqualTo("chipkit.results/1"));
        Assert.That(doc.Results, Has.Count.EqualTo(2));
        Assert.That(doc.Results.All(r => r.Verified && r.Status == "ok"), Is.True);

        using JsonDocument raw = JsonDocument.Parse(File.ReadAllText(file));
        JsonElement r0 = raw.RootElement.GetProperty("results")[0];
        foreach (string field in new[] { "workload", "op", "params", "device", "kernel", "status", "message", "verified", "error", "ops", "seconds", "time_source", "gops", "energy" })
        {
            Assert.That(r0.TryGetProperty(field, out _), Is.True, $"results[0].{field} missing");
        }

        Assert.That(r0.GetProperty("seconds").GetProperty("samples").GetArrayLength(), Is.GreaterThanOrEqualTo(2));
        Assert.That(r0.GetProperty("energy").GetProperty("source").GetString(), Is.EqualTo("none"));
        Assert.That(raw.RootElement.GetProperty("machine").GetProperty("cores").GetInt32(), Is.GreaterThan(0));
        Assert.That(raw.RootElement.GetProperty("chipkit").GetProperty("version").GetString(), Is.Not.Empty);
    }

    [TestCase("gemm:m=10,n=10", "missing required key 'k'")]
    [TestCase("conv:c=3,h=x,k=2,r=1", "key 'h' must be an integer")]
    [TestCase("fft:n=8", "unknown op 'fft'")]
    public void Malformed_workload_exits_2_with_a_clear_message(string spec, string message)
    {
        (int code, _, string stderr) = Cli("run", "--workload", spec, "--device", "ref", "--out", Path.Combine(_dir, "x.json"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain(message));
        Assert.That(stderr, Does.Not.Contain("   at "), "no stack trace for user errors");
        Assert.That(File.Exists(Path.Combine(_dir, "x.json")), Is.False, "nothing runs when the input is bad");
    }

    [Test]
    public void Unknown_device_exits_2_and_lists_the_known_ones()
    {
        (int code, _, string stderr) = Cli("run", "--workload", "gemm:m=2,n=2,k=2", "--device", "tpu9");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("--device 'tpu9'"));
        Assert.That(stderr, Does.Contain("cpu"));
    }

    [TestCase("--min-time", "soon", "--min-time 'soon'")]
    [TestCase("--threads", "-3", "--threads must be >= 0")]
    [TestCase("--suite", "no-such-suite", "--suite 'no-such-suite'")]
    public void Bad_options_exit_2(string option, string value, string message)
    {
        (int code, _, string stderr) = Cli("run", "--workload", "gemm:m=2,n=2,k=2", "--device", "ref", option, value);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain(message));
    }

    [Test]
    public void Unknown_option_exits_2()
    {
        (int code, _, string stderr) = Cli("run", "--bogus");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("--bogus"));
    }

    [Test]
    public void Devices_lists_cpu_and_ref_as_json()
    {
        (int code, string stdout, _) = Cli("devices", "--json");
        Assert.That(code, Is.Zero);
        using JsonDocument doc = JsonDocument.Parse(stdout);
        string[] ids = doc.RootElement.EnumerateArray().Select(d => d.GetProperty("id").GetString()!).ToArray();
        Assert.That(ids, Does.Contain("cpu").And.Contain("ref"));
        Assert.That(doc.RootElement.EnumerateArray().All(d => d.TryGetProperty("available", out _)), Is.True);
    }

    [Test]
    public void Report_renders_table_md_and_csv_and_rejects_corrupt_files()
    {
        string file = Path.Combine(_dir, "r.json");
        Assert.That(Cli("run", "-w", "gemm:m=4,n=4,k=4", "-d", "ref", "--min-time", "0", "--min-samples", "1", "-o", file, "-q").code, Is.Zero);
        (int code, string table, _) = Cli("report", file);
        Assert.That(code, Is.Zero);
        Assert.That(table, Does.Contain("gemm:m=4,n=4,k=4").And.Contain("ref.gemm.f64"));
        Assert.That(Cli("report", file, "--format", "md").stdout, Does.Contain("| workload |"));
        Assert.That(Cli("report", file, "--format", "csv").stdout, Does.StartWith("workload,device,kernel"));

        string bad = Path.Combine(_dir, "bad.json");
        File.WriteAllText(bad, "{\"schema\": \"chipkit.results/1\", \"results\": [ {\"workload\": 3");
        (int badCode, _, string err) = Cli("report", bad);
        Assert.That(badCode, Is.EqualTo(2));
        Assert.That(err, Does.Contain("bad.json"));

        File.WriteAllText(bad, "{\"schema\": \"other/2\"}");
        Assert.That(Cli("report", bad).stderr, Does.Contain("$.schema"));
        Assert.That(Cli("report", Path.Combine(_dir, "missing.json")).code, Is.EqualTo(2));
    }

    [Test]
    public void Compare_puts_files_side_by_side_with_ratios()
    {
        string a = Path.Combine(_dir, "a.json"), b = Path.Combine(_dir, "b.json");
        Assert.That(Cli("run", "-w", "gemm:m=8,n=8,k=8", "-w", "qgemm:m=4,n=4,k=4", "-d", "ref", "--min-time", "0", "--min-samples", "2", "-o", a, "-q").code, Is.Zero);
        Assert.That(Cli("run", "-w", "gemm:m=8,n=8,k=8", "-d", "ref", "--min-time", "0", "--min-samples", "2", "-o", b, "-q").code, Is.Zero);
        (int code, string stdout, _) = Cli("compare", a, b, "--format", "md");
        Assert.That(code, Is.Zero);
        Assert.That(stdout, Does.Contain("| workload | device | A gops | B gops | B/A gops |"));
        string gemmRow = stdout.Split('\n').Single(l => l.StartsWith("| gemm:m=8,n=8,k=8 | ref |", StringComparison.Ordinal));
        Assert.That(gemmRow.Split('|')[5].Trim(), Does.Match(@"^\d+\.\d{3}$"), "a numeric ratio");
        Assert.That(stdout, Does.Contain("missing"), "qgemm is only in A");
        Assert.That(Cli("compare", a).code, Is.EqualTo(2));
        Assert.That(Cli("compare", a, Path.Combine(_dir, "nope.json")).stderr, Does.Contain("nope.json"));
    }

    [Test]
    public void A_failed_result_gives_exit_code_1()
    {
        // A workload whose oracle cannot be matched is not constructible from the CLI, so check the report path:
        string file = Path.Combine(_dir, "f.json");
        var doc = new ResultsDocument();
        doc.Results.Add(new ResultRecord { Workload = "gemm:m=1,n=1,k=1", Device = "cpu", Status = "failed", Message = "wrong answer" });
        ResultsFile.WriteAtomic(file, doc);
        Assert.That(Cli("report", file).code, Is.EqualTo(1));
    }
}
