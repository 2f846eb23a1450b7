/* gl_rng.c - Philox4x32-10 counter-based random numbers.
 *
 * Philox block b of draw k is philox(key = seed, counter = (b, k)): four
 * 32-bit words.  Element i of a fill uses block i / 4, so every element is a
 * pure function of (seed, k, i); threads split the blocks, never the stream,
 * which makes fills bit-identical for any thread count. */
#include "gl_rng.h"

#include <math.h>
#include <string.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#define GL_PHILOX_M0 0xD2511F53u
#define GL_PHILOX_M1 0xCD9E8D57u
#define GL_PHILOX_W0 0x9E3779B9u
#define GL_PHILOX_W1 0xBB67AE85u

typedef struct gl_u32x4 { uint32_t v[4]; } gl_u32x4;

static inline gl_u32x4 gl_philox(uint64_t seed, uint64_t draw, uint64_t block) {
    uint32_t c0 = (uint32_t)block, c1 = (uint32_t)(block >> 32);
    uint32_t c2 = (uint32_t)draw, c3 = (uint32_t)(draw >> 32);
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)GL_PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)GL_PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint32_t)p1;
        c3 = (uint32_t)p0;
        c0 = n0;
        c2 = n2;
        k0 += GL_PHILOX_W0;
        k1 += GL_PHILOX_W1;
    }
    gl_u32x4 out = {{c0, c1, c2, c3}};
    return out;
}

void gl_rng_seed(gl_rng *r, uint64_t seed) {
    r->seed = seed;
    r->counter = 0;
}

/* ---- fills, split over blocks of 4 elements ---- */

typedef enum { GL_FILL_UNIFORM, GL_FILL_NORMAL, GL_FILL_DROPOUT, GL_FILL_BERNOULLI } gl_fill_kind;

typedef struct gl_fill_job {
    gl_fill_kind kind;
    uint64_t seed, draw;
    float *out;
    int64_t n;
    float a, b; /* uniform: lo, hi; normal: mean, std; dropout: p, scale */
    const float *in; /* bernoulli: the probabilities (n of them) */
} gl_fill_job;

#define GL_U24 (1.0f / 16777216.0f)

/* Philox for blocks b0 .. b0+GL_BATCH-1, lane-parallel: word q of block
 * b0+l lands in cq[l] (planar, as the lanes compute them). */
#define GL_BATCH 16
static void gl_philox_lanes(uint64_t seed, uint64_t draw, uint64_t b0, uint32_t *restrict c0, uint32_t *restrict c1,
                            uint32_t *restrict c2, uint32_t *restrict c3) {
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
#if defined(__AVX512F__)
    /* GCC leaves the scalar loop below scalar; 16 lanes here, the 32x32 -> 64
     * products of the even and the odd lanes apart (vpmuludq), their high
     * words blended.  The counters start in registers (block b0 + lane, with
     * the carry into the high word): arrays written by scalar stores and read
     * back as vectors stall on store forwarding. */
    const __m512i lo = _mm512_set1_epi32((int)(uint32_t)b0);
    __m512i v0 = _mm512_add_epi32(lo, _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    __m512i v1 = _mm512_set1_epi32((int)(uint32_t)(b0 >> 32));
    v1 = _mm512_mask_add_epi32(v1, _mm512_cmplt_epu32_mask(v0, lo), v1, _mm512_set1_epi32(1));
    __m512i v2 = _mm512_set1_epi32((int)(uint32_t)draw), v3 = _mm512_set1_epi32((int)(uint32_t)(draw >> 32));
    const __m512i m0 = _mm512_set1_epi32((int)GL_PHILOX_M0), m1 = _mm512_set1_epi32((int)GL_PHILOX_M1);
    for (int r = 0; r < 10; r++) {
        const __m512i hi0 = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(_mm512_mul_epu32(v0, m0), 32),
                                                    _mm512_mul_epu32(_mm512_srli_epi64(v0, 32), m0));
        const __m512i hi2 = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(_mm512_mul_epu32(v2, m1), 32),
                                                    _mm512_mul_epu32(_mm512_srli_epi64(v2, 32), m1));
        const __m512i n0 = _mm512_xor_si512(_mm512_xor_si512(hi2, v1), _mm512_set1_epi32((int)k0));
        const __m512i n2 = _mm512_xor_si512(_mm512_xor_si512(hi0, v3), _mm512_set1_epi32((int)k1));
        v1 = _mm512_mullo_epi32(v2, m1);
        v3 = _mm512_mullo_epi32(v0, m0);
        v0 = n0;
        v2 = n2;
        k0 += GL_PHILOX_W0;
        k1 += GL_PHILOX_W1;
    }
    _mm512_storeu_si512(c0, v0);
    _mm512_storeu_si512(c1, v1);
    _mm512_storeu_si512(c2, v2);
    _mm512_storeu_si512(c3, v3);
#else
    for (int l = 0; l < GL_BATCH; l++) {
        uint64_t b = b0 + (uint64_t)l;
        c0[l] = (uint32_t)b;
        c1[l] = (uint32_t)(b >> 32);
        c2[l] = (uint32_t)draw;
        c3[l] = (uint32_t)(draw >> 32);
    }
    for (int r = 0; r < 10; r++) {
        for (int l = 0; l < GL_BATCH; l++) {
            uint64_t p0 = (uint64_t)GL_PHILOX_M0 * c0[l];
            uint64_t p1 = (uint64_t)GL_PHILOX_M1 * c2[l];
            uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1[l] ^ k0;
            uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3[l] ^ k1;
            c1[l] = (uint32_t)p1;
            c3[l] = (uint32_t)p0;
            c0[l] = n0;
            c2[l] = n2;
        }
        k0 += GL_PHILOX_W0;
        k1 += GL_PHILOX_W1;
    }
#endif
}

/* The same blocks interleaved: word q of block b0+l lands in w[l*4+q]. */
static void gl_philox_batch(uint64_t seed, uint64_t draw, uint64_t b0, uint32_t *restrict w) {
    uint32_t c0[GL_BATCH], c1[GL_BATCH], c2[GL_BATCH], c3[GL_BATCH];
    gl_philox_lanes(seed, draw, b0, c0, c1, c2, c3);
    for (int l = 0; l < GL_BATCH; l++) {
        w[l * 4 + 0] = c0[l];
        w[l * 4 + 1] = c1[l];
        w[l * 4 + 2] = c2[l];
        w[l * 4 + 3] = c3[l];
    }
}

/* ---- Box-Muller without libm calls, so that the fill loop vectorises ----
 * (logf, sinf and cosf calls were a fifth of a semi-supervised GAN step, all
 * of it Gaussian noise).  Cephes' single-precision polynomials: relative
 * errors of a few 1e-8 (tests/test_kernels.c compares with double libm). */

static inline float gl_bits_f(uint32_t u) { float f; memcpy(&f, &u, sizeof f); return f; }
static inline uint32_t gl_f_bits(float f) { uint32_t u; memcpy(&u, &f, sizeof u); return u; }

/* log(x) for a normal, positive, finite x. */
static inline float gl_logf_poly(float x) {
    const uint32_t u = gl_f_bits(x);
    float e = (float)((int32_t)(u >> 23) - 126);              /* x = m 2^e, m in [0.5, 1) */
    float m = gl_bits_f((u & 0x007fffffu) | 0x3f000000u);
    const int lo = m < 0.70710678f;                           /* m in [sqrt(1/2), sqrt(2)) */
    e = lo ? e - 1.0f : e;
    m = lo ? m + m - 1.0f : m - 1.0f;
    const float z = m * m;
    float y = 7.0376836292e-2f;
    y = y * m - 1.1514610310e-1f;
    y = y * m + 1.1676998740e-1f;
    y = y * m - 1.2420140846e-1f;
    y = y * m + 1.4249322787e-1f;
    y = y * m - 1.6668057665e-1f;
    y = y * m + 2.0000714765e-1f;
    y = y * m - 2.4999993993e-1f;
    y = y * m + 3.3333331174e-1f;
    y = y * m * z - 2.12194440e-4f * e - 0.5f * z;
    return m + y + 0.693359375f * e;                          /* ln 2 split in two */
}

/* A pair of standard normals from two words: radius sqrt(-2 log u1) with u1
 * = (w1 + 1/2) 2^-32 in (0, 1) (small words keep full precision, so tails
 * reach ~6.7 sigma); angle k pi/2 + t with the quadrant k from w2's top two
 * bits and t in [-pi/4, pi/4) from its next 22: uniform on the circle, and
 * the polynomials need no range reduction. */
static inline void gl_box_muller(uint32_t w1, uint32_t w2, float mean, float std, float *z0, float *z1) {
    const float u1 = ((float)w1 + 0.5f) * (1.0f / 4294967296.0f);
    const float rad = std * sqrtf(-2.0f * gl_logf_poly(u1));
    const uint32_t k = w2 >> 30;
    const float t = ((float)((w2 >> 8) & 0x3fffffu) * (1.0f / 4194304.0f) - 0.5f) * 1.5707963267948966f;
    const float z = t * t;
    const float s = ((-1.9515295891e-4f * z + 8.3321608736e-3f) * z - 1.6666654611e-1f) * z * t + t;
    const float c = ((2.443315711809948e-5f * z - 1.388731625493765e-3f) * z + 4.166664568298827e-2f) * z * z -
                    0.5f * z + 1.0f;
    /* (cos, sin) of k pi/2 + t: rotate (c, s) by k quarter turns */
    const float cx = (k & 1u) ? -s : c, sx = (k & 1u) ? c : s;
    *z0 = mean + rad * ((k & 2u) ? -cx : cx);
    *z1 = mean + rad * ((k & 2u) ? -sx : sx);
}

/* Normal fills, GL_NBATCH blocks per iteration: pairs (words 0, 1) and (2, 3)
 * of each block, computed lane-parallel on the planar words, then
 * interleaved (element 4l + q of the batch from block l).  Box-Muller is
 * a chain of dependent multiply-adds: four Philox batches give the
 * out-of-order core four independent chains (one batch left it waiting on
 * latency, ~6 cycles a normal). */
#define GL_NBATCH (4 * GL_BATCH)
#if defined(__AVX512F__) && defined(__GNUC__) && !defined(__clang__)
/* 16-float vectors (GCC prefers 8 on AVX-512): half the instructions for the same chains */
__attribute__((target("prefer-vector-width=512")))
#endif
static void gl_normal_range(void *vp, int64_t b0, int64_t b1) {
    const gl_fill_job *j = vp;
    uint32_t c0[GL_NBATCH], c1[GL_NBATCH], c2[GL_NBATCH], c3[GL_NBATCH];
    float z0[GL_NBATCH], z1[GL_NBATCH], z2[GL_NBATCH], z3[GL_NBATCH], v[GL_NBATCH * 4];
    for (int64_t blk = b0; blk < b1; blk += GL_NBATCH) {
        for (int q = 0; q < GL_NBATCH; q += GL_BATCH)
            gl_philox_lanes(j->seed, j->draw, (uint64_t)(blk + q), c0 + q, c1 + q, c2 + q, c3 + q);
        for (int l = 0; l < GL_NBATCH; l++) gl_box_muller(c0[l], c1[l], j->a, j->b, &z0[l], &z1[l]);
        for (int l = 0; l < GL_NBATCH; l++) gl_box_muller(c2[l], c3[l], j->a, j->b, &z2[l], &z3[l]);
        for (int l = 0; l < GL_NBATCH; l++) {
            v[4 * l + 0] = z0[l];
            v[4 * l + 1] = z1[l];
            v[4 * l + 2] = z2[l];
            v[4 * l + 3] = z3[l];
        }
        /* the last batch may run past b1 and n: copy only what is ours */
        int64_t base = blk * 4, stop = (blk + GL_NBATCH < b1 ? blk + GL_NBATCH : b1) * 4;
        if (stop > j->n) stop = j->n;
        memcpy(j->out + base, v, sizeof(float) * (size_t)(stop - base));
    }
}

static void gl_fill_range(void *vp, int64_t b0, int64_t b1) {
    const gl_fill_job *j = vp;
    const float a = j->a, b = j->b;
    uint32_t w[GL_BATCH * 4];
    float v[GL_BATCH * 4];
    for (int64_t blk = b0; blk < b1; blk += GL_BATCH) {
        gl_philox_batch(j->seed, j->draw, (uint64_t)blk, w);
        switch (j->kind) {
        case GL_FILL_UNIFORM: {
            const float width = b - a;
            for (int q = 0; q < GL_BATCH * 4; q++) v[q] = a + width * ((float)(w[q] >> 8) * GL_U24);
            /* rounding can reach hi; keep the interval half-open */
            for (int q = 0; q < GL_BATCH * 4; q++)
                if (v[q] >= b && b > a) v[q] = nextafterf(b, a);
            break;
        }
        case GL_FILL_NORMAL:
            break; /* gl_normal_range */
        case GL_FILL_DROPOUT:
            for (int q = 0; q < GL_BATCH * 4; q++) v[q] = ((float)(w[q] >> 8) * GL_U24 < a) ? 0.0f : b;
            break;
        case GL_FILL_BERNOULLI:
            break; /* needs the input: below, over exactly this batch's elements */
        }
        /* the last batch may run past b1 and n: copy only what is ours */
        int64_t base = blk * 4, stop = (blk + GL_BATCH < b1 ? blk + GL_BATCH : b1) * 4;
        if (stop > j->n) stop = j->n;
        if (j->kind == GL_FILL_BERNOULLI) {
            /* u < p: never for p <= 0, always for p >= 1 (u < 1), false for NaN */
            for (int64_t i = base; i < stop; i++) {
                const float p = j->in[i], u = (float)(w[i - base] >> 8) * GL_U24;
                v[i - base] = p != p ? p : (u < p ? 1.0f : 0.0f);
            }
        }
        memcpy(j->out + base, v, sizeof(float) * (size_t)(stop - base));
    }
}

static void gl_fill(gl_rng *r, gl_pool *pool, gl_fill_job *j, int64_t min_blocks) {
    j->seed = r->seed;
    j->draw = r->counter++;
    if (j->n <= 0) return;
    gl_parallel_for(pool, (j->n + 3) / 4, min_blocks, j->kind == GL_FILL_NORMAL ? gl_normal_range : gl_fill_range, j);
}

void gl_rng_uniform(gl_rng *r, gl_pool *pool, float *out, int64_t n, float lo, float hi) {
    gl_fill_job j = {GL_FILL_UNIFORM, 0, 0, out, n, lo, hi, NULL};
    gl_fill(r, pool, &j, 4096);
}

void gl_rng_normal(gl_rng *r, gl_pool *pool, float *out, int64_t n, float mean, float std) {
    gl_fill_job j = {GL_FILL_NORMAL, 0, 0, out, n, mean, std, NULL};
    gl_fill(r, pool, &j, 1024);
}

void gl_rng_dropout(gl_rng *r, gl_pool *pool, float *out, int64_t n, float p) {
    /* p >= 1 drops everything (no infinite scale); p <= 0 keeps everything */
    float scale = (p >= 1.0f) ? 0.0f : 1.0f / (1.0f - (p > 0.0f ? p : 0.0f));
    gl_fill_job j = {GL_FILL_DROPOUT, 0, 0, out, n, p, scale, NULL};
    gl_fill(r, pool, &j, 4096);
}

void gl_rng_bernoulli(gl_rng *r, gl_pool *pool, const float *prob, float *out, int64_t n) {
    gl_fill_job j = {GL_FILL_BERNOULLI, 0, 0, out, n, 0.0f, 0.0f, prob};
    gl_fill(r, pool, &j, 4096);
}

/* Element i of a u64 draw: words 2*(i%2), 2*(i%2)+1 of block i/2. */
static inline uint64_t gl_u64_at(uint64_t seed, uint64_t draw, gl_u32x4 *cache, int64_t *cached, int64_t i) {
    int64_t blk = i >> 1;
    if (blk != *cached) {
        *cache = gl_philox(seed, draw, (uint64_t)blk);
        *cached = blk;
    }
    int q = (int)(i & 1) * 2;
    return ((uint64_t)cache->v[q + 1] << 32) | cache->v[q];
}

void gl_rng_u64(gl_rng *r, uint64_t *out, int64_t n) {
    uint64_t draw = r->counter++;
    gl_u32x4 cache;
    int64_t cached = -1;
    for (int64_t i = 0; i < n; i++) out[i] = gl_u64_at(r->seed, draw, &cache, &cached, i);
}

/* High 64 bits of a*b, portable (no __int128). */
static inline uint64_t gl_mulhi64(uint64_t a, uint64_t b) {
    uint64_t al = (uint32_t)a, ah = a >> 32, bl = (uint32_t)b, bh = b >> 32;
    uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
    uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;
    return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

void gl_rng_shuffle(gl_rng *r, int64_t *idx, int64_t n) {
    uint64_t draw = r->counter++;
    gl_u32x4 cache;
    int64_t cached = -1;
    /* step t swaps position i = n-1-t with j uniform in [0, i] (Lemire's
     * multiply-high reduction; bias < (i+1)/2^64) */
    for (int64_t i = n - 1, t = 0; i > 0; i--, t++) {
        uint64_t u = gl_u64_at(r->seed, draw, &cache, &cached, t);
        int64_t j = (int64_t)gl_mulhi64(u, (uint64_t)i + 1);
        int64_t tmp = idx[i];
        idx[i] = idx[j];
        idx[j] = tmp;
    }
}
