/* gl_k_instance_norm.c - INSTANCE_NORM (with a fused ReLU / LeakyReLU),
 * INSTANCE_NORM_BWD, INSTANCE_RSTD and INSTANCE_NORM_GRAD.
 *
 * x (N, C, H, W) is N*C planes of S = H*W contiguous floats; each plane is
 * normalised on its own.  A plane is one task of the pool, summed by one
 * thread in a fixed order (results do not depend on the thread count), and
 * small enough to stay in L1 between its sweeps (CycleGAN's planes are
 * 7x7 .. 28x28): the forward reads x and writes y, the gradient
 * (INSTANCE_NORM_BWD) reads gy and x and writes dx, recomputing the plane's
 * statistics on the way; the composition of ADD / MUL / DIV / SUM_TO nodes
 * they replace made a dozen sweeps over whole tensors.  RSTD and GRAD only
 * serve gradients of that gradient (gl_autodiff.c).
 *
 * Sums run in 16 float lanes (gl_pv), added in a fixed tree at the end; each
 * lane sums only S/16 values.  Statistics are centred as in gl_k_norm.c: a
 * first sweep gives an approximate mean mf, the second sums d = x - mf and
 * d^2 (the corrected two-pass algorithm), so a large mean does not cancel
 * the variance. */
#include "gl_k_internal.h"

#include <math.h>
#include <string.h>

#include "gl_k_vec16.h"

typedef struct gl_in_job {
    gl_op op;
    int64_t S;
    float eps;
    const float *a, *b, *r; /* x; or gy, x (BWD); or gy, y, r (GRAD) */
    float *out;
    const gl_node *act;     /* INSTANCE_NORM: fused activation, or NULL */
} gl_in_job;

/* The lanes of a partial vector (k < 16 floats) past the plane must add nothing. */
#if GL_PV_AVX512
#define GL_IN_MASK(k) ((__mmask16)((1u << (k)) - 1u))
#define GL_IN_SUB_TAIL(t, m, k) ((t) = _mm512_maskz_sub_ps(GL_IN_MASK(k), t, m))
#else
#define GL_IN_SUB_TAIL(t, m, k)                                      \
    do {                                                             \
        gl_pv keep_ = GL_PV_ZERO();                                  \
        for (int l_ = 0; l_ < (k); l_++) keep_[l_] = 1.0f;           \
        (t) = ((t) - (m)) * keep_;                                   \
    } while (0)
#endif

/* sum of v[0..S) in 16 lanes */
static inline float gl_in_sum(const float *v, int64_t S) {
    gl_pv acc = GL_PV_ZERO(), b0 = GL_PV_ZERO(), b1 = GL_PV_ZERO(), b2 = GL_PV_ZERO(), t, t1, t2;
    int64_t i = 0;
    for (; i + 64 <= S; i += 64) { /* four chains: the adds' latency, not their count, bounds one chain */
        GL_PV_LD(t, v + i);
        GL_PV_LD(t1, v + i + 16);
        GL_PV_LD(t2, v + i + 32);
        acc = acc + t;
        b0 = b0 + t1;
        b1 = b1 + t2;
        GL_PV_LD(t, v + i + 48);
        b2 = b2 + t;
    }
    acc = (acc + b0) + (b1 + b2);
    for (; i + 16 <= S; i += 16) {
        GL_PV_LD(t, v + i);
        acc = acc + t;
    }
    if (i < S) {
        GL_PV_LD_TAIL(t, v + i, (int)(S - i));
        acc = acc + t;
    }
    return GL_PV_HSUM(acc);
}

/* sums of d = v - m and of d^2 over v[0..S) */
static inline void gl_in_centred(const float *v, int64_t S, float m, float *sd, float *sq) {
    gl_pv a1 = GL_PV_ZERO(), a2 = GL_PV_ZERO(), c1 = GL_PV_ZERO(), c2 = GL_PV_ZERO(), t, t1;
    const gl_pv mv = GL_PV_ZERO() + m;
    int64_t i = 0;
    for (; i + 32 <= S; i += 32) { /* two chains per sum */
        GL_PV_LD(t, v + i);
        GL_PV_LD(t1, v + i + 16);
        t = t - mv;
        t1 = t1 - mv;
        a1 = a1 + t;
        a2 = a2 + t * t;
        c1 = c1 + t1;
        c2 = c2 + t1 * t1;
    }
    a1 = a1 + c1;
    a2 = a2 + c2;
    for (; i + 16 <= S; i += 16) {
        GL_PV_LD(t, v + i);
        t = t - mv;
        a1 = a1 + t;
        a2 = a2 + t * t;
    }
    if (i < S) {
        const int k = (int)(S - i);
        GL_PV_LD_TAIL(t, v + i, k);
        GL_IN_SUB_TAIL(t, mv, k);
        a1 = a1 + t;
        a2 = a2 + t * t;
    }
    *sd = GL_PV_HSUM(a1);
    *sq = GL_PV_HSUM(a2);
}

/* Statistics of one plane: the approximate mean mf, the mean's correction delta (mean = mf + delta,
 * kept apart so that x - mean is formed as (x - mf) - delta: x - mf is exact for x near mf, where
 * rounding the mean itself to float would cost the plane's large-mean precision) and
 * 1/sqrt(var + eps). */
static inline void gl_in_stats(const float *x, int64_t S, float eps, float *mf, float *delta, float *rstd) {
    *mf = gl_in_sum(x, S) / (float)S;
    float sd, sq;
    gl_in_centred(x, S, *mf, &sd, &sq);
    float var = (sq - sd * (sd / (float)S)) / (float)S; /* sd is ~0: centred on mf */
    if (var < 0.0f) var = 0.0f;
    *delta = sd / (float)S;
    *rstd = 1.0f / sqrtf(var + eps);
}

/* sums of g and of g (v - shift) over one plane: (gy, y, 0) for GRAD, (gy, x, mf) for BWD */
static inline void gl_in_dot_sums(const float *g, const float *v, int64_t S, float shift, float *sg, float *sgv) {
    const gl_pv sv = GL_PV_ZERO() + shift;
    gl_pv a1 = GL_PV_ZERO(), a2 = GL_PV_ZERO(), c1 = GL_PV_ZERO(), c2 = GL_PV_ZERO(), u, w, u1, w1;
    int64_t i = 0;
    for (; i + 32 <= S; i += 32) { /* two chains per sum */
        GL_PV_LD(u, g + i);
        GL_PV_LD(w, v + i);
        GL_PV_LD(u1, g + i + 16);
        GL_PV_LD(w1, v + i + 16);
        a1 = a1 + u;
        a2 = a2 + u * (w - sv);
        c1 = c1 + u1;
        c2 = c2 + u1 * (w1 - sv);
    }
    a1 = a1 + c1;
    a2 = a2 + c2;
    for (; i + 16 <= S; i += 16) {
        GL_PV_LD(u, g + i);
        GL_PV_LD(w, v + i);
        a1 = a1 + u;
        a2 = a2 + u * (w - sv);
    }
    if (i < S) { /* g is 0 past the plane: so are the products */
        GL_PV_LD_TAIL(u, g + i, (int)(S - i));
        GL_PV_LD_TAIL(w, v + i, (int)(S - i));
        a1 = a1 + u;
        a2 = a2 + u * (w - sv);
    }
    *sg = GL_PV_HSUM(a1);
    *sgv = GL_PV_HSUM(a2);
}

/* y = ((x - mf) - delta) r */
static inline void gl_in_normalise(float *y, const float *x, int64_t S, float mf, float delta, float r) {
    const gl_pv mv = GL_PV_ZERO() + mf, dv = GL_PV_ZERO() + delta, rv = GL_PV_ZERO() + r;
    gl_pv t;
    int64_t i = 0;
    for (; i + 16 <= S; i += 16) {
        GL_PV_LD(t, x + i);
        t = ((t - mv) - dv) * rv;
        GL_PV_ST(y + i, t);
    }
    if (i < S) {
        GL_PV_LD_TAIL(t, x + i, (int)(S - i));
        t = ((t - mv) - dv) * rv;
        GL_PV_ST_TAIL(y + i, t, (int)(S - i));
    }
}

/* dx = r (g - mg - yh mgy) with yh = ((v - shift) - delta) scale: BWD recomputes the normalised plane
 * from x (shift mf, delta, scale r); GRAD reads it as v = y (shift 0, delta 0, scale 1, exact) */
static inline void gl_in_grad_out(float *dx, const float *g, const float *v, int64_t S, float shift, float delta,
                                  float scale, float r, float mg, float mgy) {
    const gl_pv sv = GL_PV_ZERO() + shift, dv = GL_PV_ZERO() + delta, cv = GL_PV_ZERO() + scale,
                rv = GL_PV_ZERO() + r, mgv = GL_PV_ZERO() + mg, mgyv = GL_PV_ZERO() + mgy;
    gl_pv u, w;
    int64_t i = 0;
    for (; i + 16 <= S; i += 16) {
        GL_PV_LD(u, g + i);
        GL_PV_LD(w, v + i);
        w = ((w - sv) - dv) * cv;
        u = rv * (u - mgv - w * mgyv);
        GL_PV_ST(dx + i, u);
    }
    if (i < S) {
        GL_PV_LD_TAIL(u, g + i, (int)(S - i));
        GL_PV_LD_TAIL(w, v + i, (int)(S - i));
        w = ((w - sv) - dv) * cv;
        u = rv * (u - mgv - w * mgyv);
        GL_PV_ST_TAIL(dx + i, u, (int)(S - i));
    }
}

static void gl_in_range(void *vp, int64_t p0, int64_t p1) {
    const gl_in_job *j = vp;
    const int64_t S = j->S;
    for (int64_t p = p0; p < p1; p++) {
        if (j->op == GL_OP_INSTANCE_NORM_GRAD) {
            float sg, sgy;
            gl_in_dot_sums(j->a + p * S, j->b + p * S, S, 0.0f, &sg, &sgy);
            gl_in_grad_out(j->out + p * S, j->a + p * S, j->b + p * S, S, 0.0f, 0.0f, 1.0f, j->r[p], sg / (float)S,
                           sgy / (float)S);
            continue;
        }
        const float *x = j->op == GL_OP_INSTANCE_NORM_BWD ? j->b + p * S : j->a + p * S;
        float mf, delta, rstd;
        gl_in_stats(x, S, j->eps, &mf, &delta, &rstd);
        if (j->op == GL_OP_INSTANCE_RSTD) {
            j->out[p] = rstd;
        } else if (j->op == GL_OP_INSTANCE_NORM_BWD) {
            /* sum g yhat = r (sum g (x - mf) - delta sum g) */
            const float *g = j->a + p * S;
            float sg, sgd;
            gl_in_dot_sums(g, x, S, mf, &sg, &sgd);
            const float mg = sg / (float)S, mgy = rstd * (sgd - delta * sg) / (float)S;
            gl_in_grad_out(j->out + p * S, g, x, S, mf, delta, rstd, rstd, mg, mgy);
        } else {
            gl_in_normalise(j->out + p * S, x, S, mf, delta, rstd);
            gl_k_apply_act(j->act, j->out + p * S, S); /* the plane is still in L1 */
        }
    }
}

gl_status gl_k_instance_norm(const gl_kernel_args *a, gl_error *err) {
    const gl_node *nd = a->node;
    const int grad = nd->op == GL_OP_INSTANCE_NORM_GRAD, bwd = nd->op == GL_OP_INSTANCE_NORM_BWD;
    gl_status st = gl_k_check_inputs(a, grad ? 3 : bwd ? 2 : 1, err);
    if (st != GL_OK) return st;
    const gl_shape *sx = a->in_shape[0];
    char b1[96], b2[96];
    if (sx->ndim != 4 || ((grad || bwd) && !gl_shape_eq(sx, &nd->shape)) || (bwd && !gl_shape_eq(a->in_shape[1], sx)))
        return gl_fail(err, GL_ERR_VALUE, "%s: expects (N, C, H, W) planes, got %s -> %s", gl_op_name(nd->op),
                       gl_shape_str(sx, b1, sizeof b1), gl_shape_str(&nd->shape, b2, sizeof b2));
    const int64_t planes = sx->d[0] * sx->d[1], S = sx->d[2] * sx->d[3];
    if (planes == 0) return GL_OK;
    if (S == 0) return gl_fail(err, GL_ERR_VALUE, "%s: planes of %s hold no values", gl_op_name(nd->op),
                               gl_shape_str(sx, b1, sizeof b1)); /* the builders refuse them */
    gl_in_job j = {nd->op, S, nd->f[0], a->in[0], grad || bwd ? a->in[1] : NULL, grad ? a->in[2] : NULL, a->out,
                   a->act};
    const int64_t min = GL_K_PAR_MIN / S;
    gl_parallel_for(a->pool, planes, min < 1 ? 1 : min, gl_in_range, &j);
    return GL_OK;
}
