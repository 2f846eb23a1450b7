/* test_kernels.c - forward kernels, thread pool and RNG against naive
 * double-precision references.  Nodes are built by hand (no gl_graph.c
 * needed).  Prints "N passed, M failed"; exit status is nonzero on failure. */
#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "../core/gl_pool.h"
#include "../core/gl_rng.h"
#include "../ops/gl_kernels.h"

static int g_pass, g_fail;

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        if (cond) {                                                       \
            g_pass++;                                                     \
        } else {                                                          \
            g_fail++;                                                     \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                   \
            printf(__VA_ARGS__);                                          \
            printf("\n");                                                 \
        }                                                                 \
    } while (0)

/* The kernels name ops in messages; gl_graph.c provides the real table when
 * linked, this fallback lets the test build without it. */
__attribute__((weak)) const char *gl_op_name(gl_op op) {
    (void)op;
    return "op";
}

/* ---- helpers ---- */

static uint64_t g_seed = 0x9E3779B97F4A7C15ull;
static double urand(void) { /* splitmix64 -> [0, 1) */
    uint64_t z = (g_seed += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}
static void fill_rand(float *x, int64_t n, double lo, double hi) {
    for (int64_t i = 0; i < n; i++) x[i] = (float)(lo + (hi - lo) * urand());
}
static gl_shape shp(int nd, int64_t a, int64_t b, int64_t c, int64_t d) {
    int64_t v[4] = {a, b, c, d};
    return gl_shape_make(nd, v);
}
static const char *sstr(const gl_shape *s) {
    static char buf[4][96];
    static int k;
    k = (k + 1) % 4;
    return gl_shape_str(s, buf[k], sizeof buf[k]);
}
static gl_node mknode(gl_op op, int nin, gl_shape s, float f0, float f1, int64_t i0, int64_t i1) {
    gl_node nd;
    memset(&nd, 0, sizeof nd);
    nd.op = op;
    nd.nin = nin;
    for (int k = 0; k < nin; k++) nd.in[k] = k;
    nd.shape = s;
    nd.f[0] = f0;
    nd.f[1] = f1;
    nd.i[0] = i0;
    nd.i[1] = i1;
    return nd;
}
static gl_status run(const gl_node *nd, float *out, int nin, const float *const *in, const gl_shape *const *sh,
                     gl_pool *pool, gl_rng *rng, gl_error *err) {
    gl_kernel_args a;
    memset(&a, 0, sizeof a);
    a.node = nd;
    a.out = out;
    for (int k = 0; k < nin; k++) {
        a.in[k] = in[k];
        a.in_shape[k] = sh[k];
    }
    a.pool = pool;
    a.rng = rng;
    gl_error_clear(err);
    return gl_kernel_forward(&a, err);
}
/* max |out - ref| / (atol + rtol |ref|) <= 1, with NaN/inf matched exactly */
static int close_to(const float *out, const double *ref, int64_t n, double rtol, double atol, double *worst) {
    double w = 0;
    int ok = 1;
    for (int64_t i = 0; i < n; i++) {
        double o = out[i], r = ref[i];
        if (isnan(r) || isinf(r)) {
            if (!((isnan(r) && isnan(o)) || (o == r))) ok = 0;
            continue;
        }
        if (!isfinite(o)) { ok = 0; continue; }
        double e = fabs(o - r) / (atol + rtol * fabs(r));
        if (e > w) w = e;
    }
    if (worst) *worst = w;
    return ok && w <= 1.0;
}
/* flat index into `in` (broadcast to `out`) of output element o */
static int64_t bidx(const gl_shape *in, const gl_shape *out, int64_t o) {
    int64_t idx[GL_MAX_DIMS];
    for (int i = out->ndim - 1; i >= 0; i--) { idx[i] = o % out->d[i]; o /= out->d[i]; }
    int64_t f = 0;
    for (int j = 0; j < in->ndim; j++) {
        int i = j + out->ndim - in->ndim;
        int64_t q = (in->d[j] == 1) ? 0 : idx[i];
        f = f * in->d[j] + q;
    }
    return f;
}
static gl_shape bshape(const gl_shape *a, const gl_shape *b) {
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    int64_t d[4];
    for (int i = 0; i < nd; i++) {
        int ia = i - (nd - a->ndim), ib = i - (nd - b->ndim);
        int64_t da = ia >= 0 ? a->d[ia] : 1, db = ib >= 0 ? b->d[ib] : 1;
        d[i] = da == 1 ? db : da;
    }
    return gl_shape_make(nd, d);
}

/* ---- pool ---- */

typedef struct { atomic_int *hits; atomic_int nranges; } cover_arg;
static void cover_fn(void *vp, int64_t b, int64_t e) {
    cover_arg *c = vp;
    atomic_fetch_add(&c->nranges, 1);
    for (int64_t i = b; i < e; i++) atomic_fetch_add(&c->hits[i], 1);
}
typedef struct { gl_pool *p; atomic_int *hits; } nest_arg;
static void nest_fn(void *vp, int64_t b, int64_t e) {
    nest_arg *na = vp;
    for (int64_t i = b; i < e; i++) {
        cover_arg c = {na->hits + i * 10, 0};
        gl_parallel_for(na->p, 10, 1, cover_fn, &c); /* nested: runs inline */
    }
}
static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + 1e-6 * (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static void test_pool(void) {
    gl_error err;
    gl_pool *p = NULL;
    CHECK(gl_pool_new(0, &p, &err) == GL_ERR_VALUE && p == NULL, "pool_new(0) must fail");
    int64_t ns[] = {0, 1, 2, 3, 5, 64, 1001, 100003};
    int ths[] = {1, 2, 3, 4, 7};
    atomic_int *hits = calloc(100003, sizeof *hits);
    for (size_t t = 0; t < sizeof ths / sizeof *ths; t++) {
        CHECK(gl_pool_new(ths[t], &p, &err) == GL_OK, "pool_new(%d): %s", ths[t], err.msg);
        CHECK(gl_pool_threads(p) == ths[t], "threads %d", gl_pool_threads(p));
        for (size_t k = 0; k < sizeof ns / sizeof *ns; k++) {
            for (int rep = 0; rep < 3; rep++) {
                int64_t n = ns[k];
                for (int64_t i = 0; i < n; i++) atomic_store(&hits[i], 0);
                cover_arg c = {hits, 0};
                gl_parallel_for(p, n, 1, cover_fn, &c);
                int ok = 1;
                for (int64_t i = 0; i < n; i++) ok &= atomic_load(&hits[i]) == 1;
                int nr = atomic_load(&c.nranges);
                int want = n == 0 ? 0 : (n < 2 ? 1 : (int)(n < ths[t] ? n : ths[t]));
                CHECK(ok && nr == want, "cover n=%lld threads=%d ranges=%d want %d", (long long)n, ths[t], nr, want);
            }
        }
        /* inline below 2*min_per_thread */
        cover_arg c = {hits, 0};
        gl_parallel_for(p, 100, 50, cover_fn, &c);
        CHECK(atomic_load(&c.nranges) == (ths[t] > 1 ? (ths[t] < 100 ? ths[t] : 100) : 1), "n = 2*min splits");
        c.nranges = 0;
        gl_parallel_for(p, 99, 50, cover_fn, &c);
        CHECK(atomic_load(&c.nranges) == 1, "n < 2*min runs inline");
        gl_pool_free(p);
    }
    /* NULL pool, nested calls, resizing */
    cover_arg c = {hits, 0};
    for (int i = 0; i < 10; i++) atomic_store(&hits[i], 0);
    gl_parallel_for(NULL, 10, 1, cover_fn, &c);
    CHECK(atomic_load(&c.nranges) == 1, "NULL pool runs inline");
    CHECK(gl_pool_new(3, &p, &err) == GL_OK, "pool_new(3)");
    for (int i = 0; i < 1000; i++) atomic_store(&hits[i], 0);
    nest_arg na = {p, hits};
    gl_parallel_for(p, 100, 1, nest_fn, &na);
    int ok = 1;
    for (int i = 0; i < 1000; i++) ok &= atomic_load(&hits[i]) == 1;
    CHECK(ok, "nested parallel_for");
    int sizes[] = {1, 4, 2, 2};
    for (int k = 0; k < 4; k++) {
        CHECK(gl_pool_set_threads(p, sizes[k], &err) == GL_OK && gl_pool_threads(p) == sizes[k], "set_threads(%d)",
              sizes[k]);
        for (int i = 0; i < 1001; i++) atomic_store(&hits[i], 0);
        c.nranges = 0;
        gl_parallel_for(p, 1001, 1, cover_fn, &c);
        ok = 1;
        for (int i = 0; i < 1001; i++) ok &= atomic_load(&hits[i]) == 1;
        CHECK(ok && atomic_load(&c.nranges) == sizes[k], "cover after set_threads(%d)", sizes[k]);
    }
    CHECK(gl_pool_set_threads(p, 0, &err) == GL_ERR_VALUE, "set_threads(0) must fail");
    /* idle workers sleep: little CPU while the caller sleeps */
    CHECK(gl_pool_set_threads(p, 4, &err) == GL_OK, "set_threads(4)");
    gl_parallel_for(p, 1000, 1, cover_fn, &c);
    /* OpenBLAS's own threads spin ~0.1-0.2 s after set_num_threads: let them settle */
    struct timespec ts = {0, 400 * 1000 * 1000};
    nanosleep(&ts, NULL);
    double c0 = cpu_seconds();
    ts.tv_nsec = 300 * 1000 * 1000;
    nanosleep(&ts, NULL);
    double used = cpu_seconds() - c0;
    CHECK(used < 0.05, "idle pool used %.3f s of CPU in 0.3 s", used);
    gl_pool_free(p);
    gl_pool_free(NULL);
    free(hits);
}

/* ---- rng ---- */

static void test_rng(void) {
    gl_error err;
    gl_pool *p2 = NULL;
    CHECK(gl_pool_new(2, &p2, &err) == GL_OK, "pool");
    /* Philox4x32-10 known answers (Random123 kat_vectors): ctr 0, key 0 and
     * ctr = key = all ones.  Block 0 of draw 0 with seed 0 is ctr 0, key 0. */
    gl_rng r;
    uint64_t u[2];
    gl_rng_seed(&r, 0);
    gl_rng_u64(&r, u, 2);
    CHECK(u[0] == ((uint64_t)0xe169c58du << 32 | 0x6627e8d5u) && u[1] == ((uint64_t)0x9b00dbd8u << 32 | 0xbc57ac4cu),
          "philox KAT 0: %016llx %016llx", (unsigned long long)u[0], (unsigned long long)u[1]);
    CHECK(r.counter == 1, "counter after one draw");
    r.seed = ~0ull;
    r.counter = ~0ull; /* draw k = all ones: ctr words 2, 3 all ones; block 0 though */
    gl_rng_u64(&r, u, 2);
    CHECK(r.counter == 0, "counter wraps");

    /* fills use the same Philox words as the u64 stream (fill element i is
     * word i%4 of block i/4; u64 element k is words 2(k%2), 2(k%2)+1 of block k/2) */
    {
        float f[203];
        uint64_t w64[102];
        gl_rng_seed(&r, 99);
        gl_rng_uniform(&r, NULL, f, 203, 0, 1);
        gl_rng_seed(&r, 99);
        gl_rng_u64(&r, w64, 102);
        int same = 1;
        for (int i = 0; i < 203; i++) {
            uint64_t k = w64[2 * (i / 4) + (i % 4) / 2];
            uint32_t word = (i % 2) ? (uint32_t)(k >> 32) : (uint32_t)k;
            same &= f[i] == (float)(word >> 8) * (1.0f / 16777216.0f);
        }
        CHECK(same, "batched fill matches the u64 stream");
    }
    const int64_t n = 1000003;
    float *a = malloc(sizeof(float) * n), *b = malloc(sizeof(float) * n);
    for (int kind = 0; kind < 3; kind++) {
        gl_rng r1, r2;
        gl_rng_seed(&r1, 1234);
        gl_rng_seed(&r2, 1234);
        for (int rep = 0; rep < 2; rep++) {
            if (kind == 0) { gl_rng_uniform(&r1, NULL, a, n, -2, 3); gl_rng_uniform(&r2, p2, b, n, -2, 3); }
            if (kind == 1) { gl_rng_normal(&r1, NULL, a, n, 1.5f, 2); gl_rng_normal(&r2, p2, b, n, 1.5f, 2); }
            if (kind == 2) { gl_rng_dropout(&r1, NULL, a, n, 0.3f); gl_rng_dropout(&r2, p2, b, n, 0.3f); }
            CHECK(memcmp(a, b, sizeof(float) * n) == 0, "kind %d: 1 vs 2 threads differ", kind);
        }
        CHECK(r1.counter == 2 && r2.counter == 2, "counters");
        double s = 0, s2 = 0, mn = 1e30, mx = -1e30;
        for (int64_t i = 0; i < n; i++) { s += a[i]; s2 += (double)a[i] * a[i]; mn = fmin(mn, a[i]); mx = fmax(mx, a[i]); }
        double mean = s / n, sd = sqrt(s2 / n - mean * mean);
        if (kind == 0) {
            CHECK(mn >= -2 && mx < 3, "uniform range [%g, %g]", mn, mx);
            CHECK(fabs(mean - 0.5) < 0.01 && fabs(sd - 5 / sqrt(12.0)) < 0.01, "uniform mean %g sd %g", mean, sd);
        } else if (kind == 1) {
            CHECK(fabs(mean - 1.5) < 0.01 && fabs(sd - 2) < 0.01, "normal mean %g sd %g", mean, sd);
            CHECK(mn > 1.5 - 2 * 7 && mx < 1.5 + 2 * 7, "normal finite tails %g %g", mn, mx);
        } else {
            int64_t zeros = 0, bad = 0;
            for (int64_t i = 0; i < n; i++) { zeros += a[i] == 0; bad += a[i] != 0 && a[i] != 1.0f / 0.7f; }
            CHECK(bad == 0 && fabs((double)zeros / n - 0.3) < 0.005, "dropout zeros %g bad %lld", (double)zeros / n,
                  (long long)bad);
        }
    }
    /* the normal fill is Box-Muller on the words of the u64 stream: element pair
     * (2i, 2i+1) from word pair i, against double-precision libm */
    {
        const int64_t m = 200000;
        gl_rng r1, r2;
        gl_rng_seed(&r1, 4321);
        gl_rng_seed(&r2, 4321);
        uint64_t *u = malloc(sizeof(uint64_t) * (size_t)m);
        gl_rng_u64(&r1, u, m);
        gl_rng_normal(&r2, p2, a, 2 * m, 0.25f, 3);
        double worst = 0;
        for (int64_t i = 0; i < m; i++) {
            const uint32_t w1 = (uint32_t)u[i], w2 = (uint32_t)(u[i] >> 32);
            const double u1 = ((double)(float)w1 + 0.5) / 4294967296.0; /* the float conversion as the fill */
            const double rad = 3 * sqrt(-2 * log(u1));
            const double th = (double)(w2 >> 30) * 1.5707963267948966 +
                              ((double)((w2 >> 8) & 0x3fffffu) / 4194304.0 - 0.5) * 1.5707963267948966;
            const double e0 = fabs(a[2 * i] - (0.25 + rad * cos(th))), e1 = fabs(a[2 * i + 1] - (0.25 + rad * sin(th)));
            const double e = fmax(e0, e1) / fmax(1.0, rad);
            if (e > worst) worst = e;
        }
        CHECK(worst < 2e-6, "normal fill vs double Box-Muller: worst error %g", worst);
        free(u);
    }
    /* element i depends only on (seed, draw, i): a prefix fill matches */
    gl_rng r1, r2;
    gl_rng_seed(&r1, 77);
    gl_rng_seed(&r2, 77);
    gl_rng_normal(&r1, NULL, a, 7, 0, 1);
    gl_rng_normal(&r2, p2, b, 500001, 0, 1);
    CHECK(memcmp(a, b, 7 * sizeof(float)) == 0, "prefix property");
    gl_rng_normal(&r1, NULL, a, 7, 0, 1);
    CHECK(memcmp(a, b, 7 * sizeof(float)) != 0, "next draw differs");
    gl_rng_seed(&r1, 78);
    gl_rng_normal(&r1, NULL, a, 7, 0, 1);
    CHECK(memcmp(a, b, 7 * sizeof(float)) != 0, "other seed differs");
    /* uniform with lo == hi, and degenerate std 0 */
    gl_rng_uniform(&r1, NULL, a, 100, 2, 2);
    int ok = 1;
    for (int i = 0; i < 100; i++) ok &= a[i] == 2;
    CHECK(ok, "uniform lo == hi");
    gl_rng_dropout(&r1, NULL, a, 100, 0);
    ok = 1;
    for (int i = 0; i < 100; i++) ok &= a[i] == 1;
    CHECK(ok, "dropout p = 0 keeps all");

    /* bernoulli: u < p with the uniform fill's words; 1 vs 2 threads and in
     * place (out == prob) give the same bits */
    {
        const int64_t nb = 300001;
        float *pr = malloc(sizeof(float) * nb), *inpl = malloc(sizeof(float) * nb), uni[203];
        CHECK(pr && inpl, "bernoulli buffers");
        if (pr && inpl) {
            for (int64_t i = 0; i < nb; i++) pr[i] = (float)(i % 101) / 100.0f - 0.2f; /* -0.2 .. 0.8 */
            pr[5] = NAN;
            memcpy(inpl, pr, sizeof(float) * nb);
            gl_rng_seed(&r1, 42);
            gl_rng_seed(&r2, 42);
            gl_rng_bernoulli(&r1, NULL, pr, a, nb);
            gl_rng_bernoulli(&r2, p2, inpl, inpl, nb);
            int same = r1.counter == 1 && r2.counter == 1;
            for (int64_t i = 0; same && i < nb; i++) same = a[i] == inpl[i] || (a[i] != a[i] && inpl[i] != inpl[i]);
            CHECK(same, "bernoulli: 1 vs 2 threads, and in place, give the same bits");
            gl_rng_seed(&r1, 42);
            gl_rng_uniform(&r1, NULL, uni, 203, 0, 1);
            ok = a[5] != a[5];
            for (int i = 0; i < 203; i++)
                if (i != 5) ok &= a[i] == (uni[i] < pr[i] ? 1.0f : 0.0f);
            CHECK(ok, "bernoulli: element i is uniform[i] < p[i] (NaN p -> NaN)");
            int64_t ones = 0, count = 0;
            for (int64_t i = 0; i < nb; i++)
                if (i % 101 == 70) { ones += a[i] == 1.0f; count++; } /* p = 0.5 */
            CHECK(fabs((double)ones / count - 0.5) < 5 * 0.5 / sqrt((double)count), "bernoulli: p = 0.5 frequency %g",
                  (double)ones / count);
        }
        free(pr);
        free(inpl);
    }

    /* shuffle: a permutation, deterministic, roughly uniform */
    int64_t idx[100], idx2[100];
    for (int i = 0; i < 100; i++) idx[i] = idx2[i] = i;
    gl_rng_seed(&r1, 5);
    gl_rng_seed(&r2, 5);
    gl_rng_shuffle(&r1, idx, 100);
    gl_rng_shuffle(&r2, idx2, 100);
    int seen[100] = {0}, moved = 0;
    for (int i = 0; i < 100; i++) { seen[idx[i]]++; moved += idx[i] != i; }
    ok = 1;
    for (int i = 0; i < 100; i++) ok &= seen[i] == 1;
    CHECK(ok && moved > 80, "shuffle is a permutation (moved %d)", moved);
    CHECK(memcmp(idx, idx2, sizeof idx) == 0, "shuffle deterministic");
    int counts[4][4] = {{0}};
    gl_rng_seed(&r1, 9);
    for (int t = 0; t < 40000; t++) {
        int64_t v[4] = {0, 1, 2, 3};
        gl_rng_shuffle(&r1, v, 4);
        for (int i = 0; i < 4; i++) counts[i][v[i]]++;
    }
    ok = 1;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) ok &= abs(counts[i][j] - 10000) < 400;
    CHECK(ok, "shuffle position frequencies uniform");
    gl_rng_shuffle(&r1, idx, 0);
    gl_rng_shuffle(&r1, idx, 1);
    free(a);
    free(b);
    gl_pool_free(p2);
}

/* ---- unary ---- */

static double ref_unary(gl_op op, double x, double f0, double f1) {
    switch (op) {
    case GL_OP_NEG: return -x;
    case GL_OP_SCALE: return f0 * x + f1;
    case GL_OP_EXP: return exp(x);
    case GL_OP_LOG: return log(x);
    case GL_OP_SQRT: return sqrt(x);
    case GL_OP_SQUARE: return x * x;
    case GL_OP_ABS: return fabs(x);
    case GL_OP_RELU: return x > 0 ? x : 0;
    case GL_OP_LEAKY_RELU: return x > 0 ? x : f0 * x;
    case GL_OP_TANH: return tanh(x);
    case GL_OP_SIGMOID: return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));
    case GL_OP_SOFTPLUS: return fmax(x, 0) + log1p(exp(-fabs(x)));
    case GL_OP_LOG_SIGMOID: return fmin(x, 0) - log1p(exp(-fabs(x)));
    case GL_OP_CLIP: return fmin(fmax(x, f0), f1);
    case GL_OP_SIGN: return x > 0 ? 1 : (x < 0 ? -1 : 0);
    default: return NAN;
    }
}

static void test_unary(gl_pool *pool) {
    gl_error err;
    gl_op ops[] = {GL_OP_NEG, GL_OP_SCALE, GL_OP_EXP, GL_OP_LOG, GL_OP_SQRT, GL_OP_SQUARE, GL_OP_ABS, GL_OP_RELU,
                   GL_OP_LEAKY_RELU, GL_OP_TANH, GL_OP_SIGMOID, GL_OP_SOFTPLUS, GL_OP_LOG_SIGMOID, GL_OP_CLIP,
                   GL_OP_SIGN};
    gl_shape shapes[] = {shp(0, 1, 1, 1, 1), shp(1, 13, 0, 0, 0), shp(2, 7, 5, 0, 0), shp(4, 2, 3, 5, 7),
                         shp(2, 300, 229, 0, 0)};
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
        int64_t n = gl_shape_numel(&shapes[si]);
        float *x = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n), *y1 = malloc(sizeof(float) * n);
        double *ref = malloc(sizeof(double) * n);
        for (size_t k = 0; k < sizeof ops / sizeof *ops; k++) {
            gl_op op = ops[k];
            int positive = op == GL_OP_LOG || op == GL_OP_SQRT;
            fill_rand(x, n, positive ? 0.01 : -4, 4);
            if (n > 4 && !positive) { x[0] = 0; x[1] = -0.5f; x[2] = 0.5f; } /* clip bounds, sign 0 */
            float f0 = op == GL_OP_CLIP ? -0.5f : (op == GL_OP_SCALE ? 2.5f : 0.2f);
            float f1 = op == GL_OP_CLIP ? 0.5f : -1.25f;
            gl_node nd = mknode(op, 1, shapes[si], f0, f1, 0, 0);
            const float *in[1] = {x};
            const gl_shape *sh[1] = {&shapes[si]};
            gl_status st = run(&nd, y, 1, in, sh, pool, NULL, &err);
            for (int64_t i = 0; i < n; i++) ref[i] = ref_unary(op, x[i], f0, f1);
            double w = 0;
            CHECK(st == GL_OK && close_to(y, ref, n, 2e-6, 1e-7, &w), "unary op %d shape %s (err %g) %s", op,
                  sstr(&shapes[si]), w, err.msg);
            st = run(&nd, y1, 1, in, sh, NULL, NULL, &err);
            CHECK(st == GL_OK && memcmp(y, y1, sizeof(float) * n) == 0, "unary op %d pool vs none", op);
        }
        free(x); free(y); free(y1); free(ref);
    }
    /* extremes: stable sigmoid / softplus / log-sigmoid; log of negative is NaN */
    float x[] = {-1000, -100, -30, -1e-3f, 0, 1e-3f, 30, 100, 1000};
    int n = sizeof x / sizeof *x;
    gl_shape s = shp(1, n, 0, 0, 0);
    gl_op ex[] = {GL_OP_SIGMOID, GL_OP_SOFTPLUS, GL_OP_LOG_SIGMOID, GL_OP_TANH};
    for (int k = 0; k < 4; k++) {
        float y[16];
        double ref[16];
        gl_node nd = mknode(ex[k], 1, s, 0, 0, 0, 0);
        const float *in[1] = {x};
        const gl_shape *sh[1] = {&s};
        gl_status st = run(&nd, y, 1, in, sh, NULL, NULL, &err);
        for (int i = 0; i < n; i++) ref[i] = ref_unary(ex[k], x[i], 0, 0);
        double w = 0;
        CHECK(st == GL_OK && close_to(y, ref, n, 2e-6, 1e-30, &w), "extreme op %d (err %g)", ex[k], w);
    }
    float neg[2] = {-1, 0}, out[2];
    gl_shape s2 = shp(1, 2, 0, 0, 0);
    gl_node nd = mknode(GL_OP_LOG, 1, s2, 0, 0, 0, 0);
    const float *in[1] = {neg};
    const gl_shape *sh[1] = {&s2};
    CHECK(run(&nd, out, 1, in, sh, NULL, NULL, &err) == GL_OK && isnan(out[0]) && isinf(out[1]) && out[1] < 0,
          "log(-1) = nan, log(0) = -inf");
    gl_shape s3 = shp(1, 3, 0, 0, 0);
    const gl_shape *sh3[1] = {&s3};
    CHECK(run(&nd, out, 1, in, sh3, NULL, NULL, &err) == GL_ERR_VALUE, "unary numel mismatch refused");
    /* NaN propagates through relu / clip / sign */
    float nanx[3] = {NAN, NAN, NAN}, o3[3];
    gl_op np[] = {GL_OP_RELU, GL_OP_CLIP, GL_OP_SIGN};
    for (int k = 0; k < 3; k++) {
        gl_node n2 = mknode(np[k], 1, s3, -1, 1, 0, 0);
        const float *in3[1] = {nanx};
        CHECK(run(&n2, o3, 1, in3, sh3, NULL, NULL, &err) == GL_OK && isnan(o3[0]), "NaN through op %d", np[k]);
    }
}


/* |y - r| in units of the last place of r rounded to float (the spacing
 * above |rf|; 2^-149 at 0, 2^104 at FLT_MAX).  An r beyond float range must
 * come out as that infinity (an infinite y otherwise counts as 2^128); a NaN
 * r needs a NaN y. */
static double ulp_err(float y, double r) {
    if (isnan(r)) return isnan(y) ? 0.0 : INFINITY;
    if (isnan(y)) return INFINITY;
    const float rf = (float)r;
    if (isinf(rf)) return y == rf ? 0.0 : fabs((double)y - r) / 0x1p104;
    const float a = fabsf(rf);
    const double ulp = a == FLT_MAX ? 0x1p104 : (double)(nextafterf(a, INFINITY) - a);
    const double yd = isinf(y) ? copysign(0x1p128, y) : (double)y;
    return fabs(yd - r) / ulp;
}

static double ref_sigmoid(double x) { return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)); }
static double ref_softplus(double x) { return fmax(x, 0) + log1p(exp(-fabs(x))); }
static double ref_log_sigmoid(double x) { return fmin(x, 0) - log1p(exp(-fabs(x))); }

/* The op against ref (float64) on every stride-th float of [0, inf) and their
 * negatives (17M inputs at stride 251): within bound ulp, and with odd set,
 * op(-x) = -op(x) to the sign bit.  Returns the worst error. */
static double sweep_ulp(gl_op op, double (*ref)(double), double bound, const char *name, uint32_t stride, int odd) {
    gl_error err;
    enum { B = 1 << 16 };
    float *x = malloc(sizeof(float) * 2 * B), *y = malloc(sizeof(float) * 2 * B);
    const float *in[1] = {x};
    double worst = 0;
    float wx = 0;
    int ok = 1;
    for (uint64_t b0 = 0; b0 < 0x7f800000u && ok; b0 += (uint64_t)stride * B) {
        int n = 0;
        for (uint64_t b = b0; b < b0 + (uint64_t)stride * B && b < 0x7f800000u; b += stride, n++) {
            uint32_t u = (uint32_t)b;
            memcpy(&x[2 * n], &u, sizeof u);
            x[2 * n + 1] = -x[2 * n];
        }
        gl_shape sn = shp(1, 2 * n, 0, 0, 0);
        gl_node nn = mknode(op, 1, sn, 0, 0, 0, 0);
        const gl_shape *shn[1] = {&sn};
        ok &= run(&nn, y, 1, in, shn, NULL, NULL, &err) == GL_OK;
        for (int i = 0; i < 2 * n && ok; i++) {
            const double e = ulp_err(y[i], ref((double)x[i]));
            if (e > worst) { worst = e; wx = x[i]; }
        }
        for (int i = 0; odd && i < n && ok; i++)
            ok &= y[2 * i + 1] == -y[2 * i] && signbit(y[2 * i + 1]) != signbit(y[2 * i]);
    }
    CHECK(ok && worst <= bound, "%s within %g ulp over the float range (worst %.3f ulp at %.9g)", name, bound, worst,
          (double)wx);
    printf("sweep %-11s worst %.3f ulp (bound %g) at %.9g\n", name, worst, bound, (double)wx);
    free(x);
    free(y);
    return worst;
}

/* y = op(x) exactly (NaN: any NaN; zeros: with their sign). */
static void check_exact(gl_op op, const float *x, const float *want, int n, const char *name) {
    gl_error err;
    float y[16];
    gl_shape s = shp(1, n, 0, 0, 0);
    const gl_shape *sh[1] = {&s};
    const float *in[1] = {x};
    gl_node nd = mknode(op, 1, s, 0, 0, 0, 0);
    int ok = run(&nd, y, 1, in, sh, NULL, NULL, &err) == GL_OK;
    for (int i = 0; i < n && ok; i++) {
        int same = isnan(want[i]) ? isnan(y[i]) : (y[i] == want[i] && signbit(y[i]) == signbit(want[i]));
        CHECK(same, "%s(%.9g) = %.9g, want %.9g", name, (double)x[i], (double)y[i], (double)want[i]);
    }
    CHECK(ok, "%s special values ran", name);
}

/* tanh's vector formula against double tanh on every 61st float of [0, inf)
 * (~35M, both signs): within 2 ulp, odd, and +-0 / +-inf / NaN kept. */
static void test_tanh_sweep(void) {
    gl_error err;
    sweep_ulp(GL_OP_TANH, tanh, 2.0, "tanh", 61, 1);
    float sp[6] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-40f}, o[6];
    gl_shape s6 = shp(1, 6, 0, 0, 0);
    const gl_shape *sh6[1] = {&s6};
    const float *in6[1] = {sp};
    gl_node nd = mknode(GL_OP_TANH, 1, s6, 0, 0, 0, 0);
    CHECK(run(&nd, o, 1, in6, sh6, NULL, NULL, &err) == GL_OK && o[0] == 0.0f && !signbit(o[0]) && signbit(o[1]) &&
              o[2] == 1.0f && o[3] == -1.0f && isnan(o[4]) && o[5] == 1e-40f,
          "tanh of +-0, +-inf, NaN, a subnormal: %g %g %g %g %g %g", o[0], o[1], o[2], o[3], o[4], o[5]);
}

/* exp, log, sigmoid, softplus and log-sigmoid (gl_k_math.h's vectorisable
 * versions, not libm's) over the float range, and their special values.
 * Measured over all 2^32 floats: exp 0.80 ulp, log 0.83, sigmoid 1.18,
 * softplus and log-sigmoid 1.67. */
static void test_transcendental_sweep(void) {
    sweep_ulp(GL_OP_EXP, exp, 1.0, "exp", 251, 0);
    sweep_ulp(GL_OP_LOG, log, 1.0, "log", 251, 0);
    sweep_ulp(GL_OP_SIGMOID, ref_sigmoid, 1.5, "sigmoid", 251, 0);
    sweep_ulp(GL_OP_SOFTPLUS, ref_softplus, 2.0, "softplus", 251, 0);
    sweep_ulp(GL_OP_LOG_SIGMOID, ref_log_sigmoid, 2.0, "log_sigmoid", 251, 0);
    const float inf = INFINITY, nan = NAN, ln2 = 0.693147182f;
    /* exp: the largest finite result (the next input overflows), subnormal
     * results down to the smallest, then 0 */
    const float ex[] = {0.0f, -0.0f, inf, -inf, nan, 1e-40f, 0x1.62e42ep+6f, 0x1.62e430p+6f, 89.0f, 1000.0f,
                        -0x1.5d58a0p+6f, -103.278931f, -104.0f, -1000.0f};
    const float ey[] = {1.0f, 1.0f, inf, 0.0f, nan, 1.0f, 0x1.ffff08p+127f, inf, inf, inf,
                        0x1.ffff98p-127f, 0x1p-149f, 0.0f, 0.0f};
    check_exact(GL_OP_EXP, ex, ey, (int)(sizeof ex / sizeof *ex), "exp");
    const float lx[] = {1.0f, 0.0f, -0.0f, inf, -inf, nan, -1.0f, -1e-40f, 0x1p-149f, FLT_MAX, 2.0f};
    const float ly[] = {0.0f, -inf, -inf, inf, nan, nan, nan, nan, -103.278931f, 88.7228394f, ln2};
    check_exact(GL_OP_LOG, lx, ly, (int)(sizeof lx / sizeof *lx), "log");
    const float sx[] = {0.0f, -0.0f, inf, -inf, nan, 100.0f, -200.0f, -103.0f};
    const float sy[] = {0.5f, 0.5f, 1.0f, 0.0f, nan, 1.0f, 0.0f, 0x1p-149f}; /* e^-103 = 1.3 * 2^-149 */
    check_exact(GL_OP_SIGMOID, sx, sy, (int)(sizeof sx / sizeof *sx), "sigmoid");
    const float px[] = {0.0f, -0.0f, inf, -inf, nan, 100.0f, -200.0f, 1e30f, -1e-40f};
    const float py[] = {ln2, ln2, inf, 0.0f, nan, 100.0f, 0.0f, 1e30f, ln2};
    check_exact(GL_OP_SOFTPLUS, px, py, (int)(sizeof px / sizeof *px), "softplus");
    const float qx[] = {0.0f, inf, -inf, nan, 200.0f, -100.0f, -1e30f};
    const float qy[] = {-ln2, 0.0f, -inf, nan, 0.0f, -100.0f, -1e30f};
    check_exact(GL_OP_LOG_SIGMOID, qx, qy, (int)(sizeof qx / sizeof *qx), "log_sigmoid");
}

/* ---- binary ---- */

static double ref_bin(gl_op op, double a, double b) {
    switch (op) {
    case GL_OP_ADD: return a + b;
    case GL_OP_SUB: return a - b;
    case GL_OP_MUL: return a * b;
    case GL_OP_DIV: return a / b;
    default: return NAN;
    }
}

static void check_binary(gl_pool *pool, gl_shape sa, gl_shape sb) {
    gl_error err;
    gl_shape so = bshape(&sa, &sb);
    int64_t na = gl_shape_numel(&sa), nb = gl_shape_numel(&sb), no = gl_shape_numel(&so);
    float *a = malloc(sizeof(float) * na + 4), *b = malloc(sizeof(float) * nb + 4);
    float *y = malloc(sizeof(float) * no + 4), *y1 = malloc(sizeof(float) * no + 4);
    double *ref = malloc(sizeof(double) * no + 8);
    fill_rand(a, na, -3, 3);
    fill_rand(b, nb, 0.5, 3); /* safe denominators */
    gl_op ops[] = {GL_OP_ADD, GL_OP_SUB, GL_OP_MUL, GL_OP_DIV};
    for (int k = 0; k < 4; k++) {
        gl_node nd = mknode(ops[k], 2, so, 0, 0, 0, 0);
        const float *in[2] = {a, b};
        const gl_shape *sh[2] = {&sa, &sb};
        gl_status st = run(&nd, y, 2, in, sh, pool, NULL, &err);
        for (int64_t o = 0; o < no; o++) ref[o] = ref_bin(ops[k], a[bidx(&sa, &so, o)], b[bidx(&sb, &so, o)]);
        double w = 0;
        CHECK(st == GL_OK && close_to(y, ref, no, 1e-6, 1e-7, &w), "binary op %d %s . %s (err %g) %s", ops[k],
              sstr(&sa), sstr(&sb), w, err.msg);
        st = run(&nd, y1, 2, in, sh, NULL, NULL, &err);
        CHECK(st == GL_OK && memcmp(y, y1, sizeof(float) * no) == 0, "binary pool vs none");
    }
    free(a); free(b); free(y); free(y1); free(ref);
}

static void test_binary(gl_pool *pool) {
    gl_shape S0 = shp(0, 1, 1, 1, 1);
    struct { gl_shape a, b; } cases[] = {
        {shp(2, 3, 5, 0, 0), shp(2, 3, 5, 0, 0)},          /* same */
        {shp(2, 7, 13, 0, 0), S0},                          /* scalar right */
        {S0, shp(2, 7, 13, 0, 0)},                          /* scalar left */
        {S0, S0},
        {shp(1, 1, 0, 0, 0), shp(2, 4, 3, 0, 0)},           /* (1,) */
        {shp(2, 4, 5, 0, 0), shp(2, 1, 5, 0, 0)},           /* row (1,n) */
        {shp(2, 1, 5, 0, 0), shp(2, 4, 5, 0, 0)},
        {shp(2, 4, 5, 0, 0), shp(1, 5, 0, 0, 0)},           /* row (n,) */
        {shp(1, 5, 0, 0, 0), shp(2, 4, 5, 0, 0)},
        {shp(2, 4, 5, 0, 0), shp(2, 4, 1, 0, 0)},           /* column */
        {shp(2, 4, 1, 0, 0), shp(2, 4, 5, 0, 0)},
        {shp(2, 4, 1, 0, 0), shp(2, 1, 5, 0, 0)},           /* outer product */
        {shp(1, 6, 0, 0, 0), shp(2, 7, 1, 0, 0)},
        {shp(3, 2, 3, 4, 0), shp(2, 3, 1, 0, 0)},           /* 3-D */
        {shp(3, 2, 1, 4, 0), shp(3, 1, 3, 1, 0)},
        {shp(3, 1, 3, 1, 0), shp(3, 2, 1, 4, 0)},
        {shp(4, 2, 3, 4, 5), shp(4, 1, 3, 1, 1)},           /* per-channel NCHW */
        {shp(4, 1, 3, 1, 1), shp(4, 2, 3, 4, 5)},
        {shp(4, 2, 3, 4, 5), shp(3, 3, 1, 1, 0)},
        {shp(4, 2, 1, 4, 1), shp(3, 3, 1, 5, 0)},
        {shp(4, 2, 3, 4, 5), shp(4, 2, 3, 4, 5)},
        {shp(4, 3, 1, 5, 1), shp(4, 1, 7, 1, 3)},
        {shp(2, 300, 257, 0, 0), shp(1, 257, 0, 0, 0)},     /* big enough to split */
        {shp(2, 300, 257, 0, 0), shp(2, 300, 1, 0, 0)},
        {shp(2, 300, 257, 0, 0), shp(2, 300, 257, 0, 0)},
        {shp(2, 300, 257, 0, 0), S0},
        {shp(4, 8, 16, 33, 31), shp(4, 1, 16, 1, 1)},
        {shp(2, 0, 5, 0, 0), shp(1, 5, 0, 0, 0)},           /* empty */
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) check_binary(pool, cases[k].a, cases[k].b);
    /* refusals */
    gl_error err;
    float a[20] = {0}, b[20] = {0}, y[20];
    gl_shape s1 = shp(2, 3, 4, 0, 0), s2 = shp(2, 5, 4, 0, 0), s3 = shp(2, 3, 1, 0, 0);
    const float *in[2] = {a, b};
    gl_node nd = mknode(GL_OP_ADD, 2, s1, 0, 0, 0, 0);
    const gl_shape *sh[2] = {&s1, &s2};
    CHECK(run(&nd, y, 2, in, sh, NULL, NULL, &err) == GL_ERR_VALUE && err.msg[0], "incompatible shapes refused");
    nd = mknode(GL_OP_ADD, 2, s1, 0, 0, 0, 0);
    const gl_shape *sh2[2] = {&s3, &s3};
    CHECK(run(&nd, y, 2, in, sh2, NULL, NULL, &err) == GL_ERR_VALUE, "output larger than broadcast refused");
    nd = mknode(GL_OP_ADD, 1, s1, 0, 0, 0, 0);
    CHECK(run(&nd, y, 1, in, sh, NULL, NULL, &err) == GL_ERR_INTERNAL, "wrong input count refused");
}

static void test_grad_binary(gl_pool *pool) {
    gl_error err;
    gl_op ops[] = {GL_OP_RELU_MASK, GL_OP_LEAKY_MASK, GL_OP_CLIP_MASK, GL_OP_TANH_GRAD, GL_OP_SIGMOID_GRAD};
    gl_shape shapes[] = {shp(2, 5, 7, 0, 0), shp(4, 2, 3, 4, 5), shp(2, 301, 257, 0, 0)};
    for (size_t si = 0; si < 3; si++) {
        int64_t n = gl_shape_numel(&shapes[si]);
        float *a = malloc(sizeof(float) * n), *b = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n);
        double *ref = malloc(sizeof(double) * n);
        fill_rand(a, n, -2, 2);
        fill_rand(b, n, -1, 1);
        b[0] = 0; b[1] = -0.5f; b[2] = 0.5f; b[3] = 0.5000001f; /* boundaries */
        for (int k = 0; k < 5; k++) {
            float f0 = ops[k] == GL_OP_CLIP_MASK ? -0.5f : 0.2f, f1 = 0.5f;
            gl_node nd = mknode(ops[k], 2, shapes[si], f0, f1, 0, 0);
            const float *in[2] = {a, b};
            const gl_shape *sh[2] = {&shapes[si], &shapes[si]};
            gl_status st = run(&nd, y, 2, in, sh, pool, NULL, &err);
            for (int64_t i = 0; i < n; i++) {
                double av = a[i], bv = b[i];
                switch (ops[k]) {
                case GL_OP_RELU_MASK: ref[i] = bv > 0 ? av : 0; break;
                case GL_OP_LEAKY_MASK: ref[i] = bv > 0 ? av : (double)f0 * av; break;
                case GL_OP_CLIP_MASK: ref[i] = (bv >= f0 && bv <= f1) ? av : 0; break;
                case GL_OP_TANH_GRAD: ref[i] = av * (1 - bv * bv); break;
                default: ref[i] = av * bv * (1 - bv); break;
                }
            }
            double w = 0;
            CHECK(st == GL_OK && close_to(y, ref, n, 1e-6, 1e-7, &w), "grad op %d shape %s (err %g)", ops[k],
                  sstr(&shapes[si]), w);
            if (ops[k] == GL_OP_CLIP_MASK)
                CHECK(y[1] == a[1] && y[2] == a[2] && y[3] == 0, "clip mask: closed interval");
            if (ops[k] == GL_OP_RELU_MASK) CHECK(y[0] == 0, "relu mask at 0 is 0");
        }
        free(a); free(b); free(y); free(ref);
    }
    float a[6] = {0}, y[6];
    gl_shape s1 = shp(2, 2, 3, 0, 0), s2 = shp(2, 1, 3, 0, 0);
    gl_node nd = mknode(GL_OP_RELU_MASK, 2, s1, 0, 0, 0, 0);
    const float *in[2] = {a, a};
    const gl_shape *sh[2] = {&s1, &s2};
    CHECK(run(&nd, y, 2, in, sh, NULL, NULL, &err) == GL_ERR_VALUE, "mask with different shapes refused");
}

/* ---- sum_to / broadcast_to ---- */

static void check_sum_to(gl_pool *pool, gl_shape sx, gl_shape so, double rtol) {
    gl_error err;
    int64_t nx = gl_shape_numel(&sx), no = gl_shape_numel(&so);
    float *x = malloc(sizeof(float) * nx + 4), *y = malloc(sizeof(float) * no + 4);
    double *ref = calloc(no + 1, sizeof(double));
    fill_rand(x, nx, -1, 2);
    /* output index of input element: broadcast index in reverse */
    gl_shape so_al = so;
    for (int64_t i = 0; i < nx; i++) {
        int64_t idx[4], r = i;
        for (int d = sx.ndim - 1; d >= 0; d--) { idx[d] = r % sx.d[d]; r /= sx.d[d]; }
        int64_t f = 0;
        for (int j = 0; j < so_al.ndim; j++) {
            int d = j + sx.ndim - so_al.ndim;
            f = f * so_al.d[j] + (so_al.d[j] == 1 ? 0 : idx[d]);
        }
        ref[f] += x[i];
    }
    gl_node nd = mknode(GL_OP_SUM_TO, 1, so, 0, 0, 0, 0);
    const float *in[1] = {x};
    const gl_shape *sh[1] = {&sx};
    gl_status st = run(&nd, y, 1, in, sh, pool, NULL, &err);
    double w = 0;
    CHECK(st == GL_OK && close_to(y, ref, no, rtol, 1e-5, &w), "sum_to %s -> %s (err %g) %s", sstr(&sx), sstr(&so), w,
          err.msg);
    free(x); free(y); free(ref);
}

static void check_broadcast_to(gl_pool *pool, gl_shape sx, gl_shape so) {
    gl_error err;
    int64_t nx = gl_shape_numel(&sx), no = gl_shape_numel(&so);
    float *x = malloc(sizeof(float) * nx + 4), *y = malloc(sizeof(float) * no + 4);
    double *ref = malloc(sizeof(double) * no + 8);
    fill_rand(x, nx, -1, 1);
    for (int64_t o = 0; o < no; o++) ref[o] = x[bidx(&sx, &so, o)];
    gl_node nd = mknode(GL_OP_BROADCAST_TO, 1, so, 0, 0, 0, 0);
    const float *in[1] = {x};
    const gl_shape *sh[1] = {&sx};
    gl_status st = run(&nd, y, 1, in, sh, pool, NULL, &err);
    double w = 0;
    CHECK(st == GL_OK && close_to(y, ref, no, 0, 1e-30, &w), "broadcast_to %s -> %s %s", sstr(&sx), sstr(&so), err.msg);
    free(x); free(y); free(ref);
}

/* sum bits with 1 and 2 threads (and no pool) */
static void check_sum_det(gl_pool *p1, gl_pool *p2, gl_shape sx, gl_shape so) {
    gl_error err;
    int64_t nx = gl_shape_numel(&sx), no = gl_shape_numel(&so);
    float *x = malloc(sizeof(float) * nx), *y1 = malloc(sizeof(float) * no), *y2 = malloc(sizeof(float) * no);
    float *y0 = malloc(sizeof(float) * no);
    fill_rand(x, nx, -1, 2);
    gl_node nd = mknode(GL_OP_SUM_TO, 1, so, 0, 0, 0, 0);
    const float *in[1] = {x};
    const gl_shape *sh[1] = {&sx};
    gl_status s1 = run(&nd, y1, 1, in, sh, p1, NULL, &err);
    gl_status s2 = run(&nd, y2, 1, in, sh, p2, NULL, &err);
    gl_status s0 = run(&nd, y0, 1, in, sh, NULL, NULL, &err);
    CHECK(s1 == GL_OK && s2 == GL_OK && s0 == GL_OK && memcmp(y1, y2, sizeof(float) * no) == 0 &&
              memcmp(y1, y0, sizeof(float) * no) == 0,
          "sum_to %s -> %s bits differ across thread counts", sstr(&sx), sstr(&so));
    if (no == 1) { /* and accurate: compare with a double sum */
        double s = 0;
        for (int64_t i = 0; i < nx; i++) s += x[i];
        CHECK(fabs(y1[0] - s) <= 1e-6 * fabs(s), "full sum %g vs %g", y1[0], s);
    }
    free(x); free(y0); free(y1); free(y2);
}

static void test_reduce(gl_pool *pool) {
    gl_shape S0 = shp(0, 1, 1, 1, 1);
    struct { gl_shape x, o; } cases[] = {
        {shp(2, 7, 13, 0, 0), S0},
        {shp(2, 7, 13, 0, 0), shp(2, 1, 1, 0, 0)},
        {shp(2, 7, 13, 0, 0), shp(2, 1, 13, 0, 0)},
        {shp(2, 7, 13, 0, 0), shp(1, 13, 0, 0, 0)},
        {shp(2, 7, 13, 0, 0), shp(2, 7, 1, 0, 0)},
        {shp(2, 7, 13, 0, 0), shp(2, 7, 13, 0, 0)},
        {shp(1, 9, 0, 0, 0), S0},
        {shp(1, 9, 0, 0, 0), shp(1, 1, 0, 0, 0)},
        {S0, S0},
        {shp(2, 1, 9, 0, 0), shp(1, 9, 0, 0, 0)},
        {shp(3, 2, 3, 4, 0), shp(3, 2, 1, 4, 0)},
        {shp(3, 2, 3, 4, 0), shp(2, 3, 1, 0, 0)},
        {shp(3, 2, 3, 4, 0), shp(3, 1, 3, 1, 0)},
        {shp(3, 5, 3, 1, 0), shp(1, 1, 0, 0, 0)},
        {shp(4, 2, 3, 4, 5), shp(4, 1, 3, 1, 1)},
        {shp(4, 2, 3, 4, 5), shp(3, 3, 1, 1, 0)},
        {shp(4, 2, 3, 4, 5), shp(1, 3, 0, 0, 0)},  /* hmm: right-aligned -> (1,1,1,3)? only if d[3]==3 */
        {shp(4, 2, 3, 4, 5), shp(3, 3, 1, 5, 0)},
        {shp(4, 2, 3, 4, 5), shp(4, 2, 1, 4, 1)},
        {shp(4, 2, 3, 4, 5), shp(4, 1, 3, 4, 1)},
        {shp(4, 2, 3, 4, 5), shp(2, 4, 5, 0, 0)},
        {shp(4, 2, 3, 4, 5), shp(4, 1, 1, 1, 5)},
        {shp(2, 700, 300, 0, 0), shp(1, 300, 0, 0, 0)},
        {shp(2, 3, 100000, 0, 0), shp(2, 3, 1, 0, 0)},
        {shp(2, 0, 5, 0, 0), shp(1, 5, 0, 0, 0)},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        if (k == 16) continue; /* (2,3,4,5) -> (3,) is not right-aligned-compatible; refused below */
        check_sum_to(pool, cases[k].x, cases[k].o, 1e-5);
    }
    gl_error err;
    float x[120] = {0}, y[120];
    gl_node nd = mknode(GL_OP_SUM_TO, 1, cases[16].o, 0, 0, 0, 0);
    const float *in[1] = {x};
    const gl_shape *sh[1] = {&cases[16].x};
    CHECK(run(&nd, y, 1, in, sh, NULL, NULL, &err) == GL_ERR_VALUE, "sum_to (2,3,4,5) -> (3,) refused");
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        if (k == 16) continue;
        check_broadcast_to(pool, cases[k].o, cases[k].x);
    }
    check_broadcast_to(pool, shp(1, 257, 0, 0, 0), shp(2, 300, 257, 0, 0));
    check_broadcast_to(pool, shp(2, 300, 1, 0, 0), shp(2, 300, 257, 0, 0));
    nd = mknode(GL_OP_BROADCAST_TO, 1, shp(2, 3, 4, 0, 0), 0, 0, 0, 0);
    gl_shape bad = shp(2, 3, 2, 0, 0);
    const gl_shape *shb[1] = {&bad};
    CHECK(run(&nd, y, 1, in, shb, NULL, NULL, &err) == GL_ERR_VALUE, "broadcast_to (3,2) -> (3,4) refused");

    /* determinism across thread counts */
    gl_pool *p1, *p2;
    gl_pool_new(1, &p1, &err);
    gl_pool_new(2, &p2, &err);
    check_sum_det(p1, p2, shp(1, 3000001, 0, 0, 0), S0);
    check_sum_det(p1, p2, shp(2, 1000, 4097, 0, 0), S0);
    check_sum_det(p1, p2, shp(1, 70000, 0, 0, 0), S0);
    check_sum_det(p1, p2, shp(2, 2000, 513, 0, 0), shp(1, 513, 0, 0, 0));
    check_sum_det(p1, p2, shp(2, 513, 2000, 0, 0), shp(2, 513, 1, 0, 0));
    check_sum_det(p1, p2, shp(4, 64, 32, 20, 20), shp(4, 1, 32, 1, 1));
    check_sum_det(p1, p2, shp(4, 64, 32, 20, 20), shp(3, 32, 1, 20, 0));
    gl_pool_free(p1);
    gl_pool_free(p2);
}

static void test_logsumexp(gl_pool *pool) {
    gl_error err;
    int64_t shapes[][2] = {{1, 1}, {3, 7}, {5, 1}, {64, 129}, {2000, 33}, {7, 600}}; /* 600: chunks of 256 */
    for (int k = 0; k < 6; k++) {
        int64_t m = shapes[k][0], n = shapes[k][1];
        float *x = malloc(sizeof(float) * m * n), *y = malloc(sizeof(float) * m);
        double *ref = malloc(sizeof(double) * m);
        fill_rand(x, m * n, -5, 5);
        if (m >= 3 && n >= 3) {
            for (int j = 0; j < n; j++) x[j] = -INFINITY;    /* row 0 all -inf */
            x[n] = 200; x[n + 1] = 199;                      /* row 1 large: exp would overflow unshifted */
            x[2 * n] = -INFINITY;                            /* row 2 has one -inf */
        }
        for (int64_t i = 0; i < m; i++) {
            double mx = -INFINITY;
            for (int64_t j = 0; j < n; j++) mx = fmax(mx, x[i * n + j]);
            double s = 0;
            for (int64_t j = 0; j < n; j++) s += exp(x[i * n + j] - mx);
            ref[i] = isinf(mx) ? mx : mx + log(s);
        }
        gl_shape sx = shp(2, m, n, 0, 0), so = shp(2, m, 1, 0, 0);
        gl_node nd = mknode(GL_OP_LOGSUMEXP, 1, so, 0, 0, 0, 0);
        const float *in[1] = {x};
        const gl_shape *sh[1] = {&sx};
        gl_status st = run(&nd, y, 1, in, sh, pool, NULL, &err);
        double w = 0;
        CHECK(st == GL_OK && close_to(y, ref, m, 2e-6, 1e-6, &w), "logsumexp (%lld,%lld) err %g", (long long)m,
              (long long)n, w);
        if (m >= 3 && n >= 3) CHECK(isinf(y[0]) && y[0] < 0, "all -inf row gives -inf, got %g", y[0]);
        free(x); free(y); free(ref);
    }
    float x[6] = {0}, y[3];
    gl_shape sx = shp(3, 1, 2, 3, 0), so = shp(2, 2, 1, 0, 0);
    gl_node nd = mknode(GL_OP_LOGSUMEXP, 1, so, 0, 0, 0, 0);
    const float *in[1] = {x};
    const gl_shape *sh[1] = {&sx};
    CHECK(run(&nd, y, 1, in, sh, NULL, NULL, &err) == GL_ERR_VALUE, "logsumexp of 3-D refused");
}

/* ---- SUMSQ_ROWS against double loops ---- */

static void test_sumsq_rows(gl_pool *pool) {
    gl_error err;
    int64_t dims[][2] = {{1, 1}, {3, 15}, {2, 16}, {4, 63}, {3, 64}, {2, 130}, {50, 784}, {3, 0}, {0, 5}};
    for (int c = 0; c < 9; c++) {
        const int64_t m = dims[c][0], n = dims[c][1];
        float *x = malloc(sizeof(float) * (m * n + 1)), *y = malloc(sizeof(float) * (m + 1));
        double *ref = malloc(sizeof(double) * (m + 1));
        fill_rand(x, m * n, -2, 2);
        for (int64_t i = 0; i < m; i++) {
            double s = 0;
            for (int64_t j = 0; j < n; j++) s += (double)x[i * n + j] * x[i * n + j];
            ref[i] = s;
        }
        gl_shape sx = shp(2, m, n, 0, 0), so = shp(2, m, 1, 0, 0);
        gl_node nd = mknode(GL_OP_SUMSQ_ROWS, 1, so, 0, 0, 0, 0);
        const float *in[1] = {x};
        const gl_shape *sh[1] = {&sx};
        double w = 0;
        CHECK(run(&nd, y, 1, in, sh, pool, NULL, &err) == GL_OK && close_to(y, ref, m, 2e-6, 1e-6, &w),
              "sumsq_rows %s err %g", sstr(&sx), w);
        free(x); free(y); free(ref);
    }
    float x[6] = {0}, y[3];
    gl_shape sx = shp(3, 1, 2, 3, 0), so = shp(2, 2, 1, 0, 0);
    gl_node nd = mknode(GL_OP_SUMSQ_ROWS, 1, so, 0, 0, 0, 0);
    const float *in[1] = {x};
    const gl_shape *sh[1] = {&sx};
    CHECK(run(&nd, y, 1, in, sh, NULL, NULL, &err) == GL_ERR_VALUE, "sumsq_rows of 3-D refused");
}

/* ---- instance norm (INSTANCE_NORM, INSTANCE_RSTD, INSTANCE_NORM_GRAD) against double loops ---- */

static void test_instance_norm(gl_pool *pool) {
    gl_error err;
    /* planes below, at and past the 16-, 32- and 64-float loops; a large mean; one value per plane */
    int64_t dims[][4] = {{2, 3, 5, 5}, {1, 2, 4, 4}, {2, 1, 1, 33}, {1, 2, 8, 8}, {3, 2, 7, 7}, {1, 1, 9, 11},
                         {2, 2, 1, 1}, {1, 3, 28, 28}};
    for (int c = 0; c < 8; c++) {
        const int64_t N = dims[c][0], C = dims[c][1], S = dims[c][2] * dims[c][3], P = N * C, n = P * S;
        const double offset = c == 5 ? 1e4 : 0.0;
        float *x = malloc(sizeof(float) * n), *gy = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n);
        float *r = malloc(sizeof(float) * P), *dx = malloc(sizeof(float) * n);
        double *ry = malloc(sizeof(double) * n), *rr = malloc(sizeof(double) * P), *rdx = malloc(sizeof(double) * n);
        fill_rand(x, n, -3, 3);
        fill_rand(gy, n, -1, 1);
        for (int64_t i = 0; i < n; i++) x[i] += (float)offset;
        for (int64_t p = 0; p < P; p++) {
            const float *xp = x + p * S;
            double m = 0, v = 0;
            for (int64_t i = 0; i < S; i++) m += xp[i];
            m /= (double)S;
            for (int64_t i = 0; i < S; i++) v += (xp[i] - m) * (xp[i] - m);
            rr[p] = 1.0 / sqrt(v / (double)S + 1e-5);
            for (int64_t i = 0; i < S; i++) ry[p * S + i] = (xp[i] - m) * rr[p];
        }
        gl_shape sx = shp(4, N, C, dims[c][2], dims[c][3]), sr = shp(4, N, C, 1, 1);
        const float *in1[1] = {x};
        const gl_shape *sh1[1] = {&sx};
        gl_node nd = mknode(GL_OP_INSTANCE_NORM, 1, sx, 1e-5f, 0, 0, 0);
        double w = 0;
        CHECK(run(&nd, y, 1, in1, sh1, pool, NULL, &err) == GL_OK && close_to(y, ry, n, 1e-4, 1e-4, &w),
              "instance_norm %s err %g", sstr(&sx), w);
        nd = mknode(GL_OP_INSTANCE_RSTD, 1, sr, 1e-5f, 0, 0, 0);
        CHECK(run(&nd, r, 1, in1, sh1, pool, NULL, &err) == GL_OK && close_to(r, rr, P, 1e-4, 1e-6, &w),
              "instance_rstd %s err %g", sstr(&sx), w);
        /* dx = r (gy - mean(gy) - y mean(gy y)), from the kernel's own y and r */
        for (int64_t p = 0; p < P; p++) {
            double mg = 0, mgy = 0;
            for (int64_t i = 0; i < S; i++) { mg += gy[p * S + i]; mgy += (double)gy[p * S + i] * y[p * S + i]; }
            mg /= (double)S;
            mgy /= (double)S;
            for (int64_t i = 0; i < S; i++) rdx[p * S + i] = r[p] * (gy[p * S + i] - mg - y[p * S + i] * mgy);
        }
        const float *in3[3] = {gy, y, r};
        const gl_shape *sh3[3] = {&sx, &sx, &sr};
        nd = mknode(GL_OP_INSTANCE_NORM_GRAD, 3, sx, 0, 0, 0, 0);
        CHECK(run(&nd, dx, 3, in3, sh3, pool, NULL, &err) == GL_OK && close_to(dx, rdx, n, 1e-4, 1e-4, &w),
              "instance_norm_grad %s err %g", sstr(&sx), w);
        /* the one-pass gradient from (gy, x) agrees with the double loops on the exact statistics */
        for (int64_t p = 0; p < P; p++) {
            double mg = 0, mgy = 0;
            for (int64_t i = 0; i < S; i++) { mg += gy[p * S + i]; mgy += gy[p * S + i] * ry[p * S + i]; }
            for (int64_t i = 0; i < S; i++)
                rdx[p * S + i] = rr[p] * (gy[p * S + i] - mg / (double)S - ry[p * S + i] * mgy / (double)S);
        }
        const float *in2[2] = {gy, x};
        const gl_shape *sh2[2] = {&sx, &sx};
        nd = mknode(GL_OP_INSTANCE_NORM_BWD, 2, sx, 1e-5f, 0, 0, 0);
        CHECK(run(&nd, dx, 2, in2, sh2, pool, NULL, &err) == GL_OK && close_to(dx, rdx, n, 1e-4, 1e-4, &w),
              "instance_norm_bwd %s err %g", sstr(&sx), w);
        /* a fused LeakyReLU(0.2) */
        gl_node act = mknode(GL_OP_LEAKY_RELU, 1, sx, 0.2f, 0, 0, 0);
        for (int64_t i = 0; i < n; i++) ry[i] = ry[i] > 0 ? ry[i] : 0.2 * ry[i];
        gl_kernel_args ka;
        memset(&ka, 0, sizeof ka);
        nd = mknode(GL_OP_INSTANCE_NORM, 1, sx, 1e-5f, 0, 0, 0);
        ka.node = &nd; ka.out = y; ka.in[0] = x; ka.in_shape[0] = &sx; ka.pool = pool; ka.act = &act;
        gl_error_clear(&err);
        CHECK(gl_kernel_forward(&ka, &err) == GL_OK && close_to(y, ry, n, 1e-4, 1e-4, &w),
              "instance_norm + leaky_relu %s err %g", sstr(&sx), w);
        free(x); free(gy); free(y); free(r); free(dx); free(ry); free(rr); free(rdx);
    }
    float x[8] = {0}, y[8];
    gl_shape s3 = shp(3, 2, 2, 2, 0);
    const float *in[1] = {x};
    const gl_shape *sh[1] = {&s3};
    gl_node nd = mknode(GL_OP_INSTANCE_NORM, 1, s3, 1e-5f, 0, 0, 0);
    CHECK(run(&nd, y, 1, in, sh, pool, NULL, &err) == GL_ERR_VALUE, "instance_norm of 3-D refused");
}

/* ---- matmul ---- */

static void test_matmul(gl_pool *pool) {
    gl_error err;
    /* k = 1 (outer products) runs its own loop, split over rows when large */
    int64_t dims[][3] = {{1, 1, 1}, {5, 7, 3}, {13, 1, 9}, {4, 17, 1}, {33, 65, 31}, {3, 0, 4}, {300, 1, 257}};
    for (int c = 0; c < 7; c++) {
        int64_t m = dims[c][0], k = dims[c][1], n = dims[c][2];
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                gl_shape sa = ta ? shp(2, k, m, 0, 0) : shp(2, m, k, 0, 0);
                gl_shape sb = tb ? shp(2, n, k, 0, 0) : shp(2, k, n, 0, 0);
                gl_shape so = shp(2, m, n, 0, 0);
                float *a = malloc(sizeof(float) * (m * k + 1)), *b = malloc(sizeof(float) * (k * n + 1));
                float *y = malloc(sizeof(float) * m * n);
                double *ref = malloc(sizeof(double) * m * n);
                fill_rand(a, m * k, -1, 1);
                fill_rand(b, k * n, -1, 1);
                for (int64_t i = 0; i < m * n; i++) y[i] = NAN; /* k = 0 must write zeros */
                for (int64_t i = 0; i < m; i++)
                    for (int64_t j = 0; j < n; j++) {
                        double s = 0;
                        for (int64_t q = 0; q < k; q++)
                            s += (double)(ta ? a[q * m + i] : a[i * k + q]) * (tb ? b[j * k + q] : b[q * n + j]);
                        ref[i * n + j] = s;
                    }
                gl_node nd = mknode(GL_OP_MATMUL, 2, so, 0, 0, ta, tb);
                const float *in[2] = {a, b};
                const gl_shape *sh[2] = {&sa, &sb};
                gl_status st = run(&nd, y, 2, in, sh, pool, NULL, &err);
                double w = 0;
                CHECK(st == GL_OK && close_to(y, ref, m * n, 1e-5, 1e-5, &w), "matmul %lldx%lldx%lld ta=%d tb=%d err %g %s",
                      (long long)m, (long long)k, (long long)n, ta, tb, w, err.msg);
                free(a); free(b); free(y); free(ref);
            }
    }
    float a[12] = {0}, y[12];
    gl_shape sa = shp(2, 3, 4, 0, 0), sb = shp(2, 3, 4, 0, 0), so = shp(2, 3, 4, 0, 0);
    gl_node nd = mknode(GL_OP_MATMUL, 2, so, 0, 0, 0, 0);
    const float *in[2] = {a, a};
    const gl_shape *sh[2] = {&sa, &sb};
    CHECK(run(&nd, y, 2, in, sh, NULL, NULL, &err) == GL_ERR_VALUE, "matmul inner mismatch refused");
    gl_shape so2 = shp(2, 3, 3, 0, 0);
    nd = mknode(GL_OP_MATMUL, 2, so2, 0, 0, 0, 1);
    CHECK(run(&nd, y, 2, in, sh, NULL, NULL, &err) == GL_OK, "matmul a @ a.T accepted");
}

/* ---- layout ---- */

static void test_layout(gl_pool *pool) {
    gl_error err;
    /* concat of 3 inputs, 2-D and 4-D, checked by index arithmetic */
    gl_shape outs[] = {shp(2, 5, 9, 0, 0), shp(4, 2, 9, 3, 4), shp(3, 2, 9, 5, 0), shp(2, 300, 600, 0, 0)};
    for (int c = 0; c < 4; c++) {
        gl_shape so = outs[c];
        int64_t w[3] = {2, 3, so.d[1] - 5};
        gl_shape si[3];
        float *x[3];
        int64_t inner = 1;
        for (int i = 2; i < so.ndim; i++) inner *= so.d[i];
        for (int k = 0; k < 3; k++) {
            si[k] = so;
            si[k].d[1] = w[k];
            x[k] = malloc(sizeof(float) * gl_shape_numel(&si[k]));
            fill_rand(x[k], gl_shape_numel(&si[k]), -1, 1);
        }
        int64_t no = gl_shape_numel(&so);
        float *y = malloc(sizeof(float) * no), *back = malloc(sizeof(float) * no);
        double *ref = malloc(sizeof(double) * no);
        for (int64_t o = 0; o < so.d[0]; o++)
            for (int64_t j = 0; j < so.d[1]; j++)
                for (int64_t t = 0; t < inner; t++) {
                    int k = j < 2 ? 0 : (j < 5 ? 1 : 2);
                    int64_t jj = j - (k == 0 ? 0 : (k == 1 ? 2 : 5));
                    ref[(o * so.d[1] + j) * inner + t] = x[k][(o * w[k] + jj) * inner + t];
                }
        gl_node nd = mknode(GL_OP_CONCAT, 3, so, 0, 0, 0, 0);
        const float *in[3] = {x[0], x[1], x[2]};
        const gl_shape *sh[3] = {&si[0], &si[1], &si[2]};
        gl_status st = run(&nd, y, 3, in, sh, pool, NULL, &err);
        CHECK(st == GL_OK && close_to(y, ref, no, 0, 1e-30, NULL), "concat -> %s %s", sstr(&so), err.msg);
        /* slice each part back out, and slice_grad it into zeros */
        int64_t off = 0;
        for (int k = 0; k < 3; k++) {
            int64_t nk = gl_shape_numel(&si[k]);
            float *part = malloc(sizeof(float) * nk);
            gl_node ns = mknode(GL_OP_SLICE, 1, si[k], 0, 0, off, 0);
            const float *iny[1] = {y};
            const gl_shape *shy[1] = {&so};
            st = run(&ns, part, 1, iny, shy, pool, NULL, &err);
            CHECK(st == GL_OK && memcmp(part, x[k], sizeof(float) * nk) == 0, "slice %d of %s", k, sstr(&so));
            gl_node ng = mknode(GL_OP_SLICE_GRAD, 1, so, 0, 0, off, 0);
            const float *inp[1] = {part};
            const gl_shape *shp_[1] = {&si[k]};
            for (int64_t i = 0; i < no; i++) back[i] = NAN;
            st = run(&ng, back, 1, inp, shp_, pool, NULL, &err);
            int ok = st == GL_OK;
            for (int64_t o = 0; o < so.d[0]; o++)
                for (int64_t j = 0; j < so.d[1]; j++)
                    for (int64_t t = 0; t < inner; t++) {
                        int64_t f = (o * so.d[1] + j) * inner + t;
                        int in_part = j >= off && j < off + w[k];
                        ok &= back[f] == (in_part ? y[f] : 0.0f);
                    }
            CHECK(ok, "slice_grad %d into %s", k, sstr(&so));
            off += w[k];
            free(part);
        }
        gl_node ns = mknode(GL_OP_SLICE, 1, si[2], 0, 0, 6, 0);
        const float *iny[1] = {y};
        const gl_shape *shy[1] = {&so};
        CHECK(run(&ns, back, 1, iny, shy, NULL, NULL, &err) == GL_ERR_VALUE, "slice out of range refused");
        ns.i[0] = -1;
        CHECK(run(&ns, back, 1, iny, shy, NULL, NULL, &err) == GL_ERR_VALUE, "slice negative start refused");
        gl_shape wrong = so;
        wrong.d[1] += 1;
        nd = mknode(GL_OP_CONCAT, 3, wrong, 0, 0, 0, 0);
        CHECK(run(&nd, back, 3, in, sh, NULL, NULL, &err) == GL_ERR_VALUE, "concat size mismatch refused");
        for (int k = 0; k < 3; k++) free(x[k]);
        free(y); free(back); free(ref);
    }
    /* reshape */
    float x[24], y[24];
    fill_rand(x, 24, -1, 1);
    gl_shape sx = shp(3, 2, 3, 4, 0), so = shp(2, 6, 4, 0, 0), sbad = shp(2, 5, 5, 0, 0);
    gl_node nd = mknode(GL_OP_RESHAPE, 1, so, 0, 0, 0, 0);
    const float *in[1] = {x};
    const gl_shape *sh[1] = {&sx};
    CHECK(run(&nd, y, 1, in, sh, pool, NULL, &err) == GL_OK && memcmp(x, y, sizeof x) == 0, "reshape copies");
    nd.shape = sbad;
    CHECK(run(&nd, y, 1, in, sh, pool, NULL, &err) == GL_ERR_VALUE, "reshape numel mismatch refused");
}

/* ---- leaves, fill, random kernels ---- */

static void test_misc(gl_pool *pool) {
    gl_error err;
    float y[1000];
    gl_shape s = shp(2, 10, 100, 0, 0);
    gl_op leaves[] = {GL_OP_INPUT, GL_OP_PARAM, GL_OP_CONST};
    for (int k = 0; k < 3; k++) {
        gl_node nd = mknode(leaves[k], 0, s, 0, 0, 0, 0);
        CHECK(run(&nd, y, 0, NULL, NULL, pool, NULL, &err) == GL_ERR_INTERNAL, "leaf %d is not a kernel", leaves[k]);
    }
    gl_node nd = mknode(GL_OP_FILL, 0, s, 3.5f, 0, 0, 0);
    int ok = run(&nd, y, 0, NULL, NULL, pool, NULL, &err) == GL_OK;
    for (int i = 0; i < 1000; i++) ok &= y[i] == 3.5f;
    CHECK(ok, "fill");
    nd = mknode(GL_OP_COUNT, 0, s, 0, 0, 0, 0);
    CHECK(run(&nd, y, 0, NULL, NULL, pool, NULL, &err) == GL_ERR_INTERNAL, "bad op refused");

    gl_rng r1, r2;
    gl_rng_seed(&r1, 42);
    gl_rng_seed(&r2, 42);
    float z[1000];
    gl_op rops[] = {GL_OP_RAND_UNIFORM, GL_OP_RAND_NORMAL, GL_OP_DROPOUT_MASK};
    float f0s[] = {-1, 0, 0.25f}, f1s[] = {1, 1, 0};
    for (int k = 0; k < 3; k++) {
        nd = mknode(rops[k], 0, s, f0s[k], f1s[k], 0, 0);
        gl_status st = run(&nd, y, 0, NULL, NULL, pool, &r1, &err);
        if (k == 0) gl_rng_uniform(&r2, NULL, z, 1000, -1, 1);
        if (k == 1) gl_rng_normal(&r2, NULL, z, 1000, 0, 1);
        if (k == 2) gl_rng_dropout(&r2, NULL, z, 1000, 0.25f);
        CHECK(st == GL_OK && memcmp(y, z, sizeof y) == 0 && r1.counter == r2.counter, "random kernel %d", rops[k]);
        CHECK(run(&nd, y, 0, NULL, NULL, pool, NULL, &err) == GL_ERR_INTERNAL, "random kernel without rng refused");
    }
    nd = mknode(GL_OP_DROPOUT_MASK, 0, s, 1.0f, 0, 0, 0);
    CHECK(run(&nd, y, 0, NULL, NULL, pool, &r1, &err) == GL_ERR_VALUE, "dropout p = 1 refused");
    nd = mknode(GL_OP_RAND_UNIFORM, 0, s, 1.0f, 0, 0, 0);
    CHECK(run(&nd, y, 0, NULL, NULL, pool, &r1, &err) == GL_ERR_VALUE, "uniform low > high refused");
    CHECK(gl_kernel_workspace(NULL, 0) == 0, "no workspace needed");
}

int main(void) {
    gl_error err;
    gl_pool *pool = NULL;
    if (gl_pool_new(3, &pool, &err) != GL_OK) {
        printf("cannot create pool: %s\n", err.msg);
        return 1;
    }
    test_pool();
    test_rng();
    test_tanh_sweep();
    test_transcendental_sweep();
    gl_pool *pools[2] = {NULL, pool};
    for (int k = 0; k < 2; k++) {
        test_unary(pools[k]);
        test_binary(pools[k]);
        test_grad_binary(pools[k]);
        test_reduce(pools[k]);
        test_logsumexp(pools[k]);
        test_instance_norm(pools[k]);
        test_sumsq_rows(pools[k]);
        test_matmul(pools[k]);
        test_layout(pools[k]);
        test_misc(pools[k]);
    }
    gl_pool_free(pool);
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail != 0;
}
