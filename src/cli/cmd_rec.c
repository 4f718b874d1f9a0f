#include "cli/cli.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* gbrank rec fit | recommend | eval | split: the recommenders. */


static void
rec_log_stderr(const char *msg, void *ud)
{
    (void)ud;
    fprintf(stderr, "%s\n", msg);
}

/* ---- rec fit --------------------------------------------------------- */

static void
fit_help(FILE *fp)
{
    cli_usage(fp, "rec fit");
    fputs("\noptions:\n"
          "  --min-rating=R     keep the interactions rated R or more "
          "(default: all)\n"
          "  --valid=file       held-out later interactions of the "
          "training users,\n"
          "                     scored each epoch (--metric, "
          "--early-stop)\n"
          "  --log=file         each epoch's loss and validation metrics "
          "as a table of\n"
          "                     the columns round, seconds, set, metric, "
          "value\n"
          "  -o file, --output=file\n"
          "                     where to save the model (default "
          "gbrank.rec)\n"
          "  -h, --help         this text\n"
          "\nparameters (each as --NAME=value):\n",
          fp);
    cli_print_params(fp, gbr_rec_params_count(), gbr_rec_params_info);
}

struct epoch_log {
    struct cli_out out;
    double start, elapsed;
    const char *valid_name;
};

/* One row per epoch for the loss on the training set and one per
 * validation metric; seconds count training time only, from the first
 * epoch on, so that curves of two runs compare. */
static void
log_epoch(size_t epoch, double loss, double seconds, size_t n_metrics,
          const char *const *names, const double *values, void *ud)
{
    struct epoch_log *el = ud;

    el->elapsed += seconds;
    if (!el->out.fp)
        return;
    fprintf(el->out.fp, "%zu\t%.6f\ttrain\tloss\t%.17g\n", epoch,
            el->elapsed, loss);
    for (size_t m = 0; m < n_metrics; m++)
        fprintf(el->out.fp, "%zu\t%.6f\t%s\t%s\t%.17g\n", epoch, el->elapsed,
                el->valid_name, names[m], values[m]);
    fflush(el->out.fp);
}

static int
rec_fit(int argc, char **argv)
{
    gbr_rec_params p;
    gbr_error err;
    const char *out_path = "gbrank.rec", *train_path = NULL;
    const char *log_path = NULL, *valid_path = NULL;
    double min_rating = -INFINITY;
    int have_model = 0, status = CLI_FAIL;
    gbr_interactions *train = NULL, *valid = NULL;
    gbr_rec *m = NULL;
    struct epoch_log el;

    memset(&el, 0, sizeof el);
    gbr_rec_params_init(&p);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        char name[64];

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fit_help(stdout);
            return CLI_OK;
        }
        if (strcmp(a, "-o") == 0) {
            if (++i >= argc)
                return cli_error(CLI_USAGE, "-o needs a file name");
            out_path = argv[i];
        } else if (cli_opt(a, "output", &v)) {
            out_path = v;
        } else if (cli_opt(a, "log", &v)) {
            log_path = v;
        } else if (cli_opt(a, "valid", &v)) {
            valid_path = v;
        } else if (cli_opt(a, "min-rating", &v)) {
            if ((status = cli_min_rating(v, &min_rating)) != CLI_OK)
                return status;
        } else if (strncmp(a, "--", 2) == 0) {
            if ((status = cli_name_value(a, name, sizeof name, &v)) != CLI_OK)
                return status;
            if (gbr_rec_params_set(&p, name, v, &err) != GBR_OK) {
                cli_error(CLI_USAGE, "%s", err.msg);
                fputs("see 'gbrank rec fit --help'\n", stderr);
                return CLI_USAGE;
            }
            if (strcmp(name, "model") == 0)
                have_model = 1;
        } else if (a[0] == '-' && a[1] != '\0') {
            return cli_error(CLI_USAGE, "unknown option \"%.40s\"", a);
        } else if (!train_path) {
            train_path = a;
        } else {
            return cli_error(CLI_USAGE, "more than one training file: "
                             "\"%.40s\"", a);
        }
    }
    status = CLI_FAIL;
    if (!have_model || !train_path) {
        cli_error(CLI_USAGE, "%s", !have_model ? "--model=name is required"
                                               : "a training log is "
                                                 "required");
        cli_usage(stderr, "rec fit");
        return CLI_USAGE;
    }
    if (gbr_rec_params_check(&p, &err) != GBR_OK)
        return cli_error(CLI_USAGE, "%s", err.msg);
    if (p.early_stop > 0 && !valid_path)
        return cli_error(CLI_USAGE, "early-stop needs a --valid file");
    if (log_path && strcmp(log_path, out_path) == 0)
        return cli_error(CLI_USAGE, "--log and the model are the same file "
                         "\"%.40s\"", log_path);
    if (cli_check_writable(out_path) != CLI_OK ||
        (log_path && cli_check_writable(log_path) != CLI_OK))
        return CLI_FAIL;
    if (cli_read_log(train_path, min_rating, &train) != CLI_OK ||
        (valid_path && cli_read_log(valid_path, min_rating, &valid) != CLI_OK))
        goto done;
    if (valid_path) {
        const char *slash = strrchr(valid_path, '/');

        el.valid_name = slash ? slash + 1 : valid_path;
    }
    if (log_path) {
        if (cli_out_open(&el.out, log_path) != CLI_OK)
            goto done;
        fputs("round\tseconds\tset\tmetric\tvalue\n", el.out.fp);
        fflush(el.out.fp);
    }
    p.log_fn = rec_log_stderr;
    p.epoch_fn = log_epoch;
    p.epoch_ud = &el;
    if (gbr_rec_fit(train, &p, valid, &m, &err) != GBR_OK ||
        gbr_rec_save(m, out_path, &err) != GBR_OK)
        cli_error(CLI_FAIL, "%s", err.msg);
    else
        status = CLI_OK;
    if (el.out.fp && cli_out_commit(&el.out) != CLI_OK)
        status = CLI_FAIL;
done:
    if (el.out.fp)
        cli_out_abort(&el.out);
    gbr_rec_free(m);
    gbr_interactions_free(train);
    gbr_interactions_free(valid);
    return status;
}

/* ---- rec recommend ---------------------------------------------------- */

/* The ids of a users file: the first field of each non-empty line (up to
 * a tab, a comma or a space). */
static int
read_users(const char *path, char ***ids, size_t *n)
{
    FILE *fp = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0, room = 0, ln = 0;
    ssize_t len;

    *ids = NULL;
    *n = 0;
    if (!fp)
        return cli_error(CLI_FAIL, "%s: %s", path, strerror(errno));
    while ((len = getline(&line, &cap, fp)) >= 0) {
        size_t k;

        ln++;
        k = strcspn(line, "\t, \r\n");
        if (k == 0)
            continue;
        line[k] = '\0';
        if (*n == room) {
            size_t r = room ? 2 * room : 256;
            char **p = realloc(*ids, r * sizeof *p);

            if (!p)
                goto nomem;
            *ids = p;
            room = r;
        }
        if (!((*ids)[*n] = strdup(line)))
            goto nomem;
        (*n)++;
    }
    free(line);
    if (ferror(fp)) {
        fclose(fp);
        return cli_error(CLI_FAIL, "%s: %s", path, strerror(errno));
    }
    fclose(fp);
    if (*n == 0)
        return cli_error(CLI_FAIL, "%s: no user ids", path);
    return CLI_OK;
nomem:
    free(line);
    fclose(fp);
    return cli_error(CLI_FAIL, "%s:%zu: out of memory", path, ln);
}

static int
emit_line(const char *user, const char *item, float score, size_t rank,
          void *ud)
{
    FILE *fp = ud;

    return fprintf(fp, "%s\t%s\t%.9g\t%zu\n", user, item, (double)score,
                   rank) < 0;
}

static int
rec_recommend(int argc, char **argv)
{
    const char *model_path = NULL, *history_path = NULL, *users_path = NULL;
    const char *out_path = NULL, *v;
    double min_rating = -INFINITY;
    long top = -1;
    int n_threads = 0, status;
    gbr_interactions *history = NULL;
    gbr_rec *m = NULL;
    char **ids = NULL;
    size_t n_ids = 0;
    struct cli_out out;
    gbr_error err;

    memset(&out, 0, sizeof out);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cli_usage(stdout, "rec recommend");
            return CLI_OK;
        } else if (cli_opt(a, "model", &v)) {
            model_path = v;
        } else if (cli_opt(a, "top", &v)) {
            char *end;

            errno = 0;
            top = strtol(v, &end, 10);
            if (end == v || *end || errno || top < 1 || top > 1000000)
                return cli_error(CLI_USAGE, "top must be in [1, 1000000], "
                                 "got \"%.40s\"", v);
        } else if (cli_opt(a, "history", &v)) {
            history_path = v;
        } else if (cli_opt(a, "users", &v)) {
            users_path = v;
        } else if (cli_opt(a, "min-rating", &v)) {
            if ((status = cli_min_rating(v, &min_rating)) != CLI_OK)
                return status;
        } else if (cli_opt(a, "threads", &v)) {
            if ((status = cli_threads(v, &n_threads)) != CLI_OK)
                return status;
        } else if (cli_opt(a, "output", &v)) {
            out_path = v;
        } else if (strcmp(a, "-o") == 0) {
            if (++i >= argc)
                return cli_error(CLI_USAGE, "-o needs a file name");
            out_path = argv[i];
        } else {
            return cli_error(CLI_USAGE, "unknown argument \"%.40s\"", a);
        }
    }
    if (!model_path || top < 0) {
        cli_error(CLI_USAGE, "%s", !model_path ? "--model=file is required"
                                               : "--top=n is required");
        cli_usage(stderr, "rec recommend");
        return CLI_USAGE;
    }
    status = CLI_FAIL;
    if (gbr_rec_load(model_path, &m, &err) != GBR_OK) {
        cli_error(CLI_FAIL, "%s", err.msg);
        goto done;
    }
    if ((history_path && cli_read_log(history_path, min_rating, &history) !=
                             CLI_OK) ||
        (users_path && read_users(users_path, &ids, &n_ids) != CLI_OK) ||
        cli_out_open(&out, out_path) != CLI_OK)
        goto done;
    if (gbr_rec_recommend(m, history, (const char *const *)ids, n_ids,
                          (size_t)top, n_threads, emit_line, out.fp,
                          &err) != GBR_OK) {
        cli_error(CLI_FAIL, "%s", err.code == GBR_EIO && out.path
                                      ? out.path : err.msg);
        goto done;
    }
    status = cli_out_commit(&out);
done:
    if (out.fp)
        cli_out_abort(&out);
    for (size_t i = 0; i < n_ids; i++)
        free(ids[i]);
    free(ids);
    gbr_interactions_free(history);
    gbr_rec_free(m);
    return status;
}

/* ---- rec eval --------------------------------------------------------- */

static int
rec_eval(int argc, char **argv)
{
    const char *model_path = NULL, *history_path = NULL, *test_path = NULL;
    const char *ranker = NULL, *features = NULL, *per_user = NULL;
    const char *metrics = "ndcg@10,recall@20", *v;
    double min_rating = -INFINITY, values[GBR_REC_EVAL_MAX];
    int n_threads = 0, status;
    gbr_interactions *history = NULL, *test = NULL;
    gbr_rec *m = NULL;
    size_t n_values = 0, n_users = 0;
    gbr_error err;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cli_usage(stdout, "rec eval");
            return CLI_OK;
        } else if (cli_opt(a, "model", &v)) {
            model_path = v;
        } else if (cli_opt(a, "ranker", &v)) {
            ranker = v;
        } else if (cli_opt(a, "features", &v)) {
            features = v;
        } else if (cli_opt(a, "per-user", &v)) {
            per_user = v;
        } else if (cli_opt(a, "metric", &v)) {
            metrics = v;
        } else if (cli_opt(a, "history", &v)) {
            history_path = v;
        } else if (cli_opt(a, "min-rating", &v)) {
            if ((status = cli_min_rating(v, &min_rating)) != CLI_OK)
                return status;
        } else if (cli_opt(a, "threads", &v)) {
            if ((status = cli_threads(v, &n_threads)) != CLI_OK)
                return status;
        } else if (a[0] == '-' && a[1] != '\0') {
            return cli_error(CLI_USAGE, "unknown option \"%.40s\"", a);
        } else if (!test_path) {
            test_path = a;
        } else {
            return cli_error(CLI_USAGE, "more than one test log");
        }
    }
    if (ranker || features) {
        const char *bad = !ranker       ? "--features needs --ranker=model"
                          : !features   ? "--ranker needs --features=out"
                          : model_path  ? "--ranker and --model exclude each "
                                          "other"
                          : history_path ? "--ranker takes no --history (the "
                                           "features file excluded it)"
                          : !test_path  ? "a test log is required"
                                        : NULL;

        if (bad) {
            cli_error(CLI_USAGE, "%s", bad);
            cli_usage(stderr, "rec eval");
            return CLI_USAGE;
        }
        if (cli_read_log(test_path, min_rating, &test) != CLI_OK)
            return CLI_FAIL;
        status = cli_rec_eval_ranker(ranker, features, test, metrics,
                                     per_user, n_threads);
        gbr_interactions_free(test);
        return status;
    }
    if (per_user)
        return cli_error(CLI_USAGE, "--per-user needs --ranker");
    if (!model_path || !test_path) {
        cli_error(CLI_USAGE, "%s", !model_path ? "--model=file is required"
                                               : "a test log is required");
        cli_usage(stderr, "rec eval");
        return CLI_USAGE;
    }
    status = CLI_FAIL;
    if (gbr_rec_load(model_path, &m, &err) != GBR_OK) {
        cli_error(CLI_FAIL, "%s", err.msg);
        goto done;
    }
    if (cli_read_log(test_path, min_rating, &test) != CLI_OK ||
        (history_path &&
         cli_read_log(history_path, min_rating, &history) != CLI_OK))
        goto done;
    if (gbr_rec_evaluate(m, test, history, metrics, values, GBR_REC_EVAL_MAX,
                         &n_values, &n_users, n_threads, &err) != GBR_OK) {
        cli_error(err.code == GBR_EPARAM ? CLI_USAGE : CLI_FAIL, "%s",
                  err.msg);
        status = err.code == GBR_EPARAM ? CLI_USAGE : CLI_FAIL;
        goto done;
    }
    if (n_users == 0) {
        cli_error(CLI_FAIL, "%s: no test user has a history to score",
                  test_path);
        goto done;
    }
    status = cli_print_metrics(metrics, values, n_values);
done:
    gbr_interactions_free(history);
    gbr_interactions_free(test);
    gbr_rec_free(m);
    return status;
}

/* ---- rec split -------------------------------------------------------- */

#define MAX_PARTS 16

static int
parse_fractions(const char *v, double *f, size_t *n)
{
    const char *s = v;

    *n = 0;
    while (*s) {
        char *end;

        if (*n == MAX_PARTS)
            return cli_error(CLI_USAGE, "at most %d fractions", MAX_PARTS);
        errno = 0;
        f[*n] = strtod(s, &end);
        if (end == s || errno || (*end != ',' && *end != '\0'))
            return cli_error(CLI_USAGE, "fractions must be numbers separated "
                             "by commas, got \"%.40s\"", v);
        (*n)++;
        s = *end == ',' ? end + 1 : end;
    }
    return CLI_OK;
}

/* Write the events of window k in the input's form: its separator and
 * number of fields. */
static void
write_window(FILE *fp, const gbr_interactions *ix, const int *window, int lo,
             int hi)
{
    const char *sep = gbr_interactions_separator(ix);
    const size_t nf = gbr_interactions_n_fields(ix);
    const size_t *ptr = gbr_interactions_user_ptr(ix);
    const uint32_t *items = gbr_interactions_items(ix);
    const int64_t *times = gbr_interactions_times(ix);
    const float *ratings = gbr_interactions_ratings(ix);

    for (size_t u = 0; u < gbr_interactions_n_users(ix); u++)
        for (size_t e = ptr[u]; e < ptr[u + 1]; e++) {
            if (window[e] < lo || window[e] > hi)
                continue;
            fprintf(fp, "%s%s%s", gbr_interactions_user_id(ix, u), sep,
                    gbr_interactions_item_id(ix, items[e]));
            if (nf >= 3)
                fprintf(fp, "%s%.9g", sep, (double)ratings[e]);
            if (nf >= 4)
                fprintf(fp, "%s%" PRId64, sep, times[e]);
            fputc('\n', fp);
        }
}

static int
rec_split(int argc, char **argv)
{
    const char *prefix = NULL, *log_path = NULL, *v;
    double fractions[MAX_PARTS] = { 0.8, 0.2 }, min_rating = -INFINITY;
    size_t n_fractions = 2, min_positives = 5;
    uint64_t seed = 0;
    int scheme = GBR_SPLIT_TEMPORAL, status, *window = NULL;
    gbr_interactions *ix = NULL;
    struct cli_out out[2 * MAX_PARTS];
    size_t n_open = 0, n_files = 0;
    gbr_error err;

    memset(out, 0, sizeof out);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        char *end;

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cli_usage(stdout, "rec split");
            return CLI_OK;
        } else if (cli_opt(a, "scheme", &v)) {
            if (strcmp(v, "temporal") == 0)
                scheme = GBR_SPLIT_TEMPORAL;
            else if (strcmp(v, "random") == 0)
                scheme = GBR_SPLIT_RANDOM;
            else
                return cli_error(CLI_USAGE, "scheme must be temporal or "
                                 "random, got \"%.40s\"", v);
        } else if (cli_opt(a, "fractions", &v)) {
            if ((status = parse_fractions(v, fractions, &n_fractions)) !=
                CLI_OK)
                return status;
        } else if (cli_opt(a, "min-rating", &v)) {
            if ((status = cli_min_rating(v, &min_rating)) != CLI_OK)
                return status;
        } else if (cli_opt(a, "min-positives", &v)) {
            long n;

            errno = 0;
            n = strtol(v, &end, 10);
            if (end == v || *end || errno || n < 1 || n > 1000000000)
                return cli_error(CLI_USAGE, "min-positives must be in [1, "
                                 "1000000000], got \"%.40s\"", v);
            min_positives = (size_t)n;
        } else if (cli_opt(a, "seed", &v)) {
            errno = 0;
            if (v[0] < '0' || v[0] > '9')
                return cli_error(CLI_USAGE, "seed must be a non-negative "
                                 "integer, got \"%.40s\"", v);
            seed = strtoull(v, &end, 10);
            if (*end || errno)
                return cli_error(CLI_USAGE, "seed must be a non-negative "
                                 "integer, got \"%.40s\"", v);
        } else if (cli_opt(a, "output", &v)) {
            prefix = v;
        } else if (strcmp(a, "-o") == 0) {
            if (++i >= argc)
                return cli_error(CLI_USAGE, "-o needs a prefix");
            prefix = argv[i];
        } else if (a[0] == '-' && a[1] != '\0') {
            return cli_error(CLI_USAGE, "unknown option \"%.40s\"", a);
        } else if (!log_path) {
            log_path = a;
        } else {
            return cli_error(CLI_USAGE, "more than one log");
        }
    }
    if (!prefix || !log_path) {
        cli_error(CLI_USAGE, "%s", !prefix ? "-o prefix is required"
                                           : "a log is required");
        cli_usage(stderr, "rec split");
        return CLI_USAGE;
    }
    status = CLI_FAIL;
    if (cli_read_log(log_path, min_rating, &ix) != CLI_OK)
        goto done;
    if (!(window = malloc((gbr_interactions_n_events(ix) + 1) *
                          sizeof *window))) {
        cli_error(CLI_FAIL, "out of memory");
        goto done;
    }
    if (gbr_rec_split(ix, scheme, fractions, n_fractions, min_positives, seed,
                      window, &err) != GBR_OK) {
        status = cli_error(err.code == GBR_EPARAM ? CLI_USAGE : CLI_FAIL,
                           "%s", err.msg);
        goto done;
    }
    /* The parts, then the unions of the first ones: PREFIX.1-2 is the
     * history that follows PREFIX.2, and so on. */
    n_files = n_fractions + (n_fractions > 2 ? n_fractions - 2 : 0);
    for (size_t f = 0; f < n_files; f++) {
        const int part = f < n_fractions;
        const size_t hi = part ? f : f - n_fractions + 1;
        size_t len = strlen(prefix) + 16;
        char *path = malloc(len);

        if (!path) {
            cli_error(CLI_FAIL, "out of memory");
            goto done;
        }
        if (part)
            snprintf(path, len, "%s.%zu", prefix, f + 1);
        else
            snprintf(path, len, "%s.1-%zu", prefix, hi + 1);
        if (cli_out_open(&out[f], path) != CLI_OK) {
            free(path);
            goto done;
        }
        free(path);
        n_open = f + 1;
        write_window(out[f].fp, ix, window, part ? (int)f : 0, (int)hi);
    }
    status = CLI_OK;
    for (size_t f = 0; f < n_files; f++)
        if (cli_out_commit(&out[f]) != CLI_OK)
            status = CLI_FAIL;
done:
    for (size_t k = 0; k < n_open; k++)
        if (out[k].fp)
            cli_out_abort(&out[k]);
    free(window);
    gbr_interactions_free(ix);
    return status;
}

int
cmd_rec(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } subs[] = {
        { "fit", rec_fit },
        { "recommend", rec_recommend },
        { "eval", rec_eval },
        { "split", rec_split },
        { "blend", cli_rec_blend },
    };

    if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "--help") == 0) {
        cli_usage(argc < 2 ? stderr : stdout, "rec");
        return argc < 2 ? cli_error(CLI_USAGE, "rec needs a subcommand: fit, "
                                    "recommend, eval, split or blend")
                        : CLI_OK;
    }
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (strcmp(argv[1], subs[i].name) == 0)
            return subs[i].run(argc - 1, argv + 1);
    cli_error(CLI_USAGE, "unknown rec subcommand \"%.40s\"", argv[1]);
    cli_usage(stderr, "rec");
    return CLI_USAGE;
}
