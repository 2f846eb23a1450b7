/* gl_py_fit.h - the `Fit` type of ganlib._C: the C training loop (train/gl_fit.h)
 * driven from Python (contract in API.md). */
#ifndef GL_PY_FIT_H
#define GL_PY_FIT_H

#include "gl_py.h"

/* Add the Fit type to module (called once from module init, after the pool
 * and the Program/Optimizer types exist).  0, or -1 with an exception set. */
int gl_py_fit_register(PyObject *module);

#endif
