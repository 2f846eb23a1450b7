/* gl_rng.c - Philox4x32-10 counter-based random numbers.
 *
 * Philox block b of draw k is philox(key = seed, counter = (b, k)): four
 * 32-bit words.  Element i of a fill uses block i / 4, so every element is a
 * pure function of (seed, k, i); threads split the blocks, never the stream,
 * which makes fills bit-identical for any thread count. */
#include "gl_rng.h"

#include <math.h>
#include <string.h>

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

/* Philox for blocks b0 .. b0+GL_BATCH-1, lane-parallel so that the 32x32->64
 * multiplies vectorise; word q of block b0+l lands in w[l*4+q]. */
#define GL_BATCH 16
static void gl_philox_batch(uint64_t seed, uint64_t draw, uint64_t b0, uint32_t *restrict w) {
    uint32_t c0[GL_BATCH], c1[GL_BATCH], c2[GL_BATCH], c3[GL_BATCH];
    for (int l = 0; l < GL_BATCH; l++) {
        uint64_t b = b0 + (uint64_t)l;
        c0[l] = (uint32_t)b;
        c1[l] = (uint32_t)(b >> 32);
        c2[l] = (uint32_t)draw;
        c3[l] = (uint32_t)(draw >> 32);
    }
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
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
    for (int l = 0; l < GL_BATCH; l++) {
        w[l * 4 + 0] = c0[l];
        w[l * 4 + 1] = c1[l];
        w[l * 4 + 2] = c2[l];
        w[l * 4 + 3] = c3[l];
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
            for (int q = 0; q < GL_BATCH * 4; q += 2) {
                /* u1 in (0, 1]: small words keep full precision in float, so
                 * log(u1) is finite and tails reach ~6.7 sigma */
                float u1 = ((float)w[q] + 0.5f) * (1.0f / 4294967296.0f);
                float th = (float)(w[q + 1] >> 8) * (6.2831853f * GL_U24);
                float rad = sqrtf(-2.0f * logf(u1));
                v[q] = a + b * (rad * cosf(th));
                v[q + 1] = a + b * (rad * sinf(th));
            }
            break;
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
    gl_parallel_for(pool, (j->n + 3) / 4, min_blocks, gl_fill_range, j);
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
