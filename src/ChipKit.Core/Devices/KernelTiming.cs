namespace ChipKit.Core.Devices;

/// <summary>
/// A kernel whose device measures its own time (OpenCL profiling events, CUDA events). The runner uses the returned
/// device seconds instead of the host clock and records <c>time_source: device-events</c>.
/// </summary>
public interface IDeviceTimedKernel : IKernel
{
    /// <summary>Runs once, like <see cref="IKernel.Run"/>, and returns the device-measured seconds of that run.</summary>
    double RunTimed();
}

/// <summary>
/// The cost of one run as a model predicts it (a modeled accelerator): deterministic, so it is one sample.
/// <see cref="EnergyBreakdown"/> splits <see cref="Joules"/> by component (mac, sram_ifmap, dram, leakage, ...).
/// </summary>
public sealed record ModeledCost(double Seconds, long Cycles, double Joules, IReadOnlyDictionary<string, double> EnergyBreakdown);

/// <summary>
/// A kernel of a modeled device: <see cref="IKernel.Run"/> computes the real outputs (so they are verified like any
/// device's) and <see cref="Cost"/> gives the modeled time and energy. The runner records
/// <c>time_source: modeled</c> and energy <c>source: modeled</c>, never as a measurement.
/// </summary>
public interface IModeledKernel : IKernel
{
    /// <summary>The modeled cost of one run of the prepared workload.</summary>
    ModeledCost Cost { get; }
}
