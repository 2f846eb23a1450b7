/* gl_optim.c - SGD, Adam, AdamW and RMSprop over flat float32 buffers.
 *
 * Each update follows torch.optim's single-tensor (foreach=False) code path
 * operation by operation, in float32, with the Python-side scalars (1 - beta,
 * bias corrections, step size) computed in double and rounded to float once
 * per step, as torch does when it hands a Python float to a float32 kernel.
 *
 * State layout (each slot is a contiguous block of n floats, zero at start):
 *   SGD      momentum != 0:  [buf]
 *   Adam(W):                 [m | v]  plus [vmax] when amsgrad
 *   RMSprop:                 [square_avg] then [buf] when momentum > 0,
 *                            then [grad_avg] when centered
 *
 * The update is elementwise, so splitting it over the pool gives the same
 * bits as running it on one thread.  Nothing here allocates.
 *
 * Denormals are flushed to zero inside the update (x86: FTZ and DAZ in MXCSR
 * for the duration of each range, then restored).  The first moment of a
 * rarely used weight decays by beta1 every step into the denormal range, where
 * each multiply takes a microcode assist: without the flush an MNIST VAE's step
 * took twice as long from about step 800 on.  No update can see a value below
 * FLT_MIN: it is divided by sqrt(v) + eps or scaled by the learning rate. */
#include "gl_optim.h"

#include <math.h>
#include <stddef.h>
#if defined(__SSE__) || defined(_M_X64)
#include <xmmintrin.h>
#define GL_HAVE_MXCSR 1
#endif

/* Below this many elements per thread the pool is not worth waking. */
#define GL_OPT_MIN_PER_THREAD 16384

/* ------------------------------------------------------------------------ */
/* Configuration                                                             */
/* ------------------------------------------------------------------------ */

int gl_opt_state_slots(const gl_opt_config *c) {
    if (!c) return 0;
    switch (c->kind) {
    case GL_OPT_SGD: return c->momentum != 0.0f ? 1 : 0;
    case GL_OPT_ADAM:
    case GL_OPT_ADAMW: return c->amsgrad ? 3 : 2;
    case GL_OPT_RMSPROP: return 1 + (c->momentum > 0.0f ? 1 : 0) + (c->centered ? 1 : 0);
    }
    return 0;
}

static const char *gl_opt_kind_name(gl_opt_kind k) {
    switch (k) {
    case GL_OPT_SGD: return "SGD";
    case GL_OPT_ADAM: return "Adam";
    case GL_OPT_ADAMW: return "AdamW";
    case GL_OPT_RMSPROP: return "RMSprop";
    }
    return "unknown";
}

/* value must be finite and >= 0. */
static gl_status gl_opt_check_nonneg(const char *kind, const char *field, double value, gl_error *err) {
    if (!isfinite(value) || value < 0.0)
        return gl_fail(err, GL_ERR_VALUE, "%s: %s must be a finite number >= 0, got %g", kind, field, value);
    return GL_OK;
}

/* value must lie in [0, 1). */
static gl_status gl_opt_check_beta(const char *kind, const char *field, double value, gl_error *err) {
    if (!(value >= 0.0 && value < 1.0))
        return gl_fail(err, GL_ERR_VALUE, "%s: %s must be in [0, 1), got %g", kind, field, value);
    return GL_OK;
}

gl_status gl_opt_validate(const gl_opt_config *c, gl_error *err) {
    gl_status st;
    if (!c) return gl_fail(err, GL_ERR_VALUE, "optimizer config is NULL");
    if (c->kind != GL_OPT_SGD && c->kind != GL_OPT_ADAM && c->kind != GL_OPT_ADAMW &&
        c->kind != GL_OPT_RMSPROP)
        return gl_fail(err, GL_ERR_VALUE, "kind: unknown optimizer kind %d", (int)c->kind);
    const char *k = gl_opt_kind_name(c->kind);
    if ((st = gl_opt_check_nonneg(k, "lr", c->lr, err)) != GL_OK) return st;
    if ((st = gl_opt_check_nonneg(k, "weight_decay", c->weight_decay, err)) != GL_OK) return st;

    switch (c->kind) {
    case GL_OPT_SGD:
        if ((st = gl_opt_check_nonneg(k, "momentum", c->momentum, err)) != GL_OK) return st;
        if (!isfinite(c->dampening))
            return gl_fail(err, GL_ERR_VALUE, "%s: dampening must be finite, got %g", k,
                           (double)c->dampening);
        if (c->nesterov && (c->momentum <= 0.0f || c->dampening != 0.0f))
            return gl_fail(err, GL_ERR_VALUE,
                           "%s: nesterov requires momentum > 0 and dampening == 0 "
                           "(got momentum=%g, dampening=%g)",
                           k, (double)c->momentum, (double)c->dampening);
        break;
    case GL_OPT_ADAM:
    case GL_OPT_ADAMW:
        if ((st = gl_opt_check_beta(k, "betas[0] (beta1)", c->beta1, err)) != GL_OK) return st;
        if ((st = gl_opt_check_beta(k, "betas[1] (beta2)", c->beta2, err)) != GL_OK) return st;
        if ((st = gl_opt_check_nonneg(k, "eps", c->eps, err)) != GL_OK) return st;
        break;
    case GL_OPT_RMSPROP:
        if (!(c->alpha >= 0.0f && c->alpha <= 1.0f))
            return gl_fail(err, GL_ERR_VALUE, "%s: alpha must be in [0, 1], got %g", k, (double)c->alpha);
        if ((st = gl_opt_check_nonneg(k, "eps", c->eps, err)) != GL_OK) return st;
        if ((st = gl_opt_check_nonneg(k, "momentum", c->momentum, err)) != GL_OK) return st;
        break;
    }
    return GL_OK;
}

/* ------------------------------------------------------------------------ */
/* Kernels                                                                   */
/* ------------------------------------------------------------------------ */

/* torch.lerp on CPU (scalar path): start + w*(end - start) for |w| < 0.5,
 * else end - (end - start)*(1 - w). */
static inline float gl_lerp(float start, float end, float w, float one_minus_w, int small) {
    return small ? start + w * (end - start) : end - (end - start) * one_minus_w;
}

typedef struct gl_opt_job {
    float *param;
    const float *grad;
    float *s0, *s1, *s2; /* state slots (NULL when absent) */
    /* float32 scalars, rounded once per step */
    float wd;        /* L2 term added to the gradient (0: none) */
    float decay;     /* AdamW: multiply param by this first */
    float neg_lr;    /* -lr (SGD, RMSprop) */
    float momentum;
    float damp1;     /* 1 - dampening */
    float w1, w1c;   /* lerp weight (Adam: 1 - beta1, RMSprop: 1 - alpha) and 1 - weight */
    int w1_small;
    float beta2, w2; /* Adam: beta2, 1 - beta2 */
    float alpha;     /* RMSprop */
    float inv_bc2_sqrt; /* Adam: 1 / sqrt(1 - beta2^t): a multiply, not a divide, per element */
    float eps;
    float neg_step;  /* Adam: -lr / (1 - beta1^t) */
    int first;       /* SGD: the momentum buffer starts as the gradient */
    int nesterov, amsgrad, centered, use_momentum, decoupled;
    gl_range_fn kernel; /* the update, run by gl_opt_range with denormals flushed */
} gl_opt_job;

/* The kernel over [begin, end) with denormals flushed to zero on this thread (see the top of the file). */
static void gl_opt_range(void *arg, int64_t begin, int64_t end) {
    const gl_opt_job *j = arg;
#ifdef GL_HAVE_MXCSR
    const unsigned csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040u); /* FTZ (bit 15) | DAZ (bit 6) */
    j->kernel(arg, begin, end);
    _mm_setcsr(csr);
#else
    j->kernel(arg, begin, end);
#endif
}

static void gl_sgd_range(void *arg, int64_t begin, int64_t end) {
    const gl_opt_job *j = arg;
    float *restrict p = j->param;
    const float *restrict gr = j->grad;
    float *restrict buf = j->s0;
    const float wd = j->wd, mom = j->momentum, damp1 = j->damp1, neg_lr = j->neg_lr;
    const int use_momentum = j->use_momentum, first = j->first, nesterov = j->nesterov;
    /* flags in locals (not read through j per element) so gcc can vectorise */
    for (int64_t i = begin; i < end; i++) {
        float g = gr[i];
        if (wd != 0.0f) g = g + wd * p[i];
        if (use_momentum) {
            float b;
            if (first) b = g;
            else b = buf[i] * mom + damp1 * g;
            buf[i] = b;
            g = nesterov ? g + mom * b : b;
        }
        p[i] = p[i] + neg_lr * g;
    }
}

static void gl_adam_range(void *arg, int64_t begin, int64_t end) {
    const gl_opt_job *j = arg;
    float *restrict p = j->param;
    const float *restrict gr = j->grad;
    float *restrict m = j->s0;
    float *restrict v = j->s1;
    float *restrict vmax = j->s2;
    const float wd = j->wd, decay = j->decay, w1 = j->w1, w1c = j->w1c, b2 = j->beta2, w2 = j->w2;
    const float ibc2s = j->inv_bc2_sqrt, eps = j->eps, neg_step = j->neg_step;
    const int small = j->w1_small, decoupled = j->decoupled, amsgrad = j->amsgrad;
    /* flags in locals (not read through j per element) so gcc can vectorise */
    for (int64_t i = begin; i < end; i++) {
        float pi = p[i];
        if (decoupled) pi = pi * decay;
        float g = gr[i];
        if (wd != 0.0f) g = g + wd * pi;
        const float mi = gl_lerp(m[i], g, w1, w1c, small);
        const float vi = v[i] * b2 + w2 * g * g;
        m[i] = mi;
        v[i] = vi;
        float vv = vi;
        if (amsgrad) {
            const float old = vmax[i];
            vv = (vi > old || isnan(vi)) ? vi : old; /* torch.maximum propagates NaN */
            vmax[i] = vv;
        }
        const float denom = sqrtf(vv) * ibc2s + eps;
        p[i] = pi + neg_step * mi / denom;
    }
}

static void gl_rmsprop_range(void *arg, int64_t begin, int64_t end) {
    const gl_opt_job *j = arg;
    float *restrict p = j->param;
    const float *restrict gr = j->grad;
    float *restrict sq = j->s0;
    float *restrict buf = j->s1;
    float *restrict ga = j->s2;
    const float wd = j->wd, alpha = j->alpha, w = j->w1, wc = j->w1c, eps = j->eps;
    const float mom = j->momentum, neg_lr = j->neg_lr;
    const int small = j->w1_small;
    for (int64_t i = begin; i < end; i++) {
        float g = gr[i];
        if (wd != 0.0f) g = g + wd * p[i];
        const float s = sq[i] * alpha + w * g * g;
        sq[i] = s;
        float avg;
        if (j->centered) {
            const float a = gl_lerp(ga[i], g, w, wc, small);
            ga[i] = a;
            avg = sqrtf(s + -1.0f * a * a);
        } else {
            avg = sqrtf(s);
        }
        avg = avg + eps;
        if (j->use_momentum) {
            const float b = buf[i] * mom + g / avg;
            buf[i] = b;
            p[i] = p[i] + neg_lr * b;
        } else {
            p[i] = p[i] + neg_lr * g / avg;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Step                                                                      */
/* ------------------------------------------------------------------------ */

gl_status gl_opt_step(const gl_opt_config *c, float *param, const float *grad, float *state,
                      int64_t n, int64_t *step, gl_pool *pool, gl_error *err) {
    gl_status st = gl_opt_validate(c, err);
    if (st != GL_OK) return st;
    if (n < 0) return gl_fail(err, GL_ERR_VALUE, "optimizer step: n must be >= 0, got %lld", (long long)n);
    if (!step) return gl_fail(err, GL_ERR_VALUE, "optimizer step: step counter is NULL");
    if (*step < 0)
        return gl_fail(err, GL_ERR_VALUE, "optimizer step: step count must be >= 0, got %lld",
                       (long long)*step);
    if (*step >= GL_OPT_MAX_STEP) /* the increment below must stay in range (see gl_optim.h) */
        return gl_fail(err, GL_ERR_VALUE,
                       "%s step: the step count t = %lld is at its limit 2**53; cannot take another step",
                       gl_opt_kind_name(c->kind), (long long)*step);
    const int slots = gl_opt_state_slots(c);
    if (n > 0 && (!param || !grad || (slots > 0 && !state)))
        return gl_fail(err, GL_ERR_VALUE, "optimizer step: %s buffer is NULL",
                       !param ? "param" : !grad ? "grad" : "state");
    if (n > 0 && (uint64_t)n > (uint64_t)INT64_MAX / 4)
        return gl_fail(err, GL_ERR_VALUE, "optimizer step: n = %lld is too large", (long long)n);

    const int64_t t = *step + 1; /* torch increments before computing bias corrections */
    gl_opt_job j = {0};
    j.param = param;
    j.grad = grad;
    j.s0 = slots > 0 ? state : NULL;
    j.s1 = slots > 1 ? state + n : NULL;
    j.s2 = slots > 2 ? state + 2 * n : NULL;
    /* (float) casts: the config may hold float or double hyperparameters */
    j.eps = (float)c->eps;
    j.neg_lr = (float)(-(double)c->lr);
    gl_range_fn fn = NULL;

    switch (c->kind) {
    case GL_OPT_SGD:
        j.wd = (float)c->weight_decay;
        j.momentum = (float)c->momentum;
        j.use_momentum = c->momentum != 0.0f;
        j.damp1 = (float)(1.0 - (double)c->dampening);
        j.nesterov = c->nesterov != 0;
        j.first = *step == 0;
        fn = gl_sgd_range;
        break;
    case GL_OPT_ADAM:
    case GL_OPT_ADAMW: {
        const double lr = c->lr, b1 = c->beta1, b2 = c->beta2;
        const double bc1 = 1.0 - pow(b1, (double)t);
        const double bc2 = 1.0 - pow(b2, (double)t);
        j.decoupled = c->kind == GL_OPT_ADAMW && c->weight_decay != 0.0f;
        j.decay = (float)(1.0 - lr * (double)c->weight_decay);
        j.wd = c->kind == GL_OPT_ADAM ? (float)c->weight_decay : 0.0f;
        j.w1 = (float)(1.0 - b1);
        j.w1c = 1.0f - j.w1;
        j.w1_small = fabsf(j.w1) < 0.5f;
        j.beta2 = (float)c->beta2;
        j.w2 = (float)(1.0 - b2);
        j.inv_bc2_sqrt = (float)(1.0 / sqrt(bc2));
        j.neg_step = (float)(-(lr / bc1));
        j.amsgrad = c->amsgrad != 0;
        fn = gl_adam_range;
        break;
    }
    case GL_OPT_RMSPROP:
        j.wd = (float)c->weight_decay;
        j.alpha = (float)c->alpha;
        j.w1 = (float)(1.0 - (double)c->alpha);
        j.w1c = 1.0f - j.w1;
        j.w1_small = fabsf(j.w1) < 0.5f;
        j.momentum = (float)c->momentum;
        j.use_momentum = c->momentum > 0.0f;
        j.centered = c->centered != 0;
        /* [square_avg | buf if momentum | grad_avg if centered] */
        j.s1 = j.use_momentum ? state + n : NULL;
        j.s2 = j.centered ? state + (j.use_momentum ? 2 : 1) * n : NULL;
        fn = gl_rmsprop_range;
        break;
    }
    if (!fn) return gl_fail(err, GL_ERR_INTERNAL, "optimizer step: no kernel for kind %d", (int)c->kind);
    j.kernel = fn;
    if (n > 0) gl_parallel_for(pool, n, GL_OPT_MIN_PER_THREAD, gl_opt_range, &j);
    *step = t;
    return GL_OK;
}

/* ------------------------------------------------------------------------ */
/* Weight clipping and parameter averaging                                   */
/* ------------------------------------------------------------------------ */

void gl_clip_weights(float *param, int64_t n, float c) {
    if (!param || n <= 0) return;
    const float hi = fabsf(c), lo = -hi; /* a negative bound is read as its magnitude */
    for (int64_t i = 0; i < n; i++) {
        const float x = param[i];
        /* NaN stays NaN, like torch.clamp_ */
        param[i] = x < lo ? lo : (x > hi ? hi : x);
    }
}

void gl_ema_update(float *avg, const float *param, int64_t n, float decay) {
    if (!avg || !param || n <= 0) return;
    const float keep = decay, take = (float)(1.0 - (double)decay);
    for (int64_t i = 0; i < n; i++) avg[i] = keep * avg[i] + take * param[i];
}
