#include "rec/rec_params.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "common/ptable.h"
#include "common/util.h"

static const char *const kind_names[] = {
    "pop", "item-knn", "ease", "bpr-mf", "multi-vae", "multi-dae", NULL
};
static const char *const loss_names[] = {
    "bpr", "top1", "bpr-max", "top1-max", NULL
};

#define OFF(field) offsetof(gbr_rec_params, field)
#define INF HUGE_VAL

/* The one table of the recommenders' parameters: `gbrank rec fit`'s
 * options, its --help and the manual's RECOMMENDERS section follow it.
 * "auto" values are the model's own (rec_params.h, gbr_rec_params_resolve). */
static const gbr_pdef defs[] = {
    { { "model", "choice", "pop",
        "pop|item-knn|ease|bpr-mf|multi-vae|multi-dae",
        "the recommender to train" },
      GBR_P_CHOICE, OFF(model), 0, 0, 0, 0, kind_names },
    { { "neighbours", "int", "0", "[0, 2147483647]",
        "item-knn: most similar items kept per item; 0 for all" },
      GBR_P_INT, OFF(neighbours), 0, 2147483647.0, 0, 0, NULL },
    { { "ease_lambda", "double", "200", "(0, inf)",
        "ease: L2 penalty on the item-item weights" },
      GBR_P_DOUBLE, OFF(ease_lambda), 0, INF, 1, 1, NULL },
    { { "dim", "int", "64", "[1, 4096]",
        "bpr-mf: number of factors of a user and of an item" },
      GBR_P_INT, OFF(dim), 1, 4096, 0, 0, NULL },
    { { "loss", "choice", "bpr", "bpr|top1|bpr-max|top1-max",
        "bpr-mf: the loss over each positive's negatives" },
      GBR_P_CHOICE, OFF(loss), 0, 0, 0, 0, loss_names },
    { { "extra_negatives", "int", "1024", "[0, 1000000]",
        "bpr-mf: uniformly drawn items added to each batch's in-batch "
        "negatives" },
      GBR_P_INT, OFF(extra_negatives), 0, 1e6, 0, 0, NULL },
    { { "bpr_max_reg", "double", "1", "[0, inf)",
        "bpr-mf, bpr-max: weight of the penalty on the negatives' scores" },
      GBR_P_DOUBLE, OFF(bpr_max_reg), 0, INF, 0, 1, NULL },
    { { "init_std", "double", "0.1", "(0, inf)",
        "bpr-mf: standard deviation of the initial factors" },
      GBR_P_DOUBLE, OFF(init_std), 0, INF, 1, 1, NULL },
    { { "hidden", "int", "600", "[1, 65536]",
        "multi-vae, multi-dae: units of the hidden layers" },
      GBR_P_INT, OFF(hidden), 1, 65536, 0, 0, NULL },
    { { "latent", "int", "200", "[1, 65536]",
        "multi-vae, multi-dae: units of the code" },
      GBR_P_INT, OFF(latent), 1, 65536, 0, 0, NULL },
    { { "dropout", "double", "0.5", "[0, 1)",
        "multi-vae, multi-dae: fraction of the input dropped in training" },
      GBR_P_DOUBLE, OFF(dropout), 0, 1, 0, 1, NULL },
    { { "anneal_cap", "double", "0.2", "[0, inf)",
        "multi-vae: largest weight of the KL term" },
      GBR_P_DOUBLE, OFF(anneal_cap), 0, INF, 0, 1, NULL },
    { { "anneal_steps", "int", "0", "[0, 2147483647]",
        "multi-vae: updates over which the KL weight grows to its cap; 0 "
        "for the whole run" },
      GBR_P_INT, OFF(anneal_steps), 0, 2147483647.0, 0, 0, NULL },
    { { "learning_rate", "double|auto", "auto", "(0, inf) or auto",
        "step size of the optimiser (Adagrad for bpr-mf, Adam for "
        "multi-vae and multi-dae); auto: the model's own" },
      GBR_P_AUTO_DOUBLE, OFF(learning_rate), 0, INF, 1, 1, NULL },
    { { "l2", "double|auto", "auto", "[0, inf) or auto",
        "L2 penalty on the weights; auto: the model's own" },
      GBR_P_AUTO_DOUBLE, OFF(l2), 0, INF, 0, 1, NULL },
    { { "epochs", "int", "0", "[0, 1000000]",
        "passes over the training data; 0: the model's own" },
      GBR_P_INT, OFF(epochs), 0, 1e6, 0, 0, NULL },
    { { "batch_size", "int", "0", "[0, 1000000]",
        "training examples per update (interactions for bpr-mf, users "
        "for multi-vae and multi-dae); 0: the model's own" },
      GBR_P_INT, OFF(batch_size), 0, 1e6, 0, 0, NULL },
    { { "early_stop", "int", "0", "[0, 1000000]",
        "with a validation log, stop after this many epochs without "
        "improvement of the first metric and keep the best epoch; 0: "
        "train every epoch, keep the last" },
      GBR_P_INT, OFF(early_stop), 0, 1e6, 0, 0, NULL },
    { { "metric", "string", "ndcg@10", "comma-separated metric names",
        "metrics on the validation log each epoch; the first decides "
        "early stopping" },
      GBR_P_STRING, OFF(metric), 0, 0, 0, 0, NULL },
    { { "seed", "uint64", "0", "[0, 18446744073709551615]",
        "seed of the initial weights, the order of the examples, the "
        "negatives, the dropout and the sampling" },
      GBR_P_U64, OFF(seed), 0, 0, 0, 0, NULL },
    { { "threads", "int", "0", "[0, 1024]",
        "threads to use; 0 for all cores (the model does not depend on "
        "it)" },
      GBR_P_INT, OFF(n_threads), 0, 1024, 0, 0, NULL },
};

#define N_DEFS (sizeof defs / sizeof defs[0])

static const gbr_ptable table = { defs, N_DEFS, GBR_REC_METRIC_SIZE };

/* The model's own values of the auto parameters: learning rate, l2,
 * epochs, batch size. */
static const struct {
    double learning_rate, l2;
    int epochs, batch_size;
} autos[] = {
    [GBR_REC_POP] = { 0, 0, 0, 0 },
    [GBR_REC_ITEM_KNN] = { 0, 0, 0, 0 },
    [GBR_REC_EASE] = { 0, 0, 0, 0 },
    /* bpr-mf: tuned on MovieLens 100K with extra_negatives 1024, for
     * every loss (bpr, top1-max and bpr-max all reach the PyTorch peer's
     * figures; with 512 bpr-max falls short on some seeds). */
    [GBR_REC_BPR_MF] = { 0.05, 1e-4, 30, 1024 },
    [GBR_REC_MULTI_VAE] = { 1e-3, 0, 75, 250 },
    [GBR_REC_MULTI_DAE] = { 1e-3, 0.003, 50, 250 },
};

void
gbr_rec_params_init(gbr_rec_params *p)
{
    memset(p, 0, sizeof *p);
    gbr_ptable_init(&table, p);
}

int
gbr_rec_params_set(gbr_rec_params *p, const char *name, const char *value,
                   gbr_error *err)
{
    return gbr_ptable_set(&table, p, name, value, err);
}

int
gbr_rec_params_get(const gbr_rec_params *p, const char *name, char *buf,
                   size_t size, gbr_error *err)
{
    return gbr_ptable_get(&table, p, name, buf, size, err);
}

int
gbr_rec_params_check(const gbr_rec_params *p, gbr_error *err)
{
    return gbr_ptable_check(&table, p, err);
}

size_t
gbr_rec_params_count(void)
{
    return N_DEFS;
}

const gbr_param_info *
gbr_rec_params_info(size_t i)
{
    return i < N_DEFS ? &defs[i].info : NULL;
}

const char *
gbr_rec_kind_name(int kind)
{
    if (kind < 0 || kind >= (int)(sizeof kind_names / sizeof *kind_names) - 1)
        return NULL;
    return kind_names[kind];
}

const char *
gbr_rec_loss_name(int loss)
{
    if (loss < 0 || loss >= (int)(sizeof loss_names / sizeof *loss_names) - 1)
        return "unknown";
    return loss_names[loss];
}

void
gbr_rec_params_resolve(gbr_rec_params *p)
{
    const int k = p->model;

    /* Models without an optimiser keep "auto": they have no such value. */
    if (isnan(p->learning_rate) && autos[k].learning_rate > 0)
        p->learning_rate = autos[k].learning_rate;
    if (isnan(p->l2) && autos[k].learning_rate > 0)
        p->l2 = autos[k].l2;
    if (p->epochs == 0)
        p->epochs = autos[k].epochs;
    if (p->batch_size == 0)
        p->batch_size = autos[k].batch_size;
}

size_t
gbr_rec_params_table(const gbr_pdef **defs_out)
{
    *defs_out = defs;
    return N_DEFS;
}
