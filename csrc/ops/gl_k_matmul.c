/* gl_k_matmul.c - 2-D matmul through OpenBLAS sgemm (row-major).
 * Called from the executing thread only: OpenBLAS owns the parallelism. */
#include "gl_k_internal.h"

#include <limits.h>
#include <string.h>

#include "gl_blas.h"

gl_status gl_k_matmul(const gl_kernel_args *a, gl_error *err) {
    const gl_node *nd = a->node;
    gl_status st = gl_k_check_inputs(a, 2, err);
    if (st != GL_OK) return st;
    const gl_shape *sa = a->in_shape[0], *sb = a->in_shape[1], *so = &nd->shape;
    int ta = nd->i[0] != 0, tb = nd->i[1] != 0;
    char b1[96], b2[96], b3[96];
    if (sa->ndim != 2 || sb->ndim != 2 || so->ndim != 2)
        return gl_fail(err, GL_ERR_VALUE, "matmul: needs 2-D operands, got %s @ %s -> %s",
                       gl_shape_str(sa, b1, sizeof b1), gl_shape_str(sb, b2, sizeof b2),
                       gl_shape_str(so, b3, sizeof b3));
    int64_t m = ta ? sa->d[1] : sa->d[0], k = ta ? sa->d[0] : sa->d[1];
    int64_t kb = tb ? sb->d[1] : sb->d[0], n = tb ? sb->d[0] : sb->d[1];
    if (k != kb || so->d[0] != m || so->d[1] != n)
        return gl_fail(err, GL_ERR_VALUE, "matmul: shapes %s%s @ %s%s do not give %s",
                       gl_shape_str(sa, b1, sizeof b1), ta ? ".T" : "", gl_shape_str(sb, b2, sizeof b2),
                       tb ? ".T" : "", gl_shape_str(so, b3, sizeof b3));
    if (m > INT_MAX || n > INT_MAX || k > INT_MAX || sa->d[1] > INT_MAX || sb->d[1] > INT_MAX)
        return gl_fail(err, GL_ERR_VALUE, "matmul: dimension too large for 32-bit BLAS");
    if (m == 0 || n == 0) return GL_OK;
    if (k == 0) { /* empty sum; BLAS would reject lda = 0 */
        memset(a->out, 0, sizeof(float) * (size_t)(m * n));
        return GL_OK;
    }
    gl_cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                   (int)m, (int)n, (int)k, 1.0f, a->in[0], (int)sa->d[1], a->in[1], (int)sb->d[1],
                   0.0f, a->out, (int)n);
    return GL_OK;
}
