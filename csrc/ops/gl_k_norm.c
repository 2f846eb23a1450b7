/* gl_k_norm.c - BATCH_NORM (training mode) and BATCH_NORM_GRAD.
 *
 * x is viewed as (N, C, S) with S = H*W (4-D) or 1 (2-D).  Work is split over
 * channels; each channel's statistics are summed by one thread in double, in
 * a fixed order, so results do not depend on the thread count.  The gradient
 * recomputes the batch statistics from x instead of saving them: nothing
 * outlives a kernel, and the cost is one extra pass over x. */
#include "gl_k_internal.h"

#include <math.h>

typedef struct gl_bn_job {
    const gl_node *nd;
    int64_t N, C, S;
    const float *x, *gamma, *third; /* beta (forward) or gy (grad) */
    float *out;
} gl_bn_job;

/* Mean and biased variance of channel c (two passes, double). */
static void gl_bn_stats(const gl_bn_job *j, int64_t c, double *mean, double *var) {
    const int64_t M = j->N * j->S;
    double s = 0.0;
    for (int64_t n = 0; n < j->N; n++) s += gl_k_sum_run(j->x + (n * j->C + c) * j->S, j->S);
    const double m = s / (double)M;
    double v = 0.0;
    for (int64_t n = 0; n < j->N; n++) {
        const float *x = j->x + (n * j->C + c) * j->S;
        for (int64_t i = 0; i < j->S; i++) {
            double d = (double)x[i] - m;
            v += d * d;
        }
    }
    *mean = m;
    *var = v / (double)M;
}

static void gl_bn_range(void *vp, int64_t c0, int64_t c1) {
    const gl_bn_job *j = vp;
    const gl_node *nd = j->nd;
    const double eps = nd->f[0];
    const int64_t M = j->N * j->S;
    for (int64_t c = c0; c < c1; c++) {
        double mean, var;
        gl_bn_stats(j, c, &mean, &var);
        const double invstd = 1.0 / sqrt(var + eps);
        if (nd->op == GL_OP_BATCH_NORM) {
            const float sc = (float)(j->gamma[c] * invstd), sh = (float)(j->third[c] - mean * j->gamma[c] * invstd);
            for (int64_t n = 0; n < j->N; n++) {
                const float *x = j->x + (n * j->C + c) * j->S;
                float *y = j->out + (n * j->C + c) * j->S;
                for (int64_t i = 0; i < j->S; i++) y[i] = x[i] * sc + sh;
            }
            if (nd->data && nd->data2) { /* as torch: unbiased variance in the running estimate */
                const double mom = nd->f[1];
                nd->data[c] = (float)((1.0 - mom) * nd->data[c] + mom * mean);
                nd->data2[c] = (float)((1.0 - mom) * nd->data2[c] + mom * var * (double)M / (double)(M - 1));
            }
            continue;
        }
        /* grad: sums of gy and gy * (x - mean) */
        double sg = 0.0, sgx = 0.0;
        for (int64_t n = 0; n < j->N; n++) {
            const float *x = j->x + (n * j->C + c) * j->S, *gy = j->third + (n * j->C + c) * j->S;
            for (int64_t i = 0; i < j->S; i++) {
                sg += gy[i];
                sgx += (double)gy[i] * ((double)x[i] - mean);
            }
        }
        if (nd->i[0] == 1) { /* dgamma = sum(gy * xhat) */
            j->out[c] = (float)(sgx * invstd);
            continue;
        }
        /* dx = gamma invstd (gy - mean(gy) - xhat mean(gy xhat)) */
        const double k = j->gamma[c] * invstd, mg = sg / (double)M, q = sgx * invstd * invstd / (double)M;
        for (int64_t n = 0; n < j->N; n++) {
            const float *x = j->x + (n * j->C + c) * j->S, *gy = j->third + (n * j->C + c) * j->S;
            float *dx = j->out + (n * j->C + c) * j->S;
            for (int64_t i = 0; i < j->S; i++) dx[i] = (float)(k * ((double)gy[i] - mg - ((double)x[i] - mean) * q));
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
