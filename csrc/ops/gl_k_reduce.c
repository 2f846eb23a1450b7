/* gl_k_reduce.c - SUM_TO, LOGSUMEXP and SUMSQ_ROWS.
 *
 * Determinism: every output element is summed by one thread in an order that
 * depends only on the shapes, so results are bit-identical for any thread
 * count.  The one-output case (full sum) is split into fixed blocks whose
 * size depends only on n, and the block sums are combined in order. */
#include "gl_k_internal.h"
#include "gl_k_vec16.h"
#include "gl_k_math.h"

#include <math.h>
#include <string.h>

#define GL_SUM_LANES 8
#define GL_SUM_BLOCK 4096
#define GL_SUM_MAXBLOCKS 1024 /* partials kept on the stack */
#define GL_SUM_COLS 256       /* column chunk for column-style sums */

double gl_k_sum_run(const float *x, int64_t n) {
    double acc[GL_SUM_LANES] = {0};
    int64_t i = 0;
    for (; i + GL_SUM_LANES <= n; i += GL_SUM_LANES)
        for (int l = 0; l < GL_SUM_LANES; l++) acc[l] += (double)x[i + l];
    double tail = 0.0;
    for (; i < n; i++) tail += (double)x[i];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail;
}

/* ---- full sum ---- */

typedef struct gl_fullsum_job {
    const float *x;
    int64_t n, blk;
    double part[GL_SUM_MAXBLOCKS];
} gl_fullsum_job;

static void gl_fullsum_range(void *vp, int64_t b, int64_t e) {
    gl_fullsum_job *j = vp;
    for (int64_t k = b; k < e; k++) {
        int64_t lo = k * j->blk, len = j->n - lo < j->blk ? j->n - lo : j->blk;
        j->part[k] = gl_k_sum_run(j->x + lo, len);
    }
}

static float gl_fullsum(gl_pool *pool, const float *x, int64_t n) {
    gl_fullsum_job j;
    /* block size is a multiple of 4096 fixed by n alone: <= 1024 blocks */
    int64_t per = (int64_t)GL_SUM_BLOCK * GL_SUM_MAXBLOCKS;
    j.x = x;
    j.n = n;
    j.blk = GL_SUM_BLOCK * ((n + per - 1) / per);
    if (j.blk < GL_SUM_BLOCK) j.blk = GL_SUM_BLOCK;
    int64_t nb = (n + j.blk - 1) / j.blk;
    int64_t minb = GL_K_PAR_MIN / j.blk;
    gl_parallel_for(pool, nb, minb < 1 ? 1 : minb, gl_fullsum_range, &j);
    double s = 0.0;
    for (int64_t k = 0; k < nb; k++) s += j.part[k];
    return (float)s;
}

/* ---- general SUM_TO over collapsed groups ---- */

/* x's dims collapsed into alternating kept (K) / reduced (R) groups. */
typedef struct gl_sum_plan {
    int ng;
    int64_t d[GL_MAX_DIMS], s[GL_MAX_DIMS]; /* size and x-stride of each group */
    int red[GL_MAX_DIMS];
    /* derived */
    int nk, nr;             /* outer K and outer R groups (inner group excluded) */
    int64_t kd[GL_MAX_DIMS], ks[GL_MAX_DIMS];
    int64_t rd[2], rs[2];   /* outer R groups, padded with size 1 */
    int64_t inner;          /* size of the innermost group */
    const float *x;
    float *y;
} gl_sum_plan;

static int64_t gl_sum_base(const gl_sum_plan *p, int64_t q) {
    int64_t off = 0;
    for (int i = p->nk - 1; i >= 0; i--) {
        off += (q % p->kd[i]) * p->ks[i];
        q /= p->kd[i];
    }
    return off;
}

/* Innermost group reduced: y[o] = sum over outer R of contiguous runs.
 * Outputs go in chunks of GL_SUM_COLS, the outer R loops outside the chunk's
 * outputs, so the reads stream (per-channel sums of NCHW: one image after
 * another) instead of jumping an image ahead every run; each output still
 * adds its runs in the same order. */
static void gl_sum_rows(void *vp, int64_t b, int64_t e) {
    const gl_sum_plan *p = vp;
    double acc[GL_SUM_COLS];
    for (int64_t o0 = b; o0 < e; o0 += GL_SUM_COLS) {
        const int64_t n = e - o0 < GL_SUM_COLS ? e - o0 : GL_SUM_COLS;
        for (int64_t q = 0; q < n; q++) acc[q] = 0.0;
        for (int64_t r0 = 0; r0 < p->rd[0]; r0++)
            for (int64_t r1 = 0; r1 < p->rd[1]; r1++) {
                const float *x = p->x + r0 * p->rs[0] + r1 * p->rs[1];
                for (int64_t q = 0; q < n; q++) acc[q] += gl_k_sum_run(x + gl_sum_base(p, o0 + q), p->inner);
            }
        for (int64_t q = 0; q < n; q++) p->y[o0 + q] = (float)acc[q];
    }
}

/* Innermost group kept: task t = (output row q, column chunk c); double
 * accumulators per column, rows added in a fixed order. */
static void gl_sum_cols(void *vp, int64_t b, int64_t e) {
    const gl_sum_plan *p = vp;
    int64_t nchunk = (p->inner + GL_SUM_COLS - 1) / GL_SUM_COLS;
    double acc[GL_SUM_COLS];
    for (int64_t t = b; t < e; t++) {
        int64_t q = t / nchunk, c0 = (t % nchunk) * GL_SUM_COLS;
        int64_t cl = p->inner - c0 < GL_SUM_COLS ? p->inner - c0 : GL_SUM_COLS;
        const float *x = p->x + gl_sum_base(p, q) + c0;
        for (int64_t c = 0; c < cl; c++) acc[c] = 0.0;
        for (int64_t r0 = 0; r0 < p->rd[0]; r0++)
            for (int64_t r1 = 0; r1 < p->rd[1]; r1++) {
                const float *restrict row = x + r0 * p->rs[0] + r1 * p->rs[1];
                for (int64_t c = 0; c < cl; c++) acc[c] += (double)row[c];
            }
        float *restrict y = p->y + q * p->inner + c0;
        for (int64_t c = 0; c < cl; c++) y[c] = (float)acc[c];
    }
}

gl_status gl_k_sum_to(const gl_kernel_args *a, gl_error *err) {
    const gl_node *nd = a->node;
    gl_status st = gl_k_check_inputs(a, 1, err);
    if (st != GL_OK) return st;
    const gl_shape *sx = a->in_shape[0], *so = &nd->shape;
    int K = sx->ndim > so->ndim ? sx->ndim : so->ndim;
    int64_t xd[GL_MAX_DIMS], od[GL_MAX_DIMS];
    for (int i = 0; i < K; i++) {
        int ix = i - (K - sx->ndim), io = i - (K - so->ndim);
        xd[i] = ix >= 0 ? sx->d[ix] : 1;
        od[i] = io >= 0 ? so->d[io] : 1;
        if (od[i] != xd[i] && od[i] != 1) {
            char b1[96], b2[96];
            return gl_fail(err, GL_ERR_VALUE, "sum_to: cannot reduce %s to %s",
                           gl_shape_str(sx, b1, sizeof b1), gl_shape_str(so, b2, sizeof b2));
        }
    }
    int64_t nx = gl_shape_numel(sx), no = gl_shape_numel(so);
    if (no == 0) return GL_OK;
    if (nx == 0) { /* sums over empty dims are zero */
        memset(a->out, 0, sizeof(float) * (size_t)no);
        return GL_OK;
    }
    gl_sum_plan p;
    memset(&p, 0, sizeof p);
    p.x = a->in[0];
    p.y = a->out;
    /* collapse: drop size-1 dims, merge neighbours of the same kind */
    int64_t stride = 1, gs[GL_MAX_DIMS];
    for (int i = K - 1; i >= 0; i--) { gs[i] = stride; stride *= xd[i]; }
    for (int i = 0; i < K; i++) {
        if (xd[i] == 1) continue;
        int r = od[i] == 1;
        if (p.ng > 0 && p.red[p.ng - 1] == r) {
            p.d[p.ng - 1] *= xd[i];
            p.s[p.ng - 1] = gs[i];
        } else {
            p.d[p.ng] = xd[i];
            p.s[p.ng] = gs[i];
            p.red[p.ng] = r;
            p.ng++;
        }
    }
    int anyred = 0;
    for (int g = 0; g < p.ng; g++) anyred |= p.red[g];
    if (!anyred) { /* same numel: a copy */
        memcpy(a->out, a->in[0], sizeof(float) * (size_t)no);
        return GL_OK;
    }
    if (p.ng == 1) { /* everything reduced */
        a->out[0] = gl_fullsum(a->pool, a->in[0], nx);
        return GL_OK;
    }
    p.rd[0] = p.rd[1] = 1;
    for (int g = 0; g < p.ng - 1; g++) {
        if (p.red[g]) {
            p.rd[p.nr] = p.d[g];
            p.rs[p.nr] = p.s[g];
            p.nr++;
        } else {
            p.kd[p.nk] = p.d[g];
            p.ks[p.nk] = p.s[g];
            p.nk++;
        }
    }
    p.inner = p.d[p.ng - 1];
    int64_t per_out = nx / no; /* elements summed into each output */
    if (p.red[p.ng - 1]) {
        int64_t minb = GL_K_PAR_MIN / per_out;
        gl_parallel_for(a->pool, no, minb < 1 ? 1 : minb, gl_sum_rows, &p);
    } else {
        int64_t nchunk = (p.inner + GL_SUM_COLS - 1) / GL_SUM_COLS;
        int64_t ntask = (no / p.inner) * nchunk;
        int64_t minb = GL_K_PAR_MIN / (per_out * GL_SUM_COLS);
        gl_parallel_for(a->pool, ntask, minb < 1 ? 1 : minb, gl_sum_cols, &p);
    }
    return GL_OK;
}

/* ---- LOGSUMEXP over rows ---- */

#define GL_LSE_CHUNK 256 /* floats of e^(x - max) buffered on the stack */

/* a row-wise reduction of x (m, n) into y (m, 1): LOGSUMEXP, SUMSQ_ROWS */
typedef struct gl_rows_job {
    const float *x;
    float *y;
    int64_t n;
} gl_rows_job;

static gl_status gl_rows_check(const gl_kernel_args *a, gl_error *err) {
    gl_status st = gl_k_check_inputs(a, 1, err);
    if (st != GL_OK) return st;
    const gl_shape *sx = a->in_shape[0];
    if (sx->ndim != 2 || gl_shape_numel(&a->node->shape) != sx->d[0]) {
        char b1[96], b2[96];
        return gl_fail(err, GL_ERR_VALUE, "%s: needs (m, n) -> (m, 1), got %s -> %s", gl_op_name(a->node->op),
                       gl_shape_str(sx, b1, sizeof b1), gl_shape_str(&a->node->shape, b2, sizeof b2));
    }
    return GL_OK;
}

static void gl_lse_range(void *vp, int64_t b, int64_t e) {
    const gl_rows_job *j = vp;
    const int64_t n = j->n;
    for (int64_t r = b; r < e; r++) {
        const float *restrict x = j->x + r * n;
        float mx = -INFINITY;
        int nan = 0;
        for (int64_t i = 0; i < n; i++) {
            mx = x[i] > mx ? x[i] : mx;
            nan |= x[i] != x[i];
        }
        if (nan) {
            j->y[r] = NAN;
        } else if (isinf(mx)) { /* all -inf (or empty): -inf; any +inf: +inf */
            j->y[r] = mx;
        } else {
            /* e^(x - mx) a chunk at a time (gl_exp1 vectorises, libm's expf
             * does not), each chunk summed in float64 */
            float buf[GL_LSE_CHUNK];
            double s = 0.0;
            for (int64_t i0 = 0; i0 < n; i0 += GL_LSE_CHUNK) {
                const int64_t len = n - i0 < GL_LSE_CHUNK ? n - i0 : GL_LSE_CHUNK;
                for (int64_t i = 0; i < len; i++) buf[i] = gl_exp1(x[i0 + i] - mx);
                s += gl_k_sum_run(buf, len);
            }
            j->y[r] = mx + (float)log(s);
        }
    }
}

gl_status gl_k_logsumexp(const gl_kernel_args *a, gl_error *err) {
    gl_status st = gl_rows_check(a, err);
    if (st != GL_OK) return st;
    const gl_shape *sx = a->in_shape[0];
    gl_rows_job j = {a->in[0], a->out, sx->d[1]};
    int64_t minr = GL_K_PAR_MIN / (sx->d[1] > 0 ? sx->d[1] : 1) / 4;
    gl_parallel_for(a->pool, sx->d[0], minr < 1 ? 1 : minr, gl_lse_range, &j);
    return GL_OK;
}

/* ---- SUMSQ_ROWS: sum of squares of each row ---- */

/* Four chains of 16 float lanes (each lane sums ~n/64 squares), folded in a fixed order; one thread
 * per row, so the result does not depend on the thread count. */
static void gl_sumsq_range(void *vp, int64_t b, int64_t e) {
    const gl_rows_job *j = vp;
    const int64_t n = j->n;
    for (int64_t r = b; r < e; r++) {
        const float *x = j->x + r * n;
        gl_pv a0 = GL_PV_ZERO(), a1 = GL_PV_ZERO(), a2 = GL_PV_ZERO(), a3 = GL_PV_ZERO(), t0, t1, t2, t3;
        int64_t i = 0;
        for (; i + 64 <= n; i += 64) {
            GL_PV_LD(t0, x + i);
            GL_PV_LD(t1, x + i + 16);
            GL_PV_LD(t2, x + i + 32);
            GL_PV_LD(t3, x + i + 48);
            a0 = a0 + t0 * t0;
            a1 = a1 + t1 * t1;
            a2 = a2 + t2 * t2;
            a3 = a3 + t3 * t3;
        }
        for (; i + 16 <= n; i += 16) {
            GL_PV_LD(t0, x + i);
            a0 = a0 + t0 * t0;
        }
        if (i < n) {
            GL_PV_LD_TAIL(t0, x + i, (int)(n - i));
            a0 = a0 + t0 * t0;
        }
        a0 = (a0 + a1) + (a2 + a3);
        j->y[r] = GL_PV_HSUM(a0);
    }
}

gl_status gl_k_sumsq_rows(const gl_kernel_args *a, gl_error *err) {
    gl_status st = gl_rows_check(a, err);
    if (st != GL_OK) return st;
    const gl_shape *sx = a->in_shape[0];
    gl_rows_job j = {a->in[0], a->out, sx->d[1]};
    int64_t minr = GL_K_PAR_MIN / (sx->d[1] > 0 ? sx->d[1] : 1);
    gl_parallel_for(a->pool, sx->d[0], minr < 1 ? 1 : minr, gl_sumsq_range, &j);
    return GL_OK;
}
