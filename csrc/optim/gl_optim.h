/* gl_optim.h - optimizers over flat parameter buffers, matching torch.optim.
 *
 * State buffers are owned by the caller (so Python can expose, save and
 * restore them as NumPy arrays); an update is one loop over the buffer. */
#ifndef GL_OPTIM_H
#define GL_OPTIM_H

#include <stdint.h>
#include "../core/gl_pool.h"
#include "../core/gl_status.h"

typedef enum gl_opt_kind { GL_OPT_SGD, GL_OPT_ADAM, GL_OPT_ADAMW, GL_OPT_RMSPROP } gl_opt_kind;

/* Hyperparameters are double, as in torch.optim: 1 - 0.999f is off by 1e-5. */
typedef struct gl_opt_config {
    gl_opt_kind kind;
    double lr;
    double weight_decay;   /* L2 added to the gradient (SGD, Adam, RMSProp); decoupled for AdamW */
    double momentum;       /* SGD, RMSProp */
    double dampening;      /* SGD */
    int nesterov;         /* SGD */
    double beta1, beta2;   /* Adam(W) */
    double eps;            /* Adam(W), RMSProp */
    double alpha;          /* RMSProp smoothing constant */
    int centered;         /* RMSProp */
    int amsgrad;          /* Adam(W) */
} gl_opt_config;

/* Number of state floats per parameter for this config (0..3). */
int gl_opt_state_slots(const gl_opt_config *c);
/* Check ranges (lr >= 0, 0 <= betas < 1, ...); fills err naming the field. */
gl_status gl_opt_validate(const gl_opt_config *c, gl_error *err);

/* The largest step count an optimizer may hold: 2**53.  The count is an
 * int64_t incremented once per step (signed overflow at 2**63 - 1 would be
 * undefined behaviour), and Adam's bias corrections compute pow(beta, t) with
 * t converted to double, which is exact only up to 2**53.  No run gets near
 * it (2**53 steps at 10**9 steps/s is 104 days), so a count beyond it is a
 * corrupt checkpoint or a bad assignment, refused wherever t is set. */
#define GL_OPT_MAX_STEP ((int64_t)1 << 53)

/* One update of n parameters. state holds gl_opt_state_slots(c) * n floats,
 * zero before the first step; *step counts steps taken (incremented here).
 * *step must be in [0, GL_OPT_MAX_STEP): at the limit the step fails with
 * GL_ERR_VALUE and changes nothing. */
gl_status gl_opt_step(const gl_opt_config *c, float *param, const float *grad, float *state,
                      int64_t n, int64_t *step, gl_pool *pool, gl_error *err);

/* Clamp every parameter to [-c, c] (WGAN weight clipping). */
void gl_clip_weights(float *param, int64_t n, float c);
/* avg = decay * avg + (1 - decay) * param (EMA of parameters). */
void gl_ema_update(float *avg, const float *param, int64_t n, float decay);

#endif
