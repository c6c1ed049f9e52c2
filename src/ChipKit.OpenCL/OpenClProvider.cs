using ChipKit.Core;
using ChipKit.Core.Devices;
using ChipKit.Harness.Devices;
using DeviceInfo = ChipKit.Core.Devices.DeviceInfo;

namespace ChipKit.OpenCL;

/// <summary>
/// The OpenCL backend's door into the registry: every platform P and device D is <c>opencl:P.D</c>; <c>opencl</c>
/// alone means <c>opencl:0.0</c>. With no ICD loader or no platform it lists one unavailable <c>opencl</c> entry with
/// the reason (and opening it gives an unavailable device, so results are skipped with that reason).
/// </summary>
public sealed class OpenClProvider : IDeviceProvider
{
    private static readonly Lazy<(IReadOnlyList<ClDeviceDesc> Devices, string? Reason)> Found = new(ClDiscovery.Enumerate);

    public IEnumerable<DeviceInfo> List(DeviceOptions options)
    {
        (IReadOnlyList<ClDeviceDesc> devices, string? reason) = Found.Value;
        if (devices.Count == 0)
        {
            yield return Unavailable("opencl", reason ?? "no OpenCL device");
            yield break;
        }

        foreach (ClDeviceDesc d in devices)
        {
            yield return new DeviceInfo(d.Id, "opencl", d.Name, d.Unusable is null, d.Unusable, d.Properties());
        }
    }

    public IDevice? TryOpen(string id, DeviceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (id != "opencl" && !id.StartsWith("opencl:", StringComparison.Ordinal))
        {
            return null;
        }

        KernelSources sources = options.KernelsDir is null ? KernelSources.Embedded : KernelSources.FromDirectory(options.KernelsDir);
        (IReadOnlyList<ClDeviceDesc> devices, string? reason) = Found.Value;
        if (devices.Count == 0)
        {
            return new UnavailableDevice(Unavailable(id, reason ?? "no OpenCL device"));
        }

        ClDeviceDesc? desc = id == "opencl" ? devices[0] : devices.FirstOrDefault(d => d.Id == id);
        if (desc is null)
        {
            throw new ChipKitInputException($"--device '{id}': no such OpenCL device; OpenCL devices: {string.Join(", ", devices.Select(d => d.Id))} (ids are opencl:PLATFORM.DEVICE)");
        }

        return desc.Unusable is not null
            ? new UnavailableDevice(new DeviceInfo(desc.Id, "opencl", desc.Name, false, desc.Unusable, desc.Properties()))
            : new OpenClDevice(desc, sources);
    }

    private static DeviceInfo Unavailable(string id, string reason) => new(id, "opencl", "OpenCL", false, reason, new Dictionary<string, string>());

    /// <summary>A device that is listed but cannot run (the runner skips every workload with the reason).</summary>
    private sealed class UnavailableDevice(DeviceInfo info) : IDevice
    {
        public DeviceInfo Info { get; } = info;

        public TimeSource TimeSource => TimeSource.DeviceEvents;

        public IKernel? CreateKernel(Core.Workloads.Workload workload) => null;

        public void Dispose()
        {
        }
    }
}
