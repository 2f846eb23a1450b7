/* gl_k_wino3.c - 3x3 / stride-1 / padding-1 convolutions through Winograd
 * F(2x2, 3x3).
 *
 * Why: CycleGAN's residual blocks and Real NVP's coupling nets are 3x3
 * stride-1 "same" convolutions; im2col + sgemm spends 36 multiplies per
 * output position and channel pair and copies every input nine times.
 * F(2x2, 3x3) computes a 2x2 output tile from a 4x4 input tile with 16
 * multiplies instead of 36: the 16 entries of the transformed tiles become
 * 16 independent GEMMs (transformed kernels x transformed inputs), 2.25x
 * fewer multiply-adds, and no im2col.  Interpolation points 0, 1, -1 and
 * infinity: B^T and A^T hold only 0 and +-1, G only 0, +-1/2 and 1, so the
 * rounding error stays a few float32 ulps of the sums (F(4x4, 3x3) would
 * save another factor 1.8 but its transforms carry entries up to 8 and lose
 * about two more decimal digits).
 *
 * The three ops are described as in gl_k_conv.c (image side, kernel, column
 * side; all three with the same H x W here):
 *   CONV2D            a 3x3 conv of x (C = Ci source channels) into O = Co
 *   CONV_TRANSPOSE2D  with stride 1 and padding 1, a 3x3 conv of its input
 *                     (C = Co channels) with the kernel flipped in both
 *                     directions and its two channel axes swapped, into
 *                     O = Ci channels: the same code, another U
 *   WEIGHT_GRAD       the adjoint in the kernel: dU_xi = sum over tiles of
 *                     (A dy A^T)_xi (B^T x B)_xi, then dg = G^T dU G
 *
 * Layouts, as in gl_k_winograd.c (Np = the chunk's batch rounded up to 16,
 * the SIMD width of the transforms; padding lanes hold zeros):
 *   X  [C][Hx][Wx][Np]   the source plane with its one-pixel zero border,
 *                        Hx = 2 Th + 2, batch innermost; room for all
 *                        channels, but each task range fills and transforms
 *                        its channels one at a time in a slot of its own
 *   V  [16] x C x TN     B^T d B of every 4x4 tile, TN = Th Tw Np GEMM
 *                        columns (tile, image); in the column strips that
 *                        gl_panel_gemm_strip reads (row-major for the
 *                        weight gradient)
 *   U  [16][C][O]        G g G^T of every kernel, k-major for the panel GEMM
 *                        (the weight gradient: dU, [16][O][C])
 *   M  [16][O][TN]       U_xi^T V_xi (the weight gradient: A dy A^T)
 *   Y  [O][2Th][2Tw][Np] A^T m A, cropped and scattered into NCHW (in
 *                        per-range slots, as X)
 * The forward GEMMs run on the register kernel of gl_k_panel_gemm.c, one
 * task per (entry, column strip); the weight gradient's 16 GEMMs (O x C,
 * summed over TN columns: both operands would need transposing for the
 * register kernel) are one sgemm each.  Each output element is written by
 * one task in a fixed order: results do not depend on the thread count. */
#include "gl_k_conv.h"

#include <limits.h>
#include <string.h>

#include "gl_blas.h"
#include "gl_k_panel_gemm.h"
#include "gl_k_transpose.h"

#define GL_W3L 16                        /* lanes (images) per transform step */
#define GL_W3_MAX ((int64_t)1 << 24)     /* workspace floats before the chunk shrinks (64 MiB) */
#define GL_W3_CHUNK 16                   /* images per chunk: one lane block; 32 was 1.1-1.4x slower at
                                            batch 64 (V and M twice as far out of cache) */

typedef struct gl_w3 {
    gl_op op;
    const gl_conv_geom *g;
    int64_t C, O;          /* GEMM depth (source channels) and rows (result channels) */
    int64_t H, W;          /* both sides' plane */
    int64_t Th, Tw, Hx, Wx;
    int64_t nc;            /* images per chunk, a multiple of GL_W3L */
    int64_t n0, nn, Np, TN;
    const float *src;      /* the tensor that is tiled: x, or the transposed conv's input */
    const float *ker;      /* the kernel (conv, transposed conv) */
    const float *dy;       /* the weight gradient's output gradient */
    const float *bias;     /* conv2d: fused epilogue, or NULL */
    const gl_node *act;
    float *out;
    float *X, *V, *U, *M, *Y;
} gl_w3;

static int64_t gl_w3_round(int64_t n) { return (n + GL_W3L - 1) / GL_W3L * GL_W3L; }

static int64_t gl_w3_floats(const gl_w3 *w, int64_t np) {
    const int64_t T = w->Th * w->Tw;
    return w->C * w->Hx * w->Wx * np + 16 * w->C * T * np + 16 * w->O * w->C + 16 * w->O * T * np +
           w->O * 4 * T * np;
}

static void gl_w3_plan(gl_op op, const gl_conv_geom *g, gl_w3 *w) {
    memset(w, 0, sizeof *w);
    w->op = op;
    w->g = g;
    w->C = op == GL_OP_CONV_TRANSPOSE2D ? g->Co : g->Ci;
    w->O = op == GL_OP_CONV_TRANSPOSE2D ? g->Ci : g->Co;
    w->H = g->H;
    w->W = g->W;
    w->Th = (g->H + 1) / 2;
    w->Tw = (g->W + 1) / 2;
    w->Hx = 2 * w->Th + 2;
    w->Wx = 2 * w->Tw + 2;
    w->nc = gl_w3_round(g->N < GL_W3_CHUNK ? g->N : GL_W3_CHUNK);
    while (w->nc > GL_W3L && gl_w3_floats(w, w->nc) > GL_W3_MAX) w->nc = gl_w3_round(w->nc / 2);
}

/* The geometry the path handles: 3x3, stride 1, padding 1 (so the same
 * plane on both sides). */
int gl_wino3_geometry(gl_op op, const gl_conv_geom *g) {
    if (op != GL_OP_CONV2D && op != GL_OP_CONV_TRANSPOSE2D && op != GL_OP_CONV2D_WEIGHT_GRAD) return 0;
    return g->kh == 3 && g->kw == 3 && g->s == 1 && g->p == 1 && g->N >= 1 && g->H >= 1 && g->W >= 1 &&
           g->Ho == g->H && g->Wo == g->W && g->Ci >= 1 && g->Co >= 1;
}

size_t gl_wino3_workspace(gl_op op, const gl_conv_geom *g) {
    gl_w3 w;
    gl_w3_plan(op, g, &w);
    return (size_t)gl_w3_floats(&w, w.nc);
}

/* ---- 1-D transforms on GL_W3L lanes ---- */

/* d <- B^T d (4 -> 4), in place */
static inline void gl_w3_bt(float *restrict d0, float *restrict d1, float *restrict d2, float *restrict d3) {
    for (int k = 0; k < GL_W3L; k++) {
        const float a0 = d0[k], a1 = d1[k], a2 = d2[k], a3 = d3[k];
        d0[k] = a0 - a2;
        d1[k] = a1 + a2;
        d2[k] = a2 - a1;
        d3[k] = a1 - a3;
    }
}

/* y <- A^T m (4 -> 2) */
static inline void gl_w3_at(const float *restrict m0, const float *restrict m1, const float *restrict m2,
                            const float *restrict m3, float *restrict y0, float *restrict y1) {
    for (int k = 0; k < GL_W3L; k++) {
        y0[k] = m0[k] + m1[k] + m2[k];
        y1[k] = m1[k] - m2[k] - m3[k];
    }
}

/* z <- A y (2 -> 4), the adjoint of gl_w3_at */
static inline void gl_w3_a(const float *restrict y0, const float *restrict y1, float *restrict z0, float *restrict z1,
                           float *restrict z2, float *restrict z3) {
    for (int k = 0; k < GL_W3L; k++) {
        z0[k] = y0[k];
        z1[k] = y0[k] + y1[k];
        z2[k] = y0[k] - y1[k];
        z3[k] = -y1[k];
    }
}

/* ---- layout passes (16 images x 16 columns at a time, gl_k_transpose.h) ---- */
_Static_assert(GL_W3L == 16, "the layout passes transpose 16 images at a time");

static inline int64_t gl_w3_xplane(const gl_w3 *w) { return w->Hx * w->Wx * w->Np; }
static inline int64_t gl_w3_yplane(const gl_w3 *w) { return 4 * w->Th * w->Tw * w->Np; }

/* X plane x <- source channel c with its zero border (row and column 0, and
 * everything past H, W) */
static void gl_w3_fill_x(const gl_w3 *w, int64_t c, float *x) {
    const int64_t Np = w->Np, H = w->H, W = w->W, HW = H * W, ld = w->C * HW, Wx = w->Wx;
    const size_t row = sizeof(float) * (size_t)Np;
    memset(x, 0, row * (size_t)Wx);
    for (int64_t u = H + 1; u < w->Hx; u++) memset(x + u * Wx * Np, 0, row * (size_t)Wx);
    for (int64_t u = 1; u <= H; u++) {
        memset(x + u * Wx * Np, 0, row);
        memset(x + (u * Wx + W + 1) * Np, 0, row * (size_t)(Wx - W - 1));
    }
    for (int64_t n0 = 0; n0 < Np; n0 += GL_W3L) {
        const int nl = (int)(w->nn - n0 < GL_W3L ? w->nn - n0 : GL_W3L);
        const float *s = w->src + (w->n0 + n0) * ld + c * HW;
        for (int64_t h = 0; h < H; h++)
            for (int64_t j0 = 0; j0 < W; j0 += 16) {
                const int nc = (int)(W - j0 < 16 ? W - j0 : 16);
                float *d[16];
                for (int j = 0; j < nc; j++) d[j] = x + ((h + 1) * Wx + j0 + j + 1) * Np + n0;
                gl_tr16_in(d, s + h * W + j0, ld, nl, nc);
            }
    }
}

/* Y plane y <- channel o of the output gradient, zero past H, W */
static void gl_w3_fill_dy(const gl_w3 *w, int64_t o, float *y) {
    const int64_t Np = w->Np, H = w->H, W = w->W, HW = H * W, ld = w->O * HW, Wy = 2 * w->Tw;
    for (int64_t i = 0; i < 2 * w->Th; i++)
        for (int64_t j = i < H ? W : 0; j < Wy; j++) memset(y + (i * Wy + j) * Np, 0, sizeof(float) * (size_t)Np);
    for (int64_t n0 = 0; n0 < Np; n0 += GL_W3L) {
        const int nl = (int)(w->nn - n0 < GL_W3L ? w->nn - n0 : GL_W3L);
        const float *s = w->dy + (w->n0 + n0) * ld + o * HW;
        for (int64_t i = 0; i < H; i++)
            for (int64_t j0 = 0; j0 < W; j0 += 16) {
                const int nc = (int)(W - j0 < 16 ? W - j0 : 16);
                float *d[16];
                for (int j = 0; j < nc; j++) d[j] = y + (i * Wy + j0 + j) * Np + n0;
                gl_tr16_in(d, s + i * W + j0, ld, nl, nc);
            }
    }
}

/* ---- transforms ---- */

/* Source channel c's V rows from its X plane: B^T d B of every tile; the
 * forward path stores V in panel strips, the weight gradient row-major */
static void gl_w3_to_v(const gl_w3 *w, const float *x, int64_t c) {
    const int64_t Np = w->Np, Wx = w->Wx, TN = w->TN, es = w->C * TN;
    const int strips = w->op != GL_OP_CONV2D_WEIGHT_GRAD;
    for (int64_t ty = 0; ty < w->Th; ty++)
        for (int64_t tx = 0; tx < w->Tw; tx++) {
            const float *x0 = x + (2 * ty * Wx + 2 * tx) * Np;
            const int64_t col = (ty * w->Tw + tx) * Np;
            for (int64_t n0 = 0; n0 < Np; n0 += GL_W3L) {
                float a[4][4][GL_W3L];
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 4; j++) memcpy(a[i][j], x0 + (i * Wx + j) * Np + n0, sizeof a[i][j]);
                for (int j = 0; j < 4; j++) gl_w3_bt(a[0][j], a[1][j], a[2][j], a[3][j]);
                for (int i = 0; i < 4; i++) gl_w3_bt(a[i][0], a[i][1], a[i][2], a[i][3]);
                const int64_t off = strips ? gl_panel_b_offset(w->C, TN, c, col + n0) : c * TN + col + n0;
                for (int xi = 0; xi < 16; xi++) memcpy(w->V + xi * es + off, a[xi / 4][xi % 4], sizeof a[0][0]);
            }
        }
}

/* forward: V rows of source channels c0..c1, each through an X slot of this
 * range's own (its first channel's), rewritten per channel so that the
 * plane is transformed while still in cache */
static void gl_w3_input(void *vp, int64_t c0, int64_t c1) {
    const gl_w3 *w = vp;
    float *slot = w->X + c0 * gl_w3_xplane(w);
    for (int64_t c = c0; c < c1; c++) {
        gl_w3_fill_x(w, c, slot);
        gl_w3_to_v(w, slot, c);
    }
}

/* weight gradient: M row o <- A dy A^T of every tile of dy channel o */
static void gl_w3_grad_output(void *vp, int64_t o0, int64_t o1) {
    const gl_w3 *w = vp;
    const int64_t Np = w->Np, Wy = 2 * w->Tw, TN = w->TN, es = w->O * TN;
    float *slot = w->Y + o0 * gl_w3_yplane(w);
    for (int64_t o = o0; o < o1; o++) {
        gl_w3_fill_dy(w, o, slot);
        for (int64_t ty = 0; ty < w->Th; ty++)
            for (int64_t tx = 0; tx < w->Tw; tx++) {
                const float *y0 = slot + (2 * ty * Wy + 2 * tx) * Np;
                const int64_t col = (ty * w->Tw + tx) * Np;
                for (int64_t n0 = 0; n0 < Np; n0 += GL_W3L) {
                    float d[2][2][GL_W3L], r[4][2][GL_W3L], z[4][4][GL_W3L];
                    for (int i = 0; i < 2; i++)
                        for (int j = 0; j < 2; j++) memcpy(d[i][j], y0 + (i * Wy + j) * Np + n0, sizeof d[i][j]);
                    for (int j = 0; j < 2; j++) gl_w3_a(d[0][j], d[1][j], r[0][j], r[1][j], r[2][j], r[3][j]);
                    for (int i = 0; i < 4; i++) gl_w3_a(r[i][0], r[i][1], z[i][0], z[i][1], z[i][2], z[i][3]);
                    float *m0 = w->M + o * TN + col + n0;
                    for (int xi = 0; xi < 16; xi++) memcpy(m0 + xi * es, z[xi / 4][xi % 4], sizeof z[0][0]);
                }
            }
    }
}

/* U <- G g G^T for source channels c0..c1 (all O result channels): conv2d
 * g = w[o][c], the transposed conv g[a][b] = w[c][o][2 - a][2 - b].  Result
 * channels go 16 at a time through small arrays, so the arithmetic runs on
 * vectors and each of the 16 U planes gets a contiguous row (the scalar loop
 * was ~6 % of a CycleGAN step: the transform runs at every call). */
static void gl_w3_weights(void *vp, int64_t c0, int64_t c1) {
    const gl_w3 *w = vp;
    const int64_t O = w->O, C = w->C, us = O * C;
    const int convt = w->op == GL_OP_CONV_TRANSPOSE2D;
    for (int64_t c = c0; c < c1; c++)
        for (int64_t o0 = 0; o0 < O; o0 += 16) {
            const int nb = O - o0 < 16 ? (int)(O - o0) : 16;
            float gk[9][16], r[4][3][16], u[16][16];
            if (nb < 16) memset(gk, 0, sizeof gk); /* the unused lanes compute on zeros */
            for (int l = 0; l < nb; l++) {
                const float *k = convt ? w->ker + (c * O + o0 + l) * 9 : w->ker + ((o0 + l) * C + c) * 9;
                for (int t = 0; t < 9; t++) gk[t][l] = k[convt ? 8 - t : t];
            }
            for (int b = 0; b < 3; b++) /* r = G g */
                for (int l = 0; l < 16; l++) {
                    const float g0 = gk[b][l], g1 = gk[3 + b][l], g2 = gk[6 + b][l];
                    r[0][b][l] = g0;
                    r[1][b][l] = 0.5f * (g0 + g1 + g2);
                    r[2][b][l] = 0.5f * (g0 - g1 + g2);
                    r[3][b][l] = g2;
                }
            for (int i = 0; i < 4; i++) /* (G g) G^T */
                for (int l = 0; l < 16; l++) {
                    const float a0 = r[i][0][l], a1 = r[i][1][l], a2 = r[i][2][l];
                    u[i * 4 + 0][l] = a0;
                    u[i * 4 + 1][l] = 0.5f * (a0 + a1 + a2);
                    u[i * 4 + 2][l] = 0.5f * (a0 - a1 + a2);
                    u[i * 4 + 3][l] = a2;
                }
            for (int e = 0; e < 16; e++) memcpy(w->U + e * us + c * O + o0, u[e], sizeof(float) * (size_t)nb);
        }
}

/* forward: result channels o0..o1 <- A^T m A of every tile, through a Y
 * slot of this range's own, then cropped into the NCHW output (with the
 * conv's fused bias and activation) */
static void gl_w3_output(void *vp, int64_t o0, int64_t o1) {
    const gl_w3 *w = vp;
    const int64_t Np = w->Np, Wy = 2 * w->Tw, TN = w->TN, es = w->O * TN, H = w->H, W = w->W;
    const int64_t HW = H * W, ld = w->O * HW;
    float *slot = w->Y + o0 * gl_w3_yplane(w);
    for (int64_t o = o0; o < o1; o++) {
        for (int64_t ty = 0; ty < w->Th; ty++)
            for (int64_t tx = 0; tx < w->Tw; tx++) {
                float *y0 = slot + (2 * ty * Wy + 2 * tx) * Np;
                const float *m0 = w->M + o * TN + (ty * w->Tw + tx) * Np;
                for (int64_t n0 = 0; n0 < Np; n0 += GL_W3L) {
                    float m[4][4][GL_W3L], r[2][4][GL_W3L], y[2][2][GL_W3L];
                    for (int xi = 0; xi < 16; xi++) memcpy(m[xi / 4][xi % 4], m0 + xi * es + n0, sizeof m[0][0]);
                    for (int j = 0; j < 4; j++) gl_w3_at(m[0][j], m[1][j], m[2][j], m[3][j], r[0][j], r[1][j]);
                    for (int i = 0; i < 2; i++) gl_w3_at(r[i][0], r[i][1], r[i][2], r[i][3], y[i][0], y[i][1]);
                    for (int i = 0; i < 2; i++)
                        for (int j = 0; j < 2; j++) memcpy(y0 + (i * Wy + j) * Np + n0, y[i][j], sizeof y[i][j]);
                }
            }
        if (w->op == GL_OP_CONV2D) gl_k_bias_act(w->bias ? w->bias + o : NULL, w->act, slot, 1, 1, gl_w3_yplane(w));
        for (int64_t n0 = 0; n0 < w->nn; n0 += GL_W3L) {
            const int nl = (int)(w->nn - n0 < GL_W3L ? w->nn - n0 : GL_W3L);
            float *dst = w->out + (w->n0 + n0) * ld + o * HW;
            for (int64_t i = 0; i < H; i++)
                for (int64_t j0 = 0; j0 < W; j0 += 16) {
                    const int nc = (int)(W - j0 < 16 ? W - j0 : 16);
                    const float *s[16];
                    for (int j = 0; j < nc; j++) s[j] = slot + (i * Wy + j0 + j) * Np + n0;
                    gl_tr16_out(dst + i * W + j0, ld, s, nl, nc);
                }
        }
    }
}

/* forward: M_xi (O x TN) = U_xi^T V_xi, one task per (entry, column strip) */
static void gl_w3_gemms(void *vp, int64_t t0, int64_t t1) {
    const gl_w3 *w = vp;
    const int64_t ns = gl_panel_strips(w->TN);
    for (int64_t t = t0; t < t1; t++) {
        const int64_t xi = t / ns;
        gl_panel_gemm_strip(0, w->O, w->TN, w->C, w->U + xi * w->O * w->C, w->O, w->V + xi * w->C * w->TN, t % ns,
                            w->M + xi * w->O * w->TN, w->TN);
    }
}

/* weight gradient: dU_xi (O x C) (+)= Z_xi V_xi^T, one sgemm per entry; the
 * first chunk writes, later ones accumulate */
static void gl_w3_grad_gemms(void *vp, int64_t x0, int64_t x1) {
    const gl_w3 *w = vp;
    const int64_t O = w->O, C = w->C, TN = w->TN;
    for (int64_t xi = x0; xi < x1; xi++)
        gl_cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)O, (int)C, (int)TN, 1.0f, w->M + xi * O * TN,
                       (int)TN, w->V + xi * C * TN, (int)TN, w->n0 > 0 ? 1.0f : 0.0f, w->U + xi * O * C, (int)C);
}

/* weight gradient: dw[o][c] <- G^T dU G, output channels o0..o1 */
static void gl_w3_grad_weights(void *vp, int64_t o0, int64_t o1) {
    const gl_w3 *w = vp;
    const int64_t O = w->O, C = w->C, us = O * C;
    for (int64_t o = o0; o < o1; o++)
        for (int64_t c = 0; c < C; c++) {
            const float *m = w->U + o * C + c;
            float r[3][4];
            for (int j = 0; j < 4; j++) { /* r = G^T m (rows) */
                const float m0 = m[j * us], m1 = m[(4 + j) * us], m2 = m[(8 + j) * us], m3 = m[(12 + j) * us];
                r[0][j] = m0 + 0.5f * (m1 + m2);
                r[1][j] = 0.5f * (m1 - m2);
                r[2][j] = 0.5f * (m1 + m2) + m3;
            }
            float *d = w->out + (o * C + c) * 9;
            for (int a = 0; a < 3; a++) { /* (G^T m) G */
                d[a * 3 + 0] = r[a][0] + 0.5f * (r[a][1] + r[a][2]);
                d[a * 3 + 1] = 0.5f * (r[a][1] - r[a][2]);
                d[a * 3 + 2] = 0.5f * (r[a][1] + r[a][2]) + r[a][3];
            }
        }
}

/* ---- the driver ---- */

gl_status gl_wino3_conv(gl_op op, const gl_conv_geom *g, const float *in0, const float *in1, const float *bias,
                        const gl_node *act, float *out, float *work, gl_pool *pool, gl_error *err) {
    gl_w3 w;
    gl_w3_plan(op, g, &w);
    const int wgrad = op == GL_OP_CONV2D_WEIGHT_GRAD;
    const int64_t T = w.Th * w.Tw, nc = w.nc;
    if (wgrad && (T * nc > INT_MAX || w.O > INT_MAX || w.C > INT_MAX))
        return gl_fail(err, GL_ERR_VALUE, "%s: dimensions too large for 32-bit BLAS", gl_op_name(op));
    w.src = in0;
    w.ker = wgrad ? NULL : in1;
    w.dy = wgrad ? in1 : NULL;
    w.bias = bias;
    w.act = act;
    w.out = out;
    w.X = work;
    w.V = w.X + w.C * w.Hx * w.Wx * nc;
    w.U = w.V + 16 * w.C * T * nc;
    w.M = w.U + 16 * w.O * w.C;
    w.Y = w.M + 16 * w.O * T * nc;
    if (!wgrad) gl_parallel_for(pool, w.C, 1, gl_w3_weights, &w);
    for (w.n0 = 0; w.n0 < g->N; w.n0 += nc) {
        w.nn = g->N - w.n0 < nc ? g->N - w.n0 : nc;
        w.Np = gl_w3_round(w.nn);
        w.TN = T * w.Np;
        gl_parallel_for(pool, w.C, 1, gl_w3_input, &w);
        if (wgrad) {
            gl_parallel_for(pool, w.O, 1, gl_w3_grad_output, &w);
            gl_parallel_for(pool, 16, 1, gl_w3_grad_gemms, &w);
        } else {
            gl_parallel_for(pool, 16 * gl_panel_strips(w.TN), 1, gl_w3_gemms, &w);
            gl_parallel_for(pool, w.O, 1, gl_w3_output, &w);
        }
    }
    if (wgrad) gl_parallel_for(pool, w.O, 1, gl_w3_grad_weights, &w);
    return GL_OK;
}
