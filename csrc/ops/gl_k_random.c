/* gl_k_random.c - RAND_UNIFORM, RAND_NORMAL, DROPOUT_MASK, RAND_ONEHOT and
 * BERNOULLI (the only one with an input): one draw each run. */
#include "gl_k_internal.h"

gl_status gl_k_random(const gl_kernel_args *a, gl_error *err) {
    const gl_node *nd = a->node;
    gl_status st = gl_k_check_inputs(a, nd->op == GL_OP_BERNOULLI ? 1 : 0, err);
    if (st != GL_OK) return st;
    if (!a->rng) return gl_fail(err, GL_ERR_INTERNAL, "%s: no random generator", gl_op_name(nd->op));
    int64_t n = gl_shape_numel(&nd->shape);
    float f0 = nd->f[0], f1 = nd->f[1];
    switch (nd->op) {
    case GL_OP_RAND_UNIFORM:
        if (!(f0 <= f1)) /* also refuses NaN */
            return gl_fail(err, GL_ERR_VALUE, "uniform: need low <= high, got [%g, %g)", f0, f1);
        gl_rng_uniform(a->rng, a->pool, a->out, n, f0, f1);
        return GL_OK;
    case GL_OP_RAND_NORMAL:
        if (!(f1 >= 0.0f))
            return gl_fail(err, GL_ERR_VALUE, "normal: std must be >= 0, got %g", f1);
        gl_rng_normal(a->rng, a->pool, a->out, n, f0, f1);
        return GL_OK;
    case GL_OP_DROPOUT_MASK:
        if (!(f0 >= 0.0f && f0 < 1.0f))
            return gl_fail(err, GL_ERR_VALUE, "dropout: probability must be in [0, 1), got %g", f0);
        gl_rng_dropout(a->rng, a->pool, a->out, n, f0);
        return GL_OK;
    case GL_OP_BERNOULLI:
        if (gl_shape_numel(a->in_shape[0]) != n)
            return gl_fail(err, GL_ERR_INTERNAL, "bernoulli: input and output sizes differ");
        gl_rng_bernoulli(a->rng, a->pool, a->in[0], a->out, n);
        return GL_OK;
    case GL_OP_RAND_ONEHOT: {
        /* one uniform per row, stored in out[0..rows) and consumed from the last
         * row down: row i's one-hot covers [i*cols, (i+1)*cols), which never
         * reaches the uniforms of rows < i still to be read (i <= i*cols) */
        const int64_t rows = nd->shape.d[0], cols = nd->shape.d[1];
        if (nd->shape.ndim != 2 || cols < 1)
            return gl_fail(err, GL_ERR_VALUE, "onehot: needs a 2-D shape (batch, n) with n >= 1");
        gl_rng_uniform(a->rng, NULL, a->out, rows, 0.0f, 1.0f);
        for (int64_t i = rows - 1; i >= 0; i--) {
            int64_t idx = (int64_t)(a->out[i] * (float)cols);
            if (idx >= cols) idx = cols - 1;
            float *row = a->out + i * cols;
            for (int64_t c = 0; c < cols; c++) row[c] = 0.0f;
            row[idx] = 1.0f;
        }
        return GL_OK;
    }
    default:
        return gl_fail(err, GL_ERR_INTERNAL, "%s is not a random op", gl_op_name(nd->op));
    }
}
