using ChipKit.Harness.Devices;

namespace ChipKit.Cli;

/// <summary>
/// The composition root of the device backends. A backend joins ChipKit by adding its <see cref="IDeviceProvider"/>
/// to this list (and a ProjectReference to ChipKit.Cli.csproj); the runner, reports and tests need no change.
/// </summary>
internal static class Backends
{
    public static DeviceRegistry Registry { get; } = new(
    [
        .. DeviceRegistry.BuiltInProviders,
        new NpuProvider(),
        new ChipKit.Ort.OrtProvider(),
        new ChipKit.OpenCL.OpenClProvider(),
        new ChipKit.Ilgpu.IlgpuProvider(),
    ]);
}
