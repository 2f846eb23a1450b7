/* gl_py_fit.c - ganlib._C.Fit: the C training loop (train/gl_fit.h) from Python.
 *
 * A Fit holds references to its streams' columns and to everything its phases point into
 * (programs, optimizers, post-action arrays, check names), so the raw
 * pointers handed to the C loop stay valid.  run() claims the programs (busy
 * flag, graph->running), the optimizers (gl_py_optimizer_slot, which also
 * re-reads their config so lr schedules apply) and the pool, then runs chunks
 * of steps with the GIL released, checking signals between chunks. */
#include "gl_py_fit.h"
#include "gl_py_convert.h"
#include "gl_py_program.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "train/gl_fit.h"

#define GL_PY_FIT_MAX_UOPT (GL_FIT_MAX_PHASES * GL_FIT_MAX_OPTS)
/* chunk_steps = 0 aims at chunks of this many seconds between signal checks */
#define GL_PY_FIT_CHUNK_S 0.02

typedef struct FitObject {
    PyObject_HEAD
    gl_fit *fit;          /* NULL only after tp_clear                               */
    PyObject *data;       /* tuple: the float32 (n, width) columns and names the fit reads */
    PyObject *refs;       /* tuple: what the phases point into, or NULL             */
    int nphase;
    gl_fit_phase phase[GL_FIT_MAX_PHASES];   /* programs, cfgs refreshed by run()   */
    PyObject *prog[GL_FIT_MAX_PHASES];       /* borrowed from refs                  */
    int opt_of[GL_FIT_MAX_PHASES][GL_FIT_MAX_OPTS];  /* index into uopt             */
    int nuopt;
    PyObject *uopt[GL_PY_FIT_MAX_UOPT];      /* distinct optimizers, borrowed       */
    int64_t uopt_t[GL_PY_FIT_MAX_UOPT];      /* their step counts during a run      */
    int busy;             /* run() in progress (GIL-protected flag)                  */
} FitObject;

static PyObject *raise_fit(FitObject *self, const char *msg) {
    gl_py_state *st = gl_py_state_of_type(Py_TYPE(self));
    if (st) PyErr_SetString(st->error, msg);
    return NULL;
}

/* 0 if the fit can be used now, else -1 with GanlibError.  Attributes too are
 * refused during a run: the loop writes them with the GIL released. */
static int check_idle(FitObject *self) {
    if (!self->fit) {
        raise_fit(self, "this Fit was cleared by the garbage collector");
        return -1;
    }
    if (self->busy) {
        raise_fit(self, "this Fit is running (use one Fit per thread)");
        return -1;
    }
    return 0;
}

static int as_int_range(PyObject *o, const char *what, int64_t lo, int64_t hi, int64_t *out) {
    if (gl_py_as_int64(o, what, out) < 0) return -1;
    if (*out < lo || *out > hi) {
        PyErr_Format(PyExc_ValueError, "%s must be between %lld and %lld, got %lld", what, (long long)lo,
                     (long long)hi, (long long)*out);
        return -1;
    }
    return 0;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- construction ---- */

/* What fit_new keeps alive: converted columns and the names' UTF-8. */
static int keep_obj(PyObject *list, PyObject *o) { return PyList_Append(list, o); }

static const char *utf8_name(PyObject *o, const char *what, PyObject *keep) {
    if (!PyUnicode_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be a str, not %.100s", what, Py_TYPE(o)->tp_name);
        return NULL;
    }
    const char *u = PyUnicode_AsUTF8(o);  /* cached in the str, which keep holds */
    if (!u || keep_obj(keep, o) < 0) return NULL;
    return u;
}

/* streams[s]: {"name": str, "columns": {name: array (n, width)}, "batch": int, "seed": int} */
static int parse_stream(PyObject *d, int s, gl_fit_stream *out, PyObject *keep) {
    char what[64];
    snprintf(what, sizeof what, "streams[%d]", s);
    if (!PyDict_Check(d)) {
        PyErr_Format(PyExc_TypeError, "%s must be a dict, not %.100s", what, Py_TYPE(d)->tp_name);
        return -1;
    }
    memset(out, 0, sizeof *out);
    PyObject *name = PyDict_GetItemString(d, "name"), *cols = PyDict_GetItemString(d, "columns");
    PyObject *batch = PyDict_GetItemString(d, "batch"), *seed = PyDict_GetItemString(d, "seed");
    if (!name || !cols || !batch || !seed || PyDict_Size(d) != 4) {
        PyErr_Format(PyExc_ValueError, "%s must have exactly the keys name, columns, batch and seed", what);
        return -1;
    }
    if (!(out->name = utf8_name(name, what, keep))) return -1;
    if (gl_py_as_int64(batch, "batch", &out->batch) < 0 || gl_py_as_uint64(seed, "seed", &out->seed) < 0) return -1;
    if (!PyDict_Check(cols) || PyDict_Size(cols) < 1 || PyDict_Size(cols) > GL_FIT_MAX_COLUMNS) {
        PyErr_Format(PyExc_ValueError, "%s columns must be a dict of 1 to %d arrays", what, GL_FIT_MAX_COLUMNS);
        return -1;
    }
    PyObject *key, *val;
    Py_ssize_t pos = 0;
    while (PyDict_Next(cols, &pos, &key, &val)) {
        gl_fit_column *c = &out->col[out->ncol];
        if (!(c->name = utf8_name(key, "a column name", keep))) return -1;
        char cw[160];
        snprintf(cw, sizeof cw, "stream '%s' column '%s'", out->name, c->name);
        PyArrayObject *a = gl_py_as_f32(val, cw);
        if (!a) return -1;
        int rc = keep_obj(keep, (PyObject *)a);
        Py_DECREF(a);   /* keep holds it */
        if (rc < 0) return -1;
        if (PyArray_NDIM(a) != 2) {
            char sb[96];
            gl_py_array_shape_str(a, sb, sizeof sb);
            PyErr_Format(PyExc_ValueError, "%s must be 2-D (n, width), got shape %s", cw, sb);
            return -1;
        }
        c->data = (const float *)PyArray_DATA(a);
        c->n = (int64_t)PyArray_DIM(a, 0);
        c->width = (int64_t)PyArray_DIM(a, 1);
        out->ncol++;
    }
    return 0;
}

static PyObject *fit_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"streams", NULL};
    PyObject *streams_obj;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O:Fit", kwlist, &streams_obj)) return NULL;
    gl_py_state *st = gl_py_state_of_type(type);
    if (!st) return NULL;
    if (!PyList_Check(streams_obj) && !PyTuple_Check(streams_obj)) {
        PyErr_Format(PyExc_TypeError, "streams must be a list of dicts, not %.100s", Py_TYPE(streams_obj)->tp_name);
        return NULL;
    }
    PyObject *t = PySequence_Tuple(streams_obj), *keep = PyList_New(0), *data = NULL;
    gl_fit_stream *streams = PyMem_Calloc(GL_FIT_MAX_STREAMS, sizeof *streams);
    if (!t || !keep || !streams) {
        if (!streams) PyErr_NoMemory();
        goto fail;
    }
    const Py_ssize_t ns = PyTuple_GET_SIZE(t);
    if (ns < 1 || ns > GL_FIT_MAX_STREAMS) {
        PyErr_Format(PyExc_ValueError, "a fit reads between 1 and %d data streams, got %zd", GL_FIT_MAX_STREAMS, ns);
        goto fail;
    }
    for (Py_ssize_t s = 0; s < ns; s++)
        if (parse_stream(PyTuple_GET_ITEM(t, s), (int)s, &streams[s], keep) < 0) goto fail;
    data = PyList_AsTuple(keep);
    if (!data) goto fail;

    gl_error err;
    gl_error_clear(&err);
    gl_fit *fit = NULL;
    gl_status status;
    Py_BEGIN_ALLOW_THREADS   /* the finiteness scan reads every value */
    status = gl_fit_new((int)ns, streams, &fit, &err);
    Py_END_ALLOW_THREADS
    if (status != GL_OK) {
        gl_py_raise_err(st->error, &err);
        goto fail;
    }
    FitObject *self = (FitObject *)type->tp_alloc(type, 0);
    if (!self) {
        gl_fit_free(fit);
        goto fail;
    }
    self->fit = fit;
    self->data = data;
    Py_DECREF(t);
    Py_DECREF(keep);
    PyMem_Free(streams);
    return (PyObject *)self;
fail:
    Py_XDECREF(t);
    Py_XDECREF(keep);
    Py_XDECREF(data);
    PyMem_Free(streams);
    return NULL;
}

static int fit_traverse(FitObject *self, visitproc visit, void *arg) {
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->data);
    Py_VISIT(self->refs);
    return 0;
}

static int fit_clear(FitObject *self) {
    if (self->busy) return 0;  /* never pull memory from under a run */
    /* the C fit borrows data and the phases' buffers: free it first */
    gl_fit_free(self->fit);
    self->fit = NULL;
    self->nphase = 0;
    self->nuopt = 0;
    Py_CLEAR(self->refs);
    Py_CLEAR(self->data);
    return 0;
}

static void fit_dealloc(FitObject *self) {
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    self->busy = 0;
    fit_clear(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

/* ---- set_phases: parsing ---- */

/* What set_phases builds before committing it to self. */
typedef struct phases_build {
    int nphase;
    gl_fit_phase phase[GL_FIT_MAX_PHASES];
    PyObject *prog[GL_FIT_MAX_PHASES];
    int opt_of[GL_FIT_MAX_PHASES][GL_FIT_MAX_OPTS];
    int nuopt;
    PyObject *uopt[GL_PY_FIT_MAX_UOPT];
    PyObject *refs;   /* list */
} phases_build;

static int keep(phases_build *b, PyObject *o) { return PyList_Append(b->refs, o); }

/* A list or tuple (new reference to a tuple) with at most max entries. */
static PyObject *as_seq(PyObject *o, const char *what, Py_ssize_t max) {
    if (!PyList_Check(o) && !PyTuple_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be a list, not %.100s", what, Py_TYPE(o)->tp_name);
        return NULL;
    }
    PyObject *t = PySequence_Tuple(o);
    if (t && PyTuple_GET_SIZE(t) > max) {
        PyErr_Format(PyExc_ValueError, "%s has %zd entries, at most %zd are supported", what, PyTuple_GET_SIZE(t), max);
        Py_CLEAR(t);
    }
    return t;
}

/* A tuple of exactly n entries (borrowed items through *t). */
static int as_tuple_n(PyObject *o, const char *what, Py_ssize_t n, const char *form) {
    if (!PyTuple_Check(o) || PyTuple_GET_SIZE(o) != n) {
        PyErr_Format(PyExc_TypeError, "%s must be a tuple %s", what, form);
        return -1;
    }
    return 0;
}

static int as_double(PyObject *o, const char *what, double *out) {
    if (PyBool_Check(o) || !(PyFloat_Check(o) || PyLong_Check(o) || PyIndex_Check(o))) {
        PyErr_Format(PyExc_TypeError, "%s must be a number, not %.100s", what, Py_TYPE(o)->tp_name);
        return -1;
    }
    *out = PyFloat_AsDouble(o);
    return (*out == -1.0 && PyErr_Occurred()) ? -1 : 0;
}

/* double -> float without undefined behaviour: out of range becomes +-inf (NaN stays NaN). */
static float to_float(double v) {
    if (v > FLT_MAX) return INFINITY;
    if (v < -FLT_MAX) return -INFINITY;
    return (float)v;
}

static int parse_post(phases_build *b, const char *where, int k, PyObject *o, gl_fit_post *q) {
    char what[96], w2[160];
    snprintf(what, sizeof what, "%s.post[%d]", where, k);
    static const char form[] =
        "('clip', param, c), ('ema', param, avg, decay) or ('running_mean', param, avg, count)";
    if (!PyTuple_Check(o) || PyTuple_GET_SIZE(o) < 1 || !PyUnicode_Check(PyTuple_GET_ITEM(o, 0))) {
        PyErr_Format(PyExc_TypeError, "%s must be a tuple %s", what, form);
        return -1;
    }
    const char *kind = PyUnicode_AsUTF8(PyTuple_GET_ITEM(o, 0));
    if (!kind) return -1;
    memset(q, 0, sizeof *q);
    if (strcmp(kind, "clip") == 0) {
        if (as_tuple_n(o, what, 3, form) < 0) return -1;
        q->kind = GL_POST_CLIP;
    } else if (strcmp(kind, "ema") == 0) {
        if (as_tuple_n(o, what, 4, form) < 0) return -1;
        q->kind = GL_POST_EMA;
    } else if (strcmp(kind, "running_mean") == 0) {
        if (as_tuple_n(o, what, 4, form) < 0) return -1;
        q->kind = GL_POST_RUNNING_MEAN;
    } else {
        PyErr_Format(PyExc_ValueError, "%s: unknown action '%s' (expected 'clip', 'ema' or 'running_mean')", what,
                     kind);
        return -1;
    }
    PyObject *param = PyTuple_GET_ITEM(o, 1);
    snprintf(w2, sizeof w2, "%s param", what);
    /* clip writes the parameters; the averages only read them */
    if (gl_py_check_f32_buffer(param, w2, q->kind == GL_POST_CLIP, -1) < 0 || keep(b, param) < 0) return -1;
    q->param = (float *)PyArray_DATA((PyArrayObject *)param);
    q->n = (int64_t)PyArray_SIZE((PyArrayObject *)param);

    if (q->kind == GL_POST_CLIP) {
        double c;
        snprintf(w2, sizeof w2, "%s c", what);
        if (as_double(PyTuple_GET_ITEM(o, 2), w2, &c) < 0) return -1;
        q->a = to_float(c);   /* the C core checks the bound */
        return 0;
    }
    PyObject *avg = PyTuple_GET_ITEM(o, 2);
    snprintf(w2, sizeof w2, "%s avg", what);
    if (gl_py_check_f32_buffer(avg, w2, 1, q->n) < 0 || keep(b, avg) < 0) return -1;
    q->avg = (float *)PyArray_DATA((PyArrayObject *)avg);
    if (q->kind == GL_POST_EMA) {
        double d;
        snprintf(w2, sizeof w2, "%s decay", what);
        if (as_double(PyTuple_GET_ITEM(o, 3), w2, &d) < 0) return -1;
        q->a = to_float(d);   /* the C core checks the decay */
        return 0;
    }
    PyObject *count = PyTuple_GET_ITEM(o, 3);
    PyArrayObject *ca = (PyArrayObject *)count;
    if (!PyArray_Check(count) || PyArray_TYPE(ca) != NPY_INT64 || !PyArray_ISNOTSWAPPED(ca) || PyArray_SIZE(ca) != 1 ||
        !PyArray_ISALIGNED(ca) || !PyArray_ISWRITEABLE(ca)) {
        PyErr_Format(PyExc_TypeError, "%s count must be a writeable numpy int64 array of shape (1,)", what);
        return -1;
    }
    if (keep(b, count) < 0) return -1;
    q->count = (int64_t *)PyArray_DATA(ca);
    return 0;
}

/* (output_index, name) or (output_index, column) pairs. */
static int parse_pairs(phases_build *b, const char *where, const char *key, PyObject *o, ProgramObject *prog,
                       gl_fit_phase *ph, int recording) {
    char what[96];
    snprintf(what, sizeof what, "%s.%s", where, key);
    PyObject *t = as_seq(o, what, recording ? GL_FIT_MAX_RECORD : GL_FIT_MAX_CHECKS);
    if (!t) return -1;
    const gl_graph *g = prog->graph->g;
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(t); k++) {
        PyObject *e = PyTuple_GET_ITEM(t, k);
        char w[160];
        snprintf(w, sizeof w, "%s[%zd]", what, k);
        if (!PyTuple_Check(e) || PyTuple_GET_SIZE(e) != 2) {
            PyErr_Format(PyExc_TypeError, "%s must be a tuple %s", w,
                         recording ? "(output_index, column)" : "(output_index, name)");
            goto fail;
        }
        int64_t idx;
        char wi[176];
        snprintf(wi, sizeof wi, "%s output_index", w);
        if (as_int_range(PyTuple_GET_ITEM(e, 0), wi, 0, prog->nout - 1, &idx) < 0) goto fail;
        const int64_t numel = gl_shape_numel(&g->nodes[prog->outs[idx]].shape);
        if (recording) {
            int64_t col;
            snprintf(wi, sizeof wi, "%s column", w);
            if (as_int_range(PyTuple_GET_ITEM(e, 1), wi, 0, INT_MAX, &col) < 0) goto fail;
            if (numel != 1) {
                char sb[96];
                PyErr_Format(PyExc_ValueError, "%s: output %lld has shape %s; only scalars can be recorded", w,
                             (long long)idx, gl_shape_str(&g->nodes[prog->outs[idx]].shape, sb, sizeof sb));
                goto fail;
            }
            ph->record[k] = (int)idx;
            ph->record_col[k] = (int)col;
            ph->nrecord = (int)k + 1;
        } else {
            PyObject *name = PyTuple_GET_ITEM(e, 1);
            if (!PyUnicode_Check(name)) {
                PyErr_Format(PyExc_TypeError, "%s: name must be a str, not %.100s", w, Py_TYPE(name)->tp_name);
                goto fail;
            }
            /* the UTF-8 form is cached in the str, which refs keeps alive */
            const char *s = PyUnicode_AsUTF8(name);
            if (!s || keep(b, name) < 0) goto fail;
            if (numel < 1) {
                PyErr_Format(PyExc_ValueError, "%s: output %lld is empty", w, (long long)idx);
                goto fail;
            }
            ph->check[k] = (int)idx;
            ph->check_numel[k] = numel;
            ph->check_name[k] = s;
            ph->ncheck = (int)k + 1;
        }
    }
    Py_DECREF(t);
    return 0;
fail:
    Py_DECREF(t);
    return -1;
}

/* feeds: list of (input_node, stream, column); the C core checks them. */
static int parse_feeds(const char *where, PyObject *o, gl_fit_phase *ph) {
    char what[64];
    snprintf(what, sizeof what, "%s.feeds", where);
    PyObject *t = as_seq(o, what, GL_FIT_MAX_FEEDS);
    if (!t) return -1;
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(t); k++) {
        PyObject *e = PyTuple_GET_ITEM(t, k);
        char w[96];
        snprintf(w, sizeof w, "%s[%zd]", what, k);
        if (as_tuple_n(e, w, 3, "(input_node, stream, column)") < 0) goto fail;
        int64_t v[3];
        for (int i = 0; i < 3; i++)
            if (as_int_range(PyTuple_GET_ITEM(e, i), w, 0, INT_MAX, &v[i]) < 0) goto fail;
        ph->feed[k] = (gl_fit_feed){(int)v[0], (int)v[1], (int)v[2]};
        ph->nfeed = (int)k + 1;
    }
    Py_DECREF(t);
    return 0;
fail:
    Py_DECREF(t);
    return -1;
}

static const char *const phase_keys[] = {"program", "repeats", "redraw", "feeds", "optimizers",
                                         "post", "check", "record", NULL};

static int parse_phase_dict(FitObject *self, phases_build *b, int p, PyObject *d) {
    char where[32];
    snprintf(where, sizeof where, "phases[%d]", p);
    gl_py_state *st = gl_py_state_of_type(Py_TYPE(self));
    if (!st) return -1;
    if (!PyDict_Check(d)) {
        PyErr_Format(PyExc_TypeError, "%s must be a dict, not %.100s", where, Py_TYPE(d)->tp_name);
        return -1;
    }
    PyObject *key, *val;
    Py_ssize_t pos = 0;
    while (PyDict_Next(d, &pos, &key, &val)) {
        int ok = 0;
        if (PyUnicode_Check(key))
            for (int i = 0; phase_keys[i] && !ok; i++) ok = PyUnicode_CompareWithASCIIString(key, phase_keys[i]) == 0;
        if (!ok) {
            PyErr_Format(PyExc_ValueError,
                         "%s: unknown key %R (expected program, repeats, redraw, feeds, optimizers, "
                         "post, check, record)",
                         where, key);
            return -1;
        }
    }
    gl_fit_phase *ph = &b->phase[p];
    memset(ph, 0, sizeof *ph);

    PyObject *po = PyDict_GetItemString(d, "program");  /* borrowed */
    if (!po) {
        PyErr_Format(PyExc_ValueError, "%s: 'program' is required", where);
        return -1;
    }
    if (!PyObject_TypeCheck(po, st->program_type)) {
        PyErr_Format(PyExc_TypeError, "%s: program must be a Program, not %.100s", where, Py_TYPE(po)->tp_name);
        return -1;
    }
    ProgramObject *prog = (ProgramObject *)po;
    if (!prog->prog || !prog->graph) {
        PyErr_Format(st->error, "%s: the Program was cleared by the garbage collector", where);
        return -1;
    }
    if (keep(b, po) < 0) return -1;
    b->prog[p] = po;

    int64_t v;
    char what[64];
    PyObject *o = PyDict_GetItemString(d, "repeats");
    ph->repeats = 1;
    if (o) {
        snprintf(what, sizeof what, "%s.repeats", where);
        if (as_int_range(o, what, 1, INT_MAX, &v) < 0) return -1;
        ph->repeats = (int)v;
    }
    o = PyDict_GetItemString(d, "redraw");
    if (o) {
        snprintf(what, sizeof what, "%s.redraw", where);
        PyObject *t = as_seq(o, what, GL_FIT_MAX_STREAMS);
        if (!t) return -1;
        for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(t); k++) {
            if (as_int_range(PyTuple_GET_ITEM(t, k), what, 0, GL_FIT_MAX_STREAMS - 1, &v) < 0) {
                Py_DECREF(t);
                return -1;
            }
            ph->redraw |= 1u << v;
        }
        Py_DECREF(t);
    }
    o = PyDict_GetItemString(d, "feeds");
    if (o && parse_feeds(where, o, ph) < 0) return -1;


    o = PyDict_GetItemString(d, "optimizers");
    if (o) {
        snprintf(what, sizeof what, "%s.optimizers", where);
        PyObject *t = as_seq(o, what, GL_FIT_MAX_OPTS);
        if (!t) return -1;
        for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(t); k++) {
            PyObject *opt = PyTuple_GET_ITEM(t, k);
            if (!gl_py_optimizer_check(opt)) {
                PyErr_Format(PyExc_TypeError, "%s[%zd] must be an Optimizer, not %.100s", what, k,
                             Py_TYPE(opt)->tp_name);
                Py_DECREF(t);
                return -1;
            }
            int u = 0;
            while (u < b->nuopt && b->uopt[u] != opt) u++;
            if (u == b->nuopt) {
                if (keep(b, opt) < 0) { Py_DECREF(t); return -1; }
                b->uopt[b->nuopt++] = opt;
            }
            b->opt_of[p][k] = u;
        }
        ph->nopt = (int)PyTuple_GET_SIZE(t);
        Py_DECREF(t);
    }

    o = PyDict_GetItemString(d, "post");
    if (o) {
        snprintf(what, sizeof what, "%s.post", where);
        PyObject *t = as_seq(o, what, GL_FIT_MAX_POST);
        if (!t) return -1;
        for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(t); k++)
            if (parse_post(b, where, (int)k, PyTuple_GET_ITEM(t, k), &ph->post[k]) < 0) {
                Py_DECREF(t);
                return -1;
            }
        ph->npost = (int)PyTuple_GET_SIZE(t);
        Py_DECREF(t);
    }
    o = PyDict_GetItemString(d, "check");
    if (o && parse_pairs(b, where, "check", o, prog, ph, 0) < 0) return -1;
    o = PyDict_GetItemString(d, "record");
    if (o && parse_pairs(b, where, "record", o, prog, ph, 1) < 0) return -1;
    return 0;
}

/* Parse from a private copy of the dict: conversions (__index__, __bool__)
 * run user code that could otherwise drop the values we borrow. */
static int parse_phase(FitObject *self, phases_build *b, int p, PyObject *d) {
    if (!PyDict_Check(d)) {
        PyErr_Format(PyExc_TypeError, "phases[%d] must be a dict, not %.100s", p, Py_TYPE(d)->tp_name);
        return -1;
    }
    PyObject *copy = PyDict_Copy(d);
    if (!copy) return -1;
    int rc = parse_phase_dict(self, b, p, copy);
    Py_DECREF(copy);
    return rc;
}

/* ---- claiming programs and optimizers for a run ---- */

typedef struct claim {
    int nprog;
    ProgramObject *prog[GL_FIT_MAX_PHASES];
    int nopt;
    PyObject *opt[GL_PY_FIT_MAX_UOPT];
    gl_fit_opt uslot[GL_PY_FIT_MAX_UOPT];
} claim;

static void release_claim(FitObject *self, claim *c) {
    for (int u = 0; u < c->nopt; u++) gl_py_optimizer_slot_release(c->opt[u], self->uopt_t[u]);
    for (int k = 0; k < c->nprog; k++) {
        c->prog[k]->busy = 0;
        c->prog[k]->graph->running--;
    }
    c->nopt = c->nprog = 0;
}

/* Mark the programs busy (their graphs running), claim the optimizers, and
 * fill the C phases with current pointers and configs.  0, or -1 with an
 * exception set and nothing claimed. */
static int take_claim(FitObject *self, phases_build *b, claim *c) {
    gl_py_state *st = gl_py_state_of_type(Py_TYPE(self));
    if (!st) return -1;
    c->nprog = c->nopt = 0;
    for (int p = 0; p < b->nphase; p++) {
        ProgramObject *prog = (ProgramObject *)b->prog[p];
        int seen = 0;
        for (int k = 0; k < c->nprog; k++) seen |= c->prog[k] == prog;
        if (seen) continue;
        if (!prog->prog || !prog->graph) {
            PyErr_Format(st->error, "phases[%d]: the Program was cleared by the garbage collector", p);
            goto fail;
        }
        if (prog->busy) {
            PyErr_Format(st->error, "phases[%d]: the Program is running in another thread", p);
            goto fail;
        }
        prog->busy = 1;
        prog->graph->running++;
        c->prog[c->nprog++] = prog;
    }
    for (int u = 0; u < b->nuopt; u++) {
        c->uslot[u].t = &self->uopt_t[u];
        if (gl_py_optimizer_slot(b->uopt[u], &c->uslot[u]) < 0) goto fail;
        c->opt[u] = b->uopt[u];
        c->nopt = u + 1;
    }
    for (int p = 0; p < b->nphase; p++) {
        ProgramObject *prog = (ProgramObject *)b->prog[p];
        gl_fit_phase *ph = &b->phase[p];
        ph->prog = prog->prog;
        ph->rng = &prog->rng;
        ph->graph = prog->graph->g;
        for (int k = 0; k < ph->nopt; k++) ph->opt[k] = c->uslot[b->opt_of[p][k]];
    }
    return 0;
fail:
    release_claim(self, c);
    return -1;
}

/* ---- methods ---- */

PyDoc_STRVAR(set_phases_doc,
"set_phases($self, phases, /)\n--\n\n"
"Set the phases run in order every step. Each is a dict with keys program\n"
"(Program), repeats (int >= 1, default 1), redraw (list of stream indices\n"
"drawn afresh before every repeat), feeds (list of (input_node, stream,\n"
"column): every program input exactly once), optimizers\n"
"(list[Optimizer]), post (list of ('clip', param, c) | ('ema', param, avg,\n"
"decay) | ('running_mean', param, avg, count)), check (list of\n"
"(output_index, name)) and record (list of (output_index, column)).");

static PyObject *fit_set_phases(FitObject *self, PyObject *arg) {
    if (check_idle(self) < 0) return NULL;
    gl_py_state *st = gl_py_state_of_type(Py_TYPE(self));
    if (!st) return NULL;
    PyObject *t = as_seq(arg, "phases", GL_FIT_MAX_PHASES);
    if (!t) return NULL;
    if (PyTuple_GET_SIZE(t) == 0) {
        PyErr_Format(PyExc_ValueError, "phases must have between 1 and %d entries", GL_FIT_MAX_PHASES);
        Py_DECREF(t);
        return NULL;
    }
    phases_build *b = PyMem_Calloc(1, sizeof *b);
    if (!b) {
        Py_DECREF(t);
        return PyErr_NoMemory();
    }
    PyObject *res = NULL, *refs = NULL;
    b->refs = PyList_New(0);
    if (!b->refs) goto done;
    /* parsing may run Python code (__index__, __bool__): keep others out */
    self->busy = 1;
    b->nphase = (int)PyTuple_GET_SIZE(t);
    for (int p = 0; p < b->nphase; p++)
        if (parse_phase(self, b, p, PyTuple_GET_ITEM(t, p)) < 0) goto done;

    /* the tuple first: once C has the phases, nothing may fail before commit */
    refs = PyList_AsTuple(b->refs);
    if (!refs) goto done;
    /* let the C side validate too (and bind the batch buffer) */
    claim c;
    if (take_claim(self, b, &c) < 0) goto done;
    gl_error err;
    gl_error_clear(&err);
    gl_status status = gl_fit_set_phases(self->fit, b->nphase, b->phase, &err);
    release_claim(self, &c);
    if (status != GL_OK) {
        gl_py_raise_err(st->error, &err);
        goto done;
    }
    self->nphase = b->nphase;
    memcpy(self->phase, b->phase, sizeof b->phase);
    memcpy(self->prog, b->prog, sizeof b->prog);
    memcpy(self->opt_of, b->opt_of, sizeof b->opt_of);
    self->nuopt = b->nuopt;
    memcpy(self->uopt, b->uopt, sizeof b->uopt);
    Py_XSETREF(self->refs, refs);
    refs = NULL;
    Py_INCREF(Py_None);
    res = Py_None;
done:
    self->busy = 0;
    Py_XDECREF(refs);
    Py_XDECREF(b->refs);
    PyMem_Free(b);
    Py_DECREF(t);
    return res;
}

PyDoc_STRVAR(run_doc,
"run($self, steps, history, chunk_steps=0)\n--\n\nReturns int. "
"Run `steps` steps with the GIL released, in chunks of chunk_steps (0: about\n"
"20 ms each) with signal checks between them. history: float32 (steps, ncols)\n"
"writeable C-contiguous; recorded outputs go to their columns, row per step.\n"
"A non-finite checked value raises FloatingPointError (that run's updates not\n"
"applied); Ctrl-C raises KeyboardInterrupt at a step boundary with `step` and\n"
"the history rows done valid. Returns the number of steps done.");

static PyObject *fit_run(FitObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"steps", "history", "chunk_steps", NULL};
    PyObject *steps_obj, *history, *chunk_obj = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|O:run", kwlist, &steps_obj, &history, &chunk_obj)) return NULL;
    gl_py_state *st = gl_py_state_of_type(Py_TYPE(self));
    if (!st) return NULL;
    int64_t steps, chunk_steps = 0;
    if (as_int_range(steps_obj, "steps", 0, INT64_MAX, &steps) < 0) return NULL;
    if (chunk_obj && as_int_range(chunk_obj, "chunk_steps", 0, INT64_MAX, &chunk_steps) < 0) return NULL;
    if (check_idle(self) < 0) return NULL;
    if (self->nphase == 0) return raise_fit(self, "no phases: call set_phases first");
    if (gl_py_check_f32_buffer(history, "history", 1, -1) < 0) return NULL;
    PyArrayObject *h = (PyArrayObject *)history;
    if (PyArray_NDIM(h) != 2 || (int64_t)PyArray_DIM(h, 0) != steps || PyArray_DIM(h, 1) > INT_MAX) {
        char sb[96];
        gl_py_array_shape_str(h, sb, sizeof sb);
        PyErr_Format(PyExc_ValueError, "history must have shape (steps, ncols) = (%lld, ncols), got %s",
                     (long long)steps, sb);
        return NULL;
    }
    const int ncols = (int)PyArray_DIM(h, 1);
    float *hist = (float *)PyArray_DATA(h);

    /* refresh programs, optimizer configs and pointers into the C phases */
    phases_build *b = PyMem_Calloc(1, sizeof *b);
    if (!b) return PyErr_NoMemory();
    b->nphase = self->nphase;
    memcpy(b->phase, self->phase, sizeof b->phase);
    memcpy(b->prog, self->prog, sizeof b->prog);
    memcpy(b->opt_of, self->opt_of, sizeof b->opt_of);
    b->nuopt = self->nuopt;
    memcpy(b->uopt, self->uopt, sizeof b->uopt);

    claim c;
    if (take_claim(self, b, &c) < 0) {
        PyMem_Free(b);
        return NULL;
    }
    gl_error err;
    gl_error_clear(&err);
    gl_status status = gl_fit_set_phases(self->fit, b->nphase, b->phase, &err);
    PyMem_Free(b);
    if (status != GL_OK) {
        release_claim(self, &c);
        return gl_py_raise_err(st->error, &err);
    }

    Py_INCREF(self);
    Py_INCREF(history);
    self->busy = 1;
    gl_py_pool_reserve(st);
    int64_t done = 0, chunk = chunk_steps > 0 ? chunk_steps : 1;
    int signalled = 0;
    gl_fit *fit = self->fit;
    while (done < steps) {
        const int64_t want = chunk < steps - done ? chunk : steps - done;
        int64_t d = 0;
        double t0 = now_s(), dt;
        Py_BEGIN_ALLOW_THREADS
        gl_pool *pool = gl_py_pool_lock(st);
        status = gl_fit_run(fit, want, hist + done * (int64_t)ncols, ncols, pool, NULL, &d, &err);
        gl_py_pool_unlock(st);
        Py_END_ALLOW_THREADS
        dt = now_s() - t0;
        done += d;
        if (status != GL_OK || done >= steps) break;
        if (PyErr_CheckSignals() < 0) {
            signalled = 1;
            break;
        }
        if (chunk_steps == 0 && d > 0) {
            /* aim for ~20 ms per chunk; grow at most 16x per chunk (the first steps may be cold) */
            const double per = dt / (double)d;
            int64_t next = per > 0.0 ? (int64_t)(GL_PY_FIT_CHUNK_S / per) : chunk * 16;
            if (next > chunk * 16) next = chunk * 16;
            chunk = next < 1 ? 1 : next;
        }
    }
    gl_py_pool_unreserve(st);
    self->busy = 0;
    release_claim(self, &c);
    Py_DECREF(history);
    Py_DECREF(self);

    if (signalled) return NULL;
    if (status == GL_ERR_NONFINITE) {
        PyErr_SetString(PyExc_FloatingPointError, err.msg);
        return NULL;
    }
    if (status != GL_OK) return gl_py_raise_err(st->error, &err);
    return PyLong_FromLongLong((long long)done);
}

/* ---- attributes ---- */

static PyObject *fit_get_step(FitObject *self, void *closure) {
    if (check_idle(self) < 0) return NULL;
    return PyLong_FromLongLong((long long)gl_fit_step(self->fit));
}

static int fit_set_step(FitObject *self, PyObject *value, void *closure) {
    if (!value) {
        PyErr_SetString(PyExc_TypeError, "step cannot be deleted");
        return -1;
    }
    int64_t v;
    if (as_int_range(value, "step", 0, INT64_MAX, &v) < 0 || check_idle(self) < 0) return -1;
    gl_fit_set_step(self->fit, v);
    return 0;
}

static int stream_arg(FitObject *self, PyObject *o, int *s) {
    int64_t v;
    if (as_int_range(o, "stream", 0, gl_fit_num_streams(self->fit) - 1, &v) < 0) return -1;
    *s = (int)v;
    return 0;
}

PyDoc_STRVAR(batch_doc,
"batch($self, stream, column, /)\n--\n\n"
"A float32 (batch, width) copy of the last batch drawn from that column of\n"
"that stream (zeros before the first draw).");

static PyObject *fit_batch(FitObject *self, PyObject *args) {
    PyObject *so, *co;
    if (!PyArg_ParseTuple(args, "OO:batch", &so, &co) || check_idle(self) < 0) return NULL;
    int s;
    int64_t c, n, batch, width = 0;
    int ncol;
    if (stream_arg(self, so, &s) < 0) return NULL;
    gl_fit_stream_dims(self->fit, s, &n, &batch, &ncol);
    if (as_int_range(co, "column", 0, ncol - 1, &c) < 0) return NULL;
    const float *src = gl_fit_batch(self->fit, s, (int)c, &width);
    npy_intp dims[2] = {(npy_intp)batch, (npy_intp)width};
    PyObject *a = PyArray_SimpleNew(2, dims, NPY_FLOAT32);
    if (!a) return NULL;
    memcpy(PyArray_DATA((PyArrayObject *)a), src, (size_t)(batch * width) * sizeof(float));
    return a;
}

PyDoc_STRVAR(get_sampler_doc,
"get_sampler($self, stream, /)\n--\n\n"
"(pos, epoch, rng_seed, rng_counter, perm) of that stream's sampler; perm is\n"
"an int64 copy (n,).");

static PyObject *fit_get_sampler(FitObject *self, PyObject *so) {
    int s;
    if (check_idle(self) < 0 || stream_arg(self, so, &s) < 0) return NULL;
    int64_t n;
    gl_fit_stream_dims(self->fit, s, &n, NULL, NULL);
    npy_intp dims[1] = {(npy_intp)n};
    PyObject *perm = PyArray_SimpleNew(1, dims, NPY_INT64);
    if (!perm) return NULL;
    gl_fit_sampler_state st;
    gl_error err;
    gl_error_clear(&err);
    if (gl_fit_get_sampler(self->fit, s, &st, (int64_t *)PyArray_DATA((PyArrayObject *)perm), &err) != GL_OK) {
        Py_DECREF(perm);
        gl_py_state *ps = gl_py_state_of_type(Py_TYPE(self));
        return gl_py_raise_err(ps ? ps->error : NULL, &err);
    }
    return Py_BuildValue("(LLKKN)", (long long)st.pos, (long long)st.epoch, (unsigned long long)st.rng.seed,
                         (unsigned long long)st.rng.counter, perm);
}

PyDoc_STRVAR(set_sampler_doc,
"set_sampler($self, stream, state, /)\n--\n\n"
"Restore a stream's sampler from get_sampler's tuple: 0 <= pos <= n,\n"
"epoch >= 0, perm an integer array that is a permutation of 0..n-1.");

static PyObject *fit_set_sampler(FitObject *self, PyObject *args) {
    PyObject *so, *value;
    if (!PyArg_ParseTuple(args, "OO:set_sampler", &so, &value)) return NULL;
    int s;
    if (check_idle(self) < 0 || stream_arg(self, so, &s) < 0) return NULL;
    if (!PyTuple_Check(value) || PyTuple_GET_SIZE(value) != 5) {
        PyErr_Format(PyExc_TypeError, "sampler state must be a tuple (pos, epoch, rng_seed, rng_counter, perm), "
                     "not %.100s", Py_TYPE(value)->tp_name);
        return NULL;
    }
    gl_fit_sampler_state st;
    if (gl_py_as_int64(PyTuple_GET_ITEM(value, 0), "sampler pos", &st.pos) < 0 ||
        gl_py_as_int64(PyTuple_GET_ITEM(value, 1), "sampler epoch", &st.epoch) < 0 ||
        gl_py_as_uint64(PyTuple_GET_ITEM(value, 2), "sampler rng_seed", &st.rng.seed) < 0 ||
        gl_py_as_uint64(PyTuple_GET_ITEM(value, 3), "sampler rng_counter", &st.rng.counter) < 0)
        return NULL;
    PyObject *po = PyTuple_GET_ITEM(value, 4);
    PyArrayObject *perm = NULL;
    if (PyArray_Check(po) && PyArray_ISINTEGER((PyArrayObject *)po)) {
        perm = (PyArrayObject *)PyArray_FROM_OTF(po, NPY_INT64, NPY_ARRAY_IN_ARRAY | NPY_ARRAY_FORCECAST);
    } else if (!PyArray_Check(po) && (PyList_Check(po) || PyTuple_Check(po))) {
        PyArrayObject *tmp = (PyArrayObject *)PyArray_FromAny(po, NULL, 0, 0, 0, NULL);
        if (!tmp) return NULL;
        if (PyArray_ISINTEGER(tmp) || PyArray_SIZE(tmp) == 0)
            perm = (PyArrayObject *)PyArray_FROM_OTF((PyObject *)tmp, NPY_INT64, NPY_ARRAY_IN_ARRAY | NPY_ARRAY_FORCECAST);
        else
            PyErr_SetString(PyExc_TypeError, "sampler perm must hold integers");
        Py_DECREF(tmp);
    } else {
        PyErr_Format(PyExc_TypeError, "sampler perm must be an integer array, not %.100s", Py_TYPE(po)->tp_name);
    }
    if (!perm) return NULL;
    PyObject *res = NULL;
    int64_t n;
    gl_fit_stream_dims(self->fit, s, &n, NULL, NULL);
    if (check_idle(self) < 0) goto done;   /* the conversion may have run Python code */
    if (PyArray_NDIM(perm) != 1 || (int64_t)PyArray_DIM(perm, 0) != n) {
        char sb[96];
        gl_py_array_shape_str(perm, sb, sizeof sb);
        PyErr_Format(PyExc_ValueError, "sampler perm of stream %d must have shape (%lld,), got %s", s, (long long)n,
                     sb);
        goto done;
    }
    gl_error err;
    gl_error_clear(&err);
    if (gl_fit_set_sampler(self->fit, s, &st, (const int64_t *)PyArray_DATA(perm), &err) != GL_OK) {
        gl_py_state *ps = gl_py_state_of_type(Py_TYPE(self));
        gl_py_raise_err(ps ? ps->error : NULL, &err);
        goto done;
    }
    Py_INCREF(Py_None);
    res = Py_None;
done:
    Py_DECREF(perm);
    return res;
}

static PyObject *fit_repr(FitObject *self) {
    if (!self->fit) return PyUnicode_FromString("<ganlib._C.Fit (cleared)>");
    return PyUnicode_FromFormat("<ganlib._C.Fit streams=%d phases=%d step=%lld>", gl_fit_num_streams(self->fit),
                                self->nphase, (long long)gl_fit_step(self->fit));
}

static PyObject *fit_get_num_streams(FitObject *self, void *closure) {
    if (check_idle(self) < 0) return NULL;
    return PyLong_FromLong(gl_fit_num_streams(self->fit));
}

static PyGetSetDef fit_getset[] = {
    {"step", (getter)fit_get_step, (setter)fit_set_step, "steps completed over all runs (get and set, for resume)",
     NULL},
    {"num_streams", (getter)fit_get_num_streams, NULL, "number of data streams", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

#define KW (METH_VARARGS | METH_KEYWORDS)
#define FN(f) ((PyCFunction)(void (*)(void))(f))

static PyMethodDef fit_methods[] = {
    {"set_phases", FN(fit_set_phases), METH_O, set_phases_doc},
    {"run", FN(fit_run), KW, run_doc},
    {"batch", FN(fit_batch), METH_VARARGS, batch_doc},
    {"get_sampler", FN(fit_get_sampler), METH_O, get_sampler_doc},
    {"set_sampler", FN(fit_set_sampler), METH_VARARGS, set_sampler_doc},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(fit_doc,
"Fit(streams)\n--\n\n"
"The training loop in C over 1 to 8 data streams, each a dict {name: str,\n"
"columns: {name: (n, width) array}, batch: int, seed: int}. Columns are\n"
"converted to float32 C-contiguous (references kept; NaN/inf refused) and\n"
"share one permutation per stream; batches of `batch` rows are drawn without\n"
"replacement, reshuffled every epoch by the stream's generator seeded with\n"
"seed; a partial last batch is dropped.");

static PyType_Slot fit_slots[] = {
    {Py_tp_doc, (void *)fit_doc},
    {Py_tp_new, (void *)fit_new},
    {Py_tp_dealloc, (void *)fit_dealloc},
    {Py_tp_traverse, (void *)fit_traverse},
    {Py_tp_clear, (void *)fit_clear},
    {Py_tp_repr, (void *)fit_repr},
    {Py_tp_methods, fit_methods},
    {Py_tp_getset, fit_getset},
    {0, NULL},
};

static PyType_Spec fit_spec = {
    .name = "ganlib._C.Fit",
    .basicsize = sizeof(FitObject),
    .itemsize = 0,
    .flags = GL_PY_TYPE_FLAGS,
    .slots = fit_slots,
};

int gl_py_fit_register(PyObject *module) {
    PyObject *t = PyType_FromModuleAndSpec(module, &fit_spec, NULL);
    if (!t) return -1;
    int rc = PyModule_AddType(module, (PyTypeObject *)t);
    Py_DECREF(t);
    return rc;
}
