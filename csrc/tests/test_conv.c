/* test_conv.c - conv2d, conv_transpose2d and the weight gradient through the
 * whole engine (graph, autodiff, program) against naive double loops, with
 * one and several threads and several chunkings; no allocation during runs;
 * the first-order-only batch norm error; and an optional timing
 * (GL_CONV_BENCH=1) of DCGAN-sized layers in GFLOP/s.
 *
 * Prints "N passed, M failed"; exits nonzero on failure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/gl_graph.h"
#include "../core/gl_pool.h"
#include "../core/gl_program.h"
#include "../core/gl_status.h"
#include "../ops/gl_k_panel_gemm.h"

static int n_pass, n_fail;

#define CHECK(ok, ...)                                    \
    do {                                                  \
        if (ok) n_pass++;                                 \
        else {                                            \
            n_fail++;                                     \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);   \
            printf(__VA_ARGS__);                          \
            printf("\n");                                 \
        }                                                 \
    } while (0)

static unsigned long long lcg = 777;
static float frand(void) {
    lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((double)(lcg >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}
static float *rnd(size_t n) {
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; p && i < n; i++) p[i] = frand();
    return p;
}

/* y[n,o,oh,ow] = sum x[n,c,oh*s-p+i,ow*s-p+j] w[o,c,i,j] (double) */
static void naive_conv(const float *x, const float *w, double *y, int N, int C, int H, int W, int O, int k, int s,
                       int p, int Ho, int Wo) {
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++)
            for (int oh = 0; oh < Ho; oh++)
                for (int ow = 0; ow < Wo; ow++) {
                    double acc = 0;
                    for (int c = 0; c < C; c++)
                        for (int i = 0; i < k; i++)
                            for (int j = 0; j < k; j++) {
                                int ih = oh * s - p + i, iw = ow * s - p + j;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                                acc += (double)x[((n * C + c) * H + ih) * W + iw] * w[((o * C + c) * k + i) * k + j];
                            }
                    y[((n * O + o) * Ho + oh) * Wo + ow] = acc;
                }
}

/* transposed conv as the scatter of conv's gather: x (N,C,H,W), w (C,O,k,k) */
static void naive_convt(const float *x, const float *w, double *y, int N, int C, int H, int W, int O, int k, int s,
                        int p, int Ho, int Wo) {
    memset(y, 0, sizeof(double) * (size_t)N * O * Ho * Wo);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int ih = 0; ih < H; ih++)
                for (int iw = 0; iw < W; iw++)
                    for (int o = 0; o < O; o++)
                        for (int i = 0; i < k; i++)
                            for (int j = 0; j < k; j++) {
                                int oh = ih * s - p + i, ow = iw * s - p + j;
                                if (oh < 0 || oh >= Ho || ow < 0 || ow >= Wo) continue;
                                y[((n * O + o) * Ho + oh) * Wo + ow] +=
                                    (double)x[((n * C + c) * H + ih) * W + iw] * w[((c * O + o) * k + i) * k + j];
                            }
}

static double rel_err(const float *a, const double *b, size_t n) {
    double m = 0, s = 1e-30;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]);
        if (!(d <= m)) m = d;
        if (fabs(b[i]) > s) s = fabs(b[i]);
    }
    return m / s;
}

/* conv forward, convT forward and the weight gradient of sum(r * conv(x, w))
 * (= weight_grad(x, r)) for one geometry, with pool (may be NULL). */
static void check_case(gl_pool *pool, int N, int C, int H, int W, int O, int k, int s, int p) {
    const int Ho = (H + 2 * p - k) / s + 1, Wo = (W + 2 * p - k) / s + 1;
    const int Ht = (H - 1) * s - 2 * p + k, Wt = (W - 1) * s - 2 * p + k;
    gl_graph *g = NULL;
    gl_error err;
    gl_error_clear(&err);
    if (gl_graph_new(&g, &err) != GL_OK) { CHECK(0, "graph: %s", err.msg); return; }
    int64_t dx[4] = {N, C, H, W}, dw[4] = {O, C, k, k}, dwt[4] = {C, O, k, k}, dr[4] = {N, O, Ho, Wo};
    float *x = rnd((size_t)N * C * H * W), *w = rnd((size_t)O * C * k * k), *wt = rnd((size_t)C * O * k * k);
    float *r = rnd((size_t)N * O * Ho * Wo);
    int xi = gl_input(g, gl_shape_make(4, dx));
    int wi = gl_param(g, gl_shape_make(4, dw), w), wti = gl_param(g, gl_shape_make(4, dwt), wt);
    int ri = gl_const(g, gl_shape_make(4, dr), r);
    int y = gl_conv2d(g, xi, wi, s, p);
    int z = gl_conv_transpose2d(g, xi, wti, s, p, 0, 0);
    int gw = -1;
    gl_status st = gl_grad(g, gl_sum_all(g, gl_mul(g, y, ri)), -1, 1, &wi, &gw);
    CHECK(st == GL_OK && y >= 0 && z >= 0 && gw >= 0, "build: %s", g->err.msg);
    gl_program *prog = NULL;
    int outs[3] = {y, z, gw};
    if (st == GL_OK && gl_program_new(g, 3, outs, NULL, &prog, &err) == GL_OK &&
        gl_program_bind(prog, xi, x, &err) == GL_OK) {
        long long before = gl_alloc_count();
        st = gl_program_run(prog, pool, NULL, &err);
        CHECK(st == GL_OK, "run: %s", err.msg);
        st = gl_program_run(prog, pool, NULL, &err);
        CHECK(gl_alloc_count() == before, "a run allocated %lld times", gl_alloc_count() - before);
        double *ry = malloc(sizeof(double) * (size_t)N * O * Ho * Wo);
        double *rz = malloc(sizeof(double) * (size_t)N * O * Ht * Wt);
        double *rg = calloc((size_t)O * C * k * k, sizeof(double));
        naive_conv(x, w, ry, N, C, H, W, O, k, s, p, Ho, Wo);
        naive_convt(x, wt, rz, N, C, H, W, O, k, s, p, Ht, Wt);
        for (int o = 0; o < O; o++) /* dw[o,c,i,j] = sum r[n,o,oh,ow] x[n,c,oh*s-p+i,ow*s-p+j] */
            for (int c = 0; c < C; c++)
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < k; j++)
                        for (int n = 0; n < N; n++)
                            for (int oh = 0; oh < Ho; oh++)
                                for (int ow = 0; ow < Wo; ow++) {
                                    int ih = oh * s - p + i, iw = ow * s - p + j;
                                    if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                                    rg[((o * C + c) * k + i) * k + j] += (double)r[((n * O + o) * Ho + oh) * Wo + ow] *
                                                                         x[((n * C + c) * H + ih) * W + iw];
                                }
        double e1 = rel_err(gl_program_output(prog, 0), ry, (size_t)N * O * Ho * Wo);
        double e2 = rel_err(gl_program_output(prog, 1), rz, (size_t)N * O * Ht * Wt);
        double e3 = rel_err(gl_program_output(prog, 2), rg, (size_t)O * C * k * k);
        CHECK(e1 < 1e-5 && e2 < 1e-5 && e3 < 1e-5,
              "N%d C%d %dx%d O%d k%d s%d p%d threads %d: conv %.2e, convT %.2e, wgrad %.2e", N, C, H, W, O, k, s, p,
              pool ? gl_pool_threads(pool) : 1, e1, e2, e3);
        free(ry);
        free(rz);
        free(rg);
    } else {
        CHECK(0, "compile: %s", err.msg);
    }
    gl_program_free(prog);
    gl_graph_free(g);
    free(x);
    free(w);
    free(wt);
    free(r);
}

/* The conv's fused epilogue (gl_program.c): leaky(conv + bias) and
 * relu(conv) run as one step each; a bias computed after the conv is not
 * fused (it is not ready when the conv runs) but adds up the same. */
static void check_conv_epilogue(gl_pool *pool, int N, int C, int H, int W, int O, int k, int s, int p) {
    const int Ho = (H + 2 * p - k) / s + 1, Wo = (W + 2 * p - k) / s + 1;
    const size_t ny = (size_t)N * O * Ho * Wo;
    gl_graph *g = NULL;
    gl_error err;
    gl_error_clear(&err);
    if (gl_graph_new(&g, &err) != GL_OK) { CHECK(0, "graph: %s", err.msg); return; }
    int64_t dx[4] = {N, C, H, W}, dw[4] = {O, C, k, k}, db[4] = {1, O, 1, 1};
    float *x = rnd((size_t)N * C * H * W), *w = rnd((size_t)O * C * k * k), *bias = rnd((size_t)O);
    int xi = gl_input(g, gl_shape_make(4, dx)), wi = gl_param(g, gl_shape_make(4, dw), w);
    int bi = gl_param(g, gl_shape1(O), bias);
    int bv = gl_reshape(g, bi, gl_shape_make(4, db));
    int y1 = gl_unary(g, GL_OP_LEAKY_RELU, gl_add(g, gl_conv2d(g, xi, wi, s, p), bv), 0.2f, 0);
    int y2 = gl_unary(g, GL_OP_RELU, gl_conv2d(g, xi, wi, s, p), 0, 0);
    int c3 = gl_conv2d(g, xi, wi, s, p);
    int y3 = gl_add(g, c3, gl_scale(g, gl_reshape(g, bi, gl_shape_make(4, db)), 1.0f));
    gl_program *prog = NULL;
    int outs[3] = {y1, y2, y3};
    if (gl_program_new(g, 3, outs, NULL, &prog, &err) == GL_OK && gl_program_bind(prog, xi, x, &err) == GL_OK &&
        gl_program_run(prog, pool, NULL, &err) == GL_OK) {
        double *r = malloc(sizeof(double) * ny), *r1 = malloc(sizeof(double) * ny), *r2 = malloc(sizeof(double) * ny),
               *r3 = malloc(sizeof(double) * ny);
        naive_conv(x, w, r, N, C, H, W, O, k, s, p, Ho, Wo);
        for (size_t i = 0; i < ny; i++) {
            const double v = r[i] + bias[(i / ((size_t)Ho * Wo)) % (size_t)O];
            r1[i] = v > 0 ? v : 0.2 * v;
            r2[i] = r[i] > 0 ? r[i] : 0;
            r3[i] = v;
        }
        const double e1 = rel_err(gl_program_output(prog, 0), r1, ny), e2 = rel_err(gl_program_output(prog, 1), r2, ny);
        const double e3 = rel_err(gl_program_output(prog, 2), r3, ny);
        /* conv(+bias+leaky), conv(+relu), conv, scale, add */
        CHECK(e1 < 1e-5 && e2 < 1e-5 && e3 < 1e-5 && gl_program_num_steps(prog) == 5,
              "epilogue N%d C%d %dx%d O%d k%d s%d p%d threads %d: errors %.2e %.2e %.2e, %d steps (want 5)", N, C, H, W,
              O, k, s, p, pool ? gl_pool_threads(pool) : 1, e1, e2, e3, gl_program_num_steps(prog));
        free(r);
        free(r1);
        free(r2);
        free(r3);
    } else {
        CHECK(0, "epilogue: %s", err.msg);
    }
    gl_program_free(prog);
    gl_graph_free(g);
    free(x);
    free(w);
    free(bias);
}

/* The panel GEMM alone (gl_k_panel_gemm.c) against double loops: every row-tile size of each vector
 * target (AVX-512: 14, 4, 2, 1; AVX2: 6, 4, 2, 1), full and partial 16-column halves and 32-column
 * blocks, depth 0, the accumulating form and the strip layout; columns past N and rows past M of C
 * are never written. */
static void check_panel_gemm(void) {
    const int Ms[] = {1, 2, 3, 4, 5, 6, 7, 11, 13, 14, 15, 29};
    const int Ns[] = {1, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 48, 70};
    const int Ks[] = {0, 1, 3, 17};
    for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
        for (size_t b = 0; b < sizeof Ns / sizeof *Ns; b++)
            for (size_t c = 0; c < sizeof Ks / sizeof *Ks; c++)
                for (int mode = 0; mode < 3; mode++) { /* gemm, gemm_add, strips */
                    const int M = Ms[a], N = Ns[b], K = Ks[c], lda = M + 3, ldc = N + 5;
                    float *A = rnd((size_t)K * lda + 1), *B = rnd((size_t)K * N + 1);
                    float *C = rnd((size_t)(M + 1) * ldc), *C0 = malloc(sizeof(float) * (size_t)(M + 1) * ldc);
                    float *S = malloc(sizeof(float) * ((size_t)K * N + 1));
                    if (!A || !B || !C || !C0 || !S) { CHECK(0, "panel gemm: out of memory"); return; }
                    memcpy(C0, C, sizeof(float) * (size_t)(M + 1) * ldc);
                    if (mode == 0) gl_panel_gemm(M, N, K, A, lda, B, N, C, ldc);
                    else if (mode == 1) gl_panel_gemm_add(M, N, K, A, lda, B, N, C, ldc);
                    else {
                        for (int k = 0; k < K; k++)
                            for (int j = 0; j < N; j++) S[gl_panel_b_offset(K, N, k, j)] = B[k * N + j];
                        for (int64_t st = 0; st < gl_panel_strips(N); st++)
                            gl_panel_gemm_strip(0, M, N, K, A, lda, S, st, C, ldc);
                    }
                    double worst = 0.0;
                    int untouched = 1;
                    for (int m = 0; m <= M; m++)
                        for (int j = 0; j < ldc; j++) {
                            if (m == M || j >= N) {
                                untouched &= C[m * ldc + j] == C0[m * ldc + j];
                                continue;
                            }
                            double want = mode == 1 ? C0[m * ldc + j] : 0.0;
                            for (int k = 0; k < K; k++) want += (double)A[k * lda + m] * B[k * N + j];
                            const double e = fabs(C[m * ldc + j] - want);
                            if (e > worst) worst = e;
                        }
                    CHECK(worst < 1e-5 && untouched, "panel gemm M %d N %d K %d mode %d: error %g, outside %s", M,
                          N, K, mode, worst, untouched ? "untouched" : "written");
                    free(A), free(B), free(C), free(C0), free(S);
                }
}

static void check_bn_first_order(void) {
    gl_graph *g = NULL;
    gl_error err;
    gl_error_clear(&err);
    if (gl_graph_new(&g, &err) != GL_OK) return;
    int64_t d[4] = {4, 3, 2, 2};
    int x = gl_input(g, gl_shape_make(4, d)), gm = gl_input(g, gl_shape1(3)), bt = gl_input(g, gl_shape1(3));
    int y = gl_batch_norm(g, x, gm, bt, NULL, NULL, 1e-5f, 0.1f, 1);
    int gx = -1, gg = -1;
    gl_status st = gl_grad(g, gl_sum_all(g, gl_unary(g, GL_OP_TANH, y, 0, 0)), -1, 1, &x, &gx);
    CHECK(st == GL_OK, "first order through batch norm: %s", g->err.msg);
    st = gl_grad(g, gl_sum_all(g, gl_unary(g, GL_OP_SQUARE, gx, 0, 0)), -1, 1, &gm, &gg);
    CHECK(st == GL_ERR_UNSUPPORTED && strstr(g->err.msg, "first-order only"), "second order: %d %s", (int)st,
          g->err.msg);
    gl_graph_free(g);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* GFLOP/s of forward (conv or convT) and the input / weight gradients of one
 * layer; flops = 2 N O Ho Wo C k^2 for each of the three. */
static void bench(gl_pool *pool, const char *name, int transpose, int N, int C, int H, int W, int O, int k, int s,
                  int p) {
    gl_graph *g = NULL;
    gl_error err;
    gl_error_clear(&err);
    if (gl_graph_new(&g, &err) != GL_OK) return;
    int64_t dx[4] = {N, C, H, W}, dw[4] = {transpose ? C : O, transpose ? O : C, k, k};
    float *x = rnd((size_t)N * C * H * W), *w = rnd((size_t)O * C * k * k);
    int xi = gl_input(g, gl_shape_make(4, dx)), wi = gl_param(g, gl_shape_make(4, dw), w);
    int y = transpose ? gl_conv_transpose2d(g, xi, wi, s, p, 0, 0) : gl_conv2d(g, xi, wi, s, p);
    const gl_shape ys = g->nodes[y].shape;
    int64_t cols = transpose ? (int64_t)H * W : ys.d[2] * ys.d[3]; /* column-side positions per sample */
    double flops = 2.0 * N * (double)cols * O * C * k * k;
    int seed = gl_fill(g, ys, 1.0f), wrt[2] = {xi, wi}, gr[2];
    gl_grad(g, y, seed, 2, wrt, gr);
    int outs3[3][1] = {{y}, {gr[0]}, {gr[1]}};
    const char *what[3] = {"forward", "grad input", "grad weight"};
    for (int t = 0; t < 3; t++) {
        gl_program *prog = NULL;
        if (gl_program_new(g, 1, outs3[t], NULL, &prog, &err) != GL_OK) { printf("bench: %s\n", err.msg); break; }
        gl_program_bind(prog, xi, x, &err);
        gl_program_run(prog, pool, NULL, &err);
        int reps = 0;
        double t0 = now(), t1;
        do { gl_program_run(prog, pool, NULL, &err); reps++; t1 = now(); } while (t1 - t0 < 0.5);
        printf("bench %-28s %-11s %7.2f ms  %6.1f GFLOP/s (%d threads)\n", name, what[t], 1e3 * (t1 - t0) / reps,
               flops * reps / (t1 - t0) * 1e-9, pool ? gl_pool_threads(pool) : 1);
        gl_program_free(prog);
    }
    gl_graph_free(g);
    free(x);
    free(w);
}

int main(void) {
    gl_pool *pool = NULL;
    gl_error err;
    gl_error_clear(&err);
    if (gl_pool_new(3, &pool, &err) != GL_OK) { printf("pool: %s\n", err.msg); return 1; }
    const int cases[][8] = {{2, 3, 9, 8, 4, 3, 1, 1}, {3, 2, 11, 9, 5, 4, 2, 1}, {1, 1, 7, 7, 2, 3, 2, 0},
                            {4, 5, 6, 6, 3, 1, 1, 0}, {16, 8, 14, 14, 16, 4, 2, 1},
                            /* a shallow im2col over more images than the per-image path's 8 groups */
                            {19, 2, 9, 10, 5, 3, 2, 1},
                            /* DCGAN's one-channel layer shape (K = 16) with 37 output channels: every
                             * row-tile size of the per-image weight gradient */
                            {9, 1, 28, 27, 37, 4, 2, 1},
                            /* 4x4 stride 2 with >= 32 channels: the Winograd path (gl_k_winograd.c) for
                             * conv, convT and weight gradient; odd sizes, every padding, partial lanes,
                             * batches beyond one 64-image chunk */
                            {3, 32, 14, 13, 32, 4, 2, 1}, {2, 8, 15, 15, 32, 4, 2, 0}, {17, 32, 9, 11, 8, 4, 2, 2},
                            {80, 32, 8, 8, 16, 4, 2, 1}, {70, 8, 8, 7, 32, 4, 2, 1}, {1, 40, 7, 7, 40, 4, 2, 1},
                            /* many tiles per plane: 4x4 tiles (odd width), 5x5 for the transposed conv */
                            {4, 32, 28, 27, 32, 4, 2, 1}, {2, 32, 33, 32, 32, 4, 2, 1},
                            /* unpadded, odd: the input's last row and column feed no output */
                            {3, 32, 19, 21, 33, 4, 2, 0},
                            /* wide: several 16-column transpose blocks per row in the layout passes, an
                             * output row (Wo = 20) wider than one block */
                            {2, 32, 10, 41, 32, 4, 2, 1},
                            /* DCGAN's 64 -> 128-channel depth (GEMM depth 256) with 43 output channels:
                             * row tiles of gl_k_panel_gemm.c (with AVX-512: 14 and 1; check_panel_gemm covers them all) */
                            {2, 64, 14, 14, 43, 4, 2, 1},
                            /* short last tiles (F(3, 2), outputs 3 mod 4) along one side only, in a
                             * lone tile (Ho = 3: entries no tile uses), and across 64-image chunks */
                            {5, 32, 6, 14, 32, 4, 2, 1}, {66, 32, 14, 9, 32, 4, 2, 1},
                            /* the weight gradient's transposed operands: 4 x 9 = 36 GEMM channels (a
                             * 4-wide last strip and 16-channel block), 35 output channels (a 3-wide
                             * last block) */
                            {3, 9, 10, 10, 35, 4, 2, 1},
                            /* DCGAN's transposed conv 128 -> 64 at 7 x 7 -> 14 x 14, run as the adjoint of
                             * a conv with short last tiles both ways */
                            {3, 128, 7, 7, 64, 4, 2, 1},
                            /* 3x3 stride 1 padding 1: Winograd F(2x2, 3x3) (gl_k_wino3.c) where the image
                             * side has >= 8 channels (conv, weight gradient: C; transposed conv: O), the
                             * per-image path below that; odd planes (a half last tile), 1 and many
                             * channels on the other side, partial lanes, several 16-image chunks, planes
                             * wider than 16 columns, a 1 x 1 plane */
                            {7, 32, 7, 7, 32, 3, 1, 1}, {1, 32, 14, 14, 32, 3, 1, 1}, {2, 1, 5, 6, 9, 3, 1, 1},
                            {3, 9, 5, 6, 1, 3, 1, 1}, {7, 4, 28, 28, 32, 3, 1, 1}, {3, 32, 13, 9, 8, 3, 1, 1},
                            {35, 33, 6, 5, 17, 3, 1, 1}, {1, 8, 1, 1, 2, 3, 1, 1}, {2, 16, 3, 21, 40, 3, 1, 1},
                            {2, 7, 4, 4, 7, 3, 1, 1},
                            /* stride 1 to <= 4 channels past the per-image path: the direct path
                             * (gl_k_conv_direct.c) for conv and weight gradient (O <= 4) or the
                             * transposed conv (C <= 4); 7x7 at 28 x 28, widths past 64, 3x3 unpadded
                             * (not Winograd), more images than its 8 buffer groups */
                            {3, 16, 28, 28, 1, 7, 1, 3}, {2, 3, 9, 70, 20, 5, 1, 2}, {11, 64, 6, 6, 1, 4, 1, 1},
                            {2, 12, 5, 131, 2, 3, 1, 0},
                            /* a kernel as large as the unpadded input: single GEMMs (gl_dense_conv) */
                            {6, 32, 4, 4, 3, 4, 1, 0}, {4, 7, 5, 5, 9, 5, 2, 0}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const int *q = cases[c];
        check_case(NULL, q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7]);
        check_case(pool, q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7]);
    }
    /* the fused bias + activation on each conv2d path: im2col, one GEMM per image, Winograd (4x4
     * stride 2, and 3x3 stride 1), no input channels (an empty sum: the output is act(bias)), the
     * direct path and the whole-input GEMM */
    const int epi[][8] = {{3, 4, 9, 8, 5, 3, 1, 1}, {5, 1, 28, 28, 16, 4, 2, 1}, {3, 32, 14, 13, 40, 4, 2, 1},
                          {3, 8, 9, 7, 5, 3, 1, 1}, {2, 0, 5, 5, 3, 3, 1, 1},
                          /* the direct path and the whole-input GEMM */
                          {3, 16, 28, 28, 1, 7, 1, 3}, {6, 32, 4, 4, 3, 4, 1, 0}};
    for (size_t c = 0; c < sizeof epi / sizeof epi[0]; c++) {
        const int *q = epi[c];
        check_conv_epilogue(NULL, q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7]);
        check_conv_epilogue(pool, q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7]);
    }
    check_bn_first_order();
    check_panel_gemm();
    const char *b = getenv("GL_CONV_BENCH");
    if (b && b[0] == '1') {
        int nt = getenv("GL_CONV_THREADS") ? atoi(getenv("GL_CONV_THREADS")) : 1;
        gl_pool *bp = NULL;
        /* set_threads also keeps OpenBLAS single-threaded (one owner of parallelism) */
        if (gl_pool_new(nt < 1 ? 1 : nt, &bp, &err) == GL_OK && gl_pool_set_threads(bp, nt < 1 ? 1 : nt, &err) == GL_OK) {
            bench(bp, "conv 64x1x28x28 -> 64 k4s2p1", 0, 64, 1, 28, 28, 64, 4, 2, 1);
            bench(bp, "conv 64x64x14x14 -> 128 k4s2p1", 0, 64, 64, 14, 14, 128, 4, 2, 1);
            bench(bp, "convT 64x128x7x7 -> 64 k4s2p1", 1, 64, 128, 7, 7, 64, 4, 2, 1);
            bench(bp, "convT 64x64x14x14 -> 1 k4s2p1", 1, 64, 64, 14, 14, 1, 4, 2, 1);
            bench(bp, "conv 64x32x28x28 -> 32 k3s1p1", 0, 64, 32, 28, 28, 32, 3, 1, 1);
            bench(bp, "conv 64x32x14x14 -> 32 k3s1p1", 0, 64, 32, 14, 14, 32, 3, 1, 1);
            bench(bp, "conv 16x32x7x7 -> 32 k3s1p1", 0, 16, 32, 7, 7, 32, 3, 1, 1);
        }
        gl_pool_free(bp);
    }
    gl_pool_free(pool);
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
