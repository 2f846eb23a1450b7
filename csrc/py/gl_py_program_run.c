/* gl_py_program_run.c - Program.run and Program.step: convert and bind the
 * inputs, run the compiled step (and optimizer updates) with the GIL
 * released, return the outputs. */
#include "gl_py_program.h"
#include "gl_py_convert.h"

#include <stdio.h>
#include <string.h>

static PyObject *raise_state(ProgramObject *self, const char *msg) {
    gl_py_state *st = gl_py_state_of_type(Py_TYPE(self));
    if (st) PyErr_SetString(st->error, msg);
    return NULL;
}

/* Convert input k into self->in_arrays[k] and check its shape. 0 or -1.
 * This runs every step: strings are formatted only for an error message. */
static int convert_input(ProgramObject *self, int k, PyObject *o) {
    PyArrayObject *a;
    if (PyArray_Check(o) && PyArray_TYPE((PyArrayObject *)o) == NPY_FLOAT32 &&
        PyArray_IS_C_CONTIGUOUS((PyArrayObject *)o) && PyArray_ISBEHAVED_RO((PyArrayObject *)o)) {
        Py_INCREF(o); /* aligned, native byte order: what the kernels read as is */
        a = (PyArrayObject *)o;
    } else {
        char what[32];
        snprintf(what, sizeof what, "input %d", k);
        a = gl_py_as_f32(o, what);
        if (!a) return -1;
    }
    Py_XSETREF(self->in_arrays[k], (PyObject *)a);

    /* look the node up now: Python code run by the conversion may have grown
     * the graph (moving its node array) */
    const gl_shape *want = &self->graph->g->nodes[self->in_nodes[k]].shape;
    int ok = PyArray_NDIM(a) == want->ndim;
    for (int i = 0; ok && i < want->ndim; i++) ok = (int64_t)PyArray_DIM(a, i) == want->d[i];
    if (ok && PyArray_SIZE(a) > 0) return 0;
    char got[96], exp[96];
    gl_py_array_shape_str(a, got, sizeof got);
    gl_shape_str(want, exp, sizeof exp);
    if (PyArray_SIZE(a) == 0)
        PyErr_Format(PyExc_ValueError, "input %d is empty: got shape %s, expected shape %s", k, got, exp);
    else
        PyErr_Format(PyExc_ValueError, "input %d: expected shape %s, got %s", k, exp, got);
    return -1;
}

/* The outputs after a successful run: sink arrays themselves, fresh copies otherwise. */
static PyObject *collect_outputs(ProgramObject *self) {
    PyObject *res = PyList_New(self->nout);
    if (!res) return NULL;
    for (int k = 0; k < self->nout; k++) {
        PyObject *sink = self->sinks ? PyTuple_GET_ITEM(self->sinks, k) : Py_None;
        if (sink != Py_None) {
            Py_INCREF(sink);
            PyList_SET_ITEM(res, k, sink);
            continue;
        }
        gl_shape s = self->graph->g->nodes[self->outs[k]].shape;
        npy_intp dims[GL_MAX_DIMS];
        for (int i = 0; i < s.ndim; i++) dims[i] = (npy_intp)s.d[i];
        PyObject *arr = PyArray_SimpleNew(s.ndim, dims, NPY_FLOAT32);
        if (!arr) { Py_DECREF(res); return NULL; }
        size_t n = (size_t)gl_shape_numel(&s);
        if (n > 0) {
            const float *src = gl_program_output(self->prog, k);
            if (!src) {
                Py_DECREF(arr);
                Py_DECREF(res);
                return raise_state(self, "internal error: an output has no data after the run");
            }
            memcpy(PyArray_DATA((PyArrayObject *)arr), src, n * sizeof(float));
        }
        PyList_SET_ITEM(res, k, arr);
    }
    return res;
}

static PyObject *run_impl(ProgramObject *self, PyObject *inputs, PyObject *optimizers) {
    gl_py_state *st = gl_py_state_of_type(Py_TYPE(self));
    if (!st) return NULL;
    if (!self->prog || !self->graph) return raise_state(self, "this Program was cleared by the garbage collector");
    if (self->busy)
        return raise_state(self, "this Program is already running in another thread (use one Program per thread)");
    if (!PyList_Check(inputs) && !PyTuple_Check(inputs)) {
        PyErr_Format(PyExc_TypeError, "inputs must be a list of arrays, not %.100s", Py_TYPE(inputs)->tp_name);
        return NULL;
    }

    PyObject *in_t = NULL, *opt_t = NULL, *res = NULL;
    GraphObject *graph = self->graph;
    Py_INCREF(graph);
    self->busy = 1;  /* from here on: converting inputs may run Python code */

    if (optimizers) {
        if (!PyList_Check(optimizers) && !PyTuple_Check(optimizers)) {
            PyErr_Format(PyExc_TypeError, "optimizers must be a list of Optimizer, not %.100s",
                         Py_TYPE(optimizers)->tp_name);
            goto done;
        }
        opt_t = PySequence_Tuple(optimizers);
        if (!opt_t) goto done;
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(opt_t); i++) {
            PyObject *o = PyTuple_GET_ITEM(opt_t, i);
            int r = gl_py_optimizer_check(o);
            if (r < 0 && PyErr_Occurred()) goto done;
            if (r <= 0) {
                PyErr_Format(PyExc_TypeError, "optimizers[%zd] must be an Optimizer, not %.100s", i,
                             Py_TYPE(o)->tp_name);
                goto done;
            }
        }
    }

    in_t = PySequence_Tuple(inputs);
    if (!in_t) goto done;
    if (PyTuple_GET_SIZE(in_t) != self->nin) {
        PyErr_Format(PyExc_ValueError, "expected %d input%s, got %zd", self->nin, self->nin == 1 ? "" : "s",
                     PyTuple_GET_SIZE(in_t));
        goto done;
    }
    for (int k = 0; k < self->nin; k++)
        if (convert_input(self, k, PyTuple_GET_ITEM(in_t, k)) < 0) goto done;

    gl_error err;
    gl_error_clear(&err);
    for (int k = 0; k < self->nin; k++) {
        const float *data = (const float *)PyArray_DATA((PyArrayObject *)self->in_arrays[k]);
        if (gl_program_bind(self->prog, self->in_nodes[k], data, &err) != GL_OK) {
            gl_py_raise_err(st->error, &err);
            goto done;
        }
    }

    Py_ssize_t nopt = opt_t ? PyTuple_GET_SIZE(opt_t) : 0;
    gl_status status;
    graph->running++;
    gl_py_pool_reserve(st);
    Py_BEGIN_ALLOW_THREADS
    gl_pool *pool = gl_py_pool_lock(st);
    status = gl_program_run(self->prog, pool, &self->rng, &err);
    for (Py_ssize_t i = 0; status == GL_OK && i < nopt; i++)
        status = gl_py_optimizer_step_nogil(PyTuple_GET_ITEM(opt_t, i), pool, &err);
    gl_py_pool_unlock(st);
    Py_END_ALLOW_THREADS
    gl_py_pool_unreserve(st);
    graph->running--;

    if (status != GL_OK) {
        gl_py_raise_err(st->error, &err);
        goto done;
    }
    res = collect_outputs(self);

done:
    for (int k = 0; k < self->nin; k++) Py_CLEAR(self->in_arrays[k]);
    self->busy = 0;
    Py_XDECREF(in_t);
    Py_XDECREF(opt_t);
    Py_DECREF(graph);
    return res;
}

const char gl_py_program_run_doc[] =
    "run($self, inputs)\n--\n\nReturns list[ndarray]. "
    "Run the compiled step. inputs: one array-like per entry of `inputs`, in that\n"
    "order, converted to float32 C-contiguous (object/str/complex refused) and\n"
    "checked against input_shapes. Returns fresh arrays for outputs without a\n"
    "sink and the sink array itself otherwise. The GIL is released while C runs.";

PyObject *gl_py_program_run(ProgramObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"inputs", NULL};
    PyObject *inputs;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O:run", kwlist, &inputs)) return NULL;
    return run_impl(self, inputs, NULL);
}

const char gl_py_program_step_doc[] =
    "step($self, inputs, optimizers)\n--\n\nReturns list[ndarray]. "
    "run(inputs), then each optimizer's update, in one C call with the GIL released.";

PyObject *gl_py_program_step(ProgramObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"inputs", "optimizers", NULL};
    PyObject *inputs, *optimizers;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO:step", kwlist, &inputs, &optimizers)) return NULL;
    return run_impl(self, inputs, optimizers);
}
