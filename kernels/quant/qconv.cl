/*
 * Quantised 2-D convolution with ONNX semantics (QLinearConv / ConvInteger): geometry as conv/conv2d.cl (NHWC define,
 * weights [K, C/groups, R, S]); X of x_signed type with per-tensor x_zp, W of w_signed type with w_zp[K] per output
 * channel (expanded by the host), optional int32 bias[K]. Padding taps contribute zero (they hold x_zp).
 * acc = bias[k] + sum (x - x_zp) * (w - w_zp[k]) wrapping in 32 bits; out_q == 0: Y32 = acc; otherwise
 * Y8 = chipkit_requant(acc, mult[k], y_zp, lo, hi) (only when CHIPKIT_FP64).
 * Entry point: qconv_igemm, the implicit GEMM of conv2d_igemm (GM = Kg, GN = N*P*Q, GK = Cg*R*S, group = dimension 2).
 */
inline size_t qx_index(int n, int c, int h, int w, int C, int H, int W)
{
#if NHWC
    return (((size_t)n * H + h) * W + w) * C + c;
#else
    return (((size_t)n * C + c) * H + h) * W + w;
#endif
}

inline size_t qy_index(int n, int k, int p, int q, int K, int P, int Q)
{
#if NHWC
    return (((size_t)n * P + p) * Q + q) * K + k;
#else
    return (((size_t)n * K + k) * P + p) * Q + q;
#endif
}

inline int qconv_load_x(__global const uchar* X, int x_signed, int x_zp, int kr, int pix, int g, int Cg, int C, int H, int W,
                        int R, int S, int P, int Q, int sh, int sw, int pt, int pl, int dh, int dw)
{
    const int RS = R * S, PQ = P * Q;
    const int c = kr / RS, rs = kr - c * RS, r = rs / S, s = rs - r * S;
    const int n = pix / PQ, pq = pix - n * PQ, p = pq / Q, q = pq - p * Q;
    const int h = p * sh - pt + r * dh, w = q * sw - pl + s * dw;
    return (h >= 0 && h < H && w >= 0 && w < W) ? LOAD8(X, qx_index(n, g * Cg + c, h, w, C, H, W), x_signed) - x_zp : 0;
}

__kernel __attribute__((reqd_work_group_size(WG_N, WG_M, 1)))
void qconv_igemm(const int Nb, const int C, const int H, const int W, const int K, const int R, const int S,
                 const int P, const int Q, const int sh, const int sw, const int pt, const int pl,
                 const int dh, const int dw, const int groups,
                 __global const uchar* restrict X, const int x_signed, const int x_zp,
                 __global const uchar* restrict Wt, const int w_signed, __global const int* restrict w_zp,
                 __global const int* restrict bias, const int has_bias,
                 const int out_q, __global const MULT_T* restrict mult, const int y_zp, const int lo, const int hi,
                 __global uchar* restrict Y8, __global int* restrict Y32)
{
    __local int As[TK][TM];
    __local int Bs[TK][TN];
    const int g = get_global_id(2);
    const int Cg = C / groups, Kg = K / groups;
    const int GM = Kg, GN = Nb * P * Q, GK = Cg * R * S;
    __global const uchar* Wg = Wt + (size_t)g * Kg * GK;
#define LOAD_A(m, k) (LOAD8(Wg, (size_t)(m) * GK + (k), w_signed) - w_zp[g * Kg + (m)])
#define LOAD_B(k, n) qconv_load_x(X, x_signed, x_zp, (k), (n), g, Cg, C, H, W, R, S, P, Q, sh, sw, pt, pl, dh, dw)
#ifdef CHIPKIT_FP64
#define STORE(m, n, v) {                                                                           \
        const int kout = g * Kg + (m), PQ = P * Q, img = (n) / PQ, pq = (n) - img * PQ;            \
        const int a = as_int((v) + (has_bias ? as_uint(bias[kout]) : 0u));                        \
        const size_t o = qy_index(img, kout, pq / Q, pq % Q, K, P, Q);                             \
        if (out_q) Y8[o] = (uchar)chipkit_requant(a, mult[kout], y_zp, lo, hi);                    \
        else Y32[o] = a;                                                                           \
    }
#else
#define STORE(m, n, v) {                                                                           \
        const int kout = g * Kg + (m), PQ = P * Q, img = (n) / PQ, pq = (n) - img * PQ;            \
        Y32[qy_index(img, kout, pq / Q, pq % Q, K, P, Q)] = as_int((v) + (has_bias ? as_uint(bias[kout]) : 0u)); \
    }
#endif
    CHIPKIT_TILED_BODY(int, uint)
#undef LOAD_A
#undef LOAD_B
#undef STORE
}
