using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ChipKit.Models.Kernels;

/// <summary>Switches for the fast kernels (tests turn the AVX2 micro-kernels off to check the portable path).</summary>
public static class FastKernels
{
    /// <summary>Whether the AVX2 micro-kernels run (default: when the CPU has AVX2); otherwise the portable loops do.</summary>
    public static bool UseAvx2 { get; set; } = Avx2.IsSupported;
}

/// <summary>
/// CONV_2D and FULLY_CONNECTED as an implicit GEMM: output pixels x output channels, reduced over taps x channel pairs.
/// <para>Contract of the micro-kernel (4 pixels x 16 channels, and 1 x 16 for tails and batch-1 FC):
/// the input is first converted once per inference to int16 <c>x - zero_point</c> in rows of <c>Cp</c> (C rounded up
/// to even, the pad lane 0), followed by one all-zero row that padded taps point to (a padded tap then contributes 0,
/// exactly TFLM's "skip taps outside the image"). Weights are packed at creation as int16 pairs per (16-channel block,
/// tap, channel pair): 16 channels x 2 values, so one <c>vpmaddwd</c> of a broadcast activation pair
/// (x[c], x[c+1]) with 8 channels' (w[c], w[c+1]) adds 8 exact int32 partial sums. Products are |x - zp| &lt;= 255 by
/// |w| &lt;= 128, so every pairwise sum and the int32 accumulator are exact (the interpreter refuses layers whose
/// taps could overflow int32); integer addition is associative, so the result equals the scalar reference's bit for
/// bit. Channels past OC have zero weights and are never stored; the kernel reads only the converted input, the zero
/// row and the packed weights, and writes only the layer's output slot.</para>
/// <para>Tap offsets (into the converted input, or the zero row) are precomputed at creation for every output pixel,
/// so padding, stride and dilation cost nothing in the inner loop.</para>
/// </summary>
internal sealed class FastConv
{
    private const int Nr = 16;
    private readonly Window _g;
    private readonly bool _im2col;      // small C: the whole window is one kernel "tap" of K = KH*KW*C
    private readonly int _kc, _cp, _pairs, _taps, _blocks, _pixels;
    private readonly short[] _w;        // [block][tap][pair][16 channels][2]
    private readonly int[] _offs;       // [pixel][tap] → short offset of the tap's first channel in _xs
    private readonly short[] _xs;       // converted input [N*H*W][Cp] + one zero row, or im2col rows [pixels][Kp]
    private readonly RequantParams _rq; // per channel, padded to blocks * 16
    private readonly int _inZp, _outZp, _lo, _hi;
    private readonly sbyte[] _tail = new sbyte[Nr];
    private readonly Vector256<int>[] _acc = new Vector256<int>[8]; // micro-kernel results, 8 x 8 int32

    public FastConv(Window g, sbyte[] weights, int[] bias, int[] mult, int[] shift, int inZp, int outZp, int lo, int hi)
    {
        _g = g;
        _inZp = inZp;
        _outZp = outZp;
        _lo = lo;
        _hi = hi;
        int windowTaps = g.KH * g.KW;

        // Fewer than 8 channels per tap (first layers: C = 1 or 3) would leave the pair loop one or two steps long and
        // waste the odd lane of every tap: gather the window into im2col rows instead, K = KH*KW*C contiguous.
        _im2col = g.C < 8 && windowTaps > 1;
        _taps = _im2col ? 1 : windowTaps;
        _kc = _im2col ? windowTaps * g.C : g.C;
        _cp = (_kc + 1) / 2 * 2;
        _pairs = _cp / 2;
        _blocks = (g.OC + Nr - 1) / Nr;
        _pixels = g.N * g.OH * g.OW;
        _w = new short[_blocks * _taps * _pairs * Nr * 2];
        for (int oc = 0; oc < g.OC; oc++)
        {
            int b = oc / Nr, j = oc % Nr;
            for (int t = 0; t < _taps; t++)
            {
                for (int c = 0; c < _kc; c++)
                {
                    // weights are [OC][KH][KW][C]: (tap, channel) and the im2col index t*C + c address the same byte
                    _w[((((b * _taps) + t) * _pairs + (c / 2)) * Nr + j) * 2 + (c % 2)] = weights[(oc * _taps + t) * _kc + c];
                }
            }
        }

        _rq = new RequantParams(_blocks * Nr);
        for (int oc = 0; oc < g.OC; oc++)
        {
            _rq.Set(oc, mult[oc], shift[oc], bias[oc]);
        }

        if (_im2col)
        {
            // + 16 lanes of slack: a window row of <= 16 elements is written as one 16-lane vector (Im2col), which may spill
            // into the next pixel's row (rewritten right after) or the pad lane (its weights are 0, so it adds nothing)
            _xs = new short[(_pixels * _cp) + 16];
            _offs = new int[_pixels];
            for (int p = 0; p < _pixels; p++)
            {
                _offs[p] = p * _cp;
            }

            return;
        }

        int zeroRow = g.N * g.H * g.W * _cp;
        _xs = new short[zeroRow + _cp];
        _offs = new int[_pixels * _taps];
        for (int n = 0, p = 0; n < g.N; n++)
        {
            for (int oy = 0; oy < g.OH; oy++)
            {
                for (int ox = 0; ox < g.OW; ox++, p++)
                {
                    int iy0 = oy * g.SH - g.PadTop, ix0 = ox * g.SW - g.PadLeft;
                    for (int ky = 0; ky < g.KH; ky++)
                    {
                        for (int kx = 0; kx < g.KW; kx++)
                        {
                            int iy = iy0 + g.DH * ky, ix = ix0 + g.DW * kx;
                            bool inside = iy >= 0 && iy < g.H && ix >= 0 && ix < g.W;
                            _offs[p * _taps + ky * g.KW + kx] = inside ? ((n * g.H + iy) * g.W + ix) * _cp : zeroRow;
                        }
                    }
                }
            }
        }
    }

    /// <summary>Im2col rows of (x - zp): contiguous runs of KW*C elements per window row where the row lies inside.</summary>
    private void Im2col(ReadOnlySpan<sbyte> x)
    {
        Window g = _g;
        int c = g.C, run = g.KW * c;
        for (int n = 0, p = 0; n < g.N; n++)
        {
            for (int oy = 0; oy < g.OH; oy++)
            {
                for (int ox = 0; ox < g.OW; ox++, p++)
                {
                    int iy0 = oy * g.SH - g.PadTop, ix0 = ox * g.SW - g.PadLeft;
                    Span<short> row = _xs.AsSpan(p * _cp, _kc);
                    bool rowInside = ix0 >= 0 && ix0 + ((g.KW - 1) * g.DW) < g.W;
                    for (int ky = 0; ky < g.KH; ky++)
                    {
                        int iy = iy0 + g.DH * ky;
                        Span<short> dst = row.Slice(ky * run, run);
                        if (iy < 0 || iy >= g.H)
                        {
                            dst.Clear();
                        }
                        else if (rowInside && g.DW == 1 && run <= 16 && Vector256.IsHardwareAccelerated && ((n * g.H + iy) * g.W + ix0) * c + 16 <= x.Length)
                        {
                            // one 16-byte load and one 16-lane store for the whole window row (C = 3, KW = 3: 9 values)
                            int src = ((n * g.H + iy) * g.W + ix0) * c;
                            (Vector256.WidenLower(Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(x), (nuint)src).ToVector256Unsafe()) - Vector256.Create((short)_inZp))
                                .StoreUnsafe(ref _xs[(p * _cp) + (ky * run)]);
                        }
                        else if (rowInside && g.DW == 1)
                        {
                            Int16Rows.Widen(x.Slice(((n * g.H + iy) * g.W + ix0) * c, run), dst, _inZp);
                        }
                        else
                        {
                            for (int kx = 0; kx < g.KW; kx++)
                            {
                                int ix = ix0 + g.DW * kx;
                                Span<short> d = dst.Slice(kx * c, c);
                                if (ix < 0 || ix >= g.W)
                                {
                                    d.Clear();
                                }
                                else
                                {
                                    Int16Rows.Widen(x.Slice(((n * g.H + iy) * g.W + ix) * c, c), d, _inZp);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>Bytes of packed weights, offsets and scratch this fast path holds.</summary>
    public long Bytes => (_w.Length * 2L) + (_offs.Length * 4L) + (_xs.Length * 2L);

    public void Run(ReadOnlySpan<sbyte> x, Span<sbyte> y)
    {
        if (_im2col)
        {
            Im2col(x);
        }
        else
        {
            Int16Rows.ToInt16(x, _xs, _g.C, _cp, _inZp, _g.N * _g.H * _g.W);
        }

        if (!FastKernels.UseAvx2)
        {
            RunPortable(y);
            return;
        }

        ref short xs = ref _xs[0];
        ref sbyte yr = ref MemoryMarshal.GetReference(y);
        int steps = _taps * _pairs;
        var zp = Vector256.Create(_outZp);
        var lo = Vector256.Create(_lo);
        var hi = Vector256.Create(_hi);
        ref Vector256<int> acc = ref _acc[0];
        for (int b = 0; b < _blocks; b++)
        {
            ref short wb = ref _w[b * steps * Nr * 2];
            int p = 0;
            if (_g.OC - (b * Nr) <= 8)
            {
                // at most 8 channels left in this block (OC = 8, or a tail): 4 pixels x 8 channels, half the work
                for (; p + 4 <= _pixels; p += 4)
                {
                    Micro4x8(ref xs, ref _offs[p * _taps], _taps, _pairs, ref wb, ref acc);
                    for (int i = 0; i < 4; i++)
                    {
                        Store(ref yr, p + i, b, Unsafe.Add(ref acc, i), Unsafe.Add(ref acc, i), zp, lo, hi);
                    }
                }
            }

            for (; p + 4 <= _pixels; p += 4)
            {
                Micro4x16(ref xs, ref _offs[p * _taps], _taps, _pairs, ref wb, ref acc);
                for (int i = 0; i < 4; i++)
                {
                    Store(ref yr, p + i, b, Unsafe.Add(ref acc, 2 * i), Unsafe.Add(ref acc, (2 * i) + 1), zp, lo, hi);
                }
            }

            for (; p < _pixels; p++)
            {
                Micro1x16(ref xs, ref _offs[p * _taps], _taps, _pairs, ref wb, ref acc);
                Store(ref yr, p, b, acc, Unsafe.Add(ref acc, 1), zp, lo, hi);
            }
        }
    }

    // The micro-kernels are small methods of their own (not inlined): in one big method the JIT's register allocator
    // spilled the accumulators to the stack on every step; alone, all of them stay in ymm registers.

    /// <summary>4 pixels x 16 channels over all taps and channel pairs; acc[2i], acc[2i+1] = pixel i's channels 0-7, 8-15.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Micro4x16(ref short xs, ref int o, int taps, int pairs, ref short w, ref Vector256<int> acc)
    {
        Vector256<int> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default;
        for (int t = 0; t < taps; t++)
        {
            ref byte x0 = ref Unsafe.As<short, byte>(ref Unsafe.Add(ref xs, Unsafe.Add(ref o, t)));
            ref byte x1 = ref Unsafe.As<short, byte>(ref Unsafe.Add(ref xs, Unsafe.Add(ref o, taps + t)));
            ref byte x2 = ref Unsafe.As<short, byte>(ref Unsafe.Add(ref xs, Unsafe.Add(ref o, (2 * taps) + t)));
            ref byte x3 = ref Unsafe.As<short, byte>(ref Unsafe.Add(ref xs, Unsafe.Add(ref o, (3 * taps) + t)));
            for (nint c = 0; c < pairs * 4; c += 4)
            {
                // two weight vectors (channels 0-7 and 8-15 of the block), reused by four pixels
                Vector256<short> w0 = Vector256.LoadUnsafe(ref w);
                Vector256<short> w1 = Vector256.LoadUnsafe(ref w, 16);
                w = ref Unsafe.Add(ref w, 32);

                // (x[c], x[c+1]) of each pixel broadcast to all lanes as one int32
                Vector256<short> b0 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref x0, c))).AsInt16();
                Vector256<short> b1 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref x1, c))).AsInt16();
                a00 = Avx2.Add(a00, Avx2.MultiplyAddAdjacent(b0, w0));
                a01 = Avx2.Add(a01, Avx2.MultiplyAddAdjacent(b0, w1));
                a10 = Avx2.Add(a10, Avx2.MultiplyAddAdjacent(b1, w0));
                a11 = Avx2.Add(a11, Avx2.MultiplyAddAdjacent(b1, w1));
                Vector256<short> b2 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref x2, c))).AsInt16();
                Vector256<short> b3 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref x3, c))).AsInt16();
                a20 = Avx2.Add(a20, Avx2.MultiplyAddAdjacent(b2, w0));
                a21 = Avx2.Add(a21, Avx2.MultiplyAddAdjacent(b2, w1));
                a30 = Avx2.Add(a30, Avx2.MultiplyAddAdjacent(b3, w0));
                a31 = Avx2.Add(a31, Avx2.MultiplyAddAdjacent(b3, w1));
            }
        }

        acc = a00;
        Unsafe.Add(ref acc, 1) = a01;
        Unsafe.Add(ref acc, 2) = a10;
        Unsafe.Add(ref acc, 3) = a11;
        Unsafe.Add(ref acc, 4) = a20;
        Unsafe.Add(ref acc, 5) = a21;
        Unsafe.Add(ref acc, 6) = a30;
        Unsafe.Add(ref acc, 7) = a31;
    }

    /// <summary>4 pixels x 8 channels (a block with at most 8 live channels: channels 8-15 have zero weights and are skipped); acc[i] = pixel i.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Micro4x8(ref short xs, ref int o, int taps, int pairs, ref short w, ref Vector256<int> acc)
    {
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int t = 0; t < taps; t++)
        {
            ref byte x0 = ref Unsafe.As<short, byte>(ref Unsafe.Add(ref xs, Unsafe.Add(ref o, t)));
            ref byte x1 = ref Unsafe.As<short, byte>(ref Unsafe.Add(ref xs, Unsafe.Add(ref o, taps + t)));
            ref byte x2 = ref Unsafe.As<short, byte>(ref Unsafe.Add(ref xs, Unsafe.Add(ref o, (2 * taps) + t)));
            ref byte x3 = ref Unsafe.As<short, byte>(ref Unsafe.Add(ref xs, Unsafe.Add(ref o, (3 * taps) + t)));
            for (nint c = 0; c < pairs * 4; c += 4)
            {
                Vector256<short> w0 = Vector256.LoadUnsafe(ref w);
                w = ref Unsafe.Add(ref w, 32);
                a0 = Avx2.Add(a0, Avx2.MultiplyAddAdjacent(Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref x0, c))).AsInt16(), w0));
                a1 = Avx2.Add(a1, Avx2.MultiplyAddAdjacent(Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref x1, c))).AsInt16(), w0));
                a2 = Avx2.Add(a2, Avx2.MultiplyAddAdjacent(Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref x2, c))).AsInt16(), w0));
                a3 = Avx2.Add(a3, Avx2.MultiplyAddAdjacent(Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref x3, c))).AsInt16(), w0));
            }
        }

        acc = a0;
        Unsafe.Add(ref acc, 1) = a1;
        Unsafe.Add(ref acc, 2) = a2;
        Unsafe.Add(ref acc, 3) = a3;
    }

    /// <summary>1 pixel x 16 channels (tails and batch-1 FC), two independent accumulator pairs; acc[0], acc[1] = channels 0-7, 8-15.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Micro1x16(ref short xs, ref int o, int taps, int pairs, ref short w, ref Vector256<int> acc)
    {
        Vector256<int> a0 = default, a1 = default, c0 = default, c1 = default;
        for (int t = 0; t < taps; t++)
        {
            ref byte x0 = ref Unsafe.As<short, byte>(ref Unsafe.Add(ref xs, Unsafe.Add(ref o, t)));
            nint c = 0;
            for (; c + 8 <= pairs * 4; c += 8)
            {
                // two pairs per step into independent accumulators: the loop is bound by loads, not by the add chain
                Vector256<short> b0 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref x0, c))).AsInt16();
                Vector256<short> b1 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref x0, c + 4))).AsInt16();
                a0 = Avx2.Add(a0, Avx2.MultiplyAddAdjacent(b0, Vector256.LoadUnsafe(ref w)));
                a1 = Avx2.Add(a1, Avx2.MultiplyAddAdjacent(b0, Vector256.LoadUnsafe(ref w, 16)));
                c0 = Avx2.Add(c0, Avx2.MultiplyAddAdjacent(b1, Vector256.LoadUnsafe(ref w, 32)));
                c1 = Avx2.Add(c1, Avx2.MultiplyAddAdjacent(b1, Vector256.LoadUnsafe(ref w, 48)));
                w = ref Unsafe.Add(ref w, 64);
            }

            if (c < pairs * 4)
            {
                Vector256<short> b0 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref x0, c))).AsInt16();
                a0 = Avx2.Add(a0, Avx2.MultiplyAddAdjacent(b0, Vector256.LoadUnsafe(ref w)));
                a1 = Avx2.Add(a1, Avx2.MultiplyAddAdjacent(b0, Vector256.LoadUnsafe(ref w, 16)));
                w = ref Unsafe.Add(ref w, 32);
            }
        }

        acc = Avx2.Add(a0, c0);
        Unsafe.Add(ref acc, 1) = Avx2.Add(a1, c1);
    }

    /// <summary>Requantises 16 channels (natural order: a = channels 0-7, b = 8-15 of block) and stores the valid ones.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Store(ref sbyte y, int pixel, int block, Vector256<int> a, Vector256<int> b, Vector256<int> zp, Vector256<int> lo, Vector256<int> hi)
    {
        int c0 = block * Nr;
        Vector256<int> ra = RequantVector.Finish(a, _rq, c0, zp, lo, hi);
        int valid = _g.OC - c0;

        // channels 8-15 of a block that has at most 8 (OC = 8, or a tail of <= 8) are never stored: skip their requantisation
        Vector256<int> rb = valid > 8 ? RequantVector.Finish(b, _rq, c0 + 8, zp, lo, hi) : ra;

        // values are already clamped to [-128, 127]: narrowing is exact
        Vector256<short> s16 = Vector256.Narrow(ra, rb);
        Vector128<sbyte> v = Vector128.Narrow(s16.GetLower(), s16.GetUpper());
        ref sbyte dst = ref Unsafe.Add(ref y, (pixel * _g.OC) + c0);
        if (valid >= Nr)
        {
            v.StoreUnsafe(ref dst);
        }
        else
        {
            // the last block of a layer whose OC is not a multiple of 16: never write past the output's channels
            v.StoreUnsafe(ref _tail[0]);
            Unsafe.CopyBlockUnaligned(ref Unsafe.As<sbyte, byte>(ref dst), ref Unsafe.As<sbyte, byte>(ref _tail[0]), (uint)valid);
        }
    }

    /// <summary>The same packed layout without intrinsics (CPUs without AVX2, and the tests of the packing).</summary>
    private void RunPortable(Span<sbyte> y)
    {
        Span<int> acc = stackalloc int[Nr];
        for (int b = 0; b < _blocks; b++)
        {
            int wb = b * _taps * _pairs * Nr * 2;
            for (int p = 0; p < _pixels; p++)
            {
                acc.Clear();
                int w = wb;
                for (int t = 0; t < _taps; t++)
                {
                    int x0 = _offs[p * _taps + t];
                    for (int c = 0; c < _pairs; c++, w += Nr * 2)
                    {
                        int xa = _xs[x0 + 2 * c], xb = _xs[x0 + 2 * c + 1];
                        for (int j = 0; j < Nr; j++)
                        {
                            acc[j] += (xa * _w[w + 2 * j]) + (xb * _w[w + 2 * j + 1]);
                        }
                    }
                }

                for (int j = 0; j < Nr && b * Nr + j < _g.OC; j++)
                {
                    y[p * _g.OC + b * Nr + j] = (sbyte)RequantVector.FinishScalar(acc[j], _rq, b * Nr + j, _outZp, _lo, _hi);
                }
            }
        }
    }
}

/// <summary>int8 activations → int16 (x - zero point) rows, padded with zero lanes.</summary>
internal static class Int16Rows
{
    /// <summary>
    /// dst[p * cp + c] = src[p * channels + c] - zp for c &lt; channels; the pad lanes are left as they are (zero).
    /// </summary>
    public static void ToInt16(ReadOnlySpan<sbyte> src, short[] dst, int channels, int cp, int zp, int pixels)
    {
        if (channels == cp)
        {
            Widen(src[..(pixels * channels)], dst.AsSpan(0, pixels * channels), zp);
            return;
        }

        // the pad lanes [channels, cp) of every row were zeroed at creation and are never written
        if (channels == 8 && Vector128.IsHardwareAccelerated)
        {
            // 8 channels per pixel (MobileNet 0.25's first layers): one 8-byte load and one 16-byte store per pixel
            ref sbyte s = ref MemoryMarshal.GetReference(src);
            ref short d = ref dst[0];
            var z = Vector128.Create((short)zp);
            for (int p = 0; p < pixels; p++)
            {
                (Vector128.WidenLower(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<long>(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref s, p * 8)))).AsSByte()) - z)
                    .StoreUnsafe(ref d, (nuint)(p * cp));
            }

            return;
        }

        for (int p = 0; p < pixels; p++)
        {
            Widen(src.Slice(p * channels, channels), dst.AsSpan(p * cp, channels), zp);
        }
    }

    /// <summary>dst[i] = src[i] - zp (vectorised, 16 at a time).</summary>
    public static void Widen(ReadOnlySpan<sbyte> src, Span<short> dst, int zp)
    {
        int n = src.Length, i = 0;
        ref sbyte s = ref MemoryMarshal.GetReference(src);
        ref short d = ref MemoryMarshal.GetReference(dst);
        if (Vector256.IsHardwareAccelerated)
        {
            var z = Vector256.Create((short)zp);
            for (; i + 16 <= n; i += 16)
            {
                (Vector256.WidenLower(Vector128.LoadUnsafe(ref s, (nuint)i).ToVector256Unsafe()) - z).StoreUnsafe(ref d, (nuint)i);
            }
        }

        if (Vector128.IsHardwareAccelerated)
        {
            var z = Vector128.Create((short)zp);
            for (; i + 8 <= n; i += 8)
            {
                (Vector128.WidenLower(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<long>(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref s, i)))).AsSByte()) - z)
                    .StoreUnsafe(ref d, (nuint)i);
            }
        }

        for (; i < n; i++)
        {
            Unsafe.Add(ref d, i) = (short)(Unsafe.Add(ref s, i) - zp);
        }
    }
}
