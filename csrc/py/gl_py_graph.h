/* gl_py_graph.h - the Graph object, shared by the Graph methods and Program. */
#ifndef GL_PY_GRAPH_H
#define GL_PY_GRAPH_H

#include "gl_py.h"

typedef struct GraphObject {
    PyObject_HEAD
    PyObject *weakreflist;
    gl_graph *g;
    PyObject *buffers;  /* list: the ndarrays PARAM nodes point into (kept alive) */
    int running;        /* programs over this graph running with the GIL released */
} GraphObject;

/* Builders may not append while a program runs (appending may move g->nodes).
 * 0, or -1 with GanlibError set. */
int gl_py_graph_writable(GraphObject *self);

/* A builder's result: the new node id as an int, or (id < 0) the exception
 * for g->err, which is then cleared. */
PyObject *gl_py_graph_result(GraphObject *self, int id);

/* Checks a node id argument against the graph. 0 or -1 (ValueError). */
int gl_py_graph_node(GraphObject *self, int64_t id, const char *what, int *out);

/* Keep an ndarray that nodes point into alive as long as the graph. 0 or -1. */
int gl_py_graph_keep_buffer(GraphObject *self, PyObject *buffer);

/* Methods implemented in gl_py_graph_ops.c and gl_py_graph_conv.c. */
PyObject *gl_py_graph_conv2d(GraphObject *self, PyObject *args, PyObject *kw);
PyObject *gl_py_graph_conv_transpose2d(GraphObject *self, PyObject *args, PyObject *kw);
PyObject *gl_py_graph_conv2d_weight_grad(GraphObject *self, PyObject *args, PyObject *kw);
PyObject *gl_py_graph_max_pool2d(GraphObject *self, PyObject *args, PyObject *kw);
PyObject *gl_py_graph_avg_pool2d(GraphObject *self, PyObject *args, PyObject *kw);
PyObject *gl_py_graph_pool_adjoint(GraphObject *self, PyObject *args, PyObject *kw);
PyObject *gl_py_graph_upsample_nearest(GraphObject *self, PyObject *args, PyObject *kw);
PyObject *gl_py_graph_batch_norm(GraphObject *self, PyObject *args, PyObject *kw);
PyObject *gl_py_graph_instance_norm(GraphObject *self, PyObject *args, PyObject *kw);
extern const char gl_py_graph_conv2d_doc[];
extern const char gl_py_graph_conv_transpose2d_doc[];
extern const char gl_py_graph_conv2d_weight_grad_doc[];
extern const char gl_py_graph_max_pool2d_doc[];
extern const char gl_py_graph_avg_pool2d_doc[];
extern const char gl_py_graph_pool_adjoint_doc[];
extern const char gl_py_graph_upsample_nearest_doc[];
extern const char gl_py_graph_batch_norm_doc[];
extern const char gl_py_graph_instance_norm_doc[];

PyObject *gl_py_graph_unary(GraphObject *self, PyObject *args, PyObject *kw);
PyObject *gl_py_graph_binary(GraphObject *self, PyObject *args, PyObject *kw);
PyObject *gl_py_graph_matmul(GraphObject *self, PyObject *args, PyObject *kw);
PyObject *gl_py_graph_sum_to(GraphObject *self, PyObject *args, PyObject *kw);
PyObject *gl_py_graph_broadcast_to(GraphObject *self, PyObject *args, PyObject *kw);
PyObject *gl_py_graph_logsumexp(GraphObject *self, PyObject *args, PyObject *kw);
PyObject *gl_py_graph_sumsq_rows(GraphObject *self, PyObject *args, PyObject *kw);
PyObject *gl_py_graph_stop_gradient(GraphObject *self, PyObject *args, PyObject *kw);
PyObject *gl_py_graph_reshape(GraphObject *self, PyObject *args, PyObject *kw);
PyObject *gl_py_graph_concat(GraphObject *self, PyObject *args, PyObject *kw);
PyObject *gl_py_graph_slice(GraphObject *self, PyObject *args, PyObject *kw);
PyObject *gl_py_graph_slice_grad(GraphObject *self, PyObject *args, PyObject *kw);
PyObject *gl_py_graph_one_hot(GraphObject *self, PyObject *args, PyObject *kw);
PyObject *gl_py_graph_argmax(GraphObject *self, PyObject *args, PyObject *kw);
PyObject *gl_py_graph_argmin(GraphObject *self, PyObject *args, PyObject *kw);
PyObject *gl_py_graph_roll(GraphObject *self, PyObject *args, PyObject *kw);
PyObject *gl_py_graph_bernoulli(GraphObject *self, PyObject *args, PyObject *kw);

extern const char gl_py_graph_unary_doc[];
extern const char gl_py_graph_binary_doc[];
extern const char gl_py_graph_matmul_doc[];
extern const char gl_py_graph_sum_to_doc[];
extern const char gl_py_graph_broadcast_to_doc[];
extern const char gl_py_graph_logsumexp_doc[];
extern const char gl_py_graph_sumsq_rows_doc[];
extern const char gl_py_graph_stop_gradient_doc[];
extern const char gl_py_graph_reshape_doc[];
extern const char gl_py_graph_concat_doc[];
extern const char gl_py_graph_slice_doc[];
extern const char gl_py_graph_slice_grad_doc[];
extern const char gl_py_graph_one_hot_doc[];
extern const char gl_py_graph_argmax_doc[];
extern const char gl_py_graph_argmin_doc[];
extern const char gl_py_graph_roll_doc[];
extern const char gl_py_graph_bernoulli_doc[];

#endif
