/*
 * fp32 GEMM, row-major: Y[M,N] = alpha * op(A) * op(B) + beta * C.
 * A is stored [M,K] (or [K,M] when TRANS_A=1), B is [K,N] (or [N,K] when TRANS_B=1); lda/ldb are the stored row strides.
 * Host defines: TM TN TK RM RN (tiles, see common/chipkit.cl), TRANS_A, TRANS_B (0/1).
 * Arguments vec_a / vec_b are 1 when the matrix's row stride is a multiple of 4 floats, so aligned float4 loads are valid.
 * Entry point: sgemm. Global size: (ceil(N/TN) * TN/RN, ceil(M/TM) * TM/RM); local size (TN/RN, TM/RM).
 * C is read only when use_beta is non-zero (beta == 0 must not read C: it may hold NaN).
 *
 * Panel variant (CPU-type devices; the host defines PM and PV as well): three entry points run in order, all timed.
 *   sgemm_pack_a  global (ceil(M/PM), K):  Ap[it][k][PM] = op(A)[it*PM + i][k], zero past M
 *   sgemm_pack_b  global (ceil(N/PN), K):  Bp[jt][k][PN] = op(B)[k][jt*PN + j], zero past N   (PN = 2*PV)
 *   sgemm_panel   global (ceil(M/PM), ceil(N/PN)) rounded up to the local size: one PM x PN register block per
 *                 work-item, read from contiguous panels (no local memory, no barrier)
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

#ifdef PM
/*
 * The panel variant: the explicit SIMD micro-kernel of a packed BLIS-style GEMM, written once in OpenCL C.
 * A CPU runtime (PoCL) compiles a barrier-free kernel like this one into a plain loop over work-items, and the body is
 * already vector code (PV-wide floatN), so nothing depends on the runtime vectorising across work-items. Packing first
 * makes every read of the inner loop contiguous: the B panel row of step k is PN consecutive floats, the A panel row
 * PM consecutive floats (broadcast), whatever the strides and transposes of A and B, so there are no power-of-two
 * strided walks through the operands (which thrash a CPU's caches and TLB on 1024-wide matrices).
 * PM x 2 accumulator vectors + 2 B vectors + 1 broadcast must fit the vector registers: PM = 6 for 16 registers.
 */
#if PV == 4
#define VFLOAT float4
#define VLOAD vload4
#define VSTORE vstore4
#elif PV == 8
#define VFLOAT float8
#define VLOAD vload8
#define VSTORE vstore8
#elif PV == 16
#define VFLOAT float16
#define VLOAD vload16
#define VSTORE vstore16
#else
#error "PV must be 4, 8 or 16"
#endif
#define PN (2 * PV)
#ifdef FP_FAST_FMAF
#define VMAD(a, b, c) fma((VFLOAT)(a), (b), (c))
#else
#define VMAD(a, b, c) mad((VFLOAT)(a), (b), (c))
#endif

__kernel void sgemm_pack_a(const int M, const int K, __global const float* restrict A, const int lda,
                           __global float* restrict Ap)
{
    const int it = get_global_id(0), k = get_global_id(1);
    if (k >= K) return;
    __global float* dst = Ap + ((size_t)it * K + k) * PM;
    for (int i = 0; i < PM; i++) {
        const int m = it * PM + i;
#if TRANS_A
        dst[i] = m < M ? A[(size_t)k * lda + m] : 0.0f;
#else
        dst[i] = m < M ? A[(size_t)m * lda + k] : 0.0f;
#endif
    }
}

__kernel void sgemm_pack_b(const int N, const int K, __global const float* restrict B, const int ldb,
                           __global float* restrict Bp)
{
    const int jt = get_global_id(0), k = get_global_id(1);
    if (k >= K) return;
    __global float* dst = Bp + ((size_t)jt * K + k) * PN;
    const int n0 = jt * PN;
#if TRANS_B
    for (int j = 0; j < PN; j++) dst[j] = n0 + j < N ? B[(size_t)(n0 + j) * ldb + k] : 0.0f;
#else
    const __global float* src = B + (size_t)k * ldb + n0;
    if (n0 + PN <= N) {
        for (int j = 0; j < PN; j++) dst[j] = src[j];
    } else {
        for (int j = 0; j < PN; j++) dst[j] = n0 + j < N ? src[j] : 0.0f;
    }
#endif
}

__kernel void sgemm_panel(const int M, const int N, const int K,
                          __global const float* restrict Ap, __global const float* restrict Bp,
                          __global const float* restrict C, __global float* restrict Y,
                          const float alpha, const float beta, const int use_beta)
{
    const int it = get_global_id(0), jt = get_global_id(1);
    if (it * PM >= M || jt * PN >= N) return;
    const __global float* a = Ap + (size_t)it * K * PM;
    const __global float* b = Bp + (size_t)jt * K * PN;
    VFLOAT c0[PM], c1[PM];
#pragma unroll
    for (int i = 0; i < PM; i++) { c0[i] = (VFLOAT)0.0f; c1[i] = (VFLOAT)0.0f; }
    for (int k = 0; k < K; k++) {
        const VFLOAT b0 = VLOAD(0, b), b1 = VLOAD(1, b);
#pragma unroll
        for (int i = 0; i < PM; i++) {
            const float av = a[i];
            c0[i] = VMAD(av, b0, c0[i]);
            c1[i] = VMAD(av, b1, c1[i]);
        }
        a += PM;
        b += PN;
    }

    const int m0 = it * PM, n0 = jt * PN;
    const bool full_n = n0 + PN <= N;
#pragma unroll
    for (int i = 0; i < PM; i++) {
        const int gm = m0 + i;
        if (gm >= M) break;
        __global float* y = Y + (size_t)gm * N + n0;
        VFLOAT r0 = (VFLOAT)alpha * c0[i], r1 = (VFLOAT)alpha * c1[i];
        if (full_n && !use_beta) {
            VSTORE(r0, 0, y);
            VSTORE(r1, 1, y);
        } else {
            float r[PN];
            VSTORE(r0, 0, r);
            VSTORE(r1, 1, r);
            const __global float* cc = C + (size_t)gm * N + n0;
            for (int j = 0; j < PN; j++) {
                if (n0 + j < N) y[j] = use_beta ? r[j] + beta * cc[j] : r[j];
            }
        }
    }
}
#endif
