/* gl_k_norm.c - BATCH_NORM (training mode) and BATCH_NORM_GRAD.
 *
 * x is viewed as (N, C, S) with S = H*W (4-D) or 1 (2-D): channel c is N runs
 * ("rows") of S contiguous floats.  Work is split over channels; each
 * channel's sums are formed by one thread in a fixed order, so results do not
 * depend on the thread count.  The gradient recomputes the batch statistics
 * from x instead of saving them: nothing outlives a kernel.  Asked for dx
 * (mode 2, what autodiff builds) it also leaves dgamma and dbeta after dx as
 * side outputs: the three share every sweep.
 *
 * Speed and accuracy: within a row, sums run in GL_BN_LANES independent float
 * accumulators (no -ffast-math, so the lanes are what lets the loops
 * vectorise) that are added lane-wise into double lanes after every row and
 * folded once per channel.  Each float lane sums only ~S/GL_BN_LANES values,
 * so rounding stays near float epsilon.  Each row loop carries a single float
 * reduction: GCC turns one 16-lane group into plain vector adds, but with
 * several groups in one loop it vectorises across iterations and transposes
 * (3x slower); the extra loops re-read a row that is already in L1.
 *
 * Statistics are centred: a first sweep gives an approximate mean mf (float),
 * the second sums d = x - mf (exact or nearly so for x near mf) and d^2, and
 * mean = mf + sum(d)/M, var = (sum d^2 - (sum d)^2/M)/M: the corrected
 * two-pass algorithm, robust to large means (mean 1e3, std 1); the second
 * sweep finds the channel in cache.  The gradient's sums of gy and gy*d ride
 * along in the second sweep.  Outputs are formed in float from x - mf (and
 * gy - mean(gy)) with per-channel coefficients computed in double, so nothing
 * cancels at the scale of the mean. */
#include "gl_k_internal.h"

#include <math.h>
#include <string.h>

#define GL_BN_LANES 16

typedef struct gl_bn_job {
    const gl_node *nd;
    int64_t N, C, S;
    const float *x, *gamma, *third; /* beta (forward) or gy (grad) */
    float *out;
    double *acc; /* workspace: GL_BN_PER doubles per channel */
    const gl_node *act; /* forward: fused activation, or NULL */
} gl_bn_job;

_Static_assert(GL_BN_LANES == 16, "gl_bn_fold adds 16 lanes");

/* Fold of double lanes, fixed tree. */
static inline double gl_bn_fold(const double *a) {
    double b[GL_BN_LANES / 2];
    for (int l = 0; l < GL_BN_LANES / 2; l++) b[l] = a[l] + a[l + GL_BN_LANES / 2];
    return ((b[0] + b[4]) + (b[2] + b[6])) + ((b[1] + b[5]) + (b[3] + b[7]));
}

/* Per channel, the workspace holds GL_BN_SUMS sets of double lanes, their
 * double tails, and the channel's coefficients between sweeps. */
#define GL_BN_SUMS 4
#define GL_BN_TAIL (GL_BN_SUMS * GL_BN_LANES)
#define GL_BN_COEF (GL_BN_TAIL + GL_BN_SUMS)
#define GL_BN_PER (GL_BN_COEF + 8)

size_t gl_k_batch_norm_workspace(const gl_shape *x) {
    if (x->ndim < 2 || x->d[1] < 0) return 0;
    return (size_t)x->d[1] * GL_BN_PER * (sizeof(double) / sizeof(float));
}

/* One row's share of sum(x): float lanes over the vector part, added
 * lane-wise into the double lanes ad (no horizontal work per row); the short
 * tail goes to the double *t directly. */
static inline void gl_bn_row_sum(const float *x, int64_t V, int64_t S, double *restrict ad, double *restrict t) {
    if (V > 0) { /* skipped for short rows (2-D x: S = 1) */
        float a[GL_BN_LANES] = {0};
        for (int64_t i = 0; i < V; i += GL_BN_LANES)
            for (int l = 0; l < GL_BN_LANES; l++) a[l] += x[i + l];
        for (int l = 0; l < GL_BN_LANES; l++) ad[l] += a[l];
    }
    for (int64_t i = V; i < S; i++) *t += x[i];
}

/* One row's share of the centred sums about mf: sum(d), sum(d^2), d = x - mf;
 * with gy also sum(gy), sum(gy d).  Rows shorter than GL_BN_LANES (V = 0)
 * only take the double tails. */
static inline void gl_bn_row_dev(const float *x, const float *gy, int64_t V, int64_t S, float mf,
                                 double *restrict acc) {
    if (V > 0) {
        float a[GL_BN_LANES] = {0}, b[GL_BN_LANES] = {0};
        for (int64_t i = 0; i < V; i += GL_BN_LANES)
            for (int l = 0; l < GL_BN_LANES; l++) a[l] += x[i + l] - mf;
        for (int64_t i = 0; i < V; i += GL_BN_LANES)
            for (int l = 0; l < GL_BN_LANES; l++) b[l] += (x[i + l] - mf) * (x[i + l] - mf);
        for (int l = 0; l < GL_BN_LANES; l++) {
            acc[l] += a[l];
            acc[GL_BN_LANES + l] += b[l];
        }
        if (gy) {
            float e[GL_BN_LANES] = {0}, f[GL_BN_LANES] = {0};
            for (int64_t i = 0; i < V; i += GL_BN_LANES)
                for (int l = 0; l < GL_BN_LANES; l++) e[l] += gy[i + l];
            for (int64_t i = 0; i < V; i += GL_BN_LANES)
                for (int l = 0; l < GL_BN_LANES; l++) f[l] += gy[i + l] * (x[i + l] - mf);
            for (int l = 0; l < GL_BN_LANES; l++) {
                acc[2 * GL_BN_LANES + l] += e[l];
                acc[3 * GL_BN_LANES + l] += f[l];
            }
        }
    }
    double *t = acc + GL_BN_TAIL;
    for (int64_t i = V; i < S; i++) {
        const double d = (double)(x[i] - mf);
        t[0] += d;
        t[1] += d * d;
        if (gy) {
            t[2] += gy[i];
            t[3] += gy[i] * d;
        }
    }
}

/* Channels [c0, c1) in three sweeps over the batch.  Each sweep walks the
 * images in memory order and, within an image, this block's channels, so
 * the reads stream (a channel at a time would jump by C*S floats every row,
 * which costs more than the arithmetic when rows are short, e.g. 7x7). */
static void gl_bn_block(const gl_bn_job *j, int64_t c0, int64_t c1) {
    const gl_node *nd = j->nd;
    const double eps = nd->f[0];
    const int64_t N = j->N, C = j->C, S = j->S, M = N * S, rs = C * S;
    const int64_t V = S - S % GL_BN_LANES;
    const int fwd = nd->op == GL_OP_BATCH_NORM;
    double *const acc = j->acc;
#define GL_BN_ACC(c) (acc + (c) * GL_BN_PER)
    /* sweep 1: the shift mf, an approximate mean */
    for (int64_t c = c0; c < c1; c++) memset(GL_BN_ACC(c), 0, GL_BN_COEF * sizeof(double));
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = c0; c < c1; c++)
            gl_bn_row_sum(j->x + n * rs + c * S, V, S, GL_BN_ACC(c), GL_BN_ACC(c) + GL_BN_TAIL);
    for (int64_t c = c0; c < c1; c++) {
        double *a = GL_BN_ACC(c);
        a[GL_BN_COEF] = (float)((gl_bn_fold(a) + a[GL_BN_TAIL]) / (double)M);
        memset(a, 0, GL_BN_COEF * sizeof(double));
    }
    /* sweep 2: centred sums (and the gradient's sums) */
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = c0; c < c1; c++) {
            const int64_t o = n * rs + c * S;
            gl_bn_row_dev(j->x + o, fwd ? NULL : j->third + o, V, S, (float)GL_BN_ACC(c)[GL_BN_COEF], GL_BN_ACC(c));
        }
    /* per channel: statistics and the coefficients of the output sweep */
    for (int64_t c = c0; c < c1; c++) {
        double *a = GL_BN_ACC(c), r[GL_BN_SUMS]; /* sum d, sum d^2, sum gy, sum gy d */
        for (int k = 0; k < GL_BN_SUMS; k++) r[k] = gl_bn_fold(a + k * GL_BN_LANES) + a[GL_BN_TAIL + k];
        const float mf = (float)a[GL_BN_COEF];
        double *coef = a + GL_BN_COEF;
        const double dm = r[0] / (double)M; /* mean - mf */
        const double mean = (double)mf + dm;
        double var = (r[1] - r[0] * dm) / (double)M;
        if (var < 0.0) var = 0.0; /* rounding, for constant channels */
        const double invstd = 1.0 / sqrt(var + eps);
        if (fwd) {
            /* y = sc (x - mf) + sh, sh = beta - sc (mean - mf) */
            const double scd = j->gamma[c] * invstd;
            coef[1] = (float)scd;
            coef[2] = (float)(j->third[c] - scd * dm);
            if (nd->data && nd->data2) { /* as torch: unbiased variance in the running estimate */
                const double mom = nd->f[1];
                nd->data[c] = (float)((1.0 - mom) * nd->data[c] + mom * mean);
                nd->data2[c] = (float)((1.0 - mom) * nd->data2[c] + mom * var * (double)M / (double)(M - 1));
            }
            continue;
        }
        const double sg = r[2], sgx = r[3] - dm * r[2]; /* sum gy, sum gy (x - mean) */
        if (nd->i[0] == 1) { /* dgamma = sum(gy * xhat) */
            j->out[c] = (float)(sgx * invstd);
            continue;
        }
        if (nd->i[0] == 2) { /* side outputs after dx: dgamma, then dbeta = sum(gy) */
            j->out[N * rs + c] = (float)(sgx * invstd);
            j->out[N * rs + C + c] = (float)sg;
        }
        /* dx = k (gy - mg - (x - mean) q), k = gamma invstd, mg = mean(gy), q = mean(gy xhat) invstd,
         * evaluated as ka (gy - mgf) + kb (x - mf) + kc: both differences are
         * near-exact in float, kc absorbs what mgf and mf round off. */
        const double k = j->gamma[c] * invstd, mg = sg / (double)M, q = sgx * invstd * invstd / (double)M;
        const float mgf = (float)mg;
        coef[1] = mgf;
        coef[2] = (float)k;
        coef[3] = (float)(-k * q);
        coef[4] = (float)(-k * ((mg - (double)mgf) - q * dm));
    }
    if (!fwd && nd->i[0] == 1) return;
    /* sweep 3: the output */
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = c0; c < c1; c++) {
            const double *coef = GL_BN_ACC(c) + GL_BN_COEF;
            const float mf = (float)coef[0];
            const int64_t o = n * rs + c * S;
            const float *x = j->x + o;
            float *y = j->out + o;
            if (fwd) {
                const float sc = (float)coef[1], sh = (float)coef[2];
                for (int64_t i = 0; i < S; i++) y[i] = (x[i] - mf) * sc + sh;
                gl_k_apply_act(j->act, y, S);
            } else {
                const float *gy = j->third + o;
                const float mgf = (float)coef[1], ka = (float)coef[2], kb = (float)coef[3], kc = (float)coef[4];
                for (int64_t i = 0; i < S; i++) y[i] = ka * (gy[i] - mgf) + kb * (x[i] - mf) + kc;
            }
        }
#undef GL_BN_ACC
}

/* Bytes of one block's channels (x, and gy for the gradient) kept for the
 * second and third sweeps: half of a 2 MB L2. */
#define GL_BN_BLOCK_BYTES ((int64_t)1 << 20)

/* Channels [c0, c1) in blocks small enough that the later sweeps find the
 * block in L2 (64 x 64 x 14 x 14 is 3.2 MB: whole, every sweep came from
 * L3). */
static void gl_bn_range(void *vp, int64_t c0, int64_t c1) {
    const gl_bn_job *j = vp;
    const int64_t per = j->N * j->S * (int64_t)sizeof(float) * (j->nd->op == GL_OP_BATCH_NORM ? 1 : 2);
    const int64_t blk = per > 0 && GL_BN_BLOCK_BYTES / per > 1 ? GL_BN_BLOCK_BYTES / per : 1;
    for (int64_t c = c0; c < c1; c += blk) gl_bn_block(j, c, c + blk < c1 ? c + blk : c1);
}

gl_status gl_k_batch_norm(const gl_kernel_args *a, gl_error *err) {
    const gl_node *nd = a->node;
    gl_status st = gl_k_check_inputs(a, 3, err);
    if (st != GL_OK) return st;
    const gl_shape *sx = a->in_shape[0];
    const int grad = nd->op == GL_OP_BATCH_NORM_GRAD;
    int ok = (sx->ndim == 2 || sx->ndim == 4) && a->in_shape[1]->ndim == 1 && a->in_shape[1]->d[0] == sx->d[1];
    if (ok && !grad) ok = gl_shape_eq(a->in_shape[2], a->in_shape[1]) && gl_shape_eq(&nd->shape, sx);
    if (ok && grad)
        ok = gl_shape_eq(a->in_shape[2], sx) && gl_shape_eq(&nd->shape, nd->i[0] == 1 ? a->in_shape[1] : sx);
    if (!ok) {
        char b1[96], b2[96];
        return gl_fail(err, GL_ERR_VALUE, "%s: x %s and gamma %s do not match", gl_op_name(nd->op),
                       gl_shape_str(sx, b1, sizeof b1), gl_shape_str(a->in_shape[1], b2, sizeof b2));
    }
    gl_bn_job j = {nd, sx->d[0], sx->d[1], sx->ndim == 4 ? sx->d[2] * sx->d[3] : 1, a->in[0], a->in[1], a->in[2],
                   a->out, (double *)(void *)a->work, a->act};
    if (j.C == 0) return GL_OK;
    if (!j.acc) return gl_fail(err, GL_ERR_INTERNAL, "%s: no workspace", gl_op_name(nd->op));
    if (j.N * j.S < 2)
        return gl_fail(err, GL_ERR_VALUE, "batch_norm (training mode) needs more than one value per channel");
    const int64_t per = 3 * j.N * j.S, min = GL_K_PAR_MIN / (per > 0 ? per : 1);
    gl_parallel_for(a->pool, j.C, min < 1 ? 1 : min, gl_bn_range, &j);
    return GL_OK;
}
