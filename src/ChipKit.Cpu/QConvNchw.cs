using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ChipKit.Core.Descriptors;
using ChipKit.Core.Workloads;

namespace ChipKit.Cpu;

/// <summary>
/// Exact int8 conv for NCHW (ConvInteger / QLinearConv) with the roles of the GEMM swapped: per image and group,
/// acc[Kg, P*Q] = (W_g - w_zp)[Kg, R*S*Cg'] x col[R*S*Cg', P*Q]. The weights are the GEMM's A, packed once at Prepare
/// (row tiles of MR output channels); the input is packed per run straight into the GEMM's B slivers (NR output pixels;
/// each int32 the int16 pair (x[c] - x_zp, x[c+1] - x_zp) of one tap, 0 outside the image, Cg' = Cg rounded up to
/// even), with vector widening and interleaving for unit and stride-2 rows. The result rows are output-channel planes,
/// so bias, requantisation (<see cref="RequantRun"/>) and the store run along contiguous NCHW rows.
/// </summary>
internal sealed class QConvNchwKernel : CpuKernel
{
    private readonly QConv2dDesc _qd;
    private readonly Conv2dDesc _d;
    private readonly SimdWidth _width;
    private readonly BlockSizes? _blocking;
    private readonly int _threads;
    private readonly Action<int> _packSliver, _epilogueRow;
    private readonly int _pairs, _kp, _pq;
    private readonly int[] _qLo, _qHi;
    private IQGemm? _engine;
    private QGemmScratch? _scratch;
    private QConvData? _data;
    private int[][] _packedW = [];
    private int[] _col = [];
    private int[] _acc = [];
    private double[] _mult = [];
    private int _nr, _slivers, _n, _g;

    public QConvNchwKernel(QConv2dDesc qd, SimdWidth width, int threads, BlockSizes? blocking = null)
        : base($"cpu.qconv.{qd.XType.ToSpec()}{qd.WType.ToSpec()}.nchw.pmaddwd.{SimdHost.Suffix(width)}")
    {
        _qd = qd;
        _d = qd.Conv;
        _width = width;
        _blocking = blocking;
        _threads = Math.Max(1, threads);
        _packSliver = PackSliver;
        _epilogueRow = EpilogueRow;
        _pairs = (_d.Cg + 1) / 2;
        _kp = _d.R * _d.S * _pairs;
        _pq = _d.P * _d.Q;
        _qLo = new int[_d.S];
        _qHi = new int[_d.S];
        for (int s = 0; s < _d.S; s++)
        {
            (_qLo[s], _qHi[s]) = ConvGeometry.ValidQ(_d, s);
        }
    }

    /// <summary>The layouts this kernel runs.</summary>
    public static bool Supports(QConv2dDesc d) => d.Conv.Layout == TensorLayout.Nchw;

    public override void Prepare(OpData data)
    {
        QConvData qd = Bind<QConvData>(data);
        _data = qd;
        Conv2dDesc d = _d;
        _engine = QGemm.Create(_width, _blocking);
        _nr = _engine.Blocking.NR;
        bool wSigned = _qd.WType == DataType.S8;
        int cg2 = 2 * _pairs;
        _packedW = new int[d.Groups][];
        for (int g = 0; g < d.Groups; g++)
        {
            int k0 = g * d.Kg;

            // Reduction index kk = (r*S + s)*Cg' + c: the two halves of a pair are channels c, c+1 of one tap.
            _packedW[g] = QGemm.PackA(d.Kg, 2 * _kp, (j, kk) =>
            {
                int tap = kk / cg2, c = kk % cg2;
                return c >= d.Cg ? 0 : QuantOps.Load(qd.W, d.WeightIndex(k0 + j, c, tap / d.S, tap % d.S), wSigned) - _qd.WQuant.ZeroPoint(k0 + j);
            });
        }

        _slivers = (_pq + _nr - 1) / _nr;
        _col = new int[(long)_slivers * _kp * _nr];
        _acc = _qd.Output == QuantOutput.Quantized ? new int[(long)d.Kg * _pq] : [];
        _mult = QuantOps.Multipliers(_qd.XQuant.Scale(0), _qd.WQuant, _qd.YQuant, d.K);
        _scratch = new QGemmScratch(_engine.Blocking, _threads);
    }

    public override void Run()
    {
        if (_engine is null || _scratch is null || _data is null)
        {
            throw NotPrepared();
        }

        Conv2dDesc d = _d;
        bool quantized = _qd.Output == QuantOutput.Quantized;
        for (int n = 0; n < d.N; n++)
        {
            for (int g = 0; g < d.Groups; g++)
            {
                _n = n;
                _g = g;
                ConvGeometry.For(_slivers, _threads, _packSliver);
                var call = new QGemmCall
                {
                    M = d.Kg,
                    N = _pq,
                    K = 2 * _kp,
                    PackedA = _packedW[g],
                    A16 = [],
                    PackedB = _col,
                    C = quantized ? _acc : _data.Y32!,
                    COffset = quantized ? 0 : (((long)n * d.K) + ((long)g * d.Kg)) * _pq,
                    Ldc = _pq,
                };
                _engine.Run(call, _scratch, _threads);
                if (quantized || _data.Bias is not null)
                {
                    ConvGeometry.For(d.Kg, _threads, _epilogueRow);
                }
            }
        }
    }

    /// <summary>Packs B sliver <paramref name="sv"/>: output pixels [sv*NR, sv*NR + NR) of image _n, group _g, every tap and channel pair.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void PackSliver(int sv)
    {
        Conv2dDesc d = _d;
        int nr = _nr, kp = _kp, pairs = _pairs, Q = d.Q, W = d.W, H = d.H, S = d.S;
        long hw = (long)H * W;
        long plane0 = (((long)_n * d.C) + ((long)_g * d.Cg)) * hw;
        ref int dst = ref MemoryMarshal.GetArrayDataReference(_col);
        dst = ref Unsafe.Add(ref dst, (nint)((long)sv * kp * nr));
        ref byte x = ref MemoryMarshal.GetArrayDataReference(_data!.X);
        bool signed = _qd.XType == DataType.S8;
        int zp = _qd.XQuant.ZeroPoint(0);
        int j0 = sv * nr, j1 = Math.Min(j0 + nr, _pq);
        if (j1 - j0 < nr)
        {
            for (int p = 0; p < kp; p++)
            {
                Unsafe.InitBlockUnaligned(ref Unsafe.As<int, byte>(ref Unsafe.Add(ref dst, (p * nr) + (j1 - j0))), 0, (uint)((nr - (j1 - j0)) * sizeof(int)));
            }
        }

        // A sliver covers runs of pixels in one output row each.
        for (int j = j0; j < j1;)
        {
            int p = j / Q, qa = j % Q, len = Math.Min(Q - qa, j1 - j), col = j - j0;
            for (int r = 0; r < d.R; r++)
            {
                int h = (p * d.StrideH) - d.PadTop + (r * d.DilationH);
                for (int s = 0; s < S; s++)
                {
                    ref int tapRow = ref Unsafe.Add(ref dst, (((r * S) + s) * pairs * nr) + col);
                    int va = Math.Max(qa, _qLo[s]), vb = Math.Min(qa + len, _qHi[s]);
                    if (h < 0 || h >= H || va >= vb)
                    {
                        va = vb = qa;
                    }

                    int w0 = (va * d.StrideW) - d.PadLeft + (s * d.DilationW);
                    for (int cp = 0; cp < pairs; cp++)
                    {
                        ref int o = ref Unsafe.Add(ref tapRow, cp * nr);
                        MemoryMarshal.CreateSpan(ref o, va - qa).Clear();
                        if (vb > va)
                        {
                            int c = 2 * cp;
                            ref byte r0 = ref Unsafe.Add(ref x, (nint)(plane0 + (c * hw) + ((long)h * W) + w0));
                            bool hasHi = c + 1 < d.Cg;
                            ref byte r1 = ref hasHi ? ref Unsafe.Add(ref r0, (nint)hw) : ref r0;
                            Interleave(ref r0, ref r1, hasHi, vb - va, d.StrideW, zp, signed, W - w0, ref Unsafe.Add(ref o, va - qa));
                        }

                        MemoryMarshal.CreateSpan(ref Unsafe.Add(ref o, vb - qa), qa + len - vb).Clear();
                    }
                }
            }

            j += len;
        }
    }

    /// <summary>
    /// o[i] = pair(r0[i*stride] - zp, r1[i*stride] - zp) (high half 0 without <paramref name="hasHi"/>) for i &lt; count;
    /// <paramref name="avail"/> bytes of the rows may be read.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Interleave(ref byte r0, ref byte r1, bool hasHi, int count, int stride, int zp, bool signed, int avail, ref int o)
    {
        int i = 0;
        if (Sse41.IsSupported && (stride == 1 || (stride == 2 && Ssse3.IsSupported)))
        {
            Vector128<short> z = Vector128.Create((short)zp);
            Vector128<byte> even = Vector128.Create((byte)0, 2, 4, 6, 8, 10, 12, 14, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80);
            int span = 8 * stride;
            for (; i <= count - 8 && (i * stride) + span <= avail; i += 8)
            {
                Vector128<short> a = Widen8(ref Unsafe.Add(ref r0, i * stride), stride, even, signed) - z;
                Vector128<short> b = hasHi ? Widen8(ref Unsafe.Add(ref r1, i * stride), stride, even, signed) - z : Vector128<short>.Zero;
                Sse2.UnpackLow(a, b).AsInt32().StoreUnsafe(ref o, (nuint)i);
                Sse2.UnpackHigh(a, b).AsInt32().StoreUnsafe(ref o, (nuint)(i + 4));
            }
        }

        for (; i < count; i++)
        {
            int lo = (signed ? (sbyte)Unsafe.Add(ref r0, i * stride) : Unsafe.Add(ref r0, i * stride)) - zp;
            int hi = hasHi ? (signed ? (sbyte)Unsafe.Add(ref r1, i * stride) : Unsafe.Add(ref r1, i * stride)) - zp : 0;
            Unsafe.Add(ref o, i) = QGemm.Pair(lo, hi);
        }
    }

    /// <summary>8 bytes at unit or stride 2 (the even bytes of 16), sign- or zero-extended to int16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<short> Widen8(ref byte src, int stride, Vector128<byte> even, bool signed)
    {
        Vector128<byte> v = stride == 1
            ? Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<long>(ref src)).AsByte()
            : Ssse3.Shuffle(Vector128.LoadUnsafe(ref src), even);
        return signed ? Sse41.ConvertToVector128Int16(v.AsSByte()) : Sse41.ConvertToVector128Int16(v);
    }

    /// <summary>Output channel row <paramref name="j"/> of group _g: bias, then requantisation (or the int32 store).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void EpilogueRow(int j)
    {
        Conv2dDesc d = _d;
        QConvData qd = _data!;
        int k = (_g * d.Kg) + j, pq = _pq;
        int bias = qd.Bias is null ? 0 : qd.Bias[k];
        long o = (((long)_n * d.K) + k) * pq;
        if (_qd.Output == QuantOutput.Quantized)
        {
            RequantRun.Uniform(_acc.AsSpan(j * pq, pq), bias, _mult[k], _qd.YQuant!.ZeroPoint(0), _qd.YType.MinValue(), _qd.YType.MaxValue(), qd.Y8.AsSpan((int)o, pq));
        }
        else
        {
            Span<int> y = qd.Y32.AsSpan((int)o, pq);
            for (int i = 0; i < pq; i++)
            {
                y[i] = unchecked(y[i] + bias);
            }
        }
    }
}
