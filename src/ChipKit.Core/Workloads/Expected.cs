namespace ChipKit.Core.Workloads;

/// <summary>The oracle's answer for one workload instance.</summary>
public abstract record Expected;

/// <summary>
/// Float reference: exact-as-double values and, per element, the magnitude sum |alpha|*sum|a*b| + |beta*c| + |bias|
/// that bounds the rounding error of any summation order. <see cref="Bound"/> is the allowed normwise relative error.
/// </summary>
public sealed record FloatExpected(double[] Values, double[] Magnitudes, double Bound) : Expected;

/// <summary>Integer reference: outputs must match bit for bit.</summary>
public sealed record IntExpected(int[] Values) : Expected;
