/* gl_py_graph_ops.c - Graph methods that append op nodes. */
#include "gl_py_graph.h"
#include "gl_py_convert.h"

#include <stdio.h>
#include <string.h>

/* Look name up among ops [lo, hi] (and [lo2, hi2] when lo2 >= 0); unknown ->
 * ValueError listing the known names.  0 or -1. */
static int op_by_name(const char *family, const char *name, int lo, int hi, int lo2, int hi2, gl_op *out) {
    for (int k = 0; k < 2; k++) {
        int a = k ? lo2 : lo, b = k ? hi2 : hi;
        if (a < 0) continue;
        for (int op = a; op <= b; op++)
            if (strcmp(gl_op_name((gl_op)op), name) == 0) { *out = (gl_op)op; return 0; }
    }
    char known[512];
    size_t len = 0;
    known[0] = '\0';
    for (int k = 0; k < 2; k++) {
        int a = k ? lo2 : lo, b = k ? hi2 : hi;
        if (a < 0) continue;
        for (int op = a; op <= b && len < sizeof known; op++) {
            int w = snprintf(known + len, sizeof known - len, "%s%s", len ? ", " : "", gl_op_name((gl_op)op));
            if (w < 0) break;
            len += (size_t)w;
        }
    }
    PyErr_Format(PyExc_ValueError, "%s: unknown op '%s' (known: %s)", family, name, known);
    return -1;
}

/* one node-id argument, checked */
#define NODE_ARG(var, v64, what) \
    int var;                     \
    if (gl_py_graph_node(self, v64, what, &var) < 0) return NULL

const char gl_py_graph_unary_doc[] =
    "unary($self, op, x, f0=0.0, f1=0.0)\n--\n\n"
    "Append an elementwise op by name: neg, scale (f0*x+f1), exp, log, sqrt, square,\n"
    "abs, relu, leaky_relu (slope f0), tanh, sigmoid, softplus, log_sigmoid,\n"
    "clip (to [f0, f1]), sign.";

PyObject *gl_py_graph_unary(GraphObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"op", "x", "f0", "f1", NULL};
    const char *name;
    int64_t x64;
    float f0 = 0.0f, f1 = 0.0f;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "sO&|ff:unary", kwlist, &name, gl_py_conv_node, &x64, &f0, &f1))
        return NULL;
    gl_op op = GL_OP_COUNT;
    if (op_by_name("unary", name, GL_OP_NEG, GL_OP_SIGN, -1, -1, &op) < 0) return NULL;
    NODE_ARG(x, x64, "unary: x");
    if (gl_py_graph_writable(self) < 0) return NULL;
    return gl_py_graph_result(self, gl_unary(self->g, op, x, f0, f1));
}

const char gl_py_graph_binary_doc[] =
    "binary($self, op, a, b, f0=0.0, f1=0.0)\n--\n\n"
    "Append a binary op by name: add, sub, mul, div (NumPy broadcasting), or the\n"
    "gradient helpers relu_mask, leaky_mask (slope f0), clip_mask ([f0, f1]),\n"
    "tanh_grad, sigmoid_grad (same shapes).";

PyObject *gl_py_graph_binary(GraphObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"op", "a", "b", "f0", "f1", NULL};
    const char *name;
    int64_t a64, b64;
    float f0 = 0.0f, f1 = 0.0f;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "sO&O&|ff:binary", kwlist, &name, gl_py_conv_node, &a64,
                                     gl_py_conv_node, &b64, &f0, &f1))
        return NULL;
    gl_op op = GL_OP_COUNT;
    if (op_by_name("binary", name, GL_OP_ADD, GL_OP_DIV, GL_OP_RELU_MASK, GL_OP_SIGMOID_GRAD, &op) < 0) return NULL;
    NODE_ARG(a, a64, "binary: a");
    NODE_ARG(b, b64, "binary: b");
    if (gl_py_graph_writable(self) < 0) return NULL;
    return gl_py_graph_result(self, gl_binary_f(self->g, op, a, b, f0, f1));
}

const char gl_py_graph_matmul_doc[] =
    "matmul($self, a, b, trans_a=False, trans_b=False)\n--\n\n"
    "Append op(a) @ op(b) for 2-D nodes (op = transpose when asked).";

PyObject *gl_py_graph_matmul(GraphObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"a", "b", "trans_a", "trans_b", NULL};
    int64_t a64, b64;
    int ta = 0, tb = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&O&|pp:matmul", kwlist, gl_py_conv_node, &a64, gl_py_conv_node,
                                     &b64, &ta, &tb))
        return NULL;
    NODE_ARG(a, a64, "matmul: a");
    NODE_ARG(b, b64, "matmul: b");
    if (gl_py_graph_writable(self) < 0) return NULL;
    return gl_py_graph_result(self, gl_matmul(self->g, a, b, ta, tb));
}

/* x and a shape */
static PyObject *node_shape_op(GraphObject *self, PyObject *args, PyObject *kw, const char *fmt,
                               int (*fn)(gl_graph *, int, gl_shape)) {
    static char *kwlist[] = {"x", "shape", NULL};
    int64_t x64;
    gl_shape s;
    if (!PyArg_ParseTupleAndKeywords(args, kw, fmt, kwlist, gl_py_conv_node, &x64, gl_py_conv_shape, &s))
        return NULL;
    NODE_ARG(x, x64, fmt + 5); /* fmt is "O&O&:name" */
    if (gl_py_graph_writable(self) < 0) return NULL;
    return gl_py_graph_result(self, fn(self->g, x, s));
}

const char gl_py_graph_sum_to_doc[] =
    "sum_to($self, x, shape)\n--\n\n"
    "Append the sum of x down to shape (dims equal or 1, right-aligned).";

PyObject *gl_py_graph_sum_to(GraphObject *self, PyObject *args, PyObject *kw) {
    return node_shape_op(self, args, kw, "O&O&:sum_to", gl_sum_to);
}

const char gl_py_graph_broadcast_to_doc[] =
    "broadcast_to($self, x, shape)\n--\n\n"
    "Append x repeated up to shape (NumPy broadcasting rules).";

PyObject *gl_py_graph_broadcast_to(GraphObject *self, PyObject *args, PyObject *kw) {
    return node_shape_op(self, args, kw, "O&O&:broadcast_to", gl_broadcast_to);
}

const char gl_py_graph_reshape_doc[] =
    "reshape($self, x, shape)\n--\n\n"
    "Append x with a new shape of the same number of elements.";

PyObject *gl_py_graph_reshape(GraphObject *self, PyObject *args, PyObject *kw) {
    return node_shape_op(self, args, kw, "O&O&:reshape", gl_reshape);
}

const char gl_py_graph_sumsq_rows_doc[] =
    "sumsq_rows($self, x)\n--\n\n"
    "Append sum(x**2, axis=1) of a 2-D node, shape (m, 1), in one read of x.";

PyObject *gl_py_graph_sumsq_rows(GraphObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"x", NULL};
    int64_t x64;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&:sumsq_rows", kwlist, gl_py_conv_node, &x64)) return NULL;
    NODE_ARG(x, x64, "sumsq_rows: x");
    if (gl_py_graph_writable(self) < 0) return NULL;
    return gl_py_graph_result(self, gl_sumsq_rows(self->g, x));
}

const char gl_py_graph_logsumexp_doc[] =
    "logsumexp($self, x)\n--\n\n"
    "Append log(sum(exp(x), axis=1)) of a 2-D node, shape (m, 1).";

PyObject *gl_py_graph_logsumexp(GraphObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"x", NULL};
    int64_t x64;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&:logsumexp", kwlist, gl_py_conv_node, &x64)) return NULL;
    NODE_ARG(x, x64, "logsumexp: x");
    if (gl_py_graph_writable(self) < 0) return NULL;
    return gl_py_graph_result(self, gl_logsumexp(self->g, x));
}

const char gl_py_graph_stop_gradient_doc[] =
    "stop_gradient($self, x)\n--\n\n"
    "Append a copy of x through which no gradient flows.";

PyObject *gl_py_graph_stop_gradient(GraphObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"x", NULL};
    int64_t x64;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&:stop_gradient", kwlist, gl_py_conv_node, &x64)) return NULL;
    NODE_ARG(x, x64, "stop_gradient: x");
    if (gl_py_graph_writable(self) < 0) return NULL;
    return gl_py_graph_result(self, gl_stop_gradient(self->g, x));
}

const char gl_py_graph_concat_doc[] =
    "concat($self, xs)\n--\n\n"
    "Append the concatenation of 1 to 8 nodes along axis 1.";

PyObject *gl_py_graph_concat(GraphObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"xs", NULL};
    PyObject *xs_obj;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O:concat", kwlist, &xs_obj)) return NULL;
    int *xs = NULL;
    Py_ssize_t n = 0;
    if (gl_py_node_list(self->g, xs_obj, "concat: xs", &xs, &n) < 0) return NULL;
    PyObject *res = NULL;
    if (n < 1 || n > GL_MAX_IN)
        PyErr_Format(PyExc_ValueError, "concat takes 1 to %d nodes, got %zd", GL_MAX_IN, n);
    else if (gl_py_graph_writable(self) == 0)
        res = gl_py_graph_result(self, gl_concat(self->g, (int)n, xs));
    PyMem_Free(xs);
    return res;
}

const char gl_py_graph_slice_doc[] =
    "slice($self, x, start, length)\n--\n\n"
    "Append x[:, start:start+length] (along axis 1).";

PyObject *gl_py_graph_slice(GraphObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"x", "start", "length", NULL};
    int64_t x64, start, len;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&O&O&:slice", kwlist, gl_py_conv_node, &x64, gl_py_conv_int64,
                                     &start, gl_py_conv_int64, &len))
        return NULL;
    NODE_ARG(x, x64, "slice: x");
    if (start > INT64_MAX / 4 || len > INT64_MAX / 4) {
        PyErr_SetString(PyExc_ValueError, "slice: start/length out of range");
        return NULL;
    }
    if (gl_py_graph_writable(self) < 0) return NULL;
    return gl_py_graph_result(self, gl_slice(self->g, x, start, len));
}

const char gl_py_graph_slice_grad_doc[] =
    "slice_grad($self, x, full_shape, start)\n--\n\n"
    "Append zeros of full_shape with x placed at axis-1 offset start.";

PyObject *gl_py_graph_slice_grad(GraphObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"x", "full_shape", "start", NULL};
    int64_t x64, start;
    gl_shape full;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&O&O&:slice_grad", kwlist, gl_py_conv_node, &x64,
                                     gl_py_conv_shape, &full, gl_py_conv_int64, &start))
        return NULL;
    NODE_ARG(x, x64, "slice_grad: x");
    if (start > INT64_MAX / 4) {
        PyErr_SetString(PyExc_ValueError, "slice_grad: start out of range");
        return NULL;
    }
    if (gl_py_graph_writable(self) < 0) return NULL;
    return gl_py_graph_result(self, gl_slice_grad(self->g, x, full, start));
}

/* ---- labels and batch layout ---- */

const char gl_py_graph_one_hot_doc[] =
    "one_hot($self, x, num_classes)\n--\n\n"
    "Append one-hot rows (B, num_classes) of integer class indices x, shape (B,)\n"
    "or (B, 1), stored as floats.  A run fails with ValueError naming the row when\n"
    "an index is not an integer in [0, num_classes).  Zero derivative.";

PyObject *gl_py_graph_one_hot(GraphObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"x", "num_classes", NULL};
    int64_t x64, k;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&O&:one_hot", kwlist, gl_py_conv_node, &x64, gl_py_conv_int64, &k))
        return NULL;
    NODE_ARG(x, x64, "one_hot: x");
    if (gl_py_graph_writable(self) < 0) return NULL;
    return gl_py_graph_result(self, gl_one_hot(self->g, x, k));
}

static PyObject *arg_extreme(GraphObject *self, PyObject *args, PyObject *kw, const char *fmt,
                             int (*fn)(gl_graph *, int)) {
    static char *kwlist[] = {"x", NULL};
    int64_t x64;
    if (!PyArg_ParseTupleAndKeywords(args, kw, fmt, kwlist, gl_py_conv_node, &x64)) return NULL;
    NODE_ARG(x, x64, fmt + 3); /* fmt is "O&:name" */
    if (gl_py_graph_writable(self) < 0) return NULL;
    return gl_py_graph_result(self, fn(self->g, x));
}

const char gl_py_graph_argmax_doc[] =
    "argmax($self, x)\n--\n\n"
    "Append one-hot rows marking the max of each row of a 2-D node (ties: first\n"
    "index; a NaN wins, the first one).  grad refuses to pass a gradient into x.";

PyObject *gl_py_graph_argmax(GraphObject *self, PyObject *args, PyObject *kw) {
    return arg_extreme(self, args, kw, "O&:argmax", gl_argmax_onehot);
}

const char gl_py_graph_argmin_doc[] =
    "argmin($self, x)\n--\n\n"
    "Append one-hot rows marking the min of each row of a 2-D node (ties: first\n"
    "index; a NaN wins, the first one).  grad refuses to pass a gradient into x.";

PyObject *gl_py_graph_argmin(GraphObject *self, PyObject *args, PyObject *kw) {
    return arg_extreme(self, args, kw, "O&:argmin", gl_argmin_onehot);
}

const char gl_py_graph_roll_doc[] =
    "roll($self, x, shift, axis=0)\n--\n\n"
    "Append x rolled by shift along axis (torch.roll / numpy.roll): element j\n"
    "moves to (j + shift) mod n.  Any shift; axis in [-ndim, ndim).";

PyObject *gl_py_graph_roll(GraphObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"x", "shift", "axis", NULL};
    int64_t x64, shift, axis = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&O&|O&:roll", kwlist, gl_py_conv_node, &x64, gl_py_conv_int64,
                                     &shift, gl_py_conv_int64, &axis))
        return NULL;
    NODE_ARG(x, x64, "roll: x");
    if (axis < -GL_MAX_DIMS || axis >= GL_MAX_DIMS) {
        PyErr_Format(PyExc_ValueError, "roll: axis %lld is out of range for a %d-D tensor", (long long)axis,
                     self->g->nodes[x].shape.ndim);
        return NULL;
    }
    if (gl_py_graph_writable(self) < 0) return NULL;
    return gl_py_graph_result(self, gl_roll(self->g, x, shift, (int)axis));
}

/* ---- random with an input ---- */

const char gl_py_graph_bernoulli_doc[] =
    "bernoulli($self, p)\n--\n\n"
    "Append Bernoulli samples of a node of probabilities (any shape): 1 with\n"
    "probability p (clamped to [0, 1]), else 0, a fresh draw each run from the\n"
    "program's RNG; NaN where p is NaN.  grad refuses to pass a gradient into p.";

PyObject *gl_py_graph_bernoulli(GraphObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"p", NULL};
    int64_t p64;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&:bernoulli", kwlist, gl_py_conv_node, &p64)) return NULL;
    NODE_ARG(p, p64, "bernoulli: p");
    if (gl_py_graph_writable(self) < 0) return NULL;
    return gl_py_graph_result(self, gl_bernoulli(self->g, p));
}
