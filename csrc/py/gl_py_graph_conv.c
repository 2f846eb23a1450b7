/* gl_py_graph_conv.c - Graph methods for convolution, pooling, upsampling and
 * batch norm (NCHW). */
#include "gl_py_graph.h"
#include "gl_py_convert.h"

#include <string.h>

#define NODE_ARG(var, v64, what) \
    int var;                     \
    if (gl_py_graph_node(self, v64, what, &var) < 0) return NULL

/* Integer parameters are bounded here so the core's int64 arithmetic on them
 * cannot overflow; the core checks the meaningful ranges. */
static int small_int(int64_t v, const char *what) {
    if (v < -(1 << 24) || v > (1 << 24)) {
        PyErr_Format(PyExc_ValueError, "%s = %lld is out of range", what, (long long)v);
        return -1;
    }
    return 0;
}

/* An int, or a tuple/list of two ints (height, width). 0 or -1. */
static int int_or_pair(PyObject *o, const char *what, int64_t *h, int64_t *w) {
    if (PyTuple_Check(o) || PyList_Check(o)) {
        if (PySequence_Size(o) != 2) {
            PyErr_Format(PyExc_ValueError, "%s must be an int or a pair of ints", what);
            return -1;
        }
        PyObject *a = PySequence_GetItem(o, 0), *b = a ? PySequence_GetItem(o, 1) : NULL;
        int rc = (a && b && gl_py_as_int64(a, what, h) == 0 && gl_py_as_int64(b, what, w) == 0) ? 0 : -1;
        Py_XDECREF(a);
        Py_XDECREF(b);
        if (rc < 0) return -1;
    } else {
        if (gl_py_as_int64(o, what, h) < 0) return -1;
        *w = *h;
    }
    return small_int(*h, what) < 0 || small_int(*w, what) < 0 ? -1 : 0;
}

const char gl_py_graph_conv2d_doc[] =
    "conv2d($self, x, w, stride=1, padding=0)\n--\n\n"
    "Append a 2-D convolution (cross-correlation, as torch): x (N, C, H, W),\n"
    "w (O, C, kh, kw) -> (N, O, Ho, Wo), Ho = (H + 2 padding - kh) // stride + 1.";

PyObject *gl_py_graph_conv2d(GraphObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"x", "w", "stride", "padding", NULL};
    int64_t x64, w64, s = 1, p = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&O&|O&O&:conv2d", kwlist, gl_py_conv_node, &x64, gl_py_conv_node,
                                     &w64, gl_py_conv_int64, &s, gl_py_conv_int64, &p))
        return NULL;
    NODE_ARG(x, x64, "conv2d: x");
    NODE_ARG(w, w64, "conv2d: w");
    if (small_int(s, "stride") < 0 || small_int(p, "padding") < 0 || gl_py_graph_writable(self) < 0) return NULL;
    return gl_py_graph_result(self, gl_conv2d(self->g, x, w, s, p));
}

const char gl_py_graph_conv_transpose2d_doc[] =
    "conv_transpose2d($self, x, w, stride=1, padding=0, output_padding=0)\n--\n\n"
    "Append a transposed convolution (torch layout): x (N, C, H, W), w (C, O, kh, kw)\n"
    "-> (N, O, Ho, Wo), Ho = (H - 1) stride - 2 padding + kh + output_padding.\n"
    "output_padding: an int or a pair (height, width), each < stride.";

PyObject *gl_py_graph_conv_transpose2d(GraphObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"x", "w", "stride", "padding", "output_padding", NULL};
    int64_t x64, w64, s = 1, p = 0, oh = 0, ow = 0;
    PyObject *op = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&O&|O&O&O:conv_transpose2d", kwlist, gl_py_conv_node, &x64,
                                     gl_py_conv_node, &w64, gl_py_conv_int64, &s, gl_py_conv_int64, &p, &op))
        return NULL;
    NODE_ARG(x, x64, "conv_transpose2d: x");
    NODE_ARG(w, w64, "conv_transpose2d: w");
    if (op && int_or_pair(op, "output_padding", &oh, &ow) < 0) return NULL;
    if (small_int(s, "stride") < 0 || small_int(p, "padding") < 0 || gl_py_graph_writable(self) < 0) return NULL;
    return gl_py_graph_result(self, gl_conv_transpose2d(self->g, x, w, s, p, oh, ow));
}

const char gl_py_graph_conv2d_weight_grad_doc[] =
    "conv2d_weight_grad($self, a, b, kernel_size, stride=1, padding=0)\n--\n\n"
    "Append the weight gradient of conv2d(a, w) with output adjoint b:\n"
    "a (N, Ci, H, W), b (N, Co, Ho, Wo) -> (Co, Ci, kh, kw). kernel_size: int or (kh, kw).";

PyObject *gl_py_graph_conv2d_weight_grad(GraphObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"a", "b", "kernel_size", "stride", "padding", NULL};
    int64_t a64, b64, s = 1, p = 0, kh, kwd;
    PyObject *ks;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&O&O|O&O&:conv2d_weight_grad", kwlist, gl_py_conv_node, &a64,
                                     gl_py_conv_node, &b64, &ks, gl_py_conv_int64, &s, gl_py_conv_int64, &p))
        return NULL;
    NODE_ARG(a, a64, "conv2d_weight_grad: a");
    NODE_ARG(b, b64, "conv2d_weight_grad: b");
    if (int_or_pair(ks, "kernel_size", &kh, &kwd) < 0) return NULL;
    if (small_int(s, "stride") < 0 || small_int(p, "padding") < 0 || gl_py_graph_writable(self) < 0) return NULL;
    return gl_py_graph_result(self, gl_conv2d_weight_grad(self->g, a, b, kh, kwd, s, p));
}

/* kernel_size, stride (None: = kernel_size), padding */
static int pool_args(PyObject *stride_obj, int64_t k, int64_t *s) {
    if (!stride_obj || stride_obj == Py_None) {
        *s = k;
        return 0;
    }
    return gl_py_as_int64(stride_obj, "stride", s) < 0 || small_int(*s, "stride") < 0 ? -1 : 0;
}

static PyObject *pool_op(GraphObject *self, PyObject *args, PyObject *kw, const char *fmt,
                         int (*fn)(gl_graph *, int, int64_t, int64_t, int64_t)) {
    static char *kwlist[] = {"x", "kernel_size", "stride", "padding", NULL};
    int64_t x64, k, s, p = 0;
    PyObject *so = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, fmt, kwlist, gl_py_conv_node, &x64, gl_py_conv_int64, &k, &so,
                                     gl_py_conv_int64, &p))
        return NULL;
    NODE_ARG(x, x64, fmt + 10); /* fmt is "O&O&|OO&:name" */
    if (small_int(k, "kernel_size") < 0 || small_int(p, "padding") < 0 || pool_args(so, k, &s) < 0) return NULL;
    if (gl_py_graph_writable(self) < 0) return NULL;
    return gl_py_graph_result(self, fn(self->g, x, k, s, p));
}

const char gl_py_graph_max_pool2d_doc[] =
    "max_pool2d($self, x, kernel_size, stride=None, padding=0)\n--\n\n"
    "Append max pooling of x (N, C, H, W) over kernel_size^2 windows (stride None:\n"
    "= kernel_size; 0 <= padding <= kernel_size // 2; padding never wins).";

PyObject *gl_py_graph_max_pool2d(GraphObject *self, PyObject *args, PyObject *kw) {
    return pool_op(self, args, kw, "O&O&|OO&:max_pool2d", gl_max_pool2d);
}

const char gl_py_graph_avg_pool2d_doc[] =
    "avg_pool2d($self, x, kernel_size, stride=None, padding=0)\n--\n\n"
    "Append average pooling of x (N, C, H, W); the divisor is always kernel_size^2\n"
    "(torch's count_include_pad=True).";

PyObject *gl_py_graph_avg_pool2d(GraphObject *self, PyObject *args, PyObject *kw) {
    return pool_op(self, args, kw, "O&O&|OO&:avg_pool2d", gl_avg_pool2d);
}

const char gl_py_graph_pool_adjoint_doc[] =
    "pool_adjoint($self, kind, a, b=-1, kernel_size=1, stride=None, padding=0)\n--\n\n"
    "Append one of the adjoint ops that backward rules emit (for tests and custom\n"
    "rules): 'max_pool2d_grad' (x=a, gy=b), 'max_pool2d_gather' (x=a, values=b),\n"
    "'avg_pool2d_grad' (gy=a; b: a node of the unpooled shape),\n"
    "'upsample_nearest_grad' (a; kernel_size = scale).";

PyObject *gl_py_graph_pool_adjoint(GraphObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"kind", "a", "b", "kernel_size", "stride", "padding", NULL};
    const char *kind;
    int64_t a64, b64 = -1, k = 1, s, p = 0;
    PyObject *so = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "sO&|O&O&OO&:pool_adjoint", kwlist, &kind, gl_py_conv_node, &a64,
                                     gl_py_conv_node, &b64, gl_py_conv_int64, &k, &so, gl_py_conv_int64, &p))
        return NULL;
    NODE_ARG(a, a64, "pool_adjoint: a");
    if (small_int(k, "kernel_size") < 0 || small_int(p, "padding") < 0 || pool_args(so, k, &s) < 0) return NULL;
    if (strcmp(kind, "upsample_nearest_grad") == 0) {
        if (gl_py_graph_writable(self) < 0) return NULL;
        return gl_py_graph_result(self, gl_upsample_nearest_grad(self->g, a, k));
    }
    NODE_ARG(b, b64, "pool_adjoint: b");
    if (gl_py_graph_writable(self) < 0) return NULL;
    if (strcmp(kind, "max_pool2d_grad") == 0) return gl_py_graph_result(self, gl_max_pool2d_grad(self->g, a, b, k, s, p));
    if (strcmp(kind, "max_pool2d_gather") == 0)
        return gl_py_graph_result(self, gl_max_pool2d_gather(self->g, a, b, k, s, p));
    if (strcmp(kind, "avg_pool2d_grad") == 0)
        return gl_py_graph_result(self, gl_avg_pool2d_grad(self->g, a, self->g->nodes[b].shape, k, s, p));
    PyErr_Format(PyExc_ValueError, "pool_adjoint: unknown kind '%s' (known: max_pool2d_grad, max_pool2d_gather, "
                 "avg_pool2d_grad, upsample_nearest_grad)", kind);
    return NULL;
}

const char gl_py_graph_upsample_nearest_doc[] =
    "upsample_nearest($self, x, scale)\n--\n\n"
    "Append nearest-neighbour upsampling of x (N, C, H, W) by an integer scale.";

PyObject *gl_py_graph_upsample_nearest(GraphObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"x", "scale", NULL};
    int64_t x64, s;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&O&:upsample_nearest", kwlist, gl_py_conv_node, &x64,
                                     gl_py_conv_int64, &s))
        return NULL;
    NODE_ARG(x, x64, "upsample_nearest: x");
    if (small_int(s, "scale") < 0 || gl_py_graph_writable(self) < 0) return NULL;
    return gl_py_graph_result(self, gl_upsample_nearest(self->g, x, s));
}

const char gl_py_graph_instance_norm_doc[] =
    "instance_norm($self, x, eps=1e-5)\n--\n\n"
    "Append instance norm of x (N, C, H, W): each (n, c) plane minus its mean, over\n"
    "sqrt(its biased variance + eps) (torch's instance_norm without affine).\n"
    "Differentiable to any order.";

PyObject *gl_py_graph_instance_norm(GraphObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"x", "eps", NULL};
    int64_t x64;
    float eps = 1e-5f;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|f:instance_norm", kwlist, gl_py_conv_node, &x64, &eps))
        return NULL;
    NODE_ARG(x, x64, "instance_norm: x");
    if (gl_py_graph_writable(self) < 0) return NULL;
    return gl_py_graph_result(self, gl_instance_norm(self->g, x, eps));
}

const char gl_py_graph_batch_norm_doc[] =
    "batch_norm($self, x, gamma, beta, running_mean, running_var, eps=1e-5, momentum=0.1, training=True)\n--\n\n"
    "Append batch norm of x (N, C, H, W) or (N, C); gamma, beta: nodes of shape (C,).\n"
    "running_mean, running_var: float32 C-contiguous writeable ndarrays of C elements\n"
    "(kept alive by the graph), or None (training only). training=True: batch\n"
    "statistics; every run of a program containing the node updates the running\n"
    "statistics in place as torch does (unbiased variance); its gradient is\n"
    "first-order only. training=False: normalise with the running statistics\n"
    "(read at each run); differentiable to any order.";

PyObject *gl_py_graph_batch_norm(GraphObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"x", "gamma", "beta", "running_mean", "running_var", "eps", "momentum", "training", NULL};
    int64_t x64, g64, b64;
    PyObject *rm_obj, *rv_obj;
    float eps = 1e-5f, mom = 0.1f;
    int training = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&O&O&OO|ffp:batch_norm", kwlist, gl_py_conv_node, &x64,
                                     gl_py_conv_node, &g64, gl_py_conv_node, &b64, &rm_obj, &rv_obj, &eps, &mom,
                                     &training))
        return NULL;
    NODE_ARG(x, x64, "batch_norm: x");
    NODE_ARG(gm, g64, "batch_norm: gamma");
    NODE_ARG(bt, b64, "batch_norm: beta");
    const gl_shape *sx = &self->g->nodes[x].shape;
    int64_t c = sx->ndim >= 2 ? sx->d[1] : -1;
    float *rm = NULL, *rv = NULL;
    if ((rm_obj == Py_None) != (rv_obj == Py_None)) {
        PyErr_SetString(PyExc_ValueError, "batch_norm: give both running_mean and running_var, or neither");
        return NULL;
    }
    if (rm_obj != Py_None) {
        if (c < 0) {
            char b1[96];
            PyErr_Format(PyExc_ValueError, "batch_norm: expects x (N, C, H, W) or (N, C), got %s",
                         gl_shape_str(sx, b1, sizeof b1));
            return NULL;
        }
        if (gl_py_check_f32_buffer(rm_obj, "running_mean", 1, c) < 0 ||
            gl_py_check_f32_buffer(rv_obj, "running_var", 1, c) < 0)
            return NULL;
        rm = (float *)PyArray_DATA((PyArrayObject *)rm_obj);
        rv = (float *)PyArray_DATA((PyArrayObject *)rv_obj);
    }
    if (gl_py_graph_writable(self) < 0) return NULL;
    /* kept before the node exists, so it never points at a freed array */
    if (rm && (gl_py_graph_keep_buffer(self, rm_obj) < 0 || gl_py_graph_keep_buffer(self, rv_obj) < 0)) return NULL;
    return gl_py_graph_result(self, gl_batch_norm(self->g, x, gm, bt, rm, rv, eps, mom, training));
}
