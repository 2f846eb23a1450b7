/* gl_py.h - what the binding's files share: Python/NumPy includes, the module
 * state, and the pool protocol.
 *
 * Include this first in every binding .c file (it includes Python.h, which
 * must precede system headers).  Only gl_py_module.c defines
 * GL_PY_IMPORT_ARRAY before including it: that file owns the NumPy C-API
 * table (import_array()); every other file sees it through the shared
 * PY_ARRAY_UNIQUE_SYMBOL with NO_IMPORT_ARRAY. */
#ifndef GL_PY_H
#define GL_PY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define PY_ARRAY_UNIQUE_SYMBOL gl_ARRAY_API
#ifndef GL_PY_IMPORT_ARRAY
#define NO_IMPORT_ARRAY
#endif
#include <numpy/arrayobject.h>

/* Flags of every ganlib heap type: GC-tracked, and immutable where the
 * running Python supports it (3.10+), so type attributes cannot be swapped. */
#ifdef Py_TPFLAGS_IMMUTABLETYPE
#define GL_PY_TYPE_FLAGS (Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE)
#else
#define GL_PY_TYPE_FLAGS (Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC)
#endif

#include <pthread.h>

#include "core/gl_graph.h"
#include "core/gl_pool.h"
#include "core/gl_status.h"

/* Per-module state of ganlib._C (multi-phase init: one per module object). */
typedef struct gl_py_state {
    PyObject *error;            /* ganlib._C.GanlibError (RuntimeError subclass) */
    PyTypeObject *graph_type;
    PyTypeObject *program_type;
    gl_pool *pool;              /* library pool, also sizes OpenBLAS            */
    int pool_users;             /* (GIL held) runs in flight; resize refused    */
    int lock_ready;
    pthread_mutex_t pool_lock;  /* (GIL released) one pool user at a time       */
} gl_py_state;

/* The state of the module that defined type tp (our heap types are final,
 * so Py_TYPE(self) always works). Returns NULL with an exception set. */
gl_py_state *gl_py_state_of_type(PyTypeObject *tp);

/* Pool protocol for any code that uses the pool with the GIL released:
 *   (GIL held)     gl_py_pool_reserve(st);        set_num_threads now refuses
 *   Py_BEGIN_ALLOW_THREADS
 *   pool = gl_py_pool_lock(st);                   waits for other users
 *   ... gl_program_run(..., pool, ...) / gl_opt_step(..., pool, ...) ...
 *   gl_py_pool_unlock(st);
 *   Py_END_ALLOW_THREADS
 *   (GIL held)     gl_py_pool_unreserve(st);
 * The lock exists because gl_parallel_for is not re-entrant from two
 * threads at once; taking it only without the GIL cannot deadlock. */
void gl_py_pool_reserve(gl_py_state *st);
void gl_py_pool_unreserve(gl_py_state *st);
gl_pool *gl_py_pool_lock(gl_py_state *st);
void gl_py_pool_unlock(gl_py_state *st);

/* Type registration (each returns 0, or -1 with an exception set). */
int gl_py_graph_register(PyObject *module, gl_py_state *st);
int gl_py_program_register(PyObject *module, gl_py_state *st);

/* The Optimizer type, clip_weights and ema_update (gl_py_optim.c). */
#include "py/gl_py_optim.h"

#endif
