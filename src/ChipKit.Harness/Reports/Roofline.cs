using ChipKit.Core;
using ChipKit.Core.Workloads;
using ChipKit.Harness.Results;

namespace ChipKit.Harness.Reports;

/// <summary>
/// Roofline arithmetic: a workload's operational intensity (operations per byte of the minimum DRAM traffic: every
/// input, weight and output moved once, nothing re-read) and the attainable throughput under a device's ceilings,
/// min(compute peak, bandwidth x intensity).
/// </summary>
public static class Roofline
{
    /// <summary>The data type whose compute ceiling applies to an op: fp32 for gemm/conv, int8 for qgemm/qconv; null for others.</summary>
    public static string? DataType(string op) => op switch
    {
        "gemm" or "conv" => "fp32",
        "qgemm" or "qconv" => "int8",
        _ => null,
    };

    /// <summary>
    /// Bytes a workload must move at least: inputs, weights (and bias) and outputs once each. fp32 GEMM reads C only
    /// when beta != 0. Null when the spec does not parse (a results file from another version, say).
    /// </summary>
    public static long? MinimumTrafficBytes(string workloadSpec)
    {
        Workload w;
        try
        {
            w = WorkloadSpec.Parse(workloadSpec);
        }
        catch (ChipKitInputException)
        {
            return null;
        }

        return w switch
        {
            GemmWorkload g => 4L * (((long)g.Desc.M * g.Desc.K) + ((long)g.Desc.K * g.Desc.N) + ((long)g.Desc.M * g.Desc.N * (g.Desc.Beta != 0f ? 2 : 1))),
            ConvWorkload c => w.Bytes + (c.HasBias ? 4L * c.Desc.K : 0),
            QConvWorkload q => w.Bytes + (q.Desc.HasBias ? 4L * q.Desc.Conv.K : 0),
            _ => w.Bytes,
        };
    }

    /// <summary>Operations per byte of minimum traffic; null when the workload's traffic is unknown.</summary>
    public static double? Intensity(ResultRecord r) =>
        r.Ops > 0 && MinimumTrafficBytes(r.Workload) is long b && b > 0 ? r.Ops / b : null;

    /// <summary>The compute ceiling (GOP/s) of a device for an op's data type, or null when the device's peak record lacks it.</summary>
    public static double? ComputeCeiling(PeakRecord? peak, string op) =>
        peak is not null && DataType(op) is string t && peak.ComputeGops.TryGetValue(t, out double g) && g > 0 ? g : null;

    /// <summary>min(compute, bandwidth x intensity) in GOP/s; null without both ceilings.</summary>
    public static double? Attainable(PeakRecord? peak, string op, double intensity)
    {
        if (ComputeCeiling(peak, op) is not double compute || peak!.MemoryGbps is not double bw || bw <= 0)
        {
            return null;
        }

        return Math.Min(compute, bw * intensity);
    }

    /// <summary>The intensity where the bandwidth roof meets a compute roof (the ridge point), ops per byte.</summary>
    public static double Ridge(double computeGops, double memoryGbps) => computeGops / memoryGbps;
}
