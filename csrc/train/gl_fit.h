/* gl_fit.h - the training loop in C: batches, phases, updates, history.
 *
 * A fit is a list of phases run in order every step, e.g. for a GAN:
 *   phase 0: discriminator (repeats = n_critic, fresh batch each repeat)
 *   phase 1: generator     (repeats = 1, reuses the last batch)
 * Each phase runs one compiled program (which writes its gradients into flat
 * gradient buffers through sinks), checks the values it must keep finite,
 * applies its optimizer updates, then its post-update actions (weight
 * clipping, EMA, running average).  Per step the loop records chosen program
 * outputs (scalars) into a history row.  Nothing allocates inside gl_fit_run.
 *
 * Data batches: rows are drawn without replacement from a caller-owned
 * (n, width) float32 array through a permutation reshuffled by the fit's own
 * RNG at the start of every epoch; a partial last batch is dropped. */
#ifndef GL_FIT_H
#define GL_FIT_H

#include <stdint.h>
#include "../core/gl_program.h"
#include "../core/gl_pool.h"
#include "../core/gl_rng.h"
#include "../core/gl_status.h"
#include "../optim/gl_optim.h"

#define GL_FIT_MAX_PHASES 4
#define GL_FIT_MAX_OPTS 2
#define GL_FIT_MAX_CHECKS 8
#define GL_FIT_MAX_RECORD 8
#define GL_FIT_MAX_POST 4

/* One optimizer applied to one flat parameter buffer. */
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

typedef struct gl_fit_phase {
    gl_program *prog;
    gl_rng *rng;                     /* the program's random stream (caller-owned)    */
    /* optional: the program's graph, so gl_fit_set_phases can check batch_input's
     * shape against (batch, width); NULL skips that check */
    const gl_graph *graph;
    int repeats;                     /* >= 1                                         */
    int fresh_batch;                 /* draw a new batch before each repeat          */
    int batch_input;                 /* INPUT node id fed with the batch, -1 if none;
                                        the program may read no other input          */
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

/* data: (n, width) row-major, caller-owned, must outlive the fit.  batch <= n.
 * The permutation and batch buffer are allocated here (once). */
gl_status gl_fit_new(const float *data, int64_t n, int64_t width, int64_t batch, uint64_t seed,
                     gl_fit **out, gl_error *err);
void gl_fit_free(gl_fit *f);

/* Phases are copied (nothing is allocated; cheap enough to call again before a
 * run to pick up changed optimizer configs).  Each program's batch_input must
 * have shape (batch, width) and be the only input it reads (a phase with
 * batch_input -1 must read none); the batch buffer is bound to it here and
 * again before every run of the program.  Pointers in the phases (programs,
 * rngs, buffers, counters, names) must stay valid while the fit uses them. */
gl_status gl_fit_set_phases(gl_fit *f, int nphase, const gl_fit_phase *phases, gl_error *err);

/* Run `steps` steps. history: steps * ncols floats (row per step; columns not
 * recorded are left as they were; may be NULL when nothing is recorded).
 * *done receives the number of completed steps (also on error).
 *
 * Within a step the phases run in order, each `repeats` times: draw a batch
 * (only if the phase reads one: batch_input >= 0, and it asks for a fresh one
 * or this step has drawn none yet), run, check, update, post actions; after
 * the last repeat the recorded outputs go to the step's history row.
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

/* n, width, batch as given to gl_fit_new. */
void gl_fit_dims(const gl_fit *f, int64_t *n, int64_t *width, int64_t *batch);

/* The batch buffer the last step used ((batch, width) floats). */
const float *gl_fit_batch(const gl_fit *f);

/* Resumable sampler state: the permutation (n int64), the position in it, the
 * epoch count and the RNG.  The permutation is shuffled once in gl_fit_new
 * (epoch 0) and again whenever fewer than `batch` rows remain (epoch += 1).
 * gl_fit_set_sampler checks 0 <= pos <= n, epoch >= 0 and that perm is a
 * permutation of 0..n-1 (perm NULL keeps the current one). */
typedef struct gl_fit_sampler_state { int64_t pos, epoch; gl_rng rng; } gl_fit_sampler_state;
void gl_fit_get_sampler(const gl_fit *f, gl_fit_sampler_state *s, int64_t *perm /* n, or NULL */);
gl_status gl_fit_set_sampler(gl_fit *f, const gl_fit_sampler_state *s, const int64_t *perm, gl_error *err);

#endif
