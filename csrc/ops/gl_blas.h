/* gl_blas.h - the one place that names the OpenBLAS build we link.
 * scipy-openblas32 prefixes every symbol with scipy_. */
#ifndef GL_BLAS_H
#define GL_BLAS_H

#include <cblas.h>

#define gl_cblas_sgemm scipy_cblas_sgemm
#define gl_blas_set_num_threads scipy_openblas_set_num_threads
#define gl_blas_get_num_threads scipy_openblas_get_num_threads
#define gl_blas_get_config scipy_openblas_get_config
#define gl_blas_get_corename scipy_openblas_get_corename

#endif
