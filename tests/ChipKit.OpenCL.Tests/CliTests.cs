using System.Diagnostics;
using System.Text.Json;
using ChipKit.Harness.Results;

namespace ChipKit.OpenCL.Tests;

/// <summary>The OpenCL backend end to end through the `chipkit` CLI in child processes.</summary>
[NonParallelizable]
public class CliTests
{
    private static (int Code, string Stdout, string Stderr) Chipkit(IDictionary<string, string>? env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "chipkit.dll"));
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (KeyValuePair<string, string> e in env ?? new Dictionary<string, string>())
        {
            psi.Environment[e.Key] = e.Value;
        }

        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        Assert.That(p.WaitForExit(120_000), Is.True, "chipkit timed out");
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    private static string TempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "chipkit-ocl-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    [Test]
    public void A_broken_kernel_source_fails_that_result_naming_the_file_and_the_build_log_and_the_run_goes_on()
    {
        _ = ClTestSupport.Devices; // ignored with the reason when there is no OpenCL device
        string dir = TempDir();
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "gemm"));
            string broken = Path.Combine(dir, "gemm", "sgemm.cl");
            File.WriteAllText(broken, "__kernel void sgemm(__global float* y) { y[0] = 1.0f +; }\n");
            string outFile = Path.Combine(dir, "r.json");
            (int code, string stdout, string stderr) = Chipkit(null, "run", "--kernels", dir, "--device", "opencl:0.0",
                "--workload", "gemm:m=20,n=20,k=20", "--workload", "conv:c=3,h=6,k=4,r=3",
                "--min-time", "0", "--min-samples", "1", "--warmup", "0", "--quiet", "--out", outFile);
            string log = stdout + stderr;
            Assert.That(code, Is.EqualTo(1), log);
            ResultsDocument doc = ResultsFile.Read(outFile);
            Assert.That(doc.Results, Has.Count.EqualTo(2), log);
            ResultRecord gemm = doc.Results[0], conv = doc.Results[1];
            Assert.That(gemm.Status, Is.EqualTo("failed"));
            Assert.That(gemm.Message, Does.Contain(broken).And.Contain("opencl:0.0").And.Contain("error"), "the message names the file, the device and the build log");
            Assert.That(conv.Status, Is.EqualTo("ok"), "the run goes on: conv uses the built-in conv/conv2d.cl (the directory has none)");
            Assert.That(conv.Kernel, Does.Not.EndWith(".user"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void A_user_kernel_directory_is_used_and_marked_in_the_kernel_name()
    {
        _ = ClTestSupport.Devices;
        string dir = TempDir();
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "quant"));
            string src = ReadEmbedded("quant/qgemm.cl");
            File.WriteAllText(Path.Combine(dir, "quant", "qgemm.cl"), "/* a user's copy */\n" + src);
            string outFile = Path.Combine(dir, "r.json");
            (int code, string stdout, string stderr) = Chipkit(null, "run", "--kernels", dir, "--device", "opencl:0.0",
                "--workload", "qgemm:m=9,n=70,k=33,dtype=u8,wtype=s8,perchannel=1",
                "--min-time", "0", "--min-samples", "1", "--warmup", "0", "--quiet", "--out", outFile);
            Assert.That(code, Is.Zero, stdout + stderr);
            ResultRecord r = ResultsFile.Read(outFile).Results.Single();
            Assert.That(r.Status, Is.EqualTo("ok"));
            Assert.That(r.Kernel, Does.EndWith(".user"));
            Assert.That(r.TimeSource, Is.EqualTo("device-events"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void Kernels_option_rejects_a_missing_directory_with_exit_code_2()
    {
        (int code, _, string stderr) = Chipkit(null, "run", "--kernels", "/nonexistent/chipkit-kernels", "--device", "opencl",
            "--workload", "gemm:m=2,n=2,k=2", "--quiet", "--out", Path.Combine(Path.GetTempPath(), "unused.json"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("--kernels").And.Contain("/nonexistent/chipkit-kernels"));
        Assert.That(stderr, Does.Not.Contain("   at "), "no stack trace");
    }

    [Test]
    public void Without_an_OpenCL_platform_devices_lists_opencl_unavailable_with_the_reason_and_runs_skip()
    {
        string empty = TempDir();
        try
        {
            var env = new Dictionary<string, string> { ["OCL_ICD_VENDORS"] = empty, ["OCL_ICD_FILENAMES"] = "" };
            (int code, string stdout, string stderr) = Chipkit(env, "devices", "--json");
            Assert.That(code, Is.Zero, stderr);
            using JsonDocument json = JsonDocument.Parse(stdout);
            JsonElement opencl = json.RootElement.EnumerateArray().Single(e => e.GetProperty("id").GetString()!.StartsWith("opencl", StringComparison.Ordinal));
            Assert.That(opencl.GetProperty("available").GetBoolean(), Is.False);
            Assert.That(opencl.GetProperty("reason").GetString(), Does.Contain("no platform").Or.Contain("ICD loader"));

            string outFile = Path.Combine(empty, "r.json");
            (code, stdout, stderr) = Chipkit(env, "run", "--device", "opencl", "--workload", "gemm:m=4,n=4,k=4", "--quiet", "--out", outFile);
            Assert.That(code, Is.Zero, stdout + stderr);
            ResultRecord r = ResultsFile.Read(outFile).Results.Single();
            Assert.That(r.Status, Is.EqualTo("skipped"));
            Assert.That(r.Message, Does.Contain("unavailable"));
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    private static string ReadEmbedded(string file)
    {
        using Stream s = typeof(OpenClProvider).Assembly.GetManifestResourceStream("kernels/" + file)!;
        using var reader = new StreamReader(s);
        return reader.ReadToEnd();
    }

    [Test]
    public void The_mlperf_tiny_suite_runs_on_opencl_verified_bit_exact_against_ref()
    {
        _ = ClTestSupport.Devices;
        string dir = TempDir();
        try
        {
            string outFile = Path.Combine(dir, "r.json");
            (int code, string stdout, string stderr) = Chipkit(null, "run", "--suite", "mlperf-tiny", "--device", "opencl:0.0,ref", "--compare", "ref",
                "--min-time", "0", "--min-samples", "1", "--warmup", "0", "--quiet", "--out", outFile);
            string log = stdout + stderr;
            Assert.That(code, Is.Zero, log);
            ResultsDocument doc = ResultsFile.Read(outFile);
            List<ResultRecord> cl = doc.Results.Where(r => r.Device == "opencl:0.0").ToList();
            Assert.That(cl.Select(r => r.Workload), Is.EquivalentTo(new[] { "model:ic01", "model:ic02", "model:kws01", "model:vww01", "model:ad01", "model:sww01" }), log);
            foreach (ResultRecord r in cl)
            {
                Assert.That(r.Status, Is.EqualTo("ok"), $"{r.Workload}: {r.Message}");
                Assert.That(r.Verified, Is.True, r.Workload);
                Assert.That(r.Kernel, Does.StartWith("opencl.tflite.int8."), r.Workload);
                Assert.That(r.TimeSource, Is.EqualTo("device-events"), r.Workload);
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Test]
    public void Infer_kws01_on_opencl_prints_the_classes_verified_against_ref()
    {
        _ = ClTestSupport.Devices;
        (int code, string stdout, string stderr) = Chipkit(null, "infer", "kws01", "--device", "opencl:0.0", "--runs", "3", "--layers");
        Assert.That(code, Is.Zero, stdout + stderr);
        Assert.That(stdout, Does.Contain("bit-exact with the ref interpreter"));
        Assert.That(stdout, Does.Contain("class  5 on"), "the bundled KWS sample is the word 'on'");
        Assert.That(stdout, Does.Contain("opencl.tflite.int8.").And.Contain("device events"));
        Assert.That(stdout, Does.Contain("SOFTMAX"), "--layers lists every launch");
    }
}
