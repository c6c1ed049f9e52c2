using System.Runtime.CompilerServices;
using ChipKit.Core.Descriptors;
using ChipKit.Core.Workloads;

namespace ChipKit.Cpu;

/// <summary>Geometry helpers shared by the fp32 and int8 convolutions.</summary>
internal static class ConvGeometry
{
    /// <summary>True when the conv is a plain matrix product over pixels (1x1 filter, stride 1, no padding).</summary>
    public static bool IsPointwise(Conv2dDesc d) =>
        d.R == 1 && d.S == 1 && d.StrideH == 1 && d.StrideW == 1 && d.PadTop == 0 && d.PadLeft == 0 && d.PadBottom == 0 && d.PadRight == 0;

    /// <summary>Output columns q whose input column q*stride - padLeft + offset lies in [0, W): [lo, hi).</summary>
    public static (int Lo, int Hi) ValidQ(Conv2dDesc d, int s)
    {
        int off = (s * d.DilationW) - d.PadLeft;
        int lo = off >= 0 ? 0 : (-off + d.StrideW - 1) / d.StrideW;
        int last = d.W - 1 - off;
        int hi = last < 0 ? 0 : Math.Min(d.Q, (last / d.StrideW) + 1);
        return (Math.Min(lo, hi), hi);
    }

    /// <summary>Runs body(0..count) on up to <paramref name="threads"/> threads (<see cref="WorkerPool"/>: no allocation either way).</summary>
    public static void For(int count, int threads, Action<int> body)
    {
        if (threads <= 1 || count <= 1)
        {
            for (int i = 0; i < count; i++)
            {
                body(i);
            }

            return;
        }

        WorkerPool.For(count, threads, body);
    }
}

/// <summary>
/// Direct depthwise conv (groups == C == K): each output row is bias plus R*S vectorised axpys of shifted input rows
/// (NCHW, along Q) or of channel vectors (NHWC, along C), with the widest vector the host accelerates (<see cref="VecOps"/>).
/// </summary>
internal sealed class ConvDepthwiseKernel : CpuKernel
{
    private readonly Conv2dDesc _d;
    private readonly bool _hasBias;
    private readonly int _threads;
    private readonly Action<int> _body;
    private readonly int _p, _q;
    private readonly int[] _qlo, _qhi;
    private float[] _wt = [];
    private ConvData? _data;

    public ConvDepthwiseKernel(Conv2dDesc d, bool hasBias, int threads)
        : base($"cpu.conv.f32.depthwise.{SimdHost.Suffix(SimdHost.BestWidth)}")
    {
        _d = d;
        _hasBias = hasBias;
        _threads = Math.Max(1, threads);
        _body = d.Layout == TensorLayout.Nchw ? Plane : Row;
        _p = d.P;
        _q = d.Q;
        _qlo = new int[d.S];
        _qhi = new int[d.S];
        for (int s = 0; s < d.S; s++)
        {
            (_qlo[s], _qhi[s]) = ConvGeometry.ValidQ(d, s);
        }
    }

    public static bool Supports(Conv2dDesc d) => d.Groups == d.C && d.C == d.K;

    public override void Prepare(OpData data)
    {
        ConvData cd = Bind<ConvData>(data);
        _data = cd;
        Conv2dDesc d = _d;
        if (d.Layout == TensorLayout.Nhwc)
        {
            // [R, S, C]: the C weights of one tap are contiguous, like the NHWC channel vector they scale.
            _wt = new float[(long)d.R * d.S * d.C];
            for (int c = 0; c < d.C; c++)
            {
                for (int r = 0; r < d.R; r++)
                {
                    for (int s = 0; s < d.S; s++)
                    {
                        _wt[((((long)r * d.S) + s) * d.C) + c] = cd.W[d.WeightIndex(c, 0, r, s)];
                    }
                }
            }
        }
    }

    public override void Run()
    {
        if (_data is null)
        {
            throw NotPrepared();
        }

        ConvGeometry.For(_d.Layout == TensorLayout.Nchw ? _d.N * _d.C : _d.N * _p, _threads, _body);
    }

    /// <summary>NCHW: one (n, c) output plane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Plane(int nc)
    {
        Conv2dDesc d = _d;
        ConvData cd = _data!;
        int c = nc % d.C;
        int P = _p, Q = _q, pq = P * Q;
        Span<float> y = cd.Y.AsSpan((int)((long)nc * pq), pq);
        y.Fill(_hasBias ? cd.Bias![c] : 0f);
        ReadOnlySpan<float> x = cd.X.AsSpan((int)((long)nc * d.H * d.W), d.H * d.W);
        for (int p = 0; p < P; p++)
        {
            Span<float> yr = y.Slice(p * Q, Q);
            for (int r = 0; r < d.R; r++)
            {
                int h = (p * d.StrideH) - d.PadTop + (r * d.DilationH);
                if (h < 0 || h >= d.H)
                {
                    continue;
                }

                ReadOnlySpan<float> xr = x.Slice(h * d.W, d.W);
                for (int s = 0; s < d.S; s++)
                {
                    int lo = _qlo[s], hi = _qhi[s];
                    if (lo >= hi)
                    {
                        continue;
                    }

                    float wv = cd.W[d.WeightIndex(c, 0, r, s)];
                    int off = (s * d.DilationW) - d.PadLeft;
                    if (d.StrideW == 1)
                    {
                        Span<float> seg = yr[lo..hi];
                        VecOps.Axpy(xr.Slice(lo + off, hi - lo), wv, seg);
                    }
                    else
                    {
                        for (int q = lo; q < hi; q++)
                        {
                            yr[q] = MathF.FusedMultiplyAdd(xr[(q * d.StrideW) + off], wv, yr[q]);
                        }
                    }
                }
            }
        }
    }

    /// <summary>NHWC: one (n, p) output row of Q pixels x C channels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Row(int np)
    {
        Conv2dDesc d = _d;
        ConvData cd = _data!;
        int n = np / _p, p = np % _p;
        for (int q = 0; q < _q; q++)
        {
            Span<float> y = cd.Y.AsSpan((int)(((((long)n * _p) + p) * _q + q) * d.C), d.C);
            if (_hasBias)
            {
                cd.Bias.AsSpan().CopyTo(y);
            }
            else
            {
                y.Clear();
            }

            for (int r = 0; r < d.R; r++)
            {
                int h = (p * d.StrideH) - d.PadTop + (r * d.DilationH);
                if (h < 0 || h >= d.H)
                {
                    continue;
                }

                for (int s = 0; s < d.S; s++)
                {
                    int w = (q * d.StrideW) - d.PadLeft + (s * d.DilationW);
                    if (w < 0 || w >= d.W)
                    {
                        continue;
                    }

                    ReadOnlySpan<float> xv = cd.X.AsSpan((int)d.InputIndex(n, 0, h, w), d.C);
                    ReadOnlySpan<float> wv = _wt.AsSpan((int)((((long)r * d.S) + s) * d.C), d.C);
                    VecOps.MulAdd(xv, wv, y);
                }
            }
        }
    }
}

/// <summary>The plain conv every descriptor can run: direct loops, one fp32 FMA chain per output.</summary>
internal sealed class ConvDirectKernel(Conv2dDesc d, bool hasBias) : CpuKernel("cpu.conv.f32.direct")
{
    private ConvData? _data;

    public override void Prepare(OpData data) => _data = Bind<ConvData>(data);

    public override void Run()
    {
        ConvData cd = _data ?? throw NotPrepared();
        for (int n = 0; n < d.N; n++)
        {
            for (int k = 0; k < d.K; k++)
            {
                int g = k / d.Kg;
                for (int p = 0; p < d.P; p++)
                {
                    for (int q = 0; q < d.Q; q++)
                    {
                        float sum = hasBias ? cd.Bias![k] : 0f;
                        for (int c = 0; c < d.Cg; c++)
                        {
                            for (int r = 0; r < d.R; r++)
                            {
                                int h = (p * d.StrideH) - d.PadTop + (r * d.DilationH);
                                if (h < 0 || h >= d.H)
                                {
                                    continue;
                                }

                                for (int s = 0; s < d.S; s++)
                                {
                                    int w = (q * d.StrideW) - d.PadLeft + (s * d.DilationW);
                                    if (w >= 0 && w < d.W)
                                    {
                                        sum = MathF.FusedMultiplyAdd(cd.X[d.InputIndex(n, (g * d.Cg) + c, h, w)], cd.W[d.WeightIndex(k, c, r, s)], sum);
                                    }
                                }
                            }
                        }

                        cd.Y[d.OutputIndex(n, k, p, q)] = sum;
                    }
                }
            }
        }
    }
}
