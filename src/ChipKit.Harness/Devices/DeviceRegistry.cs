using ChipKit.Core;
using ChipKit.Core.Devices;
using ChipKit.Cpu;

namespace ChipKit.Harness.Devices;

/// <summary>Options every device provider may use.</summary>
public sealed record DeviceOptions(int Threads = 0, string? KernelsDir = null);

/// <summary>A backend's door into the registry: it lists its devices and opens one by id.</summary>
public interface IDeviceProvider
{
    /// <summary>Every device this provider knows of, available or not (with the reason).</summary>
    IEnumerable<DeviceInfo> List(DeviceOptions options);

    /// <summary>Opens the device with this id, or returns null when the id is not this provider's.</summary>
    IDevice? TryOpen(string id, DeviceOptions options);
}

/// <summary>
/// The devices ChipKit knows. The CLI composes it from every backend's provider (src/ChipKit.Cli/Backends.cs):
/// a new backend adds its provider there and nothing else changes.
/// </summary>
public sealed class DeviceRegistry(IReadOnlyList<IDeviceProvider> providers)
{
    /// <summary>
    /// Device property marking a peer library (ONNX Runtime, ...): it is run only when named with --device, so the
    /// default run evaluates ChipKit's own devices and a peer's wrong answers never fail a run nobody asked it into.
    /// </summary>
    public const string PeerProperty = "peer";

    /// <summary>
    /// Device property marking a device that is run only when named with --device because it is far too slow for a
    /// default run (ILGPU's CPU accelerator emulates every GPU thread with an OS thread). Not a peer: its results are
    /// ChipKit's own and are compared like any device's.
    /// </summary>
    public const string OnlyWhenNamedProperty = "only_when_named";

    /// <summary>The providers that need no extra project: the CPU SIMD backend and the reference oracle.</summary>
    public static IReadOnlyList<IDeviceProvider> BuiltInProviders { get; } = [new CpuProvider(), new ReferenceProvider()];

    /// <summary>A registry of the built-in providers only.</summary>
    public static DeviceRegistry Default { get; } = new(BuiltInProviders);

    public IReadOnlyList<IDeviceProvider> Providers { get; } = providers;

    public IReadOnlyList<DeviceInfo> List(DeviceOptions options) => Providers.SelectMany(p => p.List(options)).ToList();

    /// <summary>Opens a comma-separated list of ids ("cpu,ref"); "all" or null means every available device except peers and devices run only when named.</summary>
    public IReadOnlyList<IDevice> Open(string? ids, DeviceOptions options)
    {
        if (string.IsNullOrWhiteSpace(ids) || ids.Trim() == "all")
        {
            return List(options).Where(d => d.Available && !Flag(d, PeerProperty) && !Flag(d, OnlyWhenNamedProperty))
                .Select(d => OpenOne(d.Id, options)).ToList();
        }

        var devices = new List<IDevice>();
        foreach (string raw in ids.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            devices.Add(OpenOne(raw, options));
        }

        return devices;
    }

    private IDevice OpenOne(string id, DeviceOptions options)
    {
        foreach (IDeviceProvider p in Providers)
        {
            IDevice? d = p.TryOpen(id, options);
            if (d is not null)
            {
                return d;
            }
        }

        throw new ChipKitInputException(
            $"--device '{id}': unknown device; known devices: {string.Join(", ", List(options).Select(d => d.Id))} (see `chipkit devices`)");
    }

    private sealed class CpuProvider : IDeviceProvider
    {
        public IEnumerable<DeviceInfo> List(DeviceOptions options)
        {
            using var d = new CpuDevice(options.Threads);
            yield return d.Info;
        }

        public IDevice? TryOpen(string id, DeviceOptions options) => id == "cpu" ? new CpuDevice(options.Threads) : null;
    }

    private sealed class ReferenceProvider : IDeviceProvider
    {
        public IEnumerable<DeviceInfo> List(DeviceOptions options)
        {
            yield return new ReferenceDevice().Info;
        }

        public IDevice? TryOpen(string id, DeviceOptions options) => id == "ref" ? new ReferenceDevice() : null;
    }

    private static bool Flag(DeviceInfo d, string property) => d.Properties.TryGetValue(property, out string? v) && v == "true";
}
