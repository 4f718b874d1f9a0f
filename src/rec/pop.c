#include "rec/model.h"

#include <string.h>

#include "common/util.h"

/* Popularity: an item's score is the number of training users who have
 * it, the same for every user; ties go to the lower item index, as the
 * ranking does for every model. The counts follow from the training
 * matrix, so the file stores nothing of its own. */

typedef struct pop_state {
    size_t n_items;
    float *count;
} pop_state;

static void
pop_free(void *state)
{
    pop_state *s = state;

    if (s) {
        gbr_free(s->count);
        gbr_free(s);
    }
}

static int
pop_build(void **state, const gbr_rec_csr *m, gbr_error *err)
{
    pop_state *s = gbr_calloc(1, sizeof *s);

    if (!s || !(s->count = gbr_calloc(m->n_cols ? m->n_cols : 1,
                                      sizeof *s->count))) {
        pop_free(s);
        return gbr_fail(err, GBR_ENOMEM, "out of memory for pop");
    }
    s->n_items = m->n_cols;
    for (size_t e = 0; e < m->ptr[m->n_rows]; e++)
        s->count[m->idx[e]] += 1.0f;
    *state = s;
    return GBR_OK;
}

static int
pop_fit(void **state, const gbr_rec_csr *m, const gbr_rec_params *p,
        gbr_rec_fit_ctx *ctx, gbr_error *err)
{
    (void)p;
    (void)ctx;
    return pop_build(state, m, err);
}

static int
pop_score(const void *state, const gbr_rec_csr *train, size_t n,
          const size_t *user, const size_t *hist_ptr, const uint32_t *hist,
          float *out, int n_threads, gbr_error *err)
{
    const pop_state *s = state;

    (void)train;
    (void)user;
    (void)hist_ptr;
    (void)hist;
    (void)n_threads;
    (void)err;
    for (size_t r = 0; r < n; r++)
        memcpy(out + r * s->n_items, s->count, s->n_items * sizeof *out);
    return GBR_OK;
}

static void
pop_save(const void *state, gbr_recio_writer *w)
{
    (void)state;
    (void)w;
}

static int
pop_load(void **state, const gbr_rec_csr *train, const gbr_rec_params *p,
         gbr_recio_reader *r, gbr_error *err)
{
    (void)p;
    (void)r;
    return pop_build(state, train, err);
}

const gbr_rec_ops gbr_rec_pop_ops = {
    "pop", pop_fit, pop_score, pop_save, pop_load, pop_free
};
