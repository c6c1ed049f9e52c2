using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ChipKit.Models.Kernels;

/// <summary>
/// DEPTHWISE_CONV_2D for any depth multiplier, vectorised over output channels (NHWC), 16 channels per block.
/// <para>Contract: the input is converted once per inference to int16 <c>x - zero_point</c> rows of <c>Cq</c> = OC
/// rounded up to 16, with input channel <c>oc / depth_multiplier</c> repeated for each output channel <c>oc</c>, plus
/// one all-zero row for padded taps. Taps are taken two at a time: the two taps' activation vectors are interleaved
/// (<c>vpunpcklwd</c>/<c>vpunpckhwd</c>) and multiplied with weights pre-interleaved the same way, so one
/// <c>vpmaddwd</c> adds two taps of 8 channels exactly (|x - zp| &lt;= 255, |w| &lt;= 128). The interleave leaves
/// channels (0-3, 8-11) in one accumulator and (4-7, 12-15) in the other; the requantisation parameters are stored in
/// that order, and <c>vpackssdw</c> of the two restores the natural channel order. An odd tap count gets a zero-weight
/// tap reading the zero row. Only the layer's output slot is written.</para>
/// </summary>
internal sealed class FastDepthwise
{
    private const int Nr = 16;
    private readonly Window _g;
    private readonly int _m, _cq, _blocks, _pairs, _pixels;
    private readonly short[] _w;        // [block][tap pair][lo 16 | hi 16]
    private readonly int[] _offs;       // [pixel][2 * pairs]
    private readonly short[] _xs;       // [N*H*W][Cq] + zero row
    private readonly RequantParams _rq; // [block][lo-order 8 | hi-order 8]
    private readonly int _inZp, _outZp, _lo, _hi;
    private readonly sbyte[] _tail = new sbyte[Nr];

    public FastDepthwise(Window g, int depthMultiplier, sbyte[] weights, int[] bias, int[] mult, int[] shift, int inZp, int outZp, int lo, int hi)
    {
        _g = g;
        _m = depthMultiplier;
        _inZp = inZp;
        _outZp = outZp;
        _lo = lo;
        _hi = hi;
        _cq = (g.OC + Nr - 1) / Nr * Nr;
        _blocks = _cq / Nr;
        int taps = g.KH * g.KW;
        _pairs = (taps + 1) / 2;
        _pixels = g.N * g.OH * g.OW;
        _w = new short[_blocks * _pairs * 32];
        _rq = new RequantParams(_cq);
        for (int b = 0; b < _blocks; b++)
        {
            for (int j = 0; j < 16; j++)
            {
                int lane = j / 8, i = (j % 8) / 2, q = j % 2;
                int cLo = b * Nr + lane * 8 + i, cHi = cLo + 4;
                for (int tp = 0; tp < _pairs; tp++)
                {
                    int t = 2 * tp + q;
                    int baseW = (b * _pairs + tp) * 32;
                    _w[baseW + j] = t < taps && cLo < g.OC ? weights[t * g.OC + cLo] : (short)0;
                    _w[baseW + 16 + j] = t < taps && cHi < g.OC ? weights[t * g.OC + cHi] : (short)0;
                }
            }

            for (int l = 0; l < 8; l++)
            {
                int cLo = b * Nr + (l / 4 * 8) + (l % 4), cHi = cLo + 4;
                if (cLo < g.OC)
                {
                    _rq.Set(b * Nr + l, mult[cLo], shift[cLo], bias[cLo]);
                }

                if (cHi < g.OC)
                {
                    _rq.Set(b * Nr + 8 + l, mult[cHi], shift[cHi], bias[cHi]);
                }
            }
        }

        int zeroRow = g.N * g.H * g.W * _cq;
        _xs = new short[zeroRow + _cq];
        _offs = new int[_pixels * 2 * _pairs];
        for (int n = 0, p = 0; n < g.N; n++)
        {
            for (int oy = 0; oy < g.OH; oy++)
            {
                for (int ox = 0; ox < g.OW; ox++, p++)
                {
                    int iy0 = oy * g.SH - g.PadTop, ix0 = ox * g.SW - g.PadLeft;
                    for (int t = 0; t < 2 * _pairs; t++)
                    {
                        int iy = iy0 + g.DH * (t / g.KW), ix = ix0 + g.DW * (t % g.KW);
                        bool inside = t < taps && iy >= 0 && iy < g.H && ix >= 0 && ix < g.W;
                        _offs[p * 2 * _pairs + t] = inside ? ((n * g.H + iy) * g.W + ix) * _cq : zeroRow;
                    }
                }
            }
        }
    }

    public long Bytes => (_w.Length * 2L) + (_offs.Length * 4L) + (_xs.Length * 2L);

    public void Run(ReadOnlySpan<sbyte> x, Span<sbyte> y)
    {
        int rows = _g.N * _g.H * _g.W;
        if (_m == 1)
        {
            Int16Rows.ToInt16(x, _xs, _g.C, _cq, _inZp, rows);
        }
        else
        {
            for (int p = 0; p < rows; p++)
            {
                for (int c = 0; c < _g.OC; c++)
                {
                    _xs[p * _cq + c] = (short)(x[p * _g.C + c / _m] - _inZp);
                }
            }
        }

        if (!FastKernels.UseAvx2)
        {
            RunPortable(y);
            return;
        }

        ref short xs = ref _xs[0];
        ref sbyte yr = ref MemoryMarshal.GetReference(y);
        var zp = Vector256.Create(_outZp);
        var lo = Vector256.Create(_lo);
        var hi = Vector256.Create(_hi);
        int oc = _g.OC;
        for (int p = 0; p < _pixels; p++)
        {
            ref int o = ref _offs[p * 2 * _pairs];
            for (int b = 0; b < _blocks; b++)
            {
                ref short w = ref _w[b * _pairs * 32];
                ref short xb = ref Unsafe.Add(ref xs, b * Nr);
                Vector256<int> accLo = default, accHi = default;
                for (int tp = 0; tp < _pairs; tp++)
                {
                    Vector256<short> xa = Vector256.LoadUnsafe(ref Unsafe.Add(ref xb, Unsafe.Add(ref o, 2 * tp)));
                    Vector256<short> xc = Vector256.LoadUnsafe(ref Unsafe.Add(ref xb, Unsafe.Add(ref o, (2 * tp) + 1)));
                    accLo = Avx2.Add(accLo, Avx2.MultiplyAddAdjacent(Avx2.UnpackLow(xa, xc), Vector256.LoadUnsafe(ref w)));
                    accHi = Avx2.Add(accHi, Avx2.MultiplyAddAdjacent(Avx2.UnpackHigh(xa, xc), Vector256.LoadUnsafe(ref w, 16)));
                    w = ref Unsafe.Add(ref w, 32);
                }

                Vector256<int> rLo = RequantVector.Finish(accLo, _rq, b * Nr, zp, lo, hi);
                Vector256<int> rHi = RequantVector.Finish(accHi, _rq, (b * Nr) + 8, zp, lo, hi);
                Vector256<short> s16 = Avx2.PackSignedSaturate(rLo, rHi); // natural channel order again
                Vector128<sbyte> v = Sse2.PackSignedSaturate(s16.GetLower(), s16.GetUpper());
                int c0 = b * Nr;
                if (c0 + Nr <= oc)
                {
                    v.StoreUnsafe(ref Unsafe.Add(ref yr, (p * oc) + c0));
                }
                else
                {
                    // the last block of a layer whose OC is not a multiple of 16: never write past the output's channels
                    v.StoreUnsafe(ref _tail[0]);
                    Unsafe.CopyBlockUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref yr, (p * oc) + c0)), ref Unsafe.As<sbyte, byte>(ref _tail[0]), (uint)(oc - c0));
                }
            }
        }
    }

    private void RunPortable(Span<sbyte> y)
    {
        int oc = _g.OC;
        for (int p = 0; p < _pixels; p++)
        {
            for (int b = 0; b < _blocks; b++)
            {
                for (int j = 0; j < 16; j++)
                {
                    // lane j of the lo/hi accumulators: channel b*16 + (j/4)*8 + j%4 (+4 for hi)
                    int l = j % 8;
                    bool isHi = j >= 8;
                    int c = (b * Nr) + (l / 4 * 8) + (l % 4) + (isHi ? 4 : 0);
                    if (c >= oc)
                    {
                        continue;
                    }

                    int acc = 0;
                    for (int tp = 0; tp < _pairs; tp++)
                    {
                        for (int q = 0; q < 2; q++)
                        {
                            int wIndex = (b * _pairs + tp) * 32 + (isHi ? 16 : 0) + ((l / 4) * 8) + ((l % 4) * 2) + q;
                            acc += _xs[_offs[p * 2 * _pairs + 2 * tp + q] + c] * _w[wIndex];
                        }
                    }

                    y[p * oc + c] = (sbyte)RequantVector.FinishScalar(acc, _rq, b * Nr + j, _outZp, _lo, _hi);
                }
            }
        }
    }
}
