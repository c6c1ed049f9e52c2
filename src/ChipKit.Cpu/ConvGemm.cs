using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ChipKit.Core.Descriptors;
using ChipKit.Core.Workloads;

namespace ChipKit.Cpu;

/// <summary>
/// fp32 conv as an implicit GEMM on <see cref="Sgemm"/>'s packed micro-kernel: no im2col matrix is ever stored.
/// The weights are packed once at Prepare; the im2col operand is packed straight from the input tensor into the
/// micro-kernel's panel layout, one cache block at a time, by the GEMM's own packing step (padding taps become 0
/// there).
/// <list type="bullet">
/// <item>NCHW, per image and group: Y_g[Kg, P*Q] = W_g[Kg, Cg*R*S] x col[Cg*R*S, P*Q]. A = weights (packed MR-row
/// slivers at Prepare); B = col, packed by <see cref="NchwIm2colPacker"/> into NR-pixel slivers. Output rows are
/// channels, so the micro-kernel's NR-wide stores land on contiguous pixels.</item>
/// <item>NHWC: Y[P*Q, Kg] (row stride K) = col[P*Q, R*S*Cg] x W_g^T[R*S*Cg, Kg]. A = col, packed by
/// <see cref="NhwcIm2colPacker"/> into MR-pixel slivers; B = weights (packed NR-channel slivers at Prepare). Output
/// rows are pixels, so the NR-wide stores land on contiguous channels.</item>
/// <item>1x1, stride 1, unpadded: a plain GEMM that reads X in place (no packing routine of its own).</item>
/// </list>
/// Threads split the output along the pixel dimension (each thread packs its own blocks).
/// </summary>
internal sealed class ConvGemmKernel : CpuKernel
{
    private readonly Conv2dDesc _d;
    private readonly bool _hasBias;
    private readonly SimdWidth _width;
    private readonly BlockSizes? _blocking;
    private readonly int _threads;
    private readonly bool _pointwise;
    private ISgemm? _engine;
    private SgemmScratch? _scratch;
    private float[][] _packedW = [];
    private NchwIm2colPacker? _bPacker;
    private NhwcIm2colPacker? _aPacker;
    private ConvData? _data;

    public ConvGemmKernel(Conv2dDesc d, bool hasBias, SimdWidth width, int threads, BlockSizes? blocking = null)
        : base($"cpu.conv.f32.igemm.{SimdHost.Suffix(width)}")
    {
        _blocking = blocking;
        _d = d;
        _hasBias = hasBias;
        _width = width;
        _threads = Math.Max(1, threads);
        _pointwise = ConvGeometry.IsPointwise(d);
    }

    public override void Prepare(OpData data)
    {
        ConvData cd = Bind<ConvData>(data);
        _data = cd;
        Conv2dDesc d = _d;
        int crs = d.Cg * d.R * d.S;
        BlockSizes blocks = _blocking ?? SgemmBlocking.ForHost(_width, crs);
        if (_blocking is null && d.Layout == TensorLayout.Nchw && !_pointwise)
        {
            // The B block is packed from the input and consumed right away: keep it in L2 (half of it) rather than
            // the L3-sized panel of a plain GEMM, so the packed slivers are still cache-hot when the micro-kernel
            // reads them.
            int nr = Sgemm.NR(_width);
            long nc = SimdHost.L2 / 2 / ((long)blocks.KC * sizeof(float));
            blocks = blocks with { NC = (int)Math.Clamp(nc, 4L * nr, Math.Max(4 * nr, blocks.NC)) };
        }

        _engine = Sgemm.Create(_width, blocks);
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
                // B[(r*S+s)*Cg + c, k] = W[g*Kg + k, c, r, s], the order the NHWC packer walks the taps in.
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

        if (!_pointwise)
        {
            if (d.Layout == TensorLayout.Nchw)
            {
                _bPacker = new NchwIm2colPacker(d, _engine.Blocking.NR, cd.X);
            }
            else
            {
                _aPacker = new NhwcIm2colPacker(d, cd.X);
            }
        }

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
                var call = new SgemmCall { K = crs, Alpha = 1f, Accumulate = _hasBias, Y = cd.Y };
                if (d.Layout == TensorLayout.Nchw)
                {
                    long xBase = ((long)n * d.C * hw) + ((long)g * d.Cg * hw);
                    call.M = d.Kg;
                    call.N = pq;
                    call.PackedA = _packedW[g];
                    if (_pointwise)
                    {
                        call.B = new MatF32(cd.X, xBase, hw, 1);
                    }
                    else
                    {
                        _bPacker!.XBase = xBase;
                        call.BPacker = _bPacker;
                    }

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
                    long xBase = ((long)n * hw * d.C) + ((long)g * d.Cg);
                    call.M = pq;
                    call.N = d.Kg;
                    call.PackedB = _packedW[g];
                    if (_pointwise)
                    {
                        call.A = new MatF32(cd.X, xBase, d.C, 1);
                    }
                    else
                    {
                        _aPacker!.XBase = xBase;
                        call.APacker = _aPacker;
                    }

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

                _engine.Run(call, _scratch, _threads);
            }
        }
    }
}

/// <summary>
/// The B operand of an NCHW implicit-GEMM conv: col[kk, j] = X[n, g*Cg + c, p*sh - pt + r*dh, q*sw - pl + s*dw] for
/// kk = (c*R + r)*S + s and output pixel j = p*Q + q, 0 where the tap falls in padding. Packs NR-pixel slivers: each
/// sliver is cut into runs of pixels on one output row; a run whose taps all lie inside the input row is a
/// contiguous copy (stride 1) or a strided gather, and only runs that touch padding check each element.
/// </summary>
internal sealed class NchwIm2colPacker : IBPacker
{
    /// <summary>Per im2col row kk: offset of its tap relative to the pixel's top-left input position, and the tap's
    /// row / column displacement.</summary>
    private readonly record struct Tap(long Offset, int Dh, int Dw);

    private readonly Tap[] _taps;
    private readonly float[] _x;
    private readonly int _nr, _q, _h, _w, _sh, _sw, _pt, _pl;

    public NchwIm2colPacker(Conv2dDesc d, int nr, float[] x)
    {
        _x = x;
        _nr = nr;
        _q = d.Q;
        _h = d.H;
        _w = d.W;
        _sh = d.StrideH;
        _sw = d.StrideW;
        _pt = d.PadTop;
        _pl = d.PadLeft;
        _taps = new Tap[d.Cg * d.R * d.S];
        for (int kk = 0; kk < _taps.Length; kk++)
        {
            int s = kk % d.S, r = (kk / d.S) % d.R, c = kk / (d.S * d.R);
            int dh = r * d.DilationH, dw = s * d.DilationW;
            _taps[kk] = new Tap(((long)c * d.H * d.W) + ((long)dh * d.W) + dw, dh, dw);
        }
    }

    /// <summary>Offset of channel g*Cg of image n in X; set before each GEMM call.</summary>
    public long XBase { get; set; }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void PackB(int p0, int kc, int j0, int nc, float[] dst)
    {
        int nr = _nr;
        long d = 0;
        for (int s0 = 0; s0 < nc; s0 += nr, d += (long)kc * nr)
        {
            int cols = Math.Min(nr, nc - s0);
            for (int col = 0; col < cols;)
            {
                int j = j0 + s0 + col, p = j / _q, q = j - (p * _q);
                int len = Math.Min(cols - col, _q - q);
                Run(dst, d + col, len, p, q, p0, kc);
                col += len;
            }

            if (cols < nr)
            {
                for (int t = 0; t < kc; t++)
                {
                    dst.AsSpan((int)(d + ((long)t * nr) + cols), nr - cols).Clear();
                }
            }
        }
    }

    /// <summary>Pixels (p, q .. q+len) of rows [p0, p0+kc) into dst[d0 + t*NR + i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Run(float[] dst, long d0, int len, int p, int q, int p0, int kc)
    {
        if (_sw == 1)
        {
            RunStride1(dst, d0, len, p, q, p0, kc);
            return;
        }

        int nr = _nr, sw = _sw, H = _h, W = _w;
        int hb = (p * _sh) - _pt, wb = (q * sw) - _pl, reach = (len - 1) * sw;
        long rowBase = XBase + ((long)hb * W) + wb;
        float[] x = _x;
        ref float x0 = ref MemoryMarshal.GetArrayDataReference(x);
        ref float o0 = ref MemoryMarshal.GetArrayDataReference(dst);
        ref Tap tap = ref MemoryMarshal.GetArrayDataReference(_taps);
        for (int t = 0; t < kc; t++)
        {
            Tap tp = Unsafe.Add(ref tap, p0 + t);
            ref float o = ref Unsafe.Add(ref o0, (nint)(d0 + ((long)t * nr)));
            int h = hb + tp.Dh, w = wb + tp.Dw;
            if ((uint)h >= (uint)H)
            {
                MemoryMarshal.CreateSpan(ref o, len).Clear();
                continue;
            }

            long src = rowBase + tp.Offset;
            if (w >= 0 && w + reach < W)
            {
                // Every tap of the run is inside the input row: src .. src + reach are valid indices of X.
                ref float s = ref Unsafe.Add(ref x0, (nint)src);
                if (sw == 1)
                {
                    Copy(ref s, ref o, len);
                }
                else if (sw == 2 && Avx2.IsSupported && src + reach + 1 < x.Length)
                {
                    // The gather reads one element past the last tap (discarded), still inside X.
                    Gather2(ref s, ref o, len);
                }
                else
                {
                    for (int i = 0; i < len; i++)
                    {
                        Unsafe.Add(ref o, i) = Unsafe.Add(ref s, i * sw);
                    }
                }
            }
            else
            {
                // The run touches the left and/or right padding: taps i in [lo, hi) are inside the row (w + i*sw in
                // [0, W)), the rest are zeros.
                int lo = w >= 0 ? 0 : Math.Min(len, (-w + sw - 1) / sw);
                int hi = w >= W ? 0 : Math.Min(len, ((W - 1 - w) / sw) + 1);
                if (hi <= lo)
                {
                    MemoryMarshal.CreateSpan(ref o, len).Clear();
                    continue;
                }

                MemoryMarshal.CreateSpan(ref o, lo).Clear();
                MemoryMarshal.CreateSpan(ref Unsafe.Add(ref o, hi), len - hi).Clear();
                ref float s = ref Unsafe.Add(ref x0, (nint)(src + ((long)lo * sw)));
                ref float ol = ref Unsafe.Add(ref o, lo);
                if (sw == 1)
                {
                    Copy(ref s, ref ol, hi - lo);
                }
                else
                {
                    for (int i = 0; i < hi - lo; i++)
                    {
                        Unsafe.Add(ref ol, i) = Unsafe.Add(ref s, i * sw);
                    }
                }
            }
        }
    }

    /// <summary>
    /// <see cref="Run"/> for horizontal stride 1 (the 3x3 stride-1 layers): a tap row inside the input row is one
    /// contiguous copy (two vectors for a full NR-pixel run), and the in-row range of a tap that touches the padding
    /// is [max(0, -w), min(len, W - w)), with no division and no span helper per tap.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RunStride1(float[] dst, long d0, int len, int p, int q, int p0, int kc)
    {
        int nr = _nr, H = _h, W = _w;
        int hb = (p * _sh) - _pt, wb = q - _pl;
        long rowBase = XBase + ((long)hb * W) + wb;
        ref float x0 = ref MemoryMarshal.GetArrayDataReference(_x);
        ref float o = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(dst), (nint)d0);
        ref Tap tap = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_taps), p0);
        bool full8 = Vector256.IsHardwareAccelerated && len == 8, full16 = Vector256.IsHardwareAccelerated && len == 16;
        for (int t = 0; t < kc; t++, o = ref Unsafe.Add(ref o, nr))
        {
            ref Tap tp = ref Unsafe.Add(ref tap, t);
            int h = hb + tp.Dh, w = wb + tp.Dw;
            if ((uint)h >= (uint)H)
            {
                Zero(ref o, 0, len);
                continue;
            }

            ref float s = ref Unsafe.Add(ref x0, (nint)(rowBase + tp.Offset));
            if (w >= 0 && w + len <= W)
            {
                if (full16)
                {
                    Vector256.LoadUnsafe(ref s).StoreUnsafe(ref o);
                    Vector256.LoadUnsafe(ref s, 8).StoreUnsafe(ref o, 8);
                }
                else if (full8)
                {
                    Vector256.LoadUnsafe(ref s).StoreUnsafe(ref o);
                }
                else
                {
                    Copy(ref s, ref o, len);
                }

                continue;
            }

            // Taps [lo, hi) of the run are inside the row; only those are read.
            int lo = Math.Min(len, Math.Max(0, -w)), hi = Math.Max(lo, Math.Min(len, W - w));
            Zero(ref o, 0, lo);
            Copy(ref Unsafe.Add(ref s, lo), ref Unsafe.Add(ref o, lo), hi - lo);
            Zero(ref o, hi, len);
        }
    }

    /// <summary>dst[i] = 0 for i in [from, to).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Zero(ref float dst, int from, int to)
    {
        int i = from;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= to - 8; i += 8)
            {
                Vector256<float>.Zero.StoreUnsafe(ref dst, (nuint)i);
            }
        }

        for (; i < to; i++)
        {
            Unsafe.Add(ref dst, i) = 0f;
        }
    }

    /// <summary>dst[i] = src[2i], i &lt; len, eight at a time: two loads, one in-lane shuffle and one cross-lane permute
    /// (reads src[0 .. 2*len), one more than the last element used when len is a multiple of 8).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Gather2(ref float src, ref float dst, int len)
    {
        int i = 0;
        for (; i <= len - 8; i += 8)
        {
            Vector256<float> a = Vector256.LoadUnsafe(ref src, (nuint)(2 * i));
            Vector256<float> b = Vector256.LoadUnsafe(ref src, (nuint)((2 * i) + 8));
            Vector256<float> even = Avx.Shuffle(a, b, 0b10_00_10_00);
            Avx2.Permute4x64(even.AsDouble(), 0b11_01_10_00).AsSingle().StoreUnsafe(ref dst, (nuint)i);
        }

        for (; i < len; i++)
        {
            Unsafe.Add(ref dst, i) = Unsafe.Add(ref src, 2 * i);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy(ref float src, ref float dst, int len)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= len - 8; i += 8)
            {
                Vector256.LoadUnsafe(ref src, (nuint)i).StoreUnsafe(ref dst, (nuint)i);
            }
        }

        for (; i <= len - 4; i += 4)
        {
            Vector128.LoadUnsafe(ref src, (nuint)i).StoreUnsafe(ref dst, (nuint)i);
        }

        for (; i < len; i++)
        {
            Unsafe.Add(ref dst, i) = Unsafe.Add(ref src, i);
        }
    }
}

/// <summary>
/// The A operand of an NHWC implicit-GEMM conv: col[j, kk] = X[n, p*sh - pt + r*dh, q*sw - pl + s*dw, g*Cg + c] for
/// output pixel j = p*Q + q and kk = (r*S + s)*Cg + c, 0 where the tap falls in padding. Packs MR-pixel slivers,
/// walking kk in runs of one tap: each run is Cg contiguous channels of one input pixel per sliver row.
/// </summary>
internal sealed class NhwcIm2colPacker(Conv2dDesc d, float[] x) : IAPacker
{
    private const int MR = Sgemm.MR;

    /// <summary>Offset of image n, channel g*Cg in X; set before each GEMM call.</summary>
    public long XBase { get; set; }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void PackA(int i0, int mc, int p0, int kc, float[] dst)
    {
        int Q = d.Q, H = d.H, W = d.W, C = d.C, Cg = d.Cg, S = d.S;
        Span<int> hb = stackalloc int[MR];
        Span<int> wb = stackalloc int[MR];
        ref float o0 = ref MemoryMarshal.GetArrayDataReference(dst);
        ref float x0 = ref MemoryMarshal.GetArrayDataReference(x);
        long d0 = 0;
        for (int s0 = 0; s0 < mc; s0 += MR, d0 += (long)kc * MR)
        {
            int rows = Math.Min(MR, mc - s0);
            for (int i = 0; i < rows; i++)
            {
                int j = i0 + s0 + i, p = j / Q, q = j - (p * Q);
                hb[i] = (p * d.StrideH) - d.PadTop;
                wb[i] = (q * d.StrideW) - d.PadLeft;
            }

            for (int t = 0; t < kc;)
            {
                int kk = p0 + t, tapIx = kk / Cg, c0 = kk - (tapIx * Cg);
                int run = Math.Min(kc - t, Cg - c0);
                int dh = tapIx / S * d.DilationH, dw = tapIx % S * d.DilationW;
                ref float ot = ref Unsafe.Add(ref o0, (nint)(d0 + ((long)t * MR)));
                for (int i = 0; i < MR; i++)
                {
                    ref float o = ref Unsafe.Add(ref ot, i);
                    int h = i < rows ? hb[i] + dh : -1, w = i < rows ? wb[i] + dw : -1;
                    if ((uint)h < (uint)H && (uint)w < (uint)W)
                    {
                        // In bounds: the run is Cg - c0 >= run contiguous channels of pixel (h, w).
                        ref float s = ref Unsafe.Add(ref x0, (nint)(XBase + ((((long)h * W) + w) * C) + c0));
                        for (int u = 0; u < run; u++)
                        {
                            Unsafe.Add(ref o, u * MR) = Unsafe.Add(ref s, u);
                        }
                    }
                    else
                    {
                        for (int u = 0; u < run; u++)
                        {
                            Unsafe.Add(ref o, u * MR) = 0f;
                        }
                    }
                }

                t += run;
            }
        }
    }
}
