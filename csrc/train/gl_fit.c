/* gl_fit.c - the training loop (see gl_fit.h).
 *
 * Everything the loop touches is allocated in gl_fit_new (permutation, batch
 * buffer, a bitmap for validating restored permutations) or owned by the
 * caller; phases are copied into fixed arrays.  gl_fit_run allocates nothing. */
#include "gl_fit.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

struct gl_fit {
    const float *data;     /* (n, width), caller-owned */
    int64_t n, width, batch;
    int64_t *perm;         /* n row indices, the current epoch's order */
    float *buf;            /* (batch, width): the last batch drawn */
    unsigned char *seen;   /* n bits: scratch for gl_fit_set_sampler */
    int64_t pos, epoch;
    gl_rng rng;
    int64_t step;
    int nphase;
    gl_fit_phase phase[GL_FIT_MAX_PHASES];
};

gl_status gl_fit_new(const float *data, int64_t n, int64_t width, int64_t batch, uint64_t seed,
                     gl_fit **out, gl_error *err) {
    if (!out) return gl_fail(err, GL_ERR_VALUE, "fit: out is NULL");
    *out = NULL;
    if (!data) return gl_fail(err, GL_ERR_VALUE, "fit: data is NULL");
    if (n < 1 || width < 1)
        return gl_fail(err, GL_ERR_VALUE, "fit: data must have at least one row and one column, got (%lld, %lld)",
                       (long long)n, (long long)width);
    if (batch < 1 || batch > n)
        return gl_fail(err, GL_ERR_VALUE, "fit: batch must be between 1 and the number of rows %lld, got %lld",
                       (long long)n, (long long)batch);
    /* batch * width floats and n int64 must be addressable */
    if (width > (int64_t)(SIZE_MAX / sizeof(float)) / batch || n > (int64_t)(SIZE_MAX / sizeof(int64_t)))
        return gl_fail(err, GL_ERR_NOMEM, "fit: data is too large");

    gl_fit *f = gl_calloc(1, sizeof *f);
    if (!f) return gl_fail(err, GL_ERR_NOMEM, "fit: out of memory");
    f->perm = gl_malloc((size_t)n * sizeof *f->perm);
    f->buf = gl_calloc((size_t)(batch * width), sizeof *f->buf);
    f->seen = gl_malloc((size_t)(n + 7) / 8);
    if (!f->perm || !f->buf || !f->seen) {
        gl_fit_free(f);
        return gl_fail(err, GL_ERR_NOMEM, "fit: out of memory for %lld rows", (long long)n);
    }
    f->data = data;
    f->n = n;
    f->width = width;
    f->batch = batch;
    for (int64_t i = 0; i < n; i++) f->perm[i] = i;
    gl_rng_seed(&f->rng, seed);
    gl_rng_shuffle(&f->rng, f->perm, n);   /* epoch 0's order */
    *out = f;
    return GL_OK;
}

void gl_fit_free(gl_fit *f) {
    if (!f) return;
    gl_free(f->perm);
    gl_free(f->buf);
    gl_free(f->seen);
    gl_free(f);
}

/* ---- phases ---- */

static gl_status check_opt(int p, int k, const gl_fit_opt *o, gl_error *err) {
    if (o->n < 0) return gl_fail(err, GL_ERR_VALUE, "phase %d: optimizer %d has n = %lld", p, k, (long long)o->n);
    if (!o->t) return gl_fail(err, GL_ERR_VALUE, "phase %d: optimizer %d has no step counter", p, k);
    if (o->n > 0 && (!o->param || !o->grad || (gl_opt_state_slots(&o->cfg) > 0 && !o->state)))
        return gl_fail(err, GL_ERR_VALUE, "phase %d: optimizer %d is missing a buffer", p, k);
    gl_error e2;
    if (gl_opt_validate(&o->cfg, &e2) != GL_OK)
        return gl_fail(err, e2.code, "phase %d: optimizer %d: %s", p, k, e2.msg);
    return GL_OK;
}

static gl_status check_post(int p, int k, const gl_fit_post *q, gl_error *err) {
    if (q->n < 0 || (q->n > 0 && !q->param))
        return gl_fail(err, GL_ERR_VALUE, "phase %d: post action %d has no parameters", p, k);
    switch (q->kind) {
    case GL_POST_CLIP:
        if (!(isfinite(q->a) && q->a >= 0.0f))
            return gl_fail(err, GL_ERR_VALUE, "phase %d: clip bound must be finite and >= 0, got %g", p,
                           (double)q->a);
        return GL_OK;
    case GL_POST_EMA:
        if (!(q->a >= 0.0f && q->a <= 1.0f))
            return gl_fail(err, GL_ERR_VALUE, "phase %d: EMA decay must be in [0, 1], got %g", p, (double)q->a);
        if (q->n > 0 && !q->avg) return gl_fail(err, GL_ERR_VALUE, "phase %d: EMA has no average buffer", p);
        return GL_OK;
    case GL_POST_RUNNING_MEAN:
        if ((q->n > 0 && !q->avg) || !q->count)
            return gl_fail(err, GL_ERR_VALUE, "phase %d: running mean needs an average buffer and a count", p);
        return GL_OK;
    }
    return gl_fail(err, GL_ERR_VALUE, "phase %d: post action %d has unknown kind %d", p, k, (int)q->kind);
}

static gl_status check_phase(const gl_fit *f, int p, const gl_fit_phase *ph, gl_error *err) {
    if (!ph->prog) return gl_fail(err, GL_ERR_VALUE, "phase %d: no program", p);
    if (ph->repeats < 1) return gl_fail(err, GL_ERR_VALUE, "phase %d: repeats must be >= 1, got %d", p, ph->repeats);
    if (ph->nopt < 0 || ph->nopt > GL_FIT_MAX_OPTS || ph->npost < 0 || ph->npost > GL_FIT_MAX_POST ||
        ph->ncheck < 0 || ph->ncheck > GL_FIT_MAX_CHECKS || ph->nrecord < 0 || ph->nrecord > GL_FIT_MAX_RECORD)
        return gl_fail(err, GL_ERR_VALUE,
                       "phase %d: at most %d optimizers, %d post actions, %d checks and %d records", p,
                       GL_FIT_MAX_OPTS, GL_FIT_MAX_POST, GL_FIT_MAX_CHECKS, GL_FIT_MAX_RECORD);

    /* the loop feeds the batch and nothing else */
    int nin = gl_program_num_inputs(ph->prog);
    for (int k = 0; k < nin; k++) {
        int node = gl_program_input_node(ph->prog, k);
        if (node != ph->batch_input)
            return gl_fail(err, GL_ERR_VALUE,
                           "phase %d: the program reads input node %d, but the loop feeds only batch_input (%d)", p,
                           node, ph->batch_input);
    }
    if (ph->batch_input >= 0) {
        if (ph->graph) {
            if (ph->batch_input >= ph->graph->n)
                return gl_fail(err, GL_ERR_VALUE, "phase %d: batch_input %d is not a node of the graph", p,
                               ph->batch_input);
            const gl_shape *s = &ph->graph->nodes[ph->batch_input].shape;
            gl_shape want = gl_shape2(f->batch, f->width);
            if (!gl_shape_eq(s, &want)) {
                char a[96], b[96];
                return gl_fail(err, GL_ERR_VALUE, "phase %d: batch_input node %d has shape %s, batches have shape %s",
                               p, ph->batch_input, gl_shape_str(s, a, sizeof a), gl_shape_str(&want, b, sizeof b));
            }
        }
        gl_error e2;
        if (gl_program_bind(ph->prog, ph->batch_input, f->buf, &e2) != GL_OK)
            return gl_fail(err, GL_ERR_VALUE, "phase %d: batch_input: %s", p, e2.msg);
    }

    for (int k = 0; k < ph->nopt; k++) {
        gl_status s = check_opt(p, k, &ph->opt[k], err);
        if (s != GL_OK) return s;
    }
    for (int k = 0; k < ph->npost; k++) {
        gl_status s = check_post(p, k, &ph->post[k], err);
        if (s != GL_OK) return s;
    }
    for (int k = 0; k < ph->ncheck; k++)
        if (ph->check[k] < 0 || ph->check_numel[k] < 1)
            return gl_fail(err, GL_ERR_VALUE, "phase %d: check %d has output %d with %lld elements", p, k,
                           ph->check[k], (long long)ph->check_numel[k]);
    for (int k = 0; k < ph->nrecord; k++)
        if (ph->record[k] < 0 || ph->record_col[k] < 0)
            return gl_fail(err, GL_ERR_VALUE, "phase %d: record %d has output %d, column %d", p, k, ph->record[k],
                           ph->record_col[k]);
    return GL_OK;
}

gl_status gl_fit_set_phases(gl_fit *f, int nphase, const gl_fit_phase *phases, gl_error *err) {
    if (!f) return gl_fail(err, GL_ERR_VALUE, "fit: NULL");
    if (nphase < 1 || nphase > GL_FIT_MAX_PHASES || !phases)
        return gl_fail(err, GL_ERR_VALUE, "fit: between 1 and %d phases, got %d", GL_FIT_MAX_PHASES, nphase);
    for (int p = 0; p < nphase; p++) {
        gl_status s = check_phase(f, p, &phases[p], err);
        if (s != GL_OK) return s;
    }
    /* all or nothing: the old phases stay if any new one is bad */
    memcpy(f->phase, phases, (size_t)nphase * sizeof *phases);
    f->nphase = nphase;
    return GL_OK;
}

/* ---- the loop ---- */

/* Next `batch` rows of the permutation into buf; reshuffle at epoch end
 * (the partial remainder is dropped). */
static void draw_batch(gl_fit *f) {
    if (f->pos + f->batch > f->n) {
        gl_rng_shuffle(&f->rng, f->perm, f->n);
        f->pos = 0;
        f->epoch++;
    }
    const size_t row = (size_t)f->width * sizeof(float);
    for (int64_t i = 0; i < f->batch; i++)
        memcpy(f->buf + i * f->width, f->data + f->perm[f->pos + i] * f->width, row);
    f->pos += f->batch;
}

/* Index of the first NaN/inf in x[0..n), or -1.  The scan tests exponent
 * bits with an OR reduction (vectorises; no early exit in the common case). */
static int64_t first_nonfinite(const float *x, int64_t n) {
    uint32_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t b;
        memcpy(&b, &x[i], sizeof b);
        bad |= (uint32_t)((b & 0x7f800000u) == 0x7f800000u);
    }
    if (!bad) return -1;
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return i;
    return -1;
}

static gl_status check_outputs(const gl_fit *f, int p, const gl_fit_phase *ph, gl_error *err) {
    for (int k = 0; k < ph->ncheck; k++) {
        const float *v = gl_program_output(ph->prog, ph->check[k]);
        if (!v) return gl_fail(err, GL_ERR_VALUE, "phase %d: the program has no output %d to check", p, ph->check[k]);
        int64_t i = first_nonfinite(v, ph->check_numel[k]);
        if (i < 0) continue;
        const char *name = ph->check_name[k] ? ph->check_name[k] : "a checked output";
        const char *what = isnan(v[i]) ? "nan" : (v[i] > 0 ? "inf" : "-inf");
        if (ph->check_numel[k] == 1)
            return gl_fail(err, GL_ERR_NONFINITE, "step %lld: %s is %s", (long long)f->step, name, what);
        return gl_fail(err, GL_ERR_NONFINITE, "step %lld: %s[%lld] is %s", (long long)f->step, name, (long long)i,
                       what);
    }
    return GL_OK;
}

static void run_post(const gl_fit_post *q) {
    switch (q->kind) {
    case GL_POST_CLIP:
        gl_clip_weights(q->param, q->n, q->a);
        break;
    case GL_POST_EMA:
        gl_ema_update(q->avg, q->param, q->n, q->a);
        break;
    case GL_POST_RUNNING_MEAN: {
        /* the mean of all parameter snapshots so far (Polyak averaging) */
        const float m = (float)(*q->count + 1);
        for (int64_t i = 0; i < q->n; i++) q->avg[i] += (q->param[i] - q->avg[i]) / m;
        ++*q->count;
        break;
    }
    }
}

static gl_status run_phase(gl_fit *f, int p, int *have_batch, float *row, gl_pool *pool, gl_error *err) {
    const gl_fit_phase *ph = &f->phase[p];
    for (int r = 0; r < ph->repeats; r++) {
        if (ph->batch_input >= 0) {
            if (ph->fresh_batch || !*have_batch) {
                draw_batch(f);
                *have_batch = 1;
            }
            /* rebind every time: a Program.run from Python rebinds its inputs */
            gl_status s = gl_program_bind(ph->prog, ph->batch_input, f->buf, err);
            if (s != GL_OK) return s;
        }
        gl_status s = gl_program_run(ph->prog, pool, ph->rng, err);
        if (s != GL_OK) return s;
        s = check_outputs(f, p, ph, err);
        if (s != GL_OK) return s;
        for (int k = 0; k < ph->nopt; k++) {
            const gl_fit_opt *o = &ph->opt[k];
            s = gl_opt_step(&o->cfg, o->param, o->grad, o->state, o->n, o->t, pool, err);
            if (s != GL_OK) return s;
        }
        for (int k = 0; k < ph->npost; k++) run_post(&ph->post[k]);
    }
    for (int k = 0; k < ph->nrecord; k++) {
        const float *v = gl_program_output(ph->prog, ph->record[k]);
        if (!v) return gl_fail(err, GL_ERR_VALUE, "phase %d: the program has no output %d to record", p, ph->record[k]);
        row[ph->record_col[k]] = v[0];
    }
    return GL_OK;
}

gl_status gl_fit_run(gl_fit *f, int64_t steps, float *history, int ncols, gl_pool *pool,
                     const volatile int *stop, int64_t *done, gl_error *err) {
    if (done) *done = 0;
    if (!f) return gl_fail(err, GL_ERR_VALUE, "fit: NULL");
    if (f->nphase < 1) return gl_fail(err, GL_ERR_VALUE, "fit: no phases set");
    if (steps < 0 || ncols < 0)
        return gl_fail(err, GL_ERR_VALUE, "fit: steps and ncols must be >= 0, got %lld and %d", (long long)steps, ncols);
    for (int p = 0; p < f->nphase; p++)
        for (int k = 0; k < f->phase[p].nrecord; k++)
            if (f->phase[p].record_col[k] >= ncols)
                return gl_fail(err, GL_ERR_VALUE, "phase %d: records into column %d but history has %d columns", p,
                               f->phase[p].record_col[k], ncols);
    if (steps > 0 && ncols > 0 && !history) return gl_fail(err, GL_ERR_VALUE, "fit: history is NULL");

    for (int64_t s = 0; s < steps; s++) {
        if (stop && *stop) break;
        int have_batch = 0;   /* phases without fresh_batch reuse this step's batch */
        float *row = ncols > 0 ? history + s * ncols : NULL;
        for (int p = 0; p < f->nphase; p++) {
            gl_status st = run_phase(f, p, &have_batch, row, pool, err);
            if (st != GL_OK) return st;
        }
        f->step++;
        if (done) *done = s + 1;
    }
    return GL_OK;
}

/* ---- state ---- */

int64_t gl_fit_step(const gl_fit *f) { return f ? f->step : 0; }
void gl_fit_set_step(gl_fit *f, int64_t step) {
    if (f) f->step = step;
}

void gl_fit_dims(const gl_fit *f, int64_t *n, int64_t *width, int64_t *batch) {
    if (n) *n = f ? f->n : 0;
    if (width) *width = f ? f->width : 0;
    if (batch) *batch = f ? f->batch : 0;
}

const float *gl_fit_batch(const gl_fit *f) { return f ? f->buf : NULL; }

void gl_fit_get_sampler(const gl_fit *f, gl_fit_sampler_state *s, int64_t *perm) {
    if (!f) return;
    if (s) {
        s->pos = f->pos;
        s->epoch = f->epoch;
        s->rng = f->rng;
    }
    if (perm) memcpy(perm, f->perm, (size_t)f->n * sizeof *perm);
}

gl_status gl_fit_set_sampler(gl_fit *f, const gl_fit_sampler_state *s, const int64_t *perm, gl_error *err) {
    if (!f || !s) return gl_fail(err, GL_ERR_VALUE, "fit: NULL");
    if (s->pos < 0 || s->pos > f->n)
        return gl_fail(err, GL_ERR_VALUE, "sampler pos must be in [0, %lld], got %lld", (long long)f->n,
                       (long long)s->pos);
    if (s->epoch < 0) return gl_fail(err, GL_ERR_VALUE, "sampler epoch must be >= 0, got %lld", (long long)s->epoch);
    if (perm) {
        memset(f->seen, 0, (size_t)(f->n + 7) / 8);
        for (int64_t i = 0; i < f->n; i++) {
            int64_t v = perm[i];
            if (v < 0 || v >= f->n)
                return gl_fail(err, GL_ERR_VALUE, "sampler perm[%lld] = %lld is not a row index in [0, %lld)",
                               (long long)i, (long long)v, (long long)f->n);
            if (f->seen[v >> 3] & (1u << (v & 7)))
                return gl_fail(err, GL_ERR_VALUE, "sampler perm is not a permutation: row %lld appears twice",
                               (long long)v);
            f->seen[v >> 3] |= (unsigned char)(1u << (v & 7));
        }
        memcpy(f->perm, perm, (size_t)f->n * sizeof *perm);
    }
    f->pos = s->pos;
    f->epoch = s->epoch;
    f->rng = s->rng;
    return GL_OK;
}
