/*
 * ChipKit OpenCL C common definitions (OpenCL C 1.2). The host prepends every file of common/ to each kernel file
 * and passes the tile sizes it chose for the device as -D options:
 *   TM, TN   rows / columns of the output tile of one work-group
 *   TK       depth of the reduction slice staged in local memory
 *   RM, RN   rows / columns of the register block of one work-item (TM % RM == 0, TN % RN == 0)
 * The work-group is (TN/RN) x (TM/RM) work-items: dimension 0 walks columns, dimension 1 rows. Work-item (tx, ty)
 * owns rows ty*RM .. ty*RM+RM-1 and the strided columns tx, tx+TN/RN, ..., so neighbouring work-items touch
 * neighbouring columns: coalesced on GPUs, and one SIMD vector per row when a CPU runtime (PoCL) vectorises
 * across work-items.
 * CHIPKIT_FP64 is defined when the device has cl_khr_fp64 (then requantisation runs on the device).
 */
#ifndef TM
#error "the host must define TM, TN, TK, RM, RN"
#endif

#define WG_M (TM / RM)
#define WG_N (TN / RN)
#define WG_SIZE (WG_M * WG_N)

#ifdef CHIPKIT_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
/* Exactly ChipKit.Core.Descriptors.Requantize.Apply: the product in double, round half to even (rint in the default
   rounding mode), plus the zero point, saturated to [lo, hi]. */
inline int chipkit_requant(int acc, double mult, int zp, int lo, int hi)
{
    double v = rint((double)acc * mult) + (double)zp;
    return v < (double)lo ? lo : (v > (double)hi ? hi : (int)v);
}
#define MULT_T double
#else
/* Without fp64 the multipliers buffer is never read (the host requantises); it is typed as 64-bit integers. */
#define MULT_T ulong
#endif

#ifdef CHIPKIT_INTDOT
/* CK_DOT4(a, b): the exact dot product of two 4 x 8-bit vectors (char4 / uchar4, any signedness pair) as a uint,
   for the dot-product forms of quant/qgemm.cl and quant/qconv.cl (CHIPKIT_INTDOT=1 emulated, 2 native). */
#if CHIPKIT_INTDOT == 2
/* the extension's builtin: dot(uchar4|char4, uchar4|char4) -> uint|int, exact (no saturation). The extension
   defines builtins only, no `#pragma OPENCL EXTENSION` (clang ignores one with "does not require pragma"); the
   compiler declares them when it defines __opencl_c_integer_dot_product_input_4x8bit. */
#if !defined(__opencl_c_integer_dot_product_input_4x8bit) && !defined(cl_khr_integer_dot_product)
#error "CHIPKIT_INTDOT=2 needs cl_khr_integer_dot_product (4x8bit input); use CHIPKIT_OPENCL_INTDOT=emulate"
#endif
#define CK_DOT4(a, b) ((uint)dot((a), (b)))
#else
/* portable emulation with identical integer semantics: each product exact in int, the 4-term sum below 2^31 */
#define CK_DOT4(a, b) ((uint)((int)(a).s0 * (int)(b).s0 + (int)(a).s1 * (int)(b).s1 + \
                              (int)(a).s2 * (int)(b).s2 + (int)(a).s3 * (int)(b).s3))
#endif

#endif

/* An 8-bit tensor element as an int: s8 data are the same bits read as signed char. */
#define LOAD8(p, i, is_signed) ((is_signed) ? (int)(((__global const char*)(p))[(i)]) : (int)((p)[(i)]))

/*
 * The tiled, register-blocked implicit-GEMM body: out[GM x GN] = sum over GK of a(m,k) * b(k,n).
 * Needs in scope: ints GM, GN, GK; __local TILE_T As[TK][TM], Bs[TK][TN] declared at kernel scope; macros
 * LOAD_A(m, k) and LOAD_B(k, n) (called only inside the bounds; they return TILE_T) and STORE(m, n, acc)
 * (called only inside the bounds). Tiles outside the bounds are zero-filled, so any GM, GN, GK works.
 */
#define CHIPKIT_TILED_BODY(TILE_T, ACC_T)                                                          \
    const int tx = get_local_id(0), ty = get_local_id(1);                                          \
    const int lid = ty * WG_N + tx;                                                                \
    const int m0 = get_group_id(1) * TM, n0 = get_group_id(0) * TN;                                \
    ACC_T acc[RM][RN];                                                                             \
    for (int i = 0; i < RM; i++)                                                                   \
        for (int j = 0; j < RN; j++)                                                               \
            acc[i][j] = 0;                                                                         \
    for (int k0 = 0; k0 < GK; k0 += TK) {                                                          \
        for (int e = lid; e < TK * TM; e += WG_SIZE) {                                             \
            const int mm = e / TK, kk = e % TK, gm = m0 + mm, gk = k0 + kk;                        \
            As[kk][mm] = (gm < GM && gk < GK) ? LOAD_A(gm, gk) : (TILE_T)0;                        \
        }                                                                                          \
        for (int e = lid; e < TK * TN; e += WG_SIZE) {                                             \
            const int kk = e / TN, nn = e % TN, gn = n0 + nn, gk = k0 + kk;                        \
            Bs[kk][nn] = (gn < GN && gk < GK) ? LOAD_B(gk, gn) : (TILE_T)0;                        \
        }                                                                                          \
        barrier(CLK_LOCAL_MEM_FENCE);                                                              \
        for (int kk = 0; kk < TK; kk++) {                                                          \
            TILE_T a[RM], b[RN];                                                                   \
            for (int i = 0; i < RM; i++) a[i] = As[kk][ty * RM + i];                               \
            for (int j = 0; j < RN; j++) b[j] = Bs[kk][tx + j * WG_N];                               \
            for (int i = 0; i < RM; i++)                                                           \
                for (int j = 0; j < RN; j++)                                                       \
                    acc[i][j] += (ACC_T)(a[i] * b[j]);                                             \
        }                                                                                          \
        barrier(CLK_LOCAL_MEM_FENCE);                                                              \
    }                                                                                              \
    for (int i = 0; i < RM; i++) {                                                                 \
        const int gm = m0 + ty * RM + i;                                                           \
        for (int j = 0; j < RN; j++) {                                                             \
            const int gn = n0 + tx + j * WG_N;                                                       \
            if (gm < GM && gn < GN) { STORE(gm, gn, acc[i][j]); }                                  \
        }                                                                                          \
    }
