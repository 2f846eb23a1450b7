/* gl_k_vec16.h - a vector of 16 floats for the hand-tiled kernels (the panel
 * GEMM, the direct convolutions): one zmm register with AVX-512, otherwise
 * whatever vectors the target has through GCC's vector extension.  Loads and
 * stores are unaligned; the _TAIL forms touch only the first n floats
 * (0 < n <= 16).  Not a public API. */
#ifndef GL_K_VEC16_H
#define GL_K_VEC16_H

#include <string.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#define GL_PV_AVX512 1
typedef __m512 gl_pv;
#define GL_PV_ZERO() _mm512_setzero_ps()
#define GL_PV_LD(v, p) ((v) = _mm512_loadu_ps(p))
#define GL_PV_LD_TAIL(v, p, n) ((v) = _mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1u), p))
#define GL_PV_ST(p, v) _mm512_storeu_ps(p, v)
#define GL_PV_ST_TAIL(p, v, n) _mm512_mask_storeu_ps(p, (__mmask16)((1u << (n)) - 1u), v)
#define GL_PV_FMA(a, b, c) _mm512_fmadd_ps(_mm512_set1_ps(a), b, c)
#define GL_PV_FMAV(a, b, c) _mm512_fmadd_ps(a, b, c)
#define GL_PV_HSUM(v) _mm512_reduce_add_ps(v)
#else
#define GL_PV_AVX512 0
typedef float gl_pv __attribute__((vector_size(16 * sizeof(float))));
#define GL_PV_ZERO() ((gl_pv){0})
#define GL_PV_LD(v, p) memcpy(&(v), p, sizeof(gl_pv))
#define GL_PV_LD_TAIL(v, p, n) ((v) = GL_PV_ZERO(), memcpy(&(v), p, sizeof(float) * (size_t)(n)))
#define GL_PV_ST(p, v) memcpy(p, &(v), sizeof(gl_pv))
#define GL_PV_ST_TAIL(p, v, n) memcpy(p, &(v), sizeof(float) * (size_t)(n))
#define GL_PV_FMA(a, b, c) ((c) + (a) * (b))
#define GL_PV_FMAV(a, b, c) ((c) + (a) * (b))
/* by pointer: a 64-byte vector passed by value draws GCC's -Wpsabi note */
static inline float gl_pv_hsum(const gl_pv *v) {
    float s = 0.0f;
    for (int i = 0; i < 16; i++) s += (*v)[i];
    return s;
}
#define GL_PV_HSUM(v) gl_pv_hsum(&(v))
#endif

#if defined(__AVX2__)
#include <immintrin.h>
#include <stdint.h>
/* lanes [0, n) of 8 set (n clamped to 0..8): the mask of AVX2's masked loads and stores */
static inline __m256i gl_mask8(int n) {
    static const int32_t bits[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256((const __m256i *)(bits + 8 - (n < 0 ? 0 : n > 8 ? 8 : n)));
}
#endif

#endif
