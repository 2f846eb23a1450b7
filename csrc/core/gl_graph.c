/* gl_graph.c - graph storage, the op table, and builders with shape inference.
 *
 * Builders validate everything a user can get wrong (shapes, indices, op
 * kinds) and report it through g->err; they never abort. */
#include "gl_graph.h"

#include <stdarg.h>
#include <stdio.h>
#include <math.h>
#include <string.h>

typedef struct { const char *name; int flags; } gl_op_info;

static const gl_op_info OPS[GL_OP_COUNT] = {
    [GL_OP_INPUT] = {"input", GL_OPF_LEAF},
    [GL_OP_PARAM] = {"param", GL_OPF_LEAF},
    [GL_OP_FILL] = {"fill", GL_OPF_LEAF},
    [GL_OP_CONST] = {"const", GL_OPF_LEAF},
    [GL_OP_RAND_UNIFORM] = {"rand_uniform", GL_OPF_LEAF | GL_OPF_RANDOM},
    [GL_OP_RAND_NORMAL] = {"rand_normal", GL_OPF_LEAF | GL_OPF_RANDOM},
    [GL_OP_DROPOUT_MASK] = {"dropout_mask", GL_OPF_LEAF | GL_OPF_RANDOM},
    [GL_OP_RAND_ONEHOT] = {"rand_onehot", GL_OPF_LEAF | GL_OPF_RANDOM},
    [GL_OP_ADD] = {"add", 0}, [GL_OP_SUB] = {"sub", 0},
    [GL_OP_MUL] = {"mul", 0}, [GL_OP_DIV] = {"div", 0},
    [GL_OP_NEG] = {"neg", 0}, [GL_OP_SCALE] = {"scale", 0},
    [GL_OP_EXP] = {"exp", 0}, [GL_OP_LOG] = {"log", 0},
    [GL_OP_SQRT] = {"sqrt", 0}, [GL_OP_SQUARE] = {"square", 0},
    [GL_OP_ABS] = {"abs", 0}, [GL_OP_RELU] = {"relu", 0},
    [GL_OP_LEAKY_RELU] = {"leaky_relu", 0}, [GL_OP_TANH] = {"tanh", 0},
    [GL_OP_SIGMOID] = {"sigmoid", 0}, [GL_OP_SOFTPLUS] = {"softplus", 0},
    [GL_OP_LOG_SIGMOID] = {"log_sigmoid", 0}, [GL_OP_CLIP] = {"clip", 0},
    [GL_OP_SIGN] = {"sign", GL_OPF_NONDIFF},
    [GL_OP_RELU_MASK] = {"relu_mask", 0}, [GL_OP_LEAKY_MASK] = {"leaky_mask", 0},
    [GL_OP_CLIP_MASK] = {"clip_mask", 0}, [GL_OP_TANH_GRAD] = {"tanh_grad", 0},
    [GL_OP_SIGMOID_GRAD] = {"sigmoid_grad", 0},
    [GL_OP_SUM_TO] = {"sum_to", 0}, [GL_OP_BROADCAST_TO] = {"broadcast_to", 0},
    [GL_OP_LOGSUMEXP] = {"logsumexp", 0}, [GL_OP_SUMSQ_ROWS] = {"sumsq_rows", 0}, [GL_OP_MATMUL] = {"matmul", 0},
    [GL_OP_CONCAT] = {"concat", 0}, [GL_OP_SLICE] = {"slice", 0},
    [GL_OP_SLICE_GRAD] = {"slice_grad", 0}, [GL_OP_RESHAPE] = {"reshape", 0},
    [GL_OP_CONV2D] = {"conv2d", 0}, [GL_OP_CONV_TRANSPOSE2D] = {"conv_transpose2d", 0},
    [GL_OP_CONV2D_WEIGHT_GRAD] = {"conv2d_weight_grad", 0},
    [GL_OP_MAX_POOL2D] = {"max_pool2d", 0}, [GL_OP_MAX_POOL2D_GRAD] = {"max_pool2d_grad", 0},
    [GL_OP_MAX_POOL2D_GATHER] = {"max_pool2d_gather", 0},
    [GL_OP_AVG_POOL2D] = {"avg_pool2d", 0}, [GL_OP_AVG_POOL2D_GRAD] = {"avg_pool2d_grad", 0},
    [GL_OP_UPSAMPLE_NEAREST] = {"upsample_nearest", 0},
    [GL_OP_UPSAMPLE_NEAREST_GRAD] = {"upsample_nearest_grad", 0},
    [GL_OP_BATCH_NORM] = {"batch_norm", 0},
    [GL_OP_BATCH_NORM_GRAD] = {"batch_norm_grad", GL_OPF_FIRST_ORDER},
    [GL_OP_INSTANCE_NORM] = {"instance_norm", 0}, [GL_OP_INSTANCE_NORM_BWD] = {"instance_norm_bwd", 0},
    [GL_OP_INSTANCE_RSTD] = {"instance_rstd", 0},
    [GL_OP_INSTANCE_NORM_GRAD] = {"instance_norm_grad", 0},
    [GL_OP_SIDE_OUTPUT] = {"side_output", GL_OPF_FIRST_ORDER},
    [GL_OP_ONE_HOT] = {"one_hot", GL_OPF_NONDIFF},
    [GL_OP_ARGMAX] = {"argmax", 0}, [GL_OP_ARGMIN] = {"argmin", 0}, /* gl_grad refuses through them */
    [GL_OP_ROLL] = {"roll", 0},
    [GL_OP_BERNOULLI] = {"bernoulli", GL_OPF_RANDOM}, /* gl_grad refuses through it */
};

const char *gl_op_name(gl_op op) {
    return ((unsigned)op < GL_OP_COUNT && OPS[op].name) ? OPS[op].name : "?";
}
int gl_op_flags(gl_op op) { return (unsigned)op < GL_OP_COUNT ? OPS[op].flags : 0; }

gl_status gl_graph_new(gl_graph **out, gl_error *err) {
    gl_graph *g = gl_calloc(1, sizeof *g);
    if (!g) return gl_fail(err, GL_ERR_NOMEM, "out of memory creating a graph");
    g->cap = 64;
    g->nodes = gl_malloc((size_t)g->cap * sizeof *g->nodes);
    if (!g->nodes) { gl_free(g); return gl_fail(err, GL_ERR_NOMEM, "out of memory creating a graph"); }
    *out = g;
    return GL_OK;
}

void gl_graph_free(gl_graph *g) {
    if (!g) return;
    for (int i = 0; i < g->n; i++)
        if (g->nodes[i].op == GL_OP_CONST) gl_free(g->nodes[i].data);
    gl_free(g->nodes);
    gl_free(g);
}

/* ---- internal helpers ---- */

/* Record a failure (keeping the first: later ones are usually its consequences). */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int fail(gl_graph *g, gl_status code, const char *fmt, ...) {
    if (g->err.code == GL_OK) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(g->err.msg, sizeof g->err.msg, fmt, ap);
        va_end(ap);
        g->err.code = code;
    }
    return -1;
}

static int check_id(gl_graph *g, int id) {
    if (id < 0) { fail(g, GL_ERR_VALUE, "invalid input node (an earlier builder failed)"); return 0; }
    if (id >= g->n) { fail(g, GL_ERR_VALUE, "node %d does not exist (graph has %d nodes)", id, g->n); return 0; }
    return 1;
}

static int check_shape(gl_graph *g, gl_shape s) {
    if (s.ndim < 0 || s.ndim > GL_MAX_DIMS) {
        fail(g, GL_ERR_VALUE, "tensors have 0 to %d dimensions, got %d", GL_MAX_DIMS, s.ndim);
        return 0;
    }
    for (int i = 0; i < s.ndim; i++)
        if (s.d[i] < 0) { fail(g, GL_ERR_VALUE, "negative dimension %lld", (long long)s.d[i]); return 0; }
    return 1;
}

static gl_shape canon(gl_shape s) { /* entries past ndim are 1 */
    for (int i = s.ndim; i < GL_MAX_DIMS; i++) s.d[i] = 1;
    return s;
}

static int push(gl_graph *g, gl_op op, int nin, const int *in, gl_shape shape) {
    for (int k = 0; k < nin; k++) if (!check_id(g, in[k])) return -1;
    if (!check_shape(g, shape)) return -1;
    if (g->n == g->cap) {
        int cap = g->cap * 2;
        gl_node *nodes = gl_realloc(g->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes) return fail(g, GL_ERR_NOMEM, "out of memory growing the graph");
        g->nodes = nodes;
        g->cap = cap;
    }
    gl_node *n = &g->nodes[g->n];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->nin = nin;
    for (int k = 0; k < nin; k++) n->in[k] = in[k];
    n->shape = canon(shape);
    /* random leaves are constants to gl_grad; BERNOULLI (random with an input)
     * is not: a gradient that has to pass into its input is refused */
    if ((gl_op_flags(op) & (GL_OPF_RANDOM | GL_OPF_LEAF)) == (GL_OPF_RANDOM | GL_OPF_LEAF))
        n->flags |= GL_NODE_NO_GRAD;
    if (op == GL_OP_FILL || op == GL_OP_CONST) n->flags |= GL_NODE_NO_GRAD;
    return g->n++;
}

static const gl_shape *shape_of(const gl_graph *g, int id) { return &g->nodes[id].shape; }

/* NumPy broadcasting of two shapes (right-aligned); 0 on mismatch. */
static int broadcast_shape(const gl_shape *a, const gl_shape *b, gl_shape *out) {
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    gl_shape s = gl_shape0();
    s.ndim = nd;
    for (int k = 0; k < nd; k++) {
        int ka = k - (nd - a->ndim), kb = k - (nd - b->ndim);
        int64_t da = ka >= 0 ? a->d[ka] : 1, db = kb >= 0 ? b->d[kb] : 1;
        if (da == db || db == 1) s.d[k] = da;
        else if (da == 1) s.d[k] = db;
        else return 0;
    }
    *out = canon(s);
    return 1;
}

static int shape_error(gl_graph *g, const char *what, const gl_shape *a, const gl_shape *b) {
    char sa[64], sb[64];
    gl_shape_str(a, sa, sizeof sa);
    gl_shape_str(b, sb, sizeof sb);
    return fail(g, GL_ERR_VALUE, "%s: incompatible shapes %s and %s", what, sa, sb);
}

/* ---- leaves ---- */

int gl_input(gl_graph *g, gl_shape shape) { return push(g, GL_OP_INPUT, 0, NULL, shape); }

int gl_param(gl_graph *g, gl_shape shape, float *data) {
    if (!data) return fail(g, GL_ERR_VALUE, "parameter node needs a data buffer");
    int id = push(g, GL_OP_PARAM, 0, NULL, shape);
    if (id >= 0) g->nodes[id].data = data;
    return id;
}

int gl_fill(gl_graph *g, gl_shape shape, float value) {
    int id = push(g, GL_OP_FILL, 0, NULL, shape);
    if (id >= 0) g->nodes[id].f[0] = value;
    return id;
}

int gl_const(gl_graph *g, gl_shape shape, const float *values) {
    if (!check_shape(g, shape)) return -1;
    size_t bytes = (size_t)gl_shape_numel(&shape) * sizeof(float);
    float *copy = gl_malloc(bytes);
    if (!copy) return fail(g, GL_ERR_NOMEM, "out of memory for a constant");
    if (bytes) memcpy(copy, values, bytes);
    int id = push(g, GL_OP_CONST, 0, NULL, shape);
    if (id < 0) { gl_free(copy); return -1; }
    g->nodes[id].data = copy;
    return id;
}

int gl_random(gl_graph *g, gl_op op, gl_shape shape, float f0, float f1) {
    if ((gl_op_flags(op) & (GL_OPF_RANDOM | GL_OPF_LEAF)) != (GL_OPF_RANDOM | GL_OPF_LEAF))
        return fail(g, GL_ERR_VALUE, "gl_random: '%s' is not a random op without inputs", gl_op_name(op));
    if (op == GL_OP_DROPOUT_MASK && !(f0 >= 0.0f && f0 < 1.0f))
        return fail(g, GL_ERR_VALUE, "dropout probability must be in [0, 1)");
    if (op == GL_OP_RAND_NORMAL && !(f1 >= 0.0f))
        return fail(g, GL_ERR_VALUE, "normal: std must be >= 0");
    if (op == GL_OP_RAND_ONEHOT && (shape.ndim != 2 || shape.d[1] < 1))
        return fail(g, GL_ERR_VALUE, "onehot: needs a 2-D shape (batch, n) with n >= 1");
    if (op == GL_OP_RAND_UNIFORM && !(f1 >= f0))
        return fail(g, GL_ERR_VALUE, "uniform: need low <= high");
    int id = push(g, op, 0, NULL, shape);
    if (id >= 0) { g->nodes[id].f[0] = f0; g->nodes[id].f[1] = f1; }
    return id;
}

/* ---- elementwise ---- */

static int is_binary(gl_op op) { return op >= GL_OP_ADD && op <= GL_OP_DIV; }
static int is_mask(gl_op op) { return op >= GL_OP_RELU_MASK && op <= GL_OP_SIGMOID_GRAD; }
static int is_unary(gl_op op) { return op >= GL_OP_NEG && op <= GL_OP_SIGN; }

int gl_binary_f(gl_graph *g, gl_op op, int a, int b, float f0, float f1) {
    if (!check_id(g, a) || !check_id(g, b)) return -1;
    gl_shape s;
    if (is_binary(op)) {
        if (!broadcast_shape(shape_of(g, a), shape_of(g, b), &s))
            return shape_error(g, gl_op_name(op), shape_of(g, a), shape_of(g, b));
    } else if (is_mask(op)) {
        if (!gl_shape_eq(shape_of(g, a), shape_of(g, b)))
            return shape_error(g, gl_op_name(op), shape_of(g, a), shape_of(g, b));
        s = *shape_of(g, a);
    } else {
        return fail(g, GL_ERR_VALUE, "'%s' is not a binary elementwise op", gl_op_name(op));
    }
    int in[2] = {a, b};
    int id = push(g, op, 2, in, s);
    if (id >= 0) { g->nodes[id].f[0] = f0; g->nodes[id].f[1] = f1; }
    return id;
}

int gl_binary(gl_graph *g, gl_op op, int a, int b) { return gl_binary_f(g, op, a, b, 0.0f, 0.0f); }

int gl_unary(gl_graph *g, gl_op op, int x, float f0, float f1) {
    if (!is_unary(op)) return fail(g, GL_ERR_VALUE, "'%s' is not a unary elementwise op", gl_op_name(op));
    if (op == GL_OP_CLIP && !(f0 <= f1)) return fail(g, GL_ERR_VALUE, "clip: need low <= high");
    if (!check_id(g, x)) return -1;
    int id = push(g, op, 1, &x, *shape_of(g, x));
    if (id >= 0) { g->nodes[id].f[0] = f0; g->nodes[id].f[1] = f1; }
    return id;
}

/* ---- reductions and broadcasts ---- */

int gl_sum_to(gl_graph *g, int x, gl_shape shape) {
    if (!check_id(g, x) || !check_shape(g, shape)) return -1;
    shape = canon(shape);
    gl_shape b;
    if (shape.ndim > shape_of(g, x)->ndim || !broadcast_shape(&shape, shape_of(g, x), &b) ||
        !gl_shape_eq(&b, shape_of(g, x)))
        return shape_error(g, "sum_to", shape_of(g, x), &shape);
    return push(g, GL_OP_SUM_TO, 1, &x, shape);
}

int gl_broadcast_to(gl_graph *g, int x, gl_shape shape) {
    if (!check_id(g, x) || !check_shape(g, shape)) return -1;
    shape = canon(shape);
    gl_shape b;
    if (shape_of(g, x)->ndim > shape.ndim || !broadcast_shape(shape_of(g, x), &shape, &b) ||
        !gl_shape_eq(&b, &shape))
        return shape_error(g, "broadcast_to", shape_of(g, x), &shape);
    return push(g, GL_OP_BROADCAST_TO, 1, &x, shape);
}

int gl_logsumexp(gl_graph *g, int x) {
    if (!check_id(g, x)) return -1;
    const gl_shape *s = shape_of(g, x);
    if (s->ndim != 2) {
        char buf[64];
        return fail(g, GL_ERR_VALUE, "logsumexp expects a 2-D (batch, features) tensor, got %s",
                    gl_shape_str(s, buf, sizeof buf));
    }
    return push(g, GL_OP_LOGSUMEXP, 1, &x, gl_shape2(s->d[0], 1));
}

int gl_sumsq_rows(gl_graph *g, int x) {
    if (!check_id(g, x)) return -1;
    const gl_shape *s = shape_of(g, x);
    if (s->ndim != 2) {
        char buf[64];
        return fail(g, GL_ERR_VALUE, "sumsq_rows expects a 2-D (rows, columns) tensor, got %s",
                    gl_shape_str(s, buf, sizeof buf));
    }
    return push(g, GL_OP_SUMSQ_ROWS, 1, &x, gl_shape2(s->d[0], 1));
}

int gl_matmul(gl_graph *g, int a, int b, int trans_a, int trans_b) {
    if (!check_id(g, a) || !check_id(g, b)) return -1;
    const gl_shape *sa = shape_of(g, a), *sb = shape_of(g, b);
    if (sa->ndim != 2 || sb->ndim != 2 ||
        (trans_a ? sa->d[0] : sa->d[1]) != (trans_b ? sb->d[1] : sb->d[0]))
        return shape_error(g, trans_a || trans_b ? "matmul (with transposes)" : "matmul", sa, sb);
    int in[2] = {a, b};
    int id = push(g, GL_OP_MATMUL, 2, in,
                  gl_shape2(trans_a ? sa->d[1] : sa->d[0], trans_b ? sb->d[0] : sb->d[1]));
    if (id >= 0) { g->nodes[id].i[0] = trans_a != 0; g->nodes[id].i[1] = trans_b != 0; }
    return id;
}

/* ---- layout ---- */

int gl_concat(gl_graph *g, int n, const int *xs) {
    if (n < 1 || n > GL_MAX_IN) {
        fail(g, GL_ERR_VALUE, "concat takes 1 to %d tensors, got %d", GL_MAX_IN, n);
        return -1;
    }
    for (int k = 0; k < n; k++) if (!check_id(g, xs[k])) return -1;
    gl_shape s = *shape_of(g, xs[0]);
    if (s.ndim < 2) return shape_error(g, "concat along axis 1 needs 2-D or more", &s, &s);
    int64_t total = 0;
    for (int k = 0; k < n; k++) {
        const gl_shape *t = shape_of(g, xs[k]);
        int ok = t->ndim == s.ndim;
        for (int i = 0; ok && i < s.ndim; i++) ok = (i == 1) || t->d[i] == s.d[i];
        if (!ok) return shape_error(g, "concat along axis 1", &s, t);
        total += t->d[1];
    }
    s.d[1] = total;
    return push(g, GL_OP_CONCAT, n, xs, s);
}

int gl_slice(gl_graph *g, int x, int64_t start, int64_t len) {
    if (!check_id(g, x)) return -1;
    gl_shape s = *shape_of(g, x);
    if (s.ndim < 2 || start < 0 || len < 0 || start + len > s.d[1]) {
        char buf[64];
        fail(g, GL_ERR_VALUE, "slice [%lld, %lld) along axis 1 is out of range for shape %s",
                    (long long)start, (long long)(start + len), gl_shape_str(&s, buf, sizeof buf));
        return -1;
    }
    s.d[1] = len;
    int id = push(g, GL_OP_SLICE, 1, &x, s);
    if (id >= 0) g->nodes[id].i[0] = start;
    return id;
}

int gl_slice_grad(gl_graph *g, int x, gl_shape full, int64_t start) {
    if (!check_id(g, x) || !check_shape(g, full)) return -1;
    full = canon(full);
    const gl_shape *s = shape_of(g, x);
    int ok = s->ndim == full.ndim && s->ndim >= 2 && start >= 0 && start + s->d[1] <= full.d[1];
    for (int i = 0; ok && i < s->ndim; i++) ok = (i == 1) || s->d[i] == full.d[i];
    if (!ok) return shape_error(g, "slice_grad", s, &full);
    int id = push(g, GL_OP_SLICE_GRAD, 1, &x, full);
    if (id >= 0) g->nodes[id].i[0] = start;
    return id;
}

int gl_reshape(gl_graph *g, int x, gl_shape shape) {
    if (!check_id(g, x) || !check_shape(g, shape)) return -1;
    if (gl_shape_numel(&shape) != gl_shape_numel(shape_of(g, x)))
        return shape_error(g, "reshape (element counts differ)", shape_of(g, x), &shape);
    return push(g, GL_OP_RESHAPE, 1, &x, shape);
}

int gl_stop_gradient(gl_graph *g, int x) {
    if (!check_id(g, x)) return -1;
    int id = push(g, GL_OP_RESHAPE, 1, &x, *shape_of(g, x));
    if (id >= 0) g->nodes[id].flags |= GL_NODE_NO_GRAD; /* gl_grad never walks through it */
    return id;
}

/* ---- convolutions and pooling ---- */

/* "x (2, 3, 5, 5)" style text of node id's shape into buf. */
static const char *sdesc(gl_graph *g, int id, char *buf, int len) {
    return gl_shape_str(shape_of(g, id), buf, len);
}

static int check_conv_params(gl_graph *g, const char *what, int64_t stride, int64_t pad) {
    if (stride < 1 || stride > (1 << 20) || pad < 0 || pad > (1 << 20)) {
        fail(g, GL_ERR_VALUE, "%s: need stride >= 1 and padding >= 0, got stride %lld, padding %lld", what,
             (long long)stride, (long long)pad);
        return 0;
    }
    return 1;
}

/* Output size of a window sweep, or -1 when the kernel is larger than the
 * padded input. */
static int64_t sweep(int64_t n, int64_t k, int64_t stride, int64_t pad) {
    if (k < 1 || n + 2 * pad < k) return -1;
    return (n + 2 * pad - k) / stride + 1;
}

int gl_conv2d(gl_graph *g, int x, int w, int64_t stride, int64_t pad) {
    if (!check_id(g, x) || !check_id(g, w) || !check_conv_params(g, "conv2d", stride, pad)) return -1;
    const gl_shape *sx = shape_of(g, x), *sw = shape_of(g, w);
    char b1[96], b2[96];
    if (sx->ndim != 4 || sw->ndim != 4 || sx->d[1] != sw->d[1])
        return fail(g, GL_ERR_VALUE,
                    "conv2d: expects x (N, C, H, W) and w (O, C, kh, kw) with the same C, got x %s and w %s",
                    sdesc(g, x, b1, sizeof b1), sdesc(g, w, b2, sizeof b2));
    int64_t ho = sweep(sx->d[2], sw->d[2], stride, pad), wo = sweep(sx->d[3], sw->d[3], stride, pad);
    if (ho < 1 || wo < 1)
        return fail(g, GL_ERR_VALUE, "conv2d: kernel of w %s is larger than x %s padded by %lld",
                    sdesc(g, w, b2, sizeof b2), sdesc(g, x, b1, sizeof b1), (long long)pad);
    int64_t d[4] = {sx->d[0], sw->d[0], ho, wo};
    int in[2] = {x, w};
    int id = push(g, GL_OP_CONV2D, 2, in, gl_shape_make(4, d));
    if (id >= 0) { g->nodes[id].i[0] = stride; g->nodes[id].i[1] = pad; }
    return id;
}

int gl_conv_transpose2d(gl_graph *g, int x, int w, int64_t stride, int64_t pad, int64_t oph, int64_t opw) {
    if (!check_id(g, x) || !check_id(g, w) || !check_conv_params(g, "conv_transpose2d", stride, pad)) return -1;
    const gl_shape *sx = shape_of(g, x), *sw = shape_of(g, w);
    char b1[96], b2[96];
    if (sx->ndim != 4 || sw->ndim != 4 || sx->d[1] != sw->d[0])
        return fail(g, GL_ERR_VALUE,
                    "conv_transpose2d: expects x (N, C, H, W) and w (C, O, kh, kw) with the same C, got x %s and w %s",
                    sdesc(g, x, b1, sizeof b1), sdesc(g, w, b2, sizeof b2));
    if (oph < 0 || opw < 0 || oph >= stride || opw >= stride)
        return fail(g, GL_ERR_VALUE, "conv_transpose2d: output_padding (%lld, %lld) must be >= 0 and smaller than "
                    "the stride %lld", (long long)oph, (long long)opw, (long long)stride);
    int64_t ho = (sx->d[2] - 1) * stride - 2 * pad + sw->d[2] + oph;
    int64_t wo = (sx->d[3] - 1) * stride - 2 * pad + sw->d[3] + opw;
    if (sx->d[2] < 1 || sx->d[3] < 1 || ho < 1 || wo < 1)
        return fail(g, GL_ERR_VALUE, "conv_transpose2d: x %s with w %s, stride %lld and padding %lld gives an "
                    "empty output (%lld x %lld)", sdesc(g, x, b1, sizeof b1), sdesc(g, w, b2, sizeof b2),
                    (long long)stride, (long long)pad, (long long)ho, (long long)wo);
    int64_t d[4] = {sx->d[0], sw->d[1], ho, wo};
    int in[2] = {x, w};
    int id = push(g, GL_OP_CONV_TRANSPOSE2D, 2, in, gl_shape_make(4, d));
    if (id >= 0) {
        gl_node *n = &g->nodes[id];
        n->i[0] = stride; n->i[1] = pad; n->i[2] = oph; n->i[3] = opw;
    }
    return id;
}

int gl_conv2d_weight_grad(gl_graph *g, int a, int b, int64_t kh, int64_t kw, int64_t stride, int64_t pad) {
    if (!check_id(g, a) || !check_id(g, b) || !check_conv_params(g, "conv2d_weight_grad", stride, pad)) return -1;
    const gl_shape *sa = shape_of(g, a), *sb = shape_of(g, b);
    char b1[96], b2[96];
    int ok = sa->ndim == 4 && sb->ndim == 4 && sa->d[0] == sb->d[0];
    if (ok) ok = sweep(sa->d[2], kh, stride, pad) == sb->d[2] && sweep(sa->d[3], kw, stride, pad) == sb->d[3];
    if (!ok)
        return fail(g, GL_ERR_VALUE, "conv2d_weight_grad: input %s and output gradient %s do not match a "
                    "%lld x %lld kernel with stride %lld, padding %lld", sdesc(g, a, b1, sizeof b1),
                    sdesc(g, b, b2, sizeof b2), (long long)kh, (long long)kw, (long long)stride, (long long)pad);
    int64_t d[4] = {sb->d[1], sa->d[1], kh, kw};
    int in[2] = {a, b};
    int id = push(g, GL_OP_CONV2D_WEIGHT_GRAD, 2, in, gl_shape_make(4, d));
    if (id >= 0) { g->nodes[id].i[0] = stride; g->nodes[id].i[1] = pad; }
    return id;
}

/* Pooled shape of x for a k x k window, or fail. */
static int pool_shape(gl_graph *g, const char *what, int x, int64_t k, int64_t stride, int64_t pad, int is_max,
                      gl_shape *out) {
    char b1[96];
    const gl_shape *sx = shape_of(g, x);
    if (sx->ndim != 4 || sx->d[2] < 1 || sx->d[3] < 1)
        return fail(g, GL_ERR_VALUE, "%s: expects x (N, C, H, W) with H, W >= 1, got %s", what,
                    sdesc(g, x, b1, sizeof b1));
    if (k < 1 || stride < 1 || pad < 0 || k > (1 << 20) || stride > (1 << 20) || 2 * pad > k)
        return fail(g, GL_ERR_VALUE, "%s: need kernel >= 1, stride >= 1 and 0 <= padding <= kernel / 2, got "
                    "kernel %lld, stride %lld, padding %lld", what, (long long)k, (long long)stride, (long long)pad);
    int64_t ho = sweep(sx->d[2], k, stride, pad), wo = sweep(sx->d[3], k, stride, pad);
    if (ho < 1 || wo < 1)
        return fail(g, GL_ERR_VALUE, "%s: kernel %lld is larger than x %s padded by %lld", what, (long long)k,
                    sdesc(g, x, b1, sizeof b1), (long long)pad);
    (void)is_max;
    int64_t d[4] = {sx->d[0], sx->d[1], ho, wo};
    *out = gl_shape_make(4, d);
    return 0;
}

static int set_pool(gl_graph *g, int id, int64_t k, int64_t stride, int64_t pad) {
    if (id >= 0) { g->nodes[id].i[0] = k; g->nodes[id].i[1] = stride; g->nodes[id].i[2] = pad; }
    return id;
}

int gl_max_pool2d(gl_graph *g, int x, int64_t k, int64_t stride, int64_t pad) {
    gl_shape s;
    if (!check_id(g, x) || pool_shape(g, "max_pool2d", x, k, stride, pad, 1, &s) < 0) return -1;
    return set_pool(g, push(g, GL_OP_MAX_POOL2D, 1, &x, s), k, stride, pad);
}

/* (x, second) where second has the pooled shape (grad) or x's shape (gather). */
static int max_pool_pair(gl_graph *g, gl_op op, int x, int y, int64_t k, int64_t stride, int64_t pad) {
    gl_shape s;
    const char *what = gl_op_name(op);
    if (!check_id(g, x) || !check_id(g, y) || pool_shape(g, what, x, k, stride, pad, 1, &s) < 0) return -1;
    const gl_shape *want = op == GL_OP_MAX_POOL2D_GRAD ? &s : shape_of(g, x);
    if (!gl_shape_eq(shape_of(g, y), want)) return shape_error(g, what, want, shape_of(g, y));
    int in[2] = {x, y};
    return set_pool(g, push(g, op, 2, in, op == GL_OP_MAX_POOL2D_GRAD ? *shape_of(g, x) : s), k, stride, pad);
}

int gl_max_pool2d_grad(gl_graph *g, int x, int gy, int64_t k, int64_t stride, int64_t pad) {
    return max_pool_pair(g, GL_OP_MAX_POOL2D_GRAD, x, gy, k, stride, pad);
}

int gl_max_pool2d_gather(gl_graph *g, int x, int a, int64_t k, int64_t stride, int64_t pad) {
    return max_pool_pair(g, GL_OP_MAX_POOL2D_GATHER, x, a, k, stride, pad);
}

int gl_avg_pool2d(gl_graph *g, int x, int64_t k, int64_t stride, int64_t pad) {
    gl_shape s;
    if (!check_id(g, x) || pool_shape(g, "avg_pool2d", x, k, stride, pad, 0, &s) < 0) return -1;
    return set_pool(g, push(g, GL_OP_AVG_POOL2D, 1, &x, s), k, stride, pad);
}

int gl_avg_pool2d_grad(gl_graph *g, int gy, gl_shape xshape, int64_t k, int64_t stride, int64_t pad) {
    if (!check_id(g, gy) || !check_shape(g, xshape)) return -1;
    xshape = canon(xshape);
    /* a placeholder node of x's shape is not needed: check the sweep directly */
    int64_t ho = xshape.ndim == 4 ? sweep(xshape.d[2], k, stride, pad) : -1;
    int64_t wo = xshape.ndim == 4 ? sweep(xshape.d[3], k, stride, pad) : -1;
    const gl_shape *sg = shape_of(g, gy);
    if (k < 1 || stride < 1 || pad < 0 || 2 * pad > k || sg->ndim != 4 || sg->d[0] != xshape.d[0] ||
        sg->d[1] != xshape.d[1] || sg->d[2] != ho || sg->d[3] != wo)
        return shape_error(g, "avg_pool2d_grad", sg, &xshape);
    return set_pool(g, push(g, GL_OP_AVG_POOL2D_GRAD, 1, &gy, xshape), k, stride, pad);
}

int gl_upsample_nearest(gl_graph *g, int x, int64_t scale) {
    if (!check_id(g, x)) return -1;
    const gl_shape *sx = shape_of(g, x);
    char b1[96];
    if (sx->ndim != 4 || scale < 1 || scale > (1 << 16))
        return fail(g, GL_ERR_VALUE, "upsample_nearest: expects x (N, C, H, W) and an integer scale >= 1, got %s "
                    "and %lld", sdesc(g, x, b1, sizeof b1), (long long)scale);
    int64_t d[4] = {sx->d[0], sx->d[1], sx->d[2] * scale, sx->d[3] * scale};
    int id = push(g, GL_OP_UPSAMPLE_NEAREST, 1, &x, gl_shape_make(4, d));
    if (id >= 0) g->nodes[id].i[0] = scale;
    return id;
}

int gl_upsample_nearest_grad(gl_graph *g, int x, int64_t scale) {
    if (!check_id(g, x)) return -1;
    const gl_shape *sx = shape_of(g, x);
    char b1[96];
    if (sx->ndim != 4 || scale < 1 || sx->d[2] % scale || sx->d[3] % scale)
        return fail(g, GL_ERR_VALUE, "upsample_nearest_grad: %s is not a multiple of the scale %lld",
                    sdesc(g, x, b1, sizeof b1), (long long)scale);
    int64_t d[4] = {sx->d[0], sx->d[1], sx->d[2] / scale, sx->d[3] / scale};
    int id = push(g, GL_OP_UPSAMPLE_NEAREST_GRAD, 1, &x, gl_shape_make(4, d));
    if (id >= 0) g->nodes[id].i[0] = scale;
    return id;
}

/* ---- batch norm ---- */

static int check_bn(gl_graph *g, const char *what, int x, int gamma, int beta) {
    const gl_shape *sx = shape_of(g, x);
    char b1[96], b2[96], b3[96];
    int ok = (sx->ndim == 2 || sx->ndim == 4);
    int64_t c = ok ? sx->d[1] : 0;
    ok = ok && shape_of(g, gamma)->ndim == 1 && shape_of(g, gamma)->d[0] == c;
    if (beta >= 0) ok = ok && shape_of(g, beta)->ndim == 1 && shape_of(g, beta)->d[0] == c;
    if (!ok)
        return fail(g, GL_ERR_VALUE, "%s: expects x (N, C, H, W) or (N, C) and gamma, beta of shape (C,), got "
                    "x %s, gamma %s, beta %s", what, sdesc(g, x, b1, sizeof b1), sdesc(g, gamma, b2, sizeof b2),
                    beta >= 0 ? sdesc(g, beta, b3, sizeof b3) : "-");
    return 0;
}

int gl_batch_norm(gl_graph *g, int x, int gamma, int beta, float *running_mean, float *running_var, float eps,
                  float momentum, int training) {
    if (!check_id(g, x) || !check_id(g, gamma) || !check_id(g, beta)) return -1;
    if (check_bn(g, "batch_norm", x, gamma, beta) < 0) return -1;
    if (!(eps > 0.0f) || !(momentum >= 0.0f && momentum <= 1.0f))
        return fail(g, GL_ERR_VALUE, "batch_norm: need eps > 0 and 0 <= momentum <= 1, got eps %g, momentum %g",
                    (double)eps, (double)momentum);
    if ((running_mean == NULL) != (running_var == NULL))
        return fail(g, GL_ERR_VALUE, "batch_norm: give both running_mean and running_var, or neither");
    const gl_shape sx = *shape_of(g, x);
    const int64_t c = sx.d[1];
    if (training) {
        int64_t m = gl_shape_numel(&sx) / (c > 0 ? c : 1);
        char b1[96];
        if (m < 2)
            return fail(g, GL_ERR_VALUE, "batch_norm (training mode) needs more than one value per channel, "
                        "got x %s", gl_shape_str(&sx, b1, sizeof b1));
        int in[3] = {x, gamma, beta};
        int id = push(g, GL_OP_BATCH_NORM, 3, in, sx);
        if (id >= 0) {
            gl_node *n = &g->nodes[id];
            n->f[0] = eps; n->f[1] = momentum; n->data = running_mean; n->data2 = running_var;
        }
        return id;
    }
    /* eval: y = (x - mean) * (gamma / sqrt(var + eps)) + beta, per channel */
    if (!running_mean)
        return fail(g, GL_ERR_VALUE, "batch_norm (eval mode) needs running_mean and running_var");
    int64_t d[4] = {1, c, 1, 1};
    gl_shape cs = gl_shape_make(sx.ndim, d); /* (1, C) or (1, C, 1, 1) */
    int rm = gl_param(g, gl_shape1(c), running_mean), rv = gl_param(g, gl_shape1(c), running_var);
    int inv = gl_div(g, gamma, gl_unary(g, GL_OP_SQRT, gl_unary(g, GL_OP_SCALE, rv, 1.0f, eps), 0, 0));
    int shift = gl_sub(g, beta, gl_mul(g, rm, inv));
    return gl_add(g, gl_mul(g, x, gl_reshape(g, inv, cs)), gl_reshape(g, shift, cs));
}

static int check_plane_input(gl_graph *g, const char *what, int x, float eps) {
    const gl_shape *s = shape_of(g, x);
    char b1[96];
    if (s->ndim != 4 || s->d[2] * s->d[3] == 0)
        return fail(g, GL_ERR_VALUE, "%s expects x (N, C, H, W) with H, W >= 1, got %s", what,
                    gl_shape_str(s, b1, sizeof b1));
    if (!(eps > 0.0f) || !isfinite(eps))
        return fail(g, GL_ERR_VALUE, "%s: need a finite eps > 0, got %g", what, (double)eps);
    return 0;
}

int gl_instance_norm(gl_graph *g, int x, float eps) {
    if (!check_id(g, x) || check_plane_input(g, "instance_norm", x, eps) < 0) return -1;
    int id = push(g, GL_OP_INSTANCE_NORM, 1, &x, *shape_of(g, x));
    if (id >= 0) g->nodes[id].f[0] = eps;
    return id;
}

int gl_instance_norm_bwd(gl_graph *g, int gy, int x, float eps) {
    if (!check_id(g, gy) || !check_id(g, x) || check_plane_input(g, "instance_norm_bwd", x, eps) < 0) return -1;
    if (!gl_shape_eq(shape_of(g, gy), shape_of(g, x)))
        return shape_error(g, "instance_norm_bwd", shape_of(g, gy), shape_of(g, x));
    int in[2] = {gy, x};
    int id = push(g, GL_OP_INSTANCE_NORM_BWD, 2, in, *shape_of(g, x));
    if (id >= 0) g->nodes[id].f[0] = eps;
    return id;
}

int gl_instance_rstd(gl_graph *g, int x, float eps) {
    if (!check_id(g, x) || check_plane_input(g, "instance_rstd", x, eps) < 0) return -1;
    const gl_shape *s = shape_of(g, x);
    int64_t d[4] = {s->d[0], s->d[1], 1, 1};
    int id = push(g, GL_OP_INSTANCE_RSTD, 1, &x, gl_shape_make(4, d));
    if (id >= 0) g->nodes[id].f[0] = eps;
    return id;
}

int gl_instance_norm_grad(gl_graph *g, int gy, int y, int r) {
    if (!check_id(g, gy) || !check_id(g, y) || !check_id(g, r)) return -1;
    const gl_shape *sg = shape_of(g, gy), *sy = shape_of(g, y), *sr = shape_of(g, r);
    char b1[96], b2[96], b3[96];
    if (sg->ndim != 4 || !gl_shape_eq(sg, sy) || sr->ndim != 4 || sr->d[0] != sg->d[0] || sr->d[1] != sg->d[1] ||
        sr->d[2] != 1 || sr->d[3] != 1)
        return fail(g, GL_ERR_VALUE, "instance_norm_grad expects gy and y (N, C, H, W) and r (N, C, 1, 1), got "
                    "%s, %s, %s", gl_shape_str(sg, b1, sizeof b1), gl_shape_str(sy, b2, sizeof b2),
                    gl_shape_str(sr, b3, sizeof b3));
    int in[3] = {gy, y, r};
    return push(g, GL_OP_INSTANCE_NORM_GRAD, 3, in, *sg);
}

int gl_batch_norm_grad(gl_graph *g, int x, int gamma, int gy, float eps, int mode) {
    if (!check_id(g, x) || !check_id(g, gamma) || !check_id(g, gy)) return -1;
    if (check_bn(g, "batch_norm_grad", x, gamma, -1) < 0) return -1;
    if (!gl_shape_eq(shape_of(g, gy), shape_of(g, x))) return shape_error(g, "batch_norm_grad", shape_of(g, x),
                                                                          shape_of(g, gy));
    if (mode < 0 || mode > 2)
        return fail(g, GL_ERR_VALUE, "batch_norm_grad: mode is 0 (dx), 1 (dgamma) or 2 (dx; dgamma, dbeta as side outputs)");
    int in[3] = {x, gamma, gy};
    int id = push(g, GL_OP_BATCH_NORM_GRAD, 3, in, mode == 1 ? *shape_of(g, gamma) : *shape_of(g, x));
    if (id >= 0) { g->nodes[id].f[0] = eps; g->nodes[id].i[0] = mode; }
    return id;
}

int64_t gl_side_floats(const gl_node *nd) {
    if (nd->op == GL_OP_BATCH_NORM_GRAD && nd->i[0] == 2) return 2 * nd->shape.d[1];
    return 0;
}

int gl_side_output(gl_graph *g, int x, int64_t offset, gl_shape shape) {
    if (!check_id(g, x)) return -1;
    const int64_t side = gl_side_floats(&g->nodes[x]), n = gl_shape_numel(&shape);
    if (offset < 0 || n < 0 || offset > side || n > side - offset)
        return fail(g, GL_ERR_VALUE, "side_output: floats [%lld, %lld) of node %d, which leaves %lld side values",
                    (long long)offset, (long long)(offset + n), x, (long long)side);
    int in[1] = {x};
    int id = push(g, GL_OP_SIDE_OUTPUT, 1, in, shape);
    if (id >= 0) g->nodes[id].i[0] = offset;
    return id;
}

/* ---- labels and batch layout ---- */

#define GL_MAX_CLASSES ((int64_t)1 << 24) /* every index in [0, 2^24) is exact as a float */

int gl_one_hot(gl_graph *g, int x, int64_t num_classes) {
    if (!check_id(g, x)) return -1;
    const gl_shape *s = shape_of(g, x);
    char b1[96];
    if (!(s->ndim == 1 || (s->ndim == 2 && s->d[1] == 1)))
        return fail(g, GL_ERR_VALUE, "one_hot: expects indices of shape (batch,) or (batch, 1), got %s",
                    sdesc(g, x, b1, sizeof b1));
    if (num_classes < 1 || num_classes > GL_MAX_CLASSES)
        return fail(g, GL_ERR_VALUE, "one_hot: num_classes must be in [1, %lld], got %lld",
                    (long long)GL_MAX_CLASSES, (long long)num_classes);
    int id = push(g, GL_OP_ONE_HOT, 1, &x, gl_shape2(s->d[0], num_classes));
    if (id >= 0) g->nodes[id].i[0] = num_classes;
    return id;
}

static int arg_extreme(gl_graph *g, gl_op op, int x) {
    if (!check_id(g, x)) return -1;
    const gl_shape *s = shape_of(g, x);
    char b1[96];
    if (s->ndim != 2 || s->d[1] < 1)
        return fail(g, GL_ERR_VALUE, "%s: expects a 2-D (batch, K) tensor with K >= 1, got %s", gl_op_name(op),
                    sdesc(g, x, b1, sizeof b1));
    return push(g, op, 1, &x, *s);
}

int gl_argmax_onehot(gl_graph *g, int x) { return arg_extreme(g, GL_OP_ARGMAX, x); }
int gl_argmin_onehot(gl_graph *g, int x) { return arg_extreme(g, GL_OP_ARGMIN, x); }

int gl_roll(gl_graph *g, int x, int64_t shift, int axis) {
    if (!check_id(g, x)) return -1;
    const gl_shape *s = shape_of(g, x);
    char b1[96];
    if (s->ndim < 1)
        return fail(g, GL_ERR_VALUE, "roll: expects a 1-D to %d-D tensor, got a scalar", GL_MAX_DIMS);
    if (axis < -s->ndim || axis >= s->ndim)
        return fail(g, GL_ERR_VALUE, "roll: axis %d is out of range for %s", axis, sdesc(g, x, b1, sizeof b1));
    if (axis < 0) axis += s->ndim;
    const int64_t n = s->d[axis];
    shift = n > 0 ? ((shift % n) + n) % n : 0; /* |shift % n| < n: no overflow */
    int id = push(g, GL_OP_ROLL, 1, &x, *s);
    if (id >= 0) { g->nodes[id].i[0] = shift; g->nodes[id].i[1] = axis; }
    return id;
}

int gl_bernoulli(gl_graph *g, int p) {
    if (!check_id(g, p)) return -1;
    return push(g, GL_OP_BERNOULLI, 1, &p, *shape_of(g, p));
}

/* ---- compositions ---- */

int gl_add(gl_graph *g, int a, int b) { return gl_binary(g, GL_OP_ADD, a, b); }
int gl_sub(gl_graph *g, int a, int b) { return gl_binary(g, GL_OP_SUB, a, b); }
int gl_mul(gl_graph *g, int a, int b) { return gl_binary(g, GL_OP_MUL, a, b); }
int gl_div(gl_graph *g, int a, int b) { return gl_binary(g, GL_OP_DIV, a, b); }
int gl_scale(gl_graph *g, int x, float s) { return gl_unary(g, GL_OP_SCALE, x, s, 0.0f); }
int gl_sum_all(gl_graph *g, int x) { return gl_sum_to(g, x, gl_shape0()); }
int gl_mean_all(gl_graph *g, int x) {
    if (!check_id(g, x)) return -1;
    int64_t n = gl_shape_numel(shape_of(g, x));
    return gl_scale(g, gl_sum_all(g, x), n > 0 ? 1.0f / (float)n : 0.0f);
}
