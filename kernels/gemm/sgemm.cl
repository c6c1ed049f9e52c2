/*
 * fp32 GEMM, row-major: Y[M,N] = alpha * op(A) * op(B) + beta * C.
 * A is stored [M,K] (or [K,M] when TRANS_A=1), B is [K,N] (or [N,K] when TRANS_B=1); lda/ldb are the stored row strides.
 * Host defines: TM TN TK RM RN (tiles, see common/chipkit.cl), TRANS_A, TRANS_B (0/1).
 * Arguments vec_a / vec_b are 1 when the matrix's row stride is a multiple of 4 floats, so aligned float4 loads are valid.
 * Entry point: sgemm. Global size: (ceil(N/TN) * TN/RN, ceil(M/TM) * TM/RM); local size (TN/RN, TM/RM).
 * C is read only when use_beta is non-zero (beta == 0 must not read C: it may hold NaN).
 */

/* Stage the R x Cc block of a row-major matrix (rows r0.., contiguous columns c0..) that the tile needs into local
   memory through STORE_L(r, c, v), zero outside [rmax, cmax); with VEC, interior groups of 4 use vload4. */
#define STAGE(src, ld, r0, c0, R_, C_, rmax, cmax, VEC, STORE_L)                                   \
    if (VEC) {                                                                                     \
        for (int e = lid; e < (R_) * ((C_) / 4); e += WG_SIZE) {                                   \
            const int r = e / ((C_) / 4), c = (e % ((C_) / 4)) * 4;                                \
            const int gr = (r0) + r, gc = (c0) + c;                                                \
            float4 v;                                                                              \
            if (gr < (rmax) && gc + 3 < (cmax)) {                                                  \
                v = vload4(0, (src) + (size_t)gr * (ld) + gc);                                     \
            } else {                                                                               \
                const __global float* row = (src) + (size_t)gr * (ld);                             \
                v.s0 = (gr < (rmax) && gc + 0 < (cmax)) ? row[gc + 0] : 0.0f;                      \
                v.s1 = (gr < (rmax) && gc + 1 < (cmax)) ? row[gc + 1] : 0.0f;                      \
                v.s2 = (gr < (rmax) && gc + 2 < (cmax)) ? row[gc + 2] : 0.0f;                      \
                v.s3 = (gr < (rmax) && gc + 3 < (cmax)) ? row[gc + 3] : 0.0f;                      \
            }                                                                                      \
            STORE_L(r, c + 0, v.s0); STORE_L(r, c + 1, v.s1);                                      \
            STORE_L(r, c + 2, v.s2); STORE_L(r, c + 3, v.s3);                                      \
        }                                                                                          \
    } else {                                                                                       \
        for (int e = lid; e < (R_) * (C_); e += WG_SIZE) {                                         \
            const int r = e / (C_), c = e % (C_), gr = (r0) + r, gc = (c0) + c;                    \
            STORE_L(r, c, (gr < (rmax) && gc < (cmax)) ? (src)[(size_t)gr * (ld) + gc] : 0.0f);    \
        }                                                                                          \
    }

/* As[k][m], Bs[k][n] whatever the storage order of A and B. */
#define AS_KM(r, c, v) As[r][c] = (v)   /* A stored [K,M]: row = k, column = m */
#define AS_MK(r, c, v) As[c][r] = (v)   /* A stored [M,K]: row = m, column = k */
#define BS_KN(r, c, v) Bs[r][c] = (v)   /* B stored [K,N] */
#define BS_NK(r, c, v) Bs[c][r] = (v)   /* B stored [N,K] */

__kernel __attribute__((reqd_work_group_size(WG_N, WG_M, 1)))
void sgemm(const int M, const int N, const int K,
           __global const float* restrict A, const int lda,
           __global const float* restrict B, const int ldb,
           __global const float* restrict C,
           __global float* restrict Y,
           const float alpha, const float beta, const int use_beta, const int vec_a, const int vec_b)
{
    __local float As[TK][TM];
    __local float Bs[TK][TN];
    const int tx = get_local_id(0), ty = get_local_id(1);
    const int lid = ty * WG_N + tx;
    const int m0 = get_group_id(1) * TM, n0 = get_group_id(0) * TN;

#if RN == 4 || RN == 8 || RN == 16
    /* Vector path: work-item (tx, ty) owns rows ty*RM.. and the RN contiguous columns tx*RN..; the register block is
       RM vectors of RN floats, updated with a scalar (broadcast) times a vector per row: an explicit SIMD micro-kernel
       for CPU runtimes, and wide local-memory loads on GPUs. */
#if RN == 4
#define FLOATN float4
#define VLOADN vload4
#define VSTOREN vstore4
#elif RN == 8
#define FLOATN float8
#define VLOADN vload8
#define VSTOREN vstore8
#else
#define FLOATN float16
#define VLOADN vload16
#define VSTOREN vstore16
#endif
    FLOATN acc[RM];
    for (int i = 0; i < RM; i++) acc[i] = (FLOATN)0.0f;
#else
    /* Scalar path (RN not 4, 8 or 16): strided columns tx, tx + WG_N, ... */
    float acc[RM][RN];
    for (int i = 0; i < RM; i++)
        for (int j = 0; j < RN; j++)
            acc[i][j] = 0.0f;
#endif

    for (int k0 = 0; k0 < K; k0 += TK) {
#if TRANS_A
        STAGE(A, lda, k0, m0, TK, TM, K, M, vec_a, AS_KM)
#else
        STAGE(A, lda, m0, k0, TM, TK, M, K, vec_a, AS_MK)
#endif
#if TRANS_B
        STAGE(B, ldb, n0, k0, TN, TK, N, K, vec_b, BS_NK)
#else
        STAGE(B, ldb, k0, n0, TK, TN, K, N, vec_b, BS_KN)
#endif
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < TK; kk++) {
#ifdef FLOATN
            const FLOATN b = VLOADN(0, &Bs[kk][tx * RN]);
            for (int i = 0; i < RM; i++) acc[i] += As[kk][ty * RM + i] * b;
#else
            float a[RM], b[RN];
            for (int i = 0; i < RM; i++) a[i] = As[kk][ty * RM + i];
            for (int j = 0; j < RN; j++) b[j] = Bs[kk][tx + j * WG_N];
            for (int i = 0; i < RM; i++)
                for (int j = 0; j < RN; j++)
                    acc[i][j] += a[i] * b[j];
#endif
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    for (int i = 0; i < RM; i++) {
        const int gm = m0 + ty * RM + i;
        if (gm >= M) break;
#ifdef FLOATN
        float r[RN];
        VSTOREN(acc[i], 0, r);
#define ACC(i, j) r[j]
#define COL(j) (n0 + tx * RN + (j))
#else
#define ACC(i, j) acc[i][j]
#define COL(j) (n0 + tx + (j) * WG_N)
#endif
        for (int j = 0; j < RN; j++) {
            const int gn = COL(j);
            if (gn < N) {
                const size_t o = (size_t)gm * N + gn;
                float v = alpha * ACC(i, j);
                if (use_beta) v += beta * C[o];
                Y[o] = v;
            }
        }
    }
}
