namespace ChipKit.Models.Onnx;

/// <summary>QuantizeLinear / DequantizeLinear: one scale and zero point per tensor, or per index of one axis.</summary>
public abstract class PerAxisQuantLayer : OnnxLayer
{
    private readonly int _axisLen, _inner;

    private protected PerAxisQuantLayer(string op, OnnxValue x, OnnxValue y, float[] scales, int[] zps, int axisLen, int inner)
        : base(op, y, x)
    {
        Scales = scales;
        ZeroPoints = zps;
        _axisLen = axisLen;
        _inner = inner;
    }

    private protected float[] Scales { get; }

    private protected int[] ZeroPoints { get; }

    /// <summary>The axis index (scale / zero point entry) of flat element <paramref name="i"/>.</summary>
    private protected int Channel(int i) => _axisLen == 1 ? 0 : (i / _inner) % _axisLen;
}

/// <summary>
/// QuantizeLinear: y = saturate(round_half_even(x / y_scale) + y_zero_point), x / y_scale in float32 as ONNX's
/// reference computes it; NaN maps to the zero point. Per-tensor or per-axis.
/// </summary>
public sealed class QuantizeLayer : PerAxisQuantLayer
{
    internal QuantizeLayer(OnnxValue x, OnnxValue y, float[] scales, int[] zps, int axisLen, int inner)
        : base("QuantizeLinear", x, y, scales, zps, axisLen, inner)
    {
    }

    internal override Action Bind(OnnxSession s, out string kernel)
    {
        OnnxBuffer x = s.Get(Inputs[0]), y = s.Define(Output);
        kernel = "scalar.quantize";
        int min = Output.Type == OnnxElem.S8 ? -128 : 0, max = Output.Type == OnnxElem.S8 ? 127 : 255;
        return () =>
        {
            float[] xf = x.Floats!;
            byte[] yb = y.Bytes!;
            for (int i = 0; i < xf.Length; i++)
            {
                int ch = Channel(i);
                float v = xf[i] / Scales[ch];
                double r = float.IsNaN(v) ? 0 : Math.Round((double)v, MidpointRounding.ToEven) + ZeroPoints[ch];
                yb[i] = unchecked((byte)(int)(r < min ? min : r > max ? max : r));
            }
        };
    }
}

/// <summary>DequantizeLinear: y = ((float)x - (float)zero_point) * scale in float32 (ONNX's reference). Per-tensor or per-axis.</summary>
public sealed class DequantizeLayer : PerAxisQuantLayer
{
    internal DequantizeLayer(OnnxValue x, OnnxValue y, float[] scales, int[] zps, int axisLen, int inner)
        : base("DequantizeLinear", x, y, scales, zps, axisLen, inner)
    {
    }

    internal override Action Bind(OnnxSession s, out string kernel)
    {
        OnnxBuffer x = s.Get(Inputs[0]), y = s.Define(Output);
        kernel = "scalar.dequantize";
        OnnxElem t = Inputs[0].Type;
        return () =>
        {
            float[] yf = y.Floats!;
            for (int i = 0; i < yf.Length; i++)
            {
                int ch = Channel(i);
                float q = t switch
                {
                    OnnxElem.U8 => x.Bytes![i],
                    OnnxElem.S8 => (sbyte)x.Bytes![i],
                    _ => x.Ints![i],
                };
                yf[i] = (q - (float)ZeroPoints[ch]) * Scales[ch];
            }
        };
    }
}

/// <summary>Index arithmetic of numpy-style (multidirectional) broadcasting, precomputed at load.</summary>
internal sealed class BroadcastMap
{
    private readonly int[] _shape, _aStride, _bStride;

    public BroadcastMap(int[] outShape, int[] a, int[] b)
    {
        int r = outShape.Length;
        _shape = outShape;
        _aStride = Strides(a, r);
        _bStride = Strides(b, r);
        Same = a.AsSpan().SequenceEqual(outShape) && b.AsSpan().SequenceEqual(outShape);
    }

    /// <summary>Both operands have the output's shape: offsets are the output index.</summary>
    public bool Same { get; }

    private static int[] Strides(int[] s, int r)
    {
        var st = new int[r];
        int stride = 1;
        for (int i = r - 1; i >= 0; i--)
        {
            int j = i - (r - s.Length);
            int d = j >= 0 ? s[j] : 1;
            st[i] = d == 1 ? 0 : stride;
            stride *= d;
        }

        return st;
    }

    public void Offsets(int i, out int a, out int b)
    {
        a = 0;
        b = 0;
        for (int d = _shape.Length - 1; d >= 0; d--)
        {
            int idx = i % _shape[d];
            i /= _shape[d];
            a += idx * _aStride[d];
            b += idx * _bStride[d];
        }
    }
}

/// <summary>Add of float32 (float arithmetic) or int32 (wrapping) tensors with broadcasting.</summary>
public sealed class AddLayer : OnnxLayer
{
    private readonly BroadcastMap _map;

    internal AddLayer(OnnxValue a, OnnxValue b, OnnxValue y)
        : base("Add", y, a, b)
    {
        _map = new BroadcastMap(y.Shape, a.Shape, b.Shape);
    }

    internal override Action Bind(OnnxSession s, out string kernel)
    {
        OnnxBuffer a = s.Get(Inputs[0]), b = s.Get(Inputs[1]), y = s.Define(Output);
        kernel = "scalar.add";
        BroadcastMap m = _map;
        if (Output.Type == OnnxElem.F32)
        {
            return () =>
            {
                float[] af = a.Floats!, bf = b.Floats!, yf = y.Floats!;
                for (int i = 0; i < yf.Length; i++)
                {
                    int ia = i, ib = i;
                    if (!m.Same)
                    {
                        m.Offsets(i, out ia, out ib);
                    }

                    yf[i] = af[ia] + bf[ib];
                }
            };
        }

        return () =>
        {
            int[] ai = a.Ints!, bi = b.Ints!, yi = y.Ints!;
            for (int i = 0; i < yi.Length; i++)
            {
                int ia = i, ib = i;
                if (!m.Same)
                {
                    m.Offsets(i, out ia, out ib);
                }

                yi[i] = unchecked(ai[ia] + bi[ib]);
            }
        };
    }
}

/// <summary>
/// com.microsoft QLinearAdd: C = saturate(round_half_even((a_scale*(A - a_zp) + b_scale*(B - b_zp)) / c_scale) + c_zp),
/// evaluated in double (ONNX Runtime evaluates it in float, so it may differ by 1 where the float rounding differs).
/// </summary>
public sealed class QLinearAddLayer : OnnxLayer
{
    private readonly BroadcastMap _map;
    private readonly double _as, _bs, _cs;
    private readonly int _az, _bz, _cz;

    internal QLinearAddLayer(OnnxValue a, OnnxValue b, OnnxValue y, Core.Descriptors.QuantParams aq, Core.Descriptors.QuantParams bq, Core.Descriptors.QuantParams cq)
        : base("QLinearAdd", y, a, b)
    {
        _map = new BroadcastMap(y.Shape, a.Shape, b.Shape);
        (_as, _az) = (aq.Scale(0), aq.ZeroPoint(0));
        (_bs, _bz) = (bq.Scale(0), bq.ZeroPoint(0));
        (_cs, _cz) = (cq.Scale(0), cq.ZeroPoint(0));
    }

    internal override Action Bind(OnnxSession s, out string kernel)
    {
        OnnxBuffer a = s.Get(Inputs[0]), b = s.Get(Inputs[1]), y = s.Define(Output);
        kernel = "scalar.qlinearadd";
        bool signed = Output.Type == OnnxElem.S8;
        int min = signed ? -128 : 0, max = signed ? 127 : 255;
        BroadcastMap m = _map;
        return () =>
        {
            byte[] ab = a.Bytes!, bb = b.Bytes!, yb = y.Bytes!;
            for (int i = 0; i < yb.Length; i++)
            {
                int ia = i, ib = i;
                if (!m.Same)
                {
                    m.Offsets(i, out ia, out ib);
                }

                int av = signed ? (sbyte)ab[ia] : ab[ia], bv = signed ? (sbyte)bb[ib] : bb[ib];
                double v = Math.Round(((_as * (av - _az)) + (_bs * (bv - _bz))) / _cs, MidpointRounding.ToEven) + _cz;
                yb[i] = unchecked((byte)(int)(v < min ? min : v > max ? max : v));
            }
        };
    }
}

/// <summary>Clip (and Relu as Clip(0, +inf)) of float32, uint8, int8 or int32 data.</summary>
public sealed class ClipLayer : OnnxLayer
{
    private readonly double _min, _max;

    internal ClipLayer(string op, OnnxValue x, OnnxValue y, double min, double max)
        : base(op, y, x)
    {
        _min = min;
        _max = max;
    }

    internal override Action Bind(OnnxSession s, out string kernel)
    {
        OnnxBuffer x = s.Get(Inputs[0]), y = s.Define(Output);
        kernel = "scalar." + Op.ToLowerInvariant();
        switch (Output.Type)
        {
            case OnnxElem.F32:
                {
                    float lo = (float)Math.Max(_min, float.MinValue), hi = (float)Math.Min(_max, float.MaxValue);
                    bool relu = _min == 0 && double.IsPositiveInfinity(_max);
                    return () =>
                    {
                        float[] xf = x.Floats!, yf = y.Floats!;
                        for (int i = 0; i < yf.Length; i++)
                        {
                            float v = xf[i];
                            yf[i] = relu ? (v < 0 ? 0f : v) : MathF.Min(MathF.Max(v, lo), hi); // min > max gives max, as numpy's clip
                        }
                    };
                }

            case OnnxElem.S32:
                {
                    int lo = (int)Math.Clamp(Math.Ceiling(_min), int.MinValue, int.MaxValue), hi = (int)Math.Clamp(Math.Floor(_max), int.MinValue, int.MaxValue);
                    return () =>
                    {
                        int[] xi = x.Ints!, yi = y.Ints!;
                        for (int i = 0; i < yi.Length; i++)
                        {
                            yi[i] = Math.Min(Math.Max(xi[i], lo), hi);
                        }
                    };
                }

            default:
                {
                    bool signed = Output.Type == OnnxElem.S8;
                    int lo = (int)Math.Clamp(Math.Ceiling(_min), signed ? -128 : 0, signed ? 127 : 255);
                    int hi = (int)Math.Clamp(Math.Floor(_max), signed ? -128 : 0, signed ? 127 : 255);
                    return () =>
                    {
                        byte[] xb = x.Bytes!, yb = y.Bytes!;
                        for (int i = 0; i < yb.Length; i++)
                        {
                            int v = signed ? (sbyte)xb[i] : xb[i];
                            yb[i] = unchecked((byte)(lo > hi ? hi : Math.Min(Math.Max(v, lo), hi)));
                        }
                    };
                }
        }
    }
}

/// <summary>Geometry of a 2-D pooling window over NCHW data.</summary>
public sealed record PoolGeometry(int N, int C, int H, int W, int KH, int KW, int SH, int SW, int DH, int DW,
    int PadTop, int PadLeft, int PadBottom, int PadRight, int P, int Q)
{
    /// <summary>Taps r in [0, k) with 0 <= start + r*d < limit: the first and the end (exclusive).</summary>
    internal static (int First, int End) Taps(long start, int k, int d, long limit)
    {
        long first = start >= 0 ? 0 : (-start + d - 1) / d;
        long end = limit - start <= 0 ? 0 : Math.Min(k, (limit - start + d - 1) / d);
        return ((int)Math.Min(first, k), (int)Math.Max(end, Math.Min(first, k)));
    }
}

/// <summary>
/// MaxPool (float32, uint8, int8) and AveragePool (float32, sum in double) over NCHW. A window with no input tap gives
/// the type's lowest value (max) or 0 (average without padding counted).
/// </summary>
public sealed class PoolLayer : OnnxLayer
{
    internal PoolLayer(bool max, OnnxValue x, OnnxValue y, PoolGeometry g, bool countIncludePad)
        : base(max ? "MaxPool" : "AveragePool", y, x)
    {
        Max = max;
        Geometry = g;
        CountIncludePad = countIncludePad;
    }

    public bool Max { get; }

    public PoolGeometry Geometry { get; }

    public bool CountIncludePad { get; }

    public override double Work => (double)Output.Count * Math.Min(Geometry.KH, Geometry.H) * Math.Min(Geometry.KW, Geometry.W);

    internal override Action Bind(OnnxSession s, out string kernel)
    {
        OnnxBuffer x = s.Get(Inputs[0]), y = s.Define(Output);
        kernel = Max ? "scalar.maxpool" : "scalar.avgpool";
        return () => Run(x, y);
    }

    private void Run(OnnxBuffer x, OnnxBuffer y)
    {
        PoolGeometry g = Geometry;
        OnnxElem t = Output.Type;
        int o = 0;
        for (int plane = 0; plane < g.N * g.C; plane++)
        {
            int x0 = plane * g.H * g.W;
            for (int p = 0; p < g.P; p++)
            {
                long hs = ((long)p * g.SH) - g.PadTop;
                (int r0, int r1) = PoolGeometry.Taps(hs, g.KH, g.DH, g.H);
                for (int q = 0; q < g.Q; q++, o++)
                {
                    long ws = ((long)q * g.SW) - g.PadLeft;
                    (int s0, int s1) = PoolGeometry.Taps(ws, g.KW, g.DW, g.W);
                    if (Max)
                    {
                        double best = double.NegativeInfinity;
                        for (int r = r0; r < r1; r++)
                        {
                            int row = x0 + ((int)(hs + ((long)r * g.DH)) * g.W);
                            for (int c = s0; c < s1; c++)
                            {
                                double v = x[row + (int)(ws + ((long)c * g.DW))];
                                if (v > best || double.IsNaN(v))
                                {
                                    best = v;
                                }
                            }
                        }

                        Store(y, t, o, best);
                    }
                    else
                    {
                        double sum = 0;
                        float[] xf = x.Floats!;
                        for (int r = r0; r < r1; r++)
                        {
                            int row = x0 + ((int)(hs + ((long)r * g.DH)) * g.W);
                            for (int c = s0; c < s1; c++)
                            {
                                sum += xf[row + (int)(ws + ((long)c * g.DW))];
                            }
                        }

                        long count;
                        if (CountIncludePad)
                        {
                            // taps inside the padded input [-pad_begin, size + pad_end)
                            (int pr0, int pr1) = PoolGeometry.Taps(hs + g.PadTop, g.KH, g.DH, (long)g.H + g.PadTop + g.PadBottom);
                            (int ps0, int ps1) = PoolGeometry.Taps(ws + g.PadLeft, g.KW, g.DW, (long)g.W + g.PadLeft + g.PadRight);
                            count = (long)(pr1 - pr0) * (ps1 - ps0);
                        }
                        else
                        {
                            count = (long)(r1 - r0) * (s1 - s0);
                        }

                        y.Floats![o] = count == 0 ? 0f : (float)(sum / count);
                    }
                }
            }
        }
    }

    private static void Store(OnnxBuffer y, OnnxElem t, int i, double v)
    {
        switch (t)
        {
            case OnnxElem.F32:
                y.Floats![i] = (float)v;
                break;
            case OnnxElem.U8:
                y.Bytes![i] = double.IsNegativeInfinity(v) ? (byte)0 : (byte)v;
                break;
            default:
                y.Bytes![i] = unchecked((byte)(sbyte)(double.IsNegativeInfinity(v) ? -128 : v));
                break;
        }
    }
}

/// <summary>GlobalAveragePool: the mean of every [n, c] plane (float32, sum in double).</summary>
public sealed class GlobalAveragePoolLayer : OnnxLayer
{
    internal GlobalAveragePoolLayer(OnnxValue x, OnnxValue y)
        : base("GlobalAveragePool", y, x)
    {
    }

    public override double Work => Inputs[0].Count;

    internal override Action Bind(OnnxSession s, out string kernel)
    {
        OnnxBuffer x = s.Get(Inputs[0]), y = s.Define(Output);
        kernel = "scalar.globalavgpool";
        int planes = Output.Count, size = Inputs[0].Count / Output.Count;
        return () =>
        {
            float[] xf = x.Floats!, yf = y.Floats!;
            for (int p = 0; p < planes; p++)
            {
                double sum = 0;
                for (int i = 0; i < size; i++)
                {
                    sum += xf[(p * size) + i];
                }

                yf[p] = (float)(sum / size);
            }
        };
    }
}

/// <summary>Reshape and Flatten: the output is the input's buffer with another shape (row-major data does not move).</summary>
public sealed class AliasLayer : OnnxLayer
{
    internal AliasLayer(string op, OnnxValue x, OnnxValue y)
        : base(op, y, x)
    {
    }

    public override bool AliasesInput => true;

    public override double Work => 1;

    internal override Action Bind(OnnxSession s, out string kernel)
    {
        OnnxBuffer x = s.Get(Inputs[0]);
        s.Set(Output, new OnnxBuffer(Output, x.Bytes, x.Floats, x.Ints));
        kernel = "alias";
        return static () => { };
    }
}

/// <summary>Softmax over one axis (or, before opset 13, over the flattened trailing dims): exp and sum in double, output float32.</summary>
public sealed class SoftmaxLayer : OnnxLayer
{
    private readonly int _outer, _len, _inner;

    internal SoftmaxLayer(OnnxValue x, OnnxValue y, int outer, int len, int inner)
        : base("Softmax", y, x)
    {
        _outer = outer;
        _len = len;
        _inner = inner;
    }

    public override double Work => 3.0 * Output.Count;

    internal override Action Bind(OnnxSession s, out string kernel)
    {
        OnnxBuffer x = s.Get(Inputs[0]), y = s.Define(Output);
        kernel = "scalar.softmax";
        return () =>
        {
            float[] xf = x.Floats!, yf = y.Floats!;
            for (int o = 0; o < _outer; o++)
            {
                for (int j = 0; j < _inner; j++)
                {
                    int b = (o * _len * _inner) + j;
                    double max = double.NegativeInfinity;
                    for (int i = 0; i < _len; i++)
                    {
                        max = Math.Max(max, xf[b + (i * _inner)]);
                    }

                    double sum = 0;
                    for (int i = 0; i < _len; i++)
                    {
                        sum += Math.Exp(xf[b + (i * _inner)] - max);
                    }

                    for (int i = 0; i < _len; i++)
                    {
                        yf[b + (i * _inner)] = (float)(Math.Exp(xf[b + (i * _inner)] - max) / sum);
                    }
                }
            }
        };
    }
}
