/* gl_fit.c - the training loop (see gl_fit.h).
 *
 * Everything the loop touches is allocated in gl_fit_new (each stream's
 * permutation, batch buffers and a bitmap for validating restored
 * permutations) or owned by the caller; phases are copied into fixed arrays.
 * gl_fit_run allocates nothing. */
#include "gl_fit.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct fit_stream {
    char name[64];
    int ncol;
    const float *data[GL_FIT_MAX_COLUMNS];   /* (n, width[c]), caller-owned */
    int64_t width[GL_FIT_MAX_COLUMNS];
    float *buf[GL_FIT_MAX_COLUMNS];          /* (batch, width[c]): the last batch drawn */
    int64_t n, batch;
    int64_t *perm;                           /* n row indices, the current epoch's order */
    unsigned char *seen;                     /* n bits: scratch for gl_fit_set_sampler */
    int64_t pos, epoch;
    gl_rng rng;
} fit_stream;

struct gl_fit {
    int nstream;
    fit_stream stream[GL_FIT_MAX_STREAMS];
    int64_t step;
    int nphase;
    gl_fit_phase phase[GL_FIT_MAX_PHASES];
    uint32_t uses[GL_FIT_MAX_PHASES];        /* bit s: phase reads stream s */
};

/* ---- streams ---- */

/* Rows of a (n, width) array holding NaN or inf: count and first. */
static int64_t count_bad_rows(const float *x, int64_t n, int64_t width, int64_t *first) {
    int64_t bad = 0;
    *first = -1;
    for (int64_t i = 0; i < n; i++) {
        const float *r = x + i * width;
        int ok = 1;
        for (int64_t j = 0; j < width; j++) ok &= isfinite(r[j]) != 0;
        if (!ok) {
            if (bad == 0) *first = i;
            bad++;
        }
    }
    return bad;
}

static void name_copy(char *dst, size_t cap, const char *src, const char *fallback, int k) {
    if (src && src[0]) snprintf(dst, cap, "%s", src);
    else snprintf(dst, cap, fallback, k);
}

static gl_status check_stream(int s, const gl_fit_stream *st, gl_error *err) {
    char sn[72];
    name_copy(sn, sizeof sn, st->name, "%d", s);
    if (st->ncol < 1 || st->ncol > GL_FIT_MAX_COLUMNS)
        return gl_fail(err, GL_ERR_VALUE, "stream '%s': between 1 and %d columns, got %d", sn, GL_FIT_MAX_COLUMNS,
                       st->ncol);
    const int64_t n = st->col[0].n;
    for (int c = 0; c < st->ncol; c++) {
        const gl_fit_column *col = &st->col[c];
        char cn[72];
        name_copy(cn, sizeof cn, col->name, "%d", c);
        if (!col->data || col->n < 1 || col->width < 1)
            return gl_fail(err, GL_ERR_VALUE, "stream '%s': column '%s' is empty (%lld rows of %lld values)", sn,
                           cn, (long long)col->n, (long long)col->width);
        if (col->n != n) {
            char c0[72];
            name_copy(c0, sizeof c0, st->col[0].name, "%d", 0);
            return gl_fail(err, GL_ERR_VALUE,
                           "stream '%s': its arrays must have one row per sample, but column '%s' has %lld rows "
                           "and column '%s' has %lld", sn, c0, (long long)n, cn, (long long)col->n);
        }
        if (col->width > (int64_t)(SIZE_MAX / sizeof(float)) / (st->batch > 0 ? st->batch : 1))
            return gl_fail(err, GL_ERR_NOMEM, "stream '%s': column '%s' is too wide", sn, cn);
        int64_t first, bad = count_bad_rows(col->data, col->n, col->width, &first);
        if (bad > 0)
            return gl_fail(err, GL_ERR_VALUE, "stream '%s': column '%s' has %lld rows with NaN or inf values "
                           "(first: row %lld)", sn, cn, (long long)bad, (long long)first);
    }
    if (st->batch < 1)
        return gl_fail(err, GL_ERR_VALUE, "stream '%s': batch_size must be >= 1, got %lld", sn, (long long)st->batch);
    if (st->batch > n)
        return gl_fail(err, GL_ERR_VALUE, "stream '%s': batch_size %lld is larger than the data (%lld rows)", sn,
                       (long long)st->batch, (long long)n);
    if (n > (int64_t)(SIZE_MAX / sizeof(int64_t))) return gl_fail(err, GL_ERR_NOMEM, "stream '%s' is too large", sn);
    return GL_OK;
}

gl_status gl_fit_new(int nstream, const gl_fit_stream *streams, gl_fit **out, gl_error *err) {
    if (!out) return gl_fail(err, GL_ERR_VALUE, "fit: out is NULL");
    *out = NULL;
    if (nstream < 1 || nstream > GL_FIT_MAX_STREAMS || !streams)
        return gl_fail(err, GL_ERR_VALUE, "fit: between 1 and %d data streams, got %d", GL_FIT_MAX_STREAMS, nstream);
    for (int s = 0; s < nstream; s++) {
        gl_status st = check_stream(s, &streams[s], err);
        if (st != GL_OK) return st;
    }
    gl_fit *f = gl_calloc(1, sizeof *f);
    if (!f) return gl_fail(err, GL_ERR_NOMEM, "fit: out of memory");
    f->nstream = nstream;
    for (int s = 0; s < nstream; s++) {
        const gl_fit_stream *in = &streams[s];
        fit_stream *st = &f->stream[s];
        name_copy(st->name, sizeof st->name, in->name, "%d", s);
        st->ncol = in->ncol;
        st->n = in->col[0].n;
        st->batch = in->batch;
        st->perm = gl_malloc((size_t)st->n * sizeof *st->perm);
        st->seen = gl_malloc((size_t)(st->n + 7) / 8);
        int ok = st->perm && st->seen;
        for (int c = 0; c < in->ncol; c++) {
            st->data[c] = in->col[c].data;
            st->width[c] = in->col[c].width;
            st->buf[c] = gl_calloc((size_t)(st->batch * st->width[c]), sizeof(float));
            ok &= st->buf[c] != NULL;
        }
        if (!ok) {
            gl_fit_free(f);
            return gl_fail(err, GL_ERR_NOMEM, "fit: out of memory for stream '%s' (%lld rows)", st->name,
                           (long long)st->n);
        }
        for (int64_t i = 0; i < st->n; i++) st->perm[i] = i;
        gl_rng_seed(&st->rng, in->seed);
        gl_rng_shuffle(&st->rng, st->perm, st->n);   /* epoch 0's order */
    }
    *out = f;
    return GL_OK;
}

void gl_fit_free(gl_fit *f) {
    if (!f) return;
    for (int s = 0; s < f->nstream; s++) {
        fit_stream *st = &f->stream[s];
        gl_free(st->perm);
        gl_free(st->seen);
        for (int c = 0; c < st->ncol; c++) gl_free(st->buf[c]);
    }
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

/* Every input the program reads is fed exactly once, from an existing stream
 * column, with that column's batch shape; *uses gets the streams read. */
static gl_status check_feeds(const gl_fit *f, int p, const gl_fit_phase *ph, uint32_t *uses, gl_error *err) {
    *uses = 0;
    const int nin = gl_program_num_inputs(ph->prog);
    for (int k = 0; k < ph->nfeed; k++) {
        const gl_fit_feed *fd = &ph->feed[k];
        if (fd->stream < 0 || fd->stream >= f->nstream)
            return gl_fail(err, GL_ERR_VALUE, "phase %d: feed %d reads stream %d, but the fit has %d", p, k,
                           fd->stream, f->nstream);
        const fit_stream *st = &f->stream[fd->stream];
        if (fd->column < 0 || fd->column >= st->ncol)
            return gl_fail(err, GL_ERR_VALUE, "phase %d: feed %d reads column %d of stream '%s', which has %d", p, k,
                           fd->column, st->name, st->ncol);
        int found = 0;
        for (int i = 0; i < nin; i++) found |= gl_program_input_node(ph->prog, i) == fd->input;
        if (!found)
            return gl_fail(err, GL_ERR_VALUE, "phase %d: feed %d: node %d is not an input the program reads", p, k,
                           fd->input);
        for (int j = 0; j < k; j++)
            if (ph->feed[j].input == fd->input)
                return gl_fail(err, GL_ERR_VALUE, "phase %d: input node %d is fed twice", p, fd->input);
        if (ph->graph) {
            if (fd->input < 0 || fd->input >= ph->graph->n)
                return gl_fail(err, GL_ERR_VALUE, "phase %d: feed %d: %d is not a node of the graph", p, k, fd->input);
            const gl_shape *s = &ph->graph->nodes[fd->input].shape;
            gl_shape want = gl_shape2(st->batch, st->width[fd->column]);
            if (gl_shape_numel(s) != gl_shape_numel(&want) || s->ndim < 1 || s->d[0] != st->batch) {
                char a[96], b[96];
                return gl_fail(err, GL_ERR_VALUE, "phase %d: input node %d has shape %s, but batches of stream '%s' "
                               "column %d have shape %s", p, fd->input, gl_shape_str(s, a, sizeof a), st->name,
                               fd->column, gl_shape_str(&want, b, sizeof b));
            }
        }
        *uses |= 1u << fd->stream;
    }
    for (int i = 0; i < nin; i++) {
        const int node = gl_program_input_node(ph->prog, i);
        int fed = 0;
        for (int k = 0; k < ph->nfeed; k++) fed |= ph->feed[k].input == node;
        if (!fed)
            return gl_fail(err, GL_ERR_VALUE, "phase %d: the program reads input node %d, which no feed fills", p, node);
    }
    return GL_OK;
}

static gl_status check_phase(const gl_fit *f, int p, const gl_fit_phase *ph, uint32_t *uses, gl_error *err) {
    if (!ph->prog) return gl_fail(err, GL_ERR_VALUE, "phase %d: no program", p);
    if (ph->repeats < 1) return gl_fail(err, GL_ERR_VALUE, "phase %d: repeats must be >= 1, got %d", p, ph->repeats);
    if (ph->nfeed < 0 || ph->nfeed > GL_FIT_MAX_FEEDS || ph->nopt < 0 || ph->nopt > GL_FIT_MAX_OPTS ||
        ph->npost < 0 || ph->npost > GL_FIT_MAX_POST || ph->ncheck < 0 || ph->ncheck > GL_FIT_MAX_CHECKS ||
        ph->nrecord < 0 || ph->nrecord > GL_FIT_MAX_RECORD)
        return gl_fail(err, GL_ERR_VALUE,
                       "phase %d: at most %d feeds, %d optimizers, %d post actions, %d checks and %d records", p,
                       GL_FIT_MAX_FEEDS, GL_FIT_MAX_OPTS, GL_FIT_MAX_POST, GL_FIT_MAX_CHECKS, GL_FIT_MAX_RECORD);
    if (f->nstream < 32 && (ph->redraw >> f->nstream) != 0)
        return gl_fail(err, GL_ERR_VALUE, "phase %d: redraw names a stream beyond the fit's %d", p, f->nstream);
    gl_status s = check_feeds(f, p, ph, uses, err);
    if (s != GL_OK) return s;
    for (int k = 0; k < ph->nopt; k++)
        if ((s = check_opt(p, k, &ph->opt[k], err)) != GL_OK) return s;
    for (int k = 0; k < ph->npost; k++)
        if ((s = check_post(p, k, &ph->post[k], err)) != GL_OK) return s;
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
    uint32_t uses[GL_FIT_MAX_PHASES];
    for (int p = 0; p < nphase; p++) {
        gl_status s = check_phase(f, p, &phases[p], &uses[p], err);
        if (s != GL_OK) return s;
    }
    /* all or nothing: the old phases stay if any new one is bad */
    memcpy(f->phase, phases, (size_t)nphase * sizeof *phases);
    memcpy(f->uses, uses, sizeof uses);
    f->nphase = nphase;
    return GL_OK;
}

/* ---- the loop ---- */

/* Next `batch` rows of the stream's permutation into its column buffers;
 * reshuffle at epoch end (the partial remainder is dropped). */
static void draw_batch(fit_stream *st) {
    if (st->pos + st->batch > st->n) {
        gl_rng_shuffle(&st->rng, st->perm, st->n);
        st->pos = 0;
        st->epoch++;
    }
    const int64_t *rows = st->perm + st->pos;
    for (int c = 0; c < st->ncol; c++) {
        const int64_t w = st->width[c];
        const float *src = st->data[c];
        float *dst = st->buf[c];
        for (int64_t i = 0; i < st->batch; i++) memcpy(dst + i * w, src + rows[i] * w, (size_t)w * sizeof(float));
    }
    st->pos += st->batch;
}

static gl_status check_outputs(const gl_fit *f, int p, const gl_fit_phase *ph, gl_error *err) {
    for (int k = 0; k < ph->ncheck; k++) {
        const float *v = gl_program_output(ph->prog, ph->check[k]);
        if (!v) return gl_fail(err, GL_ERR_VALUE, "phase %d: the program has no output %d to check", p, ph->check[k]);
        int64_t i = gl_first_nonfinite(v, ph->check_numel[k]);
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

/* *drawn: bit s set once stream s has a batch this step. */
static gl_status run_phase(gl_fit *f, int p, uint32_t *drawn, float *row, gl_pool *pool, gl_error *err) {
    const gl_fit_phase *ph = &f->phase[p];
    for (int r = 0; r < ph->repeats; r++) {
        for (int s = 0; s < f->nstream; s++) {
            const uint32_t bit = 1u << s;
            if ((f->uses[p] & bit) && ((ph->redraw & bit) || !(*drawn & bit))) {
                draw_batch(&f->stream[s]);
                *drawn |= bit;
            }
        }
        /* rebind every time: a Program.run from Python rebinds its inputs */
        for (int k = 0; k < ph->nfeed; k++) {
            const gl_fit_feed *fd = &ph->feed[k];
            gl_status s = gl_program_bind(ph->prog, fd->input, f->stream[fd->stream].buf[fd->column], err);
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
    if (steps > INT64_MAX - f->step) return gl_fail(err, GL_ERR_VALUE, "fit: the step counter would overflow");

    for (int64_t s = 0; s < steps; s++) {
        if (stop && *stop) break;
        uint32_t drawn = 0;   /* streams with a batch this step */
        float *row = ncols > 0 ? history + s * ncols : NULL;
        for (int p = 0; p < f->nphase; p++) {
            gl_status st = run_phase(f, p, &drawn, row, pool, err);
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
    if (f && step >= 0) f->step = step;
}

int gl_fit_num_streams(const gl_fit *f) { return f ? f->nstream : 0; }

void gl_fit_stream_dims(const gl_fit *f, int s, int64_t *n, int64_t *batch, int *ncol) {
    const int ok = f && s >= 0 && s < f->nstream;
    if (n) *n = ok ? f->stream[s].n : 0;
    if (batch) *batch = ok ? f->stream[s].batch : 0;
    if (ncol) *ncol = ok ? f->stream[s].ncol : 0;
}

const float *gl_fit_batch(const gl_fit *f, int s, int c, int64_t *width) {
    if (!f || s < 0 || s >= f->nstream || c < 0 || c >= f->stream[s].ncol) return NULL;
    if (width) *width = f->stream[s].width[c];
    return f->stream[s].buf[c];
}

gl_status gl_fit_get_sampler(const gl_fit *f, int s, gl_fit_sampler_state *out, int64_t *perm, gl_error *err) {
    if (!f || s < 0 || s >= f->nstream) return gl_fail(err, GL_ERR_VALUE, "fit: no stream %d", s);
    const fit_stream *st = &f->stream[s];
    if (out) {
        out->pos = st->pos;
        out->epoch = st->epoch;
        out->rng = st->rng;
    }
    if (perm) memcpy(perm, st->perm, (size_t)st->n * sizeof *perm);
    return GL_OK;
}

gl_status gl_fit_set_sampler(gl_fit *f, int s, const gl_fit_sampler_state *in, const int64_t *perm, gl_error *err) {
    if (!f || !in || s < 0 || s >= f->nstream) return gl_fail(err, GL_ERR_VALUE, "fit: no stream %d", s);
    fit_stream *st = &f->stream[s];
    if (in->pos < 0 || in->pos > st->n)
        return gl_fail(err, GL_ERR_VALUE, "stream '%s': sampler pos must be in [0, %lld], got %lld", st->name,
                       (long long)st->n, (long long)in->pos);
    if (in->epoch < 0)
        return gl_fail(err, GL_ERR_VALUE, "stream '%s': sampler epoch must be >= 0, got %lld", st->name,
                       (long long)in->epoch);
    if (perm) {
        memset(st->seen, 0, (size_t)(st->n + 7) / 8);
        for (int64_t i = 0; i < st->n; i++) {
            int64_t v = perm[i];
            if (v < 0 || v >= st->n)
                return gl_fail(err, GL_ERR_VALUE, "stream '%s': sampler perm[%lld] = %lld is not a row index in "
                               "[0, %lld)", st->name, (long long)i, (long long)v, (long long)st->n);
            if (st->seen[v >> 3] & (1u << (v & 7)))
                return gl_fail(err, GL_ERR_VALUE, "stream '%s': sampler perm is not a permutation: row %lld appears "
                               "twice", st->name, (long long)v);
            st->seen[v >> 3] |= (unsigned char)(1u << (v & 7));
        }
        memcpy(st->perm, perm, (size_t)st->n * sizeof *perm);
    }
    st->pos = in->pos;
    st->epoch = in->epoch;
    st->rng = in->rng;
    return GL_OK;
}
