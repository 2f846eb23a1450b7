/* gl_pool.c - persistent worker threads that sleep when idle.
 *
 * A job is published under the mutex with a new generation number; workers
 * poll the generation for GL_POOL_SPIN_NS (back-to-back ops) and then sleep on
 * a condition variable, so an idle pool costs no CPU and leaves the cores to
 * OpenBLAS.  The caller polls for the workers' completion the same way.  All
 * state lives in the struct: no globals. */
#include "gl_pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "../ops/gl_blas.h"

/* How long an idle thread polls before it sleeps.  Waking a sleeping thread
 * costs tens of microseconds (on a VM, an IPI to a halted vCPU), paid on the
 * critical path of the next loop; a DCGAN training step runs ~125 parallel
 * loops, most of them less than this apart.  With 30 us (the old 2000
 * pauses) the workers slept between phases and the 2-thread step was ~10 %
 * slower. */
#define GL_POOL_SPIN_NS 300000

static int64_t gl_pool_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static inline void gl_pool_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    for (int k = 0; k < 32; k++) __builtin_ia32_pause();
#endif
}

typedef struct gl_worker {
    gl_pool *pool;
    int index; /* 1..nthreads-1; the caller is range 0 */
} gl_worker;

struct gl_pool {
    int nthreads;  /* including the caller */
    int nworkers;  /* threads actually running */
    pthread_t *threads;
    gl_worker *workers;

    pthread_mutex_t mu;
    pthread_cond_t wake;  /* new job or stop */
    pthread_cond_t done;  /* pending reached 0 */
    atomic_ullong gen;    /* bumped once per job (under mu) */
    int stop;
    atomic_int pending;   /* workers still running the current job */
    atomic_flag busy;     /* a parallel_for is in flight: nested calls run inline */

    /* current job (written under mu) */
    gl_range_fn fn;
    void *arg;
    int64_t n;
    int nparts;
};

/* Range k of [0, n) split into parts: sizes differ by at most one. */
static void gl_pool_range(int64_t n, int parts, int k, int64_t *b, int64_t *e) {
    int64_t q = n / parts, r = n % parts;
    *b = q * k + (k < r ? k : r);
    *e = *b + q + (k < r ? 1 : 0);
}

/* Polls until gen differs from seen or GL_POOL_SPIN_NS pass. */
static void gl_pool_spin_gen(gl_pool *p, unsigned long long seen) {
    const int64_t t0 = gl_pool_ns();
    while (atomic_load_explicit(&p->gen, memory_order_acquire) == seen && gl_pool_ns() - t0 < GL_POOL_SPIN_NS)
        gl_pool_pause();
}

/* Polls until pending reaches 0 or GL_POOL_SPIN_NS pass. */
static void gl_pool_spin_pending(gl_pool *p) {
    const int64_t t0 = gl_pool_ns();
    while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0 && gl_pool_ns() - t0 < GL_POOL_SPIN_NS)
        gl_pool_pause();
}

static void *gl_pool_main(void *vp) {
    gl_worker *w = vp;
    gl_pool *p = w->pool;
    unsigned long long seen = 0;
    for (;;) {
        gl_pool_spin_gen(p, seen);
        pthread_mutex_lock(&p->mu);
        while (!p->stop && atomic_load_explicit(&p->gen, memory_order_relaxed) == seen)
            pthread_cond_wait(&p->wake, &p->mu);
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        seen = atomic_load_explicit(&p->gen, memory_order_relaxed);
        gl_range_fn fn = p->fn;
        void *arg = p->arg;
        int64_t n = p->n;
        int parts = p->nparts;
        pthread_mutex_unlock(&p->mu);

        if (w->index < parts) {
            int64_t b, e;
            gl_pool_range(n, parts, w->index, &b, &e);
            if (b < e) fn(arg, b, e);
            /* the last worker out wakes the caller in case it went to sleep;
             * the mutex orders this after the caller's check of pending */
            if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
                pthread_mutex_lock(&p->mu);
                pthread_cond_signal(&p->done);
                pthread_mutex_unlock(&p->mu);
            }
        }
    }
}

static void gl_pool_stop_workers(gl_pool *p) {
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int k = 0; k < p->nworkers; k++) pthread_join(p->threads[k], NULL);
    /* new workers start with seen = 0: they must not rerun the last job */
    atomic_store(&p->gen, 0);
    gl_free(p->threads);
    gl_free(p->workers);
    p->threads = NULL;
    p->workers = NULL;
    p->nworkers = 0;
    p->nthreads = 1;
    p->stop = 0;
}

/* Starts nthreads - 1 workers; on failure keeps those that started. */
static gl_status gl_pool_start(gl_pool *p, int nthreads, gl_error *err) {
    int nw = nthreads - 1;
    p->nthreads = 1;
    if (nw == 0) return GL_OK;
    p->threads = gl_malloc(sizeof(pthread_t) * (size_t)nw);
    p->workers = gl_malloc(sizeof(gl_worker) * (size_t)nw);
    if (!p->threads || !p->workers) {
        gl_free(p->threads);
        gl_free(p->workers);
        p->threads = NULL;
        p->workers = NULL;
        return gl_fail(err, GL_ERR_NOMEM, "thread pool: out of memory for %d threads", nthreads);
    }
    for (int k = 0; k < nw; k++) {
        p->workers[k].pool = p;
        p->workers[k].index = k + 1;
        if (pthread_create(&p->threads[k], NULL, gl_pool_main, &p->workers[k]) != 0) {
            p->nthreads = 1 + p->nworkers;
            return gl_fail(err, GL_ERR_NOMEM, "thread pool: could only start %d of %d threads",
                           p->nthreads, nthreads);
        }
        p->nworkers++;
    }
    p->nthreads = nthreads;
    return GL_OK;
}

gl_status gl_pool_new(int nthreads, gl_pool **out, gl_error *err) {
    *out = NULL;
    if (nthreads < 1 || nthreads > 1024)
        return gl_fail(err, GL_ERR_VALUE, "number of threads must be in [1, 1024], got %d", nthreads);
    gl_pool *p = gl_calloc(1, sizeof *p);
    if (!p) return gl_fail(err, GL_ERR_NOMEM, "thread pool: out of memory");
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        gl_free(p);
        return gl_fail(err, GL_ERR_NOMEM, "thread pool: cannot create mutex");
    }
    if (pthread_cond_init(&p->wake, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        gl_free(p);
        return gl_fail(err, GL_ERR_NOMEM, "thread pool: cannot create condition variable");
    }
    if (pthread_cond_init(&p->done, NULL) != 0) {
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->mu);
        gl_free(p);
        return gl_fail(err, GL_ERR_NOMEM, "thread pool: cannot create condition variable");
    }
    atomic_init(&p->gen, 0);
    atomic_init(&p->pending, 0);
    atomic_flag_clear(&p->busy);
    gl_blas_set_num_threads(1); /* the pool owns parallelism, GEMMs included */
    gl_status st = gl_pool_start(p, nthreads, err);
    if (st != GL_OK) {
        gl_pool_free(p);
        return st;
    }
    *out = p;
    return GL_OK;
}

void gl_pool_free(gl_pool *p) {
    if (!p) return;
    gl_pool_stop_workers(p);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mu);
    gl_free(p);
}

int gl_pool_threads(const gl_pool *p) { return p ? p->nthreads : 1; }

gl_status gl_pool_set_threads(gl_pool *p, int nthreads, gl_error *err) {
    if (!p) return gl_fail(err, GL_ERR_VALUE, "thread pool is NULL");
    if (nthreads < 1 || nthreads > 1024)
        return gl_fail(err, GL_ERR_VALUE, "number of threads must be in [1, 1024], got %d", nthreads);
    if (nthreads != p->nthreads) {
        gl_pool_stop_workers(p);
        gl_status st = gl_pool_start(p, nthreads, err);
        if (st != GL_OK) return st;
    }
    /* OpenBLAS stays single-threaded: the pool splits large GEMMs itself
     * (see gl_k_matmul.c), so there is one owner of parallelism */
    gl_blas_set_num_threads(1);
    return GL_OK;
}

void gl_parallel_for(gl_pool *p, int64_t n, int64_t min_per_thread, gl_range_fn fn, void *arg) {
    if (n <= 0) return;
    if (min_per_thread < 1) min_per_thread = 1;
    int parts = p ? p->nthreads : 1;
    if (parts > n) parts = (int)n;
    /* Inline: no pool, one thread, small n, or a nested/concurrent call. */
    if (parts <= 1 || n < 2 * min_per_thread || atomic_flag_test_and_set(&p->busy)) {
        fn(arg, 0, n);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->arg = arg;
    p->n = n;
    p->nparts = parts;
    atomic_store_explicit(&p->pending, parts - 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);

    int64_t b, e;
    gl_pool_range(n, parts, 0, &b, &e);
    if (b < e) fn(arg, b, e);

    /* Spin first: the ranges are equal, so workers usually finish within
     * microseconds of the caller, far sooner than a futex wake-up. */
    gl_pool_spin_pending(p);
    if (atomic_load_explicit(&p->pending, memory_order_acquire) > 0) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0) pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
    atomic_flag_clear(&p->busy);
}
