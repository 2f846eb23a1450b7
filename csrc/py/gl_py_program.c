/* gl_py_program.c - the Program type: construction, lifecycle, attributes.
 * run() and step() are in gl_py_program_run.c. */
#include "gl_py_program.h"
#include "gl_py_convert.h"

#include <stddef.h>
#include <stdio.h>
#include <structmember.h>

/* sinks argument -> new tuple of nout (ndarray or None) and dst pointers. */
static int parse_sinks(GraphObject *graph, PyObject *sinks_obj, int nout, const int *outs, PyObject **sinks_out,
                       float ***dst_out) {
    *sinks_out = NULL;
    *dst_out = NULL;
    if (sinks_obj == Py_None) return 0;
    if (!PyList_Check(sinks_obj) && !PyTuple_Check(sinks_obj)) {
        PyErr_Format(PyExc_TypeError, "sinks must be a list of arrays or None, not %.100s",
                     Py_TYPE(sinks_obj)->tp_name);
        return -1;
    }
    PyObject *t = PySequence_Tuple(sinks_obj);
    if (!t) return -1;
    if (PyTuple_GET_SIZE(t) != nout) {
        PyErr_Format(PyExc_ValueError, "sinks has %zd entries but there are %d outputs", PyTuple_GET_SIZE(t), nout);
        Py_DECREF(t);
        return -1;
    }
    float **dst = PyMem_Calloc((size_t)nout, sizeof *dst);
    if (!dst) { Py_DECREF(t); PyErr_NoMemory(); return -1; }
    for (int k = 0; k < nout; k++) {
        PyObject *s = PyTuple_GET_ITEM(t, k);
        if (s == Py_None) continue;
        char what[48];
        snprintf(what, sizeof what, "sinks[%d]", k);
        if (gl_py_check_f32_buffer(s, what, 1, -1) < 0) goto fail;
        const gl_shape *shape = &graph->g->nodes[outs[k]].shape;
        int64_t need = gl_shape_numel(shape);
        if ((int64_t)PyArray_SIZE((PyArrayObject *)s) != need) {
            char sb[96];
            gl_shape_str(shape, sb, sizeof sb);
            PyErr_Format(PyExc_ValueError, "%s: output %d has shape %s (%lld elements) but the sink has %lld",
                         what, k, sb, (long long)need, (long long)PyArray_SIZE((PyArrayObject *)s));
            goto fail;
        }
        dst[k] = (float *)PyArray_DATA((PyArrayObject *)s);
    }
    *sinks_out = t;
    *dst_out = dst;
    return 0;
fail:
    PyMem_Free(dst);
    Py_DECREF(t);
    return -1;
}

static PyObject *program_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"graph", "outputs", "sinks", "seed", NULL};
    PyObject *graph_obj, *outputs, *sinks_obj = Py_None, *seed_obj = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|OO:Program", kwlist, &graph_obj, &outputs, &sinks_obj, &seed_obj))
        return NULL;
    gl_py_state *st = gl_py_state_of_type(type);
    if (!st) return NULL;
    if (!PyObject_TypeCheck(graph_obj, st->graph_type)) {
        PyErr_Format(PyExc_TypeError, "graph must be a Graph, not %.100s", Py_TYPE(graph_obj)->tp_name);
        return NULL;
    }
    GraphObject *graph = (GraphObject *)graph_obj;
    uint64_t seed = 0;
    if (seed_obj && gl_py_as_uint64(seed_obj, "seed", &seed) < 0) return NULL;

    int *outs = NULL, *in_nodes = NULL;
    Py_ssize_t nout = 0;
    PyObject *sinks = NULL, **in_arrays = NULL;
    float **dst = NULL;
    gl_program *prog = NULL;
    ProgramObject *self = NULL;

    if (gl_py_node_list(graph->g, outputs, "outputs", &outs, &nout) < 0) return NULL;
    if (nout == 0) {
        PyErr_SetString(PyExc_ValueError, "outputs must name at least one node");
        goto fail;
    }
    if (parse_sinks(graph, sinks_obj, (int)nout, outs, &sinks, &dst) < 0) goto fail;

    gl_error err;
    gl_error_clear(&err);
    if (gl_program_new(graph->g, (int)nout, outs, dst, &prog, &err) != GL_OK) {
        prog = NULL;
        gl_py_raise_err(st->error, &err);
        goto fail;
    }
    PyMem_Free(dst);
    dst = NULL;

    int nin = gl_program_num_inputs(prog);
    in_nodes = PyMem_Malloc((size_t)(nin > 0 ? nin : 1) * sizeof *in_nodes);
    in_arrays = PyMem_Calloc((size_t)(nin > 0 ? nin : 1), sizeof *in_arrays);
    if (!in_nodes || !in_arrays) { PyErr_NoMemory(); goto fail; }
    for (int k = 0; k < nin; k++) {
        in_nodes[k] = gl_program_input_node(prog, k);
        if (in_nodes[k] < 0 || in_nodes[k] >= graph->g->n) {
            gl_py_raise(st->error, GL_ERR_INTERNAL, "program reports an invalid input node");
            goto fail;
        }
    }

    self = (ProgramObject *)type->tp_alloc(type, 0);
    if (!self) goto fail;
    Py_INCREF(graph);
    self->graph = graph;
    self->prog = prog;
    self->nout = (int)nout;
    self->outs = outs;
    self->sinks = sinks;
    self->nin = nin;
    self->in_nodes = in_nodes;
    self->in_arrays = in_arrays;
    gl_rng_seed(&self->rng, seed);
    return (PyObject *)self;

fail:
    gl_program_free(prog);
    PyMem_Free(dst);
    PyMem_Free(outs);
    PyMem_Free(in_nodes);
    PyMem_Free(in_arrays);
    Py_XDECREF(sinks);
    return NULL;
}

static int program_traverse(ProgramObject *self, visitproc visit, void *arg) {
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->graph);
    Py_VISIT(self->sinks);
    if (self->in_arrays)
        for (int k = 0; k < self->nin; k++) Py_VISIT(self->in_arrays[k]);
    return 0;
}

static int program_clear(ProgramObject *self) {
    if (self->busy) return 0;  /* cannot happen for garbage; never pull memory from a run */
    /* the C program borrows the graph, the sinks and the inputs: free it first */
    if (self->prog) {
        gl_program_free(self->prog);
        self->prog = NULL;
    }
    if (self->in_arrays)
        for (int k = 0; k < self->nin; k++) Py_CLEAR(self->in_arrays[k]);
    Py_CLEAR(self->sinks);
    Py_CLEAR(self->graph);
    return 0;
}

static void program_dealloc(ProgramObject *self) {
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    if (self->weakreflist) PyObject_ClearWeakRefs((PyObject *)self);
    self->busy = 0;
    program_clear(self);
    PyMem_Free(self->outs);
    PyMem_Free(self->in_nodes);
    PyMem_Free(self->in_arrays);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

/* ---- attributes ---- */

static int check_usable(ProgramObject *self) {
    if (self->prog && self->graph) return 0;
    gl_py_state *st = gl_py_state_of_type(Py_TYPE(self));
    if (st) PyErr_SetString(st->error, "this Program was cleared by the garbage collector");
    return -1;
}

static PyObject *program_get_inputs(ProgramObject *self, void *closure) {
    PyObject *l = PyList_New(self->nin);
    if (!l) return NULL;
    for (int k = 0; k < self->nin; k++) {
        PyObject *v = PyLong_FromLong(self->in_nodes[k]);
        if (!v) { Py_DECREF(l); return NULL; }
        PyList_SET_ITEM(l, k, v);
    }
    return l;
}

static PyObject *program_get_input_shapes(ProgramObject *self, void *closure) {
    if (check_usable(self) < 0) return NULL;
    PyObject *l = PyList_New(self->nin);
    if (!l) return NULL;
    for (int k = 0; k < self->nin; k++) {
        PyObject *v = gl_py_shape_to_tuple(&self->graph->g->nodes[self->in_nodes[k]].shape);
        if (!v) { Py_DECREF(l); return NULL; }
        PyList_SET_ITEM(l, k, v);
    }
    return l;
}

static PyObject *program_get_rng_state(ProgramObject *self, void *closure) {
    return Py_BuildValue("(KK)", (unsigned long long)self->rng.seed, (unsigned long long)self->rng.counter);
}

static int program_set_rng_state(ProgramObject *self, PyObject *value, void *closure) {
    if (!value) {
        PyErr_SetString(PyExc_TypeError, "rng_state cannot be deleted");
        return -1;
    }
    if (self->busy) {
        gl_py_state *st = gl_py_state_of_type(Py_TYPE(self));
        if (st) PyErr_SetString(st->error, "cannot set rng_state while the program is running");
        return -1;
    }
    if (!PyTuple_Check(value) || PyTuple_GET_SIZE(value) != 2) {
        PyErr_Format(PyExc_TypeError, "rng_state must be a tuple (seed, counter), not %.100s", Py_TYPE(value)->tp_name);
        return -1;
    }
    uint64_t seed, counter;
    if (gl_py_as_uint64(PyTuple_GET_ITEM(value, 0), "rng_state seed", &seed) < 0 ||
        gl_py_as_uint64(PyTuple_GET_ITEM(value, 1), "rng_state counter", &counter) < 0)
        return -1;
    self->rng.seed = seed;
    self->rng.counter = counter;
    return 0;
}

static PyObject *program_get_arena_bytes(ProgramObject *self, void *closure) {
    if (check_usable(self) < 0) return NULL;
    return PyLong_FromSize_t(gl_program_arena_bytes(self->prog));
}

static PyObject *program_get_num_steps(ProgramObject *self, void *closure) {
    if (check_usable(self) < 0) return NULL;
    return PyLong_FromLong(gl_program_num_steps(self->prog));
}

static PyGetSetDef program_getset[] = {
    {"inputs", (getter)program_get_inputs, NULL, "INPUT node ids the program reads, in graph order", NULL},
    {"input_shapes", (getter)program_get_input_shapes, NULL, "shapes of those inputs", NULL},
    {"rng_state", (getter)program_get_rng_state, (setter)program_set_rng_state,
     "(seed, counter) of the program's random stream (get and set)", NULL},
    {"arena_bytes", (getter)program_get_arena_bytes, NULL, "bytes of the activation arena", NULL},
    {"num_steps", (getter)program_get_num_steps, NULL, "nodes executed per run", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

#define KW (METH_VARARGS | METH_KEYWORDS)
#define FN(f) ((PyCFunction)(void (*)(void))(f))

static PyMethodDef program_methods[] = {
    {"run", FN(gl_py_program_run), KW, gl_py_program_run_doc},
    {"step", FN(gl_py_program_step), KW, gl_py_program_step_doc},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(program_doc,
"Program(graph, outputs, sinks=None, seed=0)\n--\n\n"
"A compiled step: evaluates the nodes in outputs, allocating nothing per run.\n"
"sinks[k], when given, is a float32 C-contiguous writeable array with\n"
"numel(output k) elements that output k is written into.");

static PyMemberDef program_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(ProgramObject, weakreflist), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot program_slots[] = {
    {Py_tp_members, program_members},
    {Py_tp_doc, (void *)program_doc},
    {Py_tp_new, (void *)program_new},
    {Py_tp_dealloc, (void *)program_dealloc},
    {Py_tp_traverse, (void *)program_traverse},
    {Py_tp_clear, (void *)program_clear},
    {Py_tp_methods, program_methods},
    {Py_tp_getset, program_getset},
    {0, NULL},
};

static PyType_Spec program_spec = {
    .name = "ganlib._C.Program",
    .basicsize = sizeof(ProgramObject),
    .itemsize = 0,
    .flags = GL_PY_TYPE_FLAGS,
    .slots = program_slots,
};

int gl_py_program_register(PyObject *module, gl_py_state *st) {
    PyObject *t = PyType_FromModuleAndSpec(module, &program_spec, NULL);
    if (!t) return -1;
    st->program_type = (PyTypeObject *)t;
    return PyModule_AddType(module, st->program_type);
}
