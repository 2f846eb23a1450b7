/* gl_py_program.h - the Program object, shared by its type and its run/step. */
#ifndef GL_PY_PROGRAM_H
#define GL_PY_PROGRAM_H

#include "gl_py.h"
#include "gl_py_graph.h"
#include "core/gl_program.h"
#include "core/gl_rng.h"

typedef struct ProgramObject {
    PyObject_HEAD
    PyObject *weakreflist;
    GraphObject *graph;   /* strong: the C program borrows graph->g            */
    gl_program *prog;     /* NULL only after tp_clear                          */
    gl_rng rng;
    int nout;
    int *outs;            /* PyMem: output node ids                            */
    PyObject *sinks;      /* tuple of nout (ndarray or None), or NULL: no sinks */
    int nin;
    int *in_nodes;        /* PyMem: INPUT node ids the program reads           */
    PyObject **in_arrays; /* PyMem, nin slots: converted inputs during a run   */
    int busy;             /* a run/step is in progress (GIL-protected flag)    */
} ProgramObject;

/* In gl_py_program_run.c. */
PyObject *gl_py_program_run(ProgramObject *self, PyObject *args, PyObject *kw);
PyObject *gl_py_program_step(ProgramObject *self, PyObject *args, PyObject *kw);
extern const char gl_py_program_run_doc[];
extern const char gl_py_program_step_doc[];

#endif
