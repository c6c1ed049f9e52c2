using ChipKit.Accel;
using ChipKit.Models.Kernels;
using ChipKit.Models.Tflite;

namespace ChipKit.Models;

/// <summary>
/// Maps the operators of a TFLite int8 network to shapes <see cref="ModelCost"/> understands (see its remarks):
/// CONV_2D → one systolic layer of N*OH*OW pixels x KH*KW*C window x OC filters; FULLY_CONNECTED → GEMM batch x K x
/// N; DEPTHWISE_CONV_2D → C grouped layers of N*OH*OW pixels x KH*KW taps x depth-multiplier filters; the rest →
/// vector-unit lane operations per output element (ADD 10: two input rescales and the output rescale at two each, the
/// subtract, add, zero point and clamp; AVERAGE_POOL_2D one add per window element and 4 for the rounded division;
/// MAX_POOL_2D one compare per window element; SOFTMAX 32 (max, exp polynomial, sum, reciprocal, scale);
/// QUANTIZE/DEQUANTIZE 4); RESHAPE is free.
/// </summary>
public static class NpuModelCost
{
    public static IReadOnlyList<ModelOpShape> Shapes(TfliteModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var interp = new Interpreter(model, fast: false);
        var shapes = new List<ModelOpShape>();
        foreach (Kernels.Layer l in interp.Layers)
        {
            string name = $"{l.Op.Index}:{l.Name}";
            long outputs = l.Out.Length;
            switch (l)
            {
                case ConvLayer c when c.Depthwise:
                {
                    Window g = c.Geometry;
                    var layer = new Accel.Layer(name, (long)g.N * g.OH * g.OW, (long)g.KH * g.KW, c.DepthMultiplier, (long)g.N * g.H * g.W);
                    shapes.Add(new ModelOpShape(name, ModelOpKind.Grouped, layer, g.C));
                    break;
                }

                case ConvLayer c:
                {
                    Window g = c.Geometry;
                    var layer = new Accel.Layer(name, (long)g.N * g.OH * g.OW, (long)g.KH * g.KW * g.C, g.OC, (long)g.N * g.H * g.W * g.C);
                    shapes.Add(new ModelOpShape(name, ModelOpKind.Gemm, layer));
                    break;
                }

                case AddLayer:
                    shapes.Add(new ModelOpShape(name, ModelOpKind.Vector, LaneOps: 10 * outputs, ReadBytes: 2 * outputs, WriteBytes: outputs));
                    break;
                case PoolLayer p:
                {
                    Window g = p.Geometry;
                    long window = (long)g.KH * g.KW;
                    long perOutput = p.Op.Op == TfliteOp.AveragePool2D ? window + 4 : window;
                    shapes.Add(new ModelOpShape(name, ModelOpKind.Vector, LaneOps: perOutput * outputs, ReadBytes: l.In.Length, WriteBytes: outputs));
                    break;
                }

                case SoftmaxLayer:
                    shapes.Add(new ModelOpShape(name, ModelOpKind.Vector, LaneOps: 32 * outputs, ReadBytes: l.In.Length, WriteBytes: outputs));
                    break;
                case CopyLayer:
                    shapes.Add(new ModelOpShape(name, ModelOpKind.Free));
                    break;
                default:
                    shapes.Add(new ModelOpShape(name, ModelOpKind.Vector, LaneOps: 4 * outputs, ReadBytes: l.In.Length, WriteBytes: outputs));
                    break;
            }
        }

        return shapes;
    }

    /// <summary>The modeled cost of one inference of <paramref name="model"/> on <paramref name="module"/> at <paramref name="point"/>.</summary>
    public static ModelCostResult Evaluate(TfliteModel model, ModuleSpec module, OperatingPoint point) =>
        ModelCost.Evaluate(Shapes(model), module, point);
}
