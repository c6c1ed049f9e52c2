/*
 * Quantised 2-D convolution with ONNX semantics (QLinearConv / ConvInteger): geometry as conv/conv2d.cl (NHWC define,
 * weights [K, C/groups, R, S]); X of x_signed type with per-tensor x_zp, W of w_signed type with w_zp[K] per output
 * channel (expanded by the host), optional int32 bias[K]. Padding taps contribute zero (they hold x_zp).
 * acc = bias[k] + sum (x - x_zp) * (w - w_zp[k]) wrapping in 32 bits; out_q == 0: Y32 = acc; otherwise
 * Y8 = chipkit_requant(acc, mult[k], y_zp, lo, hi) (only when CHIPKIT_FP64).
 * Entry point: qconv_igemm, the implicit GEMM of conv2d_igemm (GM = Kg, GN = N*P*Q, GK = Cg*R*S, group = dimension 2).
 */
inline int qconv_load_x(__global const uchar* X, int x_signed, int x_zp, int kr, int pix, int g, int Cg, int C, int H, int W,
                        int R, int S, int P, int Q, int sh, int sw, int pt, int pl, int dh, int dw)
{
    const long o = ck_im2col_offset(kr, pix, g, Cg, C, H, W, R, S, P, Q, sh, sw, pt, pl, dh, dw);
    return o >= 0 ? LOAD8(X, o, x_signed) - x_zp : 0;
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
#define STORE(m, n, v) {                                                                           \
        const int kout = g * Kg + (m), PQ = P * Q, img = (n) / PQ, pq = (n) - img * PQ;            \
        CK_STORE_Q(ck_tensor_index(img, kout, pq / Q, pq % Q, K, P, Q),                             \
                   as_int((v) + (has_bias ? as_uint(bias[kout]) : 0u)), mult[kout])                \
    }
    CHIPKIT_TILED_BODY(int, uint)
#undef LOAD_A
#undef LOAD_B
#undef STORE
}

#ifdef CHIPKIT_INTDOT
/*
 * The dot-product formulation (built only with -DCHIPKIT_INTDOT=1 or 2, see quant/qgemm.cl and docs/opencl.md):
 * per group g, GEMM of the weights W_g [Kg][GK] (GK = Cg*R*S) and the im2col of X, both packed K-contiguous and
 * zero-padded to GK4 = 4*ceil(GK/4); out-of-image taps hold the raw value x_zp, so they contribute
 * (x_zp - x_zp) = 0 after the correction, exactly as the zero-point-at-load kernel's zeros:
 *     acc = sum w*x - x_zp * wsum[k] - w_zp[k] * xsum[g][pix] + GK * x_zp * w_zp[k]     (wrapping uint)
 * Host defines: X_SIGNED, W_SIGNED (0/1), RM RN, NHWC, and the tile macros of common/.
 * Entries and NDRanges:
 *   qconv_pack_x4  global (N*P*Q, groups)     Xp[g][pix][GK4] = im2col (x_zp outside the image, 0 past GK); xsum[g][pix]
 *   qconv_pack_w4  global (K)                 Wp[k][GK4] = W[k][GK] zero-padded; wsum[k]
 *   qconv_dot      global (ceil(N*P*Q/RN), ceil(Kg/RM), groups)  an RM (channels) x RN (pixels) block per work-item
 */
#define X1_T CK_I8(X_SIGNED)
#define X4_T CK_I8X4(X_SIGNED)
#define W1_T CK_I8(W_SIGNED)
#define W4_T CK_I8X4(W_SIGNED)

__kernel void qconv_pack_x4(const int Nb, const int C, const int H, const int W, const int R, const int S,
                            const int P, const int Q, const int sh, const int sw, const int pt, const int pl,
                            const int dh, const int dw, const int groups, __global const X1_T* restrict X, const int x_zp,
                            __global X1_T* restrict Xp, __global int* restrict xsum)
{
    const int pix = get_global_id(0), g = get_global_id(1);
    const int npq = Nb * P * Q;
    if (pix >= npq) {
        return;
    }
    const int Cg = C / groups, GK = Cg * R * S, gk4 = (GK + 3) / 4 * 4;
    const int PQ = P * Q, n = pix / PQ, pq = pix - n * PQ, p = pq / Q, q = pq - p * Q;
    __global X1_T* dst = Xp + ((size_t)g * npq + pix) * gk4;
    uint s = 0;
    int k = 0;
    for (int c = 0; c < Cg; c++) {
        for (int r = 0; r < R; r++) {
            const int h = p * sh - pt + r * dh;
            for (int t = 0; t < S; t++, k++) {
                const int w = q * sw - pl + t * dw;
                const X1_T v = (h >= 0 && h < H && w >= 0 && w < W) ? X[ck_tensor_index(n, g * Cg + c, h, w, C, H, W)] : (X1_T)x_zp;
                dst[k] = v;
                s += (uint)(int)v;
            }
        }
    }
    for (; k < gk4; k++) {
        dst[k] = (X1_T)0;
    }
    xsum[(size_t)g * npq + pix] = (int)s;
}

__kernel void qconv_pack_w4(const int K, const int GK, __global const uchar* restrict Wt,
                            __global uchar* restrict Wp, __global int* restrict wsum)
{
    const int k = get_global_id(0);
    if (k < K) {
        wsum[k] = (int)ck_pack4(Wt + (size_t)k * GK, 1, GK, W_SIGNED, Wp + (size_t)k * ((GK + 3) / 4 * 4));
    }
}

__kernel void qconv_dot(const int Nb, const int C, const int K, const int R, const int S, const int P, const int Q, const int groups,
                        __global const X1_T* restrict Xp, __global const int* restrict xsum, const int x_zp,
                        __global const W1_T* restrict Wp, __global const int* restrict wsum, __global const int* restrict w_zp,
                        __global const int* restrict bias, const int has_bias,
                        const int out_q, __global const MULT_T* restrict mult, const int y_zp, const int lo, const int hi,
                        __global uchar* restrict Y8, __global int* restrict Y32)
{
    const int g = get_global_id(2);
    const int Cg = C / groups, Kg = K / groups, GK = Cg * R * S, g4 = (GK + 3) / 4;
    const int npq = Nb * P * Q, PQ = P * Q;
    const int n0 = get_global_id(0) * RN, m0 = get_global_id(1) * RM;
    if (n0 >= npq || m0 >= Kg) {
        return;
    }
    /* channels / pixels past the edge re-read the last one; their results are not stored */
    __global const W1_T* wr[RM];
    __global const X1_T* xc[RN];
    for (int i = 0; i < RM; i++) wr[i] = Wp + (size_t)(g * Kg + min(m0 + i, Kg - 1)) * g4 * 4;
    for (int j = 0; j < RN; j++) xc[j] = Xp + ((size_t)g * npq + min(n0 + j, npq - 1)) * g4 * 4;
    CHIPKIT_DOT4_BLOCK(W4_T, X4_T, wr, xc, g4)
    const uint zx = (uint)x_zp;
    for (int i = 0; i < RM; i++) {
        if (m0 + i >= Kg) {
            break;
        }
        const int kout = g * Kg + m0 + i;
        const uint zw = (uint)w_zp[kout];
        const uint fixed_part = (has_bias ? (uint)bias[kout] : 0u) - zx * (uint)wsum[kout] + (uint)GK * zx * zw;
        for (int j = 0; j < RN; j++) {
            const int pix = n0 + j;
            if (pix >= npq) {
                break;
            }
            const int a = (int)(acc[i][j] + fixed_part - zw * (uint)xsum[(size_t)g * npq + pix]);
            const int img = pix / PQ, pq = pix - img * PQ;
            CK_STORE_Q(ck_tensor_index(img, kout, pq / Q, pq % Q, K, P, Q), a, mult[kout])
        }
    }
}
#endif
