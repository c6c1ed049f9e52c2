using ChipKit.Core;
using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;
using ChipKit.Onnx;

namespace ChipKit.Harness.Validation;

/// <summary>The outcome of one validation case on one device.</summary>
public sealed record CaseOutcome(ValidationCase Case, string Status, VerifyOutcome? Verify, string? Message)
{
    public const string Passed = "passed";
    public const string Failed = "failed";
    public const string Unsupported = "unsupported";
}

/// <summary>Runs one case: operands from the seed and pattern, the oracle's answer, the device's kernel, the comparison.</summary>
public static class CaseRunner
{
    public static CaseOutcome Run(IDevice device, ValidationCase c)
    {
        Workload w;
        OpData data;
        try
        {
            if (c.OnnxVector is not null)
            {
                OnnxCaseInstance instance = OnnxVector(c.OnnxVector);
                (w, data) = (instance.Workload, instance.Data);
                w.PoisonOutput(data);
            }
            else
            {
                w = c.BuildWorkload();
                data = w.CreateData(c.Seed);
                PatternFiller.Apply(data, c.Pattern, c.Seed);
            }
        }
        catch (Exception e) when (e is ChipKitInputException or NotSupportedException)
        {
            return new CaseOutcome(c, CaseOutcome.Unsupported, null, $"not a valid case: {e.Message}");
        }

        Expected expected = w.ComputeReference(data);
        string phase = "creating the kernel";
        try
        {
            using IKernel? kernel = device.CreateKernel(w);
            if (kernel is null)
            {
                return new CaseOutcome(c, CaseOutcome.Unsupported, null, $"{device.Info.Id} has no kernel for this case");
            }

            phase = "prepare";
            kernel.Prepare(data);
            phase = "run";
            kernel.Run();
            VerifyOutcome v = w.Verify(data, expected);
            return v.Passed
                ? new CaseOutcome(c, CaseOutcome.Passed, v, null)
                : new CaseOutcome(c, CaseOutcome.Failed, v, $"{kernel.Name}: {v.Message}");
        }
        catch (Exception e)
        {
            return new CaseOutcome(c, CaseOutcome.Failed, null, $"{phase} threw {e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>The ONNX cases of one op: one per vector piece (label), or the reason a vector cannot be expressed.</summary>
    public static IEnumerable<ValidationCase> OnnxCases(string op)
    {
        foreach ((string name, string onnxOp) in OnnxVectorCases.Folders())
        {
            if (!OnnxVectorCases.OpMap.TryGetValue(onnxOp, out string? mapped) || mapped != op)
            {
                continue;
            }

            foreach (OnnxCaseInstance i in OnnxVectorCases.Load(name).Instances)
            {
                yield return new ValidationCase(i.Workload.Spec, ValuePattern.Random, QuantVariant.Default, 0, i.Label);
            }
        }
    }

    private static OnnxCaseInstance OnnxVector(string label)
    {
        string name = label.Split('[')[0];
        return OnnxVectorCases.Load(name).Instances.First(i => i.Label == label);
    }
}
