namespace ChipKit.Core.Workloads;

/// <summary>
/// Result of checking one output against the oracle.
/// Float: MaxAbs is max |y - ref|; MaxRel is max |y - ref| / magnitude (normwise per element); Bound is the allowed MaxRel.
/// Integer: MaxAbs is the largest difference, MaxRel and Bound are 0 (bit-exact).
/// </summary>
public sealed record VerifyOutcome(bool Passed, double MaxAbs, double MaxRel, double Bound, long Mismatches, long FirstBadIndex, string? Message);
