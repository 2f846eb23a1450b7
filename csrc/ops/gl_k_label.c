/* gl_k_label.c - ONE_HOT, ARGMAX / ARGMIN (as one-hot rows) and ROLL.
 *
 * Small row loops on the calling thread: these ops touch a (batch, classes)
 * table or copy a tensor once, far below the size where the pool pays. */
#include "gl_k_internal.h"

#include <math.h>
#include <string.h>

static gl_status gl_same_shape(const char *what, const gl_shape *x, const gl_shape *y, gl_error *err) {
    if (gl_shape_eq(x, y)) return GL_OK;
    char b1[96], b2[96];
    return gl_fail(err, GL_ERR_VALUE, "%s: input %s, output %s", what, gl_shape_str(x, b1, sizeof b1),
                   gl_shape_str(y, b2, sizeof b2));
}

/* Row r of the output is 1 at column x[r].  An index that is not an integer
 * in [0, classes) fails the run, naming the first such row (the output is
 * then unspecified). */
static gl_status gl_k_one_hot(const gl_kernel_args *a, gl_error *err) {
    const gl_node *nd = a->node;
    const gl_shape *sx = a->in_shape[0], *so = &nd->shape;
    const int64_t rows = so->d[0], classes = so->d[1];
    if (so->ndim != 2 || classes != nd->i[0] || classes < 1 || gl_shape_numel(sx) != rows ||
        !(sx->ndim == 1 || (sx->ndim == 2 && sx->d[1] == 1))) {
        char b1[96], b2[96];
        return gl_fail(err, GL_ERR_VALUE, "one_hot: indices %s, output %s", gl_shape_str(sx, b1, sizeof b1),
                       gl_shape_str(so, b2, sizeof b2));
    }
    const float *x = a->in[0];
    const float top = (float)classes; /* exact: classes <= 2^24 (gl_one_hot) */
    if (rows > 0) memset(a->out, 0, sizeof(float) * (size_t)(rows * classes));
    for (int64_t r = 0; r < rows; r++) {
        const float v = x[r];
        if (!(v >= 0.0f && v < top) || v != floorf(v)) /* NaN fails the first test */
            return gl_fail(err, GL_ERR_VALUE,
                           "one_hot: row %lld holds %g, which is not an integer class index in [0, %lld)",
                           (long long)r, (double)v, (long long)classes);
        a->out[r * classes + (int64_t)v] = 1.0f;
    }
    return GL_OK;
}

/* Each row's first max (ARGMAX) or min (ARGMIN) as a one-hot row; a NaN
 * beats every number and the first NaN wins (numpy.argmax / argmin). */
static gl_status gl_k_arg_extreme(const gl_kernel_args *a, gl_error *err) {
    const gl_node *nd = a->node;
    const gl_shape *sx = a->in_shape[0];
    gl_status st = gl_same_shape(gl_op_name(nd->op), sx, &nd->shape, err);
    if (st != GL_OK) return st;
    if (sx->ndim != 2 || sx->d[1] < 1) {
        char b1[96];
        return gl_fail(err, GL_ERR_VALUE, "%s: expects a 2-D (batch, K) tensor with K >= 1, got %s",
                       gl_op_name(nd->op), gl_shape_str(sx, b1, sizeof b1));
    }
    const int64_t rows = sx->d[0], k = sx->d[1];
    const int is_min = nd->op == GL_OP_ARGMIN;
    for (int64_t r = 0; r < rows; r++) {
        const float *x = a->in[0] + r * k;
        float *restrict y = a->out + r * k;
        int64_t best = 0;
        float bv = x[0];
        if (!isnan(bv)) {
            for (int64_t j = 1; j < k; j++) {
                const float v = x[j];
                if (isnan(v)) { best = j; break; }
                if (is_min ? v < bv : v > bv) { best = j; bv = v; }
            }
        }
        for (int64_t j = 0; j < k; j++) y[j] = 0.0f;
        y[best] = 1.0f;
    }
    return GL_OK;
}

/* x as (outer, n, inner) around the axis: each outer block is its last
 * `shift` rows of inner values followed by the rest. */
static gl_status gl_k_roll(const gl_kernel_args *a, gl_error *err) {
    const gl_node *nd = a->node;
    const gl_shape *s = a->in_shape[0];
    gl_status st = gl_same_shape("roll", s, &nd->shape, err);
    if (st != GL_OK) return st;
    const int64_t axis = nd->i[1], shift = nd->i[0];
    if (axis < 0 || axis >= s->ndim || shift < 0 || (shift > 0 && shift >= s->d[axis]))
        return gl_fail(err, GL_ERR_VALUE, "roll: shift %lld along axis %lld does not fit a %d-D tensor",
                       (long long)shift, (long long)axis, s->ndim);
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < axis; i++) outer *= s->d[i];
    for (int i = (int)axis + 1; i < s->ndim; i++) inner *= s->d[i];
    const int64_t n = s->d[axis], head = shift * inner, tail = (n - shift) * inner;
    if (n * inner == 0) return GL_OK;
    for (int64_t o = 0; o < outer; o++) {
        const float *x = a->in[0] + o * n * inner;
        float *y = a->out + o * n * inner;
        memcpy(y + head, x, sizeof(float) * (size_t)tail);
        if (head) memcpy(y, x + tail, sizeof(float) * (size_t)head);
    }
    return GL_OK;
}

gl_status gl_k_label(const gl_kernel_args *a, gl_error *err) {
    gl_status st = gl_k_check_inputs(a, 1, err);
    if (st != GL_OK) return st;
    switch (a->node->op) {
    case GL_OP_ONE_HOT:
        return gl_k_one_hot(a, err);
    case GL_OP_ARGMAX:
    case GL_OP_ARGMIN:
        return gl_k_arg_extreme(a, err);
    case GL_OP_ROLL:
        return gl_k_roll(a, err);
    default:
        return gl_fail(err, GL_ERR_INTERNAL, "%s is not a label / layout op", gl_op_name(a->node->op));
    }
}
