using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ChipKit.Core.Descriptors;
using ChipKit.Core.Workloads;

namespace ChipKit.Cpu;

/// <summary>
/// Direct fp32 NCHW conv (groups 1, any stride) whose vector dimension is output channels, so no im2col
/// operand is packed per cache block:
/// <list type="bullet">
/// <item>Weights packed once at Prepare as [K/16][C/8][R][S][8 input channels][16 output channels] (channels past K
/// or C are zeros).</item>
/// <item>Each Run copies the image once into a zero-bordered, channel-interleaved buffer [C/8][H+pt+pb][W+pl+pr][8]
/// (allocated at Prepare, borders zeroed once; 8x8 transposes), so every tap of every output pixel is an in-bounds
/// read, and the 6 pixels x 8 channels a tile reads per tap group are 48 contiguous floats.</item>
/// <item>Register tile: 6 output pixels x 16 output channels = 12 Vector256 accumulators. Per tap: 2 weight loads, 6
/// broadcasts, 12 FMAs (the GEMM micro-kernel's ratio), 8 taps (one 8-channel group) unrolled per table entry. Any
/// R x S and dilation: the group loop walks a table of input offsets. The 6 pixels are consecutive in the output;
/// a tile that wraps to the next output row gives each pixel its own base.</item>
/// <item>Input channels in passes whose weight panel fills half of L1; the tiles' partial sums stay in a per-thread
/// buffer (tile layout) between passes; the last pass's sums are stored to NCHW by 8x8 transposes.</item>
/// </list>
/// Threads claim (channel block, pixel range) chunks dynamically.
/// </summary>
internal sealed class ConvDirectNchwKernel : CpuKernel, IParallelJob
{
    /// <summary>Output channels per tile (two Vector256).</summary>
    private const int NB = 16;

    /// <summary>Output pixels per tile.</summary>
    private const int TP = 6;

    /// <summary>Input channels interleaved per padded pixel (one tap group).</summary>
    private const int CB = 8;

    /// <summary>Floats ahead of a row tile's tap group that it prefetches (the group's data a few tiles later).</summary>
    private const int PrefetchAhead = 4 * TP * CB;

    private readonly Conv2dDesc _d;
    private readonly bool _hasBias;
    private readonly int _threads;
    private readonly int _hp, _wp, _c8, _groups, _kBlocks, _pq;
    private ConvData? _data;
    private float[] _w = [];
    private float[] _xp = [];
    private float[] _bias = [];
    private int[] _groupOffset = [];
    private float[][] _partial = [];
    private int[] _partialOff = [];
    private int[][] _tileOffsets = [];
    private int _wOff, _xpOff, _pixChunks, _chunks, _next, _passGroups;
    private long _yBase;

    public ConvDirectNchwKernel(Conv2dDesc d, bool hasBias, int threads)
        : base("cpu.conv.f32.direct16.v256")
    {
        if (!CanRun(d))
        {
            throw new ArgumentException("direct conv needs NCHW and groups 1", nameof(d));
        }

        _d = d;
        _hasBias = hasBias;
        _threads = Math.Max(1, threads);
        _hp = d.H + d.PadTop + d.PadBottom;
        _wp = d.W + d.PadLeft + d.PadRight;
        _c8 = (d.C + CB - 1) / CB;
        _groups = _c8 * d.R * d.S;
        _kBlocks = (d.K + NB - 1) / NB;
        _pq = d.P * d.Q;
    }

    /// <summary>Shapes the kernel computes: NCHW, one group (any R x S, strides, pads, dilation).</summary>
    public static bool CanRun(Conv2dDesc d) =>
        d.Layout == TensorLayout.Nchw && d.Groups == 1 && d.P > 0 && d.Q > 0
        && (long)(d.C + CB) * (d.H + d.PadTop + d.PadBottom) * (d.W + d.PadLeft + d.PadRight) < int.MaxValue - 64;

    /// <summary>
    /// Where the device picks it over the implicit GEMM (it measured faster on every ResNet-50 3x3 layer, 1 and 2
    /// threads, and on the stride-2 3x3 ones): Vector256 with FMA, stride 1 (any C) or 2 both ways (C >= 8: the
    /// 3-channel 7x7 stem would fill 3 of each 8-channel group), dilation 1, not 1x1 (a 1x1 conv packs nothing). No bound
    /// on C: the passes keep the live weights within half of L1 and the partial sums within a quarter of L2 for any C.
    /// </summary>
    public static bool Preferred(Conv2dDesc d, SimdWidth width) =>
        width == SimdWidth.V256 && Fma.IsSupported && CanRun(d)
        && ((d.StrideH == 1 && d.StrideW == 1) || (d.StrideH == 2 && d.StrideW == 2 && d.C >= CB))
        && d.DilationH == 1 && d.DilationW == 1 && d.R * d.S > 1;

    public override void Prepare(OpData data)
    {
        ConvData cd = Bind<ConvData>(data);
        Conv2dDesc d = _d;
        _data = cd;
        int rs = d.R * d.S;
        (_w, _wOff) = Aligned((long)_kBlocks * _groups * CB * NB);
        for (int k = 0; k < d.K; k++)
        {
            for (int c = 0; c < d.C; c++)
            {
                for (int r = 0; r < d.R; r++)
                {
                    for (int s = 0; s < d.S; s++)
                    {
                        long g = ((long)k / NB * _groups) + ((c / CB) * rs) + (r * d.S) + s;
                        _w[_wOff + (((g * CB) + (c % CB)) * NB) + (k % NB)] = cd.W[d.WeightIndex(k, c, r, s)];
                    }
                }
            }
        }

        _bias = new float[_kBlocks * NB];
        if (_hasBias)
        {
            cd.Bias.AsSpan(0, d.K).CopyTo(_bias);
        }

        _groupOffset = new int[_groups];
        for (int cb = 0; cb < _c8; cb++)
        {
            for (int r = 0; r < d.R; r++)
            {
                for (int s = 0; s < d.S; s++)
                {
                    _groupOffset[(cb * rs) + (r * d.S) + s] = ((((cb * _hp) + (r * d.DilationH)) * _wp) + (s * d.DilationW)) * CB;
                }
            }
        }

        (_xp, _xpOff) = Aligned((long)_c8 * _hp * _wp * CB);

        // Tap groups per pass: the pass's weight panel (groups x 8 x 16 floats) fills at most half of L1, so it stays
        // there across the pixel tiles of the pass, next to the tiles' input.
        _passGroups = (int)Math.Clamp(SimdHost.L1d / 2 / ((long)rs * CB * NB * sizeof(float)), 1, _c8) * rs;

        // Pixel chunks per channel block: enough (about 4 per thread) for the dynamic split to balance, each short
        // enough that its partial sums (16 floats per pixel, kept across passes) fit in a quarter of L2.
        int tiles = (_pq + TP - 1) / TP;
        int maxTiles = (int)Math.Max(1, SimdHost.L2 / 4 / (TP * NB * sizeof(float)));
        int want = _threads == 1 ? 1 : Math.Max(1, ((4 * _threads) + _kBlocks - 1) / _kBlocks);
        _pixChunks = Math.Max(Math.Clamp(want, 1, Math.Max(1, tiles / 4)), (tiles + maxTiles - 1) / maxTiles);
        _chunks = _kBlocks * _pixChunks;
        int chunkTiles = (tiles + _pixChunks - 1) / _pixChunks;
        _partial = new float[Math.Min(_threads, _chunks)][];
        _partialOff = new int[_partial.Length];
        _tileOffsets = new int[_partial.Length][];
        for (int t = 0; t < _partial.Length; t++)
        {
            (_partial[t], _partialOff[t]) = Aligned((chunkTiles + 1) * TP * NB);
            _tileOffsets[t] = new int[(chunkTiles + 1) * TP];
        }
    }

    /// <summary>A pinned array and the offset of its first 64-byte-aligned element: weight rows, input pixels and the
    /// tiles' partial sums then never split a cache line.</summary>
    private static unsafe (float[] Array, int Offset) Aligned(long length)
    {
        float[] a = GC.AllocateArray<float>((int)length + 16, pinned: true);
        nint addr = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(a));
        return (a, (int)((64 - (addr & 63)) & 63) / sizeof(float));
    }

    public override void Run()
    {
        ConvData cd = _data ?? throw NotPrepared();
        Conv2dDesc d = _d;
        long hw = (long)d.H * d.W;
        for (int n = 0; n < d.N; n++)
        {
            _yBase = (long)n * d.K * _pq;
            CopyPadded(cd.X, (long)n * d.C * hw);
            _next = 0;
            if (_threads == 1 || _chunks == 1)
            {
                for (int i = 0; i < _chunks; i++)
                {
                    Chunk(i, 0);
                }
            }
            else
            {
                WorkerPool.Run(this, Math.Min(_threads, _chunks));
            }
        }
    }

    /// <summary>xp[cb][h + pt][w + pl][ci] = X[n, 8 cb + ci, h, w]: 8 channels x 8 columns per transpose, the rest
    /// one by one. The zero border and the zero channels past C are never written.</summary>
    private void CopyPadded(float[] x, long xBase)
    {
        Conv2dDesc d = _d;
        int W = d.W;
        long hw = (long)d.H * W;
        ref float xp = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_xp), _xpOff);
        for (int cb = 0; cb < _c8; cb++)
        {
            int cn = Math.Min(CB, d.C - (cb * CB));
            Span<float> src = x.AsSpan((int)(xBase + (cb * CB * hw)), (int)(((cn - 1) * hw) + hw));
            ref float s0 = ref MemoryMarshal.GetReference(src);
            for (int h = 0; h < d.H; h++)
            {
                ref float srow = ref Unsafe.Add(ref s0, (nint)((long)h * W));
                ref float drow = ref Unsafe.Add(ref xp, (((((cb * _hp) + h + d.PadTop) * _wp) + d.PadLeft) * CB));
                int w = 0;
                if (cn == CB && Avx.IsSupported)
                {
                    for (; w + 8 <= W; w += 8)
                    {
                        Transpose8(ref Unsafe.Add(ref srow, w), (nuint)hw, ref Unsafe.Add(ref drow, w * CB), CB);
                    }
                }

                for (; w < W; w++)
                {
                    for (int ci = 0; ci < cn; ci++)
                    {
                        Unsafe.Add(ref drow, (w * CB) + ci) = Unsafe.Add(ref srow, (nint)((ci * hw) + w));
                    }
                }
            }
        }
    }

    public void Execute(int part)
    {
        int chunk;
        while ((chunk = Interlocked.Increment(ref _next) - 1) < _chunks)
        {
            Chunk(chunk, part);
        }
    }

    private void Chunk(int chunk, int slot)
    {
        int kb = chunk / _pixChunks, pc = chunk - (kb * _pixChunks);
        int tiles = (_pq + TP - 1) / TP;
        int t0 = (int)((long)tiles * pc / _pixChunks), t1 = (int)((long)tiles * (pc + 1) / _pixChunks);
        Block(kb, t0 * TP, Math.Min(_pq, t1 * TP), _partial[slot], _partialOff[slot], _tileOffsets[slot]);
    }

    /// <summary>
    /// Channels [16 kb, 16 kb + 16) x output pixels [j0, j1), in passes over tap groups: pass 0 starts the
    /// accumulators from the bias, later passes from the partial sums of the one before (pixel i of the chunk at
    /// partial[i*16 ..]); the last pass's sums go to NCHW through 8x8 transposes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Block(int kb, int j0, int j1, float[] partial, int partialOff, int[] tileOffsets)
    {
        Conv2dDesc d = _d;
        int q = d.Q, sh = d.StrideH, sw = d.StrideW, wp = _wp, kValid = Math.Min(NB, d.K - (kb * NB));
        ref float wBlock = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_w), (nint)(_wOff + ((long)kb * _groups * CB * NB)));
        ref float xp = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_xp), _xpOff);
        ref int groups0 = ref MemoryMarshal.GetArrayDataReference(_groupOffset);
        ref float bias = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_bias), kb * NB);
        ref float part0 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(partial), partialOff);

        // Padded-input base of each tile pixel, once per chunk (the last tile repeats its last pixel).
        for (int j = j0; j < j1; j += TP)
        {
            int n = Math.Min(TP, j1 - j);
            Span<int> off = tileOffsets.AsSpan(j - j0, TP);
            int p = j / q, qq = j - (p * q);
            for (int i = 0; i < TP; i++)
            {
                int ji = j + Math.Min(i, n - 1);
                int pi = p, qi = qq + Math.Min(i, n - 1);
                if (qi >= q)
                {
                    pi = ji / q;
                    qi = ji - (pi * q);
                }

                off[i] = ((pi * sh * wp) + (qi * sw)) * CB;
            }
        }

        for (int g0 = 0; g0 < _groups; g0 += _passGroups)
        {
            int gn = Math.Min(_passGroups, _groups - g0);
            ref float w = ref Unsafe.Add(ref wBlock, (nint)((long)g0 * CB * NB));
            ref int groups = ref Unsafe.Add(ref groups0, g0);
            bool first = g0 == 0;
            for (int j = j0; j < j1; j += TP)
            {
                ReadOnlySpan<int> off = tileOffsets.AsSpan(j - j0, TP);
                ref float acc = ref Unsafe.Add(ref part0, (j - j0) * NB);
                ref float init = ref first ? ref bias : ref acc;
                int initStride = first ? 0 : NB;
                if (off[TP - 1] == off[0] + ((TP - 1) * CB))
                {
                    TileRow(ref w, ref Unsafe.Add(ref xp, off[0]), ref groups, gn, ref init, initStride, ref acc);
                }
                else
                {
                    TileWrap(ref w, ref xp, off, ref groups, gn, ref init, initStride, ref acc);
                }
            }
        }

        // Channel c of chunk pixel i is partial[i*16 + c].
        float[] y = _data!.Y;
        long yk = _yBase + ((long)kb * NB * _pq);
        int len = j1 - j0, c8 = 0, i8 = 0;
        if (Avx.IsSupported)
        {
            i8 = len & ~7;
            for (; c8 + 8 <= kValid; c8 += 8)
            {
                Span<float> dst = y.AsSpan((int)(yk + ((long)c8 * _pq) + j0), (7 * _pq) + i8);
                ref float d0 = ref MemoryMarshal.GetReference(dst);
                for (int i = 0; i < i8; i += 8)
                {
                    Transpose8(ref Unsafe.Add(ref part0, (i * NB) + c8), NB, ref Unsafe.Add(ref d0, i), (nuint)_pq);
                }
            }
        }

        for (int c = 0; c < kValid; c++)
        {
            Span<float> dst = y.AsSpan((int)(yk + ((long)c * _pq) + j0), len);
            ref float src = ref Unsafe.Add(ref part0, c);
            for (int i = c < c8 ? i8 : 0; i < dst.Length; i++)
            {
                dst[i] = Unsafe.Add(ref src, i * NB);
            }
        }
    }

    /// <summary>dst[c * ldd + i] = src[i * lds + c] for c, i &lt; 8 (8x8 transpose: unpack, shuffle, 128-bit permute).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8(ref float src, nuint lds, ref float dst, nuint ldd)
    {
        Vector256<float> r0 = Vector256.LoadUnsafe(ref src), r1 = Vector256.LoadUnsafe(ref src, lds);
        Vector256<float> r2 = Vector256.LoadUnsafe(ref src, 2 * lds), r3 = Vector256.LoadUnsafe(ref src, 3 * lds);
        Vector256<float> r4 = Vector256.LoadUnsafe(ref src, 4 * lds), r5 = Vector256.LoadUnsafe(ref src, 5 * lds);
        Vector256<float> r6 = Vector256.LoadUnsafe(ref src, 6 * lds), r7 = Vector256.LoadUnsafe(ref src, 7 * lds);
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Permute2x128(u0, u4, 0x20).StoreUnsafe(ref dst);
        Avx.Permute2x128(u1, u5, 0x20).StoreUnsafe(ref dst, ldd);
        Avx.Permute2x128(u2, u6, 0x20).StoreUnsafe(ref dst, 2 * ldd);
        Avx.Permute2x128(u3, u7, 0x20).StoreUnsafe(ref dst, 3 * ldd);
        Avx.Permute2x128(u0, u4, 0x31).StoreUnsafe(ref dst, 4 * ldd);
        Avx.Permute2x128(u1, u5, 0x31).StoreUnsafe(ref dst, 5 * ldd);
        Avx.Permute2x128(u2, u6, 0x31).StoreUnsafe(ref dst, 6 * ldd);
        Avx.Permute2x128(u3, u7, 0x31).StoreUnsafe(ref dst, 7 * ldd);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fmadd(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : (a * b) + c;

    /// <summary>6 pixels adjacent on one padded row: per tap group, 8 taps whose broadcasts are x + group + ci + 8 i.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TileRow(ref float w, ref float x, ref int groups, int count, ref float init, int initStride, ref float tile)
    {
        nuint st = (nuint)initStride;
        Vector256<float> a00 = Vector256.LoadUnsafe(ref init), a01 = Vector256.LoadUnsafe(ref init, 8);
        Vector256<float> a10 = Vector256.LoadUnsafe(ref init, st), a11 = Vector256.LoadUnsafe(ref init, st + 8);
        Vector256<float> a20 = Vector256.LoadUnsafe(ref init, 2 * st), a21 = Vector256.LoadUnsafe(ref init, (2 * st) + 8);
        Vector256<float> a30 = Vector256.LoadUnsafe(ref init, 3 * st), a31 = Vector256.LoadUnsafe(ref init, (3 * st) + 8);
        Vector256<float> a40 = Vector256.LoadUnsafe(ref init, 4 * st), a41 = Vector256.LoadUnsafe(ref init, (4 * st) + 8);
        Vector256<float> a50 = Vector256.LoadUnsafe(ref init, 5 * st), a51 = Vector256.LoadUnsafe(ref init, (5 * st) + 8);
        for (int t = 0; t < count; t++, w = ref Unsafe.Add(ref w, CB * NB))
        {
            ref float g = ref Unsafe.Add(ref x, Unsafe.Add(ref groups, t));
            Prefetch.Line(ref Unsafe.Add(ref g, PrefetchAhead));
            Vector256<float> w0, w1, v;
            w0 = Vector256.LoadUnsafe(ref w, 0);
            w1 = Vector256.LoadUnsafe(ref w, 8);
            v = Vector256.Create(Unsafe.Add(ref g, 0));
            a00 = Fmadd(w0, v, a00);
            a01 = Fmadd(w1, v, a01);
            v = Vector256.Create(Unsafe.Add(ref g, 8));
            a10 = Fmadd(w0, v, a10);
            a11 = Fmadd(w1, v, a11);
            v = Vector256.Create(Unsafe.Add(ref g, 16));
            a20 = Fmadd(w0, v, a20);
            a21 = Fmadd(w1, v, a21);
            v = Vector256.Create(Unsafe.Add(ref g, 24));
            a30 = Fmadd(w0, v, a30);
            a31 = Fmadd(w1, v, a31);
            v = Vector256.Create(Unsafe.Add(ref g, 32));
            a40 = Fmadd(w0, v, a40);
            a41 = Fmadd(w1, v, a41);
            v = Vector256.Create(Unsafe.Add(ref g, 40));
            a50 = Fmadd(w0, v, a50);
            a51 = Fmadd(w1, v, a51);
            w0 = Vector256.LoadUnsafe(ref w, 16);
            w1 = Vector256.LoadUnsafe(ref w, 24);
            v = Vector256.Create(Unsafe.Add(ref g, 1));
            a00 = Fmadd(w0, v, a00);
            a01 = Fmadd(w1, v, a01);
            v = Vector256.Create(Unsafe.Add(ref g, 9));
            a10 = Fmadd(w0, v, a10);
            a11 = Fmadd(w1, v, a11);
            v = Vector256.Create(Unsafe.Add(ref g, 17));
            a20 = Fmadd(w0, v, a20);
            a21 = Fmadd(w1, v, a21);
            v = Vector256.Create(Unsafe.Add(ref g, 25));
            a30 = Fmadd(w0, v, a30);
            a31 = Fmadd(w1, v, a31);
            v = Vector256.Create(Unsafe.Add(ref g, 33));
            a40 = Fmadd(w0, v, a40);
            a41 = Fmadd(w1, v, a41);
            v = Vector256.Create(Unsafe.Add(ref g, 41));
            a50 = Fmadd(w0, v, a50);
            a51 = Fmadd(w1, v, a51);
            w0 = Vector256.LoadUnsafe(ref w, 32);
            w1 = Vector256.LoadUnsafe(ref w, 40);
            v = Vector256.Create(Unsafe.Add(ref g, 2));
            a00 = Fmadd(w0, v, a00);
            a01 = Fmadd(w1, v, a01);
            v = Vector256.Create(Unsafe.Add(ref g, 10));
            a10 = Fmadd(w0, v, a10);
            a11 = Fmadd(w1, v, a11);
            v = Vector256.Create(Unsafe.Add(ref g, 18));
            a20 = Fmadd(w0, v, a20);
            a21 = Fmadd(w1, v, a21);
            v = Vector256.Create(Unsafe.Add(ref g, 26));
            a30 = Fmadd(w0, v, a30);
            a31 = Fmadd(w1, v, a31);
            v = Vector256.Create(Unsafe.Add(ref g, 34));
            a40 = Fmadd(w0, v, a40);
            a41 = Fmadd(w1, v, a41);
            v = Vector256.Create(Unsafe.Add(ref g, 42));
            a50 = Fmadd(w0, v, a50);
            a51 = Fmadd(w1, v, a51);
            w0 = Vector256.LoadUnsafe(ref w, 48);
            w1 = Vector256.LoadUnsafe(ref w, 56);
            v = Vector256.Create(Unsafe.Add(ref g, 3));
            a00 = Fmadd(w0, v, a00);
            a01 = Fmadd(w1, v, a01);
            v = Vector256.Create(Unsafe.Add(ref g, 11));
            a10 = Fmadd(w0, v, a10);
            a11 = Fmadd(w1, v, a11);
            v = Vector256.Create(Unsafe.Add(ref g, 19));
            a20 = Fmadd(w0, v, a20);
            a21 = Fmadd(w1, v, a21);
            v = Vector256.Create(Unsafe.Add(ref g, 27));
            a30 = Fmadd(w0, v, a30);
            a31 = Fmadd(w1, v, a31);
            v = Vector256.Create(Unsafe.Add(ref g, 35));
            a40 = Fmadd(w0, v, a40);
            a41 = Fmadd(w1, v, a41);
            v = Vector256.Create(Unsafe.Add(ref g, 43));
            a50 = Fmadd(w0, v, a50);
            a51 = Fmadd(w1, v, a51);
            w0 = Vector256.LoadUnsafe(ref w, 64);
            w1 = Vector256.LoadUnsafe(ref w, 72);
            v = Vector256.Create(Unsafe.Add(ref g, 4));
            a00 = Fmadd(w0, v, a00);
            a01 = Fmadd(w1, v, a01);
            v = Vector256.Create(Unsafe.Add(ref g, 12));
            a10 = Fmadd(w0, v, a10);
            a11 = Fmadd(w1, v, a11);
            v = Vector256.Create(Unsafe.Add(ref g, 20));
            a20 = Fmadd(w0, v, a20);
            a21 = Fmadd(w1, v, a21);
            v = Vector256.Create(Unsafe.Add(ref g, 28));
            a30 = Fmadd(w0, v, a30);
            a31 = Fmadd(w1, v, a31);
            v = Vector256.Create(Unsafe.Add(ref g, 36));
            a40 = Fmadd(w0, v, a40);
            a41 = Fmadd(w1, v, a41);
            v = Vector256.Create(Unsafe.Add(ref g, 44));
            a50 = Fmadd(w0, v, a50);
            a51 = Fmadd(w1, v, a51);
            w0 = Vector256.LoadUnsafe(ref w, 80);
            w1 = Vector256.LoadUnsafe(ref w, 88);
            v = Vector256.Create(Unsafe.Add(ref g, 5));
            a00 = Fmadd(w0, v, a00);
            a01 = Fmadd(w1, v, a01);
            v = Vector256.Create(Unsafe.Add(ref g, 13));
            a10 = Fmadd(w0, v, a10);
            a11 = Fmadd(w1, v, a11);
            v = Vector256.Create(Unsafe.Add(ref g, 21));
            a20 = Fmadd(w0, v, a20);
            a21 = Fmadd(w1, v, a21);
            v = Vector256.Create(Unsafe.Add(ref g, 29));
            a30 = Fmadd(w0, v, a30);
            a31 = Fmadd(w1, v, a31);
            v = Vector256.Create(Unsafe.Add(ref g, 37));
            a40 = Fmadd(w0, v, a40);
            a41 = Fmadd(w1, v, a41);
            v = Vector256.Create(Unsafe.Add(ref g, 45));
            a50 = Fmadd(w0, v, a50);
            a51 = Fmadd(w1, v, a51);
            w0 = Vector256.LoadUnsafe(ref w, 96);
            w1 = Vector256.LoadUnsafe(ref w, 104);
            v = Vector256.Create(Unsafe.Add(ref g, 6));
            a00 = Fmadd(w0, v, a00);
            a01 = Fmadd(w1, v, a01);
            v = Vector256.Create(Unsafe.Add(ref g, 14));
            a10 = Fmadd(w0, v, a10);
            a11 = Fmadd(w1, v, a11);
            v = Vector256.Create(Unsafe.Add(ref g, 22));
            a20 = Fmadd(w0, v, a20);
            a21 = Fmadd(w1, v, a21);
            v = Vector256.Create(Unsafe.Add(ref g, 30));
            a30 = Fmadd(w0, v, a30);
            a31 = Fmadd(w1, v, a31);
            v = Vector256.Create(Unsafe.Add(ref g, 38));
            a40 = Fmadd(w0, v, a40);
            a41 = Fmadd(w1, v, a41);
            v = Vector256.Create(Unsafe.Add(ref g, 46));
            a50 = Fmadd(w0, v, a50);
            a51 = Fmadd(w1, v, a51);
            w0 = Vector256.LoadUnsafe(ref w, 112);
            w1 = Vector256.LoadUnsafe(ref w, 120);
            v = Vector256.Create(Unsafe.Add(ref g, 7));
            a00 = Fmadd(w0, v, a00);
            a01 = Fmadd(w1, v, a01);
            v = Vector256.Create(Unsafe.Add(ref g, 15));
            a10 = Fmadd(w0, v, a10);
            a11 = Fmadd(w1, v, a11);
            v = Vector256.Create(Unsafe.Add(ref g, 23));
            a20 = Fmadd(w0, v, a20);
            a21 = Fmadd(w1, v, a21);
            v = Vector256.Create(Unsafe.Add(ref g, 31));
            a30 = Fmadd(w0, v, a30);
            a31 = Fmadd(w1, v, a31);
            v = Vector256.Create(Unsafe.Add(ref g, 39));
            a40 = Fmadd(w0, v, a40);
            a41 = Fmadd(w1, v, a41);
            v = Vector256.Create(Unsafe.Add(ref g, 47));
            a50 = Fmadd(w0, v, a50);
            a51 = Fmadd(w1, v, a51);
        }

        a00.StoreUnsafe(ref tile, 0);
        a01.StoreUnsafe(ref tile, 8);
        a10.StoreUnsafe(ref tile, 16);
        a11.StoreUnsafe(ref tile, 24);
        a20.StoreUnsafe(ref tile, 32);
        a21.StoreUnsafe(ref tile, 40);
        a30.StoreUnsafe(ref tile, 48);
        a31.StoreUnsafe(ref tile, 56);
        a40.StoreUnsafe(ref tile, 64);
        a41.StoreUnsafe(ref tile, 72);
        a50.StoreUnsafe(ref tile, 80);
        a51.StoreUnsafe(ref tile, 88);
    }

    /// <summary>6 pixels with their own bases (a tile that wraps an output row, or the last one of a chunk).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TileWrap(ref float w, ref float xp, ReadOnlySpan<int> off, ref int groups, int count, ref float init, int initStride, ref float tile)
    {
        ref float x0 = ref Unsafe.Add(ref xp, off[0]);
        ref float x1 = ref Unsafe.Add(ref xp, off[1]);
        ref float x2 = ref Unsafe.Add(ref xp, off[2]);
        ref float x3 = ref Unsafe.Add(ref xp, off[3]);
        ref float x4 = ref Unsafe.Add(ref xp, off[4]);
        ref float x5 = ref Unsafe.Add(ref xp, off[5]);
        nuint st = (nuint)initStride;
        Vector256<float> a00 = Vector256.LoadUnsafe(ref init), a01 = Vector256.LoadUnsafe(ref init, 8);
        Vector256<float> a10 = Vector256.LoadUnsafe(ref init, st), a11 = Vector256.LoadUnsafe(ref init, st + 8);
        Vector256<float> a20 = Vector256.LoadUnsafe(ref init, 2 * st), a21 = Vector256.LoadUnsafe(ref init, (2 * st) + 8);
        Vector256<float> a30 = Vector256.LoadUnsafe(ref init, 3 * st), a31 = Vector256.LoadUnsafe(ref init, (3 * st) + 8);
        Vector256<float> a40 = Vector256.LoadUnsafe(ref init, 4 * st), a41 = Vector256.LoadUnsafe(ref init, (4 * st) + 8);
        Vector256<float> a50 = Vector256.LoadUnsafe(ref init, 5 * st), a51 = Vector256.LoadUnsafe(ref init, (5 * st) + 8);
        for (int t = 0; t < count; t++, w = ref Unsafe.Add(ref w, CB * NB))
        {
            nint o = Unsafe.Add(ref groups, t);
            Vector256<float> w0, w1, v;
            w0 = Vector256.LoadUnsafe(ref w, 0);
            w1 = Vector256.LoadUnsafe(ref w, 8);
            v = Vector256.Create(Unsafe.Add(ref x0, o + 0));
            a00 = Fmadd(w0, v, a00);
            a01 = Fmadd(w1, v, a01);
            v = Vector256.Create(Unsafe.Add(ref x1, o + 0));
            a10 = Fmadd(w0, v, a10);
            a11 = Fmadd(w1, v, a11);
            v = Vector256.Create(Unsafe.Add(ref x2, o + 0));
            a20 = Fmadd(w0, v, a20);
            a21 = Fmadd(w1, v, a21);
            v = Vector256.Create(Unsafe.Add(ref x3, o + 0));
            a30 = Fmadd(w0, v, a30);
            a31 = Fmadd(w1, v, a31);
            v = Vector256.Create(Unsafe.Add(ref x4, o + 0));
            a40 = Fmadd(w0, v, a40);
            a41 = Fmadd(w1, v, a41);
            v = Vector256.Create(Unsafe.Add(ref x5, o + 0));
            a50 = Fmadd(w0, v, a50);
            a51 = Fmadd(w1, v, a51);
            w0 = Vector256.LoadUnsafe(ref w, 16);
            w1 = Vector256.LoadUnsafe(ref w, 24);
            v = Vector256.Create(Unsafe.Add(ref x0, o + 1));
            a00 = Fmadd(w0, v, a00);
            a01 = Fmadd(w1, v, a01);
            v = Vector256.Create(Unsafe.Add(ref x1, o + 1));
            a10 = Fmadd(w0, v, a10);
            a11 = Fmadd(w1, v, a11);
            v = Vector256.Create(Unsafe.Add(ref x2, o + 1));
            a20 = Fmadd(w0, v, a20);
            a21 = Fmadd(w1, v, a21);
            v = Vector256.Create(Unsafe.Add(ref x3, o + 1));
            a30 = Fmadd(w0, v, a30);
            a31 = Fmadd(w1, v, a31);
            v = Vector256.Create(Unsafe.Add(ref x4, o + 1));
            a40 = Fmadd(w0, v, a40);
            a41 = Fmadd(w1, v, a41);
            v = Vector256.Create(Unsafe.Add(ref x5, o + 1));
            a50 = Fmadd(w0, v, a50);
            a51 = Fmadd(w1, v, a51);
            w0 = Vector256.LoadUnsafe(ref w, 32);
            w1 = Vector256.LoadUnsafe(ref w, 40);
            v = Vector256.Create(Unsafe.Add(ref x0, o + 2));
            a00 = Fmadd(w0, v, a00);
            a01 = Fmadd(w1, v, a01);
            v = Vector256.Create(Unsafe.Add(ref x1, o + 2));
            a10 = Fmadd(w0, v, a10);
            a11 = Fmadd(w1, v, a11);
            v = Vector256.Create(Unsafe.Add(ref x2, o + 2));
            a20 = Fmadd(w0, v, a20);
            a21 = Fmadd(w1, v, a21);
            v = Vector256.Create(Unsafe.Add(ref x3, o + 2));
            a30 = Fmadd(w0, v, a30);
            a31 = Fmadd(w1, v, a31);
            v = Vector256.Create(Unsafe.Add(ref x4, o + 2));
            a40 = Fmadd(w0, v, a40);
            a41 = Fmadd(w1, v, a41);
            v = Vector256.Create(Unsafe.Add(ref x5, o + 2));
            a50 = Fmadd(w0, v, a50);
            a51 = Fmadd(w1, v, a51);
            w0 = Vector256.LoadUnsafe(ref w, 48);
            w1 = Vector256.LoadUnsafe(ref w, 56);
            v = Vector256.Create(Unsafe.Add(ref x0, o + 3));
            a00 = Fmadd(w0, v, a00);
            a01 = Fmadd(w1, v, a01);
            v = Vector256.Create(Unsafe.Add(ref x1, o + 3));
            a10 = Fmadd(w0, v, a10);
            a11 = Fmadd(w1, v, a11);
            v = Vector256.Create(Unsafe.Add(ref x2, o + 3));
            a20 = Fmadd(w0, v, a20);
            a21 = Fmadd(w1, v, a21);
            v = Vector256.Create(Unsafe.Add(ref x3, o + 3));
            a30 = Fmadd(w0, v, a30);
            a31 = Fmadd(w1, v, a31);
            v = Vector256.Create(Unsafe.Add(ref x4, o + 3));
            a40 = Fmadd(w0, v, a40);
            a41 = Fmadd(w1, v, a41);
            v = Vector256.Create(Unsafe.Add(ref x5, o + 3));
            a50 = Fmadd(w0, v, a50);
            a51 = Fmadd(w1, v, a51);
            w0 = Vector256.LoadUnsafe(ref w, 64);
            w1 = Vector256.LoadUnsafe(ref w, 72);
            v = Vector256.Create(Unsafe.Add(ref x0, o + 4));
            a00 = Fmadd(w0, v, a00);
            a01 = Fmadd(w1, v, a01);
            v = Vector256.Create(Unsafe.Add(ref x1, o + 4));
            a10 = Fmadd(w0, v, a10);
            a11 = Fmadd(w1, v, a11);
            v = Vector256.Create(Unsafe.Add(ref x2, o + 4));
            a20 = Fmadd(w0, v, a20);
            a21 = Fmadd(w1, v, a21);
            v = Vector256.Create(Unsafe.Add(ref x3, o + 4));
            a30 = Fmadd(w0, v, a30);
            a31 = Fmadd(w1, v, a31);
            v = Vector256.Create(Unsafe.Add(ref x4, o + 4));
            a40 = Fmadd(w0, v, a40);
            a41 = Fmadd(w1, v, a41);
            v = Vector256.Create(Unsafe.Add(ref x5, o + 4));
            a50 = Fmadd(w0, v, a50);
            a51 = Fmadd(w1, v, a51);
            w0 = Vector256.LoadUnsafe(ref w, 80);
            w1 = Vector256.LoadUnsafe(ref w, 88);
            v = Vector256.Create(Unsafe.Add(ref x0, o + 5));
            a00 = Fmadd(w0, v, a00);
            a01 = Fmadd(w1, v, a01);
            v = Vector256.Create(Unsafe.Add(ref x1, o + 5));
            a10 = Fmadd(w0, v, a10);
            a11 = Fmadd(w1, v, a11);
            v = Vector256.Create(Unsafe.Add(ref x2, o + 5));
            a20 = Fmadd(w0, v, a20);
            a21 = Fmadd(w1, v, a21);
            v = Vector256.Create(Unsafe.Add(ref x3, o + 5));
            a30 = Fmadd(w0, v, a30);
            a31 = Fmadd(w1, v, a31);
            v = Vector256.Create(Unsafe.Add(ref x4, o + 5));
            a40 = Fmadd(w0, v, a40);
            a41 = Fmadd(w1, v, a41);
            v = Vector256.Create(Unsafe.Add(ref x5, o + 5));
            a50 = Fmadd(w0, v, a50);
            a51 = Fmadd(w1, v, a51);
            w0 = Vector256.LoadUnsafe(ref w, 96);
            w1 = Vector256.LoadUnsafe(ref w, 104);
            v = Vector256.Create(Unsafe.Add(ref x0, o + 6));
            a00 = Fmadd(w0, v, a00);
            a01 = Fmadd(w1, v, a01);
            v = Vector256.Create(Unsafe.Add(ref x1, o + 6));
            a10 = Fmadd(w0, v, a10);
            a11 = Fmadd(w1, v, a11);
            v = Vector256.Create(Unsafe.Add(ref x2, o + 6));
            a20 = Fmadd(w0, v, a20);
            a21 = Fmadd(w1, v, a21);
            v = Vector256.Create(Unsafe.Add(ref x3, o + 6));
            a30 = Fmadd(w0, v, a30);
            a31 = Fmadd(w1, v, a31);
            v = Vector256.Create(Unsafe.Add(ref x4, o + 6));
            a40 = Fmadd(w0, v, a40);
            a41 = Fmadd(w1, v, a41);
            v = Vector256.Create(Unsafe.Add(ref x5, o + 6));
            a50 = Fmadd(w0, v, a50);
            a51 = Fmadd(w1, v, a51);
            w0 = Vector256.LoadUnsafe(ref w, 112);
            w1 = Vector256.LoadUnsafe(ref w, 120);
            v = Vector256.Create(Unsafe.Add(ref x0, o + 7));
            a00 = Fmadd(w0, v, a00);
            a01 = Fmadd(w1, v, a01);
            v = Vector256.Create(Unsafe.Add(ref x1, o + 7));
            a10 = Fmadd(w0, v, a10);
            a11 = Fmadd(w1, v, a11);
            v = Vector256.Create(Unsafe.Add(ref x2, o + 7));
            a20 = Fmadd(w0, v, a20);
            a21 = Fmadd(w1, v, a21);
            v = Vector256.Create(Unsafe.Add(ref x3, o + 7));
            a30 = Fmadd(w0, v, a30);
            a31 = Fmadd(w1, v, a31);
            v = Vector256.Create(Unsafe.Add(ref x4, o + 7));
            a40 = Fmadd(w0, v, a40);
            a41 = Fmadd(w1, v, a41);
            v = Vector256.Create(Unsafe.Add(ref x5, o + 7));
            a50 = Fmadd(w0, v, a50);
            a51 = Fmadd(w1, v, a51);
        }

        a00.StoreUnsafe(ref tile, 0);
        a01.StoreUnsafe(ref tile, 8);
        a10.StoreUnsafe(ref tile, 16);
        a11.StoreUnsafe(ref tile, 24);
        a20.StoreUnsafe(ref tile, 32);
        a21.StoreUnsafe(ref tile, 40);
        a30.StoreUnsafe(ref tile, 48);
        a31.StoreUnsafe(ref tile, 56);
        a40.StoreUnsafe(ref tile, 64);
        a41.StoreUnsafe(ref tile, 72);
        a50.StoreUnsafe(ref tile, 80);
        a51.StoreUnsafe(ref tile, 88);
    }
}
