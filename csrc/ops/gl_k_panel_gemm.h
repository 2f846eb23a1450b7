/* gl_k_panel_gemm.h - C = A^T B for GEMMs whose producer writes both operands
 * in the layout the register kernel reads, so that no packing pass runs.
 * Used by the Winograd path (gl_k_winograd.c).  Not a public API.
 *
 *   A  k-major: element (m, k) at A[k * lda + m]
 *   B  column strips of GL_PANEL_NR: strip s holds columns [s NR, s NR + w),
 *      w = min(NR, N - s NR), as K rows of w floats starting at s NR K
 *   C  row-major, leading dimension ldc
 * N must be a multiple of 16 (one vector). */
#ifndef GL_K_PANEL_GEMM_H
#define GL_K_PANEL_GEMM_H

#include <stdint.h>

#define GL_PANEL_NR 32

/* Offset of B's element (k, j) in the strip layout of a K x N matrix. */
static inline int64_t gl_panel_b_offset(int64_t K, int64_t N, int64_t k, int64_t j) {
    const int64_t s = j / GL_PANEL_NR, w = N - s * GL_PANEL_NR < GL_PANEL_NR ? N - s * GL_PANEL_NR : GL_PANEL_NR;
    return s * GL_PANEL_NR * K + k * w + (j - s * GL_PANEL_NR);
}

/* Number of column strips of an N-column B. */
static inline int64_t gl_panel_strips(int64_t N) { return (N + GL_PANEL_NR - 1) / GL_PANEL_NR; }

/* Columns of strip s of C (all M rows): C[m][s NR + j] = sum_k A[k lda + m] B(k, s NR + j). */
void gl_panel_gemm_strip(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t s,
                         float *C, int64_t ldc);

#endif
