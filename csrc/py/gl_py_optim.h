/* gl_py_optim.h - the `Optimizer` type and `clip_weights` / `ema_update` of ganlib._C.
 *
 * gl_py_module.c calls gl_py_optim_register() once from module init, after
 * import_array().  The Program binding uses the two accessors below to run the
 * optimizers of Program.step() inside its own GIL-free section. */
#ifndef GL_PY_OPTIM_H
#define GL_PY_OPTIM_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "core/gl_pool.h"
#include "core/gl_status.h"

/* Add the Optimizer type and the clip_weights / ema_update functions to module.
 * Returns 0, or -1 with a Python exception set. */
int gl_py_optim_register(PyObject *module);

/* 1 if o is a ganlib._C.Optimizer, else 0.  Needs the GIL; never fails. */
int gl_py_optimizer_check(PyObject *o);

/* One update of optimizer o (which must pass gl_py_optimizer_check).  Reads
 * only C fields, so it may (and for large buffers should) be called with the
 * GIL released; the caller must hold a reference to o throughout.  pool may be
 * NULL.  If the same optimizer is already stepping in another thread, or is
 * being modified from Python, returns GL_ERR_UNSUPPORTED (-> GanlibError). */
gl_status gl_py_optimizer_step_nogil(PyObject *o, gl_pool *pool, gl_error *err);

#endif
