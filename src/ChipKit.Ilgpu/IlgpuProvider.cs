using ChipKit.Core;
using ChipKit.Core.Devices;
using ChipKit.Harness.Devices;
using DeviceInfo = ChipKit.Core.Devices.DeviceInfo;

namespace ChipKit.Ilgpu;

/// <summary>
/// The ILGPU backend's door into the registry: <c>ilgpu-cuda:N</c> for each CUDA device, <c>ilgpu-opencl:N</c> for each
/// OpenCL device (unavailable, with the reason, where ILGPU's OpenCL backend cannot run: no OpenCL 2.0 generic address
/// space, as on PoCL and NVIDIA's OpenCL), and <c>ilgpu-cpu</c> (ILGPU's CPU accelerator; run only when named). Without
/// a CUDA driver one unavailable <c>ilgpu-cuda</c> entry says so. <c>ilgpu-cuda</c> alone means <c>ilgpu-cuda:0</c>.
/// </summary>
public sealed class IlgpuProvider : IDeviceProvider
{
    public IEnumerable<DeviceInfo> List(DeviceOptions options) =>
        IlgpuDiscovery.Devices.Select(d => new DeviceInfo(d.Id, "ilgpu", d.Name, d.Unusable is null, d.Unusable, d.Properties));

    public IDevice? TryOpen(string id, DeviceOptions options)
    {
        if (id is not ("ilgpu-cuda" or "ilgpu-opencl" or "ilgpu-cpu") && !id.StartsWith("ilgpu-cuda:", StringComparison.Ordinal)
            && !id.StartsWith("ilgpu-opencl:", StringComparison.Ordinal))
        {
            return null;
        }

        IReadOnlyList<IlgpuDeviceDesc> all = IlgpuDiscovery.Devices;
        string want = id switch
        {
            "ilgpu-cuda" => all.FirstOrDefault(d => d.Kind == IlgpuKind.Cuda)?.Id ?? id,
            "ilgpu-opencl" => all.FirstOrDefault(d => d.Kind == IlgpuKind.OpenCl)?.Id ?? id,
            _ => id,
        };
        IlgpuDeviceDesc? desc = all.FirstOrDefault(d => d.Id == want);
        IlgpuDeviceDesc? none = all.FirstOrDefault(d => d.Index < 0 && want.StartsWith(d.Id + ":", StringComparison.Ordinal));
        if (desc is null && none is not null)
        {
            // No device of this kind at all (no CUDA driver, no OpenCL): listed and skipped with the reason, like opencl.
            return new UnavailableDevice(new DeviceInfo(want, "ilgpu", none.Name, false, none.Unusable, none.Properties));
        }

        if (desc is null)
        {
            throw new ChipKitInputException($"--device '{id}': no such ILGPU device; ILGPU devices: {string.Join(", ", all.Select(d => d.Id))}");
        }

        return desc.Unusable is not null
            ? new UnavailableDevice(new DeviceInfo(desc.Id, "ilgpu", desc.Name, false, desc.Unusable, desc.Properties))
            : new IlgpuDevice(desc);
    }

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
