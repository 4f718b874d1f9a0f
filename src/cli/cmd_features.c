#include "cli/cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* gbrank features: the candidates of first-stage recommenders and their
 * features, as libsvm rows for a re-ranker (gbr_rec_features), with the
 * (qid, user, item) of each row in OUT.pairs and the feature names in
 * OUT.names. */

/* The three outputs and where each row goes. */
struct feat_out {
    struct cli_out svm, pairs;
};

static int
emit_row(const gbr_rec_feature_row *row, void *ud)
{
    struct feat_out *o = ud;

    if (fwrite(row->line, 1, row->line_len, o->svm.fp) != row->line_len)
        return 1;
    return fprintf(o->pairs.fp, "%zu\t%s\t%s\n", row->qid, row->user,
                   row->item) < 0;
}

/* The model files of a --models list, loaded into models[0 .. *n), with
 * their names in paths (pointing into *buf, the caller's to free). */
static int
load_models(const char *list, gbr_rec ***models, char ***paths, size_t *n,
            char **buf)
{
    char *save = NULL;
    size_t room = 0;
    gbr_error err;

    *models = NULL;
    *paths = NULL;
    *n = 0;
    if (!(*buf = strdup(list)))
        return cli_error(CLI_FAIL, "out of memory");
    for (char *p = strtok_r(*buf, ",", &save); p;
         p = strtok_r(NULL, ",", &save)) {
        if (*n == room) {
            const size_t r = room ? 2 * room : 8;
            gbr_rec **m = realloc(*models, r * sizeof *m);
            char **s;

            if (!m)
                return cli_error(CLI_FAIL, "out of memory");
            *models = m;
            if (!(s = realloc(*paths, r * sizeof *s)))
                return cli_error(CLI_FAIL, "out of memory");
            *paths = s;
            room = r;
        }
        (*paths)[*n] = p;
        if (gbr_rec_load(p, &(*models)[*n], &err) != GBR_OK)
            return cli_error(CLI_FAIL, "%s", err.msg);
        (*n)++;
    }
    if (*n == 0)
        return cli_error(CLI_USAGE, "--models needs at least one file");
    return CLI_OK;
}

static int
write_names(const char *path, gbr_rec *const *models, size_t n_models)
{
    struct cli_out o;
    const size_t nf =
        gbr_rec_features_count((const gbr_rec *const *)models, n_models);
    char name[128];
    gbr_error err;

    if (cli_out_open(&o, path) != CLI_OK)
        return CLI_FAIL;
    for (size_t f = 0; f < nf; f++) {
        if (gbr_rec_features_name((const gbr_rec *const *)models, n_models,
                                  f, name, sizeof name, &err) != GBR_OK) {
            cli_out_abort(&o);
            return cli_error(CLI_FAIL, "%s", err.msg);
        }
        fprintf(o.fp, "%zu\t%s\n", f + 1, name);
    }
    return cli_out_commit(&o);
}

int
cmd_features(int argc, char **argv)
{
    const char *models_arg = NULL, *history_path = NULL, *labels_path = NULL;
    const char *out_path = NULL, *v;
    double min_rating = -INFINITY;
    long top = 50;
    int n_threads = 0, graded = 0, allow_leak = 0, status;
    gbr_interactions *history = NULL, *labels = NULL;
    gbr_rec **models = NULL;
    char **paths = NULL;
    size_t n_models = 0;
    char *names_path = NULL, *pairs_path = NULL, *models_buf = NULL;
    struct feat_out out;
    gbr_error err;

    memset(&out, 0, sizeof out);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cli_usage(stdout, "features");
            return CLI_OK;
        } else if (cli_opt(a, "models", &v)) {
            models_arg = v;
        } else if (cli_opt(a, "history", &v)) {
            history_path = v;
        } else if (cli_opt(a, "labels", &v)) {
            labels_path = v;
        } else if (cli_opt(a, "graded", NULL)) {
            graded = 1;
        } else if (cli_opt(a, "allow-leak", NULL)) {
            allow_leak = 1;
        } else if (cli_opt(a, "candidates", &v)) {
            char *end;

            errno = 0;
            top = strtol(v, &end, 10);
            if (end == v || *end || errno || top < 1 || top > 1000000)
                return cli_error(CLI_USAGE, "candidates must be in [1, "
                                 "1000000], got \"%.40s\"", v);
        } else if (cli_opt(a, "min-rating", &v)) {
            if ((status = cli_min_rating(v, &min_rating)) != CLI_OK)
                return status;
        } else if (cli_opt(a, "threads", &v)) {
            if ((status = cli_threads(v, &n_threads)) != CLI_OK)
                return status;
        } else if (strcmp(a, "-o") == 0) {
            if (++i >= argc)
                return cli_error(CLI_USAGE, "-o needs a file name");
            out_path = argv[i];
        } else {
            return cli_error(CLI_USAGE, "unknown argument \"%.40s\"", a);
        }
    }
    if (!models_arg || !history_path || !out_path) {
        cli_error(CLI_USAGE, "%s", !models_arg ? "--models=list is required"
                                   : !history_path
                                       ? "--history=file is required"
                                       : "-o out is required");
        cli_usage(stderr, "features");
        return CLI_USAGE;
    }
    if (strcmp(out_path, "-") == 0)
        return cli_error(CLI_USAGE, "-o needs a file name, not -");
    status = CLI_FAIL;
    if ((status = load_models(models_arg, &models, &paths, &n_models,
                              &models_buf)) !=
        CLI_OK)
        goto done;
    status = CLI_FAIL;
    if (cli_read_log(history_path, min_rating, &history) != CLI_OK ||
        (labels_path &&
         cli_read_log(labels_path, min_rating, &labels) != CLI_OK)) {
        goto done;
    }
    if (labels) {
        int leaked = 0;

        for (size_t k = 0; k < n_models; k++) {
            const size_t n = gbr_rec_count_trained(models[k], labels);

            if (n == 0)
                continue;
            cli_error(allow_leak ? CLI_OK : CLI_FAIL,
                      "%s%s: %zu pairs of %s are among the model's training "
                      "interactions", allow_leak ? "warning: " : "",
                      paths[k], n, labels_path);
            leaked = 1;
        }
        if (leaked && !allow_leak) {
            cli_error(CLI_FAIL, "refusing leaked labels (fit the models "
                      "on an earlier window, or --allow-leak)");
            goto done;
        }
    }
    {
        const size_t len = strlen(out_path) + 8;

        names_path = malloc(len);
        pairs_path = malloc(len);
        if (!names_path || !pairs_path) {
            cli_error(CLI_FAIL, "out of memory");
            goto done;
        }
        snprintf(names_path, len, "%s.names", out_path);
        snprintf(pairs_path, len, "%s.pairs", out_path);
    }
    if (cli_out_open(&out.svm, out_path) != CLI_OK ||
        cli_out_open(&out.pairs, pairs_path) != CLI_OK)
        goto done;
    if (gbr_rec_features((const gbr_rec *const *)models, n_models, history,
                         labels, graded, (size_t)top, n_threads, emit_row,
                         &out, &err) != GBR_OK) {
        cli_error(CLI_FAIL, "%s", err.code == GBR_EIO ? out_path : err.msg);
        goto done;
    }
    if (write_names(names_path, models, n_models) != CLI_OK ||
        cli_out_commit(&out.pairs) != CLI_OK ||
        cli_out_commit(&out.svm) != CLI_OK)
        goto done;
    status = CLI_OK;
done:
    if (out.svm.fp)
        cli_out_abort(&out.svm);
    if (out.pairs.fp)
        cli_out_abort(&out.pairs);
    free(names_path);
    free(pairs_path);
    for (size_t k = 0; k < n_models; k++)
        gbr_rec_free(models[k]);
    free(models);
    free(paths);
    free(models_buf);
    gbr_interactions_free(history);
    gbr_interactions_free(labels);
    return status;
}
