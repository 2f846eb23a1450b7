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
 * Layouts, as in gl_k_winograd.c (a chunk is GL_W3L = 16 images, the SIMD
 * width of the transforms; padding lanes hold zeros):
 *   X  [C][Hx][Wx][16]   the source planes with their one-pixel zero border,
 *                        Hx = 2 Th + 2, images innermost
 *   U  [16][C][O]        G g G^T of every kernel, k-major for the panel GEMM
 *                        (the weight gradient: dU, [16][O][C])
 * The forward ops (conv2d, transposed conv) run a chunk in blocks of tile
 * row segments (GL_W3_SEG tiles: 16 output columns) sized so that a block's
 * V and M stay in L2: transforming a whole 32 x 32 chunk at once wrote 2-4
 * MB of V and M to memory and read it back (with 8-16 channels the
 * transforms were ~50 % of an autoencoder step and the GEMMs 16 %).  Per
 * block of TB columns (tile, image):
 *   V  [16] x C x TB     B^T d B of its 4x4 tiles, in the column strips that
 *                        gl_panel_gemm_strip reads
 *   M  [16][O][TB]       U_xi^T V_xi
 * then A^T m A of each segment goes through a small buffer (with the conv's
 * fused bias and activation) straight into the NCHW output.  Blocks are
 * independent: with enough of them each thread runs whole blocks in a slot
 * of its own (its first block's), else blocks run in turn with channels,
 * GEMM strips and result channels split over the pool.
 * The weight gradient runs a chunk in blocks of whole tile rows (larger:
 * one sgemm per entry and block), in turn: per block of TB columns
 *   V  [16][C][TB]       B^T d B, row-major
 *   M  [16][O][TB]       A dy A^T (dy from Y [O][2Th][2Tw][16], its planes)
 * and dU_xi (+)= M_xi V_xi^T (O x C summed over TB columns: both operands
 * would need transposing for the register kernel) by one sgemm.  Each
 * output element is written by one task in a fixed order: results do not
 * depend on the thread count. */
#include "gl_k_conv.h"

#include <limits.h>
#include <string.h>

#include "gl_blas.h"
#include "gl_k_panel_gemm.h"
#include "gl_k_transpose.h"

#define GL_W3L 16                 /* lanes (images) per transform step, and images per chunk: 32
                                     was 1.1-1.4x slower at batch 64 (V and M twice as large) */
#define GL_W3_SEG 8               /* tiles per segment of a tile row: 16 output columns */
#define GL_W3_BLOCK_BYTES (192 << 10) /* V + M of one forward block */
#define GL_W3_WGRAD_BYTES (768 << 10) /* V + M of one weight-gradient block (one sgemm per entry) */
#define GL_W3_PAD 16              /* floats between the 16 entries of V and M: entries a multiple of
                                     4 KiB apart share L1 sets, and the transforms touch all 16 at once */

typedef struct gl_w3 {
    gl_op op;
    const gl_conv_geom *g;
    int64_t C, O;          /* GEMM depth (source channels) and rows (result channels) */
    int64_t H, W;          /* both sides' plane */
    int64_t Th, Tw, Hx, Wx;
    int64_t Sx, nseg;      /* forward: segments per tile row, per chunk */
    int64_t S, nblk, BC;   /* forward: segments per block, blocks per chunk, columns of a block slot */
    int64_t R;             /* weight gradient: tile rows per block */
    int64_t b;             /* the block running (blocks in turn) */
    int64_t n0, nn;
    const float *src;      /* the tensor that is tiled: x, or the transposed conv's input */
    const float *ker;      /* the kernel (conv, transposed conv) */
    const float *dy;       /* the weight gradient's output gradient */
    const float *bias;     /* conv2d: fused epilogue, or NULL */
    const gl_node *act;
    float *out;
    float *X, *V, *U, *M, *Y;
} gl_w3;

/* Floats from one entry of V or M (rows x cols) to the next */
static inline int64_t gl_w3_es(int64_t rows, int64_t cols) { return rows * cols + GL_W3_PAD; }

static int64_t gl_w3_floats(const gl_w3 *w) {
    const int64_t T = w->Th * w->Tw, x = w->C * w->Hx * w->Wx * GL_W3L, u = 16 * w->O * w->C;
    if (w->op == GL_OP_CONV2D_WEIGHT_GRAD)
        return x + 16 * (gl_w3_es(w->C, w->R * w->Tw * GL_W3L) + gl_w3_es(w->O, w->R * w->Tw * GL_W3L)) + u +
               w->O * 4 * T * GL_W3L;
    return x + w->nblk * 16 * (gl_w3_es(w->C, w->BC) + gl_w3_es(w->O, w->BC)) + u;
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
    w->Sx = (w->Tw + GL_W3_SEG - 1) / GL_W3_SEG;
    w->nseg = w->Th * w->Sx;
    const int64_t seg_cols = (w->Tw < GL_W3_SEG ? w->Tw : GL_W3_SEG) * GL_W3L;
    const int64_t seg_bytes = 16 * (w->C + w->O) * seg_cols * (int64_t)sizeof(float);
    w->S = GL_W3_BLOCK_BYTES / seg_bytes;
    w->S = w->S < 1 ? 1 : w->S > w->nseg ? w->nseg : w->S;
    w->nblk = (w->nseg + w->S - 1) / w->S;
    w->BC = w->S * seg_cols;
    const int64_t row_bytes = 16 * (w->C + w->O) * w->Tw * GL_W3L * (int64_t)sizeof(float);
    w->R = GL_W3_WGRAD_BYTES / row_bytes;
    w->R = w->R < 1 ? 1 : w->R > w->Th ? w->Th : w->R;
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
    return (size_t)gl_w3_floats(&w);
}

/* ---- 1-D transforms on vectors of GL_W3L lanes (gl_k_vec16.h: one zmm
 * register with AVX-512; whole-vector loads and stores, so a value stored
 * and read back is forwarded rather than stalled on split stores) ---- */

/* d <- B^T d (4 -> 4), in place */
static inline void gl_w3_bt(gl_pv *d0, gl_pv *d1, gl_pv *d2, gl_pv *d3) {
    const gl_pv a0 = *d0, a1 = *d1, a2 = *d2, a3 = *d3;
    *d0 = a0 - a2;
    *d1 = a1 + a2;
    *d2 = a2 - a1;
    *d3 = a1 - a3;
}

/* y <- A^T m (4 -> 2) */
static inline void gl_w3_at(const gl_pv *m0, const gl_pv *m1, const gl_pv *m2, const gl_pv *m3, gl_pv *y0,
                            gl_pv *y1) {
    *y0 = *m0 + *m1 + *m2;
    *y1 = *m1 - *m2 - *m3;
}

/* z <- A y (2 -> 4), the adjoint of gl_w3_at */
static inline void gl_w3_a(const gl_pv *y0, const gl_pv *y1, gl_pv *z0, gl_pv *z1, gl_pv *z2, gl_pv *z3) {
    *z0 = *y0;
    *z1 = *y0 + *y1;
    *z2 = *y0 - *y1;
    *z3 = -*y1;
}

/* ---- layout passes (16 images x 16 columns at a time, gl_k_transpose.h) ---- */
_Static_assert(GL_W3L == 16, "the layout passes transpose 16 images at a time");

static inline int64_t gl_w3_xplane(const gl_w3 *w) { return w->Hx * w->Wx * GL_W3L; }
static inline int64_t gl_w3_yplane(const gl_w3 *w) { return 4 * w->Th * w->Tw * GL_W3L; }

/* The chunk's images n0 .. n0 + nn of channel c of an NCHW tensor (t, with
 * ch channels) -> rows 0..H-1, columns 0..W-1 of a plane whose rows are ld
 * pixels of 16 lanes apart, starting at p; lanes past nn become zeros */
static void gl_w3_gather(const gl_w3 *w, const float *t, int64_t ch, int64_t c, float *p, int64_t ld) {
    const int64_t H = w->H, W = w->W, HW = H * W, ldn = ch * HW;
    const float *s = t + w->n0 * ldn + c * HW;
    for (int64_t h = 0; h < H; h++)
        for (int64_t j0 = 0; j0 < W; j0 += 16) {
            const int nc = (int)(W - j0 < 16 ? W - j0 : 16);
            float *d[16];
            for (int j = 0; j < nc; j++) d[j] = p + (h * ld + j0 + j) * GL_W3L;
            gl_tr16_in(d, s + h * W + j0, ldn, (int)w->nn, nc);
        }
}

/* X plane x <- source channel c, with its zero border (row and column 0,
 * and everything past H, W) */
static void gl_w3_fill_x(const gl_w3 *w, int64_t c, float *x) {
    const int64_t H = w->H, W = w->W, Wx = w->Wx;
    const size_t px = sizeof(float) * GL_W3L;
    memset(x, 0, px * (size_t)Wx);
    for (int64_t u = H + 1; u < w->Hx; u++) memset(x + u * Wx * GL_W3L, 0, px * (size_t)Wx);
    for (int64_t u = 1; u <= H; u++) {
        memset(x + u * Wx * GL_W3L, 0, px);
        memset(x + (u * Wx + W + 1) * GL_W3L, 0, px * (size_t)(Wx - W - 1));
    }
    gl_w3_gather(w, w->src, w->C, c, x + (Wx + 1) * GL_W3L, Wx);
}

/* forward: the X planes of source channels c0..c1 */
static void gl_w3_fill(void *vp, int64_t c0, int64_t c1) {
    const gl_w3 *w = vp;
    for (int64_t c = c0; c < c1; c++) gl_w3_fill_x(w, c, w->X + c * gl_w3_xplane(w));
}

/* ---- transforms of one tile (16 lanes) ---- */

/* The 16 entries of B^T d B of the 4x4 tile at x0 (rows ld floats apart) to
 * v + xi * es */
static inline void gl_w3_tile_v(const float *x0, int64_t ld, float *v, int64_t es) {
    gl_pv a[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) GL_PV_LD(a[i][j], x0 + i * ld + j * GL_W3L);
    for (int j = 0; j < 4; j++) gl_w3_bt(&a[0][j], &a[1][j], &a[2][j], &a[3][j]);
    for (int i = 0; i < 4; i++) gl_w3_bt(&a[i][0], &a[i][1], &a[i][2], &a[i][3]);
    for (int xi = 0; xi < 16; xi++) GL_PV_ST(v + xi * es, a[xi / 4][xi % 4]);
}

/* The 2x2 tile y = A^T m A from the 16 entries m0 + xi * es */
static inline void gl_w3_tile_y(const float *m0, int64_t es, gl_pv y[2][2]) {
    gl_pv m[4][4], r[2][4];
    for (int xi = 0; xi < 16; xi++) GL_PV_LD(m[xi / 4][xi % 4], m0 + xi * es);
    for (int j = 0; j < 4; j++) gl_w3_at(&m[0][j], &m[1][j], &m[2][j], &m[3][j], &r[0][j], &r[1][j]);
    for (int i = 0; i < 2; i++) gl_w3_at(&r[i][0], &r[i][1], &r[i][2], &r[i][3], &y[i][0], &y[i][1]);
}

/* ---- the kernels' transform ---- */

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

/* ---- forward: a chunk in blocks of tile row segments ---- */

/* Segment g: tile row *ty, tiles *tx0 .. *tx0 + return value */
static inline int64_t gl_w3_seg(const gl_w3 *w, int64_t g, int64_t *ty, int64_t *tx0) {
    *ty = g / w->Sx;
    *tx0 = g % w->Sx * GL_W3_SEG;
    return w->Tw - *tx0 < GL_W3_SEG ? w->Tw - *tx0 : GL_W3_SEG;
}

/* Block b: segments *g0 .. *g1, return value = its columns */
static int64_t gl_w3_block(const gl_w3 *w, int64_t b, int64_t *g0, int64_t *g1) {
    int64_t ty, tx0, cols = 0;
    *g0 = b * w->S;
    *g1 = *g0 + w->S < w->nseg ? *g0 + w->S : w->nseg;
    for (int64_t g = *g0; g < *g1; g++) cols += gl_w3_seg(w, g, &ty, &tx0) * GL_W3L;
    return cols;
}

/* V (strips, TB columns) <- B^T d B of block b's tiles, source channels c0..c1 */
static void gl_w3_block_v(const gl_w3 *w, int64_t b, float *V, int64_t c0, int64_t c1) {
    int64_t g0, g1, ty, tx0;
    const int64_t TB = gl_w3_block(w, b, &g0, &g1), ld = w->Wx * GL_W3L;
    for (int64_t c = c0; c < c1; c++) {
        const float *x = w->X + c * gl_w3_xplane(w);
        int64_t col = 0;
        for (int64_t g = g0; g < g1; g++) {
            const int64_t nt = gl_w3_seg(w, g, &ty, &tx0);
            for (int64_t tx = tx0; tx < tx0 + nt; tx++, col += GL_W3L)
                gl_w3_tile_v(x + 2 * ty * ld + 2 * tx * GL_W3L, ld, V + gl_panel_b_offset(w->C, TB, c, col),
                             gl_w3_es(w->C, TB));
        }
    }
}

/* M_xi (O x TB) = U_xi^T V_xi, tasks t0..t1 of (entry, column strip) */
static void gl_w3_block_gemms(const gl_w3 *w, int64_t TB, const float *V, float *M, int64_t t0, int64_t t1) {
    const int64_t ns = gl_panel_strips(TB);
    for (int64_t t = t0; t < t1; t++) {
        const int64_t xi = t / ns;
        gl_panel_gemm_strip(0, w->O, TB, w->C, w->U + xi * w->O * w->C, w->O, V + xi * gl_w3_es(w->C, TB), t % ns,
                            M + xi * gl_w3_es(w->O, TB), TB);
    }
}

/* Result channels o0..o1 of block b <- A^T m A of its tiles, a segment at a
 * time through a buffer (the conv's bias and activation applied there), then
 * cropped into the NCHW output */
static void gl_w3_block_out(const gl_w3 *w, int64_t b, const float *M, int64_t o0, int64_t o1) {
    int64_t g0, g1, ty, tx0;
    const int64_t TB = gl_w3_block(w, b, &g0, &g1), es = gl_w3_es(w->O, TB), HW = w->H * w->W, ld = w->O * HW;
    gl_pv buf[2][2 * GL_W3_SEG];
    for (int64_t o = o0; o < o1; o++) {
        const float *bias = w->op == GL_OP_CONV2D && w->bias ? w->bias + o : NULL;
        const gl_node *act = w->op == GL_OP_CONV2D ? w->act : NULL;
        float *dst = w->out + w->n0 * ld + o * HW;
        int64_t col = 0;
        for (int64_t g = g0; g < g1; g++) {
            const int64_t nt = gl_w3_seg(w, g, &ty, &tx0), cols = w->W - 2 * tx0 < 16 ? w->W - 2 * tx0 : 16;
            for (int64_t k = 0; k < nt; k++, col += GL_W3L) {
                gl_pv y[2][2];
                gl_w3_tile_y(M + o * TB + col, es, y);
                for (int i = 0; i < 2; i++)
                    for (int j = 0; j < 2; j++) {
                        if (bias) y[i][j] = y[i][j] + *bias;
                        gl_k_apply_act_pv(act, &y[i][j]);
                        buf[i][2 * k + j] = y[i][j];
                    }
            }
            for (int64_t r = 0; r < 2 && 2 * ty + r < w->H; r++) {
                const float *s[16];
                for (int j = 0; j < cols; j++) s[j] = (const float *)&buf[r][j];
                gl_tr16_out(dst + (2 * ty + r) * w->W + 2 * tx0, ld, s, (int)w->nn, (int)cols);
            }
        }
    }
}

/* Blocks b0..b1, each whole, through the slot of block b0 */
static void gl_w3_blocks(void *vp, int64_t b0, int64_t b1) {
    const gl_w3 *w = vp;
    float *V = w->V + b0 * 16 * gl_w3_es(w->C, w->BC), *M = w->M + b0 * 16 * gl_w3_es(w->O, w->BC);
    for (int64_t b = b0; b < b1; b++) {
        int64_t g0, g1;
        const int64_t TB = gl_w3_block(w, b, &g0, &g1);
        gl_w3_block_v(w, b, V, 0, w->C);
        gl_w3_block_gemms(w, TB, V, M, 0, 16 * gl_panel_strips(TB));
        gl_w3_block_out(w, b, M, 0, w->O);
    }
}

/* Block w->b in turn, its three passes split over the pool (slot 0) */
static void gl_w3_turn_v(void *vp, int64_t c0, int64_t c1) {
    const gl_w3 *w = vp;
    gl_w3_block_v(w, w->b, w->V, c0, c1);
}

static void gl_w3_turn_gemms(void *vp, int64_t t0, int64_t t1) {
    const gl_w3 *w = vp;
    int64_t g0, g1;
    gl_w3_block_gemms(w, gl_w3_block(w, w->b, &g0, &g1), w->V, w->M, t0, t1);
}

static void gl_w3_turn_out(void *vp, int64_t o0, int64_t o1) {
    const gl_w3 *w = vp;
    gl_w3_block_out(w, w->b, w->M, o0, o1);
}

/* ---- weight gradient: a chunk in blocks of tile rows ---- */

/* Tile rows of block w->b: *ty0 .. return value; *TB = its columns */
static int64_t gl_w3_grad_rows(const gl_w3 *w, int64_t *ty0, int64_t *TB) {
    *ty0 = w->b * w->R;
    const int64_t ty1 = *ty0 + w->R < w->Th ? *ty0 + w->R : w->Th;
    *TB = (ty1 - *ty0) * w->Tw * GL_W3L;
    return ty1;
}

/* Y planes of output gradient channels o0..o1, zero past H, W */
static void gl_w3_fill_dy(void *vp, int64_t o0, int64_t o1) {
    const gl_w3 *w = vp;
    const int64_t Wy = 2 * w->Tw;
    for (int64_t o = o0; o < o1; o++) {
        float *y = w->Y + o * gl_w3_yplane(w);
        for (int64_t i = 0; i < 2 * w->Th; i++)
            for (int64_t j = i < w->H ? w->W : 0; j < Wy; j++) memset(y + (i * Wy + j) * GL_W3L, 0, sizeof(float) * GL_W3L);
        gl_w3_gather(w, w->dy, w->O, o, y, Wy);
    }
}

/* V (row-major [16][C][TB]) <- B^T d B of block w->b's tiles, source channels c0..c1 */
static void gl_w3_grad_v(void *vp, int64_t c0, int64_t c1) {
    const gl_w3 *w = vp;
    int64_t ty0, TB;
    const int64_t ty1 = gl_w3_grad_rows(w, &ty0, &TB), ld = w->Wx * GL_W3L;
    for (int64_t c = c0; c < c1; c++) {
        const float *x = w->X + c * gl_w3_xplane(w);
        for (int64_t ty = ty0; ty < ty1; ty++)
            for (int64_t tx = 0; tx < w->Tw; tx++)
                gl_w3_tile_v(x + 2 * ty * ld + 2 * tx * GL_W3L, ld, w->V + c * TB + ((ty - ty0) * w->Tw + tx) * GL_W3L,
                             gl_w3_es(w->C, TB));
    }
}

/* M (row-major [16][O][TB]) <- A dy A^T of block w->b's tiles, output gradient channels o0..o1 */
static void gl_w3_grad_m(void *vp, int64_t o0, int64_t o1) {
    const gl_w3 *w = vp;
    int64_t ty0, TB;
    const int64_t ty1 = gl_w3_grad_rows(w, &ty0, &TB), ld = 2 * w->Tw * GL_W3L, es = gl_w3_es(w->O, TB);
    for (int64_t o = o0; o < o1; o++)
        for (int64_t ty = ty0; ty < ty1; ty++)
            for (int64_t tx = 0; tx < w->Tw; tx++) {
                const float *y0 = w->Y + o * gl_w3_yplane(w) + 2 * ty * ld + 2 * tx * GL_W3L;
                gl_pv d[2][2], r[4][2], z[4][4];
                for (int i = 0; i < 2; i++)
                    for (int j = 0; j < 2; j++) GL_PV_LD(d[i][j], y0 + i * ld + j * GL_W3L);
                for (int j = 0; j < 2; j++) gl_w3_a(&d[0][j], &d[1][j], &r[0][j], &r[1][j], &r[2][j], &r[3][j]);
                for (int i = 0; i < 4; i++) gl_w3_a(&r[i][0], &r[i][1], &z[i][0], &z[i][1], &z[i][2], &z[i][3]);
                float *m0 = w->M + o * TB + ((ty - ty0) * w->Tw + tx) * GL_W3L;
                for (int xi = 0; xi < 16; xi++) GL_PV_ST(m0 + xi * es, z[xi / 4][xi % 4]);
            }
}

/* dU_xi (O x C) (+)= M_xi V_xi^T, one sgemm per entry; the first block of
 * the first chunk writes, every later one accumulates */
static void gl_w3_grad_gemms(void *vp, int64_t x0, int64_t x1) {
    const gl_w3 *w = vp;
    int64_t ty0, TB;
    gl_w3_grad_rows(w, &ty0, &TB);
    const int64_t O = w->O, C = w->C;
    const float beta = w->n0 > 0 || w->b > 0 ? 1.0f : 0.0f;
    for (int64_t xi = x0; xi < x1; xi++)
        gl_cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)O, (int)C, (int)TB, 1.0f,
                       w->M + xi * gl_w3_es(O, TB), (int)TB, w->V + xi * gl_w3_es(C, TB), (int)TB, beta,
                       w->U + xi * O * C, (int)C);
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
    const int64_t threads = pool ? gl_pool_threads(pool) : 1, RB = w.R * w.Tw * GL_W3L;
    if (wgrad && (RB > INT_MAX || w.O > INT_MAX || w.C > INT_MAX))
        return gl_fail(err, GL_ERR_VALUE, "%s: dimensions too large for 32-bit BLAS", gl_op_name(op));
    w.src = in0;
    w.ker = wgrad ? NULL : in1;
    w.dy = wgrad ? in1 : NULL;
    w.bias = bias;
    w.act = act;
    w.out = out;
    w.X = work;
    w.V = w.X + w.C * gl_w3_xplane(&w);
    w.U = w.V + (wgrad ? 16 * gl_w3_es(w.C, RB) : w.nblk * 16 * gl_w3_es(w.C, w.BC));
    w.M = w.U + 16 * w.O * w.C;
    w.Y = w.M + (wgrad ? 16 * gl_w3_es(w.O, RB) : w.nblk * 16 * gl_w3_es(w.O, w.BC));
    if (!wgrad) gl_parallel_for(pool, w.C, 1, gl_w3_weights, &w);
    for (w.n0 = 0; w.n0 < g->N; w.n0 += GL_W3L) {
        w.nn = g->N - w.n0 < GL_W3L ? g->N - w.n0 : GL_W3L;
        gl_parallel_for(pool, w.C, 1, gl_w3_fill, &w);
        if (wgrad) {
            gl_parallel_for(pool, w.O, 1, gl_w3_fill_dy, &w);
            for (w.b = 0; w.b * w.R < w.Th; w.b++) {
                gl_parallel_for(pool, w.C, 1, gl_w3_grad_v, &w);
                gl_parallel_for(pool, w.O, 1, gl_w3_grad_m, &w);
                gl_parallel_for(pool, 16, 1, gl_w3_grad_gemms, &w);
            }
        } else if (threads == 1 || w.nblk >= 2 * threads) {
            gl_parallel_for(pool, w.nblk, 1, gl_w3_blocks, &w);
        } else {
            for (w.b = 0; w.b < w.nblk; w.b++) {
                int64_t g0, g1;
                gl_parallel_for(pool, w.C, 1, gl_w3_turn_v, &w);
                gl_parallel_for(pool, 16 * gl_panel_strips(gl_w3_block(&w, w.b, &g0, &g1)), 1, gl_w3_turn_gemms, &w);
                gl_parallel_for(pool, w.O, 1, gl_w3_turn_out, &w);
            }
        }
    }
    if (wgrad) gl_parallel_for(pool, w.O, 1, gl_w3_grad_weights, &w);
    return GL_OK;
}
