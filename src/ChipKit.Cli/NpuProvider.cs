using ChipKit.Accel;
using ChipKit.Core.Devices;
using ChipKit.Harness.Devices;

namespace ChipKit.Cli;

/// <summary>The modeled accelerators: built-in modules as <c>npu:NAME</c>, module files as <c>npu:path/to/module.json</c>.</summary>
internal sealed class NpuProvider : IDeviceProvider
{
    public IEnumerable<DeviceInfo> List(DeviceOptions options) => NpuDevice.ListBuiltIn();

    public IDevice? TryOpen(string id, DeviceOptions options) => NpuDevice.TryOpen(id, options.Threads);
}
