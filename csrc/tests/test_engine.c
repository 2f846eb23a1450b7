/* test_engine.c - the C engine end to end: graph building, autodiff, program
 * compilation (arena planning), execution, sinks and errors.
 *
 * Prints one line per check and a final "N passed, M failed"; exits nonzero
 * on any failure. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/gl_graph.h"
#include "../core/gl_pool.h"
#include "../core/gl_program.h"
#include "../core/gl_rng.h"
#include "../core/gl_status.h"

static int n_pass, n_fail;

static void check(int ok, const char *name, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void check(int ok, const char *name, const char *fmt, ...) {
    printf("%s %s", ok ? "PASS" : "FAIL", name);
    if (fmt && fmt[0]) {
        va_list ap;
        va_start(ap, fmt);
        printf(": ");
        vprintf(fmt, ap);
        va_end(ap);
    }
    printf("\n");
    fflush(stdout);
    if (ok) n_pass++;
    else n_fail++;
}

/* deterministic test data (not the library RNG: tests must not depend on it) */
static unsigned long long lcg_state = 12345;
static float frand(void) { /* uniform in [-1, 1) */
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((double)(lcg_state >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}
static void fill_rand(float *x, size_t n, float scale) {
    for (size_t i = 0; i < n; i++) x[i] = scale * frand();
}

static double max_abs_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= m)) m = d; /* NaN counts as a failure */
    }
    return m;
}

/* Compile and report failure as a check; returns NULL on error. */
static gl_program *compile(const gl_graph *g, int nout, const int *outs, float *const *dst,
                           const char *name) {
    gl_program *p = NULL;
    gl_error err;
    gl_error_clear(&err);
    if (g->err.code != GL_OK) {
        check(0, name, "graph building failed: %s", g->err.msg);
        return NULL;
    }
    if (gl_program_new(g, nout, outs, dst, &p, &err) != GL_OK) {
        check(0, name, "compile failed: %s", err.msg);
        return NULL;
    }
    return p;
}

static int run(gl_program *p, gl_pool *pool, gl_rng *rng, const char *name) {
    gl_error err;
    gl_error_clear(&err);
    if (gl_program_run(p, pool, rng, &err) != GL_OK) {
        check(0, name, "run failed: %s", err.msg);
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------------ */

/* A chain of 10 elementwise ops: the arena holds ~2 blocks, not 10. */
static void test_arena_chain(void) {
    const char *name = "arena: chain of 10 elementwise ops reuses blocks";
    enum { N = 1000 };
    gl_graph *g = NULL;
    gl_error err;
    if (gl_graph_new(&g, &err) != GL_OK) { check(0, name, "%s", err.msg); return; }
    int x = gl_input(g, gl_shape2(10, 100));
    int h = x;
    for (int k = 0; k < 10; k++) {
        switch (k % 3) {
        case 0: h = gl_unary(g, GL_OP_TANH, h, 0, 0); break;
        case 1: h = gl_scale(g, h, 1.5f); break;
        default: h = gl_unary(g, GL_OP_SQUARE, h, 0, 0); break;
        }
    }
    gl_program *p = compile(g, 1, &h, NULL, name);
    if (!p) { gl_graph_free(g); return; }
    static float xv[N], ref[N];
    fill_rand(xv, N, 2.0f);
    for (int i = 0; i < N; i++) {
        double v = xv[i];
        for (int k = 0; k < 10; k++) {
            switch (k % 3) {
            case 0: v = tanh(v); break;
            case 1: v = 1.5 * v; break;
            default: v = v * v; break;
            }
        }
        ref[i] = (float)v;
    }
    gl_program_bind(p, x, xv, NULL);
    if (run(p, NULL, NULL, name)) {
        size_t block = N * sizeof(float);
        size_t bytes = gl_program_arena_bytes(p);
        double diff = max_abs_diff(gl_program_output(p, 0), ref, N);
        check(gl_program_num_steps(p) == 10, "arena: chain has 10 steps", "%d", gl_program_num_steps(p));
        check(bytes <= 3 * block && bytes >= block && diff < 1e-4, name,
              "arena %zu bytes vs %zu summed, max diff %.3g", bytes, 10 * block, diff);
    }
    gl_program_free(p);
    gl_graph_free(g);
}

/* Outputs in the middle of a chain, and a value read much later (long live
 * range), must survive the reuse of blocks around them. */
static void test_arena_outputs_survive(void) {
    const char *name = "arena: outputs and long-lived values are not overwritten";
    enum { N = 256 };
    gl_graph *g = NULL;
    gl_error err;
    if (gl_graph_new(&g, &err) != GL_OK) { check(0, name, "%s", err.msg); return; }
    int x = gl_input(g, gl_shape1(N));
    int a = gl_unary(g, GL_OP_TANH, x, 0, 0);      /* output 0, mid-chain    */
    int keep = gl_scale(g, a, 2.0f);                /* read again at the end  */
    int h = keep;
    for (int k = 0; k < 8; k++) h = gl_unary(g, k % 2 ? GL_OP_TANH : GL_OP_SQUARE, h, 0, 0);
    int mid = h;                                    /* output 1 */
    for (int k = 0; k < 4; k++) h = gl_scale(g, h, 0.5f);
    int last = gl_add(g, h, keep);                  /* output 2 */
    int outs[3] = {a, mid, last};
    gl_program *p = compile(g, 3, outs, NULL, name);
    if (!p) { gl_graph_free(g); return; }
    static float xv[N], ra[N], rmid[N], rlast[N];
    fill_rand(xv, N, 1.5f);
    for (int i = 0; i < N; i++) {
        double va = tanh((double)xv[i]), vk = 2.0 * va, v = vk;
        for (int k = 0; k < 8; k++) v = k % 2 ? tanh(v) : v * v;
        ra[i] = (float)va;
        rmid[i] = (float)v;
        rlast[i] = (float)(v / 16.0 + vk);
    }
    gl_program_bind(p, x, xv, NULL);
    /* run twice: a second run must not read stale state */
    if (run(p, NULL, NULL, name) && run(p, NULL, NULL, name)) {
        double d0 = max_abs_diff(gl_program_output(p, 0), ra, N);
        double d1 = max_abs_diff(gl_program_output(p, 1), rmid, N);
        double d2 = max_abs_diff(gl_program_output(p, 2), rlast, N);
        size_t bytes = gl_program_arena_bytes(p);
        size_t sum = (size_t)gl_program_num_steps(p) * N * sizeof(float);
        check(d0 < 1e-5 && d1 < 1e-4 && d2 < 1e-4 && bytes < sum, name,
              "diffs %.3g %.3g %.3g, arena %zu of %zu", d0, d1, d2, bytes, sum);
        const float *o[3] = {gl_program_output(p, 0), gl_program_output(p, 1), gl_program_output(p, 2)};
        int distinct = o[0] != o[1] && o[1] != o[2] && o[0] != o[2];
        check(distinct, "arena: live outputs get distinct blocks", "%s", "");
    }
    gl_program_free(p);
    gl_graph_free(g);
}

/* Reshapes are views: no step, no copy, the memory of their root.  The root
 * must outlive its last view's reader even when its own readers are long
 * done, and a view of an input (bound per run) or one written into a dst
 * still runs as a copy. */
static void test_reshape_views(void) {
    const char *name = "views: reshapes alias their root and keep it alive";
    enum { N = 24, CHAIN = 6 };
    gl_graph *g = NULL;
    gl_error err;
    if (gl_graph_new(&g, &err) != GL_OK) { check(0, name, "%s", err.msg); return; }
    static float pv_data[N];
    fill_rand(pv_data, N, 1.0f);
    int64_t d64[2] = {6, 4}, d212[2] = {2, 12};
    int x = gl_input(g, gl_shape_make(2, d64));
    int a = gl_unary(g, GL_OP_TANH, x, 0, 0);
    int v1 = gl_reshape(g, a, gl_shape1(N));
    int v2 = gl_reshape(g, v1, gl_shape_make(2, d212)); /* a view of a view: output 0 */
    int h = gl_unary(g, GL_OP_SQUARE, x, 0, 0);
    for (int k = 0; k < CHAIN; k++) h = gl_scale(g, h, 0.5f); /* blocks come and go meanwhile */
    int last = gl_add(g, gl_reshape(g, v2, gl_shape_make(2, d64)), h); /* output 1 */
    int pm = gl_param(g, gl_shape_make(2, d64), pv_data);
    int pv = gl_reshape(g, pm, gl_shape1(N));       /* output 2: a view of a parameter */
    int xv = gl_reshape(g, x, gl_shape1(N));        /* output 3: of an input, a copy */
    int dv = gl_reshape(g, h, gl_shape_make(2, d212)); /* output 4: into a dst, a copy */
    int outs[5] = {v2, last, pv, xv, dv};
    static float dst4[N];
    float *dst[5] = {NULL, NULL, NULL, NULL, dst4};
    gl_program *p = compile(g, 5, outs, dst, name);
    if (!p) { gl_graph_free(g); return; }
    static float xv_data[N], ra[N], rlast[N], rh[N];
    fill_rand(xv_data, N, 1.5f);
    for (int i = 0; i < N; i++) {
        ra[i] = (float)tanh((double)xv_data[i]);
        rh[i] = (float)((double)xv_data[i] * xv_data[i] / 64.0);
        rlast[i] = ra[i] + rh[i];
    }
    gl_program_bind(p, x, xv_data, NULL);
    if (run(p, NULL, NULL, name) && run(p, NULL, NULL, name)) {
        double d0 = max_abs_diff(gl_program_output(p, 0), ra, N), d1 = max_abs_diff(gl_program_output(p, 1), rlast, N);
        double d2 = max_abs_diff(gl_program_output(p, 2), pv_data, N), d3 = max_abs_diff(gl_program_output(p, 3), xv_data, N);
        double d4 = max_abs_diff(dst4, rh, N);
        /* steps: tanh, square, the chain, add, and the two copies */
        const int steps = gl_program_num_steps(p), want = 3 + CHAIN + 2;
        check(d0 < 1e-6 && d1 < 1e-5 && d2 == 0 && d3 == 0 && d4 < 1e-6 && steps == want, name,
              "diffs %.3g %.3g %.3g %.3g %.3g, %d steps (want %d)", d0, d1, d2, d3, d4, steps, want);
        check(gl_program_output(p, 2) == pv_data && gl_program_output(p, 3) != xv_data,
              "views: a parameter's reshape is its data, an input's is copied", "%s", "");
    }
    gl_program_free(p);
    gl_graph_free(g);
}

/* Random DAGs of elementwise ops, checked against a direct evaluation in
 * double: exercises liveness (fan-out, long ranges), duplicate outputs, leaf
 * outputs and sinks together. */
static void test_arena_random_graphs(void) {
    const char *name = "arena: 200 random graphs match a direct evaluation";
    enum { W = 64, MAXN = 80, NOUT = 5 };
    static double val[MAXN][W];
    static float in0[W], in1[W], par[W], sink[NOUT][W];
    int sz[MAXN];
    int worst_graph = -1;
    double worst = 0;
    long long saved = 0, total = 0;
    for (int trial = 0; trial < 200; trial++) {
        gl_graph *g = NULL;
        gl_error err;
        if (gl_graph_new(&g, &err) != GL_OK) { check(0, name, "%s", err.msg); return; }
        fill_rand(in0, W, 1.0f);
        fill_rand(in1, W, 1.0f);
        fill_rand(par, W, 1.0f);
        int x0 = gl_input(g, gl_shape1(W)), x1 = gl_input(g, gl_shape1(W));
        int pp = gl_param(g, gl_shape1(W), par);
        for (int i = 0; i < W; i++) {
            val[x0][i] = in0[i];
            val[x1][i] = in1[i];
            val[pp][i] = par[i];
        }
        sz[x0] = sz[x1] = sz[pp] = W;
        int nn = 20 + (int)((frand() + 1.0f) * 25.0f);
        while (g->n < nn && g->n < MAXN - 2) {
            /* prefer recent nodes so that live ranges vary */
            int a = g->n - 1 - (int)((frand() + 1.0f) * 0.5f * (float)(frand() > 0 ? 3 : g->n - 1));
            int b = (int)((frand() + 1.0f) * 0.5f * (float)(g->n - 1));
            if (a < 0) a = 0;
            int kind = (int)((frand() + 1.0f) * 3.5f), id = -1;
            if (kind == 5 || kind == 6) { /* after an ADD these fuse into it, when nothing else reads it */
                id = gl_unary(g, kind == 5 ? GL_OP_RELU : GL_OP_LEAKY_RELU, a, 0.2f, 0);
                for (int i = 0; i < sz[a]; i++)
                    val[id][i] = val[a][i] > 0 ? val[a][i] : kind == 5 ? 0.0 : 0.2 * val[a][i];
                sz[id] = sz[a];
            } else if (kind == 0) {
                id = gl_unary(g, GL_OP_TANH, a, 0, 0);
                for (int i = 0; i < sz[a]; i++) val[id][i] = tanh(val[a][i]);
                sz[id] = sz[a];
            } else if (kind == 1) {
                id = gl_scale(g, a, 0.7f);
                for (int i = 0; i < sz[a]; i++) val[id][i] = 0.7f * val[a][i];
                sz[id] = sz[a];
            } else if (kind == 2 || kind == 3) {
                id = gl_binary(g, kind == 2 ? GL_OP_ADD : GL_OP_MUL, a, b);
                sz[id] = sz[a] > sz[b] ? sz[a] : sz[b];
                for (int i = 0; i < sz[id]; i++) {
                    double va = val[a][sz[a] == 1 ? 0 : i], vb = val[b][sz[b] == 1 ? 0 : i];
                    val[id][i] = kind == 2 ? va + vb : va * vb;
                }
                if (kind == 2 && frand() > 0) {
                    int h = gl_scale(g, id, 0.5f);
                    for (int i = 0; i < sz[id]; i++) val[h][i] = 0.5 * val[id][i];
                    sz[h] = sz[id];
                }
            } else {
                int s = gl_sum_to(g, a, gl_shape1(1));
                double t = 0;
                for (int i = 0; i < sz[a]; i++) t += val[a][i];
                val[s][0] = t;
                sz[s] = 1;
                id = gl_scale(g, s, 1.0f / (float)sz[a]);
                val[id][0] = t / sz[a];
                sz[id] = 1;
            }
            if (id < 0) break;
        }
        if (g->err.code != GL_OK) { check(0, name, "build: %s", g->err.msg); gl_graph_free(g); return; }
        int outs[NOUT];
        float *dst[NOUT];
        for (int k = 0; k < NOUT; k++) {
            /* mostly late nodes, sometimes any node (leaves included) or a duplicate */
            double u = (frand() + 1.0) * 0.5;
            outs[k] = k > 0 && u < 0.15 ? outs[k - 1]
                    : u < 0.35 ? (int)((frand() + 1.0f) * 0.5f * (float)(g->n - 1))
                               : g->n - 1 - (int)((frand() + 1.0f) * 2.0f);
            if (outs[k] < 0) outs[k] = 0;
            dst[k] = frand() > 0 ? sink[k] : NULL;
        }
        gl_program *p = compile(g, NOUT, outs, dst, name);
        if (!p) { gl_graph_free(g); return; }
        gl_program_bind(p, x0, in0, NULL);
        gl_program_bind(p, x1, in1, NULL);
        if (!run(p, NULL, NULL, name) || !run(p, NULL, NULL, name)) {
            gl_program_free(p);
            gl_graph_free(g);
            return;
        }
        for (int k = 0; k < NOUT; k++) {
            const float *o = gl_program_output(p, k);
            if (dst[k] && o != dst[k]) { worst = INFINITY; worst_graph = trial; }
            for (int i = 0; i < sz[outs[k]]; i++) {
                double ref = val[outs[k]][i];
                double e = fabs(o[i] - ref) / (1.0 + fabs(ref));
                if (!(e <= worst)) { worst = e; worst_graph = trial; }
            }
        }
        for (int t = 0; t < g->n; t++)
            if (g->nodes[t].op != GL_OP_INPUT && g->nodes[t].op != GL_OP_PARAM) total += sz[t] == 1 ? 64 : sz[t] * 4;
        saved += (long long)gl_program_arena_bytes(p);
        gl_program_free(p);
        gl_graph_free(g);
    }
    check(worst < 1e-5, name, "worst relative error %.3g (graph %d); arena %lld bytes vs %lld unshared",
          worst, worst_graph, saved, total);
}

/* An activation fuses into the ADD or BATCH_NORM it reads when nothing else
 * reads that node: one step instead of two, same values; a node read twice
 * keeps its own value and the activation its own step. */
static void test_fused_activations(void) {
    const char *name = "fusion: relu / leaky relu run inside add and batch norm";
    enum { N = 4, C = 3, S = 5, NE = N * C * S };
    gl_graph *g = NULL;
    gl_error err;
    if (gl_graph_new(&g, &err) != GL_OK) { check(0, name, "%s", err.msg); return; }
    static float xv[NE], bv[C], gv[C], tv[C];
    fill_rand(xv, NE, 2.0f);
    fill_rand(bv, C, 0.5f);
    fill_rand(gv, C, 1.0f);
    fill_rand(tv, C, 0.5f);
    int64_t dx[4] = {N, C, S, 1}, db[4] = {1, C, 1, 1};
    int x = gl_input(g, gl_shape_make(4, dx)), b = gl_param(g, gl_shape_make(4, db), bv);
    int gm = gl_param(g, gl_shape1(C), gv), bt = gl_param(g, gl_shape1(C), tv);
    int r = gl_unary(g, GL_OP_RELU, gl_add(g, x, b), 0, 0);                           /* fused */
    int l = gl_unary(g, GL_OP_LEAKY_RELU, gl_batch_norm(g, r, gm, bt, NULL, NULL, 1e-5f, 0.1f, 1), 0.2f, 0);
    int u = gl_add(g, x, b);                                                         /* read twice */
    int v = gl_add(g, gl_unary(g, GL_OP_TANH, u, 0, 0), gl_unary(g, GL_OP_LEAKY_RELU, u, 0.2f, 0));
    int outs[3] = {l, v, r};
    gl_program *p = compile(g, 3, outs, NULL, name);
    if (!p) { gl_graph_free(g); return; }
    static float rr[NE], rl[NE], rv[NE];
    for (int i = 0; i < NE; i++) {
        const double a = (double)xv[i] + bv[(i / S) % C];
        rr[i] = (float)(a > 0 ? a : 0);
        rv[i] = (float)(tanh(a) + (a > 0 ? a : 0.2 * a));
    }
    for (int c = 0; c < C; c++) {
        double m = 0, q = 0;
        for (int n = 0; n < N; n++)
            for (int s = 0; s < S; s++) m += rr[(n * C + c) * S + s];
        m /= N * S;
        for (int n = 0; n < N; n++)
            for (int s = 0; s < S; s++) q += (rr[(n * C + c) * S + s] - m) * (rr[(n * C + c) * S + s] - m);
        const double inv = 1.0 / sqrt(q / (N * S) + 1e-5);
        for (int n = 0; n < N; n++)
            for (int s = 0; s < S; s++) {
                const int i = (n * C + c) * S + s;
                const double y = gv[c] * (rr[i] - m) * inv + tv[c];
                rl[i] = (float)(y > 0 ? y : 0.2 * y);
            }
    }
    gl_program_bind(p, x, xv, NULL);
    if (run(p, NULL, NULL, name) && run(p, NULL, NULL, name)) {
        const double dl = max_abs_diff(gl_program_output(p, 0), rl, NE);
        const double dv = max_abs_diff(gl_program_output(p, 1), rv, NE);
        const double dr = max_abs_diff(gl_program_output(p, 2), rr, NE);
        /* add(+relu), batch_norm(+leaky), add, tanh, leaky, add: 6 steps, 8 unfused */
        check(dl < 1e-5 && dv < 1e-5 && dr == 0 && gl_program_num_steps(p) == 6, name,
              "diffs %.3g %.3g %.3g, %d steps (want 6)", dl, dv, dr, gl_program_num_steps(p));
    }
    gl_program_free(p);
    gl_graph_free(g);
}

/* ------------------------------------------------------------------------ */

static void test_shapes(void) {
    const char *name = "graph: shape inference";
    gl_graph *g = NULL;
    gl_error err;
    if (gl_graph_new(&g, &err) != GL_OK) { check(0, name, "%s", err.msg); return; }
    int a = gl_input(g, gl_shape2(3, 4));
    int b = gl_input(g, gl_shape2(4, 5));
    int c = gl_input(g, gl_shape2(5, 4));
    int m = gl_matmul(g, a, b, 0, 0);               /* (3, 5) */
    int mt = gl_matmul(g, a, c, 0, 1);              /* (3, 4) @ (5, 4)^T = (3, 5) */
    int col = gl_input(g, gl_shape2(3, 1));
    int row = gl_input(g, gl_shape1(5));
    int bc = gl_add(g, col, row);                   /* (3, 5) */
    int s = gl_sum_all(g, m);                       /* () */
    int st = gl_sum_to(g, m, gl_shape2(1, 5));      /* (1, 5) */
    int th = gl_unary(g, GL_OP_TANH, mt, 0, 0);
    int ok = g->err.code == GL_OK && m >= 0 && mt >= 0 && bc >= 0 && s >= 0 && st >= 0 && th >= 0;
    if (ok) {
        gl_shape e35 = gl_shape2(3, 5), e0 = gl_shape0(), e15 = gl_shape2(1, 5);
        ok = gl_shape_eq(&g->nodes[m].shape, &e35) && gl_shape_eq(&g->nodes[mt].shape, &e35) &&
             gl_shape_eq(&g->nodes[bc].shape, &e35) && gl_shape_eq(&g->nodes[s].shape, &e0) &&
             gl_shape_eq(&g->nodes[st].shape, &e15) && gl_shape_eq(&g->nodes[th].shape, &e35);
    }
    check(ok, name, "%s", g->err.msg);
    gl_graph_free(g);
}

static void test_matmul_mismatch(void) {
    const char *name = "graph: mismatched matmul gives -1 and a message";
    gl_graph *g = NULL;
    gl_error err;
    if (gl_graph_new(&g, &err) != GL_OK) { check(0, name, "%s", err.msg); return; }
    int a = gl_input(g, gl_shape2(3, 4));
    int b = gl_input(g, gl_shape2(5, 6));
    int n_before = g->n;
    int m = gl_matmul(g, a, b, 0, 0);
    int after = gl_unary(g, GL_OP_TANH, m, 0, 0);   /* -1 propagates */
    int ok = m == -1 && after == -1 && g->err.code == GL_ERR_VALUE && g->err.msg[0] != '\0' &&
             g->n == n_before;
    check(ok, name, "m=%d after=%d code=%d msg=\"%s\"", m, after, (int)g->err.code, g->err.msg);
    gl_graph_free(g);
}

/* ------------------------------------------------------------------------ */

/* A small MLP: loss = mean((tanh(x W1 + b1) W2 - t)^2) + 0.1 * mean(sigmoid(...)). */
typedef struct mlp {
    gl_graph *g;
    int x, w1, b1, w2, loss;
    float W1[3 * 5], B1[5], W2[5 * 2], X[4 * 3];
} mlp;

static int mlp_build(mlp *m) {
    gl_error err;
    if (gl_graph_new(&m->g, &err) != GL_OK) return 0;
    gl_graph *g = m->g;
    fill_rand(m->W1, 15, 0.8f);
    fill_rand(m->B1, 5, 0.3f);
    fill_rand(m->W2, 10, 0.8f);
    fill_rand(m->X, 12, 1.0f);
    float T[8];
    fill_rand(T, 8, 1.0f);
    m->x = gl_input(g, gl_shape2(4, 3));
    m->w1 = gl_param(g, gl_shape2(3, 5), m->W1);
    m->b1 = gl_param(g, gl_shape2(1, 5), m->B1);
    m->w2 = gl_param(g, gl_shape2(5, 2), m->W2);
    int t = gl_const(g, gl_shape2(4, 2), T);
    int h = gl_unary(g, GL_OP_TANH, gl_add(g, gl_matmul(g, m->x, m->w1, 0, 0), m->b1), 0, 0);
    int o = gl_matmul(g, h, m->w2, 0, 0);
    int sq = gl_mean_all(g, gl_unary(g, GL_OP_SQUARE, gl_sub(g, o, t), 0, 0));
    int sg = gl_scale(g, gl_mean_all(g, gl_unary(g, GL_OP_SIGMOID, o, 0, 0)), 0.1f);
    m->loss = gl_add(g, sq, sg);
    return g->err.code == GL_OK && m->loss >= 0;
}

/* Central differences in double of the scalar output 0 of p with respect to
 * every element of buf, compared with analytic gradient ana. */
static double fd_check(gl_program *p, float *buf, size_t n, const float *ana, const char *name,
                       double eps) {
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        float save = buf[i];
        buf[i] = (float)(save + eps);
        double hi_eps = (double)buf[i] - save;
        if (!run(p, NULL, NULL, name)) return INFINITY;
        double fp = gl_program_output(p, 0)[0];
        buf[i] = (float)(save - eps);
        double lo_eps = save - (double)buf[i];
        if (!run(p, NULL, NULL, name)) return INFINITY;
        double fm = gl_program_output(p, 0)[0];
        buf[i] = save;
        double num = (fp - fm) / (hi_eps + lo_eps);
        double e = fabs(num - ana[i]) / (1e-3 + fabs(num));
        if (!(e <= worst)) worst = e;
    }
    return worst;
}

static void test_grad_mlp(void) {
    const char *name = "grad: MLP gradients match central differences";
    mlp m;
    if (!mlp_build(&m)) { check(0, name, "build: %s", m.g ? m.g->err.msg : "no graph"); gl_graph_free(m.g); return; }
    gl_graph *g = m.g;
    int wrt[3] = {m.w1, m.b1, m.w2}, gr[3] = {-1, -1, -1};
    gl_status st = gl_grad(g, m.loss, -1, 3, wrt, gr);
    if (st != GL_OK) { check(0, name, "gl_grad: %s", g->err.msg); gl_graph_free(g); return; }
    int outs[4] = {m.loss, gr[0], gr[1], gr[2]};
    gl_program *p = compile(g, 4, outs, NULL, name);
    if (!p) { gl_graph_free(g); return; }
    gl_program_bind(p, m.x, m.X, NULL);
    if (!run(p, NULL, NULL, name)) { gl_program_free(p); gl_graph_free(g); return; }
    float a1[15], ab[5], a2[10];
    memcpy(a1, gl_program_output(p, 1), sizeof a1);
    memcpy(ab, gl_program_output(p, 2), sizeof ab);
    memcpy(a2, gl_program_output(p, 3), sizeof a2);
    double e1 = fd_check(p, m.W1, 15, a1, name, 1e-2);
    double eb = fd_check(p, m.B1, 5, ab, name, 1e-2);
    double e2 = fd_check(p, m.W2, 10, a2, name, 1e-2);
    double worst = fmax(e1, fmax(eb, e2));
    check(worst < 2e-2, name, "worst relative error %.3g (W1 %.3g, b1 %.3g, W2 %.3g)", worst, e1, eb, e2);
    gl_program_free(p);
    gl_graph_free(g);
}

/* Second order: P = sum((dL/dW1)^2); dP/dW1 and dP/dW2 through matmul + tanh. */
static void test_grad_second_order(void) {
    const char *name = "grad: second order (grad of squared gradient norm) matches differences";
    mlp m;
    if (!mlp_build(&m)) { check(0, name, "build: %s", m.g ? m.g->err.msg : "no graph"); gl_graph_free(m.g); return; }
    gl_graph *g = m.g;
    int gw1 = -1;
    if (gl_grad(g, m.loss, -1, 1, &m.w1, &gw1) != GL_OK) {
        check(0, name, "first gl_grad: %s", g->err.msg);
        gl_graph_free(g);
        return;
    }
    int pen = gl_sum_all(g, gl_unary(g, GL_OP_SQUARE, gw1, 0, 0));
    int wrt[2] = {m.w1, m.w2}, gr[2] = {-1, -1};
    if (pen < 0 || gl_grad(g, pen, -1, 2, wrt, gr) != GL_OK) {
        check(0, name, "second gl_grad: %s", g->err.msg);
        gl_graph_free(g);
        return;
    }
    int outs[3] = {pen, gr[0], gr[1]};
    gl_program *p = compile(g, 3, outs, NULL, name);
    if (!p) { gl_graph_free(g); return; }
    gl_program_bind(p, m.x, m.X, NULL);
    if (!run(p, NULL, NULL, name)) { gl_program_free(p); gl_graph_free(g); return; }
    float a1[15], a2[10];
    memcpy(a1, gl_program_output(p, 1), sizeof a1);
    memcpy(a2, gl_program_output(p, 2), sizeof a2);
    double nrm = 0;
    for (int i = 0; i < 15; i++) nrm += fabs(a1[i]);
    double e1 = fd_check(p, m.W1, 15, a1, name, 1e-2);
    double e2 = fd_check(p, m.W2, 10, a2, name, 1e-2);
    double worst = fmax(e1, e2);
    check(worst < 3e-2 && nrm > 1e-4, name, "worst relative error %.3g (W1 %.3g, W2 %.3g), |dP/dW1|_1 %.3g",
          worst, e1, e2, nrm);
    gl_program_free(p);
    gl_graph_free(g);
}

/* ------------------------------------------------------------------------ */

static void test_alloc_free_runs(void) {
    const char *name = "run: 100 runs after the first allocate nothing";
    mlp m;
    if (!mlp_build(&m)) { check(0, name, "build: %s", m.g ? m.g->err.msg : "no graph"); gl_graph_free(m.g); return; }
    gl_graph *g = m.g;
    int wrt[3] = {m.w1, m.b1, m.w2}, gr[3] = {-1, -1, -1};
    if (gl_grad(g, m.loss, -1, 3, wrt, gr) != GL_OK) { check(0, name, "%s", g->err.msg); gl_graph_free(g); return; }
    /* a random node too, so the RNG path runs */
    int noise = gl_random(g, GL_OP_RAND_NORMAL, gl_shape2(4, 2), 0.0f, 1.0f);
    int nz = gl_sum_all(g, gl_unary(g, GL_OP_SQUARE, noise, 0, 0));
    float flat[15 + 5 + 10];
    float *dst[5] = {NULL, flat, flat + 15, flat + 20, NULL};
    int outs[5] = {m.loss, gr[0], gr[1], gr[2], nz};
    gl_program *p = compile(g, 5, outs, dst, name);
    if (!p) { gl_graph_free(g); return; }
    gl_pool *pool = NULL;
    gl_error err;
    if (gl_pool_new(4, &pool, &err) != GL_OK) {
        check(0, name, "pool: %s", err.msg);
        gl_program_free(p);
        gl_graph_free(g);
        return;
    }
    gl_rng rng;
    gl_rng_seed(&rng, 7);
    gl_program_bind(p, m.x, m.X, NULL);
    /* a second program large enough that the pool and threaded BLAS engage */
    enum { B = 256 };
    int bx = gl_input(g, gl_shape2(B, B));
    int bh = gl_unary(g, GL_OP_TANH, gl_matmul(g, bx, bx, 0, 1), 0, 0);
    int bs = gl_sum_to(g, gl_mul(g, bh, gl_scale(g, bx, 0.5f)), gl_shape2(1, B));
    gl_program *pb = compile(g, 1, &bs, NULL, name);
    float *bxv = malloc(sizeof(float) * B * B);
    int ok = pb && bxv;
    if (ok) {
        fill_rand(bxv, (size_t)B * B, 0.1f);
        gl_program_bind(pb, bx, bxv, NULL);
        ok = run(p, pool, &rng, name) && run(pb, pool, &rng, name);
    }
    long long before = gl_alloc_count();
    for (int r = 0; ok && r < 100; r++) ok = run(p, pool, &rng, name) && run(pb, pool, &rng, name);
    long long after = gl_alloc_count();
    if (ok) check(after == before, name, "%lld allocations", after - before);
    if (ok) { /* the pool must not change the result (fixed chunking, no races) */
        float first[B];
        memcpy(first, gl_program_output(pb, 0), sizeof first);
        ok = run(pb, NULL, NULL, name);
        if (ok) {
            const float *one = gl_program_output(pb, 0);
            double d = 0;
            for (int i = 0; i < B; i++) d = fmax(d, fabs((double)first[i] - one[i]) / (1.0 + fabs(one[i])));
            check(d <= 1e-5, "run: a 4-thread pool matches a single thread", "max diff %.3g", d);
        }
    }
    free(bxv);
    gl_program_free(pb);
    gl_pool_free(pool);
    gl_program_free(p);
    gl_graph_free(g);
}

/* Sinks: outputs written straight to caller buffers, duplicates and leaves copied. */
static void test_dst_sinks(void) {
    const char *name = "sinks: outputs land in dst, duplicates and leaves are copied";
    mlp m;
    if (!mlp_build(&m)) { check(0, name, "build: %s", m.g ? m.g->err.msg : "no graph"); gl_graph_free(m.g); return; }
    gl_graph *g = m.g;
    int wrt[3] = {m.w1, m.b1, m.w2}, gr[3] = {-1, -1, -1};
    if (gl_grad(g, m.loss, -1, 3, wrt, gr) != GL_OK) { check(0, name, "%s", g->err.msg); gl_graph_free(g); return; }
    /* reference without sinks */
    int outs[4] = {m.loss, gr[0], gr[1], gr[2]};
    gl_program *ref = compile(g, 4, outs, NULL, name);
    if (!ref) { gl_graph_free(g); return; }
    gl_program_bind(ref, m.x, m.X, NULL);
    if (!run(ref, NULL, NULL, name)) { gl_program_free(ref); gl_graph_free(g); return; }

    /* sinks: the gradients into one flat buffer; gr[0] twice (copied); a
     * PARAM leaf (copied); the loss, which other outputs do not read. */
    float flat[15 + 5 + 10], dup[15], wcopy[10], lossv[1];
    memset(flat, 0, sizeof flat);
    int outs2[6] = {gr[0], gr[1], gr[2], gr[0], m.w2, m.loss};
    float *dst[6] = {flat, flat + 15, flat + 20, dup, wcopy, lossv};
    gl_program *p = compile(g, 6, outs2, dst, name);
    if (!p) { gl_program_free(ref); gl_graph_free(g); return; }
    gl_program_bind(p, m.x, m.X, NULL);
    if (run(p, NULL, NULL, name)) {
        int ptr_ok = 1;
        for (int k = 0; k < 6; k++) ptr_ok &= gl_program_output(p, k) == dst[k];
        double d = max_abs_diff(flat, gl_program_output(ref, 1), 15);
        d = fmax(d, max_abs_diff(flat + 15, gl_program_output(ref, 2), 5));
        d = fmax(d, max_abs_diff(flat + 20, gl_program_output(ref, 3), 10));
        d = fmax(d, max_abs_diff(dup, gl_program_output(ref, 1), 15));
        d = fmax(d, max_abs_diff(wcopy, m.W2, 10));
        d = fmax(d, max_abs_diff(lossv, gl_program_output(ref, 0), 1));
        check(ptr_ok && d == 0.0, name, "outputs at dst: %d, max diff %.3g", ptr_ok, d);
        /* direct sinks take nothing from the arena */
        check(gl_program_arena_bytes(p) <= gl_program_arena_bytes(ref),
              "sinks: arena not larger than without sinks", "%zu vs %zu",
              gl_program_arena_bytes(p), gl_program_arena_bytes(ref));
    }
    gl_program_free(p);

    /* a dst that aliases a parameter a later step reads: the later step
     * must still see the old values (the output is copied at the end) */
    float wsave[10];
    memcpy(wsave, m.W2, sizeof wsave);
    int dbl = gl_scale(g, m.w2, 2.0f);
    int tot = gl_sum_all(g, m.w2);
    int outs3[2] = {dbl, tot};
    float *dst3[2] = {m.W2, NULL};
    p = compile(g, 2, outs3, dst3, name);
    if (p) {
        if (run(p, NULL, NULL, name)) {
            float expect[10];
            double sum = 0;
            for (int i = 0; i < 10; i++) {
                expect[i] = 2.0f * wsave[i];
                sum += wsave[i];
            }
            double d = max_abs_diff(m.W2, expect, 10);
            double ds = fabs(gl_program_output(p, 1)[0] - sum);
            check(d == 0.0 && ds < 1e-5 && gl_program_output(p, 0) == m.W2,
                  "sinks: dst aliasing a parameter read later is written at the end",
                  "max diff %.3g, sum diff %.3g", d, ds);
        }
        gl_program_free(p);
    }
    memcpy(m.W2, wsave, sizeof wsave);
    gl_program_free(ref);
    gl_graph_free(g);
}

/* ------------------------------------------------------------------------ */

static void test_unbound_input(void) {
    const char *name = "run: unbound input is an error naming the node and shape";
    gl_graph *g = NULL;
    gl_error err;
    if (gl_graph_new(&g, &err) != GL_OK) { check(0, name, "%s", err.msg); return; }
    int a = gl_input(g, gl_shape2(4, 3));
    int b = gl_input(g, gl_shape2(4, 3));
    int s = gl_add(g, a, b);
    gl_program *p = compile(g, 1, &s, NULL, name);
    if (!p) { gl_graph_free(g); return; }
    float av[12] = {0};
    gl_program_bind(p, a, av, NULL);
    gl_error_clear(&err);
    gl_status st = gl_program_run(p, NULL, NULL, &err);
    char want[32];
    snprintf(want, sizeof want, "%d", b);
    int ok = st == GL_ERR_VALUE && strstr(err.msg, want) && strstr(err.msg, "(4, 3)");
    check(ok, name, "status %d, \"%s\"", (int)st, err.msg);
    check(gl_program_num_inputs(p) == 2 && gl_program_input_node(p, 0) == a &&
          gl_program_input_node(p, 1) == b && gl_program_input_node(p, 2) == -1,
          "program: input list in graph order", "%s", "");
    gl_error_clear(&err);
    st = gl_program_bind(p, s, av, &err);
    check(st == GL_ERR_VALUE && err.msg[0], "bind: binding a non-input node is an error", "%s", err.msg);
    gl_program_free(p);

    /* a sink that is also the memory of a bound input is refused at run time */
    float *dst[1] = {av};
    p = compile(g, 1, &s, dst, name);
    if (p) {
        float bv[12] = {0};
        gl_program_bind(p, a, av, NULL);
        gl_program_bind(p, b, bv, NULL);
        gl_error_clear(&err);
        st = gl_program_run(p, NULL, NULL, &err);
        check(st == GL_ERR_VALUE && strstr(err.msg, "overlaps"), "run: dst overlapping a bound input is an error",
              "%s", err.msg);
        gl_program_free(p);
    }
    gl_graph_free(g);
}

static void test_compile_errors(void) {
    const char *name = "compile: bad outputs, zero-size dst, empty graph rejected";
    gl_graph *g = NULL, *empty = NULL;
    gl_error err;
    if (gl_graph_new(&g, &err) != GL_OK || gl_graph_new(&empty, &err) != GL_OK) {
        check(0, name, "%s", err.msg);
        gl_graph_free(g);
        return;
    }
    int a = gl_input(g, gl_shape2(0, 3));
    int t = gl_unary(g, GL_OP_TANH, a, 0, 0);
    gl_program *p = NULL;
    int bad = t + 5, neg = -1, outs0[1] = {t};
    float buf[4];
    float *dst[1] = {buf};
    gl_status s1 = gl_program_new(g, 1, &bad, NULL, &p, &err);
    gl_status s2 = gl_program_new(g, 1, &neg, NULL, &p, &err);
    gl_status s3 = gl_program_new(g, 1, outs0, dst, &p, &err);
    gl_status s4 = gl_program_new(g, 0, outs0, NULL, &p, &err);
    gl_status s5 = gl_program_new(empty, 1, outs0, NULL, &p, &err);
    int ok = s1 == GL_ERR_VALUE && s2 == GL_ERR_VALUE && s3 == GL_ERR_VALUE && s4 == GL_ERR_VALUE &&
             s5 == GL_ERR_VALUE && p == NULL;
    check(ok, name, "%d %d %d %d %d", (int)s1, (int)s2, (int)s3, (int)s4, (int)s5);

    /* zero-size tensors without a dst compile and run */
    gl_error_clear(&err);
    ok = gl_program_new(g, 1, outs0, NULL, &p, &err) == GL_OK;
    if (ok) {
        gl_program_bind(p, a, buf, NULL);
        ok = gl_program_run(p, NULL, NULL, &err) == GL_OK;
        gl_program_free(p);
    }
    check(ok, "compile: zero-size tensors run", "%s", err.msg);
    gl_graph_free(g);
    gl_graph_free(empty);
}

/* Random ops without an RNG fail cleanly; two programs from one graph are
 * independent; a graph that grows after compilation still runs. */
static void test_programs_share_graph(void) {
    const char *name = "program: two programs from one graph, graph grows afterwards";
    gl_graph *g = NULL;
    gl_error err;
    if (gl_graph_new(&g, &err) != GL_OK) { check(0, name, "%s", err.msg); return; }
    int x = gl_input(g, gl_shape1(64));
    int a = gl_unary(g, GL_OP_TANH, x, 0, 0);
    int b = gl_scale(g, a, 3.0f);
    gl_program *p1 = compile(g, 1, &a, NULL, name);
    gl_program *p2 = compile(g, 1, &b, NULL, name);
    /* grow the graph well past its capacity (moves the node array) */
    int h = b;
    for (int k = 0; k < 300; k++) h = gl_unary(g, GL_OP_NEG, h, 0, 0);
    if (!p1 || !p2 || h < 0) {
        if (h < 0) check(0, name, "%s", g->err.msg);
        gl_program_free(p1);
        gl_program_free(p2);
        gl_graph_free(g);
        return;
    }
    float xv[64], ra[64], rb[64], xv2[64];
    fill_rand(xv, 64, 1.0f);
    fill_rand(xv2, 64, 1.0f);
    for (int i = 0; i < 64; i++) {
        ra[i] = tanhf(xv[i]);
        rb[i] = 3.0f * tanhf(xv2[i]);
    }
    gl_program_bind(p1, x, xv, NULL);
    gl_program_bind(p2, x, xv2, NULL);
    if (run(p1, NULL, NULL, name) && run(p2, NULL, NULL, name)) {
        double d = fmax(max_abs_diff(gl_program_output(p1, 0), ra, 64),
                        max_abs_diff(gl_program_output(p2, 0), rb, 64));
        check(d < 1e-5 && gl_program_num_steps(p1) == 1 && gl_program_num_steps(p2) == 2, name,
              "max diff %.3g", d);
    }
    gl_program_free(p1);
    gl_program_free(p2);

    int r = gl_random(g, GL_OP_RAND_UNIFORM, gl_shape1(8), 0.0f, 1.0f);
    gl_program *p3 = compile(g, 1, &r, NULL, name);
    if (p3) {
        gl_error_clear(&err);
        gl_status st = gl_program_run(p3, NULL, NULL, &err);
        check(st != GL_OK && strstr(err.msg, "rand_uniform"), "run: random op without an RNG is an error",
              "%s", err.msg);
        gl_rng r1, r2;
        gl_rng_seed(&r1, 42);
        gl_rng_seed(&r2, 42);
        float v1[8], v2[8];
        if (run(p3, NULL, &r1, name)) {
            memcpy(v1, gl_program_output(p3, 0), sizeof v1);
            if (run(p3, NULL, &r2, name)) {
                memcpy(v2, gl_program_output(p3, 0), sizeof v2);
                int inrange = 1;
                for (int i = 0; i < 8; i++) inrange &= v1[i] >= 0.0f && v1[i] < 1.0f;
                check(memcmp(v1, v2, sizeof v1) == 0 && inrange, "run: same seed gives the same draws", "%s", "");
            }
        }
        gl_program_free(p3);
    }
    gl_graph_free(g);
}

/* ------------------------------------------------------------------------ */

/* ONE_HOT, ARGMAX / ARGMIN, ROLL: shapes, builder errors, values, the
 * run-time error of a bad class index, autodiff (refusal and roll's
 * adjoint), and runs that allocate nothing. */
static void test_label_ops(void) {
    const char *name = "labels: one_hot / argmax / argmin / roll";
    gl_graph *g = NULL;
    gl_error err;
    if (gl_graph_new(&g, &err) != GL_OK) { check(0, name, "%s", err.msg); return; }

    /* builder errors: -1, GL_ERR_VALUE, a message naming the problem */
    int col2 = gl_input(g, gl_shape2(4, 2));
    const int64_t d3[3] = {2, 3, 4};
    int x3 = gl_input(g, gl_shape_make(3, d3));
    int sc = gl_input(g, gl_shape0());
    int labels = gl_input(g, gl_shape1(4));
    const char *want[6] = {"one_hot: expects indices of shape (batch,) or (batch, 1), got (4, 2)",
                           "one_hot: num_classes must be in [1, 16777216], got 0",
                           "one_hot: num_classes must be in [1, 16777216], got 16777217",
                           "argmax: expects a 2-D (batch, K) tensor with K >= 1, got (2, 3, 4)",
                           "roll: axis 3 is out of range for (2, 3, 4)",
                           "roll: expects a 1-D to 4-D tensor, got a scalar"};
    int bad_ok = 1;
    char bad_msg[GL_ERRMSG_LEN + 64] = "";
    for (int k = 0; k < 6; k++) {
        int id = k == 0 ? gl_one_hot(g, col2, 3)
               : k == 1 ? gl_one_hot(g, labels, 0)
               : k == 2 ? gl_one_hot(g, labels, ((int64_t)1 << 24) + 1)
               : k == 3 ? gl_argmax_onehot(g, x3)
               : k == 4 ? gl_roll(g, x3, 1, 3)
                        : gl_roll(g, sc, 1, 0);
        if (id != -1 || g->err.code != GL_ERR_VALUE || strcmp(g->err.msg, want[k]) != 0) {
            bad_ok = 0;
            snprintf(bad_msg, sizeof bad_msg, "case %d: id %d, code %d, \"%s\"", k, id, (int)g->err.code,
                     g->err.msg);
        }
        gl_error_clear(&g->err);
    }
    check(bad_ok, "labels: builders refuse bad shapes and arguments", "%s", bad_msg);

    /* values */
    int oh = gl_one_hot(g, labels, 3);
    int lab_col = gl_input(g, gl_shape2(4, 1));
    int oh_col = gl_one_hot(g, lab_col, 5);
    int xm = gl_input(g, gl_shape2(4, 3));
    int amax = gl_argmax_onehot(g, xm), amin = gl_argmin_onehot(g, xm);
    int r0 = gl_roll(g, x3, -7, 0);   /* n = 2: -7 mod 2 = 1 */
    int r1 = gl_roll(g, x3, 5, -2);   /* axis 1, n = 3: 5 mod 3 = 2 */
    int r2 = gl_roll(g, x3, 0, 2);
    gl_shape e43 = gl_shape2(4, 3), e45 = gl_shape2(4, 5);
    int shapes_ok = g->err.code == GL_OK && gl_shape_eq(&g->nodes[oh].shape, &e43) &&
                    gl_shape_eq(&g->nodes[oh_col].shape, &e45) && gl_shape_eq(&g->nodes[amin].shape, &e43) &&
                    g->nodes[r0].i[0] == 1 && g->nodes[r1].i[0] == 2 && g->nodes[r1].i[1] == 1;
    check(shapes_ok, "labels: shapes and normalised shifts", "%s", g->err.msg);
    int outs[7] = {oh, oh_col, amax, amin, r0, r1, r2};
    gl_program *p = compile(g, 7, outs, NULL, name);
    if (!p) { gl_graph_free(g); return; }
    float lv[4] = {2, 0, 1, 2}, lc[4] = {4, 4, 0, 3};
    const float nan = NAN;
    float xv[12] = {1, 3, 3, /* tie: first */ nan, 0, nan, /* first NaN */ 2, nan, -1, -5, -5, -5};
    float x3v[24];
    for (int i = 0; i < 24; i++) x3v[i] = (float)i;
    gl_program_bind(p, labels, lv, NULL);
    gl_program_bind(p, lab_col, lc, NULL);
    gl_program_bind(p, xm, xv, NULL);
    gl_program_bind(p, x3, x3v, NULL);
    if (run(p, NULL, NULL, name)) {
        int ok = 1;
        const float *o = gl_program_output(p, 0);
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 3; c++) ok &= o[r * 3 + c] == (c == (int)lv[r] ? 1.0f : 0.0f);
        o = gl_program_output(p, 1);
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 5; c++) ok &= o[r * 5 + c] == (c == (int)lc[r] ? 1.0f : 0.0f);
        check(ok, "labels: one_hot values ((B,) and (B, 1) indices)", "%s", "");
        const int wmax[4] = {1, 0, 1, 0}, wmin[4] = {0, 0, 1, 0};
        ok = 1;
        const float *omax = gl_program_output(p, 2), *omin = gl_program_output(p, 3);
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 3; c++)
                ok &= omax[r * 3 + c] == (c == wmax[r] ? 1.0f : 0.0f) && omin[r * 3 + c] == (c == wmin[r] ? 1.0f : 0.0f);
        check(ok, "labels: argmax / argmin one-hot rows (ties first, first NaN wins)", "%s", "");
        /* numpy.roll references: y[(j + s) mod n] = x[j] along the axis */
        ok = 1;
        const float *y0 = gl_program_output(p, 4), *y1 = gl_program_output(p, 5), *y2 = gl_program_output(p, 6);
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 3; b++)
                for (int c = 0; c < 4; c++) {
                    const float v = x3v[(a * 3 + b) * 4 + c];
                    ok &= y0[(((a + 1) % 2) * 3 + b) * 4 + c] == v;
                    ok &= y1[(a * 3 + (b + 2) % 3) * 4 + c] == v;
                    ok &= y2[(a * 3 + b) * 4 + c] == v;
                }
        check(ok, "labels: roll along axes 0 and 1 (shift -7, 5) and by 0", "%s", "");
    }

    /* a bad index fails the run with GL_ERR_VALUE naming the row; good data runs again */
    const float bad_vals[5] = {2.5f, NAN, -1.0f, 3.0f, INFINITY};
    int all_fail = 1;
    char last[GL_ERRMSG_LEN] = "";
    for (int k = 0; k < 5; k++) {
        float lb[4] = {0, 1, 2, 0};
        lb[k % 3 + 1] = bad_vals[k];
        gl_program_bind(p, labels, lb, NULL);
        gl_error_clear(&err);
        gl_status st = gl_program_run(p, NULL, NULL, &err);
        char want[32];
        snprintf(want, sizeof want, "row %d holds", k % 3 + 1);
        all_fail &= st == GL_ERR_VALUE && strstr(err.msg, want) != NULL && strstr(err.msg, "one_hot") != NULL &&
                    strstr(err.msg, "[0, 3)") != NULL;
        memcpy(last, err.msg, sizeof last);
    }
    gl_program_bind(p, labels, lv, NULL);
    check(all_fail && run(p, NULL, NULL, name), "labels: one_hot index 2.5 / NaN / -1 / 3 / inf fails the run naming the row",
          "last: %s", last);

    /* 100 more runs allocate nothing */
    long long before = gl_alloc_count();
    int ok = 1;
    for (int r = 0; ok && r < 100; r++) ok = run(p, NULL, NULL, name);
    check(ok && gl_alloc_count() == before, "labels: runs allocate nothing", "%lld allocations",
          gl_alloc_count() - before);
    gl_program_free(p);

    /* autodiff: a gradient into argmin's input is refused with a message */
    float cbv[3 * 2];
    fill_rand(cbv, 6, 1.0f);
    int cb = gl_param(g, gl_shape2(3, 2), cbv);
    int dist = gl_unary(g, GL_OP_SQUARE, xm, 0, 0);
    int q_bad = gl_sum_all(g, gl_matmul(g, gl_argmin_onehot(g, dist), cb, 0, 0));
    int gr[2] = {-1, -1};
    int wrt[2] = {cb, xm};
    gl_status st = gl_grad(g, q_bad, -1, 2, wrt, gr);
    check(st == GL_ERR_UNSUPPORTED && strstr(g->err.msg, "argmin is not differentiable") &&
              strstr(g->err.msg, "stop_gradient"),
          "labels: grad through argmin is refused", "status %d: %s", (int)st, g->err.msg);
    gl_error_clear(&g->err);
    st = gl_grad(g, gl_sum_all(g, gl_argmax_onehot(g, dist)), -1, 1, &xm, gr);
    check(st == GL_ERR_UNSUPPORTED && strstr(g->err.msg, "argmax is not differentiable"),
          "labels: grad through argmax is refused", "status %d: %s", (int)st, g->err.msg);
    gl_error_clear(&g->err);
    /* behind stop_gradient: dq/dcb = onehot^T @ 1, dq/dx = 0 */
    int oh_sg = gl_argmin_onehot(g, gl_stop_gradient(g, dist));
    int q = gl_sum_all(g, gl_matmul(g, oh_sg, cb, 0, 0));
    st = gl_grad(g, q, -1, 2, wrt, gr);
    /* roll: the gradient of sum(w * roll(x, 1, axis 1)) is roll(w, -1) */
    float wv[12];
    fill_rand(wv, 12, 1.0f);
    int w = gl_const(g, gl_shape2(4, 3), wv);
    int rl = gl_sum_all(g, gl_mul(g, w, gl_roll(g, xm, 1, 1)));
    int grl = -1;
    gl_status st2 = gl_grad(g, rl, -1, 1, &xm, &grl);
    if (st != GL_OK || st2 != GL_OK) {
        check(0, "labels: grad behind stop_gradient, roll's adjoint", "%s", g->err.msg);
        gl_graph_free(g);
        return;
    }
    check(g->nodes[grl].op == GL_OP_ROLL && g->nodes[grl].i[0] == 2, "labels: roll's gradient is a roll back",
          "op %s, shift %lld", gl_op_name(g->nodes[grl].op), (long long)g->nodes[grl].i[0]);
    int gouts[3] = {gr[0], gr[1], grl};
    gl_program *pg = compile(g, 3, gouts, NULL, name);
    if (!pg) { gl_graph_free(g); return; }
    float xf[12] = {0.5f, 0.1f, 0.9f, -2, 1, 0.2f, 3, -1, 0.1f, 0.7f, -0.6f, 0.65f};
    gl_program_bind(pg, xm, xf, NULL);
    if (run(pg, NULL, NULL, name)) {
        const float *gcb = gl_program_output(pg, 0), *gx = gl_program_output(pg, 1), *gr2 = gl_program_output(pg, 2);
        float want[6] = {0, 0, 0, 0, 0, 0}; /* argmin of x^2 per row: 1, 2, 2, 1 */
        const int am[4] = {1, 2, 2, 1};
        for (int r = 0; r < 4; r++) { want[am[r] * 2] += 1; want[am[r] * 2 + 1] += 1; }
        int ok2 = 1;
        for (int i = 0; i < 6; i++) ok2 &= gcb[i] == want[i];
        for (int i = 0; i < 12; i++) ok2 &= gx[i] == 0.0f;
        check(ok2, "labels: grad behind stop_gradient reaches the codebook, not the distances", "%s", "");
        ok2 = 1;
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 3; c++) ok2 &= gr2[r * 3 + c] == wv[r * 3 + (c + 1) % 3];
        check(ok2, "labels: roll's gradient values", "%s", "");
    }
    gl_program_free(pg);
    gl_graph_free(g);
}

/* ------------------------------------------------------------------------ */

/* BERNOULLI: shape, values (0/1, clamping, NaN), frequencies, a fresh draw
 * each run, the same draws for the same seed and any thread count, runs that
 * allocate nothing, and autodiff (refusal as argmax, data input fine). */
static void test_bernoulli(void) {
    const char *name = "bernoulli";
    gl_graph *g = NULL;
    gl_error err;
    if (gl_graph_new(&g, &err) != GL_OK) { check(0, name, "%s", err.msg); return; }
    enum { R = 6, C = 20000 };
    int pin = gl_input(g, gl_shape2(R, C));
    int b = gl_bernoulli(g, pin);
    int bs = gl_bernoulli(g, gl_input(g, gl_shape0())); /* scalar */
    gl_shape want = gl_shape2(R, C);
    check(g->err.code == GL_OK && gl_shape_eq(&g->nodes[b].shape, &want) && g->nodes[bs].shape.ndim == 0 &&
              strcmp(gl_op_name(GL_OP_BERNOULLI), "bernoulli") == 0,
          "bernoulli: shape of its input (2-D and scalar)", "%s", g->err.msg);
    int bad = gl_bernoulli(g, -1);
    check(bad == -1 && g->err.code == GL_ERR_VALUE, "bernoulli: a bad input id is refused", "%s", g->err.msg);
    gl_error_clear(&g->err);
    bad = gl_random(g, GL_OP_BERNOULLI, gl_shape1(4), 0.5f, 0.0f);
    check(bad == -1 && strstr(g->err.msg, "not a random op without inputs") != NULL,
          "bernoulli: gl_random refuses it (it has an input)", "%s", g->err.msg);
    gl_error_clear(&g->err);

    gl_program *p = compile(g, 1, &b, NULL, name);
    if (!p) { gl_graph_free(g); return; }
    /* rows: p = 0, 1, 0.3, -2 (-> 0), 7 (-> 1), and a mixed row with a NaN */
    float *pv = malloc(sizeof(float) * R * C), *first = malloc(sizeof(float) * R * C);
    if (!pv || !first) { check(0, name, "out of memory"); free(pv); free(first); gl_program_free(p); gl_graph_free(g); return; }
    const float rowp[5] = {0.0f, 1.0f, 0.3f, -2.0f, 7.0f};
    for (int r = 0; r < 5; r++)
        for (int c = 0; c < C; c++) pv[r * C + c] = rowp[r];
    for (int c = 0; c < C; c++) pv[5 * C + c] = (float)(c % 10) / 9.0f; /* 0, 1/9, ..., 1 */
    pv[5 * C + 3] = NAN;
    gl_program_bind(p, pin, pv, NULL);
    gl_rng rng;
    gl_rng_seed(&rng, 11);
    check(gl_program_run(p, NULL, NULL, &err) != GL_OK && strstr(err.msg, "bernoulli") != NULL,
          "bernoulli: a run without an RNG is an error", "%s", err.msg);
    if (!run(p, NULL, &rng, name)) { free(pv); free(first); gl_program_free(p); gl_graph_free(g); return; }
    const float *o = gl_program_output(p, 0);
    memcpy(first, o, sizeof(float) * R * C);
    int ok = 1;
    int64_t ones[R] = {0}, other = 0;
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            float v = o[r * C + c];
            if (r == 5 && c == 3) { ok &= v != v; continue; }
            other += v != 0.0f && v != 1.0f;
            ones[r] += v == 1.0f;
        }
    check(ok && other == 0, "bernoulli: values are 0 or 1, NaN for a NaN p", "%lld others", (long long)other);
    check(ones[0] == 0 && ones[1] == C && ones[3] == 0 && ones[4] == C,
          "bernoulli: p = 0 (and < 0) gives 0, p = 1 (and > 1) gives 1", "%lld %lld %lld %lld", (long long)ones[0],
          (long long)ones[1], (long long)ones[3], (long long)ones[4]);
    /* binomial(20000, 0.3): sd = 64.8; 5 sd */
    check(fabs((double)ones[2] - 0.3 * C) < 5 * sqrt(C * 0.3 * 0.7), "bernoulli: frequency of p = 0.3",
          "%lld of %d", (long long)ones[2], C);
    int64_t per[10] = {0};
    for (int c = 0; c < C; c++) if (c != 3) per[c % 10] += o[5 * C + c] == 1.0f;
    ok = per[0] == 0 && per[9] == C / 10;
    for (int k = 1; k < 9; k++) {
        double q = k / 9.0, m = q * (C / 10 - (k == 3));
        ok &= fabs((double)per[k] - m) < 5 * sqrt(m * (1 - q)) + 1;
    }
    check(ok, "bernoulli: frequencies of p = k/9 in one row", "%lld %lld %lld", (long long)per[1], (long long)per[4],
          (long long)per[8]);

    /* the next run draws again; the same seed repeats; a 3-thread pool gives the same bits */
    int ok_run = run(p, NULL, &rng, name);
    check(ok_run && memcmp(first + 2 * C, gl_program_output(p, 0) + 2 * C, sizeof(float) * C) != 0,
          "bernoulli: each run draws afresh", "%s", "");
    gl_pool *pool = NULL;
    if (gl_pool_new(3, &pool, &err) != GL_OK) { check(0, name, "pool: %s", err.msg); pool = NULL; }
    gl_rng_seed(&rng, 11);
    ok_run = pool && run(p, pool, &rng, name);
    const float *o2 = gl_program_output(p, 0);
    int same = ok_run;
    for (int i = 0; same && i < R * C; i++) same = (o2[i] == first[i]) || (o2[i] != o2[i] && first[i] != first[i]);
    check(same && rng.counter == 1, "bernoulli: same seed, same draws (with a 3-thread pool)", "counter %llu",
          (unsigned long long)rng.counter);
    long long before = gl_alloc_count();
    ok = 1;
    for (int r = 0; ok && r < 50; r++) ok = run(p, pool, &rng, name);
    check(ok && gl_alloc_count() == before, "bernoulli: runs allocate nothing", "%lld allocations",
          gl_alloc_count() - before);
    gl_pool_free(pool);
    gl_program_free(p);
    free(pv);
    free(first);

    /* autodiff: a gradient into p is refused; p from data (or behind stop_gradient) is fine */
    float wv[4] = {0.5f, -1.0f, 2.0f, 0.25f};
    int w = gl_param(g, gl_shape2(1, 4), wv);
    int x = gl_input(g, gl_shape2(3, 4));
    int prob = gl_unary(g, GL_OP_SIGMOID, gl_mul(g, x, w), 0, 0);
    int y_bad = gl_sum_all(g, gl_bernoulli(g, prob));
    int gr = -1;
    gl_status st = gl_grad(g, y_bad, -1, 1, &w, &gr);
    check(st == GL_ERR_UNSUPPORTED && strstr(g->err.msg, "bernoulli is not differentiable") &&
              strstr(g->err.msg, "stop_gradient"),
          "bernoulli: grad through it is refused", "status %d: %s", (int)st, g->err.msg);
    gl_error_clear(&g->err);
    /* loss = sum(w * bernoulli(x)) + sum(w * bernoulli(stop_gradient(prob))): d/dw = column sums */
    int y_ok = gl_add(g, gl_sum_all(g, gl_mul(g, w, gl_bernoulli(g, x))),
                      gl_sum_all(g, gl_mul(g, w, gl_bernoulli(g, gl_stop_gradient(g, prob)))));
    st = gl_grad(g, y_ok, -1, 1, &w, &gr);
    if (st != GL_OK) { check(0, "bernoulli: grad with a data p", "%s", g->err.msg); gl_graph_free(g); return; }
    gl_program *pg = compile(g, 1, &gr, NULL, name);
    if (pg) {
        float xv[12] = {1, 0, 1, 0, 1, 1, 0, 0, 1, 0, 0, 1}; /* p in {0, 1}: the samples equal x */
        gl_program_bind(pg, x, xv, NULL);
        gl_rng_seed(&rng, 3);
        if (run(pg, NULL, &rng, name)) {
            const float *gw = gl_program_output(pg, 0);
            float sg[4]; /* bernoulli(sigmoid(x * w)) is random: bounds only */
            int ok2 = 1;
            for (int c = 0; c < 4; c++) {
                sg[c] = gw[c] - (xv[c] + xv[4 + c] + xv[8 + c]);
                ok2 &= sg[c] >= 0.0f && sg[c] <= 3.0f && sg[c] == floorf(sg[c]);
            }
            check(ok2, "bernoulli: grad wrt w with a data p (and p behind stop_gradient)", "%g %g %g %g", gw[0], gw[1],
                  gw[2], gw[3]);
        }
        gl_program_free(pg);
    }
    gl_graph_free(g);
}

int main(void) {
    test_arena_chain();
    test_arena_outputs_survive();
    test_reshape_views();
    test_arena_random_graphs();
    test_fused_activations();
    test_shapes();
    test_matmul_mismatch();
    test_grad_mlp();
    test_grad_second_order();
    test_alloc_free_runs();
    test_dst_sinks();
    test_unbound_input();
    test_compile_errors();
    test_programs_share_graph();
    test_label_ops();
    test_bernoulli();
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail != 0;
}
