using System.Globalization;
using ChipKit.Core.Descriptors;
using ChipKit.Core.Workloads;

namespace ChipKit.Harness.Validation;

/// <summary>How the operands of a validation case are filled.</summary>
public enum ValuePattern
{
    /// <summary>The workload's own generator: uniform fp32 in [-1, 1), 8-bit over the whole range.</summary>
    Random,

    /// <summary>8-bit: activations at the top of their range, weights alternating min/max (all-255 x -128/127); fp32: +-1 only.</summary>
    Extremes,

    /// <summary>fp32: magnitudes from 2^-40 to 2^41 with random signs (cancellation, wide dynamic range).</summary>
    MixedMagnitudes,

    /// <summary>fp32: random values salted with negative zero, subnormals and the smallest normals.</summary>
    SpecialValues,

    /// <summary>8-bit: every value within 3 of its zero point, so accumulators stay small and requantised outputs land on ties.</summary>
    NearZeroPoint,
}

/// <summary>How the quantisation parameters of a quantised case are changed from the generated ones.</summary>
public enum QuantVariant
{
    Default,

    /// <summary>Zero points at the bottom of each type's range (0 for u8, -128 for s8).</summary>
    ZeroPointMin,

    /// <summary>Zero points at the top of each type's range (255 for u8, 127 for s8).</summary>
    ZeroPointMax,

    /// <summary>Multiplier exactly 0.5, so odd accumulators land on .5: catches a wrong rounding mode (half to even is required).</summary>
    TieScales,

    /// <summary>A tiny y_scale: nearly every output saturates.</summary>
    TinyOutputScale,

    /// <summary>A huge y_scale: nearly every output rounds to the zero point.</summary>
    HugeOutputScale,
}

/// <summary>
/// One validation case: a workload spec, how its operands are filled, and (for quantised ops) how its quantisation
/// parameters are changed; or, when <see cref="OnnxVector"/> is set, one of ONNX's own conformance vectors (its label,
/// e.g. "test_matmul_3d[batch 1]") with the vector's operands. <see cref="ToString"/> is the reproducer a vendor can run.
/// </summary>
public sealed record ValidationCase(string Spec, ValuePattern Pattern, QuantVariant Variant, int Seed, string? OnnxVector = null)
{
    public string Op => Spec[..Spec.IndexOf(':', StringComparison.Ordinal)];

    public override string ToString()
    {
        if (OnnxVector is not null)
        {
            return $"onnx-node/{OnnxVector} ({Spec})";
        }

        string s = $"{Spec} seed={Seed.ToString(CultureInfo.InvariantCulture)}";
        if (Pattern != ValuePattern.Random)
        {
            s += $" values={Pattern}";
        }

        if (Variant != QuantVariant.Default)
        {
            s += $" quant={Variant}";
        }

        return s;
    }

    /// <summary>The workload with the quantisation variant applied.</summary>
    public Workload BuildWorkload()
    {
        Workload w = WorkloadSpec.Parse(Spec);
        if (Variant == QuantVariant.Default)
        {
            return w;
        }

        return w switch
        {
            QGemmWorkload q => new QGemmWorkload(q.Desc with
            {
                AQuant = Vary(q.Desc.AQuant, q.Desc.AType, Variant, Role.Input),
                BQuant = Vary(q.Desc.BQuant, q.Desc.BType, Variant, Role.Weight),
                YQuant = q.Desc.YQuant is null ? null : Vary(q.Desc.YQuant, q.Desc.YType, Variant, Role.Output),
            }, q.PerChannel),
            QConvWorkload q => new QConvWorkload(q.Desc with
            {
                XQuant = Vary(q.Desc.XQuant, q.Desc.XType, Variant, Role.Input),
                WQuant = Vary(q.Desc.WQuant, q.Desc.WType, Variant, Role.Weight),
                YQuant = q.Desc.YQuant is null ? null : Vary(q.Desc.YQuant, q.Desc.YType, Variant, Role.Output),
            }, q.PerChannel),
            _ => w,
        };
    }

    private enum Role
    {
        Input,
        Weight,
        Output,
    }

    private static QuantParams Vary(QuantParams p, DataType t, QuantVariant v, Role role)
    {
        float[] scales = (float[])p.Scales.Clone();
        int[] zps = (int[])p.ZeroPoints.Clone();
        switch (v)
        {
            case QuantVariant.ZeroPointMin:
                Array.Fill(zps, t.MinValue());
                break;
            case QuantVariant.ZeroPointMax:
                Array.Fill(zps, t.MaxValue());
                break;
            case QuantVariant.TieScales:
                // x_scale 2^-3, w_scale 2^-4 (per channel too), y_scale 2^-6: the multiplier is exactly 0.5 in float and
                // double, so every odd accumulator is a tie (with NearZeroPoint data most outputs stay unsaturated).
                Array.Fill(scales, role switch
                {
                    Role.Output => 1f / 64,
                    Role.Weight => 1f / 16,
                    _ => 1f / 8,
                });
                break;
            case QuantVariant.TinyOutputScale when role == Role.Output:
                Array.Fill(scales, 1e-9f);
                break;
            case QuantVariant.HugeOutputScale when role == Role.Output:
                Array.Fill(scales, 1e9f);
                break;
        }

        return new QuantParams(scales, zps);
    }
}
