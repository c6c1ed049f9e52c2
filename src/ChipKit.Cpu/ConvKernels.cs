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
/// fp32 conv as GEMM over an im2col buffer. NCHW, per image and group: Y_g[Kg, P*Q] = W_g[Kg, Cg*R*S] x col[Cg*R*S, P*Q]
/// (weights pre-packed as A). NHWC: Y[P*Q, K] (ldc = K) = col[P*Q, R*S*Cg] x W_g^T[R*S*Cg, Kg] (weights pre-packed as B).
/// 1x1 / stride 1 / unpadded convs skip im2col and read X directly.
/// </summary>
internal sealed class ConvIm2colKernel : CpuKernel
{
    private readonly Conv2dDesc _d;
    private readonly bool _hasBias;
    private readonly SimdWidth _width;
    private readonly BlockSizes? _blocking;
    private readonly int _threads;
    private readonly bool _pointwise;
    private readonly Action<int> _im2colRow;
    private ISgemm? _engine;
    private SgemmScratch? _scratch;
    private float[][] _packedW = [];
    private float[] _col = [];
    private ConvData? _data;
    private int _n, _g;
    private readonly int _p, _q;

    public ConvIm2colKernel(Conv2dDesc d, bool hasBias, SimdWidth width, int threads, BlockSizes? blocking = null)
        : base($"cpu.conv.f32.im2col.{SimdHost.Suffix(width)}")
    {
        _blocking = blocking;
        _d = d;
        _hasBias = hasBias;
        _width = width;
        _threads = Math.Max(1, threads);
        _pointwise = ConvGeometry.IsPointwise(d);
        _im2colRow = d.Layout == TensorLayout.Nchw ? Im2colNchwRow : Im2colNhwcRow;
        _p = d.P;
        _q = d.Q;
    }

    public override void Prepare(OpData data)
    {
        ConvData cd = Bind<ConvData>(data);
        _data = cd;
        Conv2dDesc d = _d;
        _engine = Sgemm.Create(_width, _blocking);
        int crs = d.Cg * d.R * d.S;
        _packedW = new float[d.Groups][];
        for (int g = 0; g < d.Groups; g++)
        {
            if (d.Layout == TensorLayout.Nchw)
            {
                // W_g is rows k of [K, Cg*R*S]: already the row-major A the GEMM wants.
                _packedW[g] = _engine.PackA(new MatF32(cd.W, (long)g * d.Kg * crs, crs, 1), d.Kg, crs);
            }
            else
            {
                // B[(r*S+s)*Cg + c, k] = W[g*Kg + k, c, r, s], the order NHWC im2col rows use.
                var wt = new float[(long)crs * d.Kg];
                for (int k = 0; k < d.Kg; k++)
                {
                    for (int c = 0; c < d.Cg; c++)
                    {
                        for (int r = 0; r < d.R; r++)
                        {
                            for (int s = 0; s < d.S; s++)
                            {
                                wt[((((long)r * d.S) + s) * d.Cg + c) * d.Kg + k] = cd.W[d.WeightIndex((g * d.Kg) + k, c, r, s)];
                            }
                        }
                    }
                }

                _packedW[g] = _engine.PackB(new MatF32(wt, 0, d.Kg, 1), crs, d.Kg);
            }
        }

        _col = _pointwise ? [] : new float[(long)crs * d.P * d.Q];
        _scratch = new SgemmScratch(_engine.Blocking, _threads);
    }

    public override void Run()
    {
        if (_engine is null || _data is null || _scratch is null)
        {
            throw NotPrepared();
        }

        Conv2dDesc d = _d;
        ConvData cd = _data;
        int pq = d.P * d.Q, crs = d.Cg * d.R * d.S;
        long hw = (long)d.H * d.W;
        for (int n = 0; n < d.N; n++)
        {
            for (int g = 0; g < d.Groups; g++)
            {
                _n = n;
                _g = g;
                var call = new SgemmCall { K = crs, Alpha = 1f, Accumulate = _hasBias, Y = cd.Y };
                if (d.Layout == TensorLayout.Nchw)
                {
                    call.M = d.Kg;
                    call.N = pq;
                    call.PackedA = _packedW[g];
                    call.B = _pointwise
                        ? new MatF32(cd.X, ((long)n * d.C * hw) + ((long)g * d.Cg * hw), hw, 1)
                        : new MatF32(_col, 0, pq, 1);
                    call.YOffset = ((long)n * d.K * pq) + ((long)g * d.Kg * pq);
                    call.Ldy = pq;
                    if (_hasBias)
                    {
                        for (int k = 0; k < d.Kg; k++)
                        {
                            cd.Y.AsSpan((int)(call.YOffset + ((long)k * pq)), pq).Fill(cd.Bias![(g * d.Kg) + k]);
                        }
                    }
                }
                else
                {
                    call.M = pq;
                    call.N = d.Kg;
                    call.PackedB = _packedW[g];
                    call.A = _pointwise
                        ? new MatF32(cd.X, ((long)n * hw * d.C) + ((long)g * d.Cg), d.C, 1)
                        : new MatF32(_col, 0, crs, 1);
                    call.YOffset = ((long)n * pq * d.K) + ((long)g * d.Kg);
                    call.Ldy = d.K;
                    if (_hasBias)
                    {
                        ReadOnlySpan<float> bias = cd.Bias.AsSpan(g * d.Kg, d.Kg);
                        for (int i = 0; i < pq; i++)
                        {
                            bias.CopyTo(cd.Y.AsSpan((int)(call.YOffset + ((long)i * d.K)), d.Kg));
                        }
                    }
                }

                if (!_pointwise)
                {
                    ConvGeometry.For(d.Layout == TensorLayout.Nchw ? crs : pq, _threads, _im2colRow);
                }

                _engine.Run(call, _scratch, _threads);
            }
        }
    }

    /// <summary>NCHW im2col row kk = (c*R + r)*S + s: the input tap of every output pixel, 0 in padding.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Im2colNchwRow(int kk)
    {
        Conv2dDesc d = _d;
        int s = kk % d.S, r = (kk / d.S) % d.R, c = kk / (d.S * d.R);
        float[] x = _data!.X;
        long plane = (((long)_n * d.C) + (_g * d.Cg) + c) * d.H * d.W;
        int P = _p, Q = _q;
        Span<float> row = _col.AsSpan((int)((long)kk * P * Q), P * Q);
        (int qlo, int qhi) = ConvGeometry.ValidQ(d, s);
        int wOff = (s * d.DilationW) - d.PadLeft;
        for (int p = 0; p < P; p++)
        {
            Span<float> o = row.Slice(p * Q, Q);
            int h = (p * d.StrideH) - d.PadTop + (r * d.DilationH);
            if (h < 0 || h >= d.H || qlo >= qhi)
            {
                o.Clear();
                continue;
            }

            o[..qlo].Clear();
            o[qhi..].Clear();
            long src = plane + ((long)h * d.W) + wOff;
            if (d.StrideW == 1)
            {
                x.AsSpan((int)(src + qlo), qhi - qlo).CopyTo(o[qlo..qhi]);
            }
            else
            {
                for (int q = qlo; q < qhi; q++)
                {
                    o[q] = x[src + ((long)q * d.StrideW)];
                }
            }
        }
    }

    /// <summary>NHWC im2col row of output pixel i: R*S runs of Cg channels, 0 in padding.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Im2colNhwcRow(int i)
    {
        Conv2dDesc d = _d;
        int p = i / _q, q = i % _q;
        float[] x = _data!.X;
        int crs = d.Cg * d.R * d.S;
        Span<float> row = _col.AsSpan((int)((long)i * crs), crs);
        for (int r = 0; r < d.R; r++)
        {
            int h = (p * d.StrideH) - d.PadTop + (r * d.DilationH);
            for (int s = 0; s < d.S; s++)
            {
                int w = (q * d.StrideW) - d.PadLeft + (s * d.DilationW);
                Span<float> o = row.Slice(((r * d.S) + s) * d.Cg, d.Cg);
                if (h < 0 || h >= d.H || w < 0 || w >= d.W)
                {
                    o.Clear();
                }
                else
                {
                    x.AsSpan((int)d.InputIndex(_n, _g * d.Cg, h, w), d.Cg).CopyTo(o);
                }
            }
        }
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
