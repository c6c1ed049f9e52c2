using System.Diagnostics;
using ChipKit.Core.Workloads;
using ChipKit.Harness.Devices;
using ChipKit.Harness.Results;

namespace ChipKit.Ilgpu.Tests;

/// <summary>Device discovery (unavailable devices with reasons) and the backend end to end through the CLI.</summary>
[NonParallelizable]
public class DiscoveryAndCliTests
{
    [Test]
    public void Every_ilgpu_device_is_listed_and_unusable_ones_say_why()
    {
        var list = new IlgpuProvider().List(new DeviceOptions()).ToList();
        Assert.That(list.Select(d => d.Id), Does.Contain("ilgpu-cpu"));
        Assert.That(list.Single(d => d.Id == "ilgpu-cpu").Available, Is.True);
        Assert.That(list.Where(d => d.Id.StartsWith("ilgpu-cuda", StringComparison.Ordinal)), Is.Not.Empty, "a CUDA entry is always listed, if only to say why not");
        foreach (var d in list.Where(d => !d.Available))
        {
            Assert.That(d.Reason, Is.Not.Null.And.Not.Empty, d.Id);
        }

        // ILGPU's OpenCL backend needs the generic address space: PoCL (and NVIDIA's OpenCL) are never usable.
        foreach (var d in list.Where(d => d.Id.StartsWith("ilgpu-opencl:", StringComparison.Ordinal) && d.Properties.GetValueOrDefault("generic_address_space") == "no"))
        {
            Assert.That(d.Available, Is.False);
            Assert.That(d.Reason, Does.Contain("generic address space"));
        }

        if (list.All(d => !(d.Id.StartsWith("ilgpu-cuda:", StringComparison.Ordinal) && d.Available)))
        {
            string reason = list.First(d => d.Id.StartsWith("ilgpu-cuda", StringComparison.Ordinal)).Reason!;
            Assert.That(reason, Does.Contain("CUDA"), "without a GPU the reason says plainly that CUDA is missing");
        }
    }

    [Test]
    public void Opening_an_ilgpu_device_that_is_not_there_names_the_known_ones_or_says_why_there_are_none()
    {
        var provider = new IlgpuProvider();
        bool anyCuda = IlgpuDiscovery.Devices.Any(d => d.Kind == IlgpuKind.Cuda && d.Index >= 0);
        if (anyCuda)
        {
            var e = Assert.Throws<ChipKit.Core.ChipKitInputException>(() => provider.TryOpen("ilgpu-cuda:77", new DeviceOptions()));
            Assert.That(e!.Message, Does.Contain("ilgpu-cuda:77").And.Contain("ilgpu-cpu"));
        }
        else
        {
            using var d = provider.TryOpen("ilgpu-cuda:0", new DeviceOptions())!;
            Assert.That(d.Info.Available, Is.False);
            Assert.That(d.Info.Reason, Does.Contain("CUDA"));
            Assert.That(d.CreateKernel(ChipKit.Core.Workloads.WorkloadSpec.Parse("gemm:m=2,n=2,k=2")), Is.Null, "its workloads are skipped with the reason");
        }

        Assert.That(provider.TryOpen("cpu", new DeviceOptions()), Is.Null, "other backends' ids are not ILGPU's");
    }

    [Test]
    public void A_cuda_device_runs_every_op_verified_when_there_is_one()
    {
        IlgpuDeviceDesc desc = IlgpuTestSupport.CudaOrIgnore();
        using var dev = new IlgpuDevice(desc);
        foreach (string spec in new[]
        {
            "gemm:m=200,n=136,k=72,ta=1,alpha=0.5,beta=2", "conv:n=2,c=16,h=14,k=32,r=3,pad=1,layout=nhwc",
            "conv:c=32,h=14,k=32,r=3,groups=32,pad=1", "qgemm:m=130,n=70,k=99,dtype=u8,wtype=s8,perchannel=1",
            "qconv:c=16,h=9,k=24,r=3,pad=1,dtype=s8,wtype=s8,out=i32",
        })
        {
            IlgpuTestSupport.RunVerified(dev, spec);
        }

        if (dev.TensorCores)
        {
            IlgpuTestSupport.RunVerified(dev, "gemm:m=256,n=192,k=320,dtype=tf32");
            IlgpuTestSupport.RunVerified(dev, "gemm:m=129,n=65,k=100,tb=1,dtype=bf16");
        }
    }

    private static (int Code, string Output) Chipkit(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "chipkit.dll"));
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        Assert.That(p.WaitForExit(120_000), Is.True, "chipkit timed out");
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    [Test]
    public void Chipkit_run_on_ilgpu_cpu_verifies_gemm_and_skips_tensor_core_workloads()
    {
        string dir = Path.Combine(Path.GetTempPath(), "chipkit-ilgpu-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string outFile = Path.Combine(dir, "r.json");
            (int code, string log) = Chipkit("run", "--device", "ilgpu-cpu", "--workload", "gemm:m=32,n=24,k=40",
                "--workload", "gemm:m=16,n=16,k=16,dtype=tf32", "--min-time", "0", "--min-samples", "2", "--warmup", "0", "--quiet", "--out", outFile);
            Assert.That(code, Is.EqualTo(0), log);
            ResultsDocument doc = ResultsFile.Read(outFile);
            Assert.That(doc.Results, Has.Count.EqualTo(2), log);
            ResultRecord gemm = doc.Results[0], tf32 = doc.Results[1];
            Assert.That(gemm.Status, Is.EqualTo("ok"), gemm.Message);
            Assert.That(gemm.Verified, Is.True);
            Assert.That(gemm.Kernel, Does.StartWith("ilgpu.gemm.f32.tiled"));
            Assert.That(gemm.TimeSource, Is.EqualTo("wall"), "the CPU accelerator has no device events");
            Assert.That(gemm.Message, Does.StartWith("first launch"), "the compile + first launch is reported, outside the samples");
            Assert.That(gemm.Gops, Is.GreaterThan(0));
            Assert.That(tf32.Status, Is.EqualTo("skipped"), "no tensor cores off CUDA");
            Assert.That(tf32.Params["dtype"], Is.EqualTo("tf32"));

            (int c2, string devices) = Chipkit("devices");
            Assert.That(c2, Is.EqualTo(0), devices);
            Assert.That(devices, Does.Contain("ilgpu-cpu").And.Contain("ilgpu-cuda"));
            Assert.That(devices, Does.Contain("energy_meter="), "ilgpu-cuda says nvml or why not");
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Test]
    public void The_default_device_set_leaves_out_ilgpu_cpu()
    {
        var registry = new DeviceRegistry([new IlgpuProvider()]);
        var opened = registry.Open(null, new DeviceOptions());
        try
        {
            Assert.That(opened.Select(d => d.Info.Id), Does.Not.Contain("ilgpu-cpu"), "too slow for the default suite; runs when named");
        }
        finally
        {
            foreach (var d in opened)
            {
                d.Dispose();
            }
        }
    }
}
