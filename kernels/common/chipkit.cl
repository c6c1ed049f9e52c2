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

/* CK_I8(S) / CK_I8X4(S): the 8-bit scalar / 4-vector type of an operand whose signedness define S (A_SIGNED,
   X_SIGNED, ...) is 0 (uchar, uchar4) or 1 (char, char4); the builtin's overload is chosen from these types. */
#define CK_PASTE_(a, b) a##b
#define CK_PASTE(a, b) CK_PASTE_(a, b)
#define CK_I8_0 uchar
#define CK_I8_1 char
#define CK_I8X4_0 uchar4
#define CK_I8X4_1 char4
#define CK_I8(S) CK_PASTE(CK_I8_, S)
#define CK_I8X4(S) CK_PASTE(CK_I8X4_, S)

/* Packs one operand run of the dot-product forms: copies the n bytes src[0], src[stride], ..., src[(n-1)*stride]
   to dst[0..n), zero-fills dst up to the next multiple of 4, and returns the sum of the values read as s8
   (is_signed) or u8, wrapping. The zeros add nothing to the dot products or the sum. */
inline uint ck_pack4(__global const uchar* restrict src, const size_t stride, const int n, const int is_signed,
                     __global uchar* restrict dst)
{
    uint s = 0;
    int k = 0;
    for (; k < n; k++) {
        const uchar v = src[(size_t)k * stride];
        dst[k] = v;
        s += (uint)(is_signed ? (int)(char)v : (int)v);
    }
    for (; k < (n + 3) / 4 * 4; k++) {
        dst[k] = 0;
    }
    return s;
}

/*
 * The dot-product block of qgemm_dot and qconv_dot: declares uint acc[RM][RN] and accumulates the raw dot products
 * of the RM packed rows ROWS[i] (ROW4_T vectors) with the RN packed columns COLS[j] (COL4_T vectors) over N4 groups
 * of 4 (CK_DOT4, wrapping). ROWS and COLS are arrays of __global pointers to 4-aligned runs.
 */
#define CHIPKIT_DOT4_BLOCK(ROW4_T, COL4_T, ROWS, COLS, N4)                                         \
    uint acc[RM][RN];                                                                              \
    for (int i = 0; i < RM; i++)                                                                   \
        for (int j = 0; j < RN; j++)                                                               \
            acc[i][j] = 0;                                                                         \
    for (int q4 = 0; q4 < (N4); q4++) {                                                            \
        ROW4_T a4[RM];                                                                             \
        COL4_T b4[RN];                                                                             \
        for (int i = 0; i < RM; i++) a4[i] = vload4(q4, (ROWS)[i]);                                \
        for (int j = 0; j < RN; j++) b4[j] = vload4(q4, (COLS)[j]);                                \
        for (int i = 0; i < RM; i++)                                                               \
            for (int j = 0; j < RN; j++)                                                           \
                acc[i][j] += CK_DOT4(a4[i], b4[j]);                                                \
    }

#endif

/* The store of every quantised kernel: output o gets the int32 accumulator v, requantised with multiplier m into Y8
   when out_q (only with CHIPKIT_FP64; without it the host requantises), else as is into Y32. Needs out_q, y_zp,
   lo, hi, Y8 and Y32 (the arguments ending every quantised entry point) in scope. */
#ifdef CHIPKIT_FP64
#define CK_STORE_Q(o, v, m) {                                                                      \
        const size_t o_ = (o);                                                                     \
        const int v_ = (v);                                                                        \
        if (out_q) Y8[o_] = (uchar)chipkit_requant(v_, (m), y_zp, lo, hi);                         \
        else Y32[o_] = v_;                                                                         \
    }
#else
#define CK_STORE_Q(o, v, m) { Y32[(o)] = (v); }
#endif

#ifdef NHWC
/* The offset of element (n, c, h, w) of a 4-D activation tensor with C channels of H x W, in the layout the host
   chose for the conv kernels (NHWC 1: channels last, 0: NCHW); the output (n, k, p, q) of K x P x Q alike. */
inline size_t ck_tensor_index(int n, int c, int h, int w, int C, int H, int W)
{
#if NHWC
    return (((size_t)n * H + h) * W + w) * C + c;
#else
    return (((size_t)n * C + c) * H + h) * W + w;
#endif
}

/* The implicit-GEMM gather of the conv kernels: the offset in X of im2col element (kr, pix) of group g, kr = (c within
   the group, r, s) and pix = (image, p, q), or -1 where the tap falls in the padding. */
inline long ck_im2col_offset(int kr, int pix, int g, int Cg, int C, int H, int W, int R, int S, int P, int Q,
                             int sh, int sw, int pt, int pl, int dh, int dw)
{
    const int RS = R * S, PQ = P * Q;
    const int c = kr / RS, rs = kr - c * RS, r = rs / S, s = rs - r * S;
    const int n = pix / PQ, pq = pix - n * PQ, p = pq / Q, q = pq - p * Q;
    const int h = p * sh - pt + r * dh, w = q * sw - pl + s * dw;
    return (h >= 0 && h < H && w >= 0 && w < W) ? (long)ck_tensor_index(n, g * Cg + c, h, w, C, H, W) : -1L;
}
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
