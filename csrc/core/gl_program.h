/* gl_program.h - a compiled step: nodes to run, memory plan, one arena.
 *
 * Compiling selects the nodes the outputs need, in graph (topological) order,
 * plans one arena in which blocks are reused once their last reader has run
 * (liveness), allocates the arena and the workspace once, and from then on
 * gl_program_run allocates nothing.  A program borrows its graph: the graph
 * must outlive it and must not gain nodes the program uses (appending other
 * nodes is fine). */
#ifndef GL_PROGRAM_H
#define GL_PROGRAM_H

#include <stddef.h>
#include "gl_graph.h"
#include "gl_pool.h"
#include "gl_rng.h"

typedef struct gl_program gl_program;

/* outs[k] are the nodes whose values the caller reads after a run.  If dst is
 * not NULL and dst[k] is not NULL, output k is written to dst[k] (numel floats,
 * e.g. a slice of a flat gradient buffer) instead of being kept in the arena. */
gl_status gl_program_new(const gl_graph *g, int nout, const int *outs, float *const *dst,
                         gl_program **out, gl_error *err);
void gl_program_free(gl_program *p);

/* The INPUT nodes the program reads, in graph order. */
int gl_program_num_inputs(const gl_program *p);
int gl_program_input_node(const gl_program *p, int k);

/* Bind the data of an INPUT node for the following runs (not copied; must hold
 * numel(shape) floats and stay valid while runs use it). */
gl_status gl_program_bind(gl_program *p, int node, const float *data, gl_error *err);

/* Evaluate. Fails if an input is unbound. Allocates nothing. */
gl_status gl_program_run(gl_program *p, gl_pool *pool, gl_rng *rng, gl_error *err);

/* After a run: output k's values (points into the arena or at dst[k]). */
const float *gl_program_output(const gl_program *p, int k);

/* Index of the first NaN/inf in x[0..n), or -1: how a training step checks the
 * values it must keep finite before it updates anything. */
int64_t gl_first_nonfinite(const float *x, int64_t n);

size_t gl_program_arena_bytes(const gl_program *p);
int gl_program_num_steps(const gl_program *p);   /* nodes executed per run */

#endif
