/* gl_k_internal.h - shared pieces of the forward kernels (not a public API). */
#ifndef GL_K_INTERNAL_H
#define GL_K_INTERNAL_H

#include "gl_kernels.h"
#include "gl_k_vec16.h"

/* Elements per thread before elementwise work is split over the pool. */
#define GL_K_PAR_MIN 16384

/* A broadcast iteration space: up to 4 dims (outermost first) after dropping
 * size-1 dims and merging dims that are contiguous in every operand.  The
 * output is contiguous; operand strides are in elements, 0 where broadcast.
 * Always at least one dim (a scalar becomes one dim of size 1). */
typedef struct gl_k_iter {
    int nd;
    int64_t d[GL_MAX_DIMS];
    int64_t s[2][GL_MAX_DIMS];
} gl_k_iter;

/* Builds the iteration of out over nops (1 or 2) operands broadcast to it.
 * Fails with GL_ERR_VALUE if an operand does not broadcast to out. */
gl_status gl_k_iter_make(const gl_shape *out, int nops, const gl_shape *const *ops,
                         gl_k_iter *it, gl_error *err);

/* Offset of row r (index over all dims but the last) for operand k. */
static inline int64_t gl_k_iter_row(const gl_k_iter *it, int k, int64_t r) {
    int64_t off = 0;
    for (int i = it->nd - 2; i >= 0; i--) {
        int64_t q = r % it->d[i];
        r /= it->d[i];
        off += q * it->s[k][i];
    }
    return off;
}

/* y[0..n) <- act(y[0..n)): a fused activation (gl_kernel_args.act), with the
 * unary kernel's formulas so fused and unfused results are identical. */
static inline void gl_k_apply_act(const gl_node *act, float *restrict y, int64_t n) {
    if (!act) return;
    if (act->op == GL_OP_RELU) {
        for (int64_t i = 0; i < n; i++) y[i] = y[i] < 0.0f ? 0.0f : y[i]; /* NaN propagates */
    } else {
        const float f0 = act->f[0];
        for (int64_t i = 0; i < n; i++) y[i] = y[i] > 0.0f ? y[i] : f0 * y[i];
    }
}

/* The same on one vector of 16 floats, lane by lane (for kernels that keep
 * their results in registers: a store and reload through floats would cost
 * a stalled load) */
typedef int32_t gl_k_mask16 __attribute__((vector_size(sizeof(gl_pv))));
static inline void gl_k_apply_act_pv(const gl_node *act, gl_pv *y) {
    if (!act) return;
    if (act->op == GL_OP_RELU) {
        const gl_k_mask16 neg = *y < 0.0f; /* NaN compares false: it propagates */
        *y = (gl_pv)((gl_k_mask16)*y & ~neg);
    } else {
        const gl_k_mask16 pos = *y > 0.0f;
        *y = (gl_pv)(((gl_k_mask16)*y & pos) | ((gl_k_mask16)(act->f[0] * *y) & ~pos));
    }
}

/* A conv's fused epilogue: y (n x C x S) <- act(y + bias[c]) (bias may be
 * NULL, act may be NULL). */
static inline void gl_k_bias_act(const float *bias, const gl_node *act, float *y, int64_t n, int64_t C, int64_t S) {
    if (!bias && !act) return;
    for (int64_t b = 0; b < n; b++)
        for (int64_t c = 0; c < C; c++) {
            float *restrict r = y + (b * C + c) * S;
            if (bias) {
                const float v = bias[c];
                for (int64_t i = 0; i < S; i++) r[i] += v;
            }
            gl_k_apply_act(act, r, S);
        }
}

/* Checks the node has nin inputs with data; fails with GL_ERR_INTERNAL. */
gl_status gl_k_check_inputs(const gl_kernel_args *a, int nin, gl_error *err);

/* Deterministic sum of x[0..n) (fixed lanes, double accumulators). */
double gl_k_sum_run(const float *x, int64_t n);

/* One entry per op family; each validates its own shapes. */
gl_status gl_k_fill(const gl_kernel_args *a, gl_error *err);
gl_status gl_k_random(const gl_kernel_args *a, gl_error *err);
gl_status gl_k_unary(const gl_kernel_args *a, gl_error *err);
gl_status gl_k_binary(const gl_kernel_args *a, gl_error *err);
gl_status gl_k_grad_binary(const gl_kernel_args *a, gl_error *err);
gl_status gl_k_sum_to(const gl_kernel_args *a, gl_error *err);
gl_status gl_k_broadcast_to(const gl_kernel_args *a, gl_error *err);
gl_status gl_k_logsumexp(const gl_kernel_args *a, gl_error *err);
gl_status gl_k_sumsq_rows(const gl_kernel_args *a, gl_error *err);  /* SUMSQ_ROWS */
gl_status gl_k_matmul(const gl_kernel_args *a, gl_error *err);
gl_status gl_k_concat(const gl_kernel_args *a, gl_error *err);
gl_status gl_k_slice(const gl_kernel_args *a, gl_error *err);
gl_status gl_k_slice_grad(const gl_kernel_args *a, gl_error *err);
gl_status gl_k_reshape(const gl_kernel_args *a, gl_error *err);
gl_status gl_k_side_output(const gl_kernel_args *a, gl_error *err);
gl_status gl_k_conv(const gl_kernel_args *a, gl_error *err);       /* CONV2D, CONV_TRANSPOSE2D, WEIGHT_GRAD */
gl_status gl_k_pool(const gl_kernel_args *a, gl_error *err);       /* MAX/AVG_POOL2D and their adjoints */
gl_status gl_k_upsample(const gl_kernel_args *a, gl_error *err);   /* UPSAMPLE_NEAREST(_GRAD) */
gl_status gl_k_batch_norm(const gl_kernel_args *a, gl_error *err); /* BATCH_NORM(_GRAD) */
size_t gl_k_batch_norm_workspace(const gl_shape *x);                  /* floats */
gl_status gl_k_instance_norm(const gl_kernel_args *a, gl_error *err); /* INSTANCE_NORM, _RSTD, _GRAD */
gl_status gl_k_label(const gl_kernel_args *a, gl_error *err);      /* ONE_HOT, ARGMAX, ARGMIN, ROLL */

/* Workspace floats of a conv op with these operand shapes (0 if inconsistent). */
size_t gl_k_conv_workspace(gl_op op, const gl_shape *in0, const gl_shape *in1, const gl_shape *out,
                           int64_t stride, int64_t pad);

#endif
