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

    /* linear algebra */
    GL_OP_MATMUL,       /* 2-D: op(a) @ op(b), op = transpose when i[0] (a) / i[1] (b) */

    /* layout */
    GL_OP_CONCAT,       /* along axis 1 of 2..4-D inputs (features / channels)     */
    GL_OP_SLICE,        /* along axis 1: [i[0], i[0] + node.d[1])                  */
    GL_OP_SLICE_GRAD,   /* place x into zeros of node shape at axis-1 offset i[0]  */
    GL_OP_RESHAPE,      /* same numel, new shape                                   */

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
    int64_t i[2];          /* op parameters (see gl_op)                          */
    int flags;             /* GL_NODE_*                                          */
    float *data;           /* PARAM: caller's buffer; CONST: owned copy;
                              others: unused (programs keep their own pointers) */
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
int gl_broadcast_to(gl_graph *g, int x, gl_shape shape);
int gl_logsumexp(gl_graph *g, int x);
int gl_matmul(gl_graph *g, int a, int b, int trans_a, int trans_b);
int gl_concat(gl_graph *g, int n, const int *xs);
int gl_slice(gl_graph *g, int x, int64_t start, int64_t len);
int gl_slice_grad(gl_graph *g, int x, gl_shape full, int64_t start);
int gl_reshape(gl_graph *g, int x, gl_shape shape);
/* A copy of x through which no gradient flows (first-order unrolling, targets). */
int gl_stop_gradient(gl_graph *g, int x);

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
