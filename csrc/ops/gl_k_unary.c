/* gl_k_unary.c - unary elementwise ops and FILL.
 *
 * The op switch sits outside each loop so that simple loops vectorise; the
 * transcendentals are gl_k_math.h's, which vectorise too. */
#include "gl_k_internal.h"
#include "gl_k_math.h"

#include <math.h>
#include <stdint.h>

typedef struct gl_unary_job {
    gl_op op;
    const float *x;
    float *y;
    float f0, f1;
} gl_unary_job;

static void gl_unary_range(void *vp, int64_t b, int64_t e) {
    const gl_unary_job *j = vp;
    const float *restrict x = j->x + b;
    float *restrict y = j->y + b;
    const int64_t n = e - b;
    const float f0 = j->f0, f1 = j->f1;
    switch (j->op) {
    case GL_OP_NEG:
        for (int64_t i = 0; i < n; i++) y[i] = -x[i];
        break;
    case GL_OP_SCALE:
        for (int64_t i = 0; i < n; i++) y[i] = f0 * x[i] + f1;
        break;
    case GL_OP_EXP:
        for (int64_t i = 0; i < n; i++) y[i] = gl_exp1(x[i]);
        break;
    case GL_OP_LOG:
        for (int64_t i = 0; i < n; i++) y[i] = gl_log1(x[i]);
        break;
    case GL_OP_SQRT:
        for (int64_t i = 0; i < n; i++) y[i] = sqrtf(x[i]);
        break;
    case GL_OP_SQUARE:
        for (int64_t i = 0; i < n; i++) y[i] = x[i] * x[i];
        break;
    case GL_OP_ABS:
        for (int64_t i = 0; i < n; i++) y[i] = fabsf(x[i]);
        break;
    case GL_OP_RELU: /* written so NaN propagates */
        for (int64_t i = 0; i < n; i++) y[i] = x[i] < 0.0f ? 0.0f : x[i];
        break;
    case GL_OP_LEAKY_RELU:
        for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : f0 * x[i];
        break;
    case GL_OP_TANH:
        for (int64_t i = 0; i < n; i++) y[i] = gl_tanh1(x[i]);
        break;
    case GL_OP_SIGMOID: /* exp of -|x| only: no overflow for large |x| */
        for (int64_t i = 0; i < n; i++) y[i] = gl_sigmoid1(x[i]);
        break;
    case GL_OP_SOFTPLUS: /* max(x, 0) + log1p(exp(-|x|)) */
        for (int64_t i = 0; i < n; i++) y[i] = gl_softplus1(x[i]);
        break;
    case GL_OP_LOG_SIGMOID: /* -softplus(-x) = min(x, 0) - log1p(exp(-|x|)) */
        for (int64_t i = 0; i < n; i++) y[i] = gl_log_sigmoid1(x[i]);
        break;
    case GL_OP_CLIP:
        for (int64_t i = 0; i < n; i++) {
            float v = x[i] < f0 ? f0 : x[i];
            y[i] = v > f1 ? f1 : v;
        }
        break;
    case GL_OP_SIGN: /* NaN stays NaN, +-0 stays +-0 */
        for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? 1.0f : (x[i] < 0.0f ? -1.0f : x[i]);
        break;
    default:
        break; /* unreachable: gl_k_unary checks the op */
    }
}

gl_status gl_k_unary(const gl_kernel_args *a, gl_error *err) {
    const gl_node *nd = a->node;
    gl_status st = gl_k_check_inputs(a, 1, err);
    if (st != GL_OK) return st;
    int64_t n = gl_shape_numel(&nd->shape);
    if (gl_shape_numel(a->in_shape[0]) != n)
        return gl_fail(err, GL_ERR_VALUE, "%s: input has %lld elements, output %lld", gl_op_name(nd->op),
                       (long long)gl_shape_numel(a->in_shape[0]), (long long)n);
    if (nd->op < GL_OP_NEG || nd->op > GL_OP_SIGN)
        return gl_fail(err, GL_ERR_INTERNAL, "%s is not a unary op", gl_op_name(nd->op));
    gl_unary_job j = {nd->op, a->in[0], a->out, nd->f[0], nd->f[1]};
    gl_parallel_for(a->pool, n, GL_K_PAR_MIN, gl_unary_range, &j);
    return GL_OK;
}

typedef struct gl_fill_k_job {
    float *y;
    float v;
} gl_fill_k_job;

static void gl_fill_k_range(void *vp, int64_t b, int64_t e) {
    const gl_fill_k_job *j = vp;
    float *restrict y = j->y;
    const float v = j->v;
    for (int64_t i = b; i < e; i++) y[i] = v;
}

gl_status gl_k_fill(const gl_kernel_args *a, gl_error *err) {
    gl_status st = gl_k_check_inputs(a, 0, err);
    if (st != GL_OK) return st;
    gl_fill_k_job j = {a->out, a->node->f[0]};
    gl_parallel_for(a->pool, gl_shape_numel(&a->node->shape), GL_K_PAR_MIN * 4, gl_fill_k_range, &j);
    return GL_OK;
}
