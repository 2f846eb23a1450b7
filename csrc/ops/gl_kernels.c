/* gl_kernels.c - dispatch from a node's op to its forward kernel. */
#include "gl_k_internal.h"

gl_status gl_k_check_inputs(const gl_kernel_args *a, int nin, gl_error *err) {
    const gl_node *nd = a->node;
    if (nd->nin != nin)
        return gl_fail(err, GL_ERR_INTERNAL, "%s: expected %d inputs, node has %d",
                       gl_op_name(nd->op), nin, nd->nin);
    if (!a->out && gl_shape_numel(&nd->shape) > 0)
        return gl_fail(err, GL_ERR_INTERNAL, "%s: no output buffer", gl_op_name(nd->op));
    for (int k = 0; k < nin; k++)
        if (!a->in_shape[k] || (!a->in[k] && gl_shape_numel(a->in_shape[k]) > 0))
            return gl_fail(err, GL_ERR_INTERNAL, "%s: input %d has no data", gl_op_name(nd->op), k);
    return GL_OK;
}

size_t gl_kernel_workspace(const gl_graph *g, int node) {
    if (!g || node < 0 || node >= g->n) return 0;
    const gl_node *nd = &g->nodes[node];
    switch (nd->op) {
    case GL_OP_CONV2D:
    case GL_OP_CONV_TRANSPOSE2D:
    case GL_OP_CONV2D_WEIGHT_GRAD: /* im2col of a chunk of images (+ a transpose buffer) */
        if (nd->nin != 2) return 0;
        return gl_k_conv_workspace(nd->op, &g->nodes[nd->in[0]].shape, &g->nodes[nd->in[1]].shape, &nd->shape,
                                   nd->i[0], nd->i[1]);
    case GL_OP_BATCH_NORM:
    case GL_OP_BATCH_NORM_GRAD: /* per-channel sums and coefficients */
        if (nd->nin < 1) return 0;
        return gl_k_batch_norm_workspace(&g->nodes[nd->in[0]].shape);
    default:
        return 0; /* reductions keep partials on the stack */
    }
}

int gl_kernel_fuses_act(gl_op op) {
    return op == GL_OP_ADD || op == GL_OP_BATCH_NORM || op == GL_OP_CONV2D || op == GL_OP_INSTANCE_NORM;
}

gl_status gl_kernel_forward(const gl_kernel_args *a, gl_error *err) {
    if (!a || !a->node) return gl_fail(err, GL_ERR_INTERNAL, "kernel called without a node");
    if (a->act && (!gl_kernel_fuses_act(a->node->op) ||
                   (a->act->op != GL_OP_RELU && a->act->op != GL_OP_LEAKY_RELU)))
        return gl_fail(err, GL_ERR_INTERNAL, "%s cannot apply a fused %s", gl_op_name(a->node->op),
                       gl_op_name(a->act->op));
    if (a->bias && a->node->op != GL_OP_CONV2D)
        return gl_fail(err, GL_ERR_INTERNAL, "%s cannot add a fused bias", gl_op_name(a->node->op));
    switch (a->node->op) {
    case GL_OP_INPUT:
    case GL_OP_PARAM:
    case GL_OP_CONST:
        return gl_fail(err, GL_ERR_INTERNAL, "%s is a leaf, not a kernel", gl_op_name(a->node->op));
    case GL_OP_FILL:
        return gl_k_fill(a, err);
    case GL_OP_RAND_UNIFORM:
    case GL_OP_RAND_NORMAL:
    case GL_OP_DROPOUT_MASK:
    case GL_OP_RAND_ONEHOT:
    case GL_OP_BERNOULLI:
        return gl_k_random(a, err);
    case GL_OP_ADD:
    case GL_OP_SUB:
    case GL_OP_MUL:
    case GL_OP_DIV:
        return gl_k_binary(a, err);
    case GL_OP_NEG:
    case GL_OP_SCALE:
    case GL_OP_EXP:
    case GL_OP_LOG:
    case GL_OP_SQRT:
    case GL_OP_SQUARE:
    case GL_OP_ABS:
    case GL_OP_RELU:
    case GL_OP_LEAKY_RELU:
    case GL_OP_TANH:
    case GL_OP_SIGMOID:
    case GL_OP_SOFTPLUS:
    case GL_OP_LOG_SIGMOID:
    case GL_OP_CLIP:
    case GL_OP_SIGN:
        return gl_k_unary(a, err);
    case GL_OP_RELU_MASK:
    case GL_OP_LEAKY_MASK:
    case GL_OP_CLIP_MASK:
    case GL_OP_TANH_GRAD:
    case GL_OP_SIGMOID_GRAD:
        return gl_k_grad_binary(a, err);
    case GL_OP_SUM_TO:
        return gl_k_sum_to(a, err);
    case GL_OP_BROADCAST_TO:
        return gl_k_broadcast_to(a, err);
    case GL_OP_LOGSUMEXP:
        return gl_k_logsumexp(a, err);
    case GL_OP_SUMSQ_ROWS:
        return gl_k_sumsq_rows(a, err);
    case GL_OP_MATMUL:
        return gl_k_matmul(a, err);
    case GL_OP_CONCAT:
        return gl_k_concat(a, err);
    case GL_OP_SLICE:
        return gl_k_slice(a, err);
    case GL_OP_SLICE_GRAD:
        return gl_k_slice_grad(a, err);
    case GL_OP_RESHAPE:
        return gl_k_reshape(a, err);
    case GL_OP_CONV2D:
    case GL_OP_CONV_TRANSPOSE2D:
    case GL_OP_CONV2D_WEIGHT_GRAD:
        return gl_k_conv(a, err);
    case GL_OP_MAX_POOL2D:
    case GL_OP_MAX_POOL2D_GRAD:
    case GL_OP_MAX_POOL2D_GATHER:
    case GL_OP_AVG_POOL2D:
    case GL_OP_AVG_POOL2D_GRAD:
        return gl_k_pool(a, err);
    case GL_OP_UPSAMPLE_NEAREST:
    case GL_OP_UPSAMPLE_NEAREST_GRAD:
        return gl_k_upsample(a, err);
    case GL_OP_BATCH_NORM:
    case GL_OP_BATCH_NORM_GRAD:
        return gl_k_batch_norm(a, err);
    case GL_OP_INSTANCE_NORM:
    case GL_OP_INSTANCE_NORM_BWD:
    case GL_OP_INSTANCE_RSTD:
    case GL_OP_INSTANCE_NORM_GRAD:
        return gl_k_instance_norm(a, err);
    case GL_OP_SIDE_OUTPUT:
        return gl_k_side_output(a, err);
    case GL_OP_ONE_HOT:
    case GL_OP_ARGMAX:
    case GL_OP_ARGMIN:
    case GL_OP_ROLL:
        return gl_k_label(a, err);
    case GL_OP_COUNT:
        break;
    }
    return gl_fail(err, GL_ERR_INTERNAL, "no kernel for op %d", (int)a->node->op);
}
