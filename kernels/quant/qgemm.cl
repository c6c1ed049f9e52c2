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
#ifdef CHIPKIT_FP64
#define STORE(m, n, v) {                                                                           \
        const size_t o = (size_t)(m) * N + (n);                                                    \
        if (out_q) Y8[o] = (uchar)chipkit_requant(as_int(v), mult[n], y_zp, lo, hi);               \
        else Y32[o] = as_int(v);                                                                   \
    }
#else
#define STORE(m, n, v) Y32[(size_t)(m) * N + (n)] = as_int(v);
#endif
    CHIPKIT_TILED_BODY(int, uint)
#undef LOAD_A
#undef LOAD_B
#undef STORE
}
