using System.Diagnostics;
using ChipKit.Cli;
using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;
using ChipKit.Harness.Devices;
using ChipKit.Harness.Results;
using ChipKit.Harness.Runner;

namespace ChipKit.Tests;

[NonParallelizable]
public class RobustnessTests
{
    [Test]
    public void A_hanging_kernel_times_out_and_the_run_goes_on()
    {
        var runner = new BenchmarkRunner(new RunOptions { MinTimeSeconds = 0, MinSamples = 1, TimeoutSeconds = 1 });
        using var hanging = new HangingDevice();
        var sw = Stopwatch.StartNew();
        List<ResultRecord> results = runner.Run(
            [WorkloadSpec.Parse("gemm:m=4,n=4,k=4"), WorkloadSpec.Parse("gemm:m=5,n=5,k=5")], [hanging, new ReferenceDevice()]);
        Assert.That(sw.Elapsed.TotalSeconds, Is.LessThan(30));
        Assert.That(results.Select(r => (r.Device, r.Status)), Is.EqualTo(new[]
        {
            ("hang", "failed"), ("ref", "ok"), ("hang", "failed"), ("ref", "ok"),
        }));
        Assert.That(results[0].Message, Does.StartWith("timed out after 1 s"));
        Assert.That(results[2].Message, Does.Contain("timed out on gemm:m=4,n=4,k=4 earlier"));
    }

    [Test]
    public void A_lost_device_fails_its_workload_is_not_used_again_and_the_run_goes_on()
    {
        var runner = new BenchmarkRunner(new RunOptions { MinTimeSeconds = 0, MinSamples = 1 });
        using var lost = new FaultyDevice(Fault.DeviceLost);
        List<ResultRecord> results = runner.Run(
            [WorkloadSpec.Parse("gemm:m=4,n=4,k=4"), WorkloadSpec.Parse("qgemm:m=5,n=6,k=7"), WorkloadSpec.Parse("conv:c=2,h=5,k=3,r=3")],
            [lost, new ReferenceDevice()]);
        Assert.That(results.Select(r => (r.Device, r.Status)), Is.EqualTo(new[]
        {
            ("faulty", "failed"), ("ref", "ok"), ("faulty", "failed"), ("ref", "ok"), ("faulty", "failed"), ("ref", "ok"),
        }));
        Assert.That(results[0].Message, Does.StartWith("device lost during first run: injected: the device fell off the bus"));
        Assert.That(results[2].Message, Is.EqualTo("not run: the device was lost on gemm:m=4,n=4,k=4 earlier in this run"));
        Assert.That(results[4].Message, Does.StartWith("not run: the device was lost"));
        Assert.That(results.Where(r => r.Device == "faulty").Select(r => r.Verified), Has.All.Not.True);
    }

    [Test]
    public void Device_out_of_memory_fails_only_the_large_workload()
    {
        var runner = new BenchmarkRunner(new RunOptions { MinTimeSeconds = 0, MinSamples = 1 });
        using var small = new FaultyDevice(Fault.OutOfMemoryOnLarge);
        List<ResultRecord> results = runner.Run(
            [WorkloadSpec.Parse("gemm:m=8,n=8,k=8"), WorkloadSpec.Parse("gemm:m=128,n=128,k=128"), WorkloadSpec.Parse("gemm:m=9,n=9,k=9")],
            [small]);
        Assert.That(results.Select(r => r.Status), Is.EqualTo(new[] { "ok", "failed", "ok" }));
        Assert.That(results[1].Message, Does.Match(@"^out of device memory during prepare \(0\.[1-9] MiB of operands\): injected: cannot allocate \d+ bytes"));
        Assert.That(results[1].Gops, Is.Null);
    }

    [Test]
    public void A_killed_run_leaves_a_valid_file_and_resume_finishes_it()
    {
        string dir = Path.Combine(Path.GetTempPath(), "chipkit-kill-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        string file = Path.Combine(dir, "r.json");
        string[] specs = ["gemm:m=64,n=64,k=64", "conv:c=4,h=8,k=4,r=3,pad=1", "qgemm:m=16,n=16,k=16", "gemm:m=32,n=32,k=32", "qconv:c=4,h=8,k=4,r=3", "gemm:m=8,n=8,k=8"];
        try
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string a in new[] { Path.Combine(AppContext.BaseDirectory, "chipkit.dll"), "run", "--device", "ref", "--min-time", "0.4", "--warmup", "0", "--quiet", "--out", file })
            {
                psi.ArgumentList.Add(a);
            }

            foreach (string s in specs)
            {
                psi.ArgumentList.Add("--workload");
                psi.ArgumentList.Add(s);
            }

            using (Process p = Process.Start(psi)!)
            {
                var deadline = Stopwatch.StartNew();
                while (!p.HasExited && deadline.Elapsed.TotalSeconds < 120 && Count(file) < 2)
                {
                    Thread.Sleep(50);
                }

                Assert.That(p.HasExited, Is.False, "the run finished before it could be killed: make the workloads longer");
                p.Kill(entireProcessTree: true); // SIGKILL on Linux: no handler runs
                p.WaitForExit();
            }

            ResultsDocument killed = ResultsFile.Read(file);
            Assert.That(killed.Results, Has.Count.InRange(2, specs.Length - 1));
            Assert.That(killed.Run.Workloads, Has.Count.EqualTo(specs.Length));

            var o = new StringWriter();
            var e = new StringWriter();
            Assert.That(CliApp.Run(["run", "--resume", file, "--quiet"], o, e), Is.Zero, o + e.ToString());
            ResultsDocument done = ResultsFile.Read(file);
            Assert.That(done.Results.Select(r => r.Workload), Is.EquivalentTo(specs.Select(s => WorkloadSpec.Parse(s).Spec)));
            Assert.That(done.Results.All(r => r.Status == "ok" && r.Verified), Is.True);
            Assert.That(e.ToString(), Does.Contain($"{killed.Results.Count} results kept"));

            // Resuming a finished run runs nothing and keeps the file as it is.
            Assert.That(CliApp.Run(["run", "--resume", file, "--quiet"], new StringWriter(), new StringWriter()), Is.Zero);
            Assert.That(ResultsFile.Read(file).Results, Has.Count.EqualTo(specs.Length));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void Resume_refuses_extra_workloads_and_missing_files()
    {
        var e = new StringWriter();
        Assert.That(CliApp.Run(["run", "--resume", "/nonexistent/r.json"], new StringWriter(), e), Is.EqualTo(2));
        Assert.That(e.ToString(), Does.Contain("--resume '/nonexistent/r.json'"));
    }

    private static int Count(string file)
    {
        try
        {
            return File.Exists(file) ? ResultsFile.Read(file).Results.Count : 0;
        }
        catch (Core.ChipKitInputException)
        {
            return 0; // never expected (writes are atomic), but the assertion after the kill decides
        }
    }

    /// <summary>A device whose kernels never return from Run.</summary>
    private sealed class HangingDevice : IDevice
    {
        private readonly ManualResetEventSlim _never = new(false);

        public DeviceInfo Info { get; } = new("hang", "test", "hangs", true, null, new Dictionary<string, string>());

        public TimeSource TimeSource => TimeSource.Wall;

        public IKernel? CreateKernel(Workload workload) => new HangingKernel(_never);

        public void Dispose()
        {
            _never.Set();
            _never.Dispose();
        }

        private sealed class HangingKernel(ManualResetEventSlim never) : IKernel
        {
            public string Name => "hang";

            public void Prepare(OpData data)
            {
            }

            public void Run()
            {
                try
                {
                    never.Wait();
                }
                catch (ObjectDisposedException)
                {
                }
            }

            public void Dispose()
            {
            }
        }
    }
}
