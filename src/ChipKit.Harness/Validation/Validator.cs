using System.Diagnostics;
using System.Globalization;
using System.Text;
using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;
using ChipKit.Harness.Results;

namespace ChipKit.Harness.Validation;

/// <summary>
/// Runs the validation cases of every requested op on one device and builds the report. Which ops a device claims is
/// asked of the device itself (does it have a kernel for the op's probe case), so a new device or op needs no change here.
/// </summary>
public sealed class Validator(IDevice device, ValidationLevel level, int seed)
{
    /// <summary>A small case per op used to ask the device whether it claims the op.</summary>
    public static readonly IReadOnlyDictionary<string, string> Probes = new Dictionary<string, string>
    {
        ["gemm"] = "gemm:m=4,n=4,k=4",
        ["conv"] = "conv:n=1,c=2,h=4,w=4,k=2,r=3,s=3,pad=1",
        ["qgemm"] = "qgemm:m=4,n=4,k=4,dtype=u8,wtype=s8",
        ["qconv"] = "qconv:n=1,c=2,h=4,w=4,k=2,r=3,s=3,pad=1,dtype=u8,wtype=s8",
    };

    /// <summary>Called after each case (for progress output).</summary>
    public event Action<string, int, int, CaseOutcome>? CaseDone;

    public int MaxListedFailures { get; init; } = 20;

    public ValidationReport Run(IReadOnlyList<string> ops)
    {
        var total = Stopwatch.StartNew();
        var report = new ValidationReport
        {
            Created = DateTimeOffset.UtcNow,
            Chipkit = MachineProbe.Tool(),
            Machine = MachineProbe.Machine(),
            Device = new DeviceRecord
            {
                Id = device.Info.Id, Backend = device.Info.Backend, Name = device.Info.Name, Available = device.Info.Available,
                Reason = device.Info.Reason, Properties = device.Info.Properties.ToDictionary(p => p.Key, p => p.Value),
            },
            Level = level.ToString().ToLowerInvariant(),
            Seed = seed,
        };
        foreach (string op in ops)
        {
            report.Ops.Add(RunOp(op));
        }

        report.Seconds = total.Elapsed.TotalSeconds;
        report.Passed = report.Ops.All(o => o.Failed == 0);
        return report;
    }

    private bool Claims(string op)
    {
        using IKernel? k = device.CreateKernel(WorkloadSpec.Parse(Probes[op]));
        return k is not null;
    }

    private OpReport RunOp(string op)
    {
        var sw = Stopwatch.StartNew();
        var r = new OpReport { Op = op };
        try
        {
            r.Claimed = device.Info.Available && Claims(op);
        }
        catch (Exception e)
        {
            // A device that throws when asked for a kernel claims nothing it can run: that is a failure, with the reason.
            r.Claimed = true;
            r.Failed = 1;
            r.Failures.Add(new FailureRecord { Case = Probes[op], Spec = Probes[op], Message = $"creating a kernel threw {e.GetType().Name}: {e.Message}" });
            return r;
        }

        if (!r.Claimed)
        {
            return r;
        }

        // ONNX's own conformance vectors first, then the generated edge cases.
        List<ValidationCase> cases = [.. CaseRunner.OnnxCases(op), .. CaseGenerator.For(op, level, seed).Where(c => PatternFiller.AppliesTo(op, c.Pattern))];
        CaseOutcome? firstFailure = null;
        for (int i = 0; i < cases.Count; i++)
        {
            CaseOutcome o = CaseRunner.Run(device, cases[i]);
            r.Cases++;
            switch (o.Status)
            {
                case CaseOutcome.Passed:
                    r.Passed++;
                    break;
                case CaseOutcome.Unsupported:
                    r.Unsupported++;
                    break;
                default:
                    r.Failed++;

                    // Shrink a generated case when there is one: its shape can be reduced; a vector's cannot.
                    if (firstFailure is null || (firstFailure.Case.OnnxVector is not null && o.Case.OnnxVector is null))
                    {
                        firstFailure = o;
                    }

                    if (r.Failures.Count < MaxListedFailures)
                    {
                        r.Failures.Add(ToRecord(o));
                    }

                    break;
            }

            if (o.Verify is not null && (r.WorstError is null || Worse(o.Verify, r.WorstError)))
            {
                r.WorstError = new ErrorRecord { MaxAbs = Finite(o.Verify.MaxAbs), MaxRel = Finite(o.Verify.MaxRel), Bound = o.Verify.Bound, Mismatches = o.Verify.Mismatches };
                r.WorstCase = o.Case.ToString();
            }

            CaseDone?.Invoke(op, i + 1, cases.Count, o);
        }

        if (firstFailure is not null)
        {
            (CaseOutcome smallest, int runs) = firstFailure.Case.OnnxVector is null
                ? Shrinker.Shrink(c => CaseRunner.Run(device, c), firstFailure)
                : (firstFailure, 0);
            FailureRecord rec = ToRecord(smallest);
            rec.ShrunkFrom = firstFailure.Case.ToString();
            rec.ShrinkRuns = runs;
            r.SmallestFailure = rec;
        }

        r.Seconds = sw.Elapsed.TotalSeconds;
        return r;
    }

    private static bool Worse(VerifyOutcome v, ErrorRecord e) =>
        v.Bound > 0 || e.Bound > 0 ? Finite(v.MaxRel) / Math.Max(v.Bound, 1e-300) > e.MaxRel / Math.Max(e.Bound, 1e-300) : v.MaxAbs > e.MaxAbs;

    private static double Finite(double x) => double.IsFinite(x) ? x : double.MaxValue;

    private static FailureRecord ToRecord(CaseOutcome o) => new()
    {
        Case = o.Case.ToString(),
        Spec = o.Case.Spec,
        Seed = o.Case.Seed,
        Values = o.Case.Pattern.ToString(),
        Quant = o.Case.Variant.ToString(),
        Message = o.Message ?? "",
    };

    /// <summary>The per-op table as Markdown (also readable as plain text).</summary>
    public static string ToMarkdown(ValidationReport report)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"# ChipKit validation: {report.Device.Id} ({report.Device.Name})");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Level `{report.Level}`, seed {report.Seed}, {report.Seconds:0.0} s, ChipKit {report.Chipkit.Version} ({report.Chipkit.Commit ?? "unknown commit"}), {report.Machine.Cpu}.");
        sb.AppendLine(CultureInfo.InvariantCulture, $"Result: **{(report.Passed ? "PASS" : "FAIL")}**. Integers must be bit-exact; fp32 within the normwise bound (K+4)*2^-23. Cases: ONNX's own conformance vectors, then generated edge cases.");
        sb.AppendLine();
        sb.AppendLine("| op | claimed | cases | passed | failed | unsupported | worst error | seconds | smallest failing case |");
        sb.AppendLine("|---|---|---:|---:|---:|---:|---|---:|---|");
        foreach (OpReport o in report.Ops)
        {
            string worst = o.WorstError is null ? "-"
                : o.WorstError.Bound == 0 ? (o.WorstError.Mismatches == 0 ? "exact" : $"{o.WorstError.Mismatches} differ")
                : $"{o.WorstError.MaxRel:0.0e+0} (bound {o.WorstError.Bound:0.0e+0})";
            string claimed = o.Claimed ? "yes" : "not supported";
            string smallest = o.SmallestFailure is null ? "-" : $"`{o.SmallestFailure.Case}`";
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {o.Op} | {claimed} | {o.Cases} | {o.Passed} | {o.Failed} | {o.Unsupported} | {worst} | {o.Seconds:0.0} | {smallest} |");
        }

        foreach (OpReport o in report.Ops.Where(o => o.Failed > 0))
        {
            sb.AppendLine();
            sb.AppendLine(CultureInfo.InvariantCulture, $"## {o.Op}: {o.Failed} failed");
            if (o.SmallestFailure is not null)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"Smallest failing case (shrunk from `{o.SmallestFailure.ShrunkFrom}` in {o.SmallestFailure.ShrinkRuns} runs):");
                sb.AppendLine(CultureInfo.InvariantCulture, $"`{o.SmallestFailure.Case}`: {o.SmallestFailure.Message}");
                sb.AppendLine();
            }

            foreach (FailureRecord f in o.Failures)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"- `{f.Case}`: {f.Message}");
            }
        }

        return sb.ToString();
    }
}
