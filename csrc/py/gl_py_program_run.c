/* gl_py_program_run.c - Program.run and Program.step: convert and bind the
 * inputs, run the compiled step (and optimizer updates) with the GIL
 * released, return the outputs. */
#include "gl_py_program.h"
#include "gl_py_convert.h"

#include <limits.h>
#include <math.h>
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

/* step's `check`: the outputs that must be finite before any optimizer update. */
typedef struct run_checks {
    PyObject *seq;    /* tuple of the entries as given (names are read from it) */
    int n;
    int *out;         /* PyMem: output index of entry k */
    int64_t *numel;   /* PyMem: its number of floats */
    /* set by a failed check */
    int bad;          /* entry that failed, or -1 */
    int64_t bad_at;   /* element index */
    float bad_value;
} run_checks;

static void checks_free(run_checks *c) {
    Py_CLEAR(c->seq);
    PyMem_Free(c->out);
    PyMem_Free(c->numel);
    c->out = NULL;
    c->numel = NULL;
    c->n = 0;
}

/* Parse check: None, or a list/tuple whose entries are an output index or a
 * pair (output_index, name).  0 or -1 with an exception set. */
static int checks_parse(ProgramObject *self, PyObject *check, run_checks *c) {
    memset(c, 0, sizeof *c);
    c->bad = -1;
    if (!check || check == Py_None) return 0;
    if (!PyList_Check(check) && !PyTuple_Check(check)) {
        PyErr_Format(PyExc_TypeError, "check must be a list of output indices or (output_index, name) pairs, "
                     "not %.100s", Py_TYPE(check)->tp_name);
        return -1;
    }
    c->seq = PySequence_Tuple(check);
    if (!c->seq) return -1;
    const Py_ssize_t n = PyTuple_GET_SIZE(c->seq);
    if (n > INT_MAX) {
        PyErr_SetString(PyExc_ValueError, "check has too many entries");
        return -1;
    }
    c->out = PyMem_Malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    c->numel = PyMem_Malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
    if (!c->out || !c->numel) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *e = PyTuple_GET_ITEM(c->seq, k), *io = e;
        if (PyTuple_Check(e)) {
            if (PyTuple_GET_SIZE(e) != 2 || !PyUnicode_Check(PyTuple_GET_ITEM(e, 1))) {
                PyErr_Format(PyExc_TypeError, "check[%zd] must be an output index or a pair (output_index, name: str)",
                             k);
                return -1;
            }
            io = PyTuple_GET_ITEM(e, 0);
        }
        char what[48];
        snprintf(what, sizeof what, "check[%zd] output index", k);
        int64_t idx;
        if (gl_py_as_int64(io, what, &idx) < 0) return -1;
        if (idx < 0 || idx >= self->nout) {
            PyErr_Format(PyExc_ValueError, "%s must be in [0, %d) (the program has %d output%s), got %lld", what,
                         self->nout, self->nout, self->nout == 1 ? "" : "s", (long long)idx);
            return -1;
        }
        c->out[k] = (int)idx;
        c->numel[k] = gl_shape_numel(&self->graph->g->nodes[self->outs[idx]].shape);
    }
    c->n = (int)n;
    return 0;
}

/* Every checked output finite?  Runs without the GIL (reads C data only). */
static gl_status checks_run(ProgramObject *self, run_checks *c, gl_error *err) {
    for (int k = 0; k < c->n; k++) {
        if (c->numel[k] <= 0) continue;
        const float *v = gl_program_output(self->prog, c->out[k]);
        if (!v) return gl_fail(err, GL_ERR_INTERNAL, "internal error: output %d has no data after the run", c->out[k]);
        const int64_t i = gl_first_nonfinite(v, c->numel[k]);
        if (i < 0) continue;
        c->bad = k;
        c->bad_at = i;
        c->bad_value = v[i];
        return gl_fail(err, GL_ERR_NONFINITE, "a checked output is not finite");
    }
    return GL_OK;
}

/* FloatingPointError("Program.step: loss is inf (no optimizer update was applied)"). */
static void checks_raise(const run_checks *c) {
    PyObject *e = PyTuple_GET_ITEM(c->seq, c->bad);
    PyObject *name = PyTuple_Check(e) ? PyTuple_GET_ITEM(e, 1) : NULL;
    const float v = c->bad_value;
    const char *what = isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
    char at[32] = "";
    if (c->numel[c->bad] > 1) snprintf(at, sizeof at, "[%lld]", (long long)c->bad_at);
    if (name)
        PyErr_Format(PyExc_FloatingPointError, "Program.step: %U%s is %s (no optimizer update was applied)", name,
                     at, what);
    else
        PyErr_Format(PyExc_FloatingPointError, "Program.step: output %d%s is %s (no optimizer update was applied)",
                     c->out[c->bad], at, what);
}

static PyObject *run_impl(ProgramObject *self, PyObject *inputs, PyObject *optimizers, PyObject *check) {
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
    run_checks checks;
    memset(&checks, 0, sizeof checks);
    GraphObject *graph = self->graph;
    Py_INCREF(graph);
    self->busy = 1;  /* from here on: converting inputs may run Python code */

    if (checks_parse(self, check, &checks) < 0) goto done;

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
    status = GL_OK;
    /* an optimizer that cannot step refuses before the run, so none updates */
    for (Py_ssize_t i = 0; status == GL_OK && i < nopt; i++)
        status = gl_py_optimizer_can_step(PyTuple_GET_ITEM(opt_t, i), &err);
    if (status == GL_OK) status = gl_program_run(self->prog, pool, &self->rng, &err);
    /* the checks come before any update: a non-finite run changes no parameter */
    if (status == GL_OK) status = checks_run(self, &checks, &err);
    for (Py_ssize_t i = 0; status == GL_OK && i < nopt; i++)
        status = gl_py_optimizer_step_nogil(PyTuple_GET_ITEM(opt_t, i), pool, &err);
    gl_py_pool_unlock(st);
    Py_END_ALLOW_THREADS
    gl_py_pool_unreserve(st);
    graph->running--;

    if (status != GL_OK) {
        if (checks.bad >= 0)
            checks_raise(&checks);
        else
            gl_py_raise_err(st->error, &err);
        goto done;
    }
    res = collect_outputs(self);

done:
    checks_free(&checks);
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
    return run_impl(self, inputs, NULL, NULL);
}

const char gl_py_program_step_doc[] =
    "step($self, inputs, optimizers, check=None)\n--\n\nReturns list[ndarray]. "
    "run(inputs), then each optimizer's update, in one C call with the GIL released.\n"
    "check: output indices, or (output_index, name) pairs, whose every element must be\n"
    "finite after the run; otherwise no optimizer update is applied and\n"
    "FloatingPointError names the output (\"Program.step: loss is inf ...\").";

PyObject *gl_py_program_step(ProgramObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"inputs", "optimizers", "check", NULL};
    PyObject *inputs, *optimizers, *check = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|O:step", kwlist, &inputs, &optimizers, &check)) return NULL;
    return run_impl(self, inputs, optimizers, check);
}
