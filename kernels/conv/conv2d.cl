/*
 * fp32 2-D convolution (ONNX Conv: cross-correlation), X NCHW or NHWC, weights [K, C/groups, R, S], Y in X's layout.
 * Host defines: TM TN TK RM RN (see common/chipkit.cl), NHWC (0/1).
 *
 * conv2d_igemm: implicit GEMM per group g (global dimension 2):
 *   out[m = output channel within the group, n = (image, p, q)] = sum over kr = (c within group, r, s) of
 *   W[g*Kg + m, kr] * X[image, g*Cg + c, p*sh - pad_t + r*dh, q*sw - pad_l + s*dw]   (zero outside the image),
 *   so GM = Kg, GN = N*P*Q, GK = Cg*R*S; nothing is materialised (the im2col gather happens while staging tiles).
 * conv2d_depthwise: groups == C == K (one input channel per output channel); one output per work-item,
 *   global size (Q, P, N*K), work-group size left to the runtime.
 * Bias (K floats) is added when has_bias is non-zero.
 */

#define CONV_ARGS                                                                                  \
    const int Nb, const int C, const int H, const int W, const int K, const int R, const int S,   \
    const int P, const int Q, const int sh, const int sw, const int pt, const int pl,             \
    const int dh, const int dw, const int groups

inline float conv_load_x(__global const float* X, int kr, int pix, int g, int Cg, int C, int H, int W, int R, int S,
                         int P, int Q, int sh, int sw, int pt, int pl, int dh, int dw)
{
    const long o = ck_im2col_offset(kr, pix, g, Cg, C, H, W, R, S, P, Q, sh, sw, pt, pl, dh, dw);
    return o >= 0 ? X[o] : 0.0f;
}

__kernel __attribute__((reqd_work_group_size(WG_N, WG_M, 1)))
void conv2d_igemm(CONV_ARGS,
                  __global const float* restrict X, __global const float* restrict Wt,
                  __global const float* restrict bias, const int has_bias, __global float* restrict Y)
{
    __local float As[TK][TM];
    __local float Bs[TK][TN];
    const int g = get_global_id(2);
    const int Cg = C / groups, Kg = K / groups;
    const int GM = Kg, GN = Nb * P * Q, GK = Cg * R * S;
    __global const float* Wg = Wt + (size_t)g * Kg * GK;
#define LOAD_A(m, k) Wg[(size_t)(m) * GK + (k)]
#define LOAD_B(k, n) conv_load_x(X, (k), (n), g, Cg, C, H, W, R, S, P, Q, sh, sw, pt, pl, dh, dw)
#define STORE(m, n, v) {                                                                           \
        const int kout = g * Kg + (m), PQ = P * Q, img = (n) / PQ, pq = (n) - img * PQ;            \
        Y[ck_tensor_index(img, kout, pq / Q, pq % Q, K, P, Q)] = (v) + (has_bias ? bias[kout] : 0.0f); \
    }
    CHIPKIT_TILED_BODY(float, float)
#undef LOAD_A
#undef LOAD_B
#undef STORE
}

__kernel void conv2d_depthwise(CONV_ARGS,
                               __global const float* restrict X, __global const float* restrict Wt,
                               __global const float* restrict bias, const int has_bias, __global float* restrict Y)
{
    const int q = get_global_id(0), p = get_global_id(1), nk = get_global_id(2);
    if (q >= Q || p >= P || nk >= Nb * K) return;
    const int n = nk / K, k = nk - n * K;
    float acc = 0.0f;
    for (int r = 0; r < R; r++) {
        const int h = p * sh - pt + r * dh;
        if (h < 0 || h >= H) continue;
        for (int s = 0; s < S; s++) {
            const int w = q * sw - pl + s * dw;
            if (w < 0 || w >= W) continue;
            acc += X[ck_tensor_index(n, k, h, w, C, H, W)] * Wt[((size_t)k * R + r) * S + s];
        }
    }
    Y[ck_tensor_index(n, k, p, q, K, P, Q)] = acc + (has_bias ? bias[k] : 0.0f);
}
