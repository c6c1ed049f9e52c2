using ChipKit.Core.Workloads;

namespace ChipKit.Harness.Suites;

/// <summary>A named, ordered list of workloads.</summary>
public sealed record Suite(string Name, IReadOnlyList<Workload> Workloads);
