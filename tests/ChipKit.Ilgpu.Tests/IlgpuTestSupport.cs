using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;

namespace ChipKit.Ilgpu.Tests;

/// <summary>One ILGPU CPU accelerator for the whole test run (creating one costs a context and its thread pool).</summary>
[SetUpFixture]
public sealed class IlgpuTestSupport
{
    private static IlgpuDevice? _cpu;

    public static IlgpuDevice Cpu => _cpu ??= new IlgpuDevice(IlgpuDiscovery.Devices.Single(d => d.Id == "ilgpu-cpu"));

    [OneTimeTearDown]
    public void TearDown()
    {
        _cpu?.Dispose();
        _cpu = null;
    }

    /// <summary>The first CUDA device, or Assert.Ignore with the reason there is none.</summary>
    public static IlgpuDeviceDesc CudaOrIgnore()
    {
        IlgpuDeviceDesc? d = IlgpuDiscovery.Devices.FirstOrDefault(x => x.Kind == IlgpuKind.Cuda && x.Unusable is null);
        if (d is null)
        {
            string why = IlgpuDiscovery.Devices.FirstOrDefault(x => x.Kind == IlgpuKind.Cuda)?.Unusable ?? "no CUDA device";
            Assert.Ignore($"needs an NVIDIA GPU: {why}");
        }

        return d!;
    }

    /// <summary>Runs a workload on a device the way the runner does (prepare, run, verify; poison, run again, verify).</summary>
    public static (VerifyOutcome Outcome, string Kernel) RunVerified(IDevice device, string spec, int seed = 7)
    {
        Workload w = WorkloadSpec.Parse(spec);
        OpData data = w.CreateData(seed);
        Expected expected = w.ComputeReference(data);
        using IKernel kernel = device.CreateKernel(w) ?? throw new AssertionException($"{device.Info.Id} has no kernel for {spec}");
        kernel.Prepare(data);
        kernel.Run();
        VerifyOutcome first = w.Verify(data, expected);
        Assert.That(first.Passed, Is.True, $"{spec} on {kernel.Name}: {first.Message}");
        w.PoisonOutput(data);
        kernel.Run();
        VerifyOutcome again = w.Verify(data, expected);
        Assert.That(again.Passed, Is.True, $"{spec} on {kernel.Name} (second run after poisoning): {again.Message}");
        return (again, kernel.Name);
    }
}
