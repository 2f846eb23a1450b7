/* gl_k_binary.c - ADD/SUB/MUL/DIV with NumPy broadcasting, and the
 * same-shape gradient helpers (RELU_MASK ... SIGMOID_GRAD).
 *
 * Broadcasting collapses the shapes into at most 4 merged dims (see
 * gl_k_iter_make); the innermost dim then has operand strides 0 or 1, so
 * same-shape, scalar, row-vector and column-vector cases all reduce to three
 * contiguous inner loops: vector-vector, scalar-vector, vector-scalar. */
#include "gl_k_internal.h"

#define GL_BIN_LOOP(EXPR)                                                    \
    do {                                                                     \
        if (sa && sb) {                                                      \
            for (int64_t i = 0; i < n; i++) { float u = a[i], v = b[i]; y[i] = (EXPR); } \
        } else if (sb) {                                                     \
            const float u = a[0];                                            \
            for (int64_t i = 0; i < n; i++) { float v = b[i]; y[i] = (EXPR); } \
        } else if (sa) {                                                     \
            const float v = b[0];                                            \
            for (int64_t i = 0; i < n; i++) { float u = a[i]; y[i] = (EXPR); } \
        } else {                                                             \
            const float u = a[0], v = b[0], w = (EXPR);                      \
            for (int64_t i = 0; i < n; i++) y[i] = w;                        \
        }                                                                    \
    } while (0)

/* y[0..n) = a op b, inner strides sa, sb in {0, 1}. */
static void gl_bin_run(gl_op op, float *restrict y, const float *restrict a, int64_t sa,
                       const float *restrict b, int64_t sb, int64_t n) {
    switch (op) {
    case GL_OP_ADD: GL_BIN_LOOP(u + v); break;
    case GL_OP_SUB: GL_BIN_LOOP(u - v); break;
    case GL_OP_MUL: GL_BIN_LOOP(u * v); break;
    case GL_OP_DIV: GL_BIN_LOOP(u / v); break;
    default: break;
    }
}

typedef struct gl_bin_job {
    gl_op op;
    gl_k_iter it;
    const float *a, *b;
    float *y;
    const gl_node *act; /* fused activation (ADD only), or NULL */
} gl_bin_job;

static void gl_bin_range(void *vp, int64_t beg, int64_t end) {
    const gl_bin_job *j = vp;
    const gl_k_iter *it = &j->it;
    const int64_t inner = it->d[it->nd - 1];
    const int64_t sa = it->s[0][it->nd - 1], sb = it->s[1][it->nd - 1];
    int64_t pos = beg;
    while (pos < end) {
        int64_t r = pos / inner, c = pos % inner;
        int64_t len = inner - c;
        if (len > end - pos) len = end - pos;
        const float *a = j->a + gl_k_iter_row(it, 0, r) + c * sa;
        const float *b = j->b + gl_k_iter_row(it, 1, r) + c * sb;
        gl_bin_run(j->op, j->y + pos, a, sa, b, sb, len);
        gl_k_apply_act(j->act, j->y + pos, len); /* the run is still in L1 */
        pos += len;
    }
}

gl_status gl_k_binary(const gl_kernel_args *a, gl_error *err) {
    const gl_node *nd = a->node;
    gl_status st = gl_k_check_inputs(a, 2, err);
    if (st != GL_OK) return st;
    const gl_shape *sa = a->in_shape[0], *sb = a->in_shape[1], *so = &nd->shape;
    /* the output must be exactly the broadcast of the two inputs */
    int nd_out = sa->ndim > sb->ndim ? sa->ndim : sb->ndim;
    int ok = so->ndim == nd_out;
    for (int i = 0; ok && i < nd_out; i++) {
        int ia = i - (nd_out - sa->ndim), ib = i - (nd_out - sb->ndim);
        int64_t da = ia >= 0 ? sa->d[ia] : 1, db = ib >= 0 ? sb->d[ib] : 1;
        if (so->d[i] != (da == 1 ? db : da)) ok = 0;
    }
    if (!ok) {
        char b1[96], b2[96], b3[96];
        return gl_fail(err, GL_ERR_VALUE, "%s: shapes %s and %s do not broadcast to %s", gl_op_name(nd->op),
                       gl_shape_str(sa, b1, sizeof b1), gl_shape_str(sb, b2, sizeof b2),
                       gl_shape_str(so, b3, sizeof b3));
    }
    gl_bin_job j;
    const gl_shape *ops[2] = {sa, sb};
    st = gl_k_iter_make(so, 2, ops, &j.it, err);
    if (st != GL_OK) return st;
    j.op = nd->op;
    j.a = a->in[0];
    j.b = a->in[1];
    j.y = a->out;
    j.act = a->act;
    gl_parallel_for(a->pool, gl_shape_numel(so), GL_K_PAR_MIN, gl_bin_range, &j);
    return GL_OK;
}

/* ---- gradient helpers: out = a * g(b), same shapes ---- */

typedef struct gl_gradbin_job {
    gl_op op;
    const float *a, *b;
    float *y;
    float f0, f1;
} gl_gradbin_job;

static void gl_gradbin_range(void *vp, int64_t beg, int64_t end) {
    const gl_gradbin_job *j = vp;
    const float *restrict a = j->a + beg;
    const float *restrict b = j->b + beg;
    float *restrict y = j->y + beg;
    const int64_t n = end - beg;
    const float f0 = j->f0, f1 = j->f1;
    switch (j->op) {
    case GL_OP_RELU_MASK:
        for (int64_t i = 0; i < n; i++) y[i] = b[i] > 0.0f ? a[i] : 0.0f;
        break;
    case GL_OP_LEAKY_MASK:
        for (int64_t i = 0; i < n; i++) y[i] = b[i] > 0.0f ? a[i] : f0 * a[i];
        break;
    case GL_OP_CLIP_MASK: /* closed interval, like torch.clamp's gradient */
        for (int64_t i = 0; i < n; i++) y[i] = (b[i] >= f0 && b[i] <= f1) ? a[i] : 0.0f;
        break;
    case GL_OP_TANH_GRAD:
        for (int64_t i = 0; i < n; i++) y[i] = a[i] * (1.0f - b[i] * b[i]);
        break;
    case GL_OP_SIGMOID_GRAD:
        for (int64_t i = 0; i < n; i++) y[i] = a[i] * b[i] * (1.0f - b[i]);
        break;
    default:
        break;
    }
}

gl_status gl_k_grad_binary(const gl_kernel_args *a, gl_error *err) {
    const gl_node *nd = a->node;
    gl_status st = gl_k_check_inputs(a, 2, err);
    if (st != GL_OK) return st;
    if (!gl_shape_eq(a->in_shape[0], &nd->shape) || !gl_shape_eq(a->in_shape[1], &nd->shape)) {
        char b1[96], b2[96], b3[96];
        return gl_fail(err, GL_ERR_VALUE, "%s: needs equal shapes, got %s, %s -> %s", gl_op_name(nd->op),
                       gl_shape_str(a->in_shape[0], b1, sizeof b1), gl_shape_str(a->in_shape[1], b2, sizeof b2),
                       gl_shape_str(&nd->shape, b3, sizeof b3));
    }
    gl_gradbin_job j = {nd->op, a->in[0], a->in[1], a->out, nd->f[0], nd->f[1]};
    gl_parallel_for(a->pool, gl_shape_numel(&nd->shape), GL_K_PAR_MIN, gl_gradbin_range, &j);
    return GL_OK;
}
