/* gl_shape.h - shapes of float32 tensors, up to 4-D, contiguous (row-major). */
#ifndef GL_SHAPE_H
#define GL_SHAPE_H

#include <stdint.h>

#define GL_MAX_DIMS 4

typedef struct gl_shape {
    int ndim;                 /* 0 (scalar) .. 4 */
    int64_t d[GL_MAX_DIMS];   /* entries past ndim are 1 */
} gl_shape;

static inline gl_shape gl_shape_make(int ndim, const int64_t *d) {
    gl_shape s;
    s.ndim = ndim;
    for (int i = 0; i < GL_MAX_DIMS; i++) s.d[i] = (i < ndim) ? d[i] : 1;
    return s;
}
static inline gl_shape gl_shape0(void) { return gl_shape_make(0, 0); }
static inline gl_shape gl_shape1(int64_t a) { int64_t d[1] = {a}; return gl_shape_make(1, d); }
static inline gl_shape gl_shape2(int64_t a, int64_t b) { int64_t d[2] = {a, b}; return gl_shape_make(2, d); }

static inline int64_t gl_shape_numel(const gl_shape *s) {
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++) n *= s->d[i];
    return n;
}
static inline int gl_shape_eq(const gl_shape *a, const gl_shape *b) {
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++) if (a->d[i] != b->d[i]) return 0;
    return 1;
}
/* Writes "(2, 3)" style text into buf; returns buf. */
char *gl_shape_str(const gl_shape *s, char *buf, int len);

#endif
