/* gl_status.h - errors as values.
 *
 * Every library function that can fail returns a gl_status and, on failure,
 * fills a gl_error with a human-readable message.  Nothing a user can cause
 * aborts the process; the Python layer turns a status into an exception. */
#ifndef GL_STATUS_H
#define GL_STATUS_H

typedef enum gl_status {
    GL_OK = 0,
    GL_ERR_VALUE,       /* bad shape, bad argument value -> ValueError   */
    GL_ERR_TYPE,        /* wrong kind of object          -> TypeError    */
    GL_ERR_NOMEM,       /* allocation failed             -> MemoryError  */
    GL_ERR_UNSUPPORTED, /* e.g. second derivative of a first-order op    */
    GL_ERR_NONFINITE,   /* NaN or inf where a finite value was required  */
    GL_ERR_INTERRUPT,   /* stopped by a signal (Ctrl-C) at a boundary    */
    GL_ERR_INTERNAL     /* a bug in ganlib                               */
} gl_status;

#define GL_ERRMSG_LEN 512

typedef struct gl_error {
    gl_status code;
    char msg[GL_ERRMSG_LEN];
} gl_error;

/* Set err (if not NULL) to code and a printf-style message; returns code. */
gl_status gl_fail(gl_error *err, gl_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Reset an error to GL_OK with an empty message. */
void gl_error_clear(gl_error *err);

/* Allocation through one door so tests can prove a step allocates nothing.
 * gl_alloc_count() is the number of gl_malloc/gl_calloc/gl_realloc calls made
 * by this process (an atomic diagnostic counter, not program state). */
#include <stddef.h>
void *gl_malloc(size_t n);
void *gl_calloc(size_t count, size_t size);
void *gl_realloc(void *p, size_t n);
void *gl_aligned_alloc(size_t n); /* 64-byte aligned; release with gl_free */
void gl_free(void *p);
long long gl_alloc_count(void);

#endif
