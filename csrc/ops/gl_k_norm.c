/* gl_k_norm.c - BATCH_NORM (training mode) and BATCH_NORM_GRAD.
 *
 * x is viewed as (N, C, S) with S = H*W (4-D) or 1 (2-D): channel c is N runs
 * ("rows") of S contiguous floats.  Work is split over channels; each
 * channel's sums are formed by one thread in a fixed order, so results do not
 * depend on the thread count.  The gradient recomputes the batch statistics
 * from x instead of saving them: nothing outlives a kernel.
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

#define GL_BN_LANES 16

typedef struct gl_bn_job {
    const gl_node *nd;
    int64_t N, C, S;
    const float *x, *gamma, *third; /* beta (forward) or gy (grad) */
    float *out;
} gl_bn_job;

_Static_assert(GL_BN_LANES == 16, "gl_bn_fold adds 16 lanes");

/* Fold of double lanes, fixed tree. */
static inline double gl_bn_fold(const double *a) {
    double b[GL_BN_LANES / 2];
    for (int l = 0; l < GL_BN_LANES / 2; l++) b[l] = a[l] + a[l + GL_BN_LANES / 2];
    return ((b[0] + b[4]) + (b[2] + b[6])) + ((b[1] + b[5]) + (b[3] + b[7]));
}

/* sum(x) over channel rows x + n*rs, n < N.  Per row: float lanes, then added
 * lane-wise into double lanes (no horizontal work per row); the row's short
 * tail goes to a double directly. */
static double gl_bn_sum(const float *x, int64_t N, int64_t rs, int64_t S) {
    double ad[GL_BN_LANES] = {0}, t = 0.0;
    const int64_t V = S - S % GL_BN_LANES;
    for (int64_t n = 0; n < N; n++, x += rs) {
        if (V > 0) { /* skipped for short rows (2-D x: S = 1) */
            float a[GL_BN_LANES] = {0};
            for (int64_t i = 0; i < V; i += GL_BN_LANES)
                for (int l = 0; l < GL_BN_LANES; l++) a[l] += x[i + l];
            for (int l = 0; l < GL_BN_LANES; l++) ad[l] += a[l];
        }
        for (int64_t i = V; i < S; i++) t += x[i];
    }
    return gl_bn_fold(ad) + t;
}

/* Centred sums about mf: r[0] = sum(d), r[1] = sum(d^2), d = x - mf.  S >= GL_BN_LANES. */
static void gl_bn_dev(const float *x, int64_t N, int64_t rs, int64_t S, float mf, double *r) {
    double ad[GL_BN_LANES] = {0}, bd[GL_BN_LANES] = {0}, t1 = 0.0, t2 = 0.0;
    const int64_t V = S - S % GL_BN_LANES;
    for (int64_t n = 0; n < N; n++, x += rs) {
        float a[GL_BN_LANES] = {0}, b[GL_BN_LANES] = {0};
        for (int64_t i = 0; i < V; i += GL_BN_LANES)
            for (int l = 0; l < GL_BN_LANES; l++) a[l] += x[i + l] - mf;
        for (int64_t i = 0; i < V; i += GL_BN_LANES)
            for (int l = 0; l < GL_BN_LANES; l++) b[l] += (x[i + l] - mf) * (x[i + l] - mf);
        for (int l = 0; l < GL_BN_LANES; l++) {
            ad[l] += a[l];
            bd[l] += b[l];
        }
        for (int64_t i = V; i < S; i++) {
            const double d = (double)(x[i] - mf);
            t1 += d;
            t2 += d * d;
        }
    }
    r[0] = gl_bn_fold(ad) + t1;
    r[1] = gl_bn_fold(bd) + t2;
}

/* As gl_bn_dev, plus r[2] = sum(gy), r[3] = sum(gy d). */
static void gl_bn_dev_g(const float *x, const float *gy, int64_t N, int64_t rs, int64_t S, float mf, double *r) {
    double ad[GL_BN_LANES] = {0}, bd[GL_BN_LANES] = {0}, ed[GL_BN_LANES] = {0}, fd[GL_BN_LANES] = {0};
    double t1 = 0.0, t2 = 0.0, t3 = 0.0, t4 = 0.0;
    const int64_t V = S - S % GL_BN_LANES;
    for (int64_t n = 0; n < N; n++, x += rs, gy += rs) {
        float a[GL_BN_LANES] = {0}, b[GL_BN_LANES] = {0}, e[GL_BN_LANES] = {0}, f[GL_BN_LANES] = {0};
        for (int64_t i = 0; i < V; i += GL_BN_LANES)
            for (int l = 0; l < GL_BN_LANES; l++) a[l] += x[i + l] - mf;
        for (int64_t i = 0; i < V; i += GL_BN_LANES)
            for (int l = 0; l < GL_BN_LANES; l++) b[l] += (x[i + l] - mf) * (x[i + l] - mf);
        for (int64_t i = 0; i < V; i += GL_BN_LANES)
            for (int l = 0; l < GL_BN_LANES; l++) e[l] += gy[i + l];
        for (int64_t i = 0; i < V; i += GL_BN_LANES)
            for (int l = 0; l < GL_BN_LANES; l++) f[l] += gy[i + l] * (x[i + l] - mf);
        for (int l = 0; l < GL_BN_LANES; l++) {
            ad[l] += a[l];
            bd[l] += b[l];
            ed[l] += e[l];
            fd[l] += f[l];
        }
        for (int64_t i = V; i < S; i++) {
            const double d = (double)(x[i] - mf), g = gy[i];
            t1 += d;
            t2 += d * d;
            t3 += g;
            t4 += g * d;
        }
    }
    r[0] = gl_bn_fold(ad) + t1;
    r[1] = gl_bn_fold(bd) + t2;
    r[2] = gl_bn_fold(ed) + t3;
    r[3] = gl_bn_fold(fd) + t4;
}

/* Rows shorter than GL_BN_LANES (2-D x has S = 1): plain double sums, as
 * the lane code only adds overhead there.  gy may be NULL (forward). */
static void gl_bn_dev_short(const float *x, const float *gy, int64_t N, int64_t rs, int64_t S, float mf, double *r) {
    double t1 = 0.0, t2 = 0.0, t3 = 0.0, t4 = 0.0;
    for (int64_t o = 0; o < N * rs; o += rs)
        for (int64_t i = o; i < o + S; i++) {
            const double d = (double)(x[i] - mf);
            t1 += d;
            t2 += d * d;
            if (gy) {
                t3 += gy[i];
                t4 += gy[i] * d;
            }
        }
    r[0] = t1;
    r[1] = t2;
    r[2] = t3;
    r[3] = t4;
}

static void gl_bn_range(void *vp, int64_t c0, int64_t c1) {
    const gl_bn_job *j = vp;
    const gl_node *nd = j->nd;
    const double eps = nd->f[0];
    const int64_t N = j->N, C = j->C, S = j->S, M = N * S;
    const int fwd = nd->op == GL_OP_BATCH_NORM;
    for (int64_t c = c0; c < c1; c++) {
        const float *xc = j->x + c * S, *gc = fwd ? NULL : j->third + c * S;
        /* sweep 1: the shift mf, an approximate mean */
        const float mf = (float)(gl_bn_sum(xc, N, C * S, S) / (double)M);
        /* sweep 2: centred sums (and the gradient's sums) */
        double r[4]; /* sum d, sum d^2, sum gy, sum gy d */
        if (S < GL_BN_LANES)
            gl_bn_dev_short(xc, gc, N, C * S, S, mf, r);
        else if (fwd)
            gl_bn_dev(xc, N, C * S, S, mf, r);
        else
            gl_bn_dev_g(xc, gc, N, C * S, S, mf, r);
        const double dm = r[0] / (double)M; /* mean - mf */
        const double mean = (double)mf + dm;
        double var = (r[1] - r[0] * dm) / (double)M;
        if (var < 0.0) var = 0.0; /* rounding, for constant channels */
        const double invstd = 1.0 / sqrt(var + eps);
        if (fwd) {
            /* y = sc (x - mf) + sh, sh = beta - sc (mean - mf) */
            const double scd = j->gamma[c] * invstd;
            const float sc = (float)scd, sh = (float)(j->third[c] - scd * dm);
            for (int64_t n = 0; n < N; n++) {
                const float *x = xc + n * C * S;
                float *y = j->out + c * S + n * C * S;
                for (int64_t i = 0; i < S; i++) y[i] = (x[i] - mf) * sc + sh;
            }
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
        /* dx = k (gy - mg - (x - mean) q), k = gamma invstd, mg = mean(gy), q = mean(gy xhat) invstd,
         * evaluated as ka (gy - mgf) + kb (x - mf) + kc: both differences are
         * near-exact in float, kc absorbs what mgf and mf round off. */
        const double k = j->gamma[c] * invstd, mg = sg / (double)M, q = sgx * invstd * invstd / (double)M;
        const float mgf = (float)mg;
        const float ka = (float)k, kb = (float)(-k * q), kc = (float)(-k * ((mg - (double)mgf) - q * dm));
        for (int64_t n = 0; n < N; n++) {
            const float *x = xc + n * C * S, *gy = gc + n * C * S;
            float *dx = j->out + c * S + n * C * S;
            for (int64_t i = 0; i < S; i++) dx[i] = ka * (gy[i] - mgf) + kb * (x[i] - mf) + kc;
        }
    }
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
                   a->out};
    if (j.C == 0) return GL_OK;
    if (j.N * j.S < 2)
        return gl_fail(err, GL_ERR_VALUE, "batch_norm (training mode) needs more than one value per channel");
    const int64_t per = 3 * j.N * j.S, min = GL_K_PAR_MIN / (per > 0 ? per : 1);
    gl_parallel_for(a->pool, j.C, min < 1 ? 1 : min, gl_bn_range, &j);
    return GL_OK;
}
