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
#include "train/gl_fit.h"

/* Add the Optimizer type, the OPTIMIZER_MAX_T constant (the largest step
 * count, 2**53) and the clip_weights / ema_update functions to module.
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

/* GL_OK if o (which must pass gl_py_optimizer_check) can take one more step:
 * not cleared, and its step count below GL_OPT_MAX_STEP (else GL_ERR_VALUE).
 * Reads only C fields (no GIL needed).  Program.step asks every optimizer
 * first, so a refused step updates none of them. */
gl_status gl_py_optimizer_can_step(PyObject *o, gl_error *err);

/* For a caller that runs o's updates itself with the GIL released (the
 * training loop, gl_py_fit.c).  Needs the GIL.  Claims o as a step does (so
 * Optimizer.step, or setting lr / t, refuses until the release) and fills
 * out->cfg (a copy: the current lr), param, grad, state, n, and *out->t,
 * which must point at caller storage, with the steps taken so far.
 * Returns 0, or -1 with an exception set (not an Optimizer -> TypeError,
 * cleared or busy -> GanlibError). */
int gl_py_optimizer_slot(PyObject *o, gl_fit_opt *out);
/* Ends gl_py_optimizer_slot's claim, storing t (the caller's count after its
 * updates) as the optimizer's step count.  Needs the GIL. */
void gl_py_optimizer_slot_release(PyObject *o, int64_t t);

#endif
