namespace ChipKit.Harness.Validation;

// `chipkit validate` report, schema "chipkit.validation/1" (snake_case JSON, see ResultsFile.Options).

public sealed class ValidationReport
{
    public const string SchemaId = "chipkit.validation/1";

    public string Schema { get; set; } = SchemaId;
    public DateTimeOffset Created { get; set; }
    public Results.ToolRecord Chipkit { get; set; } = new();
    public Results.MachineRecord Machine { get; set; } = new();
    public Results.DeviceRecord Device { get; set; } = new();
    public string Level { get; set; } = "";
    public int Seed { get; set; }
    public double Seconds { get; set; }

    /// <summary>True when every case of every claimed op passed.</summary>
    public bool Passed { get; set; }
    public List<OpReport> Ops { get; set; } = [];
}

public sealed class OpReport
{
    public string Op { get; set; } = "";

    /// <summary>Whether the device claims the op (it has a kernel for it). Unclaimed ops are "not supported", not failures.</summary>
    public bool Claimed { get; set; }
    public int Cases { get; set; }
    public int Passed { get; set; }
    public int Failed { get; set; }

    /// <summary>Cases of a claimed op for which the device has no kernel (a variant it does not support).</summary>
    public int Unsupported { get; set; }
    public double Seconds { get; set; }

    /// <summary>Largest deviation over the cases that ran: floats normwise against the bound, integers must be 0.</summary>
    public Results.ErrorRecord? WorstError { get; set; }
    public string? WorstCase { get; set; }

    /// <summary>The first failure shrunk to the smallest case that still fails: the reproducer.</summary>
    public FailureRecord? SmallestFailure { get; set; }
    public List<FailureRecord> Failures { get; set; } = [];
}

public sealed class FailureRecord
{
    /// <summary>The case as a reproducer: spec, seed, value pattern and quantisation variant.</summary>
    public string Case { get; set; } = "";
    public string Spec { get; set; } = "";
    public int Seed { get; set; }
    public string Values { get; set; } = "";
    public string Quant { get; set; } = "";
    public string Message { get; set; } = "";

    /// <summary>For the shrunk failure: the case it was shrunk from and how many runs shrinking took.</summary>
    public string? ShrunkFrom { get; set; }
    public int? ShrinkRuns { get; set; }
}
