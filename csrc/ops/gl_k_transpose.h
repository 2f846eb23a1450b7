/* gl_k_transpose.h - 16 x 16 float transposes between NCHW rows and
 * batch-innermost vectors, for the Winograd layout passes.
 *
 * Why: those passes move a block of 16 images x 16 columns between 16 image
 * rows (stride ld apart) and 16 vectors of 16 images.  Element by element
 * that is 256 strided scalar moves; with AVX-512 it is 16 row loads, 64
 * in-register shuffles and 16 vector stores; with AVX2 four 8 x 8 register
 * transposes (rows and columns past nr / nc masked); otherwise the plain
 * loops below.  Not a public API. */
#ifndef GL_K_TRANSPOSE_H
#define GL_K_TRANSPOSE_H

#include <stdint.h>
#include <string.h>

#if defined(__AVX512F__)
#include <immintrin.h>

/* r[j] <- column j of the 16 x 16 matrix whose rows are r[0..16). */
static inline __attribute__((always_inline)) void gl_tr16_regs(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
        r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int h = 0; h < 16; h += 8)
        for (int i = 0; i < 4; i++) {
            t[h + i] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0x88);
            t[h + i + 4] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0xDD);
        }
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
    }
}

/* d[j][i] = s[i * ld + j] for rows i < nr and columns j < nc, 0 for i >= nr:
 * d[j] (j < nc) are 16-float vectors, the rest of s is not read. */
static inline void gl_tr16_in(float *const d[16], const float *s, int64_t ld, int nr, int nc) {
    const __mmask16 m = (__mmask16)((1u << nc) - 1u);
    __m512 r[16];
    for (int i = 0; i < 16; i++) r[i] = i < nr ? _mm512_maskz_loadu_ps(m, s + i * ld) : _mm512_setzero_ps();
    gl_tr16_regs(r);
    for (int j = 0; j < nc; j++) _mm512_storeu_ps(d[j], r[j]);
}

/* d[i * ld + j] = s[j][i] for i < nr, j < nc: s[j] (j < nc) are 16-float
 * vectors; nothing else of d is written. */
static inline void gl_tr16_out(float *d, int64_t ld, const float *const s[16], int nr, int nc) {
    const __mmask16 m = (__mmask16)((1u << nc) - 1u);
    __m512 r[16];
    for (int j = 0; j < 16; j++) r[j] = j < nc ? _mm512_loadu_ps(s[j]) : _mm512_setzero_ps();
    gl_tr16_regs(r);
    for (int i = 0; i < nr; i++) _mm512_mask_storeu_ps(d + i * ld, m, r[i]);
}

#elif defined(__AVX2__)
#include "gl_k_vec16.h" /* gl_mask8 */

/* r[j] <- column j of the 8 x 8 matrix whose rows are r[0..8). */
static inline __attribute__((always_inline)) void gl_tr8_regs(__m256 r[8]) {
    __m256 t[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        t[i] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x20);
        t[i + 4] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x31);
    }
    for (int i = 0; i < 8; i++) r[i] = t[i];
}

/* d[j][i] = s[i * ld + j] for rows i < nr and columns j < nc, 0 for i >= nr:
 * d[j] (j < nc) are 16-float vectors, the rest of s is not read. */
static inline void gl_tr16_in(float *const d[16], const float *s, int64_t ld, int nr, int nc) {
    for (int j0 = 0; j0 < nc; j0 += 8) {
        const __m256i m = gl_mask8(nc - j0);
        for (int i0 = 0; i0 < 16; i0 += 8) {
            __m256 r[8];
            for (int k = 0; k < 8; k++)
                r[k] = i0 + k < nr ? _mm256_maskload_ps(s + (i0 + k) * ld + j0, m) : _mm256_setzero_ps();
            gl_tr8_regs(r);
            for (int k = 0; k < 8 && j0 + k < nc; k++) _mm256_storeu_ps(d[j0 + k] + i0, r[k]);
        }
    }
}

/* d[i * ld + j] = s[j][i] for i < nr, j < nc: s[j] (j < nc) are 16-float
 * vectors; nothing else of d is written. */
static inline void gl_tr16_out(float *d, int64_t ld, const float *const s[16], int nr, int nc) {
    for (int j0 = 0; j0 < nc; j0 += 8) {
        const int full = nc - j0 >= 8;
        const __m256i m = gl_mask8(nc - j0);
        for (int i0 = 0; i0 < nr; i0 += 8) {
            __m256 r[8];
            for (int k = 0; k < 8; k++) r[k] = j0 + k < nc ? _mm256_loadu_ps(s[j0 + k] + i0) : _mm256_setzero_ps();
            gl_tr8_regs(r);
            for (int k = 0; k < 8 && i0 + k < nr; k++) {
                if (full) _mm256_storeu_ps(d + (i0 + k) * ld + j0, r[k]);
                else _mm256_maskstore_ps(d + (i0 + k) * ld + j0, m, r[k]);
            }
        }
    }
}

#else

static inline void gl_tr16_in(float *const d[16], const float *s, int64_t ld, int nr, int nc) {
    for (int j = 0; j < nc; j++)
        for (int i = 0; i < 16; i++) d[j][i] = i < nr ? s[i * ld + j] : 0.0f;
}

static inline void gl_tr16_out(float *d, int64_t ld, const float *const s[16], int nr, int nc) {
    for (int i = 0; i < nr; i++)
        for (int j = 0; j < nc; j++) d[i * ld + j] = s[j][i];
}

#endif

#endif
