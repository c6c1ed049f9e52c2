using ChipKit.Core.Devices;

namespace ChipKit.Core.Workloads;

/// <summary>
/// A workload that brings its own kernels (a whole network: the model's interpreter is the kernel). The runner asks
/// it first; null falls back to <see cref="IDevice.CreateKernel"/>, so a device the workload does not know about
/// still decides (usually: skipped, no kernel).
/// </summary>
public interface IDeviceAwareWorkload
{
    /// <summary>A kernel of this workload for <paramref name="device"/>, or null when this workload has none for it.</summary>
    IKernel? CreateKernel(IDevice device);
}
