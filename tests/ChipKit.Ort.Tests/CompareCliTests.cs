using ChipKit.Cli;
using ChipKit.Harness.Reports;
using ChipKit.Harness.Results;

namespace ChipKit.Ort.Tests;

/// <summary>`chipkit run --device cpu,ort --compare ort` end to end, through the CLI entry point.</summary>
public class CompareCliTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "chipkit-ort-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Stdout, string Stderr) Cli(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CliApp.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Test]
    public void Compare_adds_a_ratio_column_and_a_compare_record()
    {
        string file = Path.Combine(_dir, "r.json");
        (int code, string stdout, string stderr) = Cli("run", "-w", "gemm:m=40,n=33,k=20", "-w", "conv:c=4,h=8,k=4,r=3,layout=nhwc",
            "--device", "cpu,ort", "--compare", "ort", "--threads", "1", "--min-time", "5ms", "--min-samples", "2", "--warmup", "0", "--out", file, "--quiet");
        Assert.That(code, Is.Zero, stdout + stderr);
        string header = stdout.Split('\n')[0];
        Assert.That(header.TrimEnd(), Does.EndWith("ratio"));
        Assert.That(stdout, Does.Contain("ort.MatMul"));

        ResultsDocument doc = ResultsFile.Read(file);
        Assert.That(doc.Results, Has.Count.EqualTo(4));
        ResultRecord cpu = doc.Results.Single(r => r.Device == "cpu" && r.Op == "gemm");
        ResultRecord ort = doc.Results.Single(r => r.Device == "ort" && r.Op == "gemm");
        Assert.That(ort.Status, Is.EqualTo("ok"));
        Assert.That(ort.Verified, Is.True);
        Assert.That(ort.Compare, Is.Null, "the peer is not compared with itself");
        Assert.That(cpu.Compare, Is.Not.Null);
        Assert.That(cpu.Compare!.Peer, Is.EqualTo("ort"));
        Assert.That(cpu.Compare.PeerGops, Is.EqualTo(ort.Gops));
        Assert.That(cpu.Compare.Ratio, Is.EqualTo(cpu.Gops!.Value / ort.Gops!.Value).Within(1e-12));

        // NHWC conv: ort skips it, so the cpu row has no ratio but names the peer's status.
        ResultRecord nhwc = doc.Results.Single(r => r.Device == "cpu" && r.Op == "conv");
        Assert.That(doc.Results.Single(r => r.Device == "ort" && r.Op == "conv").Status, Is.EqualTo("skipped"));
        Assert.That(nhwc.Compare!.Ratio, Is.Null);
        Assert.That(nhwc.Compare.PeerStatus, Is.EqualTo("skipped"));
        Assert.That(doc.Devices.Single(d => d.Id == "ort").Properties["threads"], Is.EqualTo("1"));

        // `chipkit report` shows the ratio column from the file.
        Assert.That(ResultTable.Render(doc.Results, ReportFormat.Csv).Split('\n')[0].TrimEnd(), Does.EndWith(",ratio"));
    }

    [Test]
    public void Compare_with_a_device_not_in_the_run_is_a_usage_error()
    {
        (int code, string stdout, string stderr) = Cli("run", "-w", "gemm:m=4,n=4,k=4", "--device", "cpu", "--compare", "ort", "--out", Path.Combine(_dir, "x.json"));
        Assert.That(code, Is.EqualTo(2), stdout);
        Assert.That(stderr, Does.Contain("--compare 'ort'"));
        Assert.That(File.Exists(Path.Combine(_dir, "x.json")), Is.False);
    }
}

public class PeakCliTests
{
    [Test]
    public void Peak_json_lists_fma_int8_and_triad_for_one_and_two_threads()
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CliApp.Run(["peak", "--threads", "2", "--json", "--seconds", "0.02"], o, e);
        Assert.That(code, Is.Zero, e.ToString());
        using var doc = System.Text.Json.JsonDocument.Parse(o.ToString());
        var figures = doc.RootElement.GetProperty("figures").EnumerateArray().ToList();
        Assert.That(figures.Select(f => f.GetProperty("kind").GetString()), Does.Contain("fp32-fma").And.Contain("stream-triad"));
        Assert.That(figures.Select(f => f.GetProperty("threads").GetInt32()).Distinct(), Is.EquivalentTo(new[] { 1, 2 }));
        Assert.That(figures.All(f => f.GetProperty("value").GetDouble() > 0), Is.True);
    }

    [Test]
    public void Peak_rejects_negative_threads()
    {
        var e = new StringWriter();
        Assert.That(CliApp.Run(["peak", "--threads", "-1"], new StringWriter(), e), Is.EqualTo(2));
        Assert.That(e.ToString(), Does.Contain("--threads"));
    }
}
