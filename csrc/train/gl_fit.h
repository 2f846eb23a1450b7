/* gl_fit.h - the training loop in C: data streams, phases, updates, history.
 *
 * A fit owns N data streams and runs M phases in order every step, e.g.
 *   a GAN:  phase 0 discriminator (repeats = n_critic, stream redrawn each
 *           repeat), phase 1 generator (reuses the step's batch);
 *   an adversarial autoencoder: reconstruction, code discriminator, encoder
 *           as generator, all on one batch of one stream per step;
 *   CycleGAN: two streams (domain A, domain B) read by both phases.
 *
 * A stream is a set of aligned caller-owned columns ((n, width_c) float32
 * arrays with the same n: images and their labels); one permutation per
 * stream draws batches of its own size, so a label always travels with its
 * image, and each stream is reshuffled by its own RNG at the start of each of
 * its epochs (a partial last batch is dropped).
 *
 * A phase runs one compiled program whose INPUT nodes are fed from stream
 * columns (feeds), checks the values it must keep finite, applies its
 * optimizer updates, then its post-update actions (weight clipping, EMA,
 * running average).  Per step the loop records chosen scalar outputs into a
 * history row.  Everything is allocated by gl_fit_new; gl_fit_run allocates
 * nothing. */
#ifndef GL_FIT_H
#define GL_FIT_H

#include <stdint.h>
#include "../core/gl_program.h"
#include "../core/gl_pool.h"
#include "../core/gl_rng.h"
#include "../core/gl_status.h"
#include "../optim/gl_optim.h"

#define GL_FIT_MAX_STREAMS 8
#define GL_FIT_MAX_COLUMNS 8     /* per stream */
#define GL_FIT_MAX_PHASES 8
#define GL_FIT_MAX_FEEDS 16      /* per phase */
#define GL_FIT_MAX_OPTS 8        /* per phase */
#define GL_FIT_MAX_CHECKS 32
#define GL_FIT_MAX_RECORD 32
#define GL_FIT_MAX_POST 16

/* One column of a stream: n rows of `width` floats, row-major, caller-owned;
 * it must outlive the fit and stay finite (gl_fit_new checks once). */
typedef struct gl_fit_column {
    const char *name;     /* for messages, may be NULL */
    const float *data;
    int64_t n, width;
} gl_fit_column;

typedef struct gl_fit_stream {
    const char *name;     /* for messages, may be NULL */
    int ncol;
    gl_fit_column col[GL_FIT_MAX_COLUMNS];
    int64_t batch;        /* rows per draw, 1..n */
    uint64_t seed;        /* of this stream's shuffling RNG */
} gl_fit_stream;

/* One optimizer applied to one flat parameter range. */
typedef struct gl_fit_opt {
    gl_opt_config cfg;
    float *param, *grad, *state;   /* caller-owned; state: gl_opt_state_slots * n */
    int64_t n;
    int64_t *t;                    /* caller-owned step counter */
} gl_fit_opt;

typedef enum gl_fit_post_kind {
    GL_POST_CLIP,        /* clamp param[0..n) to [-a, a]                    */
    GL_POST_EMA,         /* avg = a * avg + (1 - a) * param                 */
    GL_POST_RUNNING_MEAN /* avg += (param - avg) / (*count + 1); ++*count   */
} gl_fit_post_kind;

typedef struct gl_fit_post {
    gl_fit_post_kind kind;
    float *param;
    float *avg;          /* EMA / running mean target                        */
    int64_t n;
    float a;
    int64_t *count;      /* RUNNING_MEAN                                    */
} gl_fit_post;

/* Program input `input` (an INPUT node id) is fed with the current batch of
 * column `column` of stream `stream`: shape (stream batch, column width). */
typedef struct gl_fit_feed { int input, stream, column; } gl_fit_feed;

typedef struct gl_fit_phase {
    gl_program *prog;
    gl_rng *rng;                     /* the program's random stream (caller-owned)    */
    /* optional: the program's graph, so gl_fit_set_phases can check each fed
     * input's shape; NULL skips that check */
    const gl_graph *graph;
    int repeats;                     /* >= 1                                         */
    /* bit s: draw stream s afresh before every repeat.  A stream the phase
     * reads but does not redraw gives it the batch this step already drew
     * (drawn now if the step has none yet). */
    uint32_t redraw;
    int nfeed; gl_fit_feed feed[GL_FIT_MAX_FEEDS];   /* every program input, once */
    int nopt;  gl_fit_opt opt[GL_FIT_MAX_OPTS];
    int npost; gl_fit_post post[GL_FIT_MAX_POST];
    /* program outputs (indices into the program's outputs) that must be finite,
     * checked BEFORE any update, so a non-finite run changes no parameter;
     * every one of check_numel[i] (>= 1) floats of the output is checked */
    int ncheck; int check[GL_FIT_MAX_CHECKS]; int64_t check_numel[GL_FIT_MAX_CHECKS];
    const char *check_name[GL_FIT_MAX_CHECKS];   /* e.g. "D loss", for the message */
    /* scalar program outputs recorded (last repeat's value) in history columns */
    int nrecord; int record[GL_FIT_MAX_RECORD]; int record_col[GL_FIT_MAX_RECORD];
} gl_fit_phase;

typedef struct gl_fit gl_fit;

/* Checks every stream (columns of equal length, 1 <= batch <= n, every value
 * finite: the message names the stream, the column, the count of bad rows
 * and the first) and allocates each stream's permutation and batch buffers.
 * The streams' column data is borrowed, not copied. */
gl_status gl_fit_new(int nstream, const gl_fit_stream *streams, gl_fit **out, gl_error *err);
void gl_fit_free(gl_fit *f);

/* Phases are copied (nothing is allocated; cheap enough to call again before a
 * run to pick up changed optimizer configs).  Every input the program reads
 * must be fed exactly once, from an existing stream column, with that
 * column's batch shape.  All or nothing: a bad phase leaves the old ones.
 * Pointers in the phases (programs, rngs, buffers, counters, names) must stay
 * valid while the fit uses them. */
gl_status gl_fit_set_phases(gl_fit *f, int nphase, const gl_fit_phase *phases, gl_error *err);

/* Run `steps` steps. history: steps * ncols floats (row per step; columns not
 * recorded are left as they were; may be NULL when nothing is recorded).
 * *done receives the number of completed steps (also on error).
 *
 * Within a step the phases run in order, each `repeats` times: draw the
 * streams it needs (see redraw), bind them, run, check, update, post actions;
 * after the last repeat the recorded outputs go to the step's history row.
 *
 * On a non-finite checked value the failing run is abandoned before any of its
 * updates and GL_ERR_NONFINITE returned with a message "step K: NAME is nan"
 * (K = f's step counter, i.e. the 0-based global index of the failing step;
 * vector outputs name the first bad element).  Earlier phases / repeats of
 * that step keep their updates; the step counter and history row are not
 * advanced.  stop, if not NULL, is polled between steps: non-zero ends the run
 * early with GL_OK.  Allocates nothing. */
gl_status gl_fit_run(gl_fit *f, int64_t steps, float *history, int ncols, gl_pool *pool,
                     const volatile int *stop, int64_t *done, gl_error *err);

/* Global step counter (steps completed over all runs) - get/set for resume. */
int64_t gl_fit_step(const gl_fit *f);
void gl_fit_set_step(gl_fit *f, int64_t step);

int gl_fit_num_streams(const gl_fit *f);
/* Rows, batch size and column count of stream s (zeros for a bad s). */
void gl_fit_stream_dims(const gl_fit *f, int s, int64_t *n, int64_t *batch, int *ncol);
/* The batch buffer of column c of stream s that the last draw filled
 * ((batch, width) floats, zeros before the first draw), or NULL. */
const float *gl_fit_batch(const gl_fit *f, int s, int c, int64_t *width);

/* Resumable sampler state of stream s: the permutation (n int64), the
 * position in it, the epoch count and the RNG.  The permutation is shuffled
 * once in gl_fit_new (epoch 0) and again whenever fewer than `batch` rows
 * remain (epoch += 1).  gl_fit_set_sampler checks 0 <= pos <= n, epoch >= 0
 * and that perm is a permutation of 0..n-1 (perm NULL keeps the current one). */
typedef struct gl_fit_sampler_state { int64_t pos, epoch; gl_rng rng; } gl_fit_sampler_state;
gl_status gl_fit_get_sampler(const gl_fit *f, int s, gl_fit_sampler_state *st, int64_t *perm /* n, or NULL */,
                             gl_error *err);
gl_status gl_fit_set_sampler(gl_fit *f, int s, const gl_fit_sampler_state *st, const int64_t *perm,
                             gl_error *err);

#endif
