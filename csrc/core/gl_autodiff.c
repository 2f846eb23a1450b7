/* gl_autodiff.c - reverse-mode autodiff that appends graph nodes.
 *
 * gl_grad walks the graph from y back towards the wrt nodes.  For each node
 * on a path between them, the op's backward rule appends nodes that compute
 * the adjoint of each input; adjoints of a node read by several consumers are
 * summed with ADD nodes.  Every node a rule appends is an ordinary op with a
 * backward rule of its own, so the result can be differentiated again.
 *
 * Rules receive a copy of the node: builders may grow (move) g->nodes. */
#include "gl_graph.h"

#include <string.h>

#define BAD (-1)

typedef struct {
    gl_node n;      /* copy of the node being differentiated    */
    int self;       /* its index (its output value)              */
    int adj;        /* adjoint of its output                     */
    const char *need;   /* need[input index] - gradient wanted   */
    int *contrib;   /* out: adjoint contribution per input slot  */
} gl_bw;

static const gl_shape *shp(const gl_graph *g, int id) { return &g->nodes[id].shape; }

/* Reduce a broadcast adjoint back to the shape of input x. */
static int unbroadcast(gl_graph *g, int adj, int x) {
    if (adj < 0 || gl_shape_eq(shp(g, adj), shp(g, x))) return adj;
    return gl_sum_to(g, adj, *shp(g, x));
}

static int wants(const gl_bw *b, int k) { return b->need[b->n.in[k]]; }

/* partials: the wrt nodes are taken as independent variables (nothing flows past them into their own
 * inputs), as a rule that differentiates an op's expansion needs when one of the op's inputs depends
 * on another (an upstream gradient that depends on x, at third order) */
static gl_status grad_impl(gl_graph *g, int y, int seed, int nwrt, const int *wrt, int *out, int partials);

static gl_status backward(gl_graph *g, gl_bw *b) {
    const gl_node *n = &b->n;
    const int G = b->adj, y = b->self;
    const int x = n->in[0], a = n->in[0], bb = n->nin > 1 ? n->in[1] : -1;
    int *c = b->contrib;

    switch (n->op) {
    case GL_OP_ADD:
        if (wants(b, 0)) c[0] = unbroadcast(g, G, a);
        if (wants(b, 1)) c[1] = unbroadcast(g, G, bb);
        break;
    case GL_OP_SUB:
        if (wants(b, 0)) c[0] = unbroadcast(g, G, a);
        if (wants(b, 1)) c[1] = unbroadcast(g, gl_unary(g, GL_OP_NEG, G, 0, 0), bb);
        break;
    case GL_OP_MUL:
        if (wants(b, 0)) c[0] = unbroadcast(g, gl_mul(g, G, bb), a);
        if (wants(b, 1)) c[1] = unbroadcast(g, gl_mul(g, G, a), bb);
        break;
    case GL_OP_DIV: /* y = a / b: da = G / b, db = -G * y / b */
        if (wants(b, 0)) c[0] = unbroadcast(g, gl_div(g, G, bb), a);
        if (wants(b, 1))
            c[1] = unbroadcast(g, gl_unary(g, GL_OP_NEG, gl_div(g, gl_mul(g, G, y), bb), 0, 0), bb);
        break;

    case GL_OP_NEG: c[0] = gl_unary(g, GL_OP_NEG, G, 0, 0); break;
    case GL_OP_SCALE: c[0] = gl_scale(g, G, n->f[0]); break;
    case GL_OP_EXP: c[0] = gl_mul(g, G, y); break;
    case GL_OP_LOG: c[0] = gl_div(g, G, x); break;
    case GL_OP_SQRT: c[0] = gl_div(g, gl_scale(g, G, 0.5f), y); break;
    case GL_OP_SQUARE: c[0] = gl_mul(g, G, gl_scale(g, x, 2.0f)); break;
    case GL_OP_ABS: c[0] = gl_mul(g, G, gl_unary(g, GL_OP_SIGN, x, 0, 0)); break;
    /* the masks read the output, positive exactly where x is (for a slope >= 0):
     * then nothing but the activation reads x, and a program may fuse the
     * activation into x's kernel (gl_program.c) */
    case GL_OP_RELU: c[0] = gl_binary(g, GL_OP_RELU_MASK, G, y); break;
    case GL_OP_LEAKY_RELU: c[0] = gl_binary_f(g, GL_OP_LEAKY_MASK, G, n->f[0] >= 0.0f ? y : x, n->f[0], 0); break;
    case GL_OP_TANH: c[0] = gl_binary(g, GL_OP_TANH_GRAD, G, y); break;
    case GL_OP_SIGMOID: c[0] = gl_binary(g, GL_OP_SIGMOID_GRAD, G, y); break;
    case GL_OP_SOFTPLUS: c[0] = gl_mul(g, G, gl_unary(g, GL_OP_SIGMOID, x, 0, 0)); break;
    case GL_OP_LOG_SIGMOID: /* d/dx log sigmoid(x) = sigmoid(-x) */
        c[0] = gl_mul(g, G, gl_unary(g, GL_OP_SIGMOID, gl_unary(g, GL_OP_NEG, x, 0, 0), 0, 0));
        break;
    case GL_OP_CLIP: c[0] = gl_binary_f(g, GL_OP_CLIP_MASK, G, x, n->f[0], n->f[1]); break;

    /* a * mask(b): linear in a; the mask is piecewise constant in b */
    case GL_OP_RELU_MASK:
        if (wants(b, 0)) c[0] = gl_binary(g, GL_OP_RELU_MASK, G, bb);
        break;
    case GL_OP_LEAKY_MASK:
    case GL_OP_CLIP_MASK:
        if (wants(b, 0)) c[0] = gl_binary_f(g, n->op, G, bb, n->f[0], n->f[1]);
        break;
    case GL_OP_TANH_GRAD: /* a * (1 - b^2): d/db = -2 a b */
        if (wants(b, 0)) c[0] = gl_binary(g, GL_OP_TANH_GRAD, G, bb);
        if (wants(b, 1)) c[1] = gl_mul(g, gl_mul(g, G, a), gl_scale(g, bb, -2.0f));
        break;
    case GL_OP_SIGMOID_GRAD: /* a * b (1 - b): d/db = a (1 - 2b) */
        if (wants(b, 0)) c[0] = gl_binary(g, GL_OP_SIGMOID_GRAD, G, bb);
        if (wants(b, 1)) c[1] = gl_mul(g, gl_mul(g, G, a), gl_unary(g, GL_OP_SCALE, bb, -2.0f, 1.0f));
        break;

    case GL_OP_SUM_TO: c[0] = gl_broadcast_to(g, G, *shp(g, x)); break;
    case GL_OP_BROADCAST_TO: c[0] = gl_sum_to(g, G, *shp(g, x)); break;
    case GL_OP_LOGSUMEXP: /* softmax(x) * G, G broadcast over the row */
        c[0] = gl_mul(g, gl_unary(g, GL_OP_EXP, gl_sub(g, x, y), 0, 0), G);
        break;

    case GL_OP_SUMSQ_ROWS: c[0] = gl_mul(g, x, gl_scale(g, G, 2.0f)); break; /* G (m, 1) broadcast */

    case GL_OP_MATMUL: {
        /* C = op(A) op(B); d op(A) = G op(B)^T, d op(B) = op(A)^T G */
        const int ta = (int)n->i[0], tb = (int)n->i[1];
        if (wants(b, 0)) c[0] = ta ? gl_matmul(g, bb, G, tb, 1) : gl_matmul(g, G, bb, 0, !tb);
        if (wants(b, 1)) c[1] = tb ? gl_matmul(g, G, a, 1, ta) : gl_matmul(g, a, G, !ta, 0);
        break;
    }

    case GL_OP_CONCAT: {
        int64_t off = 0;
        for (int k = 0; k < n->nin; k++) {
            int64_t len = shp(g, n->in[k])->d[1];
            if (wants(b, k)) c[k] = gl_slice(g, G, off, len);
            off += len;
        }
        break;
    }
    case GL_OP_SLICE: c[0] = gl_slice_grad(g, G, *shp(g, x), n->i[0]); break;
    case GL_OP_SLICE_GRAD: c[0] = gl_slice(g, G, n->i[0], shp(g, x)->d[1]); break;
    case GL_OP_RESHAPE: c[0] = gl_reshape(g, G, *shp(g, x)); break;

    /* conv2d <-> conv_transpose2d <-> conv2d_weight_grad: each the adjoint of
     * another in one argument, so the set is closed (gradient penalties). */
    case GL_OP_CONV2D: {
        const gl_shape *sx = shp(g, x), *sw = shp(g, bb);
        const int64_t s = n->i[0], p = n->i[1];
        /* output padding brings the transposed conv back to exactly H x W */
        if (wants(b, 0))
            c[0] = gl_conv_transpose2d(g, G, bb, s, p, (sx->d[2] + 2 * p - sw->d[2]) % s,
                                       (sx->d[3] + 2 * p - sw->d[3]) % s);
        if (wants(b, 1)) c[1] = gl_conv2d_weight_grad(g, x, G, sw->d[2], sw->d[3], s, p);
        break;
    }
    case GL_OP_CONV_TRANSPOSE2D: {
        const gl_shape *sw = shp(g, bb);
        if (wants(b, 0)) c[0] = gl_conv2d(g, G, bb, n->i[0], n->i[1]);
        if (wants(b, 1)) c[1] = gl_conv2d_weight_grad(g, G, x, sw->d[2], sw->d[3], n->i[0], n->i[1]);
        break;
    }
    case GL_OP_CONV2D_WEIGHT_GRAD: { /* bilinear in (a, b); G has the kernel's shape */
        const gl_shape *sa = shp(g, a), *sk = &n->shape;
        const int64_t s = n->i[0], p = n->i[1];
        if (wants(b, 0))
            c[0] = gl_conv_transpose2d(g, bb, G, s, p, (sa->d[2] + 2 * p - sk->d[2]) % s,
                                       (sa->d[3] + 2 * p - sk->d[3]) % s);
        if (wants(b, 1)) c[1] = gl_conv2d(g, a, G, s, p);
        break;
    }

    /* pooling: argmax routing is piecewise constant in x, linear in the rest */
    case GL_OP_MAX_POOL2D: c[0] = gl_max_pool2d_grad(g, x, G, n->i[0], n->i[1], n->i[2]); break;
    case GL_OP_MAX_POOL2D_GRAD:
        if (wants(b, 1)) c[1] = gl_max_pool2d_gather(g, x, G, n->i[0], n->i[1], n->i[2]);
        break;
    case GL_OP_MAX_POOL2D_GATHER:
        if (wants(b, 1)) c[1] = gl_max_pool2d_grad(g, x, G, n->i[0], n->i[1], n->i[2]);
        break;
    case GL_OP_AVG_POOL2D: c[0] = gl_avg_pool2d_grad(g, G, *shp(g, x), n->i[0], n->i[1], n->i[2]); break;
    case GL_OP_AVG_POOL2D_GRAD: c[0] = gl_avg_pool2d(g, G, n->i[0], n->i[1], n->i[2]); break;
    case GL_OP_UPSAMPLE_NEAREST: c[0] = gl_upsample_nearest_grad(g, G, n->i[0]); break;
    case GL_OP_UPSAMPLE_NEAREST_GRAD: c[0] = gl_upsample_nearest(g, G, n->i[0]); break;

    case GL_OP_BATCH_NORM: {
        const gl_shape *sx = shp(g, x);
        if (wants(b, 0)) {
            /* one pass gives dx and, as side outputs, dgamma and dbeta */
            c[0] = gl_batch_norm_grad(g, x, bb, G, n->f[0], 2);
            if (wants(b, 1)) c[1] = gl_side_output(g, c[0], 0, gl_shape1(sx->d[1]));
            if (wants(b, 2)) c[2] = gl_side_output(g, c[0], sx->d[1], gl_shape1(sx->d[1]));
            break;
        }
        if (wants(b, 1)) c[1] = gl_batch_norm_grad(g, x, bb, G, n->f[0], 1);
        if (wants(b, 2)) {
            int64_t d[4] = {1, sx->d[1], 1, 1};
            c[2] = gl_reshape(g, gl_sum_to(g, G, gl_shape_make(sx->ndim, d)), gl_shape1(sx->d[1]));
        }
        break;
    }
    /* instance norm (gl_graph.h): y = (x - m) r per plane, S = H*W values */
    case GL_OP_INSTANCE_NORM: c[0] = gl_instance_norm_bwd(g, G, x, n->f[0]); break;
    case GL_OP_INSTANCE_NORM_BWD: { /* through its expansion, differentiated on its own with G as the seed */
        const int gy = n->in[0], xx = n->in[1];
        const int e = gl_instance_norm_grad(g, gy, gl_instance_norm(g, xx, n->f[0]), gl_instance_rstd(g, xx, n->f[0]));
        int wrt[2] = {gy, xx}, out[2] = {BAD, BAD};
        const int same = gy == xx; /* one variable: its whole derivative once, nothing for the second slot */
        if (e < 0 || grad_impl(g, e, G, same ? 1 : 2, wrt, out, 1) != GL_OK) break;
        if (wants(b, 0)) c[0] = out[0];
        if (wants(b, 1)) c[1] = same ? gl_fill(g, *shp(g, xx), 0.0f) : out[1];
        break;
    }
    case GL_OP_INSTANCE_RSTD: { /* r = (var + eps)^(-1/2): dr/dx_i = -r^3 (x_i - m) / S */
        const gl_shape *sx = shp(g, x);
        const float S = (float)(sx->d[2] * sx->d[3]);
        const int m = gl_scale(g, gl_sum_to(g, x, *shp(g, y)), 1.0f / S);
        const int coef = gl_scale(g, gl_mul(g, G, gl_mul(g, y, gl_mul(g, y, y))), -1.0f / S);
        c[0] = gl_mul(g, gl_sub(g, x, m), coef);
        break;
    }
    case GL_OP_INSTANCE_NORM_GRAD: {
        /* dx = r (gy - mean(gy) - y mean(gy y)): linear in gy with a self-adjoint map (the same op);
         * d/dy_j = -r (G_j mean(gy y) + gy_j mean(G y)); d/dr = sum(G dx) / r */
        const int gy = n->in[0], yy = n->in[1], r = n->in[2];
        const gl_shape *sr = shp(g, r);
        const float S = (float)(shp(g, gy)->d[2] * shp(g, gy)->d[3]);
        if (wants(b, 0)) c[0] = gl_instance_norm_grad(g, G, yy, r);
        if (wants(b, 1)) {
            const int m_gy = gl_scale(g, gl_sum_to(g, gl_mul(g, gy, yy), *sr), 1.0f / S);
            const int m_Gy = gl_scale(g, gl_sum_to(g, gl_mul(g, G, yy), *sr), 1.0f / S);
            c[1] = gl_mul(g, gl_add(g, gl_mul(g, G, m_gy), gl_mul(g, gy, m_Gy)), gl_unary(g, GL_OP_NEG, r, 0, 0));
        }
        if (wants(b, 2)) c[2] = gl_div(g, gl_sum_to(g, gl_mul(g, G, y), *sr), r);
        break;
    }

    case GL_OP_BATCH_NORM_GRAD:
    case GL_OP_SIDE_OUTPUT: /* only batch_norm_grad leaves side outputs */
        return gl_fail(&g->err, GL_ERR_UNSUPPORTED,
                       "batch_norm (training mode) is first-order only: its gradient cannot be differentiated "
                       "again (a gradient penalty through a training-mode batch norm is not supported; use "
                       "eval mode or no batch norm in the critic)");

    /* one_hot has zero derivative (GL_OPF_NONDIFF): gl_grad never calls this
     * for it.  argmax / argmin are piecewise constant too, but a gradient that
     * has to pass into their input is refused rather than silently zero: it is
     * almost always a missing stop_gradient (a VQ-VAE's straight-through
     * estimator, say).  A gradient with respect to their output is fine. */
    case GL_OP_ARGMAX:
    case GL_OP_ARGMIN:
        if (wants(b, 0))
            return gl_fail(&g->err, GL_ERR_UNSUPPORTED,
                           "%s is not differentiable: wrap its input in ops.stop_gradient (e.g. a VQ-VAE codebook "
                           "look-up uses argmin(stop_gradient(distances)))", gl_op_name(n->op));
        break;
    case GL_OP_BERNOULLI: /* a 0/1 sample: refused like argmax, for the same reason */
        if (wants(b, 0))
            return gl_fail(&g->err, GL_ERR_UNSUPPORTED,
                           "bernoulli is not differentiable (each sample is 0 or 1): wrap its input in "
                           "ops.stop_gradient (e.g. bernoulli(stop_gradient(sigmoid(logits))) samples from a "
                           "model's output)");
        break;
    case GL_OP_ROLL: /* the adjoint of a roll is the roll back */
        c[0] = gl_roll(g, G, shp(g, x)->d[n->i[1]] - n->i[0], (int)n->i[1]);
        break;

    default:
        return gl_fail(&g->err, GL_ERR_UNSUPPORTED,
                       "op '%s' has no derivative rule (it is first-order only); it cannot lie on the path "
                       "of a gradient that is differentiated", gl_op_name(n->op));
    }
    for (int k = 0; k < n->nin; k++)
        if (wants(b, k) && c[k] < 0 && !(gl_op_flags(n->op) & GL_OPF_NONDIFF) &&
            !(n->op >= GL_OP_RELU_MASK && n->op <= GL_OP_CLIP_MASK && k == 1) &&
            !((n->op == GL_OP_MAX_POOL2D_GRAD || n->op == GL_OP_MAX_POOL2D_GATHER) && k == 0))
            return g->err.code ? g->err.code
                               : gl_fail(&g->err, GL_ERR_INTERNAL, "backward of '%s' produced no gradient", gl_op_name(n->op));
    return g->err.code;
}

gl_status gl_grad(gl_graph *g, int y, int seed, int nwrt, const int *wrt, int *out) {
    return grad_impl(g, y, seed, nwrt, wrt, out, 0);
}

static gl_status grad_impl(gl_graph *g, int y, int seed, int nwrt, const int *wrt, int *out, int partials) {
    const int n0 = g->n;
    if (y < 0 || y >= n0) return gl_fail(&g->err, GL_ERR_VALUE, "gl_grad: output node %d does not exist", y);
    if (nwrt < 0 || (nwrt > 0 && (!wrt || !out))) return gl_fail(&g->err, GL_ERR_VALUE, "gl_grad: bad wrt list");
    for (int k = 0; k < nwrt; k++)
        if (wrt[k] < 0 || wrt[k] >= n0)
            return gl_fail(&g->err, GL_ERR_VALUE, "gl_grad: wrt node %d does not exist", wrt[k]);
    if (seed >= n0 || (seed >= 0 && !gl_shape_eq(shp(g, seed), shp(g, y))))
        return gl_fail(&g->err, GL_ERR_VALUE, "gl_grad: the seed must be a node with the shape of y");

    char *need = gl_calloc((size_t)n0, 1);   /* node depends on a wrt node */
    int *adj = gl_malloc((size_t)n0 * sizeof *adj);
    if (!need || !adj) { gl_free(need); gl_free(adj); return gl_fail(&g->err, GL_ERR_NOMEM, "gl_grad: out of memory"); }

    for (int k = 0; k < nwrt; k++) need[wrt[k]] = 2; /* 2: a wrt node */
    for (int i = 0; i < n0; i++) {
        adj[i] = BAD;
        const gl_node *nd = &g->nodes[i];
        if (need[i] || (gl_op_flags(nd->op) & GL_OPF_NONDIFF) || (nd->flags & GL_NODE_NO_GRAD)) continue;
        for (int k = 0; k < nd->nin; k++) if (need[nd->in[k]]) { need[i] = 1; break; }
    }

    gl_status st = GL_OK;
    if (need[y]) adj[y] = seed >= 0 ? seed : gl_fill(g, *shp(g, y), 1.0f);
    for (int i = y; i >= 0 && st == GL_OK; i--) {
        /* a zero-derivative op reaches here only as a wrt node itself: its
         * inputs get nothing from it */
        if (adj[i] < 0 || !need[i] || (gl_op_flags(g->nodes[i].op) & (GL_OPF_LEAF | GL_OPF_NONDIFF))) continue;
        if (partials && need[i] == 2) continue;
        int contrib[GL_MAX_IN];
        for (int k = 0; k < GL_MAX_IN; k++) contrib[k] = BAD;
        gl_bw b = {g->nodes[i], i, adj[i], need, contrib};
        st = backward(g, &b);
        for (int k = 0; st == GL_OK && k < b.n.nin; k++) {
            int in = b.n.in[k];
            if (contrib[k] < 0) continue;
            adj[in] = adj[in] < 0 ? contrib[k] : gl_add(g, adj[in], contrib[k]);
            if (adj[in] < 0) st = g->err.code ? g->err.code : GL_ERR_INTERNAL;
        }
    }
    for (int k = 0; st == GL_OK && k < nwrt; k++) {
        out[k] = adj[wrt[k]] >= 0 ? adj[wrt[k]] : gl_fill(g, *shp(g, wrt[k]), 0.0f);
        if (out[k] < 0) st = g->err.code;
    }
    gl_free(need);
    gl_free(adj);
    return st;
}
