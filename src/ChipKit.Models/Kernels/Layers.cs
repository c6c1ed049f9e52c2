using System.Runtime.InteropServices;
using ChipKit.Models.Tflite;

namespace ChipKit.Models.Kernels;

/// <summary>Where a tensor lives in the interpreter's arena (byte offset and byte length).</summary>
public readonly record struct Slot(int Offset, int Length);

/// <summary>
/// One prepared operator: quantisation parameters derived once (as TFLite Micro's Prepare does), weights packed once
/// for the fast path, and a Run that reads and writes only the planned arena (no allocation per inference).
/// </summary>
public abstract class Layer
{
    protected Layer(TfliteOperator op, Slot input, Slot output)
    {
        Op = op;
        In = input;
        Out = output;
    }

    public TfliteOperator Op { get; }
    public Slot In { get; }
    public Slot Out { get; }
    public string Name => TfliteReader.OpName(Op.Op);

    /// <summary>Multiply-accumulates per inference (conv, depthwise, FC); 0 for the others.</summary>
    public virtual long Macs => 0;

    /// <summary>True when this layer runs a fast path distinct from its scalar reference.</summary>
    public virtual bool HasFastPath => false;

    public abstract void Run(byte[] arena, bool fast);

    protected static Span<sbyte> S8(byte[] arena, Slot s) => MemoryMarshal.Cast<byte, sbyte>(arena.AsSpan(s.Offset, s.Length));

    protected static int Clamp(int v, int lo, int hi) => v < lo ? lo : v > hi ? hi : v;
}

/// <summary>Output geometry and the asymmetric SAME padding of a 2-D window op (TFLite ComputePaddingHeightWidth).</summary>
public readonly record struct Window(int N, int H, int W, int C, int OH, int OW, int OC, int KH, int KW, int SH, int SW, int DH, int DW, int PadTop, int PadLeft, int PadBottom, int PadRight)
{
    public static int OutSize(TflitePadding p, int size, int k, int stride, int dilation)
    {
        int effK = (k - 1) * dilation + 1;
        return p == TflitePadding.Same ? (size + stride - 1) / stride : (size - effK + stride) / stride;
    }

    public static (int Before, int After) PadOf(TflitePadding p, int size, int outSize, int k, int stride, int dilation)
    {
        if (p != TflitePadding.Same)
        {
            return (0, 0);
        }

        int effK = (k - 1) * dilation + 1;
        int total = Math.Max((outSize - 1) * stride + effK - size, 0);
        return (total / 2, total - total / 2);
    }
}

internal static class Requant
{
    /// <summary>TFLite CalculateActivationRangeQuantized for int8.</summary>
    public static (int Min, int Max) ActivationRange(TfliteActivation act, float scale, int zp)
    {
        int Q(float f) => zp + (int)MathF.Round(f / scale, MidpointRounding.AwayFromZero);
        return act switch
        {
            TfliteActivation.None => (-128, 127),
            TfliteActivation.Relu => (Math.Max(-128, zp), 127),
            TfliteActivation.Relu6 => (Math.Max(-128, zp), Math.Min(127, Q(6f))),
            TfliteActivation.ReluN1To1 => (Math.Max(-128, Q(-1f)), Math.Min(127, Q(1f))),
            _ => throw new InvalidOperationException($"activation {act}"),
        };
    }
}

/// <summary>CONV_2D, DEPTHWISE_CONV_2D (per-channel) and FULLY_CONNECTED (a 1x1 conv over a 1x1 image).</summary>
public sealed class ConvLayer : Layer
{
    private readonly Window _g;
    private readonly bool _depthwise;
    private readonly int _depthMultiplier;
    private readonly sbyte[] _w;      // conv [O, KH, KW, C]; depthwise [KH, KW, OC]
    private readonly int[] _bias;     // [OC], zeros when absent
    private readonly int _inZp, _outZp, _actMin, _actMax;
    private readonly int[] _mult, _shift;

    // fast path state, built once: packed weights, tap offsets, int16 input scratch
    private readonly FastConv? _fastConv;
    private readonly FastDepthwise? _fastDw;

    public ConvLayer(TfliteOperator op, Slot input, Slot output, Window g, bool depthwise, int depthMultiplier, sbyte[] weights, int[] bias,
        int inZp, int outZp, int actMin, int actMax, int[] mult, int[] shift, bool buildFastPath = true) : base(op, input, output)
    {
        _g = g;
        _depthwise = depthwise;
        _depthMultiplier = depthMultiplier;
        _w = weights;
        _bias = bias;
        _inZp = inZp;
        _outZp = outZp;
        _actMin = actMin;
        _actMax = actMax;
        _mult = mult;
        _shift = shift;
        if (!buildFastPath)
        {
            return;
        }

        if (depthwise)
        {
            _fastDw = new FastDepthwise(g, depthMultiplier, weights, bias, mult, shift, inZp, outZp, actMin, actMax);
        }
        else
        {
            _fastConv = new FastConv(g, weights, bias, mult, shift, inZp, outZp, actMin, actMax);
        }
    }

    public override long Macs => (long)_g.N * _g.OH * _g.OW * _g.OC * _g.KH * _g.KW * (_depthwise ? 1 : _g.C);

    public override bool HasFastPath => _fastConv is not null || _fastDw is not null;

    /// <summary>Whether this is a DEPTHWISE_CONV_2D.</summary>
    public bool Depthwise => _depthwise;

    /// <summary>Output channels per input channel (depthwise; 1 otherwise).</summary>
    public int DepthMultiplier => _depthMultiplier;

    public IReadOnlyList<int> Multipliers => _mult;
    public IReadOnlyList<int> Shifts => _shift;
    public Window Geometry => _g;

    /// <summary>The int8 weights as the model stores them: conv [OC, KH, KW, C], depthwise [KH, KW, OC], FC [OC, K].</summary>
    public ReadOnlySpan<sbyte> Weights => _w;

    /// <summary>The int32 bias per output channel (zeros when the model has none).</summary>
    public ReadOnlySpan<int> Bias => _bias;

    public int InputZeroPoint => _inZp;
    public int OutputZeroPoint => _outZp;
    public int ActivationMin => _actMin;
    public int ActivationMax => _actMax;

    public override void Run(byte[] arena, bool fast)
    {
        Span<sbyte> x = S8(arena, In);
        Span<sbyte> y = S8(arena, Out);
        if (fast && _fastDw is not null)
        {
            _fastDw.Run(x, y);
        }
        else if (fast && _fastConv is not null)
        {
            _fastConv.Run(x, y);
        }
        else if (_depthwise)
        {
            RunDepthwiseRef(x, y);
        }
        else
        {
            RunConvRef(x, y);
        }
    }

    private sbyte Finish(int acc, int oc)
    {
        int v = FixedPoint.MultiplyByQuantizedMultiplier(acc, _mult[oc], _shift[oc]) + _outZp;
        return (sbyte)Clamp(v, _actMin, _actMax);
    }

    // ---- scalar reference (TFLM reference_integer_ops) ----

    private void RunConvRef(ReadOnlySpan<sbyte> x, Span<sbyte> y)
    {
        Window g = _g;
        for (int n = 0; n < g.N; n++)
        {
            for (int oy = 0; oy < g.OH; oy++)
            {
                for (int ox = 0; ox < g.OW; ox++)
                {
                    int iy0 = oy * g.SH - g.PadTop, ix0 = ox * g.SW - g.PadLeft;
                    for (int oc = 0; oc < g.OC; oc++)
                    {
                        int acc = 0;
                        for (int ky = 0; ky < g.KH; ky++)
                        {
                            int iy = iy0 + g.DH * ky;
                            if (iy < 0 || iy >= g.H)
                            {
                                continue;
                            }

                            for (int kx = 0; kx < g.KW; kx++)
                            {
                                int ix = ix0 + g.DW * kx;
                                if (ix < 0 || ix >= g.W)
                                {
                                    continue;
                                }

                                int xb = ((n * g.H + iy) * g.W + ix) * g.C;
                                int wb = ((oc * g.KH + ky) * g.KW + kx) * g.C;
                                for (int c = 0; c < g.C; c++)
                                {
                                    acc += _w[wb + c] * (x[xb + c] - _inZp);
                                }
                            }
                        }

                        y[((n * g.OH + oy) * g.OW + ox) * g.OC + oc] = Finish(acc + _bias[oc], oc);
                    }
                }
            }
        }
    }

    private void RunDepthwiseRef(ReadOnlySpan<sbyte> x, Span<sbyte> y)
    {
        Window g = _g;
        for (int n = 0; n < g.N; n++)
        {
            for (int oy = 0; oy < g.OH; oy++)
            {
                for (int ox = 0; ox < g.OW; ox++)
                {
                    int iy0 = oy * g.SH - g.PadTop, ix0 = ox * g.SW - g.PadLeft;
                    for (int ic = 0; ic < g.C; ic++)
                    {
                        for (int m = 0; m < _depthMultiplier; m++)
                        {
                            int oc = ic * _depthMultiplier + m;
                            int acc = 0;
                            for (int ky = 0; ky < g.KH; ky++)
                            {
                                int iy = iy0 + g.DH * ky;
                                if (iy < 0 || iy >= g.H)
                                {
                                    continue;
                                }

                                for (int kx = 0; kx < g.KW; kx++)
                                {
                                    int ix = ix0 + g.DW * kx;
                                    if (ix < 0 || ix >= g.W)
                                    {
                                        continue;
                                    }

                                    acc += _w[(ky * g.KW + kx) * g.OC + oc] * (x[((n * g.H + iy) * g.W + ix) * g.C + ic] - _inZp);
                                }
                            }

                            y[((n * g.OH + oy) * g.OW + ox) * g.OC + oc] = Finish(acc + _bias[oc], oc);
                        }
                    }
                }
            }
        }
    }
}

/// <summary>ADD, int8, same shapes (TFLM reference_integer_ops::Add with left_shift 20).</summary>
public sealed class AddLayer(TfliteOperator op, Slot in1, Slot in2, Slot output, int zp1, int zp2, int zpOut,
    (int M, int S) m1, (int M, int S) m2, (int M, int S) mOut, int actMin, int actMax) : Layer(op, in1, output)
{
    public const int LeftShift = 20;
    public Slot In2 { get; } = in2;
    public (int M, int S) Input1Multiplier => m1;
    public (int M, int S) Input2Multiplier => m2;
    public (int M, int S) OutputMultiplier => mOut;
    public (int Input1, int Input2, int Output) ZeroPoints => (zp1, zp2, zpOut);
    public int ActivationMin => actMin;
    public int ActivationMax => actMax;

    public override bool HasFastPath => true;

    public override void Run(byte[] arena, bool fast)
    {
        Span<sbyte> a = S8(arena, In), b = S8(arena, In2), y = S8(arena, Out);
        int i = 0;
        if (fast && FastKernels.UseAvx2)
        {
            i = FastElementwise.Add(a, b, y, zp1, zp2, zpOut, m1, m2, mOut, actMin, actMax);
        }

        for (; i < y.Length; i++)
        {
            int s1 = FixedPoint.MultiplyByQuantizedMultiplier((a[i] - zp1) * (1 << LeftShift), m1.M, m1.S);
            int s2 = FixedPoint.MultiplyByQuantizedMultiplier((b[i] - zp2) * (1 << LeftShift), m2.M, m2.S);
            int v = FixedPoint.MultiplyByQuantizedMultiplier(s1 + s2, mOut.M, mOut.S) + zpOut;
            y[i] = (sbyte)Clamp(v, actMin, actMax);
        }
    }
}

/// <summary>AVERAGE_POOL_2D and MAX_POOL_2D, int8 (no rescaling; padded positions excluded).</summary>
public sealed class PoolLayer(TfliteOperator op, Slot input, Slot output, Window g, bool average, int actMin, int actMax) : Layer(op, input, output)
{
    public Window Geometry => g;
    public bool Average => average;
    public int ActivationMin => actMin;
    public int ActivationMax => actMax;

    private readonly int[] _sums = new int[g.C];

    public override bool HasFastPath => average;

    public override void Run(byte[] arena, bool fast)
    {
        Span<sbyte> x = S8(arena, In), y = S8(arena, Out);
        if (fast && average)
        {
            FastElementwise.AveragePool(x, y, g, actMin, actMax, _sums);
            return;
        }

        for (int n = 0; n < g.N; n++)
        {
            for (int oy = 0; oy < g.OH; oy++)
            {
                for (int ox = 0; ox < g.OW; ox++)
                {
                    int iy0 = oy * g.SH - g.PadTop, ix0 = ox * g.SW - g.PadLeft;
                    int y0 = Math.Max(0, -iy0), y1 = Math.Min(g.KH, g.H - iy0);
                    int x0 = Math.Max(0, -ix0), x1 = Math.Min(g.KW, g.W - ix0);
                    for (int c = 0; c < g.C; c++)
                    {
                        int sum = 0, count = 0, max = -128;
                        for (int ky = y0; ky < y1; ky++)
                        {
                            for (int kx = x0; kx < x1; kx++)
                            {
                                int v = x[((n * g.H + iy0 + ky) * g.W + ix0 + kx) * g.C + c];
                                sum += v;
                                count++;
                                max = Math.Max(max, v);
                            }
                        }

                        int r;
                        if (average)
                        {
                            // TFLM: count 0 cannot happen for valid geometry; guard anyway
                            r = count == 0 ? 0 : sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
                        }
                        else
                        {
                            r = max;
                        }

                        y[((n * g.OH + oy) * g.OW + ox) * g.C + c] = (sbyte)Clamp(r, actMin, actMax);
                    }
                }
            }
        }
    }
}

/// <summary>RESHAPE: a byte copy.</summary>
public sealed class CopyLayer(TfliteOperator op, Slot input, Slot output) : Layer(op, input, output)
{
    public override void Run(byte[] arena, bool fast)
    {
        if (In.Offset != Out.Offset)
        {
            Buffer.BlockCopy(arena, In.Offset, arena, Out.Offset, In.Length);
        }
    }
}

/// <summary>SOFTMAX int8 → int8 (TFLM reference/softmax.h, gemmlowp fixed point).</summary>
public sealed class SoftmaxLayer(TfliteOperator op, Slot input, Slot output, int depth, int inputMultiplier, int inputLeftShift, int diffMin) : Layer(op, input, output)
{
    public int InputMultiplier => inputMultiplier;
    public int InputLeftShift => inputLeftShift;
    public int DiffMin => diffMin;

    /// <summary>Elements per row (the last dimension).</summary>
    public int Depth => depth;

    public override void Run(byte[] arena, bool fast)
    {
        Span<sbyte> x = S8(arena, In), y = S8(arena, Out);
        for (int row = 0; row < x.Length / depth; row++)
        {
            Span<sbyte> xi = x.Slice(row * depth, depth), yi = y.Slice(row * depth, depth);
            int max = -128;
            foreach (sbyte v in xi)
            {
                max = Math.Max(max, v);
            }

            int sum = 0;
            foreach (sbyte v in xi)
            {
                int diff = v - max;
                if (diff >= diffMin)
                {
                    int scaled = FixedPoint.SatRoundDoublingHighMul(diff * (1 << inputLeftShift), inputMultiplier);
                    sum += FixedPoint.RoundingDivideByPot(FixedPoint.ExpOnNegativeValues(scaled), 12);
                }
            }

            int recip = FixedPoint.GetReciprocal(sum, 12, out int bitsOverUnit);
            for (int c = 0; c < depth; c++)
            {
                int diff = xi[c] - max;
                if (diff >= diffMin)
                {
                    int scaled = FixedPoint.SatRoundDoublingHighMul(diff * (1 << inputLeftShift), inputMultiplier);
                    int e = FixedPoint.ExpOnNegativeValues(scaled);
                    int o = FixedPoint.RoundingDivideByPot(FixedPoint.SatRoundDoublingHighMul(recip, e), bitsOverUnit + 23) - 128;
                    yi[c] = (sbyte)Clamp(o, -128, 127);
                }
                else
                {
                    yi[c] = -128;
                }
            }
        }
    }
}

/// <summary>QUANTIZE (float32 → int8, or int8 → int8 requantisation) and DEQUANTIZE (int8 → float32).</summary>
public sealed class QuantizeLayer(TfliteOperator op, Slot input, Slot output, TfliteType from, TfliteType to, float inScale, int inZp, float outScale, int outZp) : Layer(op, input, output)
{
    private readonly (int M, int S) _requant = from == TfliteType.Int8 && to == TfliteType.Int8
        ? FixedPoint.QuantizeMultiplier((double)inScale / outScale) : (0, 0);

    public override void Run(byte[] arena, bool fast)
    {
        if (from == TfliteType.Float32)
        {
            Span<float> x = MemoryMarshal.Cast<byte, float>(arena.AsSpan(In.Offset, In.Length));
            Span<sbyte> y = S8(arena, Out);
            for (int i = 0; i < y.Length; i++)
            {
                int q = (int)MathF.Round(x[i] / outScale, MidpointRounding.AwayFromZero) + outZp;
                y[i] = (sbyte)Clamp(q, -128, 127);
            }
        }
        else if (to == TfliteType.Float32)
        {
            Span<sbyte> x = S8(arena, In);
            Span<float> y = MemoryMarshal.Cast<byte, float>(arena.AsSpan(Out.Offset, Out.Length));
            for (int i = 0; i < y.Length; i++)
            {
                y[i] = (float)((double)inScale * (x[i] - inZp));
            }
        }
        else
        {
            Span<sbyte> x = S8(arena, In), y = S8(arena, Out);
            for (int i = 0; i < y.Length; i++)
            {
                int v = FixedPoint.MultiplyByQuantizedMultiplier(x[i] - inZp, _requant.M, _requant.S) + outZp;
                y[i] = (sbyte)Clamp(v, -128, 127);
            }
        }
    }
}
