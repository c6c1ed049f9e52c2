using ChipKit.Core.Devices;

namespace ChipKit.Models.Onnx;

/// <summary>
/// One executed step of an ONNX graph (a node, or a folded QDQ group) with its checked parameters and inferred output.
/// A layer is immutable and shared by sessions; <see cref="Bind"/> makes the per-session runner.
/// </summary>
public abstract class OnnxLayer
{
    protected OnnxLayer(string op, OnnxValue output, params OnnxValue[] inputs)
    {
        Op = op;
        Output = output;
        Inputs = inputs;
    }

    /// <summary>Index of the node in graph.node (for a folded group: the Conv / MatMul / Gemm node).</summary>
    public int NodeIndex { get; internal set; }

    public string NodeName { get; internal set; } = "";

    /// <summary>The ONNX operator, or a description of the folded QDQ group.</summary>
    public string Op { get; }

    /// <summary>Tensors the layer reads at run time (weights and quantisation parameters are folded in).</summary>
    public IReadOnlyList<OnnxValue> Inputs { get; }

    public OnnxValue Output { get; }

    /// <summary>Multiply-accumulates of one run (conv and matmul layers).</summary>
    public virtual double Macs => 0;

    /// <summary>A bound on elementary operations of one run, used to refuse runaway work.</summary>
    public virtual double Work => Output.Count;

    /// <summary>True when the output shares the input's buffer (Reshape, Flatten).</summary>
    public virtual bool AliasesInput => false;

    /// <summary>Bytes the cpu kernels allocate beyond the output buffer (packed weights, im2col, accumulators).</summary>
    public virtual double ScratchBytes => 0;

    /// <summary>True when the cpu device runs this layer on ChipKit.Cpu's SIMD kernels (else the scalar code of both devices).</summary>
    public virtual bool HasFastPath => false;

    public override string ToString() => $"node {NodeIndex} ('{NodeName}', {Op}) -> {Output}";

    /// <summary>Binds the layer to the session's buffers and returns the run action (which must not allocate).</summary>
    internal abstract Action Bind(OnnxSession session, out string kernel);
}
