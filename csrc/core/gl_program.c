/* gl_program.c - compile a step: select nodes, plan one arena by liveness,
 * allocate once; run without allocating.
 *
 * The program keeps its own pointer per graph node (ptr[]), never node->data,
 * so several programs may be compiled from one graph.  Nodes are looked up
 * through g->nodes at run time (by index) because the graph may grow, and so
 * move its node array, after compilation. */
#include "gl_program.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../ops/gl_kernels.h"

#define GL_ALIGN 64

typedef struct gl_copy {
    int node;    /* source node (ptr[node] at the end of the run) */
    float *dst;
    size_t n;    /* floats */
} gl_copy;

struct gl_program {
    const gl_graph *g;
    int gn;             /* g->n at compile time: size of ptr[]        */
    float **ptr;        /* per graph node: where its values live      */
    unsigned char *sel; /* per graph node: 1 when the program uses it */

    int nsteps;
    int *steps;         /* node ids run by a kernel, graph order      */
    int *act_of;        /* per graph node: the activation node fused
                           into its kernel, or -1                     */
    int *bias_of;       /* per graph node: the bias node fused into
                           its kernel (CONV2D), or -1                 */

    int ninputs;
    int *inputs;        /* INPUT node ids, graph order                */

    int nout;
    int *outs;
    float **out_ptr;    /* what gl_program_output returns             */

    int ncopies;
    gl_copy *copies;    /* end-of-run copies into dst                 */
    int ndirect;
    gl_copy *direct;    /* outputs computed straight into dst         */

    float *arena;
    size_t arena_bytes;
    float *work;
    size_t work_floats;
};

/* INPUT, PARAM and CONST are not kernels: the executor points at their data. */
static int gl_is_pointer_leaf(gl_op op) {
    return op == GL_OP_INPUT || op == GL_OP_PARAM || op == GL_OP_CONST;
}

static size_t gl_round_up(size_t n) { return (n + GL_ALIGN - 1) / GL_ALIGN * GL_ALIGN; }

/* Arena bytes of a computed node: its values and any side outputs. */
static size_t gl_node_bytes(const gl_node *nd) {
    return gl_round_up((size_t)(gl_shape_numel(&nd->shape) + gl_side_floats(nd)) * sizeof(float));
}

/* ---- arena planner: free list of [off, off+size) blocks sorted by offset ---- */

typedef struct gl_block {
    size_t off, size;
} gl_block;

typedef struct gl_planner {
    gl_block *free_list;
    int nfree, cap;
    size_t top;          /* end of the used region = arena size so far */
} gl_planner;

/* Best fit among free blocks; otherwise grow the top (extending a free block
 * that touches the top, so the tail of the arena is not wasted). */
static size_t gl_plan_alloc(gl_planner *pl, size_t size) {
    int best = -1;
    for (int i = 0; i < pl->nfree; i++) {
        if (pl->free_list[i].size >= size &&
            (best < 0 || pl->free_list[i].size < pl->free_list[best].size))
            best = i;
    }
    if (best >= 0) {
        gl_block *b = &pl->free_list[best];
        size_t off = b->off;
        b->off += size;
        b->size -= size;
        if (b->size == 0) {
            memmove(b, b + 1, (size_t)(pl->nfree - best - 1) * sizeof *b);
            pl->nfree--;
        }
        return off;
    }
    if (pl->nfree > 0) {
        gl_block *last = &pl->free_list[pl->nfree - 1];
        if (last->off + last->size == pl->top) {
            size_t off = last->off;
            pl->top = off + size;
            pl->nfree--;
            return off;
        }
    }
    size_t off = pl->top;
    pl->top += size;
    return off;
}

/* Return a block, merging with neighbours.  cap is large enough (one entry per
 * allocated block) that the list never needs to grow. */
static void gl_plan_release(gl_planner *pl, size_t off, size_t size) {
    int i = 0;
    while (i < pl->nfree && pl->free_list[i].off < off) i++;
    int merged_prev = 0;
    if (i > 0) {
        gl_block *p = &pl->free_list[i - 1];
        if (p->off + p->size == off) {
            p->size += size;
            merged_prev = 1;
        }
    }
    if (i < pl->nfree && off + size == pl->free_list[i].off) {
        if (merged_prev) {
            pl->free_list[i - 1].size += pl->free_list[i].size;
            memmove(&pl->free_list[i], &pl->free_list[i + 1],
                    (size_t)(pl->nfree - i - 1) * sizeof(gl_block));
            pl->nfree--;
        } else {
            pl->free_list[i].off = off;
            pl->free_list[i].size += size;
        }
        return;
    }
    if (merged_prev) return;
    memmove(&pl->free_list[i + 1], &pl->free_list[i], (size_t)(pl->nfree - i) * sizeof(gl_block));
    pl->free_list[i].off = off;
    pl->free_list[i].size = size;
    pl->nfree++;
}

/* ---- compile ---- */

void gl_program_free(gl_program *p) {
    if (!p) return;
    gl_free(p->ptr);
    gl_free(p->sel);
    gl_free(p->steps);
    gl_free(p->act_of);
    gl_free(p->bias_of);
    gl_free(p->inputs);
    gl_free(p->outs);
    gl_free(p->out_ptr);
    gl_free(p->copies);
    gl_free(p->direct);
    gl_free(p->arena);
    gl_free(p->work);
    gl_free(p);
}

/* The node whose memory node i uses: itself, or the root of the view it is. */
static int gl_root_of(const int *root, int i) { return root[i] >= 0 ? root[i] : i; }

/* Does [a, a+na) overlap [b, b+nb) (in floats)?  Compared as integers so that
 * unrelated buffers are not compared with < (undefined for pointers). */
static int gl_overlaps(const float *a, size_t na, const float *b, size_t nb) {
    uintptr_t a0 = (uintptr_t)a, a1 = a0 + na * sizeof(float);
    uintptr_t b0 = (uintptr_t)b, b1 = b0 + nb * sizeof(float);
    return na > 0 && nb > 0 && a0 < b1 && b0 < a1;
}

gl_status gl_program_new(const gl_graph *g, int nout, const int *outs, float *const *dst,
                         gl_program **out, gl_error *err) {
    if (out) *out = NULL;
    if (!g || !out) return gl_fail(err, GL_ERR_VALUE, "program: graph and result pointer are required");
    if (g->n <= 0) return gl_fail(err, GL_ERR_VALUE, "program: the graph is empty");
    if (nout <= 0 || !outs) return gl_fail(err, GL_ERR_VALUE, "program: no outputs given");

    const int n = g->n;
    for (int k = 0; k < nout; k++) {
        if (outs[k] < 0 || outs[k] >= n)
            return gl_fail(err, GL_ERR_VALUE, "program: output %d is node %d, out of range [0, %d)",
                           k, outs[k], n);
        if (dst && dst[k] && gl_shape_numel(&g->nodes[outs[k]].shape) == 0) {
            char sb[96];
            return gl_fail(err, GL_ERR_VALUE,
                           "program: output %d (node %d) has shape %s with no elements; it cannot have a dst",
                           k, outs[k], gl_shape_str(&g->nodes[outs[k]].shape, sb, sizeof sb));
        }
    }
    for (int i = 0; i < n; i++) {
        const gl_node *nd = &g->nodes[i];
        if ((int)nd->op < 0 || nd->op >= GL_OP_COUNT || nd->nin < 0 || nd->nin > GL_MAX_IN)
            return gl_fail(err, GL_ERR_INTERNAL, "program: node %d is malformed", i);
        if ((nd->op == GL_OP_PARAM || nd->op == GL_OP_CONST) && !nd->data &&
            gl_shape_numel(&nd->shape) > 0)
            return gl_fail(err, GL_ERR_VALUE, "program: node %d (%s) has no data", i, gl_op_name(nd->op));
    }

    gl_status st = GL_ERR_NOMEM;
    gl_program *p = gl_calloc(1, sizeof *p);
    int *last_use = NULL, *nref = NULL, *nsink = NULL, *root = NULL, *nread = NULL;
    size_t *off = NULL;
    unsigned char *in_arena = NULL;
    gl_planner pl = {0};
    if (!p) goto nomem;
    p->g = g;
    p->gn = n;
    p->nout = nout;
    p->ptr = gl_calloc((size_t)n, sizeof *p->ptr);
    p->sel = gl_calloc((size_t)n, 1);
    p->steps = gl_malloc((size_t)n * sizeof *p->steps);
    p->act_of = gl_malloc((size_t)n * sizeof *p->act_of);
    p->bias_of = gl_malloc((size_t)n * sizeof *p->bias_of);
    p->inputs = gl_malloc((size_t)n * sizeof *p->inputs);
    p->outs = gl_malloc((size_t)nout * sizeof *p->outs);
    p->out_ptr = gl_calloc((size_t)nout, sizeof *p->out_ptr);
    p->copies = gl_malloc((size_t)nout * sizeof *p->copies);
    p->direct = gl_malloc((size_t)nout * sizeof *p->direct);
    last_use = gl_malloc((size_t)n * sizeof *last_use);
    root = gl_malloc((size_t)n * sizeof *root);
    nref = gl_calloc((size_t)n, sizeof *nref);
    nsink = gl_calloc((size_t)n, sizeof *nsink);
    nread = gl_calloc((size_t)n, sizeof *nread);
    off = gl_calloc((size_t)n, sizeof *off);
    in_arena = gl_calloc((size_t)n, 1);
    if (!p->ptr || !p->sel || !p->steps || !p->act_of || !p->bias_of || !p->inputs || !p->outs || !p->out_ptr ||
        !p->copies || !p->direct || !last_use || !root || !nref || !nsink || !nread || !off || !in_arena)
        goto nomem;
    memcpy(p->outs, outs, (size_t)nout * sizeof *outs);

    /* Select: walk inputs backwards from the outputs.  Inputs always have
     * smaller indices, so one descending sweep suffices. */
    for (int k = 0; k < nout; k++) {
        p->sel[outs[k]] = 1;
        nref[outs[k]]++;
        if (dst && dst[k]) nsink[outs[k]]++;
    }
    for (int i = n - 1; i >= 0; i--) {
        if (!p->sel[i]) continue;
        const gl_node *nd = &g->nodes[i];
        for (int j = 0; j < nd->nin; j++) {
            int s = nd->in[j];
            if (s < 0 || s >= i) {
                st = gl_fail(err, GL_ERR_INTERNAL, "program: node %d reads node %d (not earlier)", i, s);
                goto fail;
            }
            p->sel[s] = 1;
        }
    }

    /* Steps, inputs, and pointer leaves. */
    size_t work = 0;
    for (int i = 0; i < n; i++) {
        last_use[i] = -1;
        root[i] = -1;
        p->act_of[i] = -1;
        p->bias_of[i] = -1;
        if (!p->sel[i]) continue;
        const gl_node *nd = &g->nodes[i];
        if (nd->op == GL_OP_INPUT) {
            p->inputs[p->ninputs++] = i;
        } else if (gl_is_pointer_leaf(nd->op)) {
            p->ptr[i] = nd->data;
        } else {
            size_t w = gl_kernel_workspace(g, i);
            if (w > work) work = w;
            p->steps[p->nsteps++] = i;
        }
    }

    /* Liveness: a computed node lives from its own step to its last reader.
     * nread counts the steps that read a node (a step reading it twice once). */
    for (int t = 0; t < p->nsteps; t++) {
        const gl_node *nd = &g->nodes[p->steps[t]];
        for (int j = 0; j < nd->nin; j++) {
            int dup = 0;
            for (int q = 0; q < j; q++) dup |= nd->in[q] == nd->in[j];
            if (!dup) nread[nd->in[j]]++;
            last_use[nd->in[j]] = t;
        }
    }

    /* Where each computed node lives: straight into dst when it is the sole
     * output slot for that node and dst does not alias a parameter/constant the
     * program reads (a later step would see overwritten values); otherwise in
     * the arena, with copies at the end for every dst. */
    for (int t = 0; t < p->nsteps; t++) {
        int i = p->steps[t];
        if (nref[i] == 1 && nsink[i] == 1 && gl_side_floats(&g->nodes[i]) == 0) {
            int k = 0;
            while (outs[k] != i) k++;
            size_t ne = (size_t)gl_shape_numel(&g->nodes[i].shape);
            int alias = 0;
            for (int s = 0; s < n && !alias; s++) {
                if (!p->sel[s] || (g->nodes[s].op != GL_OP_PARAM && g->nodes[s].op != GL_OP_CONST))
                    continue;
                alias = gl_overlaps(dst[k], ne, g->nodes[s].data,
                                    (size_t)gl_shape_numel(&g->nodes[s].shape));
            }
            if (!alias) {
                p->ptr[i] = dst[k];
                gl_copy *dc = &p->direct[p->ndirect++];
                dc->node = k; /* output slot, for messages */
                dc->dst = dst[k];
                dc->n = ne;
                continue;
            }
        }
        in_arena[i] = 1;
        if (nref[i] > 0) last_use[i] = p->nsteps; /* outputs live to the end */
    }

    /* Views: a RESHAPE that is not written straight into a dst shares the
     * memory of its input (a computed node, a parameter or a constant) instead
     * of copying it; the root it aliases then lives as long as any view of it
     * is read.  Steps are in graph order, so a view of a view finds the root
     * already resolved. */
    for (int t = 0; t < p->nsteps; t++) {
        const int i = p->steps[t], s = g->nodes[i].in[0];
        if (g->nodes[i].op != GL_OP_RESHAPE || !in_arena[i] || g->nodes[s].op == GL_OP_INPUT) continue;
        root[i] = gl_root_of(root, s);
        in_arena[i] = 0;
    }

    /* Fusions: a node read by one step only, and not an output, can hand
     * its last elementwise pass to its producer, which applies it as it
     * writes; the fused node becomes a view and runs no kernel, saving a
     * sweep over the tensor.
     * - Bias: the ADD of a per-channel vector (shape (1, C, 1, 1), a
     *   parameter or a value computed before the conv) to a CONV2D
     *   (gl_kernel_args.bias).
     * - Activation: a RELU / LEAKY_RELU of an ADD, a BATCH_NORM or a CONV2D
     *   (the conv with its bias, if fused) (gl_kernel_args.act).  Backward
     *   rules read the activation's output, not its input, which is what
     *   leaves the input with one reader. */
    for (int t = 0; t < p->nsteps; t++) {
        const int i = p->steps[t];
        const gl_node *nd = &g->nodes[i];
        if (nd->op != GL_OP_ADD || !in_arena[i]) continue;
        for (int k = 0; k < 2; k++) {
            const int s = nd->in[k], b = nd->in[1 - k], rb = gl_root_of(root, b);
            const gl_shape *cs = &g->nodes[s].shape, *bs = &g->nodes[b].shape;
            if (g->nodes[s].op != GL_OP_CONV2D || !in_arena[s] || nread[s] != 1 || nref[s] != 0 || s == b ||
                !gl_shape_eq(cs, &nd->shape) || bs->ndim != 4 || bs->d[0] != 1 || bs->d[1] != cs->d[1] ||
                bs->d[2] != 1 || bs->d[3] != 1)
                continue;
            const gl_op rop = g->nodes[rb].op;
            if (!(gl_is_pointer_leaf(rop) || rop == GL_OP_INPUT) && rb > s) continue; /* not ready when s runs */
            p->bias_of[s] = b;
            root[i] = s;
            in_arena[i] = 0;
            break;
        }
    }
    for (int t = 0; t < p->nsteps; t++) {
        const int i = p->steps[t], x = g->nodes[i].in[0], s = gl_root_of(root, x);
        const gl_op op = g->nodes[i].op;
        if ((op != GL_OP_RELU && op != GL_OP_LEAKY_RELU) || !in_arena[i] || nread[x] != 1 || nref[x] != 0 ||
            !in_arena[s] || (x != s && p->bias_of[s] < 0) || !gl_kernel_fuses_act(g->nodes[s].op))
            continue;
        p->act_of[s] = i;
        root[i] = s;
        in_arena[i] = 0;
    }

    /* Every view straight to its root (roots precede their views, so one
     * pass in graph order resolves chains), and the root lives as long as
     * any of its views is read. */
    for (int t = 0; t < p->nsteps; t++) {
        const int i = p->steps[t];
        if (root[i] < 0) continue;
        root[i] = gl_root_of(root, root[i]);
        if (last_use[i] > last_use[root[i]]) last_use[root[i]] = last_use[i];
    }

    /* Plan: at step t, take the node's block, then release blocks whose last
     * reader is t (so an output never shares memory with its own inputs). */
    pl.cap = p->nsteps + 1;
    pl.free_list = gl_malloc((size_t)pl.cap * sizeof *pl.free_list);
    if (!pl.free_list) goto nomem;
    for (int t = 0; t < p->nsteps; t++) {
        int i = p->steps[t];
        if (in_arena[i]) {
            size_t sz = gl_node_bytes(&g->nodes[i]);
            off[i] = sz ? gl_plan_alloc(&pl, sz) : 0;
            /* a node nobody reads and nobody outputs is impossible (selection) */
            if (last_use[i] < t) last_use[i] = t;
        }
        const gl_node *nd = &g->nodes[i];
        for (int j = 0; j < nd->nin; j++) {
            int s = gl_root_of(root, nd->in[j]);
            int dup = 0; /* the same memory read twice by this step: release once */
            for (int q = 0; q < j; q++) dup |= gl_root_of(root, nd->in[q]) == s;
            if (!dup && in_arena[s] && last_use[s] == t) {
                size_t sz = gl_node_bytes(&g->nodes[s]);
                if (sz) gl_plan_release(&pl, off[s], sz);
            }
        }
        if (in_arena[i] && last_use[i] == t) { /* dead on arrival (never read) */
            size_t sz = gl_node_bytes(&g->nodes[i]);
            if (sz) gl_plan_release(&pl, off[i], sz);
        }
    }
    p->arena_bytes = pl.top;

    /* Always allocate something so zero-element nodes get a valid pointer. */
    p->arena = gl_aligned_alloc(p->arena_bytes ? p->arena_bytes : GL_ALIGN);
    if (!p->arena) goto nomem;
    p->work_floats = work;
    if (work) {
        p->work = gl_aligned_alloc(work * sizeof(float));
        if (!p->work) goto nomem;
    }
    int nsteps = 0; /* views run no kernel: drop them from the steps */
    for (int t = 0; t < p->nsteps; t++) {
        int i = p->steps[t];
        if (in_arena[i]) p->ptr[i] = (float *)((char *)p->arena + off[i]);
        if (root[i] >= 0)
            p->ptr[i] = p->ptr[root[i]];
        else
            p->steps[nsteps++] = i;
    }
    p->nsteps = nsteps;

    /* Outputs: direct dst, or arena/leaf data plus a copy at the end. */
    for (int k = 0; k < nout; k++) {
        int i = outs[k];
        float *d = dst ? dst[k] : NULL;
        if (d && p->ptr[i] != d) {
            gl_copy *c = &p->copies[p->ncopies++];
            c->node = i;
            c->dst = d;
            c->n = (size_t)gl_shape_numel(&g->nodes[i].shape);
        }
        p->out_ptr[k] = d; /* NULL entries resolved at run time (bound inputs) */
    }

    gl_free(pl.free_list);
    gl_free(last_use);
    gl_free(root);
    gl_free(nref);
    gl_free(nsink);
    gl_free(nread);
    gl_free(off);
    gl_free(in_arena);
    *out = p;
    return GL_OK;

nomem:
    st = gl_fail(err, GL_ERR_NOMEM, "program: out of memory while compiling %d nodes", n);
fail:
    gl_free(pl.free_list);
    gl_free(last_use);
    gl_free(root);
    gl_free(nref);
    gl_free(nsink);
    gl_free(nread);
    gl_free(off);
    gl_free(in_arena);
    gl_program_free(p);
    return st;
}

/* ---- queries ---- */

int gl_program_num_inputs(const gl_program *p) { return p ? p->ninputs : 0; }

int gl_program_input_node(const gl_program *p, int k) {
    if (!p || k < 0 || k >= p->ninputs) return -1;
    return p->inputs[k];
}

gl_status gl_program_bind(gl_program *p, int node, const float *data, gl_error *err) {
    if (!p) return gl_fail(err, GL_ERR_VALUE, "bind: no program");
    if (node < 0 || node >= p->gn || !p->sel[node] || p->g->nodes[node].op != GL_OP_INPUT)
        return gl_fail(err, GL_ERR_VALUE, "bind: node %d is not an input of this program", node);
    if (!data && gl_shape_numel(&p->g->nodes[node].shape) > 0)
        return gl_fail(err, GL_ERR_VALUE, "bind: NULL data for input node %d", node);
    /* Inputs are only read; the non-const slot is shared with computed nodes. */
    p->ptr[node] = (float *)(uintptr_t)data;
    if (!data) p->ptr[node] = p->arena; /* zero elements: any valid pointer */
    return GL_OK;
}

const float *gl_program_output(const gl_program *p, int k) {
    if (!p || k < 0 || k >= p->nout) return NULL;
    return p->out_ptr[k] ? p->out_ptr[k] : p->ptr[p->outs[k]];
}

size_t gl_program_arena_bytes(const gl_program *p) { return p ? p->arena_bytes : 0; }

int gl_program_num_steps(const gl_program *p) { return p ? p->nsteps : 0; }

/* ---- run ---- */

gl_status gl_program_run(gl_program *p, gl_pool *pool, gl_rng *rng, gl_error *err) {
    if (!p) return gl_fail(err, GL_ERR_VALUE, "run: no program");
    const gl_graph *g = p->g;
    if (g->n < p->gn)
        return gl_fail(err, GL_ERR_VALUE, "run: the graph lost nodes since the program was compiled");
    for (int k = 0; k < p->ninputs; k++) {
        int i = p->inputs[k];
        if (!p->ptr[i]) {
            char sb[96];
            return gl_fail(err, GL_ERR_VALUE, "run: input node %d of shape %s is not bound", i,
                           gl_shape_str(&g->nodes[i].shape, sb, sizeof sb));
        }
    }

    /* Bound inputs are only known now: a dst written in the middle of the run
     * must not be memory that a step may still read as an input. */
    for (int d = 0; d < p->ndirect; d++) {
        const gl_copy *dc = &p->direct[d];
        for (int k = 0; k < p->ninputs; k++) {
            int i = p->inputs[k];
            if (gl_overlaps(dc->dst, dc->n, p->ptr[i], (size_t)gl_shape_numel(&g->nodes[i].shape)))
                return gl_fail(err, GL_ERR_VALUE,
                               "run: the dst of output %d overlaps the data bound to input node %d",
                               dc->node, i);
        }
    }

    gl_kernel_args a;
    memset(&a, 0, sizeof a);
    a.pool = pool;
    a.rng = rng;
    a.work = p->work;
    gl_error kerr;
    for (int t = 0; t < p->nsteps; t++) {
        int i = p->steps[t];
        const gl_node *nd = &g->nodes[i];
        if ((gl_op_flags(nd->op) & GL_OPF_RANDOM) && !rng)
            return gl_fail(err, GL_ERR_VALUE, "run: node %d (%s) draws random numbers but no RNG was given",
                           i, gl_op_name(nd->op));
        a.node = nd;
        a.out = p->ptr[i];
        a.act = p->act_of[i] >= 0 ? &g->nodes[p->act_of[i]] : NULL;
        a.bias = p->bias_of[i] >= 0 ? p->ptr[p->bias_of[i]] : NULL;
        for (int j = 0; j < nd->nin; j++) {
            a.in[j] = p->ptr[nd->in[j]];
            a.in_shape[j] = &g->nodes[nd->in[j]].shape;
        }
        for (int j = nd->nin; j < GL_MAX_IN; j++) {
            a.in[j] = NULL;
            a.in_shape[j] = NULL;
        }
        kerr.code = GL_OK;
        kerr.msg[0] = '\0';
        gl_status st = gl_kernel_forward(&a, &kerr);
        if (st != GL_OK)
            return gl_fail(err, st, "node %d (%s): %s", i, gl_op_name(nd->op), kerr.msg);
    }
    for (int c = 0; c < p->ncopies; c++) {
        const gl_copy *cp = &p->copies[c];
        if (cp->n) memmove(cp->dst, p->ptr[cp->node], cp->n * sizeof(float));
    }
    return GL_OK;
}

/* The scan tests exponent bits with an OR reduction (vectorises; no early
 * exit in the common case), then finds the index only when something is bad. */
int64_t gl_first_nonfinite(const float *x, int64_t n) {
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
