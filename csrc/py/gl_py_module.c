/* gl_py_module.c - the module ganlib._C: multi-phase init, module state
 * (thread pool, GanlibError, heap types) and the module-level functions.
 * The Optimizer type, clip_weights and ema_update come from gl_py_optim.c. */
#define GL_PY_IMPORT_ARRAY
#include "gl_py.h"
#include "gl_py_convert.h"
#include "gl_py_fit.h"

#include <stdlib.h>
#include <unistd.h>

#include "ops/gl_blas.h"

#ifndef GL_BUILD_CFLAGS
#define GL_BUILD_CFLAGS "unknown"
#endif
#ifndef GL_BLAS_WHEEL_VERSION
#define GL_BLAS_WHEEL_VERSION "unknown"
#endif
#if defined(__VERSION__) && defined(__GNUC__) && !defined(__clang__)
#define GL_PY_COMPILER "GCC " __VERSION__
#elif defined(__VERSION__)
#define GL_PY_COMPILER __VERSION__
#else
#define GL_PY_COMPILER "unknown"
#endif

#define GL_PY_MAX_THREADS 1024

/* ---- state and the pool protocol ---- */

gl_py_state *gl_py_state_of_type(PyTypeObject *tp) {
    return (gl_py_state *)PyType_GetModuleState(tp);
}

void gl_py_pool_reserve(gl_py_state *st) { st->pool_users++; }
void gl_py_pool_unreserve(gl_py_state *st) { st->pool_users--; }

gl_pool *gl_py_pool_lock(gl_py_state *st) {
    pthread_mutex_lock(&st->pool_lock);
    return st->pool;
}

void gl_py_pool_unlock(gl_py_state *st) { pthread_mutex_unlock(&st->pool_lock); }

static gl_py_state *mod_state(PyObject *m) { return (gl_py_state *)PyModule_GetState(m); }

/* OMP_NUM_THREADS when it starts with a positive number, else online CPUs. */
static int default_threads(void) {
    const char *s = getenv("OMP_NUM_THREADS");
    if (s && *s) {
        char *end = NULL;
        long v = strtol(s, &end, 10);
        if (end != s && v >= 1) return v > GL_PY_MAX_THREADS ? GL_PY_MAX_THREADS : (int)v;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    return n > GL_PY_MAX_THREADS ? GL_PY_MAX_THREADS : (int)n;
}

/* ---- module functions ---- */

PyDoc_STRVAR(set_num_threads_doc,
"set_num_threads($module, n, /)\n--\n\n"
"Set the number of threads of the library pool and of OpenBLAS (n >= 1).\n"
"Raises GanlibError while a program is running.");

static PyObject *py_set_num_threads(PyObject *m, PyObject *arg) {
    gl_py_state *st = mod_state(m);
    int64_t n;
    if (gl_py_as_int64(arg, "n", &n) < 0) return NULL;
    if (n < 1 || n > GL_PY_MAX_THREADS) {
        PyErr_Format(PyExc_ValueError, "n must be between 1 and %d, got %lld", GL_PY_MAX_THREADS, (long long)n);
        return NULL;
    }
    if (!st->pool) return gl_py_raise(st->error, GL_ERR_INTERNAL, "the thread pool is not initialised");
    if (st->pool_users > 0) {
        PyErr_SetString(st->error, "cannot change the number of threads while a program is running");
        return NULL;
    }
    gl_error err;
    gl_error_clear(&err);
    /* the GIL is kept: no run can start (and use the pool) while it resizes */
    if (gl_pool_set_threads(st->pool, (int)n, &err) != GL_OK) return gl_py_raise_err(st->error, &err);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(get_num_threads_doc,
"get_num_threads($module, /)\n--\n\nReturns int. "
"The number of threads of the library pool (OpenBLAS uses as many).");

static PyObject *py_get_num_threads(PyObject *m, PyObject *unused) {
    gl_py_state *st = mod_state(m);
    if (!st->pool) return gl_py_raise(st->error, GL_ERR_INTERNAL, "the thread pool is not initialised");
    return PyLong_FromLong(gl_pool_threads(st->pool));
}

PyDoc_STRVAR(alloc_count_doc,
"alloc_count($module, /)\n--\n\nReturns int. "
"Number of allocations the C core has made so far (a compiled step makes none).");

static PyObject *py_alloc_count(PyObject *m, PyObject *unused) {
    return PyLong_FromLongLong(gl_alloc_count());
}

static int dict_set_str(PyObject *d, const char *key, const char *val) {
    PyObject *v = PyUnicode_DecodeUTF8(val ? val : "", (Py_ssize_t)strlen(val ? val : ""), "replace");
    if (!v) return -1;
    int rc = PyDict_SetItemString(d, key, v);
    Py_DECREF(v);
    return rc;
}

PyDoc_STRVAR(config_doc,
"config($module, /)\n--\n\nReturns dict. "
"Build and runtime configuration: blas, blas_corename, blas_wheel,\n"
"num_threads, cflags, compiler.");

static PyObject *py_config(PyObject *m, PyObject *unused) {
    gl_py_state *st = mod_state(m);
    PyObject *d = PyDict_New();
    if (!d) return NULL;
    if (dict_set_str(d, "blas", gl_blas_get_config()) < 0 ||
        dict_set_str(d, "blas_corename", gl_blas_get_corename()) < 0 ||
        dict_set_str(d, "blas_wheel", GL_BLAS_WHEEL_VERSION) < 0 ||
        dict_set_str(d, "cflags", GL_BUILD_CFLAGS) < 0 ||
        dict_set_str(d, "compiler", GL_PY_COMPILER) < 0)
        goto fail;
    PyObject *n = PyLong_FromLong(st->pool ? gl_pool_threads(st->pool) : 1);
    if (!n) goto fail;
    int rc = PyDict_SetItemString(d, "num_threads", n);
    Py_DECREF(n);
    if (rc < 0) goto fail;
    return d;
fail:
    Py_DECREF(d);
    return NULL;
}

PyDoc_STRVAR(op_names_doc,
"op_names($module, /)\n--\n\nReturns list[str]. "
"Names of the C ops; index = op code.");

static PyObject *py_op_names(PyObject *m, PyObject *unused) {
    PyObject *l = PyList_New(GL_OP_COUNT);
    if (!l) return NULL;
    for (int i = 0; i < GL_OP_COUNT; i++) {
        PyObject *s = PyUnicode_FromString(gl_op_name((gl_op)i));
        if (!s) { Py_DECREF(l); return NULL; }
        PyList_SET_ITEM(l, i, s);
    }
    return l;
}

PyDoc_STRVAR(release_pool_doc,
"_release_pool($module, /)\n--\n\n"
"Join and free the worker threads (ganlib registers this with atexit). Does\n"
"nothing while a run is in flight; later runs go single-threaded.");

/* CPython need not deallocate extension modules at exit, so module_free may
 * never run; releasing the pool from atexit joins its threads while the
 * interpreter is still whole. The GIL is held: no run can start meanwhile. */
static PyObject *py_release_pool(PyObject *m, PyObject *Py_UNUSED(ignored)) {
    gl_py_state *st = mod_state(m);
    if (st && st->pool && st->pool_users == 0) {
        gl_pool_free(st->pool);
        st->pool = NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"_release_pool", py_release_pool, METH_NOARGS, release_pool_doc},
    {"set_num_threads", py_set_num_threads, METH_O, set_num_threads_doc},
    {"get_num_threads", py_get_num_threads, METH_NOARGS, get_num_threads_doc},
    {"alloc_count", py_alloc_count, METH_NOARGS, alloc_count_doc},
    {"config", py_config, METH_NOARGS, config_doc},
    {"op_names", py_op_names, METH_NOARGS, op_names_doc},
    {NULL, NULL, 0, NULL},
};

/* ---- module lifecycle ---- */

PyDoc_STRVAR(ganlib_error_doc,
"Failure inside ganlib's C core that is not a ValueError/TypeError/MemoryError:\n"
"unsupported operation, non-finite values, internal errors, concurrent use.");

static int module_exec(PyObject *m) {
    gl_py_state *st = mod_state(m);
    if (!st) return -1;
    import_array1(-1);

    if (!st->lock_ready) {
        if (pthread_mutex_init(&st->pool_lock, NULL) != 0) {
            PyErr_SetString(PyExc_RuntimeError, "ganlib._C: cannot create the pool lock");
            return -1;
        }
        st->lock_ready = 1;
    }

    st->error = PyErr_NewExceptionWithDoc("ganlib._C.GanlibError", ganlib_error_doc, PyExc_RuntimeError, NULL);
    if (!st->error) return -1;
    Py_INCREF(st->error);
    if (PyModule_AddObject(m, "GanlibError", st->error) < 0) {
        Py_DECREF(st->error);
        return -1;
    }

    if (gl_py_graph_register(m, st) < 0) return -1;
    if (gl_py_program_register(m, st) < 0) return -1;

    gl_error err;
    gl_error_clear(&err);
    int n = default_threads();
    if (gl_pool_new(n, &st->pool, &err) != GL_OK) {
        st->pool = NULL;
        gl_py_raise_err(st->error, &err);
        return -1;
    }
    gl_blas_set_num_threads(1); /* the pool owns parallelism, GEMMs included */

    if (gl_py_optim_register(m) < 0) return -1;
    if (gl_py_fit_register(m) < 0) return -1;
    return 0;
}

static int module_traverse(PyObject *m, visitproc visit, void *arg) {
    gl_py_state *st = mod_state(m);
    if (!st) return 0;
    Py_VISIT(st->error);
    Py_VISIT(st->graph_type);
    Py_VISIT(st->program_type);
    return 0;
}

static int module_clear(PyObject *m) {
    gl_py_state *st = mod_state(m);
    if (!st) return 0;
    Py_CLEAR(st->error);
    Py_CLEAR(st->graph_type);
    Py_CLEAR(st->program_type);
    return 0;
}

static void module_free(void *mv) {
    PyObject *m = (PyObject *)mv;
    gl_py_state *st = mod_state(m);
    module_clear(m);
    if (!st) return;
    /* Every Program holds its type, which holds this module: nothing can be
     * using the pool once the module is freed. */
    if (st->pool) {
        gl_pool_free(st->pool);
        st->pool = NULL;
    }
    if (st->lock_ready) {
        pthread_mutex_destroy(&st->pool_lock);
        st->lock_ready = 0;
    }
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, (void *)module_exec},
#ifdef Py_mod_multiple_interpreters
    /* NumPy supports one interpreter only */
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED},
#endif
#ifdef Py_mod_gil
    {Py_mod_gil, Py_MOD_GIL_USED},
#endif
    {0, NULL},
};

PyDoc_STRVAR(module_doc, "ganlib's C core: graphs, compiled programs, optimizers.");

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "ganlib._C",
    .m_doc = module_doc,
    .m_size = sizeof(gl_py_state),
    .m_methods = module_methods,
    .m_slots = module_slots,
    .m_traverse = module_traverse,
    .m_clear = module_clear,
    .m_free = module_free,
};

PyMODINIT_FUNC PyInit__C(void) { return PyModuleDef_Init(&module_def); }
