using ChipKit.Core;
using ChipKit.Core.Descriptors;
using Onnx;

namespace ChipKit.Models.Onnx;

/// <summary>
/// Turns a parsed ModelProto into checked layers: opset and domains, initializers (decoded after their sizes are
/// checked), graph inputs with static shapes, QDQ groups folded, then every node in graph order with its attributes,
/// input types and shapes checked and its output shape inferred. Finally the planned memory is checked against
/// ChipKit's budget, so a hostile model is refused before the session allocates anything.
/// </summary>
internal sealed partial class OnnxGraphBuilder
{
    private const string MsDomain = "com.microsoft";

    private static readonly HashSet<string> DefaultOps = new(StringComparer.Ordinal)
    {
        "QLinearConv", "QLinearMatMul", "QuantizeLinear", "DequantizeLinear", "MatMulInteger", "ConvInteger",
        "Add", "Relu", "Clip", "MaxPool", "AveragePool", "GlobalAveragePool", "Reshape", "Flatten", "Softmax",
        "Conv", "MatMul", "Gemm",
    };

    private readonly string _file;
    private readonly ModelProto _model;
    private readonly Dictionary<string, OnnxValue> _values = new(StringComparer.Ordinal);
    private readonly List<string> _notes = [];
    private readonly List<OnnxLayer> _layers = [];
    private int _opset;
    private int _msOpset;

    public OnnxGraphBuilder(string file, ModelProto model)
    {
        _file = file;
        _model = model;
    }

    private ChipKitInputException Error(string where, string message) => new($"{_file}: {where}: {message}");

    public OnnxModel Build()
    {
        ReadOpsets();
        GraphProto g = _model.Graph ?? throw Error("graph", "the model has no graph");
        if (g.Node.Count == 0)
        {
            throw Error("graph", "the graph has no nodes");
        }

        if (g.SparseInitializer.Count > 0)
        {
            throw Error("graph, field sparse_initializer", "sparse initializers are not supported");
        }

        foreach (TensorProto t in g.Initializer)
        {
            ReadInitializer(t);
        }

        var inputs = new List<OnnxValue>();
        foreach (ValueInfoProto vi in g.Input)
        {
            if (_values.TryGetValue(vi.Name, out OnnxValue? existing) && existing.IsConstant)
            {
                continue; // an initializer listed as an input (IR < 4 style): a constant here
            }

            OnnxValue v = ReadGraphInput(vi);
            if (!_values.TryAdd(v.Name, v))
            {
                throw Error($"graph input '{vi.Name}'", "the name is defined twice");
            }

            inputs.Add(v);
        }

        if (inputs.Count == 0)
        {
            throw Error("graph, field input", "the graph has no runtime input");
        }

        var nodes = g.Node;
        for (int i = 0; i < nodes.Count; i++)
        {
            CheckSupported(i, nodes[i]);
        }

        var consumers = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (int i = 0; i < nodes.Count; i++)
        {
            foreach (string name in nodes[i].Input)
            {
                if (name.Length == 0)
                {
                    continue;
                }

                if (!consumers.TryGetValue(name, out List<int>? list))
                {
                    consumers[name] = list = [];
                }

                list.Add(i);
            }
        }

        var graphOutputs = new HashSet<string>(g.Output.Select(o => o.Name), StringComparer.Ordinal);
        Dictionary<int, QdqGroup> groups = FindQdqGroups(nodes, consumers, graphOutputs);
        var skipped = new HashSet<int>();
        foreach (QdqGroup grp in groups.Values)
        {
            if (grp.Relu >= 0)
            {
                skipped.Add(grp.Relu);
            }

            skipped.Add(grp.Quantize);
        }

        // A DequantizeLinear whose every consumer was folded (and whose output is no graph output) does not run.
        var folded = new HashSet<int>(groups.Keys);
        for (int i = 0; i < nodes.Count; i++)
        {
            if (nodes[i].OpType == "DequantizeLinear" && nodes[i].Domain is "" or "ai.onnx" && nodes[i].Output.Count > 0)
            {
                string o = nodes[i].Output[0];
                if (!graphOutputs.Contains(o) && consumers.TryGetValue(o, out List<int>? c) && c.All(folded.Contains))
                {
                    skipped.Add(i);
                }
            }
        }

        for (int i = 0; i < nodes.Count; i++)
        {
            if (skipped.Contains(i))
            {
                continue;
            }

            NodeProto node = nodes[i];
            var ctx = new OnnxNodeContext(_file, i, node, node.Domain == MsDomain ? _msOpset : _opset, Lookup);
            OnnxLayer layer = groups.TryGetValue(i, out QdqGroup? grp) ? BuildQdq(ctx, grp, nodes) : BuildNode(ctx);
            layer.NodeIndex = i;
            layer.NodeName = node.Name;
            if (layer.Output.LongCount > Check.MaxElements)
            {
                throw ctx.Error("output", $"tensor '{layer.Output.Name}' {layer.Output.ShapeText} would have more than {Check.MaxElements} elements");
            }
            if (!_values.TryAdd(layer.Output.Name, layer.Output))
            {
                throw ctx.Error("output", $"tensor '{layer.Output.Name}' is defined twice");
            }

            _layers.Add(layer);
        }

        var outputs = new List<OnnxValue>();
        foreach (ValueInfoProto vi in g.Output)
        {
            OnnxValue v = Lookup(vi.Name) ?? throw Error($"graph output '{vi.Name}'", "no node, input or initializer defines it");
            if (v.IsConstant)
            {
                throw Error($"graph output '{vi.Name}'", "is a constant; ChipKit runs graphs whose outputs are computed");
            }

            CheckDeclared(vi, v);
            outputs.Add(v);
        }

        if (outputs.Count == 0)
        {
            throw Error("graph, field output", "the graph has no output");
        }

        var model = new OnnxModel(_file, _opset, inputs, outputs, _layers, _notes);

        // The session allocates one buffer per tensor plus the cpu kernels' packed weights and scratch: refuse now.
        double bytes = model.ActivationBytes + _layers.Sum(l => l.ScratchBytes);
        Check.MemoryBudget(bytes, $"{_file}: running this model");
        return model;
    }

    private OnnxValue? Lookup(string name) => _values.GetValueOrDefault(name);

    private void ReadOpsets()
    {
        _opset = -1;
        _msOpset = -1;
        foreach (OperatorSetIdProto o in _model.OpsetImport)
        {
            if (o.Domain is "" or "ai.onnx")
            {
                _opset = (int)Math.Clamp(o.Version, int.MinValue, int.MaxValue);
            }
            else if (o.Domain == MsDomain)
            {
                _msOpset = (int)Math.Clamp(o.Version, int.MinValue, int.MaxValue);
            }
        }

        if (_opset < 0)
        {
            throw Error("opset_import", "the model imports no default ONNX opset");
        }

        if (_opset < MinOpset || _opset > OnnxModel.MaxOpset)
        {
            throw Error("opset_import", $"default-domain opset {_opset} is not supported; expected {MinOpset} to {OnnxModel.MaxOpset}");
        }
    }

    private const int MinOpset = OnnxModel.MinOpset;

    private void CheckSupported(int i, NodeProto n)
    {
        string where = OnnxNodeContext.Describe(i, n);
        if (n.Domain is "" or "ai.onnx")
        {
            if (!DefaultOps.Contains(n.OpType))
            {
                throw Error(where, $"operator {OnnxNodeContext.Printable(n.OpType)} is not supported (supported: {string.Join(", ", DefaultOps.Order(StringComparer.Ordinal))}, com.microsoft QLinearAdd)");
            }
        }
        else if (n.Domain == MsDomain)
        {
            if (n.OpType != "QLinearAdd")
            {
                throw Error(where, $"operator {MsDomain}.{OnnxNodeContext.Printable(n.OpType)} is not supported (only QLinearAdd of that domain)");
            }

            if (_msOpset < 1)
            {
                throw Error(where, $"the model uses domain {MsDomain} but does not import it");
            }
        }
        else
        {
            throw Error(where, $"operator domain '{OnnxNodeContext.Printable(n.Domain)}' is not supported");
        }
    }

    private static OnnxElem? ElemOf(int dataType) => dataType switch
    {
        1 => OnnxElem.F32,
        2 => OnnxElem.U8,
        3 => OnnxElem.S8,
        6 => OnnxElem.S32,
        7 => OnnxElem.I64,
        _ => null,
    };

    private static string TypeName(int dataType) => Enum.IsDefined(typeof(TensorProto.Types.DataType), dataType)
        ? ((TensorProto.Types.DataType)dataType).ToString()
        : $"code {dataType}";

    private void ReadInitializer(TensorProto t)
    {
        string where = $"initializer '{t.Name}'";
        if (t.Name.Length == 0)
        {
            throw Error("initializer", "an initializer has no name");
        }

        OnnxElem type = ElemOf(t.DataType) ?? throw Error(where + ", field data_type", $"{TypeName(t.DataType)} is not supported (float32, uint8, int8, int32, int64)");
        var shape = new int[t.Dims.Count];
        long count = 1;
        for (int d = 0; d < shape.Length; d++)
        {
            long dim = t.Dims[d];
            if (dim < 1 || dim > Check.MaxElements)
            {
                throw Error(where + ", field dims", $"dimension {d} is {dim}; expected 1 to {Check.MaxElements}");
            }

            count *= dim;
            if (count > Check.MaxElements)
            {
                throw Error(where + ", field dims", $"[{string.Join(",", t.Dims)}] has more than {Check.MaxElements} elements");
            }

            shape[d] = (int)dim;
        }

        Array data = OnnxModel.DecodeInitializer(t, type, count, (field, msg) => Error(where + ", field " + field, msg));
        if (!_values.TryAdd(t.Name, new OnnxValue(t.Name, type, shape, data)))
        {
            throw Error(where, "the name is defined twice");
        }
    }

    private OnnxValue ReadGraphInput(ValueInfoProto vi)
    {
        string where = $"graph input '{vi.Name}'";
        if (vi.Name.Length == 0)
        {
            throw Error("graph input", "an input has no name");
        }

        TypeProto.Types.Tensor tt = vi.Type?.TensorType ?? throw Error(where + ", field type", "is not a tensor");
        OnnxElem type = ElemOf(tt.ElemType) is { } e && e != OnnxElem.I64
            ? e
            : throw Error(where + ", field elem_type", $"{TypeName(tt.ElemType)} is not supported for a runtime input (float32, uint8, int8, int32)");
        TensorShapeProto s = tt.Shape ?? throw Error(where + ", field shape", "no shape; ChipKit needs static shapes");
        var shape = new int[s.Dim.Count];
        long count = 1;
        for (int d = 0; d < shape.Length; d++)
        {
            TensorShapeProto.Types.Dimension dim = s.Dim[d];
            long v;
            if (dim.HasDimValue)
            {
                v = dim.DimValue;
                if (v < 1 || v > Check.MaxElements)
                {
                    throw Error(where + ", field shape", $"dimension {d} is {v}; expected a positive size");
                }
            }
            else if (d == 0 && shape.Length > 1)
            {
                v = 1;
                _notes.Add($"graph input '{vi.Name}': symbolic batch dimension '{dim.DimParam}' fixed to 1");
            }
            else
            {
                throw Error(where + ", field shape", $"dimension {d} is symbolic ('{dim.DimParam}'); ChipKit needs static shapes (only a symbolic batch dimension 0 is fixed to 1)");
            }

            count *= v;
            if (count > Check.MaxElements)
            {
                throw Error(where + ", field shape", $"has more than {Check.MaxElements} elements");
            }

            shape[d] = (int)v;
        }

        return new OnnxValue(vi.Name, type, shape);
    }

    private void CheckDeclared(ValueInfoProto vi, OnnxValue v)
    {
        string where = $"graph output '{vi.Name}'";
        TypeProto.Types.Tensor? tt = vi.Type?.TensorType;
        if (tt is null)
        {
            return;
        }

        if (tt.ElemType != 0 && tt.ElemType != (int)v.Type)
        {
            throw Error(where + ", field elem_type", $"declared {TypeName(tt.ElemType)} but the graph computes {v.Type.Name()}");
        }

        if (tt.Shape is { } s && s.Dim.Count > 0)
        {
            if (s.Dim.Count != v.Shape.Length)
            {
                throw Error(where + ", field shape", $"declared rank {s.Dim.Count} but the graph computes {v.ShapeText}");
            }

            for (int d = 0; d < s.Dim.Count; d++)
            {
                if (s.Dim[d].HasDimValue && s.Dim[d].DimValue != v.Shape[d] && !(d == 0 && v.Shape[d] == 1 && _notes.Count > 0))
                {
                    throw Error(where + ", field shape", $"declared dimension {d} = {s.Dim[d].DimValue} but the graph computes {v.ShapeText}");
                }
            }
        }
    }
}
