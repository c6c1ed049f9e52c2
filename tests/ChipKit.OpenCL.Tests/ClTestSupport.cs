using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;
using ChipKit.Harness.Devices;

namespace ChipKit.OpenCL.Tests;

/// <summary>Opens every usable OpenCL device once per test run; with none, tests are ignored with the reason.</summary>
internal static class ClTestSupport
{
    private static readonly Lazy<(List<IDevice> Devices, string? Reason)> Opened = new(Open);

    public static IReadOnlyList<IDevice> Devices
    {
        get
        {
            (List<IDevice> devices, string? reason) = Opened.Value;
            if (devices.Count == 0)
            {
                Assert.Ignore($"no OpenCL device: {reason}");
            }

            return devices;
        }
    }

    private static (List<IDevice>, string?) Open()
    {
        var provider = new OpenClProvider();
        var options = new DeviceOptions();
        List<DeviceInfo> infos = provider.List(options).ToList();
        var devices = infos.Where(i => i.Available).Select(i => provider.TryOpen(i.Id, options)!).ToList();
        string? reason = devices.Count == 0 ? string.Join("; ", infos.Select(i => $"{i.Id}: {i.Reason}")) : null;
        return (devices, reason);
    }

    /// <summary>
    /// One form of a quantised kernel (qgemm / qconv) on a device, whatever CHIPKIT_OPENCL_INTDOT says: Off, the tiled
    /// kernels (qgemm, qconv_igemm); Emulated, the dot-product kernels with the portable macro; Native, with the
    /// device's cl_khr_integer_dot_product builtins. The tiling is the device's unless given. Checks the kernel name.
    /// </summary>
    public static IKernel QuantKernel(IDevice d, Workload wl, ClIntDotMode mode, ClTiling? tiling = null)
    {
        var cl = (OpenClDevice)d;
        ClTiling t = tiling ?? ClTiling.Choose(cl.Desc, sizeof(int));
        IKernel k = (wl, mode) switch
        {
            (QGemmWorkload g, ClIntDotMode.Off) => new ClQGemmKernel(cl, g.Desc, t),
            (QGemmWorkload g, _) => new ClQGemmDotKernel(cl, g.Desc, t, mode),
            (QConvWorkload c, ClIntDotMode.Off) => new ClQConvKernel(cl, c.Desc, t),
            (QConvWorkload c, _) => new ClQConvDotKernel(cl, c.Desc, t, mode),
            _ => throw new AssertionException($"{wl.Spec} is not a quantised GEMM or conv"),
        };
        string prefix = mode switch
        {
            ClIntDotMode.Off => wl is QGemmWorkload ? "opencl.qgemm.tiled." : "opencl.qconv.igemm.",
            ClIntDotMode.Native => $"opencl.{wl.Op}.dot4.native.",
            _ => $"opencl.{wl.Op}.dot4.emulated.",
        };
        Assert.That(k.Name, Does.StartWith(prefix));
        return k;
    }

    /// <summary>
    /// A quantised workload bit-exact on every device in one form: the tiled kernels (<paramref name="dot"/> false), or
    /// the dot-product kernels, emulated on every device and then native on the devices that report
    /// cl_khr_integer_dot_product (PoCL does not).
    /// </summary>
    public static void CheckQuant(Workload wl, int seed, bool dot)
    {
        if (!dot)
        {
            CheckWorkload(wl, seed, d => QuantKernel(d, wl, ClIntDotMode.Off));
            return;
        }

        CheckWorkload(wl, seed, d => QuantKernel(d, wl, ClIntDotMode.Emulated));
        if (Devices.Any(d => ((OpenClDevice)d).Desc.HasIntegerDot))
        {
            CheckWorkload(wl, seed, d => QuantKernel(d, wl, ((OpenClDevice)d).Desc.HasIntegerDot ? ClIntDotMode.Native : ClIntDotMode.Emulated));
        }
    }

    /// <summary>Runs the workload on every OpenCL device (prepare, run, verify, poison, run again, verify again).</summary>
    public static void CheckAll(string spec, int seed = 1) => CheckWorkload(WorkloadSpec.Parse(spec), seed);

    public static void CheckWorkload(Workload wl, int seed, Func<IDevice, IKernel?>? kernelFor = null)
    {
        string spec = wl.Spec;
        OpData data = wl.CreateData(seed);
        Expected expected = wl.ComputeReference(data);
        foreach (IDevice d in Devices)
        {
            using IKernel kernel = (kernelFor is null ? d.CreateKernel(wl) : kernelFor(d)) ?? throw new AssertionException($"{d.Info.Id} has no kernel for {spec}");
            wl.PoisonOutput(data);
            kernel.Prepare(data);
            kernel.Run();
            VerifyOutcome first = wl.Verify(data, expected);
            Assert.That(first.Passed, Is.True, $"{kernel.Name} on {d.Info.Id}, {spec}: {first.Message}");
            wl.PoisonOutput(data);
            double seconds = ((IDeviceTimedKernel)kernel).RunTimed();
            VerifyOutcome second = wl.Verify(data, expected);
            Assert.That(second.Passed, Is.True, $"{kernel.Name} on {d.Info.Id}, {spec} (timed run): {second.Message}");
            Assert.That(seconds, Is.GreaterThan(0).And.LessThan(60), $"{kernel.Name}: device-event time of one run");
        }
    }
}
