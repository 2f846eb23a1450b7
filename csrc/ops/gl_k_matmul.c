/* gl_k_matmul.c - 2-D matmul through OpenBLAS sgemm (row-major).
 *
 * One owner of parallelism: OpenBLAS runs single-threaded, and a large GEMM is
 * split by the library pool into column (or row) blocks, each one sgemm call.
 * OpenBLAS's own workers busy-wait for a long time after every call; next to
 * the pool's workers they fight for the same cores, which made two-thread
 * steps up to ten times slower on a loaded machine. */
#include "gl_k_internal.h"

#include <limits.h>
#include <string.h>

#include "gl_blas.h"

#define GL_MM_PAR_FLOPS 4.0e6 /* below this a thread handoff costs more than it saves */
#define GL_MM_MIN_BLOCK 32     /* rows/columns per block: keeps each sgemm efficient */

typedef struct gl_mm_job {
    int ta, tb;
    int64_t m, n, k;
    const float *A; int lda;
    const float *B; int ldb;
    float *C;
    int by_rows;   /* split over rows of C (else over columns) */
} gl_mm_job;

/* C[r0:r1, :] (by rows) or C[:, r0:r1] (by columns) = op(A) op(B) for that block. */
static void gl_mm_block(const gl_mm_job *j, int64_t r0, int64_t r1) {
    const CBLAS_TRANSPOSE TA = j->ta ? CblasTrans : CblasNoTrans, TB = j->tb ? CblasTrans : CblasNoTrans;
    if (r1 <= r0) return;
    if (j->by_rows) { /* rows of op(A): A + r0*lda (A as stored m x k) or A + r0 (stored k x m) */
        const float *A = j->ta ? j->A + r0 : j->A + r0 * j->lda;
        gl_cblas_sgemm(CblasRowMajor, TA, TB, (int)(r1 - r0), (int)j->n, (int)j->k, 1.0f, A, j->lda,
                       j->B, j->ldb, 0.0f, j->C + r0 * j->n, (int)j->n);
    } else {          /* columns of op(B): B + r0 (stored k x n) or B + r0*ldb (stored n x k) */
        const float *B = j->tb ? j->B + r0 * j->ldb : j->B + r0;
        gl_cblas_sgemm(CblasRowMajor, TA, TB, (int)j->m, (int)(r1 - r0), (int)j->k, 1.0f, j->A, j->lda,
                       B, j->ldb, 0.0f, j->C + r0, (int)j->n);
    }
}

static void gl_mm_range(void *arg, int64_t begin, int64_t end) { gl_mm_block(arg, begin, end); }

/* k = 1: C = a b^T, rows [r0, r1).  Whether stored as a row or a column, a
 * one-deep operand is contiguous (its leading dimension is 1 or it is one
 * row), so element i of op(A) is A[i] and element j of op(B) is B[j]. */
static void gl_mm_outer_range(void *arg, int64_t r0, int64_t r1) {
    const gl_mm_job *j = arg;
    const int64_t n = j->n; /* a local: C's stores could otherwise alias *j, which kept the loop scalar */
    const float *restrict b = j->B;
    for (int64_t i = r0; i < r1; i++) {
        const float ai = j->A[i];
        float *restrict c = j->C + i * n;
        for (int64_t q = 0; q < n; q++) c[q] = ai * b[q];
    }
}

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
    gl_mm_job j = {ta, tb, m, n, k, a->in[0], (int)sa->d[1], a->in[1], (int)sb->d[1], a->out, 0};
    if (k == 1) { /* an outer product (DCGAN's dx of its last layer): too few flops for the split below */
        const int64_t min_rows = GL_K_PAR_MIN / n;
        gl_parallel_for(a->pool, m, min_rows < 1 ? 1 : min_rows, gl_mm_outer_range, &j);
        return GL_OK;
    }
    const int nt = a->pool ? gl_pool_threads(a->pool) : 1;
    if (nt < 2 || 2.0 * (double)m * (double)n * (double)k < GL_MM_PAR_FLOPS) {
        gl_mm_block(&j, 0, j.by_rows ? m : n);
        return GL_OK;
    }
    /* split the longer output side, in blocks of at least GL_MM_MIN_BLOCK */
    j.by_rows = m > n;
    gl_parallel_for(a->pool, j.by_rows ? m : n, GL_MM_MIN_BLOCK, gl_mm_range, &j);
    return GL_OK;
}
