/* gl_k_layout.c - BROADCAST_TO, CONCAT, SLICE, SLICE_GRAD, RESHAPE: copies. */
#include "gl_k_internal.h"

#include <string.h>

/* ---- BROADCAST_TO: inner stride 1 -> memcpy, 0 -> fill ---- */

typedef struct gl_bcast_job {
    gl_k_iter it;
    const float *x;
    float *y;
} gl_bcast_job;

static void gl_bcast_range(void *vp, int64_t beg, int64_t end) {
    const gl_bcast_job *j = vp;
    const gl_k_iter *it = &j->it;
    const int64_t inner = it->d[it->nd - 1], s = it->s[0][it->nd - 1];
    int64_t pos = beg;
    while (pos < end) {
        int64_t r = pos / inner, c = pos % inner;
        int64_t len = inner - c < end - pos ? inner - c : end - pos;
        const float *x = j->x + gl_k_iter_row(it, 0, r) + c * s;
        float *restrict y = j->y + pos;
        if (s) {
            memcpy(y, x, sizeof(float) * (size_t)len);
        } else {
            const float v = x[0];
            for (int64_t i = 0; i < len; i++) y[i] = v;
        }
        pos += len;
    }
}

gl_status gl_k_broadcast_to(const gl_kernel_args *a, gl_error *err) {
    gl_status st = gl_k_check_inputs(a, 1, err);
    if (st != GL_OK) return st;
    gl_bcast_job j;
    const gl_shape *ops[1] = {a->in_shape[0]};
    st = gl_k_iter_make(&a->node->shape, 1, ops, &j.it, err);
    if (st != GL_OK) return st;
    j.x = a->in[0];
    j.y = a->out;
    gl_parallel_for(a->pool, gl_shape_numel(&a->node->shape), GL_K_PAR_MIN, gl_bcast_range, &j);
    return GL_OK;
}

/* ---- axis-1 layout: a tensor is (outer, d1, inner) ---- */

static int64_t gl_inner_after1(const gl_shape *s) {
    int64_t n = 1;
    for (int i = 2; i < s->ndim; i++) n *= s->d[i];
    return n;
}

/* Same ndim (>= 2) and equal dims except axis 1. */
static int gl_same_but_axis1(const gl_shape *a, const gl_shape *b) {
    if (a->ndim != b->ndim || a->ndim < 2) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (i != 1 && a->d[i] != b->d[i]) return 0;
    return 1;
}

/* Copy rows: y[o, yoff + c] = x[o, xoff + c] for c < len, per outer index o. */
typedef struct gl_rows_job {
    const float *x;
    float *y;
    int64_t xrow, yrow, xoff, yoff, len;
} gl_rows_job;

static void gl_rows_range(void *vp, int64_t b, int64_t e) {
    const gl_rows_job *j = vp;
    for (int64_t o = b; o < e; o++)
        memcpy(j->y + o * j->yrow + j->yoff, j->x + o * j->xrow + j->xoff, sizeof(float) * (size_t)j->len);
}

static void gl_copy_rows(gl_pool *pool, int64_t outer, gl_rows_job *j) {
    if (j->len <= 0 || outer <= 0) return;
    int64_t minr = GL_K_PAR_MIN * 4 / j->len;
    gl_parallel_for(pool, outer, minr < 1 ? 1 : minr, gl_rows_range, j);
}

gl_status gl_k_concat(const gl_kernel_args *a, gl_error *err) {
    const gl_node *nd = a->node;
    const gl_shape *so = &nd->shape;
    if (nd->nin < 1 || nd->nin > GL_MAX_IN)
        return gl_fail(err, GL_ERR_INTERNAL, "concat: bad input count %d", nd->nin);
    gl_status st = gl_k_check_inputs(a, nd->nin, err);
    if (st != GL_OK) return st;
    int64_t total = 0;
    for (int k = 0; k < nd->nin; k++) {
        if (!gl_same_but_axis1(a->in_shape[k], so)) {
            char b1[96], b2[96];
            return gl_fail(err, GL_ERR_VALUE, "concat: input %d has shape %s, output %s", k,
                           gl_shape_str(a->in_shape[k], b1, sizeof b1), gl_shape_str(so, b2, sizeof b2));
        }
        total += a->in_shape[k]->d[1];
    }
    if (total != so->d[1])
        return gl_fail(err, GL_ERR_VALUE, "concat: axis-1 sizes add to %lld, output has %lld",
                       (long long)total, (long long)so->d[1]);
    int64_t inner = gl_inner_after1(so), off = 0;
    for (int k = 0; k < nd->nin; k++) {
        int64_t w = a->in_shape[k]->d[1] * inner;
        gl_rows_job j = {a->in[k], a->out, w, so->d[1] * inner, 0, off, w};
        gl_copy_rows(a->pool, so->d[0], &j);
        off += w;
    }
    return GL_OK;
}

/* Checks x (small) fits into big along axis 1 at offset start. */
static gl_status gl_check_window(const char *what, const gl_shape *small, const gl_shape *big,
                                 int64_t start, gl_error *err) {
    if (!gl_same_but_axis1(small, big) || start < 0 || start > big->d[1] - small->d[1]) {
        char b1[96], b2[96];
        return gl_fail(err, GL_ERR_VALUE, "%s: %s does not fit in %s at axis-1 offset %lld", what,
                       gl_shape_str(small, b1, sizeof b1), gl_shape_str(big, b2, sizeof b2), (long long)start);
    }
    return GL_OK;
}

gl_status gl_k_slice(const gl_kernel_args *a, gl_error *err) {
    const gl_node *nd = a->node;
    gl_status st = gl_k_check_inputs(a, 1, err);
    if (st != GL_OK) return st;
    const gl_shape *sx = a->in_shape[0], *so = &nd->shape;
    st = gl_check_window("slice", so, sx, nd->i[0], err);
    if (st != GL_OK) return st;
    int64_t inner = gl_inner_after1(so);
    gl_rows_job j = {a->in[0], a->out, sx->d[1] * inner, so->d[1] * inner, nd->i[0] * inner, 0,
                     so->d[1] * inner};
    gl_copy_rows(a->pool, so->d[0], &j);
    return GL_OK;
}

gl_status gl_k_slice_grad(const gl_kernel_args *a, gl_error *err) {
    const gl_node *nd = a->node;
    gl_status st = gl_k_check_inputs(a, 1, err);
    if (st != GL_OK) return st;
    const gl_shape *sx = a->in_shape[0], *so = &nd->shape;
    st = gl_check_window("slice_grad", sx, so, nd->i[0], err);
    if (st != GL_OK) return st;
    int64_t n = gl_shape_numel(so);
    if (n > 0) memset(a->out, 0, sizeof(float) * (size_t)n);
    int64_t inner = gl_inner_after1(so);
    gl_rows_job j = {a->in[0], a->out, sx->d[1] * inner, so->d[1] * inner, 0, nd->i[0] * inner,
                     sx->d[1] * inner};
    gl_copy_rows(a->pool, so->d[0], &j);
    return GL_OK;
}

gl_status gl_k_reshape(const gl_kernel_args *a, gl_error *err) {
    gl_status st = gl_k_check_inputs(a, 1, err);
    if (st != GL_OK) return st;
    int64_t n = gl_shape_numel(&a->node->shape);
    if (gl_shape_numel(a->in_shape[0]) != n) {
        char b1[96], b2[96];
        return gl_fail(err, GL_ERR_VALUE, "reshape: cannot reshape %s to %s",
                       gl_shape_str(a->in_shape[0], b1, sizeof b1), gl_shape_str(&a->node->shape, b2, sizeof b2));
    }
    if (n > 0 && a->out != a->in[0]) memcpy(a->out, a->in[0], sizeof(float) * (size_t)n);
    return GL_OK;
}

/* SIDE_OUTPUT: the builder (gl_side_output) checked that the range lies
 * within the side values the input leaves after its own values. */
gl_status gl_k_side_output(const gl_kernel_args *a, gl_error *err) {
    gl_status st = gl_k_check_inputs(a, 1, err);
    if (st != GL_OK) return st;
    const int64_t n = gl_shape_numel(&a->node->shape), off = gl_shape_numel(a->in_shape[0]) + a->node->i[0];
    if (n > 0) memcpy(a->out, a->in[0] + off, sizeof(float) * (size_t)n);
    return GL_OK;
}
