/* gl_k_conv.h - what the two convolution paths share: the geometry of a conv
 * op in conv2d terms, and the Winograd path's entry points (gl_k_winograd.c).
 * Not a public API. */
#ifndef GL_K_CONV_H
#define GL_K_CONV_H

#include "gl_k_internal.h"

/* image side (N, Ci, H, W), kernel (Co, Ci, kh, kw), column side (N, Co, Ho, Wo) */
typedef struct gl_conv_geom {
    int64_t N, Ci, H, W;   /* image side  */
    int64_t Co, Ho, Wo;    /* column side */
    int64_t kh, kw, s, p;
    int64_t K, P;          /* Ci*kh*kw, Ho*Wo */
    int64_t nb;            /* images per im2col chunk */
} gl_conv_geom;

/* Fill c from the op's operand shapes; 0, or -1 when they are inconsistent. */
int gl_conv_geom_of(gl_op op, const gl_shape *in0, const gl_shape *in1, const gl_shape *out, int64_t s, int64_t p,
                    gl_conv_geom *c);

/* Nonzero when the op runs on the Winograd path: 4x4 kernels with stride 2
 * (DCGAN's layers) and enough channels on both sides for the GEMMs to pay. */
int gl_wino_applies(gl_op op, const gl_conv_geom *c);

/* Workspace floats the Winograd path needs for this op. */
size_t gl_wino_workspace(gl_op op, const gl_conv_geom *c);

/* Runs the op (gl_wino_applies must hold): in0, in1 and out as in gl_k_conv;
 * conv2d's output gets the fused bias and activation (either may be NULL). */
void gl_wino_conv(gl_op op, const gl_conv_geom *c, const float *in0, const float *in1, const float *bias,
                  const gl_node *act, float *out, float *work, gl_pool *pool);

/* ---- 3x3 stride-1 padding-1 convolutions through Winograd F(2x2, 3x3) (gl_k_wino3.c) ---- */

/* Nonzero when the geometry is one the path can run: 3x3, stride 1, padding 1. */
int gl_wino3_geometry(gl_op op, const gl_conv_geom *c);

/* Nonzero when the op takes the path: the geometry, and the shapes where it
 * was measured faster than the other paths (gl_k_conv.c). */
int gl_wino3_applies(gl_op op, const gl_conv_geom *c);

/* Workspace floats the path needs for this op. */
size_t gl_wino3_workspace(gl_op op, const gl_conv_geom *c);

/* Runs the op (gl_wino3_geometry must hold), arguments as gl_wino_conv. */
gl_status gl_wino3_conv(gl_op op, const gl_conv_geom *c, const float *in0, const float *in1, const float *bias,
                        const gl_node *act, float *out, float *work, gl_pool *pool, gl_error *err);

/* ---- stride-1 convolutions to at most four channels, computed directly (gl_k_conv_direct.c) ---- */

#define GL_DIRECT_MAX_CO 4 /* column-side channels the path holds in registers */

static inline int64_t gl_round16(int64_t n) { return (n + 15) / 16 * 16; }

/* Nonzero when the geometry is one the path can run: stride 1, at most
 * GL_DIRECT_MAX_CO column-side channels, padding below the kernel size. */
int gl_direct_geometry(gl_op op, const gl_conv_geom *c);

/* Workspace floats the path needs for this op. */
size_t gl_direct_workspace(gl_op op, const gl_conv_geom *c);

/* Runs the op (gl_direct_geometry must hold), arguments as gl_wino_conv. */
void gl_direct_conv(gl_op op, const gl_conv_geom *c, const float *in0, const float *in1, const float *bias,
                    const gl_node *act, float *out, float *work, gl_pool *pool);

#endif
