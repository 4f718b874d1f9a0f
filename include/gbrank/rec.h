#ifndef GBRANK_REC_H
#define GBRANK_REC_H

#include <stddef.h>
#include <stdint.h>

#include "gbrank/error.h"
#include "gbrank/params.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An interaction log: who interacted with what, and when, as read from a
 * text file of lines
 *
 *     user item [rating [timestamp]]
 *
 * such as MovieLens's u.data (tabs), ratings.dat ("::") or ratings.csv
 * (commas, with a header line). The handle is opaque and read-only once
 * made; its accessors may be called from any number of threads at once.
 *
 * Parsing rules:
 *   - Fields are separated by a tab, a comma, a run of spaces or the two
 *     characters "::". The first data line decides which: a tab if it has
 *     one, else "::" if it has it, else a comma if it has one, else
 *     spaces. Every later line must have the same separator (judged the
 *     same way), so a space or a comma may be part of an id only in files
 *     separated by tabs or "::". Spaces around a field are dropped.
 *   - A line has 2, 3 or 4 fields, user item [rating [timestamp]], and
 *     every data line as many as the first one.
 *   - Empty lines, lines of spaces and lines whose first character is '#'
 *     are skipped. So is line 1 when its third field is not a number or its
 *     fourth is not an integer: it is a header. A header is recognised on
 *     line 1 only, and a file of two fields cannot have one.
 *   - Lines end with LF or CRLF; a last line need not end at all.
 *   - A rating is a finite number that strtod reads from the whole field
 *     ("4", "3.5", "1e1"); it is 1 when the file has no rating field.
 *     A timestamp is a decimal integer (int64_t); it is 0 when absent.
 *   - Users and items are arbitrary tokens: any bytes but NUL, newline and
 *     the separator, compared byte for byte ("7" and "07" are two users).
 *
 * Which interactions are kept: those whose rating is >= min_rating (with
 * no rating field, a rating of 1 is compared). A user or item appears only
 * when it has one kept interaction. The same (user, item) pair kept twice
 * counts once, with the earliest timestamp and the rating of the line that
 * had it (the first such line when several tie).
 *
 * Dense indices: users are numbered 0 .. n_users - 1 in the sorted order
 * of their id tokens, items likewise, each kind on its own: in numeric
 * order when every token of that kind is a decimal integer (an optional
 * '-' and digits, of any length; equal numbers such as "7" and "07" then
 * go in byte order), else in byte-wise (memcmp, shorter first on a
 * common prefix) order. The numbering depends only on the set of kept
 * ids, never on the order of the lines.
 *
 * Events are stored per user as CSR: the events of user u are
 * positions [user_ptr[u], user_ptr[u + 1]) of the items, times and
 * ratings arrays, sorted by timestamp and then by item index. */
typedef struct gbr_interactions gbr_interactions;

/* Read the interaction log at path, keeping the ratings >= min_rating;
 * min_rating = -INFINITY keeps every line, and so does a NaN. The file is
 * read once, front to back, and memory grows with the lines read, whatever
 * the file says of itself. On success *out is a new handle for
 * gbr_interactions_free; on failure *out is NULL and the code is returned
 * with a message in *err (err may be NULL):
 *   GBR_EIO     the file cannot be opened or read ("path: <reason>");
 *   GBR_EPARSE  a malformed line ("path:17: expected 4 fields, got 3",
 *               'path:3: rating is not a number: "x"'; lines count from
 *               1), or no interaction kept ("path:1: no interactions: the
 *               file is empty", "path: no interactions kept of its 7
 *               lines");
 *   GBR_ENOMEM  out of memory.
 * Thread-safe: calls on different handles do not interfere. */
GBR_API int gbr_interactions_read(const char *path, double min_rating,
                                  gbr_interactions **out, gbr_error *err);

/* Free ix and everything it owns. NULL is allowed. */
GBR_API void gbr_interactions_free(gbr_interactions *ix);

/* The numbers of distinct users and items with a kept interaction, and of
 * kept interactions after duplicates are merged. */
GBR_API size_t gbr_interactions_n_users(const gbr_interactions *ix);
GBR_API size_t gbr_interactions_n_items(const gbr_interactions *ix);
GBR_API size_t gbr_interactions_n_events(const gbr_interactions *ix);

/* The id token of user u or item i as it was in the file, NUL-terminated
 * and owned by ix; NULL when the index is out of range. */
GBR_API const char *gbr_interactions_user_id(const gbr_interactions *ix,
                                             size_t u);
GBR_API const char *gbr_interactions_item_id(const gbr_interactions *ix,
                                             size_t i);

/* The dense index of the user or item whose token is id, or SIZE_MAX when
 * there is none. O(log n) comparisons. */
GBR_API size_t gbr_interactions_user_index(const gbr_interactions *ix,
                                           const char *id);
GBR_API size_t gbr_interactions_item_index(const gbr_interactions *ix,
                                           const char *id);

/* The CSR arrays, owned by ix: user_ptr has n_users + 1 entries, the
 * others n_events. times are 0 when the file has no timestamp field and
 * ratings 1 when it has no rating field. */
GBR_API const size_t *gbr_interactions_user_ptr(const gbr_interactions *ix);
GBR_API const uint32_t *gbr_interactions_items(const gbr_interactions *ix);
GBR_API const int64_t *gbr_interactions_times(const gbr_interactions *ix);
GBR_API const float *gbr_interactions_ratings(const gbr_interactions *ix);

/* The separator of the file's fields ("\t", "::", "," or " ") and their
 * number on each line (2, 3 or 4), so that parts of a log can be written
 * back in the form it came in. */
GBR_API const char *gbr_interactions_separator(const gbr_interactions *ix);
GBR_API size_t gbr_interactions_n_fields(const gbr_interactions *ix);

/* A new log of the events e of ix with lo <= window[e] <= hi (window has
 * n_events entries, as gbr_rec_split fills it), in the same order, with
 * only the users and items that keep an event (renumbered in the same
 * order). GBR_EPARSE when no event is selected, GBR_ENOMEM. */
GBR_API int gbr_interactions_select(const gbr_interactions *ix,
                                    const int *window, int lo, int hi,
                                    gbr_interactions **out, gbr_error *err);

/* ---- Recommenders ----------------------------------------------------- */

enum gbr_rec_kind {
    GBR_REC_POP = 0,            /* popularity: training positives per item */
    GBR_REC_ITEM_KNN,           /* item-based cosine neighbours */
    GBR_REC_EASE,               /* Steck 2019, closed form */
    GBR_REC_BPR_MF,             /* matrix factorisation, GRU4Rec losses */
    GBR_REC_MULTI_VAE,          /* Liang et al. 2018 */
    GBR_REC_MULTI_DAE
};

enum gbr_rec_loss {
    GBR_REC_LOSS_BPR = 0,
    GBR_REC_LOSS_TOP1,
    GBR_REC_LOSS_BPR_MAX,
    GBR_REC_LOSS_TOP1_MAX
};

#define GBR_REC_METRIC_SIZE 128

/* Receives one line of training progress (no newline). */
typedef void (*gbr_rec_log_fn)(const char *msg, void *ud);

/* Receives each epoch's figures as they are computed: the mean training
 * loss, the seconds the epoch's training took, and the validation metrics
 * (names[m] = values[m], n_metrics 0 without a validation set). */
typedef void (*gbr_rec_epoch_fn)(size_t epoch, double loss, double seconds,
                                 size_t n_metrics, const char *const *names,
                                 const double *values, void *ud);

/* The recommenders' parameters: one table (gbr_rec_params_info) that the
 * CLI's options, its --help and the manual follow. Fields that say "auto"
 * take the chosen model's own default when left NaN or 0; the manual
 * lists them. */
typedef struct gbr_rec_params {
    int model;                  /* enum gbr_rec_kind */
    int neighbours;             /* item-knn: 0 for all */
    double ease_lambda;         /* ease: L2 on the item-item weights */
    int dim;                    /* bpr-mf: factors */
    int loss;                   /* bpr-mf: enum gbr_rec_loss */
    int extra_negatives;        /* bpr-mf: shared uniform negatives */
    double bpr_max_reg;         /* bpr-mf, bpr-max: score regulariser */
    double init_std;            /* bpr-mf: std of the initial factors */
    int hidden;                 /* multi-vae/dae: hidden units */
    int latent;                 /* multi-vae/dae: latent units */
    double dropout;             /* multi-vae/dae: input dropout */
    double anneal_cap;          /* multi-vae: largest KL weight */
    int anneal_steps;           /* multi-vae: updates to reach it; 0 auto */
    double learning_rate;       /* NaN: auto */
    double l2;                  /* NaN: auto */
    int epochs;                 /* 0: auto */
    int batch_size;             /* 0: auto */
    int early_stop;             /* epochs without improvement; 0: off */
    char metric[GBR_REC_METRIC_SIZE]; /* validation metrics, first decides */
    uint64_t seed;
    int n_threads;              /* 0: all cores */
    gbr_rec_log_fn log_fn;      /* NULL: silent */
    void *log_ud;
    gbr_rec_epoch_fn epoch_fn;  /* NULL: none */
    void *epoch_ud;
} gbr_rec_params;

GBR_API void gbr_rec_params_init(gbr_rec_params *p);
GBR_API int gbr_rec_params_set(gbr_rec_params *p, const char *name,
                               const char *value, gbr_error *err);
GBR_API int gbr_rec_params_get(const gbr_rec_params *p, const char *name,
                               char *buf, size_t size, gbr_error *err);
GBR_API int gbr_rec_params_check(const gbr_rec_params *p, gbr_error *err);
GBR_API size_t gbr_rec_params_count(void);
GBR_API const gbr_param_info *gbr_rec_params_info(size_t i);
/* The name of a model kind ("multi-vae"), or NULL. */
GBR_API const char *gbr_rec_kind_name(int kind);

/* A trained recommender with its user and item ids and the training
 * interactions it was fitted on. Read-only once made: scoring may run
 * from any number of threads at once. */
typedef struct gbr_rec gbr_rec;

/* Fit the model p->model on the interactions of train (every kept
 * interaction is a positive). valid, when not NULL, is a held-out log
 * whose users' later items are scored after each epoch with train as
 * their history (the protocol of gbr_rec_evaluate) for p->metric, and
 * with p->early_stop the best epoch is kept. GBR_OK, GBR_EPARAM,
 * GBR_ENOMEM. */
GBR_API int gbr_rec_fit(const gbr_interactions *train,
                        const gbr_rec_params *p,
                        const gbr_interactions *valid, gbr_rec **out,
                        gbr_error *err);

/* Write a model file atomically (a temporary name renamed over path once
 * complete). Load one; a file that is truncated, altered (a checksum
 * covers it) or of another version is refused with GBR_EFORMAT. */
GBR_API int gbr_rec_save(const gbr_rec *m, const char *path, gbr_error *err);
GBR_API int gbr_rec_load(const char *path, gbr_rec **out, gbr_error *err);
GBR_API void gbr_rec_free(gbr_rec *m);

GBR_API int gbr_rec_kind(const gbr_rec *m);
GBR_API const gbr_rec_params *gbr_rec_get_params(const gbr_rec *m);
GBR_API size_t gbr_rec_n_users(const gbr_rec *m);
GBR_API size_t gbr_rec_n_items(const gbr_rec *m);
GBR_API const char *gbr_rec_user_id(const gbr_rec *m, size_t u);
GBR_API const char *gbr_rec_item_id(const gbr_rec *m, size_t i);
GBR_API size_t gbr_rec_user_index(const gbr_rec *m, const char *id);
GBR_API size_t gbr_rec_item_index(const gbr_rec *m, const char *id);

/* Score every item for n users at once: user[r] is the model's index of
 * the user of row r (SIZE_MAX for a user the model has not seen) and
 * items hist[hist_ptr[r]] .. hist[hist_ptr[r + 1] - 1] (model item
 * indices) its history; scores[r * n_items + i] receives item i's score.
 * History items are not masked here. n_threads 0: all cores. */
GBR_API int gbr_rec_score(const gbr_rec *m, size_t n, const size_t *user,
                          const size_t *hist_ptr, const uint32_t *hist,
                          float *scores, int n_threads, gbr_error *err);

/* Receives one recommendation: the user's and item's id tokens, the
 * score and the 1-based rank. A non-zero return stops the walk with
 * GBR_EIO. */
typedef int (*gbr_rec_emit_fn)(const char *user, const char *item,
                               float score, size_t rank, void *ud);

/* The top items of each user, best first (ties: lower item index
 * first), the user's history excluded. history NULL: the model's training
 * interactions, for its users. users (n_users ids) NULL: every user of
 * the history. A user unknown to both is skipped. */
GBR_API int gbr_rec_recommend(const gbr_rec *m, const gbr_interactions *history,
                              const char *const *users, size_t n_users,
                              size_t top, int n_threads, gbr_rec_emit_fn emit,
                              void *ud, gbr_error *err);

/* Evaluate on test: for each user of test with a history (history NULL:
 * the model's training interactions), every item of the model is scored,
 * the history's items are excluded, and the test items are the relevant
 * ones (all of them count in |test|, also those the model cannot
 * score). metrics is a comma list of ndcg@k (binary gains, ideal DCG over
 * min(|test|, k)), recall@k (hits over min(k, |test|)), recall-n@k (hits
 * over |test|), precision@k, map@k, mrr@k and hr@k (1 when any hit);
 * values[m] is the mean over the users evaluated, *n_users their count.
 * GBR_EPARAM for an unknown metric. */
GBR_API int gbr_rec_evaluate(const gbr_rec *m, const gbr_interactions *test,
                             const gbr_interactions *history,
                             const char *metrics, double *values,
                             size_t max_values, size_t *n_values,
                             size_t *n_users, int n_threads, gbr_error *err);

/* Split a log into windows: each user with at least min_positives
 * interactions (users with fewer are dropped) has their interactions cut
 * in n_fractions consecutive parts, in time order (scheme temporal) or in
 * a random order from seed (scheme random); the sizes of the later parts
 * are round(f_k n) (at least 1 each while it leaves one for the first),
 * the first takes the rest. window[e] receives the part (0 ..
 * n_fractions - 1) of event e of ix (the CSR order), or -1 for a dropped
 * user. */
enum gbr_rec_split_scheme { GBR_SPLIT_TEMPORAL = 0, GBR_SPLIT_RANDOM };
GBR_API int gbr_rec_split(const gbr_interactions *ix, int scheme,
                          const double *fractions, size_t n_fractions,
                          size_t min_positives, uint64_t seed, int *window,
                          gbr_error *err);

/* ---- Features for a re-ranker ----------------------------------------- */

/* The number of features gbr_rec_features writes for these models, and
 * the name of feature f (0-based; the libsvm index is f + 1) into buf, as
 * "m2.item-knn.log_rank" or "pop_30d". GBR_EPARAM when f is out of
 * range or buf too small. */
GBR_API size_t gbr_rec_features_count(const gbr_rec *const *models,
                                      size_t n_models);
GBR_API int gbr_rec_features_name(const gbr_rec *const *models,
                                  size_t n_models, size_t f, char *buf,
                                  size_t size, gbr_error *err);

/* One row of features, as gbr_rec_features hands it over: qid (the
 * user's 1-based index in the history), the user's and the item's id
 * tokens, the label, values[f] for f < n_features (NaN where the feature
 * has no value), and the row as a libsvm line, "label qid:q f:v ...\n"
 * (f 1-based, values with 9 significant digits, those without a value
 * left out), line_len bytes, not NUL-terminated. Everything is the
 * library's and lives for the call only. */
typedef struct gbr_rec_feature_row {
    size_t qid;
    const char *user, *item;
    double label;
    size_t n_features;
    const double *values;
    const char *line;
    size_t line_len;
} gbr_rec_feature_row;

/* Receives one row; a non-zero return stops the walk with GBR_EIO. */
typedef int (*gbr_rec_features_fn)(const gbr_rec_feature_row *row,
                                   void *ud);

/* The candidates and features of a re-ranker (the manual's FEATURES):
 * for each user of history, in its order, each model scores every item it
 * knows with the user's history items excluded, and the union of each
 * model's top `candidates` items (ties: lower model item index) are the
 * user's candidates, ordered by their best rank over the models, then by
 * item (the history's items in its order, then the others in the order
 * of the models). Every statistic comes from history. The label is 0
 * without labels, else 1 when (user, item) is in labels (its rating
 * when graded). The rows and their values do not depend on n_threads;
 * the lines are formatted in parallel, so fn need only write them.
 * GBR_EPARAM (no models, candidates 0), GBR_ENOMEM, GBR_EIO from fn. */
GBR_API int gbr_rec_features(const gbr_rec *const *models, size_t n_models,
                             const gbr_interactions *history,
                             const gbr_interactions *labels, int graded,
                             size_t candidates, int n_threads,
                             gbr_rec_features_fn fn, void *ud,
                             gbr_error *err);

/* How many (user, item) pairs of log are among the training interactions
 * of m (the leak of a stacked model whose labels it was fitted on). */
GBR_API size_t gbr_rec_count_trained(const gbr_rec *m,
                                     const gbr_interactions *log);

/* ---- Re-ranked candidates: evaluation and a linear blend -------------- */

/* Scored candidates, (user, item) pairs as a features file lists them
 * (OUT.pairs), set against a test window: the pairs of each user of test
 * are that user's candidates, in the order given. Pairs of users not in
 * test are left out; a user of test without a pair is not evaluated (it
 * had no history to draw candidates from). The test's items of a user are
 * the relevant ones, whether they are candidates or not. GBR_EPARAM when
 * a user has the same item twice, GBR_ENOMEM. */
typedef struct gbr_rec_pairs gbr_rec_pairs;

GBR_API int gbr_rec_pairs_new(const gbr_interactions *test, size_t n,
                              const char *const *user,
                              const char *const *item, gbr_rec_pairs **out,
                              gbr_error *err);
GBR_API void gbr_rec_pairs_free(gbr_rec_pairs *p);
/* The users that are evaluated: those of test with a pair, n_users of
 * them, in the order of test's indices; gbr_rec_pairs_user gives the test's
 * index of the g-th (SIZE_MAX past the end). */
GBR_API size_t gbr_rec_pairs_n_users(const gbr_rec_pairs *p);
GBR_API size_t gbr_rec_pairs_user(const gbr_rec_pairs *p, size_t g);

/* The metrics of gbr_rec_evaluate (the same list and definitions) for the
 * ranking that puts each user's candidates first, by score[] (one a pair,
 * in the order given to gbr_rec_pairs_new; highest first, NaN last, ties
 * in the given order), and every other item of the catalogue after them:
 * a test item that is not a candidate is a miss at every cut-off. The
 * mean over the evaluated users into values; per_user, when not NULL,
 * receives each user's (n_users x *n_values, row-major, for paired
 * comparisons). The same values for any n_threads. */
GBR_API int gbr_rec_pairs_evaluate(const gbr_rec_pairs *p,
                                   const double *score, const char *metrics,
                                   double *values, size_t max_values,
                                   size_t *n_values, double *per_user,
                                   int n_threads, gbr_error *err);

/* The weights w[0 .. n_cols) of a linear blend score = sum_c w[c] x[r *
 * n_cols + c] (a NaN value counts 0) that maximise the first metric of
 * the list under gbr_rec_pairs_evaluate: from the best column alone (the
 * first of equals) a coordinate search, each weight in turn set to the
 * value of the grid {0, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2} that improves
 * the metric most (the first such on ties), in at most 3 passes over the
 * columns. *best receives the metric reached (best may be NULL). */
/* The blend's score of each of n rows: score[r] = sum_c w[c] x[r * n_cols
 * + c], a NaN value counting 0 (the sum gbr_rec_blend_tune measures). */
GBR_API void gbr_rec_blend_score(const double *x, size_t n, size_t n_cols,
                                 const double *w, double *score);

GBR_API int gbr_rec_blend_tune(const gbr_rec_pairs *p, const double *x,
                               size_t n_cols, const char *metric,
                               int n_threads, double *w, double *best,
                               gbr_error *err);

#ifdef __cplusplus
}
#endif

#endif
