/* gl_k_winograd.c - 4x4 / stride-2 convolutions through Winograd F(4x4, 2x2).
 *
 * Why: every convolution of DCGAN is a 4x4 kernel with stride 2.  Split into
 * its four input phases (even/odd rows x even/odd columns) such a conv is a
 * stride-1 2x2 conv over 4*Ci channels.  A transposed conv is run as the
 * adjoint of that conv (it is the conv's input gradient): every transform
 * and the GEMM are transposed, so it tiles the conv's output grid - its own
 * input - and keeps the short tiles below.  F(4x4, 2x2) computes a 4x4
 * output tile of a 2x2 conv with 25 multiplies instead of 64: the 25
 * entries of the transformed tiles become 25 independent GEMMs (transformed
 * kernels x transformed inputs) with about half the multiply-adds of im2col
 * + GEMM, and no im2col.  Interpolation points 0, 1, -1, 2 and infinity,
 * so the data transforms B^T and A^T have small integer entries; the error
 * stays within a few float32 ulps of the sums (checked against double references in csrc/tests/test_conv.c).
 *
 * Layouts (Np = the chunk's batch rounded up to 16, the SIMD width of the
 * transforms; padding lanes hold zeros so they add nothing to any sum):
 *   X  [4 Ci][Hx][Wx][Np] input of the 2x2 conv (the image side, in phases),
 *                         batch innermost, Hx = 4 Th + 1; room for all, but
 *                         each task range fills and transforms its channels
 *                         one at a time in a slot of its own, so the planes
 *                         stay in cache
 *   V  [25] x C x TN[xi]  B^T d B of every 5x5 input tile; TN[xi] = (tiles
 *                         that use entry xi) x Np, all T = Th Tw tiles but
 *                         where a short last tile (below) leaves xi out;
 *                         in the column strips that gl_panel_gemm_strip reads
 *   U  [25][C][O]         G g G^T of every 2x2 kernel, k-major for the panel GEMM
 *   M  [25][O][TN[xi]]    U_xi^T V_xi
 *   Y  [Co][4Th][4Tw][Np] the column side: A^T m A, then scattered into the
 *                         NCHW output (in per-range slots, as X)
 * The transposed conv swaps the sides: C = Co, O = 4 Ci.  Y holds its input,
 * V = A y A^T, M = U_xi^T V_xi with U the conv's G g G^T stored [C][O], and
 * B m B^T of every tile is added into X (neighbouring 5x5 tiles share a row
 * or column), whose four phases merge into the NCHW output.
 * The weight gradient runs the adjoint: Z = A dy A^T from the output gradient
 * (Y holds dy), MW_xi = Z_xi V_xi^T summed over chunks (in U's place, as
 * [25][O][C]), dg = G^T MW G.  Its sum runs over the GEMM columns, so both
 * operands are stored transposed for the register kernel: M_xi holds Z_xi^T
 * (TN[xi] x O, k-major) and V_xi holds V_xi^T (TN[xi] x C, in strips of C,
 * whose channels run (image channel, phase), not (phase, image channel) as
 * the conv's); the transforms write them through 16 x 16 transposes.
 *
 * All GEMMs run on the register kernel of gl_k_panel_gemm.c, split over
 * (entry, column strip); transforms are split over channels (the weight
 * gradient's over blocks of 16).  Each output element is written by one task
 * in a fixed order, so results do not depend on the thread count. */
#include "gl_k_conv.h"

#include <string.h>

#include "gl_k_panel_gemm.h"
#include "gl_k_transpose.h"

#define GL_WL 16                           /* lanes (images) per transform step */
#define GL_WINO_MAX ((int64_t)1 << 24)     /* workspace floats before the batch is chunked (64 MiB) */
#define GL_WINO_CHUNK 32                   /* at most this many images per chunk: V and M nearer L2 size; with
                                              7 x 7 grids every entry's GEMM columns are still whole strips */
#define GL_WINO_MIN_CHANNELS 32            /* below this the GEMMs are too thin to pay */

typedef struct gl_wino {
    gl_op op;
    const gl_conv_geom *g;
    int64_t C, O;          /* channels in / out of the 2x2 conv */
    int64_t Th, Tw, Hx, Wx;
    int sh, sw;            /* the last tile row / column is short (3 outputs, no point 2) */
    int64_t nc;            /* images per chunk, a multiple of GL_WL */
    int64_t n0, nn, Np;    /* current chunk: first image, images, padded */
    int64_t TNk[4];        /* current chunk: GEMM columns (tiles using the entry x Np) per entry kind */
    int64_t voff[25], moff[25]; /* where V_xi and M_xi start */
    int64_t task0[26];     /* conv GEMM tasks: entry xi has tasks [task0[xi], task0[xi + 1]) */
    const float *in0, *in1;
    const float *bias;     /* conv2d: fused epilogue (gl_kernel_args), or NULL */
    const gl_node *act;
    float *out;
    float *X, *V, *U, *M, *Y;
} gl_wino;

/* d[0..GL_WL) = s[0..GL_WL): a plain loop the compiler turns into one vector move */
static inline void gl_lanes_copy(float *restrict d, const float *restrict s) {
    for (int k = 0; k < GL_WL; k++) d[k] = s[k];
}

/* d[0..GL_WL) += s[0..GL_WL), through a vector type: written as a loop,
 * GCC left the read-modify-write of d scalar */
typedef float gl_lanes __attribute__((vector_size(sizeof(float) * GL_WL)));
static inline void gl_lanes_add(float *d, const float *s) {
    gl_lanes a, b;
    memcpy(&a, d, sizeof a);
    memcpy(&b, s, sizeof b);
    a += b;
    memcpy(d, &a, sizeof a);
}

static int64_t gl_round_lanes(int64_t n) { return (n + GL_WL - 1) / GL_WL * GL_WL; }

/* Floats of X and of Y for chunks of np images. */
static int64_t gl_wino_x_floats(const gl_wino *w, int64_t np) { return 4 * w->g->Ci * w->Hx * w->Wx * np; }
static int64_t gl_wino_y_floats(const gl_wino *w, int64_t np) { return w->g->Co * 16 * w->Th * w->Tw * np; }

/* Workspace floats of X, V, U, M and Y for chunks of np images. */
static int64_t gl_wino_floats(const gl_wino *w, int64_t np) {
    const int64_t T = w->Th * w->Tw;
    return gl_wino_x_floats(w, np) + 25 * w->C * T * np + 25 * w->O * w->C + 25 * w->O * T * np +
           gl_wino_y_floats(w, np);
}

/* Channels and tiles of the 2x2 conv, and the chunk size. */
static void gl_wino_plan(gl_op op, const gl_conv_geom *g, gl_wino *w) {
    memset(w, 0, sizeof *w);
    w->op = op;
    w->g = g;
    /* the 2x2 conv's GEMM depth and rows: the transposed conv runs it backwards */
    w->C = op == GL_OP_CONV_TRANSPOSE2D ? g->Co : 4 * g->Ci;
    w->O = op == GL_OP_CONV_TRANSPOSE2D ? 4 * g->Ci : g->Co;
    w->Th = (g->Ho + 3) / 4;
    w->Tw = (g->Wo + 3) / 4;
    w->sh = g->Ho % 4 == 3;
    w->sw = g->Wo % 4 == 3;
    w->Hx = 4 * w->Th + 1;
    w->Wx = 4 * w->Tw + 1;
    w->nc = gl_round_lanes(g->N < GL_WINO_CHUNK ? g->N : GL_WINO_CHUNK);
    while (w->nc > GL_WL && gl_wino_floats(w, w->nc) > GL_WINO_MAX) w->nc = gl_round_lanes(w->nc / 2);
}

int gl_wino_applies(gl_op op, const gl_conv_geom *g) {
    if (op != GL_OP_CONV2D && op != GL_OP_CONV_TRANSPOSE2D && op != GL_OP_CONV2D_WEIGHT_GRAD) return 0;
    if (g->kh != 4 || g->kw != 4 || g->s != 2 || g->N < 1 || g->Ho < 1 || g->Wo < 1) return 0;
    gl_wino w;
    gl_wino_plan(op, g, &w);
    return w.C >= GL_WINO_MIN_CHANNELS && w.O >= GL_WINO_MIN_CHANNELS;
}

size_t gl_wino_workspace(gl_op op, const gl_conv_geom *g) {
    gl_wino w;
    gl_wino_plan(op, g, &w);
    return (size_t)gl_wino_floats(&w, w.nc);
}

/* ---- 1-D transforms on GL_WL lanes (points 0, 1, -1, 2, inf) ---- */

/* d <- B^T d (5 -> 5), in place */
static inline void gl_bt(float *restrict d0, float *restrict d1, float *restrict d2, float *restrict d3,
                         float *restrict d4) {
    for (int k = 0; k < GL_WL; k++) {
        const float a0 = d0[k], a1 = d1[k], a2 = d2[k], a3 = d3[k], a4 = d4[k];
        d0[k] = 2.0f * (a0 - a2) + (a3 - a1);
        d1[k] = a3 - a2 - 2.0f * a1;
        d2[k] = 2.0f * a1 - 3.0f * a2 + a3;
        d3[k] = a3 - a1;
        d4[k] = 2.0f * (a1 - a3) - a2 + a4;
    }
}

/* v <- B v (5 -> 5), the adjoint of gl_bt, in place */
static inline void gl_b(float *restrict v0, float *restrict v1, float *restrict v2, float *restrict v3,
                        float *restrict v4) {
    for (int k = 0; k < GL_WL; k++) {
        const float a0 = v0[k], a1 = v1[k], a2 = v2[k], a3 = v3[k], a4 = v4[k];
        v0[k] = 2.0f * a0;
        v1[k] = 2.0f * (a2 + a4 - a1) - a0 - a3;
        v2[k] = -2.0f * a0 - a1 - 3.0f * a2 - a4;
        v3[k] = a0 + a1 + a2 + a3 - 2.0f * a4;
        v4[k] = a4;
    }
}

/* y <- A^T m (5 -> 4) */
static inline void gl_at(const float *restrict m0, const float *restrict m1, const float *restrict m2,
                         const float *restrict m3, const float *restrict m4, float *restrict y0, float *restrict y1,
                         float *restrict y2, float *restrict y3) {
    for (int k = 0; k < GL_WL; k++) {
        const float s = m1[k] + m2[k], d = m1[k] - m2[k];
        y0[k] = m0[k] + s + m3[k];
        y1[k] = d + 2.0f * m3[k];
        y2[k] = s + 4.0f * m3[k];
        y3[k] = d + 8.0f * m3[k] + m4[k];
    }
}

/* z <- A y (4 -> 5), the adjoint of gl_at */
static inline void gl_a(const float *restrict y0, const float *restrict y1, const float *restrict y2,
                        const float *restrict y3, float *restrict z0, float *restrict z1, float *restrict z2,
                        float *restrict z3, float *restrict z4) {
    for (int k = 0; k < GL_WL; k++) {
        const float e = y0[k] + y2[k], o = y1[k] + y3[k];
        z0[k] = y0[k];
        z1[k] = e + o;
        z2[k] = e - o;
        z3[k] = y0[k] + 2.0f * y1[k] + 4.0f * y2[k] + 8.0f * y3[k];
        z4[k] = y3[k];
    }
}

/* u <- G g (2 -> 5) */
static inline void gl_gk(const float *restrict g0, const float *restrict g1, float *restrict u0, float *restrict u1,
                         float *restrict u2, float *restrict u3, float *restrict u4) {
    for (int k = 0; k < GL_WL; k++) {
        u0[k] = 0.5f * g0[k];
        u1[k] = -0.5f * (g0[k] + g1[k]);
        u2[k] = (g1[k] - g0[k]) * (1.0f / 6.0f);
        u3[k] = (g0[k] + 2.0f * g1[k]) * (1.0f / 6.0f);
        u4[k] = g1[k];
    }
}

/* r <- G^T m (5 -> 2), the adjoint of gl_gk */
static inline void gl_gt(const float *restrict m0, const float *restrict m1, const float *restrict m2,
                         const float *restrict m3, const float *restrict m4, float *restrict r0, float *restrict r1) {
    for (int k = 0; k < GL_WL; k++) {
        r0[k] = 0.5f * (m0[k] - m1[k]) + (m3[k] - m2[k]) * (1.0f / 6.0f);
        r1[k] = -0.5f * m1[k] + (m2[k] + 2.0f * m3[k]) * (1.0f / 6.0f) + m4[k];
    }
}

/* ---- short tiles: F(3, 2) on the points 0, 1, -1, inf ----
 *
 * An output extent of 3 mod 4 would leave a quarter of its last F(4, 2)
 * tile (and of every GEMM column of it) as padding: 7 x 7, DCGAN's phase
 * grid, computes 8 x 8.  Its last tile is F(3, 2) instead.  Its points are
 * F(4, 2)'s without 2, and its data transforms are solved for F(4, 2)'s
 * kernel rows at those points (G's scaling included), so it multiplies the
 * same U; it only leaves slot 3 (point 2) out.  7 x 7 then takes 81 of the
 * 100 GEMM columns' worth of products per tile pair. */
#define GL_WINO_SKIP 3 /* the slot a short tile does not use */

/* d <- B3^T d (inputs d0..d3 -> slots 0, 1, 2, 4) */
static inline void gl_bt3(float *restrict d0, float *restrict d1, float *restrict d2, const float *restrict d3,
                          float *restrict d4) {
    for (int k = 0; k < GL_WL; k++) {
        const float a0 = d0[k], a1 = d1[k], a2 = d2[k], a3 = d3[k];
        d0[k] = 2.0f * (a0 - a2);
        d1[k] = -(a1 + a2);
        d2[k] = 3.0f * (a1 - a2);
        d4[k] = a3 - a1;
    }
}

/* v <- B3 v (slots 0, 1, 2, 4 -> outputs v0..v3), the adjoint of gl_bt3 */
static inline void gl_b3(float *restrict v0, float *restrict v1, float *restrict v2, float *restrict v3,
                         const float *restrict v4) {
    for (int k = 0; k < GL_WL; k++) {
        const float a0 = v0[k], a1 = v1[k], a2 = v2[k], a4 = v4[k];
        v0[k] = 2.0f * a0;
        v1[k] = 3.0f * a2 - a1 - a4;
        v2[k] = -2.0f * a0 - a1 - 3.0f * a2;
        v3[k] = a4;
    }
}

/* y <- A3^T m (slots 0, 1, 2, 4 -> 3) */
static inline void gl_at3(const float *restrict m0, const float *restrict m1, const float *restrict m2,
                          const float *restrict m4, float *restrict y0, float *restrict y1, float *restrict y2) {
    for (int k = 0; k < GL_WL; k++) {
        const float s = m1[k] + m2[k];
        y0[k] = m0[k] + s;
        y1[k] = m1[k] - m2[k];
        y2[k] = s + m4[k];
    }
}

/* z <- A3 y (3 -> slots 0, 1, 2, 4), the adjoint of gl_at3 */
static inline void gl_a3(const float *restrict y0, const float *restrict y1, const float *restrict y2,
                         float *restrict z0, float *restrict z1, float *restrict z2, float *restrict z4) {
    for (int k = 0; k < GL_WL; k++) {
        const float e = y0[k] + y2[k];
        z0[k] = y0[k];
        z1[k] = e + y1[k];
        z2[k] = e - y1[k];
        z4[k] = y2[k];
    }
}

/* Is the tile in row ty (column tx) full, or the short last one? */
static inline int gl_wino_full_row(const gl_wino *w, int64_t ty) { return !(w->sh && ty == w->Th - 1); }
static inline int gl_wino_full_col(const gl_wino *w, int64_t tx) { return !(w->sw && tx == w->Tw - 1); }

/* Tile rows (columns) whose tiles use slot i: all, or all but the short last one. */
static inline int64_t gl_wino_rows_of(const gl_wino *w, int i) { return w->Th - (w->sh && i == GL_WINO_SKIP); }
static inline int64_t gl_wino_cols_of(const gl_wino *w, int j) { return w->Tw - (w->sw && j == GL_WINO_SKIP); }

/* Entries fall into four kinds by whether they use slot 3 in the row (1)
 * and in the column (2): the kind fixes which tiles use the entry, so its
 * GEMM columns.  A GEMM column is (tile, image): the tiles that use the
 * entry, row-major, then images (a short tile is last in its row and
 * column, so leaving it out shifts no other tile). */
static const unsigned char gl_wino_kinds[25] = {0, 0, 0, 2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0,
                                                1, 1, 1, 3, 1, 0, 0, 0, 2, 0};
_Static_assert(GL_WINO_SKIP == 3, "gl_wino_kinds marks slot 3");

/* First GEMM column of tile (ty, tx) in the entries of kind k. */
static inline int64_t gl_wino_col(const gl_wino *w, int k, int64_t ty, int64_t tx) {
    return (ty * (k & 2 ? gl_wino_cols_of(w, GL_WINO_SKIP) : w->Tw) + tx) * w->Np;
}

/* conv2d and transposed: for tile (ty, tx), lane block n0 and row r (a
 * channel of V or an output channel of M), where each entry holds that
 * column.  V is in strips for the panel GEMM; M is row-major, so its table
 * for n0 = 0 serves the whole tile (add n0).  The transforms' bodies address
 * through the table, not through per-vector offset arithmetic. */
static inline void gl_wino_where(const gl_wino *w, int64_t ty, int64_t tx, int64_t n0, int64_t r, int vlay,
                                 float *p[25]) {
    int64_t off[4];
    for (int k = 0; k < 4; k++) {
        const int64_t col = gl_wino_col(w, k, ty, tx) + n0;
        off[k] = vlay ? gl_panel_b_offset(w->C, w->TNk[k], r, col) : r * w->TNk[k] + col;
    }
    float *const base = vlay ? w->V : w->M;
    const int64_t *const eoff = vlay ? w->voff : w->moff;
    for (int xi = 0; xi < 25; xi++) p[xi] = base + eoff[xi] + off[gl_wino_kinds[xi]];
}

/* GEMM columns of entry xi. */
static inline int64_t gl_wino_tn(const gl_wino *w, int xi) { return w->TNk[gl_wino_kinds[xi]]; }

/* Columns and offsets of the 25 entries for the current chunk. */
static void gl_wino_layout(gl_wino *w) {
    int64_t v = 0, m = 0, t = 0;
    for (int k = 0; k < 4; k++)
        w->TNk[k] = gl_wino_rows_of(w, k & 1 ? GL_WINO_SKIP : 0) * gl_wino_cols_of(w, k & 2 ? GL_WINO_SKIP : 0) * w->Np;
    for (int xi = 0; xi < 25; xi++) {
        w->voff[xi] = v;
        w->moff[xi] = m;
        w->task0[xi] = t;
        v += w->C * gl_wino_tn(w, xi);
        m += w->O * gl_wino_tn(w, xi);
        t += gl_panel_strips(gl_wino_tn(w, xi));
    }
    w->task0[25] = t;
}

/* ---- layout passes ---- */

/* The layout passes move data between NCHW and the batch-innermost layouts
 * in blocks of GL_WL images x 16 columns (gl_k_transpose.h); lanes past the
 * batch are zero. */
_Static_assert(GL_WL == 16, "the layout passes transpose 16 images at a time");

/* Row (or column) h of a stride-2 image, padded by p, in the four-phase
 * split: its phase bit and its row u within the phase. */
static inline void gl_wino_phase_of(int64_t h, int64_t p, int64_t *phase, int64_t *u) {
    *phase = (h + p) & 1;
    *u = (h + p) >> 1;
}

/* Floats of one X plane (one channel of the 2x2 conv's input). */
static inline int64_t gl_wino_plane(const gl_wino *w) { return w->Hx * w->Wx * w->Np; }

/* The four phase planes of image channel c, plane ph at x + ph * ph_stride.
 * Blocks of 16 images x 16 source columns are transposed into the planes'
 * 16-image vectors; entries no source element reaches (padding) are zeroed
 * first. */
static void gl_wino_fill_x_channel(const gl_wino *w, int64_t c, float *x, int64_t ph_stride) {
    const gl_conv_geom *g = w->g;
    const int64_t Np = w->Np, HW = g->H * g->W, ld = g->Ci * HW;
    /* source rows / columns that land in X (the last ones may feed no output) */
    const int64_t Hu = 2 * w->Hx - g->p, Wu = 2 * w->Wx - g->p;
    const int64_t Hs_used = g->H < Hu ? g->H : Hu, Ws_used = g->W < Wu ? g->W : Wu;
    /* padding: positions whose source row or column is outside the input */
    for (int64_t ph = 0; ph < 4; ph++)
        for (int64_t u = 0; u < w->Hx; u++) {
            const int64_t h = 2 * u + (ph >> 1) - g->p;
            float *d = x + ph * ph_stride + u * w->Wx * Np;
            for (int64_t v = 0; v < w->Wx; v++) {
                const int64_t col = 2 * v + (ph & 1) - g->p;
                if (h < 0 || h >= g->H || col < 0 || col >= g->W) memset(d + v * Np, 0, sizeof(float) * (size_t)Np);
            }
        }
    for (int64_t n0 = 0; n0 < Np; n0 += GL_WL) {
        const int nl = (int)(w->nn - n0 < GL_WL ? w->nn - n0 : GL_WL);
        const float *s = w->in0 + (w->n0 + n0) * ld + c * HW;
        for (int64_t h = 0; h < Hs_used; h++) {
            int64_t pa, u;
            gl_wino_phase_of(h, g->p, &pa, &u);
            for (int64_t j0 = 0; j0 < Ws_used; j0 += 16) {
                const int nc = (int)(Ws_used - j0 < 16 ? Ws_used - j0 : 16);
                float *d[16];
                for (int j = 0; j < nc; j++) {
                    int64_t pb, v;
                    gl_wino_phase_of(j0 + j, g->p, &pb, &v);
                    d[j] = x + (pa * 2 + pb) * ph_stride + (u * w->Wx + v) * Np + n0;
                }
                gl_tr16_in(d, s + h * g->W + j0, ld, nl, nc);
            }
        }
    }
}

/* The Y plane y <- channel o of the column side: the output gradient
 * (weight gradient) or the input (transposed conv), zero beyond Ho x Wo */
static void gl_wino_fill_y_channel(const gl_wino *w, int64_t o, float *y) {
    const gl_conv_geom *g = w->g;
    const int64_t Np = w->Np, ld = g->Co * g->P, Hy = 4 * w->Th, Wy = 4 * w->Tw;
    const float *src = w->op == GL_OP_CONV_TRANSPOSE2D ? w->in0 : w->in1;
    for (int64_t i = 0; i < Hy; i++)
        for (int64_t j = i < g->Ho ? g->Wo : 0; j < Wy; j++)
            memset(y + (i * Wy + j) * Np, 0, sizeof(float) * (size_t)Np);
    for (int64_t n0 = 0; n0 < Np; n0 += GL_WL) {
        const int nl = (int)(w->nn - n0 < GL_WL ? w->nn - n0 : GL_WL);
        const float *s = src + (w->n0 + n0) * ld + o * g->P;
        for (int64_t i = 0; i < g->Ho; i++)
            for (int64_t j0 = 0; j0 < g->Wo; j0 += 16) {
                const int nc = (int)(g->Wo - j0 < 16 ? g->Wo - j0 : 16);
                float *d[16];
                for (int j = 0; j < nc; j++) d[j] = y + (i * Wy + j0 + j) * Np + n0;
                gl_tr16_in(d, s + i * g->Wo + j0, ld, nl, nc);
            }
    }
}

/* Floats of one Y plane. */
static inline int64_t gl_wino_yplane(const gl_wino *w) { return 16 * w->Th * w->Tw * w->Np; }

/* ---- transforms ---- */

/* The per-tile bodies take the tile's shape (fr, fc: full row, full column)
 * as constants, each call site passing literals: with fixed loop bounds the
 * compiler unrolls them and keeps the 25 lane vectors in registers. */
#define GL_WINO_INLINE static inline __attribute__((always_inline))
#define GL_WINO_BY_SHAPE(fr, fc, call)             \
    do {                                           \
        if (fr && fc) call(1, 1);                  \
        else if (fr) call(1, 0);                   \
        else if (fc) call(0, 1);                   \
        else call(0, 0);                           \
    } while (0)
#define GL_WINO_USED(fr, fc, i, j) ((fr || (i) != GL_WINO_SKIP) && (fc || (j) != GL_WINO_SKIP))

/* One lane block of one tile: V <- B^T d B */
GL_WINO_INLINE void gl_wino_input_block(const gl_wino *w, const float *x0, float *const v[25], const int fr,
                                        const int fc) {
    const int64_t Np = w->Np;
    float a[5][5][GL_WL];
    for (int i = 0; i < (fr ? 5 : 4); i++)
        for (int j = 0; j < (fc ? 5 : 4); j++) gl_lanes_copy(a[i][j], x0 + (i * w->Wx + j) * Np);
    for (int j = 0; j < (fc ? 5 : 4); j++) {
        if (fr) gl_bt(a[0][j], a[1][j], a[2][j], a[3][j], a[4][j]);
        else gl_bt3(a[0][j], a[1][j], a[2][j], a[3][j], a[4][j]);
    }
    for (int i = 0; i < 5; i++) {
        if (!GL_WINO_USED(fr, 1, i, 0)) continue;
        if (fc) gl_bt(a[i][0], a[i][1], a[i][2], a[i][3], a[i][4]);
        else gl_bt3(a[i][0], a[i][1], a[i][2], a[i][3], a[i][4]);
    }
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++)
            if (GL_WINO_USED(fr, fc, i, j))
                gl_lanes_copy(v[i * 5 + j], a[i][j]);
}

/* The weight gradient's transforms run 16 channels of one lane block into
 * buf, then transpose each entry's 16 channels x 16 images out: by_channel
 * is what a tile body writes, by_entry what a transpose reads. */
typedef struct gl_wino_tbuf {
    float buf[16][25][GL_WL];
    float *by_channel[16][25];
    const float *by_entry[25][16];
} gl_wino_tbuf;

static void gl_wino_tbuf_init(gl_wino_tbuf *t) {
    for (int j = 0; j < 16; j++)
        for (int xi = 0; xi < 25; xi++) {
            t->by_channel[j][xi] = t->buf[j][xi];
            t->by_entry[xi][j] = t->buf[j][xi];
        }
}

/* U <- G g G^T of every 2x2 kernel.  The four phases of a 4x4 kernel
 * w[co][ci] are its 2x2 kernels g[a][b] = w[co][ci][2a + pa][2b + pb]; the
 * conv's GEMM takes them as U row co, column (phase, ci), the transposed
 * conv's (the adjoint) as row (phase, ci), column co.  GL_WL
 * whole 4x4 kernels are loaded at a time, one per lane, consecutive along
 * U's rows (U is stored k-major, a column's rows side by side), so the 25
 * transformed values leave as vector stores.  Tasks: conv2d image channels
 * ci, or transposed-conv column channels co. */
static void gl_wino_weights(void *vp, int64_t t0, int64_t t1) {
    const gl_wino *w = vp;
    const gl_conv_geom *g = w->g;
    const int conv_t = w->op == GL_OP_CONV_TRANSPOSE2D;
    const int64_t O = w->O, us = O * w->C, Ci = g->Ci;
    const int64_t len = conv_t ? Ci : g->Co, lstride = conv_t ? 16 : Ci * 16;
    float kt[16][GL_WL], r[5][2][GL_WL], u[5][5][GL_WL];
    for (int64_t t = t0; t < t1; t++)
        for (int64_t c0 = 0; c0 < len; c0 += GL_WL) {
            const int64_t nl = len - c0 < GL_WL ? len - c0 : GL_WL;
            const float *k0 = conv_t ? w->in1 + (t * Ci + c0) * 16 : w->in1 + (c0 * Ci + t) * 16;
            float *kq[16];
            for (int q = 0; q < 16; q++) kq[q] = kt[q];
            gl_tr16_in(kq, k0, lstride, (int)nl, 16);
            for (int64_t ph = 0; ph < 4; ph++) {
                const int pa = (int)(ph >> 1), pb = (int)(ph & 1);
                /* g[a][b] = w[.][.][2a + pa][2b + pb] */
                const float *g00 = kt[pa * 4 + pb], *g01 = kt[pa * 4 + 2 + pb];
                const float *g10 = kt[(2 + pa) * 4 + pb], *g11 = kt[(2 + pa) * 4 + 2 + pb];
                gl_gk(g00, g10, r[0][0], r[1][0], r[2][0], r[3][0], r[4][0]);
                gl_gk(g01, g11, r[0][1], r[1][1], r[2][1], r[3][1], r[4][1]);
                for (int i = 0; i < 5; i++) gl_gk(r[i][0], r[i][1], u[i][0], u[i][1], u[i][2], u[i][3], u[i][4]);
                float *u0 = conv_t ? w->U + t * O + ph * Ci + c0 : w->U + (ph * Ci + t) * O + c0;
                for (int i = 0; i < 5; i++)
                    for (int j = 0; j < 5; j++) {
                        float *d = u0 + (i * 5 + j) * us;
                        if (nl == GL_WL) gl_lanes_copy(d, u[i][j]);
                        else
                            for (int64_t l = 0; l < nl; l++) d[l] = u[i][j][l];
                    }
            }
        }
}

/* One lane block of one tile: y <- A^T m A; a short side's last output row
 * or column is left unwritten (it lies past the outputs) */
GL_WINO_INLINE void gl_wino_output_block(const gl_wino *w, float *const mp[25], int64_t n0, float *y0, const int fr,
                                         const int fc) {
    const int64_t Np = w->Np, Wy = 4 * w->Tw;
    float m[5][5][GL_WL], r[4][5][GL_WL], y[4][4][GL_WL];
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++)
            if (GL_WINO_USED(fr, fc, i, j)) gl_lanes_copy(m[i][j], mp[i * 5 + j] + n0);
    for (int j = 0; j < 5; j++) {
        if (!GL_WINO_USED(1, fc, 0, j)) continue;
        if (fr) gl_at(m[0][j], m[1][j], m[2][j], m[3][j], m[4][j], r[0][j], r[1][j], r[2][j], r[3][j]);
        else gl_at3(m[0][j], m[1][j], m[2][j], m[4][j], r[0][j], r[1][j], r[2][j]);
    }
    for (int i = 0; i < (fr ? 4 : 3); i++) {
        if (fc) gl_at(r[i][0], r[i][1], r[i][2], r[i][3], r[i][4], y[i][0], y[i][1], y[i][2], y[i][3]);
        else gl_at3(r[i][0], r[i][1], r[i][2], r[i][4], y[i][0], y[i][1], y[i][2]);
    }
    for (int i = 0; i < (fr ? 4 : 3); i++)
        for (int j = 0; j < (fc ? 4 : 3); j++) gl_lanes_copy(y0 + (i * Wy + j) * Np, y[i][j]);
}

/* Transposed conv, one lane block of one tile: X <- B m B^T (B3 along a
 * short side: its tile is 4 wide).  A tile shares its first row with the
 * tile above and its first column with the tile to the left, written
 * before it (raster order): those it adds to (top, left), the rest it
 * writes. */
GL_WINO_INLINE void gl_wino_adj_output_block(const gl_wino *w, float *const mp[25], int64_t n0, float *x0, int top,
                                             int left, const int fr, const int fc) {
    const int64_t Np = w->Np;
    float m[5][5][GL_WL];
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++)
            if (GL_WINO_USED(fr, fc, i, j)) gl_lanes_copy(m[i][j], mp[i * 5 + j] + n0);
    for (int i = 0; i < 5; i++) {
        if (!GL_WINO_USED(fr, 1, i, 0)) continue;
        if (fc) gl_b(m[i][0], m[i][1], m[i][2], m[i][3], m[i][4]);
        else gl_b3(m[i][0], m[i][1], m[i][2], m[i][3], m[i][4]);
    }
    for (int j = 0; j < (fc ? 5 : 4); j++) {
        if (fr) gl_b(m[0][j], m[1][j], m[2][j], m[3][j], m[4][j]);
        else gl_b3(m[0][j], m[1][j], m[2][j], m[3][j], m[4][j]);
    }
    for (int i = 0; i < (fr ? 5 : 4); i++)
        for (int j = 0; j < (fc ? 5 : 4); j++) {
            float *d = x0 + (i * w->Wx + j) * Np;
            if ((i == 0 && top) || (j == 0 && left)) gl_lanes_add(d, m[i][j]);
            else gl_lanes_copy(d, m[i][j]);
        }
}

/* A plane <- the tiles of M row r: Y gets A^T m A (conv2d, A3 along a short
 * side), or, adj, X gets B m B^T (transposed conv), rows and columns past a
 * short last tile left unwritten */
static void gl_wino_from_m(const gl_wino *w, int64_t r, float *dst, int adj) {
    const int64_t Np = w->Np, stride = adj ? w->Wx : 4 * w->Tw;
    for (int64_t ty = 0; ty < w->Th; ty++)
        for (int64_t tx = 0; tx < w->Tw; tx++) {
            const int fr = gl_wino_full_row(w, ty), fc = gl_wino_full_col(w, tx);
            float *d0 = dst + (4 * ty * stride + 4 * tx) * Np;
            float *mp[25];
            gl_wino_where(w, ty, tx, 0, r, 0, mp);
            for (int64_t n0 = 0; n0 < Np; n0 += GL_WL) {
#define GL_WINO_OUT(a, b) gl_wino_output_block(w, mp, n0, d0 + n0, a, b)
#define GL_WINO_ADJ(a, b) gl_wino_adj_output_block(w, mp, n0, d0 + n0, ty > 0, tx > 0, a, b)
                if (adj) GL_WINO_BY_SHAPE(fr, fc, GL_WINO_ADJ);
                else GL_WINO_BY_SHAPE(fr, fc, GL_WINO_OUT);
#undef GL_WINO_OUT
#undef GL_WINO_ADJ
            }
        }
}

/* conv2d: output channels o0..o1 of y, each through a Y plane (cropped to
 * Ho x Wo) in a slot of this task range's own (as X in gl_wino_input) */
static void gl_wino_output_conv(void *vp, int64_t o0, int64_t o1) {
    const gl_wino *w = vp;
    const gl_conv_geom *g = w->g;
    const int64_t Np = w->Np, Wy = 4 * w->Tw, ld = g->Co * g->P;
    float *slot = w->Y + o0 * gl_wino_yplane(w);
    for (int64_t o = o0; o < o1; o++) {
        gl_wino_from_m(w, o, slot, 0);
        gl_k_bias_act(w->bias ? w->bias + o : NULL, w->act, slot, 1, 1, gl_wino_yplane(w));
        for (int64_t n0 = 0; n0 < w->nn; n0 += GL_WL) {
            const int nl = (int)(w->nn - n0 < GL_WL ? w->nn - n0 : GL_WL);
            float *y = w->out + (w->n0 + n0) * ld + o * g->P;
            for (int64_t i = 0; i < g->Ho; i++)
                for (int64_t j0 = 0; j0 < g->Wo; j0 += 16) {
                    const int nc = (int)(g->Wo - j0 < 16 ? g->Wo - j0 : 16);
                    const float *s[16];
                    for (int j = 0; j < nc; j++) s[j] = slot + (i * Wy + j0 + j) * Np + n0;
                    gl_tr16_out(y + i * g->Wo + j0, ld, s, nl, nc);
                }
        }
    }
}

/* Transposed conv: image channels c0..c1 of out, each merged from its four
 * phase planes (the input gradient of the conv it is the adjoint of), built
 * in a slot of X that this task range alone uses (as in gl_wino_input); a
 * row or column no tile reaches (past a short last tile, or past X in an
 * unpadded odd output) is zero. */
static void gl_wino_output_convt(void *vp, int64_t c0, int64_t c1) {
    static const float zeros[GL_WL];
    const gl_wino *w = vp;
    const gl_conv_geom *g = w->g;
    const int64_t Np = w->Np, HW = g->H * g->W, ld = g->Ci * HW;
    const int64_t Hc = 4 * w->Th + !w->sh, Wc = 4 * w->Tw + !w->sw; /* rows, columns the tiles write */
    const int64_t plane = gl_wino_plane(w);
    float *slot = w->X + 4 * c0 * plane;
    for (int64_t c = c0; c < c1; c++) {
        for (int64_t ph = 0; ph < 4; ph++) gl_wino_from_m(w, ph * g->Ci + c, slot + ph * plane, 1);
        for (int64_t n0 = 0; n0 < w->nn; n0 += GL_WL) {
            const int nl = (int)(w->nn - n0 < GL_WL ? w->nn - n0 : GL_WL);
            float *out = w->out + (w->n0 + n0) * ld + c * HW;
            for (int64_t h = 0; h < g->H; h++) {
                int64_t pa, u;
                gl_wino_phase_of(h, g->p, &pa, &u);
                for (int64_t j0 = 0; j0 < g->W; j0 += 16) {
                    const int nc = (int)(g->W - j0 < 16 ? g->W - j0 : 16);
                    const float *s[16];
                    for (int j = 0; j < nc; j++) {
                        int64_t pb, v;
                        gl_wino_phase_of(j0 + j, g->p, &pb, &v);
                        s[j] = u < Hc && v < Wc
                                   ? slot + (pa * 2 + pb) * plane + (u * w->Wx + v) * Np + n0
                                   : zeros;
                    }
                    gl_tr16_out(out + h * g->W + j0, ld, s, nl, nc);
                }
            }
        }
    }
}

/* One lane block of one tile: z <- A dy A^T (A3 along a short side: its
 * last row or column of dy is past the outputs) */
GL_WINO_INLINE void gl_wino_grad_output_block(const gl_wino *w, const float *y0, float *const zp[25], const int fr,
                                              const int fc) {
    const int64_t Np = w->Np, Wy = 4 * w->Tw;
    float d[4][4][GL_WL], r[5][4][GL_WL], z[5][5][GL_WL];
    for (int i = 0; i < (fr ? 4 : 3); i++)
        for (int j = 0; j < (fc ? 4 : 3); j++) gl_lanes_copy(d[i][j], y0 + (i * Wy + j) * Np);
    for (int j = 0; j < (fc ? 4 : 3); j++) {
        if (fr) gl_a(d[0][j], d[1][j], d[2][j], d[3][j], r[0][j], r[1][j], r[2][j], r[3][j], r[4][j]);
        else gl_a3(d[0][j], d[1][j], d[2][j], r[0][j], r[1][j], r[2][j], r[4][j]);
    }
    for (int i = 0; i < 5; i++) {
        if (!GL_WINO_USED(fr, 1, i, 0)) continue;
        if (fc) gl_a(r[i][0], r[i][1], r[i][2], r[i][3], z[i][0], z[i][1], z[i][2], z[i][3], z[i][4]);
        else gl_a3(r[i][0], r[i][1], r[i][2], z[i][0], z[i][1], z[i][2], z[i][4]);
    }
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++)
            if (GL_WINO_USED(fr, fc, i, j)) gl_lanes_copy(zp[i * 5 + j], z[i][j]);
}

/* V row k <- the tiles of a plane: B^T d B of an X plane (conv2d, B3 along
 * a short side), or, adj, A y A^T of a Y plane (transposed conv) */
static void gl_wino_to_v(const gl_wino *w, const float *src, int64_t k, int adj) {
    const int64_t Np = w->Np, stride = adj ? 4 * w->Tw : w->Wx;
    for (int64_t ty = 0; ty < w->Th; ty++)
        for (int64_t tx = 0; tx < w->Tw; tx++) {
            const int fr = gl_wino_full_row(w, ty), fc = gl_wino_full_col(w, tx);
            const float *s0 = src + (4 * ty * stride + 4 * tx) * Np;
            for (int64_t n0 = 0; n0 < Np; n0 += GL_WL) {
                float *v[25];
                gl_wino_where(w, ty, tx, n0, k, 1, v);
#define GL_WINO_IN(a, b) gl_wino_input_block(w, s0 + n0, v, a, b)
#define GL_WINO_ADJ(a, b) gl_wino_grad_output_block(w, s0 + n0, v, a, b)
                if (adj) GL_WINO_BY_SHAPE(fr, fc, GL_WINO_ADJ);
                else GL_WINO_BY_SHAPE(fr, fc, GL_WINO_IN);
#undef GL_WINO_IN
#undef GL_WINO_ADJ
            }
        }
}

/* conv2d: V rows (phase, c) for image channels c0..c1.  Each channel's four
 * phase planes go through a slot of X that this task range alone uses (its
 * first channel's), rewritten for every channel: they are transformed while
 * still in cache and never travel to memory. */
static void gl_wino_input(void *vp, int64_t c0, int64_t c1) {
    const gl_wino *w = vp;
    const int64_t plane = gl_wino_plane(w);
    float *slot = w->X + 4 * c0 * plane;
    for (int64_t c = c0; c < c1; c++) {
        gl_wino_fill_x_channel(w, c, slot, plane);
        for (int64_t ph = 0; ph < 4; ph++) gl_wino_to_v(w, slot + ph * plane, ph * w->g->Ci + c, 0);
    }
}

/* Transposed conv: V <- A y A^T of its input's channels c0..c1, each filled
 * into a Y slot of this range's own first (as X in gl_wino_input) */
static void gl_wino_adj_input(void *vp, int64_t c0, int64_t c1) {
    const gl_wino *w = vp;
    float *slot = w->Y + c0 * gl_wino_yplane(w);
    for (int64_t c = c0; c < c1; c++) {
        gl_wino_fill_y_channel(w, c, slot);
        gl_wino_to_v(w, slot, c, 1);
    }
}

/* Weight gradient, for channel blocks b0..b1 of 16: V_xi^T <- B^T d B of the
 * input side (dy = 0: a block is the four phases of four image channels),
 * or Z_xi^T <- A dy A^T of the output gradient (dy = 1, into M).  They are
 * the register kernel's B (rows: the GEMM columns, i.e. the sum; columns:
 * the C channels, in strips) and A (k-major: a column's O output channels
 * side by side), so each block transforms 16 channels into a buffer and
 * transposes every entry's 16 channels x 16 images out. */
static void gl_wino_grad_transform(const gl_wino *w, int dy, int64_t b0, int64_t b1) {
    const int64_t Np = w->Np, Wy = 4 * w->Tw, nch = dy ? w->O : w->C, plane = gl_wino_plane(w);
    float *slot = w->X + 16 * b0 * plane, *yslot = w->Y + 16 * b0 * gl_wino_yplane(w); /* as in gl_wino_input */
    gl_wino_tbuf t;
    gl_wino_tbuf_init(&t);
    for (int64_t cb = b0; cb < b1; cb++) {
        const int64_t c0 = 16 * cb, wd = gl_panel_width(w->C, c0 / GL_PANEL_NR); /* V's strip width */
        const int nc = (int)(nch - c0 < 16 ? nch - c0 : 16);
        if (!dy) /* V^T columns c0.. are (image channel, phase) pairs: four image channels */
            for (int q = 0; q < nc / 4; q++) gl_wino_fill_x_channel(w, c0 / 4 + q, slot + 4 * q * plane, plane);
        else
            for (int q = 0; q < nc; q++) gl_wino_fill_y_channel(w, c0 + q, yslot + q * gl_wino_yplane(w));
        for (int64_t ty = 0; ty < w->Th; ty++)
            for (int64_t tx = 0; tx < w->Tw; tx++) {
                const int fr = gl_wino_full_row(w, ty), fc = gl_wino_full_col(w, tx);
                int64_t col[4];
                for (int k = 0; k < 4; k++) col[k] = gl_wino_col(w, k, ty, tx);
                for (int64_t n0 = 0; n0 < Np; n0 += GL_WL) {
                    for (int j = 0; j < nc; j++) {
                        if (dy) {
                            const float *y0 = yslot + j * gl_wino_yplane(w) + (4 * ty * Wy + 4 * tx) * Np + n0;
#define GL_WINO_CALL(a, b) gl_wino_grad_output_block(w, y0, t.by_channel[j], a, b)
                            GL_WINO_BY_SHAPE(fr, fc, GL_WINO_CALL);
#undef GL_WINO_CALL
                        } else {
                            const float *x0 = slot + j * plane + (4 * ty * w->Wx + 4 * tx) * Np + n0;
#define GL_WINO_CALL(a, b) gl_wino_input_block(w, x0, t.by_channel[j], a, b)
                            GL_WINO_BY_SHAPE(fr, fc, GL_WINO_CALL);
#undef GL_WINO_CALL
                        }
                    }
                    for (int xi = 0; xi < 25; xi++) {
                        if (!GL_WINO_USED(fr, fc, xi / 5, xi % 5)) continue;
                        const int64_t c = col[gl_wino_kinds[xi]] + n0, TN = gl_wino_tn(w, xi);
                        if (dy) gl_tr16_out(w->M + w->moff[xi] + c * w->O + c0, w->O, t.by_entry[xi], GL_WL, nc);
                        else gl_tr16_out(w->V + w->voff[xi] + gl_panel_b_offset(TN, w->C, c, c0), wd, t.by_entry[xi],
                                         GL_WL, nc);
                    }
                }
            }
    }
}

static void gl_wino_input_t(void *vp, int64_t b0, int64_t b1) { gl_wino_grad_transform(vp, 0, b0, b1); }

static void gl_wino_grad_output(void *vp, int64_t b0, int64_t b1) { gl_wino_grad_transform(vp, 1, b0, b1); }

/* weight gradient: dw <- G^T MW G for output channels o0..o1 */
static void gl_wino_grad_weights(void *vp, int64_t o0, int64_t o1) {
    const gl_wino *w = vp;
    const gl_conv_geom *g = w->g;
    const int64_t C = w->C, us = w->O * C;
    float m[5][5][GL_WL], r[2][5][GL_WL], q[2][2][GL_WL];
    for (int64_t o = o0; o < o1; o++)
        for (int64_t c0 = 0; c0 < C; c0 += GL_WL) {
            const int64_t nl = C - c0 < GL_WL ? C - c0 : GL_WL;
            const float *m0 = w->U + o * C + c0;
            memset(m, 0, sizeof m);
            for (int i = 0; i < 5; i++)
                for (int j = 0; j < 5; j++) memcpy(m[i][j], m0 + (i * 5 + j) * us, sizeof(float) * (size_t)nl);
            for (int j = 0; j < 5; j++) gl_gt(m[0][j], m[1][j], m[2][j], m[3][j], m[4][j], r[0][j], r[1][j]);
            for (int a = 0; a < 2; a++) gl_gt(r[a][0], r[a][1], r[a][2], r[a][3], r[a][4], q[a][0], q[a][1]);
            for (int64_t l = 0; l < nl; l++) { /* (input channel, phase) -> dw[o][ci][2a + pa][2b + pb] */
                const int64_t ci = (c0 + l) / 4, ph = (c0 + l) % 4, pa = ph >> 1, pb = ph & 1;
                float *d = w->out + (o * g->Ci + ci) * 16;
                for (int a = 0; a < 2; a++)
                    for (int b = 0; b < 2; b++) d[(2 * a + pa) * 4 + 2 * b + pb] = q[a][b][l];
            }
        }
}

/* ---- the 25 GEMMs ---- */

/* conv2d and transposed: M_xi (O x TN[xi]) = U_xi^T V_xi, one task per (xi, column strip) */
static void gl_wino_gemms(void *vp, int64_t t0, int64_t t1) {
    const gl_wino *w = vp;
    int xi = 0;
    for (int64_t t = t0; t < t1; t++) {
        while (t >= w->task0[xi + 1]) xi++;
        gl_panel_gemm_strip(0, w->O, gl_wino_tn(w, xi), w->C, w->U + xi * w->O * w->C, w->O, w->V + w->voff[xi],
                            t - w->task0[xi], w->M + w->moff[xi], gl_wino_tn(w, xi));
    }
}

/* weight gradient: MW_xi (O x C) += Z_xi V_xi^T, the sum over the entry's
 * GEMM columns; one task per (xi, strip of C); the first chunk writes, later
 * ones accumulate (an entry no tile uses has depth 0: zeros) */
static void gl_wino_grad_gemms(void *vp, int64_t t0, int64_t t1) {
    const gl_wino *w = vp;
    const int64_t O = w->O, C = w->C, ns = gl_panel_strips(C);
    for (int64_t t = t0; t < t1; t++) {
        const int xi = (int)(t / ns);
        gl_panel_gemm_strip(w->n0 > 0, O, C, gl_wino_tn(w, xi), w->M + w->moff[xi], O, w->V + w->voff[xi], t % ns,
                            w->U + xi * O * C, C);
    }
}

/* ---- the driver ---- */

void gl_wino_conv(gl_op op, const gl_conv_geom *g, const float *in0, const float *in1, const float *bias,
                  const gl_node *act, float *out, float *work, gl_pool *pool) {
    gl_wino w;
    gl_wino_plan(op, g, &w);
    w.in0 = in0;
    w.in1 = in1;
    w.bias = bias;
    w.act = act;
    w.out = out;
    const int64_t T = w.Th * w.Tw, nc = w.nc;
    w.X = work;
    w.V = w.X + gl_wino_x_floats(&w, nc);
    w.U = w.V + 25 * w.C * T * nc;
    w.M = w.U + 25 * w.O * w.C;
    w.Y = w.M + 25 * w.O * T * nc;
    const int wgrad = op == GL_OP_CONV2D_WEIGHT_GRAD, conv_t = op == GL_OP_CONV_TRANSPOSE2D;
    if (!wgrad) gl_parallel_for(pool, conv_t ? g->Co : g->Ci, 1, gl_wino_weights, &w);
    for (w.n0 = 0; w.n0 < g->N; w.n0 += nc) {
        w.nn = g->N - w.n0 < nc ? g->N - w.n0 : nc;
        w.Np = gl_round_lanes(w.nn);
        gl_wino_layout(&w);
        if (conv_t) {
            gl_parallel_for(pool, w.C, 1, gl_wino_adj_input, &w);
            gl_parallel_for(pool, w.task0[25], 1, gl_wino_gemms, &w);
            gl_parallel_for(pool, g->Ci, 1, gl_wino_output_convt, &w);
        } else if (wgrad) {
            gl_parallel_for(pool, (w.C + 15) / 16, 1, gl_wino_input_t, &w);
            gl_parallel_for(pool, (w.O + 15) / 16, 1, gl_wino_grad_output, &w);
            gl_parallel_for(pool, 25 * gl_panel_strips(w.C), 1, gl_wino_grad_gemms, &w);
        } else {
            gl_parallel_for(pool, g->Ci, 1, gl_wino_input, &w);
            gl_parallel_for(pool, w.task0[25], 1, gl_wino_gemms, &w);
            gl_parallel_for(pool, w.O, 1, gl_wino_output_conv, &w);
        }
    }
    if (wgrad) gl_parallel_for(pool, w.O, 1, gl_wino_grad_weights, &w);
}
