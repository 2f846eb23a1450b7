/* gl_k_panel_gemm.c - the register kernel behind gl_panel_gemm(_strip).
 *
 * Why not sgemm: these GEMMs are small (depth 16..256) and their operands
 * come straight out of a transform, so OpenBLAS spends much of each call
 * packing cold data; on one thread it ran the Winograd GEMMs at ~95 GFLOP/s
 * where this kernel, reading the operands as laid out, reaches ~150.  The
 * tile is MR rows x 32 columns of C held in registers (28 of the 32 zmm
 * registers with AVX-512); B is read one row of the tile per k and A
 * broadcast one float per row and k. */
#include "gl_k_panel_gemm.h"

#include <string.h>

#include "gl_k_vec16.h"

/* rows of C per tile: 28 of the 32 zmm registers with AVX-512; narrower targets have fewer */
#if GL_PV_AVX512
#define GL_PANEL_MR 14
#elif defined(__AVX2__) && defined(__FMA__)
#define GL_PANEL_AVX2 1
#define GL_PANEL_MR 6
#include <immintrin.h>
#else
#define GL_PANEL_MR 2
#endif

#define GL_INLINE static inline __attribute__((always_inline))

#if GL_PANEL_AVX2
/* AVX2 has 16 ymm registers of 8 floats: the tile is MR = 6 rows x 16 columns
 * (12 accumulators, two of B, one broadcast of A), as OpenBLAS's Haswell
 * kernel; a 32-column block runs as two 16-column halves.  gl_pv (16 floats
 * through GCC's vector extension) spilled with more than two rows.  Multiply
 * then add, not FMA: the same roundings as the portable path (which -std=c11
 * does not contract), and on Zen 3, whose adds have pipes of their own, FMA
 * measured no faster (ab_conv3.py, 0.95-1.10x per shape).  An FMA version is
 * as correct (test_conv passes, the mirror tests too), but on the CycleGAN
 * mirror test's data its rounding of G(a) flips one ReLU gate of F (input
 * 2e-6 in float64, -1e-6 in float32); at 14x14 with 4 images one gate moves
 * that layer's weight gradient by ~1 %, and the second step's losses by up to
 * 4e-4.  Any change of summation order can flip such a gate. */
/* C[0..mr)[0..16, or tail if partial) = (C if add) + sum_k A[k lda + m] B[k ldb + .] */
GL_INLINE void gl_panel_tile(const int add, const int mr, const int partial, int tail, int64_t K,
                             const float *restrict A, int64_t lda, const float *restrict B, int64_t ldb,
                             float *restrict C, int64_t ldc) {
    const __m256i m0 = gl_mask8(partial ? (tail < 8 ? tail : 8) : 8);
    const __m256i m1 = gl_mask8(partial ? (tail > 8 ? tail - 8 : 0) : 8);
    __m256 acc[GL_PANEL_MR][2];
    _Pragma("GCC unroll 8") for (int m = 0; m < mr; m++) {
        if (!add) {
            acc[m][0] = _mm256_setzero_ps();
            acc[m][1] = _mm256_setzero_ps();
        } else if (partial) {
            acc[m][0] = _mm256_maskload_ps(C + m * ldc, m0);
            acc[m][1] = _mm256_maskload_ps(C + m * ldc + 8, m1);
        } else {
            acc[m][0] = _mm256_loadu_ps(C + m * ldc);
            acc[m][1] = _mm256_loadu_ps(C + m * ldc + 8);
        }
    }
    for (int64_t k = 0; k < K; k++) {
        const __m256 b0 = partial ? _mm256_maskload_ps(B + k * ldb, m0) : _mm256_loadu_ps(B + k * ldb);
        const __m256 b1 = partial ? _mm256_maskload_ps(B + k * ldb + 8, m1) : _mm256_loadu_ps(B + k * ldb + 8);
        const float *a = A + k * lda;
        _Pragma("GCC unroll 8") for (int m = 0; m < mr; m++) {
            const __m256 am = _mm256_broadcast_ss(a + m);
            acc[m][0] = _mm256_add_ps(acc[m][0], _mm256_mul_ps(am, b0));
            acc[m][1] = _mm256_add_ps(acc[m][1], _mm256_mul_ps(am, b1));
        }
    }
    _Pragma("GCC unroll 8") for (int m = 0; m < mr; m++) {
        if (partial) {
            _mm256_maskstore_ps(C + m * ldc, m0, acc[m][0]);
            _mm256_maskstore_ps(C + m * ldc + 8, m1, acc[m][1]);
        } else {
            _mm256_storeu_ps(C + m * ldc, acc[m][0]);
            _mm256_storeu_ps(C + m * ldc + 8, acc[m][1]);
        }
    }
}

/* All M rows of 16 (or, partial, tail < 16) columns: 6-row tiles, then 4, 2 and 1 rows. */
GL_INLINE void gl_panel_rows16(const int add, const int partial, int tail, int64_t M, int64_t K, const float *A,
                               int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc) {
    int64_t m = 0;
    for (; m + GL_PANEL_MR <= M; m += GL_PANEL_MR)
        gl_panel_tile(add, GL_PANEL_MR, partial, tail, K, A + m, lda, B, ldb, C + m * ldc, ldc);
    for (; m + 4 <= M; m += 4) gl_panel_tile(add, 4, partial, tail, K, A + m, lda, B, ldb, C + m * ldc, ldc);
    for (; m + 2 <= M; m += 2) gl_panel_tile(add, 2, partial, tail, K, A + m, lda, B, ldb, C + m * ldc, ldc);
    for (; m < M; m++) gl_panel_tile(add, 1, partial, tail, K, A + m, lda, B, ldb, C + m * ldc, ldc);
}

/* Columns [0, w) of a block, w <= GL_PANEL_NR: full 16-column halves, then a partial one. */
GL_INLINE void gl_panel_block_as(const int add, int64_t M, int64_t w, int64_t K, const float *A, int64_t lda,
                                 const float *B, int64_t ldb, float *C, int64_t ldc) {
    int64_t j = 0;
    for (; j + 16 <= w; j += 16) gl_panel_rows16(add, 0, 16, M, K, A, lda, B + j, ldb, C + j, ldc);
    if (j < w) gl_panel_rows16(add, 1, (int)(w - j), M, K, A, lda, B + j, ldb, C + j, ldc);
}
#else
/* C[0..mr)[0..16 (nv - 1) + tail) = (C if add) + sum_k A[k lda + m] B[k ldb + .].
 * add, mr, nv and whether the last vector is partial are constants at every
 * call, so the loops unroll and acc stays in registers. */
GL_INLINE void gl_panel_tile(const int add, const int mr, const int nv, const int partial, int tail, int64_t K,
                             const float *restrict A, int64_t lda, const float *restrict B, int64_t ldb,
                             float *restrict C, int64_t ldc) {
    gl_pv acc[GL_PANEL_MR][2];
    _Pragma("GCC unroll 16") for (int m = 0; m < mr; m++)
        _Pragma("GCC unroll 2") for (int v = 0; v < nv; v++) {
            if (!add) acc[m][v] = GL_PV_ZERO();
            else if (partial && v == nv - 1) GL_PV_LD_TAIL(acc[m][v], C + m * ldc + 16 * v, tail);
            else GL_PV_LD(acc[m][v], C + m * ldc + 16 * v);
        }
    for (int64_t k = 0; k < K; k++) {
        gl_pv b[2];
        _Pragma("GCC unroll 2") for (int v = 0; v < nv; v++) {
            if (partial && v == nv - 1) GL_PV_LD_TAIL(b[v], B + k * ldb + 16 * v, tail);
            else GL_PV_LD(b[v], B + k * ldb + 16 * v);
        }
        const float *a = A + k * lda;
        _Pragma("GCC unroll 16") for (int m = 0; m < mr; m++)
            _Pragma("GCC unroll 2") for (int v = 0; v < nv; v++) acc[m][v] = GL_PV_FMA(a[m], b[v], acc[m][v]);
    }
    _Pragma("GCC unroll 16") for (int m = 0; m < mr; m++)
        _Pragma("GCC unroll 2") for (int v = 0; v < nv; v++) {
            if (partial && v == nv - 1) GL_PV_ST_TAIL(C + m * ldc + 16 * v, acc[m][v], tail);
            else GL_PV_ST(C + m * ldc + 16 * v, acc[m][v]);
        }
}

/* All M rows of one column block: full MR-row tiles, then 4-, 2- and 1-row tiles. */
GL_INLINE void gl_panel_rows(const int add, const int nv, const int partial, int tail, int64_t M, int64_t K,
                             const float *A, int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc) {
    int64_t m = 0;
    for (; m + GL_PANEL_MR <= M; m += GL_PANEL_MR)
        gl_panel_tile(add, GL_PANEL_MR, nv, partial, tail, K, A + m, lda, B, ldb, C + m * ldc, ldc);
#if GL_PANEL_MR > 4
    for (; m + 4 <= M; m += 4) gl_panel_tile(add, 4, nv, partial, tail, K, A + m, lda, B, ldb, C + m * ldc, ldc);
#endif
#if GL_PANEL_MR > 2
    for (; m + 2 <= M; m += 2) gl_panel_tile(add, 2, nv, partial, tail, K, A + m, lda, B, ldb, C + m * ldc, ldc);
#endif
    for (; m < M; m++) gl_panel_tile(add, 1, nv, partial, tail, K, A + m, lda, B, ldb, C + m * ldc, ldc);
}

/* Columns [0, w) of a block, w <= GL_PANEL_NR: one of four tile shapes. */
GL_INLINE void gl_panel_block_as(const int add, int64_t M, int64_t w, int64_t K, const float *A, int64_t lda,
                                 const float *B, int64_t ldb, float *C, int64_t ldc) {
    const int tail = (int)(w % 16);
    if (w == 32) gl_panel_rows(add, 2, 0, 16, M, K, A, lda, B, ldb, C, ldc);
    else if (w == 16) gl_panel_rows(add, 1, 0, 16, M, K, A, lda, B, ldb, C, ldc);
    else if (w > 16) gl_panel_rows(add, 2, 1, tail, M, K, A, lda, B, ldb, C, ldc);
    else gl_panel_rows(add, 1, 1, tail, M, K, A, lda, B, ldb, C, ldc);
}

#endif

/* add chosen once per block, so each tile shape is compiled with it constant */
static void gl_panel_block(int add, int64_t M, int64_t w, int64_t K, const float *A, int64_t lda, const float *B,
                           int64_t ldb, float *C, int64_t ldc) {
    if (add) gl_panel_block_as(1, M, w, K, A, lda, B, ldb, C, ldc);
    else gl_panel_block_as(0, M, w, K, A, lda, B, ldb, C, ldc);
}

/* All column blocks of a row-major B. */
static void gl_panel_columns(int add, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                             int64_t ldb, float *C, int64_t ldc) {
    for (int64_t j = 0; j < N; j += GL_PANEL_NR)
        gl_panel_block(add, M, gl_panel_width(N, j / GL_PANEL_NR), K, A, lda, B + j, ldb, C + j, ldc);
}

void gl_panel_gemm_strip(int add, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                         int64_t s, float *C, int64_t ldc) {
    const int64_t w = gl_panel_width(N, s);
    gl_panel_block(add, M, w, K, A, lda, B + s * GL_PANEL_NR * K, w, C + s * GL_PANEL_NR, ldc);
}

void gl_panel_gemm(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                   float *C, int64_t ldc) {
    gl_panel_columns(0, M, N, K, A, lda, B, ldb, C, ldc);
}

void gl_panel_gemm_add(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                       float *C, int64_t ldc) {
    gl_panel_columns(1, M, N, K, A, lda, B, ldb, C, ldc);
}
