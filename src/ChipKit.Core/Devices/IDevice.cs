using ChipKit.Core.Workloads;

namespace ChipKit.Core.Devices;

/// <summary>How a time figure was obtained.</summary>
public enum TimeSource
{
    /// <summary>Host wall clock (Stopwatch) around the run.</summary>
    Wall,

    /// <summary>Device-side events or counters.</summary>
    DeviceEvents,

    /// <summary>A cycle model divided by the modeled clock.</summary>
    Modeled,
}

/// <summary>How an energy figure was obtained. Anything but None, Rapl, Nvml and External is not a measurement.</summary>
public enum EnergySource
{
    None,
    Rapl,
    Nvml,
    Modeled,
    Declared,
    External,
}

/// <summary>What `chipkit devices` lists about a device.</summary>
public sealed record DeviceInfo(string Id, string Backend, string Name, bool Available, string? Reason, IReadOnlyDictionary<string, string> Properties);

/// <summary>
/// A compute device. It keeps an ordered list of kernels per op (oneDNN's implementation lists):
/// the first kernel that supports a workload runs it.
/// </summary>
public interface IDevice : IDisposable
{
    DeviceInfo Info { get; }

    /// <summary>How this device's times are measured.</summary>
    TimeSource TimeSource { get; }

    /// <summary>A kernel for the workload, or null when the device does not support it (the result is "skipped").</summary>
    IKernel? CreateKernel(Workload workload);
}

/// <summary>
/// One implementation of one op. Prepare once (pack weights, allocate scratch), then Run many times without allocating.
/// </summary>
public interface IKernel : IDisposable
{
    /// <summary>Name recorded in results, e.g. "cpu.gemm.f32.packed.v512".</summary>
    string Name { get; }

    /// <summary>Binds the kernel to the operands; packs weights and allocates what Run needs.</summary>
    void Prepare(OpData data);

    /// <summary>Computes the output of the bound operands into their output buffer.</summary>
    void Run();
}
