namespace ChipKit.Harness.Runner;

/// <summary>Where a run stands: step <see cref="Index"/> of <see cref="Total"/> (workload x device pairs).</summary>
public sealed record RunProgress(int Index, int Total, string Workload, string Device, string Phase);
