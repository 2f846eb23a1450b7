/* gl_pool.h - the library's own thread pool (elementwise ops, reductions, im2col).
 *
 * One owner of parallelism per op: kernels either split work over this pool
 * or call (threaded) OpenBLAS from the calling thread, never both nested.
 * Idle workers sleep, so they do not steal cores from OpenBLAS. */
#ifndef GL_POOL_H
#define GL_POOL_H

#include <stdint.h>
#include "gl_status.h"

typedef struct gl_pool gl_pool;

/* nthreads >= 1 counts the calling thread (nthreads - 1 workers are started). */
gl_status gl_pool_new(int nthreads, gl_pool **out, gl_error *err);
void gl_pool_free(gl_pool *p);
int gl_pool_threads(const gl_pool *p);
/* Restart with a new size. OpenBLAS is kept single-threaded: the pool owns
 * all parallelism and splits large GEMMs itself (gl_k_matmul.c). */
gl_status gl_pool_set_threads(gl_pool *p, int nthreads, gl_error *err);

/* fn(arg, begin, end) over [0, n) split into at most nthreads contiguous,
 * equal ranges (fixed by n and nthreads only).  Runs inline when p is NULL,
 * has one thread, or n < min_per_thread * 2.  Blocks until all ranges finish. */
typedef void (*gl_range_fn)(void *arg, int64_t begin, int64_t end);
void gl_parallel_for(gl_pool *p, int64_t n, int64_t min_per_thread, gl_range_fn fn, void *arg);

#endif
