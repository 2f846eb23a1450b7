/* gl_k_panel_gemm.h - C = A^T B for GEMMs whose producer writes A in the
 * layout the register kernel reads, so that no packing pass runs.  Used by
 * the Winograd path (gl_k_winograd.c) and the small-channel convolutions and
 * their weight gradient (gl_k_conv.c).  Not a public API.
 *
 *   A  k-major: element (m, k) at A[k * lda + m]
 *   B  row-major, element (k, j) at B[k * ldb + j]; any N (the last columns
 *      are read with masked loads)
 *   C  row-major, leading dimension ldc
 * Large B's are better read in column strips of GL_PANEL_NR, each its own
 * row-major block (gl_panel_b_offset): one strip then stays in L1 while all
 * rows of A pass over it. */
#ifndef GL_K_PANEL_GEMM_H
#define GL_K_PANEL_GEMM_H

#include <stdint.h>

#define GL_PANEL_NR 32

/* Number of column strips of an N-column B. */
static inline int64_t gl_panel_strips(int64_t N) { return (N + GL_PANEL_NR - 1) / GL_PANEL_NR; }

/* Width of strip s. */
static inline int64_t gl_panel_width(int64_t N, int64_t s) {
    return N - s * GL_PANEL_NR < GL_PANEL_NR ? N - s * GL_PANEL_NR : GL_PANEL_NR;
}

/* Offset of B's element (k, j) when a K x N matrix is stored as strips. */
static inline int64_t gl_panel_b_offset(int64_t K, int64_t N, int64_t k, int64_t j) {
    const int64_t s = j / GL_PANEL_NR;
    return s * GL_PANEL_NR * K + k * gl_panel_width(N, s) + (j - s * GL_PANEL_NR);
}

/* Strip s of C (all M rows) from a B stored as strips: C = A^T B, or C +=
 * A^T B when add is set.  K = 0 writes zeros (or leaves C as it is). */
void gl_panel_gemm_strip(int add, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                         int64_t s, float *C, int64_t ldc);

/* All of C from a row-major B. */
void gl_panel_gemm(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                   float *C, int64_t ldc);

/* C += A^T B, B row-major (accumulating over a sequence of GEMMs). */
void gl_panel_gemm_add(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                       float *C, int64_t ldc);

#endif
