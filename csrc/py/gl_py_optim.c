/* gl_py_optim.c - ganlib._C.Optimizer, clip_weights and ema_update (see API.md).
 *
 * An Optimizer holds references to its params / grads arrays and to a state
 * array it allocates itself (zeros, slots * n floats), and caches their data
 * pointers so that an update can run without the GIL.  The arrays cannot be
 * resized while referenced (the state is only ever handed out as a view). */
/* gl_py.h first: Python.h, then NumPy with NO_IMPORT_ARRAY and the shared
 * PY_ARRAY_UNIQUE_SYMBOL gl_ARRAY_API (gl_py_module.c owns import_array()). */
#include "py/gl_py.h"
#include "py/gl_py_convert.h"

#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "optim/gl_optim.h"
#include "py/gl_py_optim.h"

/* Updates of at least this many parameters run with the GIL released. */
#define GL_PY_OPT_NOGIL_MIN 32768

typedef struct gl_py_optimizer {
    PyObject_HEAD
    gl_opt_config cfg;
    PyObject *params; /* PyArrayObject, float32 1-D C-contiguous writeable */
    PyObject *grads;  /* same */
    PyObject *state;  /* PyArrayObject owned here: slots * n float32 zeros at start */
    float *p;         /* cached data pointers (valid while the references are held) */
    float *g;
    float *s;
    int64_t n;
    int slots;
    int cleared;           /* tp_clear ran: the buffers are gone */
    _Atomic int64_t t;     /* steps taken */
    atomic_int busy;       /* 1 while an update or a Python-side change is in progress */
} gl_py_optimizer;

static const char *const gl_py_opt_kind_names[] = {"sgd", "adam", "adamw", "rmsprop"};

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

/* Raise the Python exception for a failed status (ValueError, TypeError,
 * MemoryError, or the module's GanlibError) for our type tp. */
static void gl_py_optim_raise(PyTypeObject *tp, const gl_error *err) {
    gl_py_state *st = gl_py_state_of_type(tp);
    if (!st) PyErr_Clear(); /* then GanlibError falls back to RuntimeError */
    gl_py_raise_err(st ? st->error : NULL, err);
}

/* A hyperparameter for gl_opt_config: values beyond float range become +-inf
 * (and then fail validation), so the assignment is defined whether the config
 * fields are float or double. */
static double gl_py_hyper(double x) {
    if (isfinite(x) && fabs(x) > (double)FLT_MAX) return x > 0 ? (double)INFINITY : -(double)INFINITY;
    return x;
}

/* o must be a float32, native-endian, aligned, C-contiguous ndarray (1-D if
 * need_1d, writeable if need_writeable).  Returns it (borrowed) or NULL with
 * TypeError (not an array / wrong dtype) or ValueError (layout) naming `what`. */
static PyArrayObject *gl_py_f32_array(PyObject *o, const char *what, int need_1d, int need_writeable) {
    if (!PyArray_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be a numpy.ndarray of float32, got %s", what,
                     Py_TYPE(o)->tp_name);
        return NULL;
    }
    PyArrayObject *a = (PyArrayObject *)o;
    if (PyArray_TYPE(a) != NPY_FLOAT32 || PyArray_ISBYTESWAPPED(a)) {
        PyObject *d = PyObject_Str((PyObject *)PyArray_DESCR(a));
        if (d) {
            PyErr_Format(PyExc_TypeError, "%s must have dtype float32 (native byte order), got %U", what, d);
            Py_DECREF(d);
        }
        return NULL;
    }
    if (need_1d && PyArray_NDIM(a) != 1) {
        PyObject *shape = PyObject_GetAttrString(o, "shape");
        if (shape) {
            PyErr_Format(PyExc_ValueError, "%s must be 1-D, got shape %R", what, shape);
            Py_DECREF(shape);
        }
        return NULL;
    }
    if (!PyArray_IS_C_CONTIGUOUS(a)) {
        PyErr_Format(PyExc_ValueError, "%s must be C-contiguous (use numpy.ascontiguousarray)", what);
        return NULL;
    }
    if (!PyArray_ISALIGNED(a)) {
        PyErr_Format(PyExc_ValueError, "%s must be aligned", what);
        return NULL;
    }
    if (need_writeable && !PyArray_ISWRITEABLE(a)) {
        PyErr_Format(PyExc_ValueError, "%s must be writeable", what);
        return NULL;
    }
    return a;
}

static int gl_py_ranges_overlap(const float *a, const float *b, int64_t n) {
    if (n <= 0) return 0;
    const uintptr_t x = (uintptr_t)a, y = (uintptr_t)b, len = (uintptr_t)n * sizeof(float);
    return x < y + len && y < x + len;
}

/* Claim the optimizer for exclusive use; 0 if it is busy elsewhere. */
static int gl_py_opt_acquire(gl_py_optimizer *self) {
    int expected = 0;
    return atomic_compare_exchange_strong(&self->busy, &expected, 1);
}

static void gl_py_opt_release(gl_py_optimizer *self) { atomic_store(&self->busy, 0); }

static int gl_py_opt_raise_busy(gl_py_optimizer *self) {
    gl_error err;
    gl_fail(&err, GL_ERR_UNSUPPORTED, "Optimizer is in use by another thread (concurrent step)");
    gl_py_optim_raise(Py_TYPE(self), &err);
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Optimizer: construction and lifetime                                      */
/* ------------------------------------------------------------------------ */

static int gl_py_parse_betas(PyObject *o, double *b1, double *b2) {
    if (PyUnicode_Check(o) || PyBytes_Check(o) || !PySequence_Check(o)) {
        PyErr_Format(PyExc_TypeError, "betas must be a pair of floats, got %s", Py_TYPE(o)->tp_name);
        return -1;
    }
    Py_ssize_t len = PySequence_Size(o);
    if (len < 0) return -1;
    if (len != 2) {
        PyErr_Format(PyExc_ValueError, "betas must have 2 elements, got %zd", len);
        return -1;
    }
    double v[2];
    for (int k = 0; k < 2; k++) {
        PyObject *item = PySequence_GetItem(o, k);
        if (!item) return -1;
        v[k] = PyFloat_AsDouble(item);
        Py_DECREF(item);
        if (v[k] == -1.0 && PyErr_Occurred()) return -1;
    }
    *b1 = v[0];
    *b2 = v[1];
    return 0;
}

static PyObject *gl_py_optimizer_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"kind", "params", "grads", "lr", "weight_decay", "momentum", "dampening",
                             "nesterov", "betas", "eps", "alpha", "centered", "amsgrad", NULL};
    const char *kind = NULL;
    PyObject *params = NULL, *grads = NULL, *betas = NULL;
    double lr = 0.0, weight_decay = 0.0, momentum = 0.0, dampening = 0.0, eps = 1e-8, alpha = 0.99;
    int nesterov = 0, centered = 0, amsgrad = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "sOOd|dddpOddpp:Optimizer", kwlist, &kind, &params, &grads,
                                     &lr, &weight_decay, &momentum, &dampening, &nesterov, &betas, &eps,
                                     &alpha, &centered, &amsgrad))
        return NULL;

    gl_opt_config cfg;
    memset(&cfg, 0, sizeof cfg);
    int found = 0;
    for (int k = 0; k < 4; k++) {
        if (strcmp(kind, gl_py_opt_kind_names[k]) == 0) {
            cfg.kind = (gl_opt_kind)k;
            found = 1;
        }
    }
    if (!found) {
        PyErr_Format(PyExc_ValueError, "kind must be one of 'sgd', 'adam', 'adamw', 'rmsprop', got '%s'", kind);
        return NULL;
    }
    cfg.lr = gl_py_hyper(lr);
    cfg.weight_decay = gl_py_hyper(weight_decay);
    cfg.momentum = gl_py_hyper(momentum);
    cfg.dampening = gl_py_hyper(dampening);
    cfg.nesterov = nesterov;
    double beta1 = 0.9, beta2 = 0.999;
    if (betas && betas != Py_None && gl_py_parse_betas(betas, &beta1, &beta2) < 0) return NULL;
    cfg.beta1 = gl_py_hyper(beta1);
    cfg.beta2 = gl_py_hyper(beta2);
    cfg.eps = gl_py_hyper(eps);
    cfg.alpha = gl_py_hyper(alpha);
    cfg.centered = centered;
    cfg.amsgrad = amsgrad;

    gl_error err;
    gl_error_clear(&err);
    if (gl_opt_validate(&cfg, &err) != GL_OK) {
        gl_py_optim_raise(type, &err);
        return NULL;
    }

    PyArrayObject *pa = gl_py_f32_array(params, "params", 1, 1);
    if (!pa) return NULL;
    PyArrayObject *ga = gl_py_f32_array(grads, "grads", 1, 1);
    if (!ga) return NULL;
    const npy_intp n = PyArray_SIZE(pa);
    if (PyArray_SIZE(ga) != n) {
        PyErr_Format(PyExc_ValueError, "params and grads must have the same size, got %zd and %zd",
                     (Py_ssize_t)n, (Py_ssize_t)PyArray_SIZE(ga));
        return NULL;
    }
    if (gl_py_ranges_overlap(PyArray_DATA(pa), PyArray_DATA(ga), (int64_t)n)) {
        PyErr_SetString(PyExc_ValueError, "params and grads must not share memory");
        return NULL;
    }
    const int slots = gl_opt_state_slots(&cfg);
    if (n > 0 && (npy_intp)slots > NPY_MAX_INTP / n) {
        PyErr_SetString(PyExc_MemoryError, "optimizer state is too large");
        return NULL;
    }
    npy_intp dims[1] = {(npy_intp)slots * n};
    PyObject *state = PyArray_ZEROS(1, dims, NPY_FLOAT32, 0);
    if (!state) return NULL;

    gl_py_optimizer *self = (gl_py_optimizer *)type->tp_alloc(type, 0);
    if (!self) {
        Py_DECREF(state);
        return NULL;
    }
    self->cfg = cfg;
    Py_INCREF(params);
    Py_INCREF(grads);
    self->params = params;
    self->grads = grads;
    self->state = state;
    self->p = PyArray_DATA(pa);
    self->g = PyArray_DATA(ga);
    self->s = PyArray_DATA((PyArrayObject *)state);
    self->n = (int64_t)n;
    self->slots = slots;
    self->cleared = 0;
    atomic_store(&self->t, 0);
    atomic_store(&self->busy, 0);
    return (PyObject *)self;
}

static int gl_py_optimizer_traverse(PyObject *o, visitproc visit, void *arg) {
    gl_py_optimizer *self = (gl_py_optimizer *)o;
    Py_VISIT(Py_TYPE(o));
    Py_VISIT(self->params);
    Py_VISIT(self->grads);
    Py_VISIT(self->state);
    return 0;
}

static int gl_py_optimizer_clear(PyObject *o) {
    gl_py_optimizer *self = (gl_py_optimizer *)o;
    self->cleared = 1;
    self->p = self->g = self->s = NULL;
    self->n = 0;
    Py_CLEAR(self->params);
    Py_CLEAR(self->grads);
    Py_CLEAR(self->state);
    return 0;
}

static void gl_py_optimizer_dealloc(PyObject *o) {
    PyTypeObject *tp = Py_TYPE(o);
    PyObject_GC_UnTrack(o);
    gl_py_optimizer_clear(o);
    tp->tp_free(o);
    Py_DECREF(tp);
}

/* ------------------------------------------------------------------------ */
/* Optimizer: the update                                                     */
/* ------------------------------------------------------------------------ */

int gl_py_optimizer_check(PyObject *o) {
    /* The type is final (no Py_TPFLAGS_BASETYPE), so its dealloc identifies it
     * without any module-level lookup. */
    return o != NULL && Py_TYPE(o)->tp_dealloc == gl_py_optimizer_dealloc;
}

gl_status gl_py_optimizer_step_nogil(PyObject *o, gl_pool *pool, gl_error *err) {
    if (!gl_py_optimizer_check(o)) return gl_fail(err, GL_ERR_TYPE, "expected a ganlib._C.Optimizer");
    gl_py_optimizer *self = (gl_py_optimizer *)o;
    if (!gl_py_opt_acquire(self))
        return gl_fail(err, GL_ERR_UNSUPPORTED, "Optimizer is in use by another thread (concurrent step)");
    gl_status st;
    if (self->cleared) {
        st = gl_fail(err, GL_ERR_INTERNAL, "Optimizer was cleared by the garbage collector");
    } else {
        int64_t t = atomic_load(&self->t);
        st = gl_opt_step(&self->cfg, self->p, self->g, self->s, self->n, &t, pool, err);
        if (st == GL_OK) atomic_store(&self->t, t);
    }
    gl_py_opt_release(self);
    return st;
}

gl_status gl_py_optimizer_can_step(PyObject *o, gl_error *err) {
    if (!gl_py_optimizer_check(o)) return gl_fail(err, GL_ERR_TYPE, "expected a ganlib._C.Optimizer");
    gl_py_optimizer *self = (gl_py_optimizer *)o;
    if (self->cleared) return gl_fail(err, GL_ERR_INTERNAL, "Optimizer was cleared by the garbage collector");
    const int64_t t = atomic_load(&self->t);
    if (t >= GL_OPT_MAX_STEP)
        return gl_fail(err, GL_ERR_VALUE,
                       "optimizer step: the step count t = %lld is at its limit 2**53; cannot take another step",
                       (long long)t);
    return GL_OK;
}

int gl_py_optimizer_slot(PyObject *o, gl_fit_opt *out) {
    if (!gl_py_optimizer_check(o)) {
        PyErr_Format(PyExc_TypeError, "expected a ganlib._C.Optimizer, got %.100s", Py_TYPE(o)->tp_name);
        return -1;
    }
    gl_py_optimizer *self = (gl_py_optimizer *)o;
    if (!out || !out->t) {
        PyErr_SetString(PyExc_SystemError, "gl_py_optimizer_slot: no storage for t");
        return -1;
    }
    if (!gl_py_opt_acquire(self)) return gl_py_opt_raise_busy(self);
    if (self->cleared) {
        gl_py_opt_release(self);
        gl_error err;
        gl_fail(&err, GL_ERR_INTERNAL, "Optimizer was cleared by the garbage collector");
        gl_py_optim_raise(Py_TYPE(o), &err);
        return -1;
    }
    out->cfg = self->cfg;
    out->param = self->p;
    out->grad = self->g;
    out->state = self->s;
    out->n = self->n;
    *out->t = atomic_load(&self->t);
    return 0;
}

void gl_py_optimizer_slot_release(PyObject *o, int64_t t) {
    if (!gl_py_optimizer_check(o)) return;
    gl_py_optimizer *self = (gl_py_optimizer *)o;
    atomic_store(&self->t, t);
    gl_py_opt_release(self);
}

static PyObject *gl_py_optimizer_step(PyObject *o, PyObject *Py_UNUSED(ignored)) {
    gl_py_optimizer *self = (gl_py_optimizer *)o;
    gl_error err;
    gl_error_clear(&err);
    gl_status status;
    if (self->n >= GL_PY_OPT_NOGIL_MIN) {
        /* Large: split over the library pool without the GIL (gl_py.h's pool protocol). */
        gl_py_state *st = gl_py_state_of_type(Py_TYPE(o));
        if (!st) return NULL;
        gl_py_pool_reserve(st);
        Py_BEGIN_ALLOW_THREADS
        gl_pool *pool = gl_py_pool_lock(st);
        status = gl_py_optimizer_step_nogil(o, pool, &err);
        gl_py_pool_unlock(st);
        Py_END_ALLOW_THREADS
        gl_py_pool_unreserve(st);
    } else {
        status = gl_py_optimizer_step_nogil(o, NULL, &err);
    }
    if (status != GL_OK) {
        gl_py_optim_raise(Py_TYPE(o), &err);
        return NULL;
    }
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------ */
/* Optimizer: attributes                                                     */
/* ------------------------------------------------------------------------ */

static int gl_py_no_delete(PyObject *value, const char *name) {
    if (value == NULL) {
        PyErr_Format(PyExc_TypeError, "cannot delete Optimizer.%s", name);
        return -1;
    }
    return 0;
}

static PyObject *gl_py_optimizer_get_lr(PyObject *o, void *Py_UNUSED(c)) {
    return PyFloat_FromDouble((double)((gl_py_optimizer *)o)->cfg.lr);
}

static int gl_py_optimizer_set_lr(PyObject *o, PyObject *value, void *Py_UNUSED(c)) {
    gl_py_optimizer *self = (gl_py_optimizer *)o;
    if (gl_py_no_delete(value, "lr") < 0) return -1;
    const double v = PyFloat_AsDouble(value);
    if (v == -1.0 && PyErr_Occurred()) return -1;
    gl_opt_config cfg = self->cfg;
    cfg.lr = gl_py_hyper(v);
    gl_error err;
    gl_error_clear(&err);
    if (gl_opt_validate(&cfg, &err) != GL_OK) {
        gl_py_optim_raise(Py_TYPE(o), &err);
        return -1;
    }
    if (!gl_py_opt_acquire(self)) return gl_py_opt_raise_busy(self);
    self->cfg.lr = cfg.lr;
    gl_py_opt_release(self);
    return 0;
}

static PyObject *gl_py_optimizer_get_t(PyObject *o, void *Py_UNUSED(c)) {
    return PyLong_FromLongLong((long long)atomic_load(&((gl_py_optimizer *)o)->t));
}

static int gl_py_optimizer_set_t(PyObject *o, PyObject *value, void *Py_UNUSED(c)) {
    gl_py_optimizer *self = (gl_py_optimizer *)o;
    if (gl_py_no_delete(value, "t") < 0) return -1;
    if (PyBool_Check(value) || (!PyLong_Check(value) && !PyIndex_Check(value))) {
        PyErr_Format(PyExc_TypeError, "t must be an int, got %s", Py_TYPE(value)->tp_name);
        return -1;
    }
    PyObject *idx = PyNumber_Index(value);
    if (!idx) return -1;
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(idx, &overflow);
    if (v == -1 && PyErr_Occurred()) {
        Py_DECREF(idx);
        return -1;
    }
    /* the step count stays in [0, 2**53] (gl_optim.h: GL_OPT_MAX_STEP) */
    if (overflow || v < 0 || v > (long long)GL_OPT_MAX_STEP) {
        PyErr_Format(PyExc_ValueError, "t must be in [0, 2**53] (%lld), got %S", (long long)GL_OPT_MAX_STEP,
                     idx);
        Py_DECREF(idx);
        return -1;
    }
    Py_DECREF(idx);
    if (!gl_py_opt_acquire(self)) return gl_py_opt_raise_busy(self);
    atomic_store(&self->t, (int64_t)v);
    gl_py_opt_release(self);
    return 0;
}

static PyObject *gl_py_optimizer_get_state(PyObject *o, void *Py_UNUSED(c)) {
    gl_py_optimizer *self = (gl_py_optimizer *)o;
    if (!self->state) {
        PyErr_SetString(PyExc_RuntimeError, "Optimizer was cleared by the garbage collector");
        return NULL;
    }
    /* A view: writes reach the buffer, but nobody can resize it. */
    return PyArray_View((PyArrayObject *)self->state, NULL, NULL);
}

static PyObject *gl_py_optimizer_get_slots(PyObject *o, void *Py_UNUSED(c)) {
    return PyLong_FromLong(((gl_py_optimizer *)o)->slots);
}

static PyObject *gl_py_optimizer_get_kind(PyObject *o, void *Py_UNUSED(c)) {
    return PyUnicode_FromString(gl_py_opt_kind_names[((gl_py_optimizer *)o)->cfg.kind]);
}

static PyObject *gl_py_optimizer_get_n(PyObject *o, void *Py_UNUSED(c)) {
    return PyLong_FromLongLong((long long)((gl_py_optimizer *)o)->n);
}

static PyObject *gl_py_optimizer_repr(PyObject *o) {
    gl_py_optimizer *self = (gl_py_optimizer *)o;
    char lr[64];
    snprintf(lr, sizeof lr, "%.9g", (double)self->cfg.lr);
    return PyUnicode_FromFormat("<ganlib._C.Optimizer kind='%s' n=%lld t=%lld lr=%s>",
                                gl_py_opt_kind_names[self->cfg.kind], (long long)self->n,
                                (long long)atomic_load(&self->t), lr);
}

static PyGetSetDef gl_py_optimizer_getset[] = {
    {"lr", gl_py_optimizer_get_lr, gl_py_optimizer_set_lr, "learning rate (float32)", NULL},
    {"t", gl_py_optimizer_get_t, gl_py_optimizer_set_t, "number of steps taken", NULL},
    {"state", gl_py_optimizer_get_state, NULL,
     "writeable float32 view of the state buffer (slots * n floats)", NULL},
    {"slots", gl_py_optimizer_get_slots, NULL, "state floats per parameter", NULL},
    {"kind", gl_py_optimizer_get_kind, NULL, "'sgd', 'adam', 'adamw' or 'rmsprop'", NULL},
    {"n", gl_py_optimizer_get_n, NULL, "number of parameters", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef gl_py_optimizer_methods[] = {
    {"step", gl_py_optimizer_step, METH_NOARGS, "Apply one update to params from grads (in place)."},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(gl_py_optimizer_doc,
             "Optimizer(kind, params, grads, lr, weight_decay=0.0, momentum=0.0, dampening=0.0,\n"
             "          nesterov=False, betas=(0.9, 0.999), eps=1e-8, alpha=0.99, centered=False,\n"
             "          amsgrad=False)\n"
             "--\n\n"
             "torch.optim-compatible update of a flat float32 parameter buffer in place.\n"
             "kind is 'sgd', 'adam', 'adamw' or 'rmsprop'; params and grads are 1-D float32\n"
             "C-contiguous writeable arrays of equal size, kept alive by the optimizer.");

static PyType_Slot gl_py_optimizer_slots[] = {
    {Py_tp_doc, (void *)gl_py_optimizer_doc},
    {Py_tp_new, (void *)gl_py_optimizer_new},
    {Py_tp_dealloc, (void *)gl_py_optimizer_dealloc},
    {Py_tp_traverse, (void *)gl_py_optimizer_traverse},
    {Py_tp_clear, (void *)gl_py_optimizer_clear},
    {Py_tp_repr, (void *)gl_py_optimizer_repr},
    {Py_tp_methods, gl_py_optimizer_methods},
    {Py_tp_getset, gl_py_optimizer_getset},
    {0, NULL},
};

static PyType_Spec gl_py_optimizer_spec = {
    .name = "ganlib._C.Optimizer",
    .basicsize = sizeof(gl_py_optimizer),
    .itemsize = 0,
    .flags = GL_PY_TYPE_FLAGS,
    .slots = gl_py_optimizer_slots,
};

/* ------------------------------------------------------------------------ */
/* Module functions                                                          */
/* ------------------------------------------------------------------------ */

static PyObject *gl_py_clip_weights(PyObject *module, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"array", "c", NULL};
    PyObject *arr = NULL;
    double c = 0.0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "Od:clip_weights", kwlist, &arr, &c)) return NULL;
    PyArrayObject *a = gl_py_f32_array(arr, "array", 0, 1);
    if (!a) return NULL;
    (void)module;
    if (!isfinite(c) || c < 0.0) {
        char buf[64];
        snprintf(buf, sizeof buf, "%g", c);
        PyErr_Format(PyExc_ValueError, "c must be a finite number >= 0, got %s", buf);
        return NULL;
    }
    float *data = PyArray_DATA(a);
    const int64_t n = (int64_t)PyArray_SIZE(a);
    const float cf = (float)gl_py_hyper(c);
    if (n >= GL_PY_OPT_NOGIL_MIN) {
        Py_BEGIN_ALLOW_THREADS
        gl_clip_weights(data, n, cf);
        Py_END_ALLOW_THREADS
    } else {
        gl_clip_weights(data, n, cf);
    }
    Py_RETURN_NONE;
}

static PyObject *gl_py_ema_update(PyObject *module, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"avg", "param", "decay", NULL};
    PyObject *avg_o = NULL, *param_o = NULL;
    double decay = 0.0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOd:ema_update", kwlist, &avg_o, &param_o, &decay))
        return NULL;
    PyArrayObject *avg = gl_py_f32_array(avg_o, "avg", 0, 1);
    if (!avg) return NULL;
    PyArrayObject *param = gl_py_f32_array(param_o, "param", 0, 0);
    if (!param) return NULL;
    if (PyArray_SIZE(avg) != PyArray_SIZE(param)) {
        PyErr_Format(PyExc_ValueError, "avg and param must have the same size, got %zd and %zd",
                     (Py_ssize_t)PyArray_SIZE(avg), (Py_ssize_t)PyArray_SIZE(param));
        return NULL;
    }
    (void)module;
    if (!(decay >= 0.0 && decay <= 1.0)) {
        char buf[64];
        snprintf(buf, sizeof buf, "%g", decay);
        PyErr_Format(PyExc_ValueError, "decay must be in [0, 1], got %s", buf);
        return NULL;
    }
    float *a = PyArray_DATA(avg);
    const float *p = PyArray_DATA(param);
    const int64_t n = (int64_t)PyArray_SIZE(avg);
    const float d = (float)decay;
    if (n >= GL_PY_OPT_NOGIL_MIN) {
        Py_BEGIN_ALLOW_THREADS
        gl_ema_update(a, p, n, d);
        Py_END_ALLOW_THREADS
    } else {
        gl_ema_update(a, p, n, d);
    }
    Py_RETURN_NONE;
}

static PyMethodDef gl_py_optim_functions[] = {
    {"clip_weights", (PyCFunction)(void (*)(void))gl_py_clip_weights, METH_VARARGS | METH_KEYWORDS,
     "clip_weights(array, c)\n--\n\nClamp a float32 C-contiguous array to [-c, c] in place."},
    {"ema_update", (PyCFunction)(void (*)(void))gl_py_ema_update, METH_VARARGS | METH_KEYWORDS,
     "ema_update(avg, param, decay)\n--\n\navg = decay * avg + (1 - decay) * param, in place on float32 "
     "C-contiguous arrays of equal size."},
    {NULL, NULL, 0, NULL},
};

int gl_py_optim_register(PyObject *module) {
    PyObject *type = PyType_FromModuleAndSpec(module, &gl_py_optimizer_spec, NULL);
    if (!type) return -1;
    if (PyModule_AddObject(module, "Optimizer", type) < 0) {
        Py_DECREF(type);
        return -1;
    }
    PyObject *max_t = PyLong_FromLongLong((long long)GL_OPT_MAX_STEP);
    if (!max_t) return -1;
    if (PyModule_AddObject(module, "OPTIMIZER_MAX_T", max_t) < 0) {
        Py_DECREF(max_t);
        return -1;
    }
    return PyModule_AddFunctions(module, gl_py_optim_functions);
}
