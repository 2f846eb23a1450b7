/* gl_py_convert.h - conversions at the Python boundary.
 *
 * Every function that can fail returns -1 (or NULL) with a Python exception
 * set and leaves no reference behind. */
#ifndef GL_PY_CONVERT_H
#define GL_PY_CONVERT_H

#include "gl_py.h"

/* Raise the exception for a status: VALUE -> ValueError, TYPE -> TypeError,
 * NOMEM -> MemoryError, INTERRUPT -> KeyboardInterrupt, others -> ganlib_error
 * (GanlibError; RuntimeError if NULL).  Returns NULL. */
PyObject *gl_py_raise(PyObject *ganlib_error, gl_status code, const char *msg);
PyObject *gl_py_raise_err(PyObject *ganlib_error, const gl_error *err);

/* A Python int (or an object with __index__) that is not a bool.
 * what names the argument in the TypeError. 0 or -1. */
int gl_py_as_int64(PyObject *o, const char *what, int64_t *out);
/* A Python int in [0, 2**64): bool/float -> TypeError, out of range -> ValueError. */
int gl_py_as_uint64(PyObject *o, const char *what, uint64_t *out);

/* PyArg "O&" converters. */
int gl_py_conv_shape(PyObject *o, void *out);    /* -> gl_shape            */
int gl_py_conv_node(PyObject *o, void *out);     /* -> int64_t (unchecked)  */
int gl_py_conv_int64(PyObject *o, void *out);    /* -> int64_t              */

/* A tuple or list of 0..4 non-negative ints (bool/float -> TypeError,
 * negative, too many dims or too large -> ValueError). */
int gl_py_shape_from_obj(PyObject *o, const char *what, gl_shape *out);
PyObject *gl_py_shape_to_tuple(const gl_shape *s);

/* 0 <= id < g->n, else ValueError naming what. */
int gl_py_check_node(const gl_graph *g, int64_t id, const char *what, int *out);

/* A list or tuple of node ids, each checked; *out is PyMem_Malloc'ed (free
 * with PyMem_Free; at least one slot even for n = 0). */
int gl_py_node_list(const gl_graph *g, PyObject *o, const char *what, int **out, Py_ssize_t *n);

/* Refuse object, bytes/str, void, complex, datetime (anything not bool, int,
 * uint or float) with a TypeError naming the dtype.  0 or -1. */
int gl_py_check_numeric_dtype(PyArray_Descr *d, const char *what);

/* Any array-like -> new reference to a float32, C-contiguous, aligned ndarray
 * (no copy when o already is one). */
PyArrayObject *gl_py_as_f32(PyObject *o, const char *what);

/* o must be an ndarray of native float32, C-contiguous and aligned
 * (writeable when need_write).  Wrong type/dtype -> TypeError, layout ->
 * ValueError. numel >= 0 checks the number of elements. */
int gl_py_check_f32_buffer(PyObject *o, const char *what, int need_write, int64_t numel);

/* "(64, 2)" for an ndarray's shape / a gl_shape. */
void gl_py_array_shape_str(PyArrayObject *a, char *buf, int len);

#endif
