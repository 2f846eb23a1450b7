/* gl_kernels.h - forward kernels: one entry point that evaluates one node.
 *
 * The executor resolves every input to a pointer (arena, parameter buffer,
 * bound input) and calls gl_kernel_forward.  Kernels never allocate; an op
 * that needs scratch memory declares it with gl_kernel_workspace and gets it
 * in a->work.  Large elementwise/reduction work is split over the pool;
 * matmul calls OpenBLAS from the calling thread (one owner of parallelism). */
#ifndef GL_KERNELS_H
#define GL_KERNELS_H

#include <stddef.h>
#include "../core/gl_graph.h"
#include "../core/gl_pool.h"
#include "../core/gl_rng.h"

typedef struct gl_kernel_args {
    const gl_node *node;              /* op, f[], i[], shape of the output  */
    float *out;                       /* numel(node->shape) floats          */
    const float *in[GL_MAX_IN];       /* input data                         */
    const gl_shape *in_shape[GL_MAX_IN];
    gl_pool *pool;                    /* may be NULL: run single-threaded   */
    gl_rng *rng;                      /* for GL_OPF_RANDOM ops              */
    float *work;                      /* gl_kernel_workspace(...) floats    */
    const float *bias;                /* NULL, or a per-channel vector (output
                                         channels) that the program fused into
                                         this node: CONV2D only, added before act */
    const gl_node *act;               /* NULL, or a RELU / LEAKY_RELU node that
                                         the program fused into this one: the
                                         kernel writes act(value) (ADD,
                                         BATCH_NORM, CONV2D, INSTANCE_NORM;
                                         gl_kernel_fuses_act) */
} gl_kernel_args;

/* Whether op's kernel can apply a fused activation (gl_kernel_args.act). */
int gl_kernel_fuses_act(gl_op op);

/* Floats of scratch the node needs (0 for most ops). */
size_t gl_kernel_workspace(const gl_graph *g, int node);

/* Evaluate one node. Leaves INPUT/PARAM/CONST are not kernels (the executor
 * points at their data) and return GL_ERR_INTERNAL if passed here. */
gl_status gl_kernel_forward(const gl_kernel_args *a, gl_error *err);

#endif
