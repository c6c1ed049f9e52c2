using ChipKit.Core;
using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;

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
        try
        {
            w = c.BuildWorkload();
        }
        catch (ChipKitInputException e)
        {
            return new CaseOutcome(c, CaseOutcome.Unsupported, null, $"not a valid case: {e.Message}");
        }

        OpData data = w.CreateData(c.Seed);
        PatternFiller.Apply(data, c.Pattern, c.Seed);
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
}
