/* gl_k_conv_direct.c - stride-1 convolutions whose column side has at most
 * four channels, computed directly from zero-padded planes (no im2col).
 *
 * On the im2col path such a conv (CycleGAN's last 7x7 conv to one image
 * channel, PatchGAN's last 4x4 conv to one logit per patch) is a GEMM with
 * 1-4 rows: a (Ci kh kw) x (N Ho Wo) column matrix is written and read for a
 * handful of outputs per column, at a few GFLOP/s.  Here a row of up to 64
 * outputs of up to four channels stays in registers while the taps stream
 * over padded copies of the input planes, which stay in cache:
 *   conv2d       y[co] = sum_ci corr(pad_p(x[ci]), w[co][ci])
 *   transposed   (the input gradient) x[ci] = sum_co corr(pad_{k-1-p}(y[co]), flip(w[co][ci])):
 *                the same loop, with the kernel flipped and its channel axes swapped
 *   weight grad  dw[co][ci][ki][kj] = sum_n sum_oh dy[n][co][oh] . pad_p(x[n][ci])[oh + ki][kj ...]
 * Images are independent in the first two, so they are split over a fixed
 * number of groups, each with its own padded planes; the weight gradient is
 * split over image-side channels, each summing its images in order, so no
 * result depends on the thread count. */
#include "gl_k_conv.h"

#include <string.h>

#include "gl_k_vec16.h"

#define GL_DIRECT_GROUPS 8  /* buffers of padded planes (fixed: thread-count independent) */
#define GL_DIRECT_COLS 64   /* output columns per register tile: 4 vectors */
#define GL_DIRECT_TAPS 8    /* kernel columns per weight-gradient tile */

#define GL_INLINE static inline __attribute__((always_inline))

int gl_direct_geometry(gl_op op, const gl_conv_geom *c) {
    (void)op;
    return c->s == 1 && c->Co <= GL_DIRECT_MAX_CO && c->p < c->kh && c->p < c->kw;
}

/* The padded planes of one image: the side the taps read (x for conv2d and
 * the weight gradient, y for the transposed conv), rows Hp x ld each. */
typedef struct gl_direct_pad {
    int64_t C, H, W;  /* the planes read */
    int64_t top;      /* rows (and columns) of zeros before them */
    int64_t Hp, ld;   /* padded rows, floats per padded row */
} gl_direct_pad;

/* Geometry of the padded side: the output plane (Hout x Wout) is computed in
 * tiles of 16-float vectors, so each padded row holds round16(Wout) + k - 1
 * floats and a tile's loads never leave it. */
static gl_direct_pad gl_direct_pad_of(gl_op op, const gl_conv_geom *c) {
    gl_direct_pad d;
    if (op == GL_OP_CONV_TRANSPOSE2D) { /* read y, write x: padding k - 1 - p */
        d.C = c->Co; d.H = c->Ho; d.W = c->Wo; d.top = c->kh - 1 - c->p;
        d.Hp = c->H + c->kh - 1; d.ld = gl_round16(c->W) + c->kw - 1;
    } else {
        d.C = c->Ci; d.H = c->H; d.W = c->W; d.top = c->p;
        d.Hp = c->Ho + c->kh - 1; d.ld = gl_round16(c->Wo) + c->kw - 1;
    }
    return d;
}

/* Columns of zeros before the planes (k - 1 - p for the transposed conv: kw may differ from kh). */
static int64_t gl_direct_left(gl_op op, const gl_conv_geom *c) {
    return op == GL_OP_CONV_TRANSPOSE2D ? c->kw - 1 - c->p : c->p;
}

/* dst (planes c0..c0+nc of d, padded) from src (the unpadded planes of one image). */
static void gl_direct_fill(const gl_direct_pad *d, int64_t left, const float *src, int64_t c0, int64_t nc,
                           float *dst) {
    memset(dst, 0, sizeof(float) * (size_t)(nc * d->Hp * d->ld));
    for (int64_t c = 0; c < nc; c++)
        for (int64_t r = 0; r < d->H; r++)
            memcpy(dst + (c * d->Hp + r + d->top) * d->ld + left, src + ((c0 + c) * d->H + r) * d->W,
                   sizeof(float) * (size_t)d->W);
}

size_t gl_direct_workspace(gl_op op, const gl_conv_geom *c) {
    const gl_direct_pad d = gl_direct_pad_of(op, c);
    const int64_t plane = d.Hp * d.ld;
    if (op == GL_OP_CONV2D_WEIGHT_GRAD) /* per group: one padded plane and its partial sums */
        return (size_t)(GL_DIRECT_GROUPS * (plane + c->Co * c->kh * c->kw));
    const int64_t flipped = op == GL_OP_CONV_TRANSPOSE2D ? c->Ci * c->Co * c->kh * c->kw : 0;
    return (size_t)(flipped + GL_DIRECT_GROUPS * d.C * plane);
}

/* ---- conv2d and the transposed conv: one output row tile ---- */

/* out[co][16 v + l] (co < nc, v < nv; the last vector `tail` floats when partial)
 *   = sum_ci sum_ki sum_kj wk[co][ci][ki][kj] in[ci][ki][16 v + l + kj],
 * in: the padded planes at the tile's row and column, out: the tile's first output. */
GL_INLINE void gl_direct_tile(const int nc, const int nv, const int partial, int tail, const float *in,
                              int64_t Cin, int64_t plane, int64_t ld, const float *wk, int64_t kh, int64_t kw,
                              float *out, int64_t oplane) {
    gl_pv acc[GL_DIRECT_MAX_CO][GL_DIRECT_COLS / 16];
    _Pragma("GCC unroll 4") for (int c = 0; c < nc; c++)
        _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++) acc[c][v] = GL_PV_ZERO();
    const int64_t wco = Cin * kh * kw; /* between output channels in wk */
    for (int64_t ci = 0; ci < Cin; ci++)
        for (int64_t ki = 0; ki < kh; ki++) {
            const float *row = in + ci * plane + ki * ld, *w = wk + (ci * kh + ki) * kw;
            for (int64_t kj = 0; kj < kw; kj++) {
                gl_pv x[GL_DIRECT_COLS / 16];
                _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++) GL_PV_LD(x[v], row + kj + 16 * v);
                _Pragma("GCC unroll 4") for (int c = 0; c < nc; c++) {
                    const float a = w[c * wco + kj];
                    _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++) acc[c][v] = GL_PV_FMA(a, x[v], acc[c][v]);
                }
            }
        }
    _Pragma("GCC unroll 4") for (int c = 0; c < nc; c++)
        _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++) {
            if (partial && v == nv - 1) GL_PV_ST_TAIL(out + c * oplane + 16 * v, acc[c][v], tail);
            else GL_PV_ST(out + c * oplane + 16 * v, acc[c][v]);
        }
}

/* One tile of `nc` channels and `w` <= 64 columns: nv and the tail as constants. */
GL_INLINE void gl_direct_tile_as(const int nc, int64_t w, const float *in, int64_t Cin, int64_t plane, int64_t ld,
                                 const float *wk, int64_t kh, int64_t kw, float *out, int64_t oplane) {
    const int tail = (int)(w % 16);
    switch ((int)((w + 15) / 16) * 2 + (tail != 0)) {
    case 2: gl_direct_tile(nc, 1, 0, 16, in, Cin, plane, ld, wk, kh, kw, out, oplane); break;
    case 3: gl_direct_tile(nc, 1, 1, tail, in, Cin, plane, ld, wk, kh, kw, out, oplane); break;
    case 4: gl_direct_tile(nc, 2, 0, 16, in, Cin, plane, ld, wk, kh, kw, out, oplane); break;
    case 5: gl_direct_tile(nc, 2, 1, tail, in, Cin, plane, ld, wk, kh, kw, out, oplane); break;
    case 6: gl_direct_tile(nc, 3, 0, 16, in, Cin, plane, ld, wk, kh, kw, out, oplane); break;
    case 7: gl_direct_tile(nc, 3, 1, tail, in, Cin, plane, ld, wk, kh, kw, out, oplane); break;
    case 8: gl_direct_tile(nc, 4, 0, 16, in, Cin, plane, ld, wk, kh, kw, out, oplane); break;
    default: gl_direct_tile(nc, 4, 1, tail, in, Cin, plane, ld, wk, kh, kw, out, oplane); break;
    }
}

/* out (Cout planes Hout x Wout) = the correlation of the padded planes (Cin of
 * them) with wk (Cout, Cin, kh, kw), channels in groups of four. */
static void gl_direct_image(const float *in, int64_t Cin, int64_t Hp, int64_t ld, const float *wk, int64_t Cout,
                            int64_t kh, int64_t kw, float *out, int64_t Hout, int64_t Wout) {
    const int64_t plane = Hp * ld, oplane = Hout * Wout;
    for (int64_t c0 = 0; c0 < Cout; c0 += GL_DIRECT_MAX_CO) {
        const int64_t nc = Cout - c0 < GL_DIRECT_MAX_CO ? Cout - c0 : GL_DIRECT_MAX_CO;
        const float *w = wk + c0 * Cin * kh * kw;
        for (int64_t oh = 0; oh < Hout; oh++)
            for (int64_t o0 = 0; o0 < Wout; o0 += GL_DIRECT_COLS) {
                const int64_t cols = Wout - o0 < GL_DIRECT_COLS ? Wout - o0 : GL_DIRECT_COLS;
                const float *i = in + oh * ld + o0;
                float *o = out + c0 * oplane + oh * Wout + o0;
                switch (nc) {
                case 1: gl_direct_tile_as(1, cols, i, Cin, plane, ld, w, kh, kw, o, oplane); break;
                case 2: gl_direct_tile_as(2, cols, i, Cin, plane, ld, w, kh, kw, o, oplane); break;
                case 3: gl_direct_tile_as(3, cols, i, Cin, plane, ld, w, kh, kw, o, oplane); break;
                default: gl_direct_tile_as(4, cols, i, Cin, plane, ld, w, kh, kw, o, oplane); break;
                }
            }
    }
}

/* ---- the weight gradient: one (co, ki) row of taps ---- */

/* sums[kj] += sum_oh sum_ow dy[oh][ow] xp[oh + ki][ow + kj] for kj < nk (the
 * caller offsets xp by ki rows and the first kj); the last vector of a row
 * is loaded masked on both sides, so columns past Wo add exact zeros. */
GL_INLINE void gl_direct_taps(const int nk, const float *dy, int64_t Ho, int64_t Wo, const float *xp, int64_t ld,
                              float *sums) {
    gl_pv acc[GL_DIRECT_TAPS];
    _Pragma("GCC unroll 8") for (int k = 0; k < nk; k++) acc[k] = GL_PV_ZERO();
    const int tail = (int)(Wo % 16);
    const int64_t full = Wo / 16;
    for (int64_t oh = 0; oh < Ho; oh++) {
        const float *d = dy + oh * Wo, *x = xp + oh * ld;
        for (int64_t v = 0; v < full; v++) {
            gl_pv g;
            GL_PV_LD(g, d + 16 * v);
            _Pragma("GCC unroll 8") for (int k = 0; k < nk; k++) {
                gl_pv t;
                GL_PV_LD(t, x + 16 * v + k);
                acc[k] = GL_PV_FMAV(g, t, acc[k]);
            }
        }
        if (tail) {
            gl_pv g;
            GL_PV_LD_TAIL(g, d + 16 * full, tail);
            _Pragma("GCC unroll 8") for (int k = 0; k < nk; k++) {
                gl_pv t;
                GL_PV_LD_TAIL(t, x + 16 * full + k, tail);
                acc[k] = GL_PV_FMAV(g, t, acc[k]);
            }
        }
    }
    _Pragma("GCC unroll 8") for (int k = 0; k < nk; k++) sums[k] += GL_PV_HSUM(acc[k]);
}

static void gl_direct_taps_n(int64_t nk, const float *dy, int64_t Ho, int64_t Wo, const float *xp, int64_t ld,
                             float *sums) {
    switch (nk) {
    case 1: gl_direct_taps(1, dy, Ho, Wo, xp, ld, sums); break;
    case 2: gl_direct_taps(2, dy, Ho, Wo, xp, ld, sums); break;
    case 3: gl_direct_taps(3, dy, Ho, Wo, xp, ld, sums); break;
    case 4: gl_direct_taps(4, dy, Ho, Wo, xp, ld, sums); break;
    case 5: gl_direct_taps(5, dy, Ho, Wo, xp, ld, sums); break;
    case 6: gl_direct_taps(6, dy, Ho, Wo, xp, ld, sums); break;
    case 7: gl_direct_taps(7, dy, Ho, Wo, xp, ld, sums); break;
    default: gl_direct_taps(8, dy, Ho, Wo, xp, ld, sums); break;
    }
}

/* ---- the three ops over the pool ---- */

typedef struct gl_direct_job {
    gl_op op;
    const gl_conv_geom *c;
    gl_direct_pad d;
    int64_t left, groups, tasks;
    const float *in0, *in1, *wk, *bias;
    const gl_node *act;
    float *out, *bufs;
} gl_direct_job;

static void gl_direct_range(void *vp, int64_t g0, int64_t g1) {
    const gl_direct_job *j = vp;
    const gl_conv_geom *c = j->c;
    const gl_direct_pad *d = &j->d;
    const int64_t plane = d->Hp * d->ld, img = c->Ci * c->H * c->W, cs = c->Co * c->P, kk = c->kh * c->kw;
    for (int64_t g = g0; g < g1; g++) {
        const int64_t t0 = g * j->tasks / j->groups, t1 = (g + 1) * j->tasks / j->groups;
        if (j->op == GL_OP_CONV2D_WEIGHT_GRAD) { /* tasks: image-side channels */
            float *xp = j->bufs + g * (plane + c->Co * kk), *sums = xp + plane;
            for (int64_t ci = t0; ci < t1; ci++) {
                memset(sums, 0, sizeof(float) * (size_t)(c->Co * kk));
                for (int64_t b = 0; b < c->N; b++) {
                    gl_direct_fill(d, j->left, j->in0 + b * img, ci, 1, xp);
                    for (int64_t co = 0; co < c->Co; co++)
                        for (int64_t ki = 0; ki < c->kh; ki++)
                            for (int64_t k0 = 0; k0 < c->kw; k0 += GL_DIRECT_TAPS)
                                gl_direct_taps_n(c->kw - k0 < GL_DIRECT_TAPS ? c->kw - k0 : GL_DIRECT_TAPS,
                                                 j->in1 + b * cs + co * c->P, c->Ho, c->Wo, xp + ki * d->ld + k0,
                                                 d->ld, sums + (co * c->kh + ki) * c->kw + k0);
                }
                for (int64_t co = 0; co < c->Co; co++)
                    memcpy(j->out + (co * c->Ci + ci) * kk, sums + co * kk, sizeof(float) * (size_t)kk);
            }
            continue;
        }
        float *planes = j->bufs + g * d->C * plane;
        for (int64_t b = t0; b < t1; b++) { /* tasks: images */
            if (j->op == GL_OP_CONV2D) {
                gl_direct_fill(d, j->left, j->in0 + b * img, 0, c->Ci, planes);
                gl_direct_image(planes, c->Ci, d->Hp, d->ld, j->wk, c->Co, c->kh, c->kw, j->out + b * cs, c->Ho,
                                c->Wo);
                gl_k_bias_act(j->bias, j->act, j->out + b * cs, 1, c->Co, c->P); /* still in cache */
            } else {
                gl_direct_fill(d, j->left, j->in0 + b * cs, 0, c->Co, planes);
                gl_direct_image(planes, c->Co, d->Hp, d->ld, j->wk, c->Ci, c->kh, c->kw, j->out + b * img, c->H,
                                c->W);
            }
        }
    }
}

void gl_direct_conv(gl_op op, const gl_conv_geom *c, const float *in0, const float *in1, const float *bias,
                    const gl_node *act, float *out, float *work, gl_pool *pool) {
    gl_direct_job j = {op, c, gl_direct_pad_of(op, c), gl_direct_left(op, c), 0, 0, in0, in1, in1, bias, act,
                       out, work};
    j.tasks = op == GL_OP_CONV2D_WEIGHT_GRAD ? c->Ci : c->N;
    j.groups = j.tasks < GL_DIRECT_GROUPS ? j.tasks : GL_DIRECT_GROUPS;
    if (op == GL_OP_CONV_TRANSPOSE2D) { /* wk[ci][co][ki][kj] = w[co][ci][kh-1-ki][kw-1-kj] */
        float *wk = work;
        const int64_t kk = c->kh * c->kw;
        for (int64_t ci = 0; ci < c->Ci; ci++)
            for (int64_t co = 0; co < c->Co; co++)
                for (int64_t t = 0; t < kk; t++) wk[(ci * c->Co + co) * kk + t] = in1[(co * c->Ci + ci) * kk + kk - 1 - t];
        j.wk = wk;
        j.bufs = work + c->Ci * c->Co * kk;
    }
    gl_parallel_for(pool, j.groups, 1, gl_direct_range, &j);
}
