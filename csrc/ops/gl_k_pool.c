/* gl_k_pool.c - max / average pooling, nearest upsampling and their adjoints.
 *
 * Every op works plane by plane ((n, c) pairs), split over the pool; each
 * output plane is written by one thread, so results do not depend on the
 * thread count.  The argmax of a max-pool window is recomputed from x
 * wherever it is needed (no saved indices: nothing outlives a kernel). */
#include "gl_k_internal.h"

#include <math.h>
#include <string.h>

typedef struct gl_pool_job {
    const gl_node *nd;
    int64_t H, W, Ho, Wo;       /* input (x) and pooled plane sizes */
    int64_t k, s, p;
    const float *x, *in;        /* x (argmax source) and the other operand */
    float *out;
} gl_pool_job;

/* Index (ih*W + iw) of the first maximum of window (oh, ow); padding never
 * wins (padding <= k/2 leaves every window at least one real element).  A NaN
 * wins, as in torch. */
static int64_t gl_argmax(const gl_pool_job *j, const float *x, int64_t oh, int64_t ow) {
    int64_t h0 = oh * j->s - j->p, w0 = ow * j->s - j->p, best = -1;
    float bv = -INFINITY;
    for (int64_t ih = h0 < 0 ? 0 : h0; ih < h0 + j->k && ih < j->H; ih++)
        for (int64_t iw = w0 < 0 ? 0 : w0; iw < w0 + j->k && iw < j->W; iw++) {
            float v = x[ih * j->W + iw];
            if (best < 0 || v > bv || (isnan(v) && !isnan(bv))) { bv = v; best = ih * j->W + iw; }
        }
    return best;
}

static void gl_pool_range(void *vp, int64_t t0, int64_t t1) {
    const gl_pool_job *j = vp;
    const int64_t HW = j->H * j->W, P = j->Ho * j->Wo;
    const float inv = 1.0f / (float)(j->k * j->k);
    for (int64_t t = t0; t < t1; t++) {
        const float *x = j->x ? j->x + t * HW : NULL;
        switch (j->nd->op) {
        case GL_OP_MAX_POOL2D: {
            float *y = j->out + t * P;
            for (int64_t oh = 0; oh < j->Ho; oh++)
                for (int64_t ow = 0; ow < j->Wo; ow++) y[oh * j->Wo + ow] = x[gl_argmax(j, x, oh, ow)];
            break;
        }
        case GL_OP_MAX_POOL2D_GATHER: { /* y = a at argmax, a of x's shape */
            const float *av = j->in + t * HW;
            float *y = j->out + t * P;
            for (int64_t oh = 0; oh < j->Ho; oh++)
                for (int64_t ow = 0; ow < j->Wo; ow++) y[oh * j->Wo + ow] = av[gl_argmax(j, x, oh, ow)];
            break;
        }
        case GL_OP_MAX_POOL2D_GRAD: { /* dx[argmax] += gy */
            const float *gy = j->in + t * P;
            float *dx = j->out + t * HW;
            memset(dx, 0, sizeof(float) * (size_t)HW);
            for (int64_t oh = 0; oh < j->Ho; oh++)
                for (int64_t ow = 0; ow < j->Wo; ow++) dx[gl_argmax(j, x, oh, ow)] += gy[oh * j->Wo + ow];
            break;
        }
        case GL_OP_AVG_POOL2D: {
            const float *xi = j->in + t * HW;
            float *y = j->out + t * P;
            for (int64_t oh = 0; oh < j->Ho; oh++)
                for (int64_t ow = 0; ow < j->Wo; ow++) {
                    int64_t h0 = oh * j->s - j->p, w0 = ow * j->s - j->p;
                    float acc = 0.0f;
                    for (int64_t ih = h0 < 0 ? 0 : h0; ih < h0 + j->k && ih < j->H; ih++)
                        for (int64_t iw = w0 < 0 ? 0 : w0; iw < w0 + j->k && iw < j->W; iw++)
                            acc += xi[ih * j->W + iw];
                    y[oh * j->Wo + ow] = acc * inv;
                }
            break;
        }
        case GL_OP_AVG_POOL2D_GRAD: {
            const float *gy = j->in + t * P;
            float *dx = j->out + t * HW;
            memset(dx, 0, sizeof(float) * (size_t)HW);
            for (int64_t oh = 0; oh < j->Ho; oh++)
                for (int64_t ow = 0; ow < j->Wo; ow++) {
                    int64_t h0 = oh * j->s - j->p, w0 = ow * j->s - j->p;
                    float g = gy[oh * j->Wo + ow] * inv;
                    for (int64_t ih = h0 < 0 ? 0 : h0; ih < h0 + j->k && ih < j->H; ih++)
                        for (int64_t iw = w0 < 0 ? 0 : w0; iw < w0 + j->k && iw < j->W; iw++)
                            dx[ih * j->W + iw] += g;
                }
            break;
        }
        default:
            break;
        }
    }
}

static int64_t gl_sweep(int64_t n, int64_t k, int64_t s, int64_t p) {
    return (k < 1 || s < 1 || p < 0 || n + 2 * p < k) ? -1 : (n + 2 * p - k) / s + 1;
}

gl_status gl_k_pool(const gl_kernel_args *a, gl_error *err) {
    const gl_node *nd = a->node;
    const int two = nd->op == GL_OP_MAX_POOL2D_GRAD || nd->op == GL_OP_MAX_POOL2D_GATHER;
    gl_status st = gl_k_check_inputs(a, two ? 2 : 1, err);
    if (st != GL_OK) return st;
    /* x: the unpooled shape (input 0, or the output of AVG_POOL2D_GRAD) */
    const gl_shape *sx = nd->op == GL_OP_AVG_POOL2D_GRAD ? &nd->shape : a->in_shape[0];
    const gl_shape *sy = (nd->op == GL_OP_MAX_POOL2D_GRAD || nd->op == GL_OP_AVG_POOL2D_GRAD)
                             ? a->in_shape[nd->op == GL_OP_MAX_POOL2D_GRAD ? 1 : 0] : &nd->shape;
    const gl_shape *sother = two ? a->in_shape[1] : NULL;
    gl_pool_job j = {nd, 0, 0, 0, 0, nd->i[0], nd->i[1], nd->i[2], NULL, NULL, a->out};
    int ok = sx->ndim == 4 && sy->ndim == 4 && sx->d[0] == sy->d[0] && sx->d[1] == sy->d[1] && 2 * j.p <= j.k;
    if (ok) {
        j.H = sx->d[2]; j.W = sx->d[3]; j.Ho = sy->d[2]; j.Wo = sy->d[3];
        ok = gl_sweep(j.H, j.k, j.s, j.p) == j.Ho && gl_sweep(j.W, j.k, j.s, j.p) == j.Wo;
    }
    if (ok && nd->op == GL_OP_MAX_POOL2D_GATHER) ok = gl_shape_eq(sother, sx);
    if (ok && (nd->op == GL_OP_MAX_POOL2D_GRAD || nd->op == GL_OP_MAX_POOL2D_GATHER))
        ok = gl_shape_eq(&nd->shape, nd->op == GL_OP_MAX_POOL2D_GRAD ? sx : sy);
    if (!ok) {
        char b1[96], b2[96];
        return gl_fail(err, GL_ERR_VALUE, "%s: shapes %s and %s do not match kernel %lld, stride %lld, padding %lld",
                       gl_op_name(nd->op), gl_shape_str(sx, b1, sizeof b1), gl_shape_str(sy, b2, sizeof b2),
                       (long long)j.k, (long long)j.s, (long long)j.p);
    }
    if (nd->op == GL_OP_AVG_POOL2D || nd->op == GL_OP_AVG_POOL2D_GRAD) {
        j.in = a->in[0];
    } else {
        j.x = a->in[0];
        j.in = two ? a->in[1] : NULL;
    }
    const int64_t planes = sx->d[0] * sx->d[1];
    if (planes == 0) return GL_OK;
    if (j.H < 1 || j.W < 1) /* a window over padding alone has no argmax */
        return gl_fail(err, GL_ERR_VALUE, "%s: empty input planes", gl_op_name(nd->op));
    const int64_t per = j.H * j.W > 0 ? j.H * j.W : 1, min = GL_K_PAR_MIN / per;
    gl_parallel_for(a->pool, planes, min < 1 ? 1 : min, gl_pool_range, &j);
    return GL_OK;
}

/* ---- nearest upsampling (integer scale) and its adjoint ---- */

typedef struct gl_up_job {
    int grad;
    int64_t H, W, s;   /* small (unscaled) plane */
    const float *in;
    float *out;
} gl_up_job;

/* One plane: each small pixel to an s x s block, or (grad) each block summed
 * in row order.  Inlined with s = 2 (every conv net here) so the inner loops
 * have no division and unroll. */
static inline __attribute__((always_inline)) void gl_up_plane(int grad, int64_t H, int64_t W, int64_t s,
                                                              const float *restrict in, float *restrict out) {
    const int64_t W2 = W * s;
    for (int64_t h = 0; h < H; h++) {
        if (!grad) {
            const float *xr = in + h * W;
            float *yr = out + h * s * W2;
            for (int64_t w = 0; w < W; w++)
                for (int64_t k = 0; k < s; k++) yr[w * s + k] = xr[w];
            for (int64_t i = 1; i < s; i++) memcpy(yr + i * W2, yr, sizeof(float) * (size_t)W2);
        } else {
            const float *gr = in + h * s * W2;
            float *dr = out + h * W;
            for (int64_t w = 0; w < W; w++) {
                float acc = 0.0f;
                for (int64_t i = 0; i < s; i++)
                    for (int64_t k = 0; k < s; k++) acc += gr[i * W2 + w * s + k];
                dr[w] = acc;
            }
        }
    }
}

static void gl_up_range(void *vp, int64_t t0, int64_t t1) {
    const gl_up_job *j = vp;
    const int64_t HW = j->H * j->W, HW2 = HW * j->s * j->s;
    for (int64_t t = t0; t < t1; t++) {
        const float *in = j->in + t * (j->grad ? HW2 : HW);
        float *out = j->out + t * (j->grad ? HW : HW2);
        if (j->s == 2) gl_up_plane(j->grad, j->H, j->W, 2, in, out);
        else gl_up_plane(j->grad, j->H, j->W, j->s, in, out);
    }
}

gl_status gl_k_upsample(const gl_kernel_args *a, gl_error *err) {
    const gl_node *nd = a->node;
    gl_status st = gl_k_check_inputs(a, 1, err);
    if (st != GL_OK) return st;
    const int grad = nd->op == GL_OP_UPSAMPLE_NEAREST_GRAD;
    const gl_shape *small = grad ? &nd->shape : a->in_shape[0], *big = grad ? a->in_shape[0] : &nd->shape;
    const int64_t s = nd->i[0];
    if (small->ndim != 4 || big->ndim != 4 || s < 1 || big->d[0] != small->d[0] || big->d[1] != small->d[1] ||
        big->d[2] != small->d[2] * s || big->d[3] != small->d[3] * s) {
        char b1[96], b2[96];
        return gl_fail(err, GL_ERR_VALUE, "%s: shapes %s and %s do not match scale %lld", gl_op_name(nd->op),
                       gl_shape_str(small, b1, sizeof b1), gl_shape_str(big, b2, sizeof b2), (long long)s);
    }
    gl_up_job j = {grad, small->d[2], small->d[3], s, a->in[0], a->out};
    const int64_t per = gl_shape_numel(big) / (small->d[0] * small->d[1] > 0 ? small->d[0] * small->d[1] : 1);
    const int64_t min = GL_K_PAR_MIN / (per > 0 ? per : 1);
    gl_parallel_for(a->pool, small->d[0] * small->d[1], min < 1 ? 1 : min, gl_up_range, &j);
    return GL_OK;
}
