/* gl_k_conv.c - CONV2D, CONV_TRANSPOSE2D and CONV2D_WEIGHT_GRAD through
 * im2col / col2im and one sgemm per chunk of images.
 *
 * All three are described in conv2d terms: an "image side" tensor
 * (N, Ci, H, W), a kernel (Co, Ci, kh, kw) and a "column side" tensor
 * (N, Co, Ho, Wo):
 *   CONV2D            image = x,   kernel = w,   column side = output
 *   CONV_TRANSPOSE2D  image = out, kernel = w,   column side = x
 *   WEIGHT_GRAD       image = a,   kernel = out, column side = b
 * The images of a chunk are laid side by side in the workspace
 * (col: K x nb*P, K = Ci*kh*kw, P = Ho*Wo), so each chunk is one large GEMM
 * instead of N thin ones (DCGAN's 7x7 maps give P = 49, far too few columns
 * for an efficient sgemm per image).  The price is a transpose of the
 * column-side tensor between (nb, Co, P) and (Co, nb*P), which costs 1/K of
 * the GEMM.
 *
 * 4x4 kernels with stride 2 and enough channels (DCGAN's large layers) take
 * the Winograd path in gl_k_winograd.c instead, with about half the
 * multiply-adds; 3x3 stride-1 padding-1 ones with an image side of >= 8
 * channels (CycleGAN's residual blocks, Real NVP's coupling nets) take
 * Winograd F(2x2, 3x3) in gl_k_wino3.c (gl_wino3_applies).  Other stride-1
 * convs to at most four channels (a GEMM of 1-4 rows here) run directly on
 * padded planes in gl_k_conv_direct.c (gl_direct_applies).
 * Convolutions with a shallow im2col (K = Ci kh kw <= 64, e.g.
 * DCGAN's one-channel image layers) run one small GEMM per image on the
 * register kernel of gl_k_panel_gemm.c instead: the GEMM is too thin for
 * sgemm, and per image the result lands in the output directly, without the
 * (Co, nb*P) transposes.  Their weight gradient likewise sums per image
 * (into one partial sum per group of images) instead of gathering the whole
 * output gradient into (Co, nb*P) for one sgemm.
 *
 * One owner of parallelism: OpenBLAS is single-threaded; im2col / col2im /
 * transposes and the GEMM (by row or column blocks) are split over the pool. */
#include "gl_k_conv.h"

#include <limits.h>
#include <string.h>

#include "gl_blas.h"
#include "gl_k_panel_gemm.h"
#include "gl_k_transpose.h"
#include "gl_k_vec16.h"

#define GL_CONV_COL_MAX ((int64_t)1 << 23) /* floats of im2col per chunk (32 MiB) */
#define GL_GEMM_PAR_FLOPS 4.0e6             /* below this a thread handoff costs more */
#define GL_GEMM_MIN_BLOCK 32                /* rows/columns per block: keeps sgemm efficient */
#define GL_CONV_PANEL_MAX_K 64              /* im2col depth up to which a GEMM per image pays */
#define GL_CONV_PANEL_GROUPS 8              /* image groups with a buffer each (fixed: thread-count independent) */
#define GL_CONV_PANEL_WGRAD_MAX (1 << 20)   /* floats per group of the per-image weight gradient */

int gl_conv_geom_of(gl_op op, const gl_shape *in0, const gl_shape *in1, const gl_shape *out, int64_t s, int64_t p,
                    gl_conv_geom *c) {
    const gl_shape *img, *ker, *cs;
    if (op == GL_OP_CONV2D) { img = in0; ker = in1; cs = out; }
    else if (op == GL_OP_CONV_TRANSPOSE2D) { img = out; ker = in1; cs = in0; }
    else if (op == GL_OP_CONV2D_WEIGHT_GRAD) { img = in0; ker = out; cs = in1; }
    else return -1;
    if (!img || !ker || !cs || img->ndim != 4 || ker->ndim != 4 || cs->ndim != 4 || s < 1 || p < 0) return -1;
    c->N = img->d[0]; c->Ci = img->d[1]; c->H = img->d[2]; c->W = img->d[3];
    c->Co = ker->d[0]; c->kh = ker->d[2]; c->kw = ker->d[3];
    c->Ho = cs->d[2]; c->Wo = cs->d[3]; c->s = s; c->p = p;
    if (ker->d[1] != c->Ci || cs->d[0] != c->N || cs->d[1] != c->Co || c->kh < 1 || c->kw < 1) return -1;
    if (c->H + 2 * p < c->kh || c->W + 2 * p < c->kw) return -1;
    if ((c->H + 2 * p - c->kh) / s + 1 != c->Ho || (c->W + 2 * p - c->kw) / s + 1 != c->Wo) return -1;
    c->K = c->Ci * c->kh * c->kw;
    c->P = c->Ho * c->Wo;
    int64_t per = c->K * c->P > 0 ? c->K * c->P : 1;
    c->nb = GL_CONV_COL_MAX / per;
    if (c->nb < 1) c->nb = 1;
    if (c->nb > c->N) c->nb = c->N > 0 ? c->N : 1;
    return 0;
}

/* Per group of the per-image weight gradient: col (K x P), its transpose
 * (P x K16), the output gradient's transpose (P x Co16) and a partial sum
 * (Co x K), in that order. */
static int64_t gl_conv_panel_wgrad_floats(const gl_conv_geom *c) {
    return c->K * c->P + c->P * gl_round16(c->K) + c->P * gl_round16(c->Co) + c->Co * c->K;
}

typedef struct gl_wgrad_bufs {
    float *col, *colT, *dyT, *part;
} gl_wgrad_bufs;

/* Group g's buffers of the per-image weight gradient, from the groups' base. */
static gl_wgrad_bufs gl_wgrad_bufs_of(const gl_conv_geom *c, float *base, int64_t g) {
    gl_wgrad_bufs b;
    b.col = base + g * gl_conv_panel_wgrad_floats(c);
    b.colT = b.col + c->K * c->P;
    b.dyT = b.colT + c->P * gl_round16(c->K);
    b.part = b.dyT + c->P * gl_round16(c->Co);
    return b;
}

/* The per-image path: conv2d, transposed conv and weight gradient with a
 * shallow im2col (the weight gradient while its buffers stay small). */
static int gl_direct_applies(gl_op op, const gl_conv_geom *c);
static int gl_dense_applies(const gl_conv_geom *c);

static int gl_conv_panel_applies(gl_op op, const gl_conv_geom *c) {
    if (c->K > GL_CONV_PANEL_MAX_K) return 0;
    if (op == GL_OP_CONV2D_WEIGHT_GRAD) return gl_conv_panel_wgrad_floats(c) <= GL_CONV_PANEL_WGRAD_MAX;
    return op == GL_OP_CONV2D || op == GL_OP_CONV_TRANSPOSE2D;
}

static int64_t gl_conv_panel_groups(const gl_conv_geom *c) {
    return c->N < GL_CONV_PANEL_GROUPS ? c->N : GL_CONV_PANEL_GROUPS;
}

/* W^T (K x Co) for conv2d, then per group a K x P column buffer, or the
 * weight gradient's buffers. */
static size_t gl_conv_panel_work(gl_op op, const gl_conv_geom *c) {
    const int64_t per = op == GL_OP_CONV2D_WEIGHT_GRAD ? gl_conv_panel_wgrad_floats(c) : c->K * c->P;
    return (size_t)(c->K * c->Co + gl_conv_panel_groups(c) * per);
}

static size_t gl_conv_work(const gl_conv_geom *c) {
    return (size_t)(c->K * c->nb * c->P + (c->nb > 1 ? c->Co * c->nb * c->P : 0));
}

size_t gl_k_conv_workspace(gl_op op, const gl_shape *in0, const gl_shape *in1, const gl_shape *out, int64_t s,
                           int64_t p) {
    gl_conv_geom c;
    if (gl_conv_geom_of(op, in0, in1, out, s, p, &c) < 0) return 0; /* the kernel reports the error */
    if (gl_dense_applies(&c)) return 0;
    if (gl_wino_applies(op, &c)) return gl_wino_workspace(op, &c);
    if (gl_wino3_applies(op, &c)) return gl_wino3_workspace(op, &c);
    if (gl_direct_applies(op, &c)) return gl_direct_workspace(op, &c);
    return gl_conv_panel_applies(op, &c) ? gl_conv_panel_work(op, &c) : gl_conv_work(&c);
}

/* ---- GEMM split over the pool (C = op(A) op(B) + beta C, row-major) ---- */

typedef struct gl_gemm {
    int ta, tb, m, n, k;
    float beta;
    const float *A; int lda;
    const float *B; int ldb;
    float *C; int ldc;
    int by_rows;
} gl_gemm;

static void gl_gemm_block(const gl_gemm *j, int64_t r0, int64_t r1) {
    const CBLAS_TRANSPOSE TA = j->ta ? CblasTrans : CblasNoTrans, TB = j->tb ? CblasTrans : CblasNoTrans;
    if (r1 <= r0) return;
    if (j->by_rows) {
        const float *A = j->ta ? j->A + r0 : j->A + r0 * j->lda;
        gl_cblas_sgemm(CblasRowMajor, TA, TB, (int)(r1 - r0), j->n, j->k, 1.0f, A, j->lda, j->B, j->ldb, j->beta,
                       j->C + r0 * j->ldc, j->ldc);
    } else {
        const float *B = j->tb ? j->B + r0 * j->ldb : j->B + r0;
        gl_cblas_sgemm(CblasRowMajor, TA, TB, j->m, (int)(r1 - r0), j->k, 1.0f, j->A, j->lda, B, j->ldb, j->beta,
                       j->C + r0, j->ldc);
    }
}

static void gl_gemm_range(void *arg, int64_t b, int64_t e) { gl_gemm_block(arg, b, e); }

static void gl_gemm_run(gl_pool *pool, gl_gemm *j) {
    const int nt = pool ? gl_pool_threads(pool) : 1;
    if (nt < 2 || 2.0 * j->m * (double)j->n * (double)j->k < GL_GEMM_PAR_FLOPS) {
        j->by_rows = 1;
        gl_gemm_block(j, 0, j->m);
        return;
    }
    j->by_rows = j->m > j->n;
    gl_parallel_for(pool, j->by_rows ? j->m : j->n, GL_GEMM_MIN_BLOCK, gl_gemm_range, j);
}

/* ---- im2col / col2im / transposes over a chunk of nb images ---- */

typedef struct gl_cols_job {
    const gl_conv_geom *c;
    int64_t nb;
    const float *src;
    float *dst;
} gl_cols_job;

static int64_t gl_cdiv(int64_t a, int64_t s) { return a <= 0 ? -((-a) / s) : (a + s - 1) / s; }

/* Output columns ow in [*lo, *hi) read input column ow*s - p + kj inside [0, W). */
static void gl_valid_cols(const gl_conv_geom *c, int64_t kj, int64_t *lo, int64_t *hi) {
    int64_t a = gl_cdiv(c->p - kj, c->s), b = gl_cdiv(c->W + c->p - kj, c->s);
    if (a < 0) a = 0;
    if (b > c->Wo) b = c->Wo;
    if (b < a) b = a;
    *lo = a;
    *hi = b;
}

/* One output row of im2col / col2im at a time.  Small maps (CycleGAN's and the
 * discriminators' 7x7 .. 14x14 outputs) have rows of at most 16 floats, where a
 * memcpy call or a vectorised loop's prologue costs more than the copy: with
 * AVX-512 such a row is one or two masked loads and one masked store.  Only the
 * valid input columns [lo, hi) are read (expand-loads place them in lanes lo..hi). */
#if GL_PV_AVX512
#define GL_ROW16_OK(c) ((c)->Wo <= 16 && ((c)->s == 1 || (c)->s == 2))

static inline __mmask16 gl_lanes(int64_t lo, int64_t hi) { /* bits lo..hi-1, 0 <= lo <= hi <= 16 */
    return (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}

/* dst[ow] = in[ow*s] for ow in [lo, hi) (in = the row's first valid input, for ow = lo), 0 elsewhere in [0, Wo) */
static inline void gl_im2col_row16(float *dst, const float *in, int64_t lo, int64_t hi, int64_t Wo, int64_t s) {
    __m512 v = _mm512_setzero_ps();
    const int64_t n = hi - lo;
    if (n > 0) {
        if (s == 1) {
            v = _mm512_maskz_expandloadu_ps(gl_lanes(lo, hi), in);
        } else { /* the even floats of in[0 .. 2n-2] */
            const int64_t last = 2 * n - 1; /* floats to read */
            const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            const __m512 a = _mm512_maskz_loadu_ps(gl_lanes(0, last < 16 ? last : 16), in);
            const __m512 b = last > 16 ? _mm512_maskz_loadu_ps(gl_lanes(0, last - 16), in + 16) : _mm512_setzero_ps();
            v = _mm512_maskz_expand_ps(gl_lanes(lo, hi), _mm512_permutex2var_ps(a, even, b));
        }
    }
    _mm512_mask_storeu_ps(dst, gl_lanes(0, Wo), v);
}

/* d[ow*s] += src[ow] for ow in [0, n) (d and src at the row's first valid column) */
static inline void gl_col2im_row16(float *d, const float *src, int64_t n, int64_t s) {
    if (n <= 0) return;
    const __m512 v = _mm512_maskz_loadu_ps(gl_lanes(0, n), src);
    if (s == 1) {
        const __mmask16 m = gl_lanes(0, n);
        _mm512_mask_storeu_ps(d, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, d), v));
        return;
    }
    /* lane 2i of the low / high half of d's 32 floats gets src[i] / src[8 + i] */
    const __m512i lo_idx = _mm512_setr_epi32(0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0);
    const __m512i hi_idx = _mm512_setr_epi32(8, 0, 9, 0, 10, 0, 11, 0, 12, 0, 13, 0, 14, 0, 15, 0);
    const int64_t last = 2 * n - 1;
    const __mmask16 m0 = (__mmask16)(gl_lanes(0, last < 16 ? last : 16) & 0x5555u);
    _mm512_mask_storeu_ps(d, m0, _mm512_add_ps(_mm512_maskz_loadu_ps(m0, d), _mm512_permutexvar_ps(lo_idx, v)));
    if (last > 16) {
        const __mmask16 m1 = (__mmask16)(gl_lanes(0, last - 16) & 0x5555u);
        _mm512_mask_storeu_ps(d + 16, m1, _mm512_add_ps(_mm512_maskz_loadu_ps(m1, d + 16),
                                                        _mm512_permutexvar_ps(hi_idx, v)));
    }
}
#else
#define GL_ROW16_OK(c) 0
#endif

/* col[r][b*P + q] = image[b][ch][ih][iw] (0 in the padding), rows r0..r1 */
static void gl_im2col_range(void *vp, int64_t r0, int64_t r1) {
    const gl_cols_job *j = vp;
    const gl_conv_geom *c = j->c;
    const int64_t ld = j->nb * c->P, HW = c->H * c->W, kk = c->kh * c->kw;
    for (int64_t r = r0; r < r1; r++) {
        const int64_t ch = r / kk, ki = (r / c->kw) % c->kh, kj = r % c->kw;
        int64_t lo, hi;
        gl_valid_cols(c, kj, &lo, &hi);
        for (int64_t b = 0; b < j->nb; b++) {
            const float *src = j->src + (b * c->Ci + ch) * HW;
            float *dst = j->dst + r * ld + b * c->P;
            for (int64_t oh = 0; oh < c->Ho; oh++, dst += c->Wo) {
                const int64_t ih = oh * c->s - c->p + ki;
                if (ih < 0 || ih >= c->H) {
                    memset(dst, 0, sizeof(float) * (size_t)c->Wo);
                    continue;
                }
                const int64_t base = ih * c->W + kj - c->p;
#if GL_PV_AVX512
                if (GL_ROW16_OK(c)) {
                    gl_im2col_row16(dst, src + base + lo * c->s, lo, hi, c->Wo, c->s);
                    continue;
                }
#endif
                for (int64_t ow = 0; ow < lo; ow++) dst[ow] = 0.0f;
                if (c->s == 1) {
                    if (hi > lo) memcpy(dst + lo, src + base + lo, sizeof(float) * (size_t)(hi - lo));
                } else if (c->s == 2) { /* a constant stride: the loop vectorises (even/odd permutes) */
                    const float *restrict in = src + base;
                    for (int64_t ow = lo; ow < hi; ow++) dst[ow] = in[2 * ow];
                } else {
                    for (int64_t ow = lo; ow < hi; ow++) dst[ow] = src[base + ow * c->s];
                }
                for (int64_t ow = hi; ow < c->Wo; ow++) dst[ow] = 0.0f;
            }
        }
    }
}

/* image[b][ch] = sum of the col entries that read it; one plane per task, so
 * each output is summed by one thread in a fixed order (deterministic). */
static void gl_col2im_range(void *vp, int64_t t0, int64_t t1) {
    const gl_cols_job *j = vp;
    const gl_conv_geom *c = j->c;
    const int64_t ld = j->nb * c->P, HW = c->H * c->W;
    for (int64_t t = t0; t < t1; t++) {
        const int64_t b = t / c->Ci, ch = t % c->Ci;
        float *dst = j->dst + (b * c->Ci + ch) * HW;
        memset(dst, 0, sizeof(float) * (size_t)HW);
        for (int64_t ki = 0; ki < c->kh; ki++)
            for (int64_t kj = 0; kj < c->kw; kj++) {
                const float *src = j->src + ((ch * c->kh + ki) * c->kw + kj) * ld + b * c->P;
                int64_t lo, hi;
                gl_valid_cols(c, kj, &lo, &hi);
                for (int64_t oh = 0; oh < c->Ho; oh++) {
                    const int64_t ih = oh * c->s - c->p + ki;
                    if (ih < 0 || ih >= c->H) continue;
                    const int64_t base = ih * c->W + kj - c->p;
                    const float *s = src + oh * c->Wo;
#if GL_PV_AVX512
                    if (GL_ROW16_OK(c)) {
                        gl_col2im_row16(dst + base + lo * c->s, s + lo, hi - lo, c->s);
                        continue;
                    }
#endif
                    if (c->s == 1) {
                        float *restrict d = dst + base;
                        for (int64_t ow = lo; ow < hi; ow++) d[ow] += s[ow];
                    } else if (c->s == 2) {
                        float *restrict d = dst + base;
                        for (int64_t ow = lo; ow < hi; ow++) d[2 * ow] += s[ow];
                    } else {
                        for (int64_t ow = lo; ow < hi; ow++) dst[base + ow * c->s] += s[ow];
                    }
                }
            }
    }
}

/* (nb, Co, P) -> (Co, nb*P), rows o0..o1 */
static void gl_gather_range(void *vp, int64_t o0, int64_t o1) {
    const gl_cols_job *j = vp;
    const gl_conv_geom *c = j->c;
    for (int64_t o = o0; o < o1; o++)
        for (int64_t b = 0; b < j->nb; b++)
            memcpy(j->dst + (o * j->nb + b) * c->P, j->src + (b * c->Co + o) * c->P, sizeof(float) * (size_t)c->P);
}

/* (Co, nb*P) -> (nb, Co, P) */
static void gl_scatter_range(void *vp, int64_t o0, int64_t o1) {
    const gl_cols_job *j = vp;
    const gl_conv_geom *c = j->c;
    for (int64_t o = o0; o < o1; o++)
        for (int64_t b = 0; b < j->nb; b++)
            memcpy(j->dst + (b * c->Co + o) * c->P, j->src + (o * j->nb + b) * c->P, sizeof(float) * (size_t)c->P);
}

static void gl_cols_par(gl_pool *pool, int64_t n, int64_t per_item, gl_range_fn fn, gl_cols_job *j) {
    int64_t min = GL_K_PAR_MIN / (per_item > 0 ? per_item : 1);
    gl_parallel_for(pool, n, min < 1 ? 1 : min, fn, j);
}

/* ---- one GEMM per image (shallow im2col) ---- */

typedef struct gl_panel_job {
    gl_op op;
    const gl_conv_geom *c;
    const float *in, *w;  /* image (conv2d, weight gradient) or column side (transposed); W^T, W or dy */
    float *out, *bufs;    /* bufs: one set of buffers per group */
    int64_t groups;
    const float *bias;    /* conv2d: fused epilogue (gl_kernel_args), or NULL */
    const gl_node *act;
} gl_panel_job;

/* d (cols x ldd) = s^T for s (rows x cols) row-major; ldd = rows rounded up
 * to 16, the rows past s zero. */
static void gl_transpose_pad(const float *s, int64_t rows, int64_t cols, float *d, int64_t ldd) {
    for (int64_t i0 = 0; i0 < rows; i0 += 16)
        for (int64_t j0 = 0; j0 < cols; j0 += 16) {
            const int nr = (int)(rows - i0 < 16 ? rows - i0 : 16), nc = (int)(cols - j0 < 16 ? cols - j0 : 16);
            float *dst[16];
            for (int j = 0; j < nc; j++) dst[j] = d + (j0 + j) * ldd + i0;
            gl_tr16_in(dst, s + i0 * cols + j0, cols, nr, nc);
        }
}

/* Groups g0..g1, each its images in order:
 *   conv2d      col = im2col(x_b), y_b (Co x P) = W (Co x K) col: A = W^T, k-major
 *   transposed  col (K x P) = W^T (K x Co) x_b: A = W, already k-major; out_b = col2im(col)
 *   weight grad part_g (Co x K) += dy_b (Co x P) col^T: the sum runs over P, so
 *               both operands are transposed to P-major (A = dy_b^T, B = col^T) */
static void gl_panel_range(void *vp, int64_t g0, int64_t g1) {
    const gl_panel_job *j = vp;
    const gl_conv_geom *c = j->c;
    const int64_t img = c->Ci * c->H * c->W, cs = c->Co * c->P, K16 = gl_round16(c->K), C16 = gl_round16(c->Co);
    const int wgrad = j->op == GL_OP_CONV2D_WEIGHT_GRAD;
    for (int64_t g = g0; g < g1; g++) {
        const gl_wgrad_bufs wb = wgrad ? gl_wgrad_bufs_of(c, j->bufs, g) : (gl_wgrad_bufs){0};
        float *col = wgrad ? wb.col : j->bufs + g * c->K * c->P;
        if (wgrad) memset(wb.part, 0, sizeof(float) * (size_t)(c->Co * c->K));
        for (int64_t b = g * c->N / j->groups; b < (g + 1) * c->N / j->groups; b++) {
            if (j->op == GL_OP_CONV2D) {
                gl_cols_job cj = {c, 1, j->in + b * img, col};
                gl_im2col_range(&cj, 0, c->K);
                gl_panel_gemm(c->Co, c->P, c->K, j->w, c->Co, col, c->P, j->out + b * cs, c->P);
                gl_k_bias_act(j->bias, j->act, j->out + b * cs, 1, c->Co, c->P); /* the image is still in cache */
            } else if (wgrad) {
                gl_cols_job cj = {c, 1, j->in + b * img, col};
                gl_im2col_range(&cj, 0, c->K);
                gl_transpose_pad(col, c->K, c->P, wb.colT, K16);
                gl_transpose_pad(j->w + b * cs, c->Co, c->P, wb.dyT, C16);
                gl_panel_gemm_add(c->Co, c->K, c->P, wb.dyT, C16, wb.colT, K16, wb.part, c->K);
            } else {
                gl_panel_gemm(c->K, c->P, c->Co, j->w, c->K, j->in + b * cs, c->P, col, c->P);
                gl_cols_job cj = {c, 1, col, j->out + b * img};
                gl_col2im_range(&cj, 0, c->Ci);
            }
        }
    }
}

/* in: x (conv2d, weight gradient) or the column side (transposed); w: the
 * kernel, or the output gradient for the weight gradient. */
static void gl_conv_panel(gl_op op, const gl_conv_geom *c, const float *in, const float *w, const float *bias,
                          const gl_node *act, float *out, float *work, gl_pool *pool) {
    gl_panel_job j = {op, c, in, w, out, work + c->K * c->Co, gl_conv_panel_groups(c), bias, act};
    if (op == GL_OP_CONV2D) { /* W^T: K x Co, small */
        for (int64_t o = 0; o < c->Co; o++)
            for (int64_t k = 0; k < c->K; k++) work[k * c->Co + o] = w[o * c->K + k];
        j.w = work;
    }
    gl_parallel_for(pool, j.groups, 1, gl_panel_range, &j);
    if (op == GL_OP_CONV2D_WEIGHT_GRAD) { /* dW = the groups' partial sums, added in group order */
        const int64_t n = c->Co * c->K;
        memcpy(out, gl_wgrad_bufs_of(c, j.bufs, 0).part, sizeof(float) * (size_t)n);
        for (int64_t g = 1; g < j.groups; g++) {
            const float *part = gl_wgrad_bufs_of(c, j.bufs, g).part;
            for (int64_t i = 0; i < n; i++) out[i] += part[i];
        }
    }
}

/* ---- 3x3 stride-1 padding-1: Winograd F(2x2, 3x3) (gl_k_wino3.c) where it wins ---- */

/* Criterion: the geometry, and an im2col deeper than GL_CONV_PANEL_MAX_K (image side >= 8 channels),
 * i.e. the path replaces im2col + sgemm and never the per-image register-kernel path.  Measured
 * (benchmarks/ab_conv3.py, 1 thread, paired A/B, forward + input and weight gradient of one conv):
 * every shape with a 32- or 64-channel image side was 1.4x-3.6x faster (Real NVP's 32 -> 32/8/4/2,
 * CycleGAN's residual blocks 32/64 channels at 7x7 and 14x14, 16 -> 16 at 14x14); with 1, 2 or 4
 * image channels (Real NVP's first convs, K = 9..36, on the per-image path) each of the three ops
 * was slower on this path (0.2x-0.9x): the GEMM depth (conv) or rows (input gradient) are the few
 * image channels. */
int gl_wino3_applies(gl_op op, const gl_conv_geom *c) {
    return gl_wino3_geometry(op, c) && c->K > GL_CONV_PANEL_MAX_K;
}

/* ---- stride 1 to at most four channels: direct (gl_k_conv_direct.c) ---- */

/* Criterion: the geometry, an im2col deeper than GL_CONV_PANEL_MAX_K (the shallow ones run per image on
 * the register kernel) and not a Winograd 3x3 shape.  On im2col + sgemm these are GEMMs of 1-4 rows:
 * CycleGAN's last 7x7 conv (16 -> 1 channel at 28x28) ran its forward at ~4 GFLOP/s, 2.6x slower than
 * PyTorch. */
static int gl_direct_applies(gl_op op, const gl_conv_geom *c) {
    return gl_direct_geometry(op, c) && c->K > GL_CONV_PANEL_MAX_K && !gl_wino3_applies(op, c);
}

/* ---- a kernel as large as the unpadded input: a dense layer ---- */

/* One output position that reads every input pixel once (DCGAN's last 4x4 conv on 4x4 maps): the
 * image is already its own im2col row, so the three ops are single GEMMs on the NCHW arrays.  The
 * other paths spend 16x their work on vector lanes or column copies for a 1x1 output. */
static int gl_dense_applies(const gl_conv_geom *c) {
    return c->Ho == 1 && c->Wo == 1 && c->p == 0 && c->kh == c->H && c->kw == c->W && c->N <= INT_MAX &&
           c->K <= INT_MAX && c->Co <= INT_MAX;
}

static void gl_dense_conv(gl_op op, const gl_conv_geom *c, const float *in0, const float *in1, const float *bias,
                          const gl_node *act, float *out, gl_pool *pool) {
    const int N = (int)c->N, Co = (int)c->Co, K = (int)c->K;
    gl_gemm j;
    if (op == GL_OP_CONV2D) /* y (N, Co) = x (N, K) w (Co, K)^T */
        j = (gl_gemm){0, 1, N, Co, K, 0.0f, in0, K, in1, K, out, Co, 0};
    else if (op == GL_OP_CONV_TRANSPOSE2D) /* x (N, K) = y (N, Co) w (Co, K) */
        j = (gl_gemm){0, 0, N, K, Co, 0.0f, in0, Co, in1, K, out, K, 0};
    else /* dw (Co, K) = dy (N, Co)^T x (N, K) */
        j = (gl_gemm){1, 0, Co, K, N, 0.0f, in1, Co, in0, K, out, K, 0};
    gl_gemm_run(pool, &j);
    if (op == GL_OP_CONV2D) gl_k_bias_act(bias, act, out, c->N, c->Co, 1);
}

/* ---- the kernel ---- */

gl_status gl_k_conv(const gl_kernel_args *a, gl_error *err) {
    const gl_node *nd = a->node;
    gl_status st = gl_k_check_inputs(a, 2, err);
    if (st != GL_OK) return st;
    gl_conv_geom c;
    char b1[96], b2[96], b3[96];
    if (gl_conv_geom_of(nd->op, a->in_shape[0], a->in_shape[1], &nd->shape, nd->i[0], nd->i[1], &c) < 0)
        return gl_fail(err, GL_ERR_VALUE, "%s: inconsistent shapes %s, %s -> %s (stride %lld, padding %lld)",
                       gl_op_name(nd->op), gl_shape_str(a->in_shape[0], b1, sizeof b1),
                       gl_shape_str(a->in_shape[1], b2, sizeof b2), gl_shape_str(&nd->shape, b3, sizeof b3),
                       (long long)nd->i[0], (long long)nd->i[1]);
    const int64_t nout = gl_shape_numel(&nd->shape);
    if (c.N == 0 || c.K == 0 || c.Co == 0 || c.P == 0) { /* empty sums (or nothing to do) */
        if (nout > 0) memset(a->out, 0, sizeof(float) * (size_t)nout);
        if (nd->op == GL_OP_CONV2D) gl_k_bias_act(a->bias, a->act, a->out, c.N, c.Co, c.P); /* fused epilogue */
        return GL_OK;
    }
    if (gl_dense_applies(&c)) { /* before the other paths, in the order of gl_k_conv_workspace: no workspace */
        gl_dense_conv(nd->op, &c, a->in[0], a->in[1], a->bias, a->act, a->out, a->pool);
        return GL_OK;
    }
    if (!a->work)
        return gl_fail(err, GL_ERR_INTERNAL, "%s: no workspace (gl_kernel_workspace not consulted)",
                       gl_op_name(nd->op));
    if (gl_wino_applies(nd->op, &c)) {
        gl_wino_conv(nd->op, &c, a->in[0], a->in[1], a->bias, a->act, a->out, a->work, a->pool);
        return GL_OK;
    }
    if (gl_wino3_applies(nd->op, &c))
        return gl_wino3_conv(nd->op, &c, a->in[0], a->in[1], a->bias, a->act, a->out, a->work, a->pool, err);
    if (gl_direct_applies(nd->op, &c)) {
        gl_direct_conv(nd->op, &c, a->in[0], a->in[1], a->bias, a->act, a->out, a->work, a->pool);
        return GL_OK;
    }
    if (gl_conv_panel_applies(nd->op, &c)) {
        gl_conv_panel(nd->op, &c, a->in[0], a->in[1], a->bias, a->act, a->out, a->work, a->pool);
        return GL_OK;
    }
    if (c.K > INT_MAX || c.Co > INT_MAX || c.nb * c.P > INT_MAX)
        return gl_fail(err, GL_ERR_VALUE, "%s: dimensions too large for 32-bit BLAS", gl_op_name(nd->op));

    float *col = a->work, *tmp = a->work + c.K * c.nb * c.P;
    const int64_t img_sz = c.Ci * c.H * c.W, cs_sz = c.Co * c.P;
    for (int64_t n0 = 0; n0 < c.N; n0 += c.nb) {
        const int64_t nb = c.N - n0 < c.nb ? c.N - n0 : c.nb;
        const int ld = (int)(nb * c.P);
        gl_cols_job j = {&c, nb, NULL, NULL};
        gl_gemm gm;
        memset(&gm, 0, sizeof gm);
        switch (nd->op) {
        case GL_OP_CONV2D: { /* y = W (Co, K) @ col (K, nb*P) */
            float *y = a->out + n0 * cs_sz;
            j.src = a->in[0] + n0 * img_sz;
            j.dst = col;
            gl_cols_par(a->pool, c.K, nb * c.P, gl_im2col_range, &j);
            gm = (gl_gemm){0, 0, (int)c.Co, ld, (int)c.K, 0.0f, a->in[1], (int)c.K, col, ld,
                           nb > 1 ? tmp : y, ld, 0};
            gl_gemm_run(a->pool, &gm);
            if (nb > 1) {
                j.src = tmp;
                j.dst = y;
                gl_cols_par(a->pool, c.Co, nb * c.P, gl_scatter_range, &j);
            }
            gl_k_bias_act(a->bias, a->act, y, nb, c.Co, c.P);
            break;
        }
        case GL_OP_CONV_TRANSPOSE2D: { /* col (K, nb*P) = W^T (K, Co) @ x (Co, nb*P); image = col2im */
            const float *x = a->in[0] + n0 * cs_sz;
            if (nb > 1) {
                j.src = x;
                j.dst = tmp;
                gl_cols_par(a->pool, c.Co, nb * c.P, gl_gather_range, &j);
                x = tmp;
            }
            gm = (gl_gemm){1, 0, (int)c.K, ld, (int)c.Co, 0.0f, a->in[1], (int)c.K, x, ld, col, ld, 0};
            gl_gemm_run(a->pool, &gm);
            j.src = col;
            j.dst = a->out + n0 * img_sz;
            gl_cols_par(a->pool, nb * c.Ci, c.H * c.W * c.kh * c.kw, gl_col2im_range, &j);
            break;
        }
        case GL_OP_CONV2D_WEIGHT_GRAD: { /* out (Co, K) += b (Co, nb*P) @ col^T (nb*P, K) */
            const float *gy = a->in[1] + n0 * cs_sz;
            j.src = a->in[0] + n0 * img_sz;
            j.dst = col;
            gl_cols_par(a->pool, c.K, nb * c.P, gl_im2col_range, &j);
            if (nb > 1) {
                j.src = gy;
                j.dst = tmp;
                gl_cols_par(a->pool, c.Co, nb * c.P, gl_gather_range, &j);
                gy = tmp;
            }
            gm = (gl_gemm){0, 1, (int)c.Co, (int)c.K, ld, n0 > 0 ? 1.0f : 0.0f, gy, ld, col, ld, a->out,
                           (int)c.K, 0};
            gl_gemm_run(a->pool, &gm);
            break;
        }
        default:
            return gl_fail(err, GL_ERR_INTERNAL, "gl_k_conv: op %s", gl_op_name(nd->op));
        }
    }
    return GL_OK;
}
