/* gl_graph.h - the step graph: nodes, builders and symbol-to-symbol autodiff.
 *
 * A graph is an append-only array of nodes; a node refers to its inputs by
 * index, so the array is always in topological order.  Builders append one
 * node, infer its shape and return its index, or -1 with g->err filled.  Any
 * builder given an input index < 0 returns -1 at once, so a chain of builder
 * calls can be checked once at the end (like NaN propagation).
 *
 * gl_grad() appends ordinary nodes that compute a gradient.  Every op that a
 * backward rule emits has a backward rule of its own, so a gradient can be
 * differentiated again (gradient penalties).  Ops that are genuinely
 * first-order only carry GL_OPF_FIRST_ORDER and refuse a second derivative
 * with GL_ERR_UNSUPPORTED. */
#ifndef GL_GRAPH_H
#define GL_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "gl_shape.h"
#include "gl_status.h"

#define GL_MAX_IN 8

typedef enum gl_op {
    /* leaves */
    GL_OP_INPUT,        /* fed at run time (pointer bound per run)                 */
    GL_OP_PARAM,        /* view into a parameter buffer: data fixed at build time  */
    GL_OP_FILL,         /* every element = f[0]                                    */
    GL_OP_CONST,        /* constant data copied into the graph (owned)             */
    GL_OP_RAND_UNIFORM, /* U(f[0], f[1]), fresh draw each run                      */
    GL_OP_RAND_NORMAL,  /* N(f[0], f[1]^2), fresh draw each run                    */
    GL_OP_DROPOUT_MASK, /* 0 with prob f[0], else 1/(1-f[0]); fresh each run       */
    GL_OP_RAND_ONEHOT,  /* 2-D (B, n): each row one-hot at a uniform index in [0,n) */

    /* binary elementwise with broadcasting: each dim of a, b equal or 1 in one
     * of them (shapes right-aligned as in NumPy); output has the larger shape */
    GL_OP_ADD, GL_OP_SUB, GL_OP_MUL, GL_OP_DIV,

    /* unary elementwise: out = f(x) */
    GL_OP_NEG,
    GL_OP_SCALE,        /* f[0] * x + f[1]                                         */
    GL_OP_EXP, GL_OP_LOG, GL_OP_SQRT, GL_OP_SQUARE, GL_OP_ABS,
    GL_OP_RELU,
    GL_OP_LEAKY_RELU,   /* x > 0 ? x : f[0] * x                                    */
    GL_OP_TANH, GL_OP_SIGMOID, GL_OP_SOFTPLUS, GL_OP_LOG_SIGMOID,
    GL_OP_CLIP,         /* min(max(x, f[0]), f[1])                                 */
    GL_OP_SIGN,         /* -1, 0, +1; zero derivative                              */

    /* gradient helpers (binary, same shapes): out = a * g(b).  b is treated as
     * constant except where a derivative in b exists (TANH_GRAD, SIGMOID_GRAD) */
    GL_OP_RELU_MASK,    /* a * (b > 0)                                             */
    GL_OP_LEAKY_MASK,   /* a * (b > 0 ? 1 : f[0])                                  */
    GL_OP_CLIP_MASK,    /* a * (f[0] < b < f[1])   (f[0] <= b <= f[1] as torch?) see .c */
    GL_OP_TANH_GRAD,    /* a * (1 - b*b),  b = tanh output                         */
    GL_OP_SIGMOID_GRAD, /* a * b * (1 - b), b = sigmoid output                     */

    /* reductions and broadcasts */
    GL_OP_SUM_TO,       /* sum x down to node shape (dims equal or 1, same ndim or
                           fewer, right-aligned) - backward is BROADCAST_TO        */
    GL_OP_BROADCAST_TO, /* repeat x up to node shape - backward is SUM_TO          */
    GL_OP_LOGSUMEXP,    /* 2-D (m, n) -> (m, 1), over each row, max-shifted        */
    GL_OP_SUMSQ_ROWS,   /* 2-D (m, n) -> (m, 1): sum of squares of each row (one
                           read of x; weight norms), backward 2 x G broadcast      */

    /* linear algebra */
    GL_OP_MATMUL,       /* 2-D: op(a) @ op(b), op = transpose when i[0] (a) / i[1] (b) */

    /* layout */
    GL_OP_CONCAT,       /* along axis 1 of 2..4-D inputs (features / channels)     */
    GL_OP_SLICE,        /* along axis 1: [i[0], i[0] + node.d[1])                  */
    GL_OP_SLICE_GRAD,   /* place x into zeros of node shape at axis-1 offset i[0]  */
    GL_OP_RESHAPE,      /* same numel, new shape                                   */

    /* convolutions, NCHW.  i[0] = stride, i[1] = padding (both dims).          */
    GL_OP_CONV2D,       /* x (N,C,H,W), w (O,C,kh,kw) -> (N,O,Ho,Wo)               */
    GL_OP_CONV_TRANSPOSE2D, /* x (N,C,H,W), w (C,O,kh,kw) -> (N,O,Ho,Wo);
                           Ho = (H-1)s - 2p + kh + i[2], Wo likewise with i[3]
                           (output padding per dim, < stride)                      */
    GL_OP_CONV2D_WEIGHT_GRAD, /* a (N,Ci,H,W), b (N,Co,Ho,Wo) -> (Co,Ci,kh,kw):
                           the weight gradient of CONV2D(a, .) with output adjoint
                           b; with roles swapped, that of CONV_TRANSPOSE2D          */

    /* pooling, NCHW: i[0] = kernel, i[1] = stride, i[2] = padding             */
    GL_OP_MAX_POOL2D,        /* x -> (N,C,Ho,Wo), padding never wins               */
    GL_OP_MAX_POOL2D_GRAD,   /* (x, gy) -> shape of x: gy routed to each window's
                                argmax (first on ties); linear in gy, zero
                                derivative in x                                    */
    GL_OP_MAX_POOL2D_GATHER, /* (x, a) -> shape of pool(x): a at each window's
                                argmax; the adjoint of MAX_POOL2D_GRAD in gy       */
    GL_OP_AVG_POOL2D,        /* x -> (N,C,Ho,Wo), divisor k*k (count_include_pad) */
    GL_OP_AVG_POOL2D_GRAD,   /* gy -> node shape: its adjoint                      */
    GL_OP_UPSAMPLE_NEAREST,      /* (N,C,H,W) -> (N,C,H*i[0],W*i[0])               */
    GL_OP_UPSAMPLE_NEAREST_GRAD, /* its adjoint: sum over each i[0] x i[0] block   */

    /* batch norm, training mode: statistics of the batch per channel over
     * (N,H,W) (4-D) or N (2-D).  (x, gamma (C,), beta (C,)); f[0] = eps,
     * f[1] = momentum; data / data2 = running mean / var (caller's buffers,
     * may be NULL) updated by each forward run as torch does.               */
    GL_OP_BATCH_NORM,
    GL_OP_BATCH_NORM_GRAD,   /* (x, gamma, gy), f[0] = eps: i[0] = 0 -> dx,
                                i[0] = 1 -> dgamma (C,), i[0] = 2 -> dx with
                                dgamma and dbeta as its 2C side outputs (one
                                pass for all three).  First-order only.          */

    /* instance norm: statistics of each (n, c) plane of a 4-D (N,C,H,W) x
     * over its H*W values; f[0] = eps.  The gradient of INSTANCE_NORM is one
     * pass, INSTANCE_NORM_BWD(gy, x), which recomputes the statistics from x
     * (so INSTANCE_NORM's output is read by nothing but its consumers, and a
     * following ReLU fuses into it).  That op's own gradient is taken through
     * its expansion INSTANCE_NORM_GRAD(gy, INSTANCE_NORM(x), INSTANCE_RSTD(x)),
     * whose rules are that op again plus plain compositions: any order.      */
    GL_OP_INSTANCE_NORM,      /* x -> (x - mean) / sqrt(var + eps), var biased   */
    GL_OP_INSTANCE_NORM_BWD,  /* (gy, x) -> dx of INSTANCE_NORM, f[0] = eps      */
    GL_OP_INSTANCE_RSTD,      /* x -> (N,C,1,1): 1 / sqrt(var + eps)             */
    GL_OP_INSTANCE_NORM_GRAD, /* (gy, y, r (N,C,1,1)) -> node shape:
                                 r (gy - mean(gy) - y mean(gy y)) per plane      */

    /* side outputs: a node may leave extra values after its own ones
     * (gl_side_floats); this op reads them back as a node of their own.     */
    GL_OP_SIDE_OUTPUT,       /* (x) -> node shape: x's side values [i[0], i[0] + numel) */

    /* labels and batch layout */
    GL_OP_ONE_HOT,      /* x (B,) or (B, 1) of class indices stored as floats ->
                           (B, i[0]): row r is 1 at column x[r], 0 elsewhere.  A
                           run fails (GL_ERR_VALUE, naming the row) on an index
                           that is not an integer in [0, i[0]) (NaN, 2.5, -1).
                           Zero derivative (the indices are discrete)              */
    GL_OP_ARGMAX,       /* 2-D (B, K) -> (B, K): one-hot rows marking each row's
                           max; ties -> first index; a NaN counts as the extreme
                           (the first NaN wins), as numpy.argmax                   */
    GL_OP_ARGMIN,       /* the same for each row's min.  Neither is
                           differentiable: gl_grad refuses (GL_ERR_UNSUPPORTED) a
                           gradient that has to pass into their input; gradients
                           that need not (input behind stop_gradient) are fine     */
    GL_OP_ROLL,         /* x rolled along axis i[1] by i[0] in [0, d[i[1]]):
                           y[.., (j + i[0]) mod n, ..] = x[.., j, ..] (torch.roll);
                           backward: roll by n - i[0]                              */

    /* random with an input */
    GL_OP_BERNOULLI,    /* p (any shape) -> same shape: 1 with probability p
                           (clamped to [0, 1]), else 0; a fresh draw each run from
                           the program RNG; NaN p gives NaN.  Not differentiable:
                           gl_grad refuses (GL_ERR_UNSUPPORTED) a gradient that
                           has to pass into p, as for ARGMAX                       */

    GL_OP_COUNT
} gl_op;

/* per-node flags */
enum {
    GL_NODE_NO_GRAD = 1,  /* no gradient flows through this node (constants) */
};

/* per-op flags (gl_op_flags) */
enum {
    GL_OPF_LEAF = 1,        /* no inputs                                    */
    GL_OPF_RANDOM = 2,      /* draws from the program RNG each run          */
    GL_OPF_NONDIFF = 4,     /* derivative is zero everywhere (sign, masks)  */
    GL_OPF_FIRST_ORDER = 8, /* its backward may not be differentiated again */
};

typedef struct gl_node {
    gl_op op;
    int nin;
    int in[GL_MAX_IN];
    gl_shape shape;
    float f[2];            /* op parameters (see gl_op)                          */
    int64_t i[4];          /* op parameters (see gl_op)                          */
    int flags;             /* GL_NODE_*                                          */
    float *data;           /* PARAM: caller's buffer; CONST: owned copy;
                              BATCH_NORM: running mean (caller's, or NULL);
                              others: unused (programs keep their own pointers) */
    float *data2;          /* BATCH_NORM: running var (caller's, or NULL)        */
} gl_node;

typedef struct gl_graph {
    gl_node *nodes;
    int n, cap;
    gl_error err;          /* first failure of a builder */
} gl_graph;

gl_status gl_graph_new(gl_graph **out, gl_error *err);
void gl_graph_free(gl_graph *g);

const char *gl_op_name(gl_op op);
int gl_op_flags(gl_op op);

/* ---- builders: return the new node's index, or -1 with g->err set ---- */
int gl_input(gl_graph *g, gl_shape shape);
int gl_param(gl_graph *g, gl_shape shape, float *data);
int gl_fill(gl_graph *g, gl_shape shape, float value);
int gl_const(gl_graph *g, gl_shape shape, const float *values);      /* copies */
int gl_random(gl_graph *g, gl_op op, gl_shape shape, float f0, float f1);

int gl_binary(gl_graph *g, gl_op op, int a, int b);                  /* ADD..DIV, *_MASK, *_GRAD */
int gl_binary_f(gl_graph *g, gl_op op, int a, int b, float f0, float f1); /* LEAKY_MASK, CLIP_MASK */
int gl_unary(gl_graph *g, gl_op op, int x, float f0, float f1);      /* NEG..SIGN */

int gl_sum_to(gl_graph *g, int x, gl_shape shape);
int gl_sumsq_rows(gl_graph *g, int x); /* 2-D (m, n) -> (m, 1) */
int gl_broadcast_to(gl_graph *g, int x, gl_shape shape);
int gl_logsumexp(gl_graph *g, int x);
int gl_matmul(gl_graph *g, int a, int b, int trans_a, int trans_b);
int gl_concat(gl_graph *g, int n, const int *xs);
int gl_slice(gl_graph *g, int x, int64_t start, int64_t len);
int gl_slice_grad(gl_graph *g, int x, gl_shape full, int64_t start);
int gl_reshape(gl_graph *g, int x, gl_shape shape);
/* A copy of x through which no gradient flows (first-order unrolling, targets). */
int gl_stop_gradient(gl_graph *g, int x);

/* convolutions and pooling (NCHW; see the ops for shapes) */
int gl_conv2d(gl_graph *g, int x, int w, int64_t stride, int64_t pad);
int gl_conv_transpose2d(gl_graph *g, int x, int w, int64_t stride, int64_t pad, int64_t out_pad_h,
                        int64_t out_pad_w);
int gl_conv2d_weight_grad(gl_graph *g, int a, int b, int64_t kh, int64_t kw, int64_t stride, int64_t pad);
int gl_max_pool2d(gl_graph *g, int x, int64_t k, int64_t stride, int64_t pad);
int gl_max_pool2d_grad(gl_graph *g, int x, int gy, int64_t k, int64_t stride, int64_t pad);
int gl_max_pool2d_gather(gl_graph *g, int x, int a, int64_t k, int64_t stride, int64_t pad);
int gl_avg_pool2d(gl_graph *g, int x, int64_t k, int64_t stride, int64_t pad);
int gl_avg_pool2d_grad(gl_graph *g, int gy, gl_shape xshape, int64_t k, int64_t stride, int64_t pad);
int gl_upsample_nearest(gl_graph *g, int x, int64_t scale);
int gl_upsample_nearest_grad(gl_graph *g, int x, int64_t scale);

/* Batch norm of x (N,C,H,W) or (N,C) with gamma, beta of shape (C,).
 * Training mode: batch statistics; running_mean/var (C floats each, caller's,
 * may be NULL) are updated by every run (running var from the unbiased batch
 * variance); its gradient is first-order only.  Eval mode (training = 0):
 * an ordinary composition normalising with the running statistics (which are
 * then required), differentiable to any order. */
int gl_batch_norm(gl_graph *g, int x, int gamma, int beta, float *running_mean, float *running_var,
                  float eps, float momentum, int training);
int gl_batch_norm_grad(gl_graph *g, int x, int gamma, int gy, float eps, int mode);
/* Instance norm of x (N,C,H,W) per (n, c) plane (GL_OP_INSTANCE_NORM and
 * its helpers); eps > 0.  Differentiable to any order. */
int gl_instance_norm(gl_graph *g, int x, float eps);
int gl_instance_norm_bwd(gl_graph *g, int gy, int x, float eps);
int gl_instance_rstd(gl_graph *g, int x, float eps);
int gl_instance_norm_grad(gl_graph *g, int gy, int y, int r);
/* Floats a node leaves after its values for GL_OP_SIDE_OUTPUT readers (0 for most ops). */
int64_t gl_side_floats(const gl_node *nd);
int gl_side_output(gl_graph *g, int x, int64_t offset, gl_shape shape);

/* labels and batch layout (see the ops).  num_classes in [1, 2^24] (every
 * index is then exact as a float); shift is any integer (normalised modulo
 * the axis length), axis in [-ndim, ndim). */
int gl_one_hot(gl_graph *g, int x, int64_t num_classes);
int gl_argmax_onehot(gl_graph *g, int x);
int gl_argmin_onehot(gl_graph *g, int x);
int gl_roll(gl_graph *g, int x, int64_t shift, int axis);
/* Bernoulli(p) samples of a node of probabilities (GL_OP_BERNOULLI). */
int gl_bernoulli(gl_graph *g, int p);

/* convenience compositions (append several nodes) */
int gl_add(gl_graph *g, int a, int b);
int gl_sub(gl_graph *g, int a, int b);
int gl_mul(gl_graph *g, int a, int b);
int gl_div(gl_graph *g, int a, int b);
int gl_scale(gl_graph *g, int x, float s);
int gl_sum_all(gl_graph *g, int x);   /* -> shape () */
int gl_mean_all(gl_graph *g, int x);  /* -> shape () */

/* ---- autodiff ----
 * Appends nodes computing d(sum of y)/d(wrt[k]) for each k into out[k].
 * seed >= 0 gives the adjoint of y explicitly (same shape as y).
 * A wrt node that y does not depend on gets a zero FILL node. */
gl_status gl_grad(gl_graph *g, int y, int seed, int nwrt, const int *wrt, int *out);

#endif
