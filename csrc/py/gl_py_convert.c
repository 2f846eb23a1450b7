/* gl_py_convert.c - statuses to exceptions, shapes, node ids, arrays. */
#include "gl_py_convert.h"

#include <stdio.h>
#include <string.h>

PyObject *gl_py_raise(PyObject *ganlib_error, gl_status code, const char *msg) {
    PyObject *exc;
    const char *dflt;
    switch (code) {
    case GL_ERR_VALUE: exc = PyExc_ValueError; dflt = "invalid value"; break;
    case GL_ERR_TYPE: exc = PyExc_TypeError; dflt = "invalid type"; break;
    case GL_ERR_NOMEM: exc = PyExc_MemoryError; dflt = "out of memory"; break;
    case GL_ERR_INTERRUPT: exc = PyExc_KeyboardInterrupt; dflt = "interrupted"; break;
    case GL_ERR_UNSUPPORTED: exc = ganlib_error; dflt = "unsupported operation"; break;
    case GL_ERR_NONFINITE: exc = ganlib_error; dflt = "non-finite value"; break;
    case GL_OK: /* a failure reported without a code is a bug somewhere */
    default: exc = ganlib_error; dflt = "internal error in ganlib"; break;
    }
    if (!exc) exc = PyExc_RuntimeError;
    PyErr_SetString(exc, (msg && msg[0]) ? msg : dflt);
    return NULL;
}

PyObject *gl_py_raise_err(PyObject *ganlib_error, const gl_error *err) {
    return gl_py_raise(ganlib_error, err->code, err->msg);
}

int gl_py_as_int64(PyObject *o, const char *what, int64_t *out) {
    if (PyBool_Check(o) || PyFloat_Check(o) || !PyIndex_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be an int, not %.100s", what, Py_TYPE(o)->tp_name);
        return -1;
    }
    PyObject *idx = PyNumber_Index(o);
    if (!idx) return -1;
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(idx, &overflow);
    Py_DECREF(idx);
    if (v == -1 && PyErr_Occurred()) return -1;
    if (overflow) {
        PyErr_Format(PyExc_ValueError, "%s is out of range", what);
        return -1;
    }
    *out = (int64_t)v;
    return 0;
}

int gl_py_conv_int64(PyObject *o, void *out) {
    return gl_py_as_int64(o, "argument", (int64_t *)out) == 0;
}

int gl_py_conv_node(PyObject *o, void *out) {
    return gl_py_as_int64(o, "node id", (int64_t *)out) == 0;
}

int gl_py_shape_from_obj(PyObject *o, const char *what, gl_shape *out) {
    if (!PyTuple_Check(o) && !PyList_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be a tuple of ints, not %.100s", what, Py_TYPE(o)->tp_name);
        return -1;
    }
    Py_ssize_t nd = PySequence_Fast_GET_SIZE(o);
    if (nd > GL_MAX_DIMS) {
        PyErr_Format(PyExc_ValueError, "%s has %zd dimensions; at most %d are supported", what, nd, GL_MAX_DIMS);
        return -1;
    }
    int64_t d[GL_MAX_DIMS] = {1, 1, 1, 1};
    int64_t numel = 1;
    for (Py_ssize_t i = 0; i < nd; i++) {
        /* a list can change under us while __index__ runs: re-check the size */
        if (i >= PySequence_Fast_GET_SIZE(o)) {
            PyErr_Format(PyExc_ValueError, "%s changed size while it was read", what);
            return -1;
        }
        PyObject *item = PySequence_Fast_GET_ITEM(o, i);
        Py_INCREF(item);
        int rc = gl_py_as_int64(item, "shape entries", &d[i]);
        Py_DECREF(item);
        if (rc < 0) return -1;
        if (d[i] < 0) {
            PyErr_Format(PyExc_ValueError, "%s: dimension %zd is negative (%lld)", what, i, (long long)d[i]);
            return -1;
        }
        /* keep numel * sizeof(float) representable */
        if (d[i] > 0 && numel > (INT64_MAX / 4) / d[i]) {
            PyErr_Format(PyExc_ValueError, "%s is too large", what);
            return -1;
        }
        numel *= d[i];
    }
    *out = gl_shape_make((int)nd, d);
    return 0;
}

int gl_py_conv_shape(PyObject *o, void *out) {
    return gl_py_shape_from_obj(o, "shape", (gl_shape *)out) == 0;
}

PyObject *gl_py_shape_to_tuple(const gl_shape *s) {
    int nd = s->ndim < 0 ? 0 : (s->ndim > GL_MAX_DIMS ? GL_MAX_DIMS : s->ndim);
    PyObject *t = PyTuple_New(nd);
    if (!t) return NULL;
    for (int i = 0; i < nd; i++) {
        PyObject *v = PyLong_FromLongLong((long long)s->d[i]);
        if (!v) { Py_DECREF(t); return NULL; }
        PyTuple_SET_ITEM(t, i, v);
    }
    return t;
}

int gl_py_check_node(const gl_graph *g, int64_t id, const char *what, int *out) {
    if (id < 0 || id >= g->n) {
        PyErr_Format(PyExc_ValueError, "%s: node id %lld does not exist (the graph has %d nodes)",
                     what, (long long)id, g->n);
        return -1;
    }
    *out = (int)id;
    return 0;
}

int gl_py_node_list(const gl_graph *g, PyObject *o, const char *what, int **out, Py_ssize_t *n) {
    if (!PyList_Check(o) && !PyTuple_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be a list of node ids, not %.100s", what, Py_TYPE(o)->tp_name);
        return -1;
    }
    /* a snapshot: __index__ of an item may mutate a list */
    PyObject *t = PySequence_Tuple(o);
    if (!t) return -1;
    Py_ssize_t len = PyTuple_GET_SIZE(t);
    if (len > INT32_MAX / 2) {
        Py_DECREF(t);
        PyErr_Format(PyExc_ValueError, "%s is too long", what);
        return -1;
    }
    int *ids = PyMem_Malloc((size_t)(len > 0 ? len : 1) * sizeof *ids);
    if (!ids) { Py_DECREF(t); PyErr_NoMemory(); return -1; }
    for (Py_ssize_t k = 0; k < len; k++) {
        int64_t v;
        char name[96];
        snprintf(name, sizeof name, "%s[%zd]", what, k);
        if (gl_py_as_int64(PyTuple_GET_ITEM(t, k), name, &v) < 0 || gl_py_check_node(g, v, name, &ids[k]) < 0) {
            PyMem_Free(ids);
            Py_DECREF(t);
            return -1;
        }
    }
    Py_DECREF(t);
    *out = ids;
    *n = len;
    return 0;
}

static int dtype_is_numeric(PyArray_Descr *d) {
    switch (d->kind) {
    case 'b': case 'i': case 'u': case 'f': return 1;
    default: return 0;
    }
}

int gl_py_check_numeric_dtype(PyArray_Descr *d, const char *what) {
    if (dtype_is_numeric(d)) return 0;
    PyObject *s = PyObject_Str((PyObject *)d);
    if (!s) return -1;
    PyErr_Format(PyExc_TypeError,
                 "%s: arrays of dtype %U are not supported (expected real numbers, converted to float32)",
                 what, s);
    Py_DECREF(s);
    return -1;
}

PyArrayObject *gl_py_as_f32(PyObject *o, const char *what) {
    PyArrayObject *arr;
    if (PyArray_Check(o)) {
        Py_INCREF(o);
        arr = (PyArrayObject *)o;
    } else {
        /* discover the natural dtype first so that strings/objects are refused
         * rather than parsed or cast */
        arr = (PyArrayObject *)PyArray_FromAny(o, NULL, 0, 0, 0, NULL);
        if (!arr) return NULL;
    }
    if (gl_py_check_numeric_dtype(PyArray_DESCR(arr), what) < 0) {
        Py_DECREF(arr);
        return NULL;
    }
    PyObject *res = PyArray_FROM_OTF((PyObject *)arr, NPY_FLOAT32, NPY_ARRAY_IN_ARRAY | NPY_ARRAY_FORCECAST);
    Py_DECREF(arr);
    return (PyArrayObject *)res;
}

int gl_py_check_f32_buffer(PyObject *o, const char *what, int need_write, int64_t numel) {
    if (!PyArray_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be a numpy.ndarray of float32, not %.100s", what, Py_TYPE(o)->tp_name);
        return -1;
    }
    PyArrayObject *a = (PyArrayObject *)o;
    PyArray_Descr *d = PyArray_DESCR(a);
    if (d->type_num != NPY_FLOAT32 || !PyArray_ISNOTSWAPPED(a)) {
        PyObject *s = PyObject_Str((PyObject *)d);
        if (!s) return -1;
        PyErr_Format(PyExc_TypeError, "%s must have dtype float32 (native byte order), got %U", what, s);
        Py_DECREF(s);
        return -1;
    }
    if (!PyArray_IS_C_CONTIGUOUS(a)) {
        PyErr_Format(PyExc_ValueError, "%s must be C-contiguous (use numpy.ascontiguousarray)", what);
        return -1;
    }
    if (!PyArray_ISALIGNED(a)) {
        PyErr_Format(PyExc_ValueError, "%s must be aligned", what);
        return -1;
    }
    if (need_write && !PyArray_ISWRITEABLE(a)) {
        PyErr_Format(PyExc_ValueError, "%s must be writeable", what);
        return -1;
    }
    if (numel >= 0 && (int64_t)PyArray_SIZE(a) != numel) {
        PyErr_Format(PyExc_ValueError, "%s: expected %lld elements, got %lld", what, (long long)numel,
                     (long long)PyArray_SIZE(a));
        return -1;
    }
    return 0;
}

void gl_py_array_shape_str(PyArrayObject *a, char *buf, int len) {
    int nd = PyArray_NDIM(a);
    npy_intp *dims = PyArray_DIMS(a);
    int k = snprintf(buf, (size_t)len, "(");
    for (int i = 0; i < nd && k < len; i++)
        k += snprintf(buf + k, (size_t)(len - k), i ? ", %lld" : "%lld", (long long)dims[i]);
    if (k < len) snprintf(buf + k, (size_t)(len - k), nd == 1 ? ",)" : ")");
}

/* A Python int in [0, 2**64): bool/float -> TypeError, out of range -> ValueError. */
int gl_py_as_uint64(PyObject *o, const char *what, uint64_t *out) {
    if (PyBool_Check(o) || PyFloat_Check(o) || !PyIndex_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be an int, not %.100s", what, Py_TYPE(o)->tp_name);
        return -1;
    }
    PyObject *idx = PyNumber_Index(o);
    if (!idx) return -1;
    unsigned long long v = PyLong_AsUnsignedLongLong(idx);
    Py_DECREF(idx);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError)) return -1;
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "%s must be in [0, 2**64)", what);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

