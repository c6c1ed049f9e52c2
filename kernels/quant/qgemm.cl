/*
 * Quantised GEMM with ONNX semantics (QLinearMatMul / MatMulInteger). A [M,K] and B [K,N] row-major 8-bit tensors
 * (a_signed / b_signed: s8 when non-zero, else u8), a_zp per tensor, b_zp[N] per column (the host expands a
 * per-tensor zero point to N entries). acc = sum (a - a_zp) * (b - b_zp[n]) in wrapping 32-bit arithmetic.
 * out_q == 0: Y32[m,n] = acc. out_q != 0 (only when CHIPKIT_FP64): Y8[m,n] = chipkit_requant(acc, mult[n], y_zp, lo, hi)
 * with mult[n] = (double)a_scale * b_scale[n] / y_scale computed by the host exactly as Requantize.Multiplier.
 * Host defines: TM TN TK RM RN. Entry point: qgemm; 2-D range as sgemm.
 */
__kernel __attribute__((reqd_work_group_size(WG_N, WG_M, 1)))
void qgemm(const int M, const int N, const int K,
           __global const uchar* restrict A, const int a_signed, const int a_zp,
           __global const uchar* restrict B, const int b_signed, __global const int* restrict b_zp,
           const int out_q, __global const MULT_T* restrict mult, const int y_zp, const int lo, const int hi,
           __global uchar* restrict Y8, __global int* restrict Y32)
{
    __local int As[TK][TM];
    __local int Bs[TK][TN];
    const int GM = M, GN = N, GK = K;
#define LOAD_A(m, k) (LOAD8(A, (size_t)(m) * K + (k), a_signed) - a_zp)
#define LOAD_B(k, n) (LOAD8(B, (size_t)(k) * N + (n), b_signed) - b_zp[n])
#define STORE(m, n, v) CK_STORE_Q((size_t)(m) * N + (n), as_int(v), mult[n])
    CHIPKIT_TILED_BODY(int, uint)
#undef LOAD_A
#undef LOAD_B
#undef STORE
}

#ifdef CHIPKIT_INTDOT
/*
 * The dot-product formulation (built only with -DCHIPKIT_INTDOT=1 (emulated) or 2 (the device's
 * cl_khr_integer_dot_product builtins); the host selects it with CHIPKIT_OPENCL_INTDOT, see docs/opencl.md).
 * Raw 8-bit values are multiplied four at a time (no zero point subtracted at load time) and the zero points are
 * corrected once per output with the row sums of A and the column sums of B:
 *     sum_k (a - za)(b - zb) = sum_k a*b - zb * sum_k a - za * sum_k b + K * za * zb
 * evaluated in wrapping 32-bit (uint) arithmetic, so it is bit-identical to qgemm's sum of (a - za)(b - zb): both
 * sides are the same integer modulo 2^32. The 4-element dot products use `dot` (not `dot_acc_sat`): ONNX's int32
 * accumulation wraps, a saturating accumulate would not.
 * Host defines: A_SIGNED, B_SIGNED (0/1: u8 or s8), RM RN (register block), and the tile macros of common/.
 * Entries and NDRanges:
 *   qgemm_pack_a4  global (M)                 Ap[M][K4*4] = A rows zero-padded to K4*4 (K4 = ceil(K/4)); rowsum[m] = sum_k A[m,k]
 *   qgemm_pack_b4  global (N)                 Bp[N][K4*4] = B columns (transposed), zero-padded; colsum[n] = sum_k B[k,n]
 *   qgemm_dot      global (ceil(N/RN), ceil(M/RM))  an RM x RN block per work-item; epilogue as qgemm's STORE
 */
#define A1_T CK_I8(A_SIGNED)
#define A4_T CK_I8X4(A_SIGNED)
#define B1_T CK_I8(B_SIGNED)
#define B4_T CK_I8X4(B_SIGNED)

/* CK_I8, ck_pack4, CHIPKIT_DOT4_BLOCK and CK_DOT4 (the extension's dot, or the portable macro) are in common/chipkit.cl */

__kernel void qgemm_pack_a4(const int M, const int K, __global const uchar* restrict A,
                            __global uchar* restrict Ap, __global int* restrict rowsum)
{
    const int m = get_global_id(0);
    if (m < M) {
        rowsum[m] = (int)ck_pack4(A + (size_t)m * K, 1, K, A_SIGNED, Ap + (size_t)m * ((K + 3) / 4 * 4));
    }
}

__kernel void qgemm_pack_b4(const int N, const int K, __global const uchar* restrict B,
                            __global uchar* restrict Bp, __global int* restrict colsum)
{
    const int n = get_global_id(0);
    if (n < N) {
        colsum[n] = (int)ck_pack4(B + n, N, K, B_SIGNED, Bp + (size_t)n * ((K + 3) / 4 * 4));
    }
}

__kernel void qgemm_dot(const int M, const int N, const int K,
                        __global const A1_T* restrict Ap, __global const int* restrict rowsum, const int a_zp,
                        __global const B1_T* restrict Bp, __global const int* restrict colsum, __global const int* restrict b_zp,
                        const int out_q, __global const MULT_T* restrict mult, const int y_zp, const int lo, const int hi,
                        __global uchar* restrict Y8, __global int* restrict Y32)
{
    const int k4 = (K + 3) / 4;
    const int n0 = get_global_id(0) * RN, m0 = get_global_id(1) * RM;
    if (n0 >= N || m0 >= M) {
        return;
    }
    /* rows / columns past the edge re-read the last one; their results are not stored */
    __global const A1_T* ar[RM];
    __global const B1_T* bc[RN];
    for (int i = 0; i < RM; i++) ar[i] = Ap + (size_t)min(m0 + i, M - 1) * k4 * 4;
    for (int j = 0; j < RN; j++) bc[j] = Bp + (size_t)min(n0 + j, N - 1) * k4 * 4;
    CHIPKIT_DOT4_BLOCK(A4_T, B4_T, ar, bc, k4)
    for (int i = 0; i < RM; i++) {
        const int m = m0 + i;
        if (m >= M) {
            break;
        }
        for (int j = 0; j < RN; j++) {
            const int n = n0 + j;
            if (n >= N) {
                break;
            }
            const uint zb = (uint)b_zp[n], za = (uint)a_zp;
            const int v = (int)(acc[i][j] - zb * (uint)rowsum[m] - za * (uint)colsum[n] + (uint)K * za * zb);
            CK_STORE_Q((size_t)m * N + n, v, mult[n])
        }
    }
}
#endif
