using System.Text.Json;
using ChipKit.Cli;

namespace ChipKit.Accel.Tests;

/// <summary>`chipkit sim` and `chipkit run --device npu:...` end to end through the CLI entry point.</summary>
public class CliTests
{
    private static (int Code, string Out, string Err) Cli(params string[] args)
    {
        using var o = new StringWriter();
        using var e = new StringWriter();
        int code = CliApp.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    private static string Temp() => Path.Combine(Path.GetTempPath(), "chipkit-accel-" + Guid.NewGuid().ToString("N"));

    [Test]
    public void Sim_writes_the_four_reports_and_equals_scalesim()
    {
        string data = ScaleSimEqualityTests.Data, dir = Temp();
        try
        {
            (int code, string stdout, string err) = Cli("sim", "--scalesim-config", Path.Combine(data, "golden_trace", "scale_ws.cfg"),
                "--topology", Path.Combine(data, "golden_trace", "alexnet_part.csv"), "--out", dir);
            Assert.That(code, Is.Zero, err);
            Assert.That(stdout, Does.Contain("Conv1"));
            foreach (string f in new[] { "compute_report.csv", "access_report.csv", "bandwidth_report.csv", "energy_report.csv" })
            {
                Assert.That(File.Exists(Path.Combine(dir, f)), f);
            }

            string[] compute = File.ReadAllLines(Path.Combine(dir, "compute_report.csv"));
            // SCALE-Sim's golden trace: 0, 112283, 0, 91.68309650614964, 94.53125, 90.78000992063492
            Assert.That(compute[1], Is.EqualTo("Conv1,112283,0,91.68309650614964,94.53125,90.78000992063492"));
            string[] access = File.ReadAllLines(Path.Combine(dir, "access_report.csv"));
            Assert.That(access[1], Does.StartWith("Conv1,3294225,34848,3484800,"));
            string[] energy = File.ReadAllLines(Path.Combine(dir, "energy_report.csv"));
            Assert.That(energy[^1], Does.StartWith("TOTAL,112283,"));
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, true);
            }
        }
    }

    [Test]
    public void Sim_with_user_bandwidth_reports_scalesims_stalls_and_dram_traffic()
    {
        string data = ScaleSimEqualityTests.Data, dir = Temp();
        try
        {
            (int code, string stdout, string err) = Cli("sim", "--scalesim-config", Path.Combine(data, "configs", "sa32x32_os_userbw10.cfg"),
                "--topology", Path.Combine(data, "topologies", "conv_test.csv"), "--out", dir);
            Assert.That(code, Is.Zero, err);
            Assert.That(stdout, Does.Contain("10 words/cycle (USER)"));
            // SCALE-Sim's reports for this pair: COMPUTE_REPORT 65840 total, 44361 stall cycles; DETAILED_ACCESS_REPORT
            // DRAM ifmap 393240, filter 688170 reads, ofmap 9600 writes.
            string[] compute = File.ReadAllLines(Path.Combine(dir, "compute_report.csv"));
            Assert.That(compute[1], Does.StartWith("Inc5b_3x3,65840,44361,24.60510328068044,78.125,75.41899441340783"));
            string[] access = File.ReadAllLines(Path.Combine(dir, "access_report.csv"));
            Assert.That(access[1], Does.EndWith(",393240,688170,9600,0"));
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, true);
            }
        }
    }

    [Test]
    public void Sim_input_errors_exit_2_naming_the_input()
    {
        string data = ScaleSimEqualityTests.Data;
        (int code, _, string err) = Cli("sim", "--scalesim-config", Path.Combine(data, "configs", "sa8x8_os.cfg"),
            "--topology", Path.Combine(data, "topologies", "gemm_small.csv"), "--out", Temp());
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("gemm_small.csv:2").And.Contain("--gemm").And.Not.Contain("   at "));

        (code, _, err) = Cli("sim", "--scalesim-config", Path.Combine(data, "configs", "sa8x8_os.cfg"),
            "--topology", Path.Combine(data, "topologies", "conv_test.csv"), "--out", Temp(), "--module", "nope");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("--module").And.Contain("edge-int8-16x16"));
    }

    [Test]
    public void Run_on_a_modeled_npu_is_verified_and_labelled_modeled()
    {
        string file = Temp() + ".json";
        try
        {
            (int code, _, string err) = Cli("run", "--device", "npu:edge-int8-16x16,npu:mcu-npu-8x8@low", "--workload", "qconv:c=8,h=10,k=16,r=3,pad=1,dtype=u8,wtype=s8",
                "--workload", "gemm:m=33,n=20,k=17", "--out", file, "--quiet", "--threads", "1");
            Assert.That(code, Is.Zero, err);
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(file));
            JsonElement[] results = doc.RootElement.GetProperty("results").EnumerateArray().ToArray();
            Assert.That(results, Has.Length.EqualTo(4));
            foreach (JsonElement r in results)
            {
                string device = r.GetProperty("device").GetString()!, op = r.GetProperty("op").GetString()!;
                if (device == "npu:edge-int8-16x16" && op == "gemm")
                {
                    Assert.That(r.GetProperty("status").GetString(), Is.EqualTo("skipped"), "no fp32 MACs on edge-int8-16x16");
                    continue;
                }

                Assert.That(r.GetProperty("status").GetString(), Is.EqualTo("ok"));
                Assert.That(r.GetProperty("verified").GetBoolean(), Is.True);
                Assert.That(r.GetProperty("time_source").GetString(), Is.EqualTo("modeled"));
                JsonElement energy = r.GetProperty("energy");
                Assert.That(energy.GetProperty("source").GetString(), Is.EqualTo("modeled"));
                Assert.That(energy.GetProperty("joules").GetDouble(), Is.GreaterThan(0));
                Assert.That(energy.GetProperty("breakdown").GetProperty("dram").GetDouble(), Is.GreaterThan(0));
            }
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Test]
    public void Devices_lists_the_built_in_modules()
    {
        (int code, string stdout, _) = Cli("devices");
        Assert.That(code, Is.Zero);
        Assert.That(stdout, Does.Contain("npu:edge-int8-16x16").And.Contain("npu:tpu-v1-like").And.Contain("npu-model"));
        (code, _, string err) = Cli("run", "--device", "npu:does-not-exist", "--workload", "qgemm:m=4,n=4,k=4");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("npu:does-not-exist"));
    }
}
