/*
 * Whole int8 TFLite models (MLPerf Tiny) with TensorFlow Lite Micro's integer semantics, bit-exact with ChipKit's
 * `ref` interpreter (src/ChipKit.Models/Kernels/Layers.cs, FixedPoint.cs; the rules are in
 * src/ChipKit.Models/mlperf-tiny/TFLITE_INT8_SEMANTICS.md). Every tensor is NHWC int8 (`char`). The host keeps all
 * activations in device buffers and runs a model as a chain of these kernels; RESHAPE is no kernel (the output
 * tensor is the input's buffer).
 *
 * The requantisation is integer only (gemmlowp fixed point in 64-bit `long`), so no fp64 is needed. Shift counts
 * follow the same rule in OpenCL C and C#: an int shift uses the low 5 bits of the count, a long shift the low 6.
 * Signed overflow is undefined in OpenCL C, so every product or sum that may wrap in the C# reference is computed
 * in `uint` and converted back (two's complement, as C# does by default).
 *
 * Entry points and their NDRanges (the host chooses no work-group size):
 *   tfl_conv      global (OCP/8, N*OH*OW) CONV_2D and FULLY_CONNECTED (a 1x1 conv over a 1x1 image, C = K);
 *                                         weights transposed by the host to [KH*KW*C][OCP]
 *   tfl_dwconv    global (OCP/8, N*OH*OW) DEPTHWISE_CONV_2D, weights [KH*KW][OCP]
 *                                         (OCP = OC rounded up to a multiple of 8, zero-padded by the host)
 *   tfl_pool      global (C, N*OH*OW)    AVERAGE_POOL_2D (average != 0) and MAX_POOL_2D
 *   tfl_add       global (count)         ADD, equal shapes
 *   tfl_softmax   global (rows)          SOFTMAX int8 -> int8 (gemmlowp exp / reciprocal)
 * Geometry argument block GEOM: n, h, w, c, oh, ow, oc, kh, kw, sh, sw, dh, dw, pad_top, pad_left.
 */

/* ---- gemmlowp / TFLM fixed point (FixedPoint.cs) ---- */

inline int tfl_wrap_mul(int a, int b) { return (int)((uint)a * (uint)b); }

inline int tfl_wrap_add(int a, int b) { return (int)((uint)a + (uint)b); }

/* SaturatingRoundingDoublingHighMul: floor-toward-zero((a*b + nudge) / 2^31); a = b = INT_MIN saturates. */
inline int tfl_srdhm(int a, int b)
{
    if (a == INT_MIN && b == INT_MIN) {
        return INT_MAX;
    }
    const long ab = (long)a * (long)b;
    const long r = ab + (ab >= 0 ? (1L << 30) : (1L - (1L << 30)));
    return (int)(r >= 0 ? (r >> 31) : -((-r) >> 31));
}

/* RoundingDivideByPOT: x / 2^e rounding halves away from zero. */
inline int tfl_rdbpot(int x, int e)
{
    const int mask = (int)((1L << e) - 1);
    const int remainder = x & mask;
    const int threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> e) + (remainder > threshold ? 1 : 0);
}

/* MultiplyByQuantizedMultiplier with TFLite's double rounding. */
inline int tfl_mbqm(int x, int mult, int shift)
{
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    return tfl_rdbpot(tfl_srdhm(tfl_wrap_mul(x, 1 << left), mult), right);
}

inline int tfl_sat_lshift(int x, int e)
{
    const long r = (long)x << e;
    return r > (long)INT_MAX ? INT_MAX : (r < (long)INT_MIN ? INT_MIN : (int)r);
}

inline int tfl_clamp(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

/* exp on [-1/4, 0), Q0.31 in and out */
inline int tfl_exp_quarter(int a)
{
    const int constant_term = 1895147668;
    const int one_third = 715827883;
    const int x = tfl_wrap_add(a, 1 << 28);
    const int x2 = tfl_srdhm(x, x);
    const int x3 = tfl_srdhm(x2, x);
    const int x4 = tfl_srdhm(x2, x2);
    const int x4_over_4 = tfl_rdbpot(x4, 2);
    const int t = tfl_wrap_add(tfl_srdhm(tfl_wrap_add(x4_over_4, x3), one_third), x2);
    const int poly = tfl_rdbpot(t, 1);
    return tfl_wrap_add(constant_term, tfl_srdhm(constant_term, tfl_wrap_add(x, poly)));
}

__constant int tfl_exp_barrel[7] = { 1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242 };

/* exp_on_negative_values: Q5.26 input (<= 0), Q0.31 result */
inline int tfl_exp_neg(int a)
{
    const int fractional_bits = 26;
    const int one_quarter = 1 << (fractional_bits - 2);
    const int mask = one_quarter - 1;
    const int a_mod = (int)((uint)(a & mask) - (uint)one_quarter);
    int result = tfl_exp_quarter(tfl_sat_lshift(a_mod, 5));
    const int remainder = (int)((uint)a_mod - (uint)a);
    for (int k = 0; k < 7; k++) {
        if ((remainder & (1 << (fractional_bits - 2 + k))) != 0) {
            result = tfl_srdhm(result, tfl_exp_barrel[k]);
        }
    }
    return a == 0 ? INT_MAX : result;
}

/* one_over_one_plus_x_for_x_in_0_1: Q0.31 in and out */
inline int tfl_one_over_one_plus_x(int a)
{
    const long sum = (long)a + (long)INT_MAX;
    const long sign = sum >= 0 ? 1 : -1;
    const int half_denominator = (int)((sum + sign) / 2);
    int x = tfl_wrap_add(1515870810, tfl_srdhm(half_denominator, -1010580540));
    for (int i = 0; i < 3; i++) {
        const int hdx = tfl_srdhm(half_denominator, x);
        const int one_minus = (int)((uint)(1 << 29) - (uint)hdx);
        x = tfl_wrap_add(x, tfl_sat_lshift(tfl_srdhm(x, one_minus), 2));
    }
    return tfl_sat_lshift(x, 1);
}

#define GEOM_ARGS const int n, const int h, const int w, const int c, const int oh, const int ow, const int oc, \
    const int kh, const int kw, const int sh, const int sw, const int dh, const int dw, const int pad_top, const int pad_left

/* The arguments after GEOM_ARGS and the channel padding that tfl_conv and tfl_dwconv share: input, weights,
   per-channel bias / multiplier / shift (padded to OCP), zero points, activation range, output. */
#define CONV_ARGS __global const char* restrict x, __global const char* restrict wt,                          \
    __global const int* restrict bias, __global const int* restrict mult, __global const int* restrict shift,   \
    const int x_zp, const int y_zp, const int lo, const int hi, __global char* restrict y

/*
 * CONV_2D / FULLY_CONNECTED and DEPTHWISE_CONV_2D compute 8 consecutive output channels of one output pixel per
 * work-item as int8 vectors (one AVX2 register on a CPU; 8 lanes on a GPU), so the SIMD does not depend on the
 * runtime vectorising across work-items. The host pads the channel dimension of the weights, bias, multipliers
 * and shifts to OCP = 8 * ceil(OC / 8) with zeros; lanes past OC are computed and not stored. The int32 sums
 * cannot overflow (the interpreter rejects layers whose taps * 255 * 128 + |bias| could), so int arithmetic is exact.
 */
inline void tfl_store8(const int8 acc, const int o0, const int oc, __global const int* restrict bias,
                       __global const int* restrict mult, __global const int* restrict shift,
                       const int y_zp, const int lo, const int hi, __global char* restrict yp)
{
    int a[8];
    vstore8(acc, 0, a);
    for (int l = 0; l < 8 && o0 + l < oc; l++) {
        const int o = o0 + l;
        const int v = tfl_wrap_add(tfl_mbqm(tfl_wrap_add(a[l], bias[o]), mult[o], shift[o]), y_zp);
        yp[o] = (char)tfl_clamp(v, lo, hi);
    }
}

/* ---- CONV_2D / FULLY_CONNECTED: weights [KH*KW*C][OCP] ----
   (blocking 2 or 4 output pixels per work-item to share each weight load measured 1.3-2x slower on PoCL) */
__kernel void tfl_conv(GEOM_ARGS, const int ocp, CONV_ARGS)
{
    const int o0 = get_global_id(0) * 8;
    const int pix = get_global_id(1);
    if (o0 >= oc || pix >= n * oh * ow) {
        return;
    }
    const int ox = pix % ow, oy = (pix / ow) % oh, b = pix / (ow * oh);
    const int iy0 = oy * sh - pad_top, ix0 = ox * sw - pad_left;
    int8 acc = (int8)(0);
    for (int ky = 0; ky < kh; ky++) {
        const int iy = iy0 + dh * ky;
        if (iy < 0 || iy >= h) {
            continue;
        }
        for (int kx = 0; kx < kw; kx++) {
            const int ix = ix0 + dw * kx;
            if (ix < 0 || ix >= w) {
                continue;
            }
            __global const char* xp = x + ((size_t)(b * h + iy) * w + ix) * c;
            __global const char* wp = wt + (size_t)((ky * kw + kx) * c) * ocp + o0;
            for (int ci = 0; ci < c; ci++) {
                acc += convert_int8(vload8(0, wp + (size_t)ci * ocp)) * ((int)xp[ci] - x_zp);
            }
        }
    }
    tfl_store8(acc, o0, oc, bias, mult, shift, y_zp, lo, hi, y + (size_t)pix * oc);
}

/* ---- DEPTHWISE_CONV_2D (depth multiplier dm = oc / c): weights [KH*KW][OCP] ---- */
__kernel void tfl_dwconv(GEOM_ARGS, const int dm, const int ocp, CONV_ARGS)
{
    const int o0 = get_global_id(0) * 8;
    const int pix = get_global_id(1);
    if (o0 >= oc || pix >= n * oh * ow) {
        return;
    }
    const int ox = pix % ow, oy = (pix / ow) % oh, b = pix / (ow * oh);
    const int iy0 = oy * sh - pad_top, ix0 = ox * sw - pad_left;
    const bool whole = dm == 1 && o0 + 8 <= c;
    int8 acc = (int8)(0);
    for (int ky = 0; ky < kh; ky++) {
        const int iy = iy0 + dh * ky;
        if (iy < 0 || iy >= h) {
            continue;
        }
        for (int kx = 0; kx < kw; kx++) {
            const int ix = ix0 + dw * kx;
            if (ix < 0 || ix >= w) {
                continue;
            }
            __global const char* xp = x + ((size_t)(b * h + iy) * w + ix) * c;
            int8 xv;
            if (whole) {
                xv = convert_int8(vload8(0, xp + o0));
            } else {
                int t[8];
                for (int l = 0; l < 8; l++) {
                    t[l] = xp[min((o0 + l) / dm, c - 1)];
                }
                xv = vload8(0, t);
            }
            acc += convert_int8(vload8(0, wt + (size_t)(ky * kw + kx) * ocp + o0)) * (xv - x_zp);
        }
    }
    tfl_store8(acc, o0, oc, bias, mult, shift, y_zp, lo, hi, y + (size_t)pix * oc);
}

/* ---- AVERAGE_POOL_2D / MAX_POOL_2D (no rescaling; padded positions excluded) ---- */
__kernel void tfl_pool(GEOM_ARGS, const int average, const int lo, const int hi,
                       __global const char* restrict x, __global char* restrict y)
{
    const int ch = get_global_id(0);
    const int pix = get_global_id(1);
    if (ch >= c || pix >= n * oh * ow) {
        return;
    }
    const int ox = pix % ow, oy = (pix / ow) % oh, b = pix / (ow * oh);
    const int iy0 = oy * sh - pad_top, ix0 = ox * sw - pad_left;
    const int y0 = max(0, -iy0), y1 = min(kh, h - iy0);
    const int x0 = max(0, -ix0), x1 = min(kw, w - ix0);
    int sum = 0, count = 0, mx = -128;
    for (int ky = y0; ky < y1; ky++) {
        for (int kx = x0; kx < x1; kx++) {
            const int v = x[((size_t)(b * h + iy0 + ky) * w + ix0 + kx) * c + ch];
            sum += v;
            count++;
            mx = max(mx, v);
        }
    }
    int r;
    if (average) {
        r = count == 0 ? 0 : (sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count);
    } else {
        r = mx;
    }
    y[(size_t)pix * c + ch] = (char)tfl_clamp(r, lo, hi);
}

/* ---- ADD (reference_integer_ops::Add, left shift 20) ---- */
__kernel void tfl_add(const int count, __global const char* restrict a, __global const char* restrict b,
                      const int zp1, const int zp2, const int zp_out,
                      const int m1, const int s1, const int m2, const int s2, const int mo, const int so,
                      const int lo, const int hi, __global char* restrict y)
{
    const int i = get_global_id(0);
    if (i >= count) {
        return;
    }
    const int v1 = tfl_mbqm(tfl_wrap_mul((int)a[i] - zp1, 1 << 20), m1, s1);
    const int v2 = tfl_mbqm(tfl_wrap_mul((int)b[i] - zp2, 1 << 20), m2, s2);
    const int v = tfl_wrap_add(tfl_mbqm(tfl_wrap_add(v1, v2), mo, so), zp_out);
    y[i] = (char)tfl_clamp(v, lo, hi);
}

/* ---- SOFTMAX int8 -> int8 (TFLM reference softmax, output scale 1/256, zero point -128) ---- */
__kernel void tfl_softmax(const int rows, const int depth, const int in_mult, const int in_left_shift, const int diff_min,
                          __global const char* restrict x, __global char* restrict y)
{
    const int row = get_global_id(0);
    if (row >= rows) {
        return;
    }
    __global const char* xi = x + (size_t)row * depth;
    __global char* yi = y + (size_t)row * depth;
    int mx = -128;
    for (int k = 0; k < depth; k++) {
        mx = max(mx, (int)xi[k]);
    }
    int sum = 0;
    for (int k = 0; k < depth; k++) {
        const int diff = (int)xi[k] - mx;
        if (diff >= diff_min) {
            const int scaled = tfl_srdhm(tfl_wrap_mul(diff, 1 << in_left_shift), in_mult);
            sum = tfl_wrap_add(sum, tfl_rdbpot(tfl_exp_neg(scaled), 12));
        }
    }
    const int headroom = (int)clz((uint)sum);
    const int bits_over_unit = 12 - headroom;
    const int shifted = (int)(((uint)sum << headroom) - (1u << 31));
    const int recip = tfl_one_over_one_plus_x(shifted);
    for (int k = 0; k < depth; k++) {
        const int diff = (int)xi[k] - mx;
        if (diff >= diff_min) {
            const int scaled = tfl_srdhm(tfl_wrap_mul(diff, 1 << in_left_shift), in_mult);
            const int e = tfl_exp_neg(scaled);
            const int o = tfl_rdbpot(tfl_srdhm(recip, e), bits_over_unit + 23) - 128;
            yi[k] = (char)tfl_clamp(o, -128, 127);
        } else {
            yi[k] = (char)-128;
        }
    }
}
