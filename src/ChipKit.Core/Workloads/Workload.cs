namespace ChipKit.Core.Workloads;

/// <summary>
/// One op with concrete shapes and types. It generates its own operands from a seed (never all zeros),
/// asks the oracle for the expected output, and checks a kernel's output against it.
/// </summary>
public abstract class Workload
{
    /// <summary>"gemm", "conv", "qgemm" or "qconv".</summary>
    public abstract string Op { get; }

    /// <summary>Canonical spec string: parsing it gives back an equal workload.</summary>
    public abstract string Spec { get; }

    /// <summary>The parameters, in canonical order, for the results file.</summary>
    public abstract IReadOnlyList<KeyValuePair<string, string>> Params { get; }

    /// <summary>Operations per run (2 per multiply-accumulate, padded taps included).</summary>
    public abstract double Ops { get; }

    /// <summary>Bytes of inputs and outputs, for memory planning.</summary>
    public abstract long Bytes { get; }

    /// <summary>Fresh operands with deterministic contents for this seed; the output buffer is poisoned.</summary>
    public abstract OpData CreateData(int seed);

    /// <summary>The oracle's output for these operands.</summary>
    public abstract Expected ComputeReference(OpData data);

    /// <summary>Checks the output buffer of <paramref name="data"/> against <paramref name="expected"/>.</summary>
    public abstract VerifyOutcome Verify(OpData data, Expected expected);

    /// <summary>Fills the output with a value no correct kernel writes (NaN, or a pattern), so stale output cannot pass.</summary>
    public abstract void PoisonOutput(OpData data);

    public override string ToString() => Spec;
}
