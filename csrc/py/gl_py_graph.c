/* gl_py_graph.c - the Graph type: lifecycle, leaves, queries and grad.
 * The op builders are in gl_py_graph_ops.c. */
#include "gl_py_graph.h"
#include "gl_py_convert.h"

#include <stddef.h>
#include <stdio.h>
#include <structmember.h>
#include <string.h>

/* ---- shared helpers ---- */

int gl_py_graph_writable(GraphObject *self) {
    if (self->running > 0) {
        gl_py_state *st = gl_py_state_of_type(Py_TYPE(self));
        if (!st) return -1;
        PyErr_SetString(st->error, "cannot add nodes to a graph while a program over it is running");
        return -1;
    }
    return 0;
}

PyObject *gl_py_graph_result(GraphObject *self, int id) {
    if (id >= 0) return PyLong_FromLong(id);
    gl_py_state *st = gl_py_state_of_type(Py_TYPE(self));
    if (!st) return NULL;
    /* a builder failure is an argument error unless the core says otherwise */
    gl_status code = self->g->err.code == GL_OK ? GL_ERR_VALUE : self->g->err.code;
    gl_py_raise(st->error, code, self->g->err.msg[0] ? self->g->err.msg : "invalid graph operation");
    gl_error_clear(&self->g->err);
    return NULL;
}

int gl_py_graph_node(GraphObject *self, int64_t id, const char *what, int *out) {
    return gl_py_check_node(self->g, id, what, out);
}

/* ---- lifecycle ---- */

static PyObject *graph_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
    if (PyTuple_GET_SIZE(args) != 0 || (kw && PyDict_GET_SIZE(kw) != 0)) {
        PyErr_SetString(PyExc_TypeError, "Graph() takes no arguments");
        return NULL;
    }
    gl_py_state *st = gl_py_state_of_type(type);
    if (!st) return NULL;
    GraphObject *self = (GraphObject *)type->tp_alloc(type, 0);
    if (!self) return NULL;
    self->buffers = PyList_New(0);
    if (!self->buffers) { Py_DECREF(self); return NULL; }
    gl_error err;
    gl_error_clear(&err);
    if (gl_graph_new(&self->g, &err) != GL_OK) {
        self->g = NULL;
        Py_DECREF(self);
        return gl_py_raise_err(st->error, &err);
    }
    return (PyObject *)self;
}

static int graph_traverse(GraphObject *self, visitproc visit, void *arg) {
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->buffers);
    return 0;
}

static int graph_clear(GraphObject *self) {
    /* Only reached for an unreachable graph, i.e. with no live Program over
     * it (a Program holds a strong reference); the C graph stays until
     * dealloc so nothing can see dangling node data before then. */
    Py_CLEAR(self->buffers);
    return 0;
}

static void graph_dealloc(GraphObject *self) {
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    if (self->weakreflist) PyObject_ClearWeakRefs((PyObject *)self);
    if (self->g) {
        gl_graph_free(self->g);
        self->g = NULL;
    }
    graph_clear(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

/* ---- leaves ---- */

PyDoc_STRVAR(input_doc,
"input($self, shape)\n--\n\n"
"Append an INPUT node fed at run time (see Program.run).");

static PyObject *graph_input(GraphObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"shape", NULL};
    gl_shape s;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&:input", kwlist, gl_py_conv_shape, &s)) return NULL;
    if (gl_py_graph_writable(self) < 0) return NULL;
    return gl_py_graph_result(self, gl_input(self->g, s));
}

/* Keep buffer alive for as long as the graph (dedup against the last one:
 * usually all parameters share one flat buffer). */
int gl_py_graph_keep_buffer(GraphObject *self, PyObject *buffer) {
    if (!self->buffers) {
        self->buffers = PyList_New(0);
        if (!self->buffers) return -1;
    }
    Py_ssize_t n = PyList_GET_SIZE(self->buffers);
    if (n > 0 && PyList_GET_ITEM(self->buffers, n - 1) == buffer) return 0;
    return PyList_Append(self->buffers, buffer);
}

PyDoc_STRVAR(param_doc,
"param($self, buffer, offset, shape)\n--\n\n"
"Append a PARAM node viewing buffer[offset : offset + numel(shape)].\n"
"buffer: 1-D float32 C-contiguous writeable ndarray; the graph keeps a\n"
"reference to it.");

static PyObject *graph_param(GraphObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"buffer", "offset", "shape", NULL};
    PyObject *buffer;
    int64_t offset;
    gl_shape s;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO&O&:param", kwlist, &buffer, gl_py_conv_int64, &offset,
                                     gl_py_conv_shape, &s))
        return NULL;
    if (gl_py_check_f32_buffer(buffer, "buffer", 1, -1) < 0) return NULL;
    PyArrayObject *a = (PyArrayObject *)buffer;
    if (PyArray_NDIM(a) != 1) {
        char sh[96];
        gl_py_array_shape_str(a, sh, sizeof sh);
        PyErr_Format(PyExc_ValueError, "buffer must be 1-D, got shape %s", sh);
        return NULL;
    }
    int64_t size = (int64_t)PyArray_SIZE(a), numel = gl_shape_numel(&s);
    if (offset < 0 || offset > size || numel > size - offset) {
        char sh[96];
        gl_shape_str(&s, sh, sizeof sh);
        PyErr_Format(PyExc_ValueError,
                     "param: a parameter of shape %s at offset %lld needs elements [%lld, %lld) "
                     "but the buffer has %lld", sh, (long long)offset, (long long)offset,
                     (long long)offset + (long long)numel, (long long)size);
        return NULL;
    }
    if (gl_py_graph_writable(self) < 0) return NULL;
    if (gl_py_graph_keep_buffer(self, buffer) < 0) return NULL;
    float *data = (float *)PyArray_DATA(a) + offset;
    return gl_py_graph_result(self, gl_param(self->g, s, data));
}

PyDoc_STRVAR(fill_doc,
"fill($self, shape, value)\n--\n\n"
"Append a node whose every element is value.");

static PyObject *graph_fill(GraphObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"shape", "value", NULL};
    gl_shape s;
    float v;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&f:fill", kwlist, gl_py_conv_shape, &s, &v)) return NULL;
    if (gl_py_graph_writable(self) < 0) return NULL;
    return gl_py_graph_result(self, gl_fill(self->g, s, v));
}

PyDoc_STRVAR(const_doc,
"const($self, array)\n--\n\n"
"Append a constant node holding a float32 copy of array (0..4 dims).");

static PyObject *graph_const(GraphObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"array", NULL};
    PyObject *o;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O:const", kwlist, &o)) return NULL;
    PyArrayObject *a = gl_py_as_f32(o, "const");
    if (!a) return NULL;
    int nd = PyArray_NDIM(a);
    if (nd > GL_MAX_DIMS) {
        PyErr_Format(PyExc_ValueError, "const: arrays have at most %d dimensions, got %d", GL_MAX_DIMS, nd);
        Py_DECREF(a);
        return NULL;
    }
    int64_t d[GL_MAX_DIMS] = {1, 1, 1, 1};
    for (int i = 0; i < nd; i++) d[i] = (int64_t)PyArray_DIM(a, i);
    gl_shape s = gl_shape_make(nd, d);
    PyObject *res = NULL;
    if (gl_py_graph_writable(self) == 0)
        res = gl_py_graph_result(self, gl_const(self->g, s, (const float *)PyArray_DATA(a)));
    Py_DECREF(a);
    return res;
}

PyDoc_STRVAR(random_doc,
"random($self, kind, shape, f0=0.0, f1=1.0)\n--\n\n"
"Append a node drawn afresh on every run: kind 'uniform' (f0=low, f1=high),\n"
"'normal' (f0=mean, f1=std), 'dropout' (f0=p: 0 with probability p, else 1/(1-p))\n"
"or 'onehot' (shape (batch, n): each row one-hot at a uniform index).");

static PyObject *graph_random(GraphObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"kind", "shape", "f0", "f1", NULL};
    const char *kind;
    gl_shape s;
    float f0 = 0.0f, f1 = 1.0f;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "sO&|ff:random", kwlist, &kind, gl_py_conv_shape, &s, &f0, &f1))
        return NULL;
    gl_op op;
    if (strcmp(kind, "uniform") == 0) op = GL_OP_RAND_UNIFORM;
    else if (strcmp(kind, "normal") == 0) op = GL_OP_RAND_NORMAL;
    else if (strcmp(kind, "dropout") == 0) op = GL_OP_DROPOUT_MASK;
    else if (strcmp(kind, "onehot") == 0) op = GL_OP_RAND_ONEHOT;
    else {
        PyErr_Format(PyExc_ValueError, "random: unknown kind '%s' (known: uniform, normal, dropout, onehot)", kind);
        return NULL;
    }
    if (gl_py_graph_writable(self) < 0) return NULL;
    return gl_py_graph_result(self, gl_random(self->g, op, s, f0, f1));
}

/* ---- queries ---- */

PyDoc_STRVAR(shape_doc, "shape($self, node, /)\n--\n\nReturns tuple. The shape of a node.");

static PyObject *graph_shape(GraphObject *self, PyObject *arg) {
    int64_t v;
    int id;
    if (gl_py_as_int64(arg, "node", &v) < 0 || gl_py_graph_node(self, v, "shape", &id) < 0) return NULL;
    return gl_py_shape_to_tuple(&self->g->nodes[id].shape);
}

PyDoc_STRVAR(op_doc, "op($self, node, /)\n--\n\nReturns str. The op name of a node.");

static PyObject *graph_op(GraphObject *self, PyObject *arg) {
    int64_t v;
    int id;
    if (gl_py_as_int64(arg, "node", &v) < 0 || gl_py_graph_node(self, v, "op", &id) < 0) return NULL;
    return PyUnicode_FromString(gl_op_name(self->g->nodes[id].op));
}

PyDoc_STRVAR(grad_doc,
"grad($self, y, wrt, seed=-1)\n--\n\nReturns list[int]. "
"Append nodes computing d(sum of y)/d(wrt[k]) for each node in wrt.\n"
"seed >= 0 is a node giving the adjoint of y (same shape as y).\n"
"The gradient is itself a graph, so it can be differentiated again.");

static PyObject *graph_grad(GraphObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"y", "wrt", "seed", NULL};
    int64_t y64, seed64 = -1;
    PyObject *wrt_obj;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&O|O&:grad", kwlist, gl_py_conv_node, &y64, &wrt_obj,
                                     gl_py_conv_node, &seed64))
        return NULL;
    int y, seed = -1;
    if (gl_py_graph_node(self, y64, "grad: y", &y) < 0) return NULL;
    if (seed64 != -1 && gl_py_graph_node(self, seed64, "grad: seed", &seed) < 0) return NULL;
    int *wrt = NULL;
    Py_ssize_t n = 0;
    if (gl_py_node_list(self->g, wrt_obj, "grad: wrt", &wrt, &n) < 0) return NULL;
    PyObject *res = NULL;
    int *out = PyMem_Malloc((size_t)(n > 0 ? n : 1) * sizeof *out);
    if (!out) { PyErr_NoMemory(); goto done; }
    if (gl_py_graph_writable(self) < 0) goto done;
    gl_status stt = gl_grad(self->g, y, seed, (int)n, wrt, out);
    if (stt != GL_OK) {
        gl_py_state *st = gl_py_state_of_type(Py_TYPE(self));
        if (st) {
            gl_status code = self->g->err.code != GL_OK ? self->g->err.code : stt;
            gl_py_raise(st->error, code, self->g->err.msg);
        }
        gl_error_clear(&self->g->err);
        goto done;
    }
    res = PyList_New(n);
    if (!res) goto done;
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *v = PyLong_FromLong(out[k]);
        if (!v) { Py_CLEAR(res); goto done; }
        PyList_SET_ITEM(res, k, v);
    }
done:
    PyMem_Free(out);
    PyMem_Free(wrt);
    return res;
}

static PyObject *graph_get_n(GraphObject *self, void *closure) { return PyLong_FromLong(self->g->n); }

#define KW (METH_VARARGS | METH_KEYWORDS)
#define FN(f) ((PyCFunction)(void (*)(void))(f))

static PyMethodDef graph_methods[] = {
    {"input", FN(graph_input), KW, input_doc},
    {"param", FN(graph_param), KW, param_doc},
    {"fill", FN(graph_fill), KW, fill_doc},
    {"const", FN(graph_const), KW, const_doc},
    {"random", FN(graph_random), KW, random_doc},
    {"unary", FN(gl_py_graph_unary), KW, gl_py_graph_unary_doc},
    {"binary", FN(gl_py_graph_binary), KW, gl_py_graph_binary_doc},
    {"matmul", FN(gl_py_graph_matmul), KW, gl_py_graph_matmul_doc},
    {"sum_to", FN(gl_py_graph_sum_to), KW, gl_py_graph_sum_to_doc},
    {"broadcast_to", FN(gl_py_graph_broadcast_to), KW, gl_py_graph_broadcast_to_doc},
    {"logsumexp", FN(gl_py_graph_logsumexp), KW, gl_py_graph_logsumexp_doc},
    {"sumsq_rows", FN(gl_py_graph_sumsq_rows), KW, gl_py_graph_sumsq_rows_doc},
    {"stop_gradient", FN(gl_py_graph_stop_gradient), KW, gl_py_graph_stop_gradient_doc},
    {"reshape", FN(gl_py_graph_reshape), KW, gl_py_graph_reshape_doc},
    {"concat", FN(gl_py_graph_concat), KW, gl_py_graph_concat_doc},
    {"slice", FN(gl_py_graph_slice), KW, gl_py_graph_slice_doc},
    {"slice_grad", FN(gl_py_graph_slice_grad), KW, gl_py_graph_slice_grad_doc},
    {"conv2d", FN(gl_py_graph_conv2d), KW, gl_py_graph_conv2d_doc},
    {"conv_transpose2d", FN(gl_py_graph_conv_transpose2d), KW, gl_py_graph_conv_transpose2d_doc},
    {"conv2d_weight_grad", FN(gl_py_graph_conv2d_weight_grad), KW, gl_py_graph_conv2d_weight_grad_doc},
    {"max_pool2d", FN(gl_py_graph_max_pool2d), KW, gl_py_graph_max_pool2d_doc},
    {"avg_pool2d", FN(gl_py_graph_avg_pool2d), KW, gl_py_graph_avg_pool2d_doc},
    {"pool_adjoint", FN(gl_py_graph_pool_adjoint), KW, gl_py_graph_pool_adjoint_doc},
    {"upsample_nearest", FN(gl_py_graph_upsample_nearest), KW, gl_py_graph_upsample_nearest_doc},
    {"batch_norm", FN(gl_py_graph_batch_norm), KW, gl_py_graph_batch_norm_doc},
    {"instance_norm", FN(gl_py_graph_instance_norm), KW, gl_py_graph_instance_norm_doc},
    {"one_hot", FN(gl_py_graph_one_hot), KW, gl_py_graph_one_hot_doc},
    {"argmax", FN(gl_py_graph_argmax), KW, gl_py_graph_argmax_doc},
    {"argmin", FN(gl_py_graph_argmin), KW, gl_py_graph_argmin_doc},
    {"roll", FN(gl_py_graph_roll), KW, gl_py_graph_roll_doc},
    {"bernoulli", FN(gl_py_graph_bernoulli), KW, gl_py_graph_bernoulli_doc},
    {"shape", FN(graph_shape), METH_O, shape_doc},
    {"op", FN(graph_op), METH_O, op_doc},
    {"grad", FN(graph_grad), KW, grad_doc},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef graph_getset[] = {
    {"n", (getter)graph_get_n, NULL, "number of nodes so far", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(graph_doc,
"Graph()\n--\n\n"
"An append-only step graph of float32 tensor ops. Builders return node ids.");

static PyMemberDef graph_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(GraphObject, weakreflist), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot graph_slots[] = {
    {Py_tp_members, graph_members},
    {Py_tp_doc, (void *)graph_doc},
    {Py_tp_new, (void *)graph_new},
    {Py_tp_dealloc, (void *)graph_dealloc},
    {Py_tp_traverse, (void *)graph_traverse},
    {Py_tp_clear, (void *)graph_clear},
    {Py_tp_methods, graph_methods},
    {Py_tp_getset, graph_getset},
    {0, NULL},
};

static PyType_Spec graph_spec = {
    .name = "ganlib._C.Graph",
    .basicsize = sizeof(GraphObject),
    .itemsize = 0,
    .flags = GL_PY_TYPE_FLAGS,
    .slots = graph_slots,
};

int gl_py_graph_register(PyObject *module, gl_py_state *st) {
    PyObject *t = PyType_FromModuleAndSpec(module, &graph_spec, NULL);
    if (!t) return -1;
    st->graph_type = (PyTypeObject *)t;  /* owns the new reference */
    return PyModule_AddType(module, st->graph_type);
}
