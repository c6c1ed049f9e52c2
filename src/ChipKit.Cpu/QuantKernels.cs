using System.Runtime.CompilerServices;
using ChipKit.Core.Descriptors;
using ChipKit.Core.Workloads;

namespace ChipKit.Cpu;

/// <summary>Requantisation and 8-bit helpers shared by the int8 kernels.</summary>
internal static class QuantOps
{
    /// <summary>Element i of an 8-bit tensor as its integer value.</summary>
    public static int Load(byte[] data, long i, bool signed) => signed ? (sbyte)data[i] : data[i];

    /// <summary>Stores an already saturated 8-bit value (u8 or s8 bits).</summary>
    public static byte Store8(int v) => unchecked((byte)v);

    /// <summary>dst[i] = src[i] - zp as int16, src read as s8 (<paramref name="signed"/>) or u8: 8-bit operands widened
    /// for vpmaddwd.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Widen(ReadOnlySpan<byte> src, Span<short> dst, bool signed, int zp)
    {
        if (signed)
        {
            for (int c = 0; c < src.Length; c++)
            {
                dst[c] = (short)((sbyte)src[c] - zp);
            }
        }
        else
        {
            for (int c = 0; c < src.Length; c++)
            {
                dst[c] = (short)(src[c] - zp);
            }
        }
    }

    /// <summary>Per-channel multipliers, computed exactly as <see cref="Requantize.Multiplier"/> does.</summary>
    public static double[] Multipliers(float xScale, QuantParams w, QuantParams? y, int channels)
    {
        var m = new double[channels];
        if (y is null)
        {
            return m;
        }

        for (int c = 0; c < channels; c++)
        {
            m[c] = Requantize.Multiplier(xScale, w.Scale(c), y.Scale(0));
        }

        return m;
    }
}

/// <summary>
/// Exact int8 GEMM (MatMulInteger / QLinearMatMul): B - b_zp packed once as int16 pairs, A - a_zp widened to int16
/// per run, vpmaddwd micro-kernel with int32 accumulators, then per-column requantisation with Requantize's doubles.
/// </summary>
internal sealed class QGemmPackedKernel : CpuKernel
{
    private readonly QGemmDesc _d;
    private readonly SimdWidth _width;
    private readonly BlockSizes? _blocking;
    private readonly int _threads;
    private readonly Action<int> _widenRow, _requantRow;
    private IQGemm? _engine;
    private QGemmScratch? _scratch;
    private QGemmCall _call;
    private QGemmData? _data;
    private short[] _a16 = [];
    private int[] _acc = [];
    private double[] _mult = [];
    private bool _multFinite;
    private int _lda;

    public QGemmPackedKernel(QGemmDesc d, SimdWidth width, int threads, BlockSizes? blocking = null)
        : base($"cpu.qgemm.{d.AType.ToSpec()}{d.BType.ToSpec()}.pmaddwd.{SimdHost.Suffix(width)}")
    {
        _blocking = blocking;
        _d = d;
        _width = width;
        _threads = Math.Max(1, threads);
        _widenRow = WidenRow;
        _requantRow = RequantRow;
    }

    public override void Prepare(OpData data)
    {
        QGemmData qd = Bind<QGemmData>(data);
        _data = qd;
        QGemmDesc d = _d;
        _engine = QGemm.Create(_width, _blocking);
        bool bSigned = d.BType == DataType.S8;
        byte[] b = qd.B;
        _lda = (d.K + 1) & ~1;
        _a16 = new short[(long)d.M * _lda];
        _acc = d.Output == QuantOutput.Int32 ? qd.Y32! : new int[(long)d.M * d.N];
        _mult = QuantOps.Multipliers(d.AQuant.Scale(0), d.BQuant, d.YQuant, d.N);
        _multFinite = RequantRun.AllFinite(_mult);
        _call = new QGemmCall
        {
            M = d.M,
            N = d.N,
            K = d.K,
            A16 = _a16,
            Lda = _lda,
            PackedB = _engine.PackB(d.K, d.N, (k, j) => QuantOps.Load(b, ((long)k * d.N) + j, bSigned) - d.BQuant.ZeroPoint(j)),
            C = _acc,
            Ldc = d.N,
        };
        _scratch = new QGemmScratch(_engine.Blocking, _threads);
    }

    public override void Run()
    {
        if (_engine is null || _scratch is null || _data is null)
        {
            throw NotPrepared();
        }

        ConvGeometry.For(_d.M, _threads, _widenRow);
        _engine.Run(_call, _scratch, _threads);
        if (_d.Output == QuantOutput.Quantized)
        {
            ConvGeometry.For(_d.M, _threads, _requantRow);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WidenRow(int i)
    {
        QGemmDesc d = _d;
        int zp = d.AQuant.ZeroPoint(0);
        ReadOnlySpan<byte> src = _data!.A.AsSpan((int)((long)i * d.K), d.K);
        Span<short> dst = _a16.AsSpan((int)((long)i * _lda), d.K);
        QuantOps.Widen(src, dst, d.AType == DataType.S8, zp);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RequantRow(int i)
    {
        QGemmDesc d = _d;
        int yZp = d.YQuant!.ZeroPoint(0), min = d.YType.MinValue(), max = d.YType.MaxValue();
        int o = i * d.N;
        RequantRun.PerElement(_acc.AsSpan(o, d.N), [], _mult, _multFinite, yZp, min, max, _data!.Y8.AsSpan(o, d.N));
    }
}

/// <summary>
/// Exact int8 conv (ConvInteger / QLinearConv) for NHWC as GEMM: per image and group,
/// acc[P*Q, Kg] = col16[P*Q, R*S*Cg] x (W_g - w_zp)^T, col16 being im2col of (x - x_zp) as int16 with 0 for padding
/// taps (each tap's Cg channels are contiguous in NHWC); then bias and requantisation per output channel along each
/// pixel's contiguous channels. NCHW runs on <see cref="QConvNchwKernel"/>.
/// </summary>
internal sealed class QConvPackedKernel : CpuKernel
{
    private readonly QConv2dDesc _qd;
    private readonly Conv2dDesc _d;
    private readonly SimdWidth _width;
    private readonly BlockSizes? _blocking;
    private readonly int _threads;
    private readonly Action<int> _im2colRow, _epilogueRow;
    private IQGemm? _engine;
    private QGemmScratch? _scratch;
    private QConvData? _data;
    private int[][] _packedW = [];
    private short[] _col = [];
    private int[] _acc = [];
    private double[] _mult = [];
    private bool _multFinite;
    private int _lda, _n, _g;
    private readonly int _kg, _pq, _q;

    public QConvPackedKernel(QConv2dDesc qd, SimdWidth width, int threads, BlockSizes? blocking = null)
        : base($"cpu.qconv.{qd.XType.ToSpec()}{qd.WType.ToSpec()}.im2col.pmaddwd.{SimdHost.Suffix(width)}")
    {
        if (!Supports(qd))
        {
            throw new ArgumentException("the im2col int8 conv takes NHWC (NCHW runs on the nchw kernel)", nameof(qd));
        }

        _blocking = blocking;
        _qd = qd;
        _d = qd.Conv;
        _width = width;
        _threads = Math.Max(1, threads);
        _im2colRow = Im2colRow;
        _epilogueRow = EpilogueRow;
        _kg = qd.Conv.Kg;
        _pq = qd.Conv.P * qd.Conv.Q;
        _q = qd.Conv.Q;
    }

    /// <summary>The layout this kernel runs.</summary>
    public static bool Supports(QConv2dDesc d) => d.Conv.Layout == TensorLayout.Nhwc;

    /// <summary>Reduction index kk of tap (c, r, s): (r*S + s)*Cg + c, so each tap's channels are contiguous.</summary>
    private int Kk(int c, int r, int s) => (((r * _d.S) + s) * _d.Cg) + c;

    public override void Prepare(OpData data)
    {
        QConvData qd = Bind<QConvData>(data);
        _data = qd;
        Conv2dDesc d = _d;
        _engine = QGemm.Create(_width, _blocking);
        int crs = d.Cg * d.R * d.S;
        bool wSigned = _qd.WType == DataType.S8;
        _packedW = new int[d.Groups][];
        var wt = new int[(long)crs * d.Kg];
        for (int g = 0; g < d.Groups; g++)
        {
            for (int j = 0; j < d.Kg; j++)
            {
                int k = (g * d.Kg) + j, zp = _qd.WQuant.ZeroPoint(k);
                for (int c = 0; c < d.Cg; c++)
                {
                    for (int r = 0; r < d.R; r++)
                    {
                        for (int s = 0; s < d.S; s++)
                        {
                            wt[((long)Kk(c, r, s) * d.Kg) + j] = QuantOps.Load(qd.W, d.WeightIndex(k, c, r, s), wSigned) - zp;
                        }
                    }
                }
            }

            int kg = d.Kg;
            int[] wtg = wt;
            _packedW[g] = _engine.PackB(crs, kg, (kk, j) => wtg[((long)kk * kg) + j]);
        }

        _lda = (crs + 1) & ~1;
        _col = new short[(long)d.P * d.Q * _lda];
        _acc = new int[(long)d.P * d.Q * d.Kg];
        _mult = QuantOps.Multipliers(_qd.XQuant.Scale(0), _qd.WQuant, _qd.YQuant, d.K);
        _multFinite = RequantRun.AllFinite(_mult);
        _scratch = new QGemmScratch(_engine.Blocking, _threads);
    }

    public override void Run()
    {
        if (_engine is null || _scratch is null || _data is null)
        {
            throw NotPrepared();
        }

        Conv2dDesc d = _d;
        int pq = d.P * d.Q;
        for (int n = 0; n < d.N; n++)
        {
            for (int g = 0; g < d.Groups; g++)
            {
                _n = n;
                _g = g;
                ConvGeometry.For(pq, _threads, _im2colRow);
                var call = new QGemmCall
                {
                    M = pq,
                    N = d.Kg,
                    K = d.Cg * d.R * d.S,
                    A16 = _col,
                    Lda = _lda,
                    PackedB = _packedW[g],
                    C = _acc,
                    Ldc = d.Kg,
                };
                _engine.Run(call, _scratch, _threads);
                ConvGeometry.For(pq, _threads, _epilogueRow);
            }
        }
    }

    /// <summary>im2col row of output pixel i as int16 (x - x_zp); padding taps are 0 (they hold x_zp).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Im2colRow(int i)
    {
        Conv2dDesc d = _d;
        int p = i / _q, q = i % _q;
        int H = d.H, W = d.W, R = d.R, S = d.S, Cg = d.Cg;
        byte[] x = _data!.X;
        bool signed = _qd.XType == DataType.S8;
        int zp = _qd.XQuant.ZeroPoint(0);
        Span<short> row = _col.AsSpan((int)((long)i * _lda), Cg * R * S);
        int h0 = (p * d.StrideH) - d.PadTop, w0 = (q * d.StrideW) - d.PadLeft;
        for (int r = 0; r < R; r++)
        {
            int h = h0 + (r * d.DilationH);
            for (int s = 0; s < S; s++)
            {
                int w = w0 + (s * d.DilationW);
                Span<short> o = row.Slice(((r * S) + s) * Cg, Cg);
                if (h < 0 || h >= H || w < 0 || w >= W)
                {
                    o.Clear();
                }
                else
                {
                    QuantOps.Widen(x.AsSpan((int)d.InputIndex(_n, _g * Cg, h, w), Cg), o, signed, zp);
                }
            }
        }
    }

    /// <summary>Bias, requantisation (or not) and the store of output pixel i's Kg channels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void EpilogueRow(int i)
    {
        Conv2dDesc d = _d;
        QConvData qd = _data!;
        int kg = _kg, g0 = _g * kg;
        long pq = _pq;
        ReadOnlySpan<int> acc = _acc.AsSpan((int)((long)i * kg), kg);
        int[]? bias = qd.Bias;

        // Output index of channel k: (n*PQ + i)*K + g*Kg + k, computed without Conv2dDesc's P/Q properties, which
        // divide on every call.
        int o0 = (int)((((long)_n * pq) + i) * d.K) + g0;
        if (_qd.Output == QuantOutput.Quantized)
        {
            RequantRun.PerElement(acc, bias is null ? [] : bias.AsSpan(g0, kg), _mult.AsSpan(g0, kg), _multFinite,
                _qd.YQuant!.ZeroPoint(0), _qd.YType.MinValue(), _qd.YType.MaxValue(), qd.Y8.AsSpan(o0, kg));
        }
        else
        {
            Span<int> y = qd.Y32.AsSpan(o0, kg);
            for (int j = 0; j < kg; j++)
            {
                y[j] = bias is null ? acc[j] : unchecked(acc[j] + bias[g0 + j]);
            }
        }
    }
}

/// <summary>The plain int8 GEMM every descriptor can run (int32 wrapping accumulation, then Requantize).</summary>
internal sealed class QGemmNaiveKernel(QGemmDesc d) : CpuKernel("cpu.qgemm.naive")
{
    private QGemmData? _data;

    public override void Prepare(OpData data) => _data = Bind<QGemmData>(data);

    public override void Run()
    {
        QGemmData qd = _data ?? throw NotPrepared();
        bool aS = d.AType == DataType.S8, bS = d.BType == DataType.S8;
        int aZp = d.AQuant.ZeroPoint(0);
        for (int i = 0; i < d.M; i++)
        {
            for (int j = 0; j < d.N; j++)
            {
                int bZp = d.BQuant.ZeroPoint(j), acc = 0;
                for (int k = 0; k < d.K; k++)
                {
                    acc = unchecked(acc + ((QuantOps.Load(qd.A, ((long)i * d.K) + k, aS) - aZp) * (QuantOps.Load(qd.B, ((long)k * d.N) + j, bS) - bZp)));
                }

                long o = ((long)i * d.N) + j;
                if (d.Output == QuantOutput.Int32)
                {
                    qd.Y32![o] = acc;
                }
                else
                {
                    double m = Requantize.Multiplier(d.AQuant.Scale(0), d.BQuant.Scale(j), d.YQuant!.Scale(0));
                    qd.Y8![o] = QuantOps.Store8(Requantize.Apply(acc, m, d.YQuant.ZeroPoint(0), d.YType.MinValue(), d.YType.MaxValue()));
                }
            }
        }
    }
}

/// <summary>The plain int8 conv every descriptor can run (direct loops, int32 wrapping accumulation).</summary>
internal sealed class QConvNaiveKernel(QConv2dDesc qd) : CpuKernel("cpu.qconv.naive")
{
    private QConvData? _data;

    public override void Prepare(OpData data) => _data = Bind<QConvData>(data);

    public override void Run()
    {
        QConvData x = _data ?? throw NotPrepared();
        Conv2dDesc d = qd.Conv;
        bool xS = qd.XType == DataType.S8, wS = qd.WType == DataType.S8;
        int xZp = qd.XQuant.ZeroPoint(0);
        for (int n = 0; n < d.N; n++)
        {
            for (int k = 0; k < d.K; k++)
            {
                int g = k / d.Kg, wZp = qd.WQuant.ZeroPoint(k);
                for (int p = 0; p < d.P; p++)
                {
                    for (int q = 0; q < d.Q; q++)
                    {
                        int acc = x.Bias is null ? 0 : x.Bias[k];
                        for (int c = 0; c < d.Cg; c++)
                        {
                            for (int r = 0; r < d.R; r++)
                            {
                                int h = (p * d.StrideH) - d.PadTop + (r * d.DilationH);
                                for (int s = 0; s < d.S; s++)
                                {
                                    int w = (q * d.StrideW) - d.PadLeft + (s * d.DilationW);
                                    if (h >= 0 && h < d.H && w >= 0 && w < d.W)
                                    {
                                        int xv = QuantOps.Load(x.X, d.InputIndex(n, (g * d.Cg) + c, h, w), xS) - xZp;
                                        int wv = QuantOps.Load(x.W, d.WeightIndex(k, c, r, s), wS) - wZp;
                                        acc = unchecked(acc + (xv * wv));
                                    }
                                }
                            }
                        }

                        long o = d.OutputIndex(n, k, p, q);
                        if (qd.Output == QuantOutput.Int32)
                        {
                            x.Y32![o] = acc;
                        }
                        else
                        {
                            double m = Requantize.Multiplier(qd.XQuant.Scale(0), qd.WQuant.Scale(k), qd.YQuant!.Scale(0));
                            x.Y8![o] = QuantOps.Store8(Requantize.Apply(acc, m, qd.YQuant.ZeroPoint(0), qd.YType.MinValue(), qd.YType.MaxValue()));
                        }
                    }
                }
            }
        }
    }
}
