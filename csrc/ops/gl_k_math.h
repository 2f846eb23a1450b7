/* gl_k_math.h - float transcendentals written so that loops calling them
 * vectorise (not a public API).
 *
 * libm's expf / logf / log1pf / tanhf are scalar calls that gcc does not
 * vectorise without -ffast-math; an elementwise loop over them runs 2.5-6x
 * slower than over these branch-free versions.  Each is plain float
 * arithmetic, selects and integer work on the bits (memcpy punning, unsigned
 * so that no input, NaN included, can overflow a signed int), with no fmaf
 * (and -std=c11 keeps gcc from contracting a * b + c into one): the results
 * are the same scalar or vectorised, with or without -march=native.
 *
 * Worst error over all 2^32 floats against a float64 reference, in ulps of
 * the float-rounded result: exp 0.80, log 0.83, sigmoid 1.18, softplus and
 * log-sigmoid 1.67, tanh 1.33 (libm-based, as before: sigmoid 2.82,
 * softplus 1.54).  csrc/tests/test_kernels.c sweeps a sample of the float
 * range for each and checks the special values. */
#ifndef GL_K_MATH_H
#define GL_K_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline uint32_t gl_f2u(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static inline float gl_u2f(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* c ? a : b as a bit blend.  A plain ?: with a constant arm lets gcc thread
 * the constant through what follows (e.g. exp of a clamped input feeding a
 * log), which puts a branch in the loop and stops it vectorising. */
static inline float gl_select(int c, float a, float b) {
    const uint32_t m = -(uint32_t)(c != 0);
    return gl_u2f((gl_f2u(a) & m) | (gl_f2u(b) & ~m));
}

/* Cephes' expf polynomial: e^r = 1 + r + r^2 q(r) for |r| <= ln2 / 2 and a
 * little more. */
static inline float gl_exp_q(float r) {
    return ((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r + 4.1665795894e-2f) * r +
            1.6666665459e-1f) * r + 5.0000001201e-1f;
}

/* e^x over all floats, as hi + *lo: *lo is hi's rounding error in the last
 * add below (exact, by Fast2Sum), scaled like hi, for callers that want more
 * than a float's precision; gl_exp1 drops it (and so does the compiler).
 * x = n ln2 + r, n = round(x / ln2) by the 1.5 * 2^23 trick (t's low mantissa
 * bits hold n), r in two parts a - b (fn * 0.693359375 is exact, so is x
 * minus it).  e^r = 1 + a - b + r^2 q(r), summed
 * with 1 + a split exactly (Fast2Sum) so that only the last add rounds at
 * 1's scale.  2^n is applied as two factors 2^n1 2^n2, n1 = floor(n / 2),
 * both normal: e^r 2^n1 is exact and the last multiply rounds once, so
 * results in the subnormal range are rounded, not truncated, and
 * exp(88.72..89) overflows to +inf by that multiply.  x is clamped to
 * [-104, 89] first (e^-104 < 2^-150 rounds to 0, e^89 overflows), which also
 * gives exp(-inf) = 0 and exp(inf) = inf; NaN passes the clamps and stays
 * NaN. */
static inline float gl_exp_hilo(float x, float *lo) {
    x = gl_select(x > 89.0f, 89.0f, x);
    x = gl_select(x < -104.0f, -104.0f, x);
    const float t = x * 1.44269504089f + 12582912.0f, fn = t - 12582912.0f;
    const uint32_t nb = gl_f2u(t) - 0x4B400000u + 256u; /* n + 256, in [106, 384] */
    const float s1 = gl_u2f(((nb >> 1) - 1u) << 23);      /* 2^n1, n1 = floor(n / 2) */
    const float s2 = gl_u2f((nb - (nb >> 1) - 1u) << 23); /* 2^(n - n1) */
    const float a = x - fn * 0.693359375f, b = fn * -2.12194440e-4f, r = a - b;
    const float hi = 1.0f + a, rest = (a - (hi - 1.0f)) + (gl_exp_q(r) * (r * r) - b);
    const float e = hi + rest, el = rest - (e - hi);
    *lo = (el * s1) * s2;
    return (e * s1) * s2;
}

/* e^x over all floats (see gl_exp_hilo). */
static inline float gl_exp1(float x) {
    float lo;
    return gl_exp_hilo(x, &lo);
}

/* log(x 2^(127 - bias)) for finite normal x > 0 (Cephes' logf polynomial;
 * bias 127: log x).  x 2^(127 - bias) = 2^k m with m in [sqrt(1/2), sqrt(2))
 * taken from the bits (adding 0x3f800000 - 0x3f3504f3 carries into the
 * exponent exactly when the mantissa is >= sqrt(2)'s); f = m - 1 is exact;
 * log = k ln2 + f - f^2/2 + f^3 P(f), with ln2 in two parts. */
static inline float gl_log_biased(float x, float bias) {
    uint32_t ix = gl_f2u(x) + (0x3f800000u - 0x3f3504f3u);
    const float k = (float)(int32_t)((ix >> 23) & 0xffu) - bias;
    ix = (ix & 0x007fffffu) + 0x3f3504f3u;
    const float f = gl_u2f(ix) - 1.0f, z = f * f;
    const float p = ((((((((7.0376836292e-2f * f - 1.1514610310e-1f) * f + 1.1676998740e-1f) * f -
                          1.2420140846e-1f) * f + 1.4249322787e-1f) * f - 1.6668057665e-1f) * f +
                       2.0000714765e-1f) * f - 2.4999993993e-1f) * f + 3.3333331174e-1f) * f * z;
    const float y = (p + k * -2.12194440e-4f) - 0.5f * z;
    return (f + y) + k * 0.693359375f;
}

/* log x over all floats: subnormals are scaled by 2^23 first; log(+-0) =
 * -inf, log(inf) = inf, log of a negative or NaN is NaN. */
static inline float gl_log1(float x) {
    const int sub = x < 1.17549435e-38f;
    float r = gl_log_biased(gl_select(sub, x * 8388608.0f, x), gl_select(sub, 150.0f, 127.0f));
    r = gl_select(x == INFINITY, x, r);
    r = gl_select(x == 0.0f, -INFINITY, r);
    return gl_select(x >= 0.0f, r, NAN); /* negative or NaN */
}

/* log(1 + t + tl) for t in [0, 1] and |tl| <= ulp(t) (what softplus needs:
 * t + tl = e^-|x| from gl_exp_hilo), and NaN for NaN.  s = 1 + t rounds,
 * but c = t - (s - 1) is its exact error, so log(1 + t + tl) =
 * log s + log(1 + (c + tl)/s) ~ log s + (c + tl)/s; tiny t (s = 1) gives
 * t + tl. */
static inline float gl_log1p_unit(float t, float tl) {
    const float s = 1.0f + t, c = (t - (s - 1.0f)) + tl;
    return gl_log_biased(s, 127.0f) + c / s;
}

/* The logistic sigmoid 1 / (1 + e^-x), from e^-|x| = t + tl only (no
 * overflow): num / (1 + t + tl) with num = 1 or t + tl, 1 + t = d + dl split
 * exactly, and one correction step, q + (numl - q dl) / d, q = num / d.
 * Within ~1 ulp; a plain t / (1 + t) would be 2.4 (t's rounding error
 * doubles in ulps where t and the result lie in different binades). */
static inline float gl_sigmoid1(float x) {
    float tl;
    const float t = gl_exp_hilo(-fabsf(x), &tl);
    const float d = 1.0f + t, dl = (t - (d - 1.0f)) + tl;
    const int pos = x >= 0.0f;
    const float q = gl_select(pos, 1.0f, t) / d;
    return q + (gl_select(pos, 0.0f, tl) - q * dl) / d;
}

/* softplus log(1 + e^x) = max(x, 0) + log1p(e^-|x|); NaN stays NaN (through
 * the log1p term; the select, unlike fmaxf, vectorises without
 * -ffast-math). */
static inline float gl_softplus1(float x) {
    float tl;
    const float t = gl_exp_hilo(-fabsf(x), &tl);
    return gl_select(x > 0.0f, x, 0.0f) + gl_log1p_unit(t, tl);
}

/* log sigmoid(x) = -softplus(-x) = min(x, 0) - log1p(e^-|x|). */
static inline float gl_log_sigmoid1(float x) {
    float tl;
    const float t = gl_exp_hilo(-fabsf(x), &tl);
    return gl_select(x < 0.0f, x, 0.0f) - gl_log1p_unit(t, tl);
}

/* tanh (libm's tanhf is a scalar call, ~20x slower on DCGAN's output layer).
 * Cephes' tanhf split: below |x| = 0.625 the odd polynomial x + x s P(s),
 * s = x^2; above, 1 - 2 / (e^{2|x|} + 1) with e^z = 2^n e^r as in gl_exp1
 * (here 0 <= n <= 29, so one factor).  |x| > 10 is clamped: tanh(10) already
 * rounds to 1.  Within 1.4 ulp of tanh over all floats; odd, and +-0, +-inf
 * and NaN come out as tanhf's. */
static inline float gl_tanh1(float x) {
    const float a = fabsf(x), s = x * x;
    const float p = ((((-5.70498872745e-3f * s + 2.06390887954e-2f) * s - 5.37397155531e-2f) * s +
                      1.33314422036e-1f) * s - 3.33332819422e-1f) * s * x + x;
    const float z = a > 10.0f ? 20.0f : 2.0f * a; /* NaN stays NaN */
    const float t = z * 1.44269504089f + 12582912.0f, fn = t - 12582912.0f;
    const float two_n = gl_u2f((gl_f2u(t) - 0x4B400000u + 127u) << 23); /* 2^n, 0 <= n <= 29 */
    const float r = (z - fn * 0.693359375f) - fn * -2.12194440e-4f;
    const float e = (gl_exp_q(r) * (r * r) + r + 1.0f) * two_n;
    return copysignf(a < 0.625f ? p : 1.0f - 2.0f / (e + 1.0f), x);
}

#endif
