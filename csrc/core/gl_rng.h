/* gl_rng.h - seeded, counter-based random numbers (Philox4x32-10).
 *
 * Element i of the k-th draw is a pure function of (seed, k, i), so a fill
 * gives the same bits whatever the thread count or chunking, and the whole
 * state is two integers: easy to save in a checkpoint and restore. */
#ifndef GL_RNG_H
#define GL_RNG_H

#include <stdint.h>
#include "gl_pool.h"

typedef struct gl_rng {
    uint64_t seed;
    uint64_t counter;   /* number of draws made so far */
} gl_rng;

void gl_rng_seed(gl_rng *r, uint64_t seed);

/* Each fill consumes one draw (counter += 1). pool may be NULL. */
void gl_rng_uniform(gl_rng *r, gl_pool *pool, float *out, int64_t n, float lo, float hi);   /* [lo, hi) */
void gl_rng_normal(gl_rng *r, gl_pool *pool, float *out, int64_t n, float mean, float std);
void gl_rng_dropout(gl_rng *r, gl_pool *pool, float *out, int64_t n, float p);  /* 0 or 1/(1-p) */
/* out[i] = 1 with probability prob[i] (clamped to [0, 1]: u < prob[i] for a
 * uniform u in [0, 1) on a 2^-24 grid), else 0; NaN where prob[i] is NaN.
 * out may be prob itself (each element is read before it is written). */
void gl_rng_bernoulli(gl_rng *r, gl_pool *pool, const float *prob, float *out, int64_t n);
/* n uniformly random 64-bit integers (one draw). */
void gl_rng_u64(gl_rng *r, uint64_t *out, int64_t n);
/* In-place Fisher-Yates shuffle of idx[0..n) (one draw). */
void gl_rng_shuffle(gl_rng *r, int64_t *idx, int64_t n);

#endif
