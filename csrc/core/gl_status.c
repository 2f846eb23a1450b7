/* gl_status.c - error values, shape printing and the counted allocator. */
#include "gl_status.h"
#include "gl_shape.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_llong gl_allocs; /* diagnostic only: proves steps do not allocate */

gl_status gl_fail(gl_error *err, gl_status code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

void gl_error_clear(gl_error *err) {
    if (!err) return;
    err->code = GL_OK;
    err->msg[0] = '\0';
}

void *gl_malloc(size_t n) { atomic_fetch_add(&gl_allocs, 1); return malloc(n ? n : 1); }
void *gl_calloc(size_t c, size_t s) { atomic_fetch_add(&gl_allocs, 1); return calloc(c ? c : 1, s ? s : 1); }
void *gl_realloc(void *p, size_t n) { atomic_fetch_add(&gl_allocs, 1); return realloc(p, n ? n : 1); }
void *gl_aligned_alloc(size_t n) {
    void *p = NULL;
    atomic_fetch_add(&gl_allocs, 1);
    if (posix_memalign(&p, 64, n ? n : 64) != 0) return NULL;
    return p;
}
void gl_free(void *p) { free(p); }
long long gl_alloc_count(void) { return atomic_load(&gl_allocs); }

char *gl_shape_str(const gl_shape *s, char *buf, int len) {
    int k = snprintf(buf, (size_t)len, "(");
    for (int i = 0; i < s->ndim && k < len; i++)
        k += snprintf(buf + k, (size_t)(len - k), i ? ", %lld" : "%lld", (long long)s->d[i]);
    if (k < len) k += snprintf(buf + k, (size_t)(len - k), s->ndim == 1 ? ",)" : ")");
    return buf;
}
