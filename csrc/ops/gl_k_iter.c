/* gl_k_iter.c - broadcast iteration spaces shared by binary ops and BROADCAST_TO. */
#include "gl_k_internal.h"

gl_status gl_k_iter_make(const gl_shape *out, int nops, const gl_shape *const *ops,
                         gl_k_iter *it, gl_error *err) {
    char b1[96], b2[96];
    int no = out->ndim;
    int64_t st[2][GL_MAX_DIMS];
    for (int k = 0; k < nops; k++) {
        const gl_shape *s = ops[k];
        int lead = s->ndim - no; /* extra leading dims must be 1 */
        for (int j = 0; j < lead; j++)
            if (s->d[j] != 1) goto bad;
        int64_t stride = 1;
        for (int i = no - 1; i >= 0; i--) {
            int j = i - (no - s->ndim);
            int64_t dj = (j >= 0) ? s->d[j] : 1;
            if (dj == out->d[i]) {
                st[k][i] = (dj == 1) ? 0 : stride;
            } else if (dj == 1) {
                st[k][i] = 0;
            } else {
                goto bad;
            }
            stride *= dj;
        }
        continue;
    bad:
        return gl_fail(err, GL_ERR_VALUE, "shape %s cannot be broadcast to %s",
                       gl_shape_str(s, b1, sizeof b1), gl_shape_str(out, b2, sizeof b2));
    }
    /* drop size-1 dims, merge dims contiguous in every operand */
    it->nd = 0;
    for (int i = 0; i < no; i++) {
        if (out->d[i] == 1) continue;
        int n = it->nd;
        int merge = n > 0;
        for (int k = 0; k < nops && merge; k++)
            if (it->s[k][n - 1] != st[k][i] * out->d[i]) merge = 0;
        if (merge) {
            it->d[n - 1] *= out->d[i];
            for (int k = 0; k < nops; k++) it->s[k][n - 1] = st[k][i];
        } else {
            it->d[n] = out->d[i];
            for (int k = 0; k < nops; k++) it->s[k][n] = st[k][i];
            it->nd = n + 1;
        }
    }
    if (it->nd == 0) {
        it->nd = 1;
        it->d[0] = 1;
        for (int k = 0; k < 2; k++) it->s[k][0] = 0;
    }
    for (int k = nops; k < 2; k++)
        for (int i = 0; i < it->nd; i++) it->s[k][i] = 0;
    return GL_OK;
}
