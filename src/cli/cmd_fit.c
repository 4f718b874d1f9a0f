#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_VALID 64

/* The --log table of a fit, and what its round callback needs. */
struct fit_log {
    struct cli_out out;
    struct timespec start;      /* CLOCK_MONOTONIC when training began */
};

static void
fit_help(FILE *fp)
{
    cli_usage(fp, "fit");
    fputs("\noptions:\n"
          "  --valid=file       a validation set, reported each round "
          "(repeatable)\n"
          "  --log=file         write each round's metrics to file as a "
          "table with\n"
          "                     the columns round, seconds, set, metric, "
          "value\n"
          "  -o file, --output=file\n"
          "                     where to save the model (default "
          "gbrank.model)\n"
          "  -h, --help         this text\n"
          "\nparameters (each as --NAME=value):\n",
          fp);
    cli_print_params(fp, gbr_params_count(), gbr_params_info);
}

static void
log_stderr(int level, const char *msg, void *ud)
{
    (void)level;
    (void)ud;
    fprintf(stderr, "%s\n", msg);
}

/* Write s as one field of the log table: tabs and line ends would break
 * the table, so they become spaces. */
static void
put_field(FILE *fp, const char *s)
{
    for (size_t i = 0; s[i]; i++)
        fputc(s[i] == '\t' || s[i] == '\n' || s[i] == '\r' ? ' ' : s[i], fp);
}

/* The round callback of --log: one row per set and metric, with the
 * wall-clock seconds since training began, flushed so that the file can be
 * followed while fit runs. Values are written %.17g, so that they read
 * back exactly. */
static void
log_round(size_t round, size_t n_sets, const char *const *sets,
          size_t n_metrics, const char *const *metrics, const double *values,
          void *ud)
{
    struct fit_log *fl = ud;
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    double seconds = (double)(now.tv_sec - fl->start.tv_sec) +
                     (double)(now.tv_nsec - fl->start.tv_nsec) * 1e-9;

    for (size_t s = 0; s < n_sets; s++)
        for (size_t m = 0; m < n_metrics; m++) {
            fprintf(fl->out.fp, "%zu\t%.6f\t", round, seconds);
            put_field(fl->out.fp, sets[s]);
            fputc('\t', fl->out.fp);
            put_field(fl->out.fp, metrics[m]);
            fprintf(fl->out.fp, "\t%.17g\n", values[s * n_metrics + m]);
        }
    fflush(fl->out.fp);
}

int
cmd_fit(int argc, char **argv)
{
    gbr_params p;
    gbr_error err;
    const char *valid_path[MAX_VALID], *valid_name[MAX_VALID];
    const char *out_path = "gbrank.model", *train_path = NULL;
    const char *log_path = NULL;
    size_t n_valid = 0;
    gbr_dataset *train = NULL, *valid[MAX_VALID] = { NULL };
    gbr_booster *b = NULL;
    struct fit_log flog;
    int status = CLI_FAIL;

    memset(&flog, 0, sizeof flog);
    gbr_params_init(&p);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;

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
            if (n_valid == MAX_VALID)
                return cli_error(CLI_USAGE, "at most %d --valid files",
                                 MAX_VALID);
            valid_path[n_valid++] = v;
        } else if (strncmp(a, "--", 2) == 0) {
            char name[64];
            int rc = cli_name_value(a, name, sizeof name, &v);

            if (rc != CLI_OK)
                return rc;
            if (gbr_params_set(&p, name, v, &err) != GBR_OK) {
                cli_error(CLI_USAGE, "%s", err.msg);
                fputs("see 'gbrank fit --help'\n", stderr);
                return CLI_USAGE;
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            return cli_error(CLI_USAGE, "unknown option \"%.40s\"", a);
        } else if (!train_path) {
            train_path = a;
        } else {
            return cli_error(CLI_USAGE, "more than one training file: "
                             "\"%.40s\"", a);
        }
    }
    if (!train_path) {
        cli_error(CLI_USAGE, "a training file is required");
        cli_usage(stderr, "fit");
        return CLI_USAGE;
    }
    if (gbr_params_check(&p, &err) != GBR_OK)
        return cli_error(CLI_USAGE, "%s", err.msg);
    if (p.early_stop > 0 && n_valid == 0)
        return cli_error(CLI_USAGE, "early-stop needs a --valid file");
    if (log_path && strcmp(log_path, out_path) == 0)
        return cli_error(CLI_USAGE, "--log and the model are the same file "
                         "\"%.40s\"", log_path);
    p.log_fn = log_stderr;
    /* Find out now, not after training, that the model or the log cannot
     * be saved. */
    if (cli_check_writable(out_path) != CLI_OK ||
        (log_path && cli_check_writable(log_path) != CLI_OK))
        return CLI_FAIL;
    for (size_t i = 0; i < n_valid; i++) {
        const char *slash = strrchr(valid_path[i], '/');

        valid_name[i] = slash ? slash + 1 : valid_path[i];
    }
    if (cli_load(train_path, &p, p.n_threads, &train) != CLI_OK)
        goto done;
    for (size_t i = 0; i < n_valid; i++)
        if (cli_load(valid_path[i], &p, p.n_threads, &valid[i]) !=
            CLI_OK)
            goto done;
    /* The log goes to a temporary file from the header on, and is renamed
     * into place when training ends, whether it succeeded or not. */
    if (log_path) {
        if (cli_out_open(&flog.out, log_path) != CLI_OK)
            goto done;
        fputs("round\tseconds\tset\tmetric\tvalue\n", flog.out.fp);
        fflush(flog.out.fp);
        p.round_fn = log_round;
        p.round_ud = &flog;
    }
    if (gbr_booster_create(&p, &b, &err) != GBR_OK) {
        cli_error(CLI_FAIL, "%s", err.msg);
        goto done;
    }
    clock_gettime(CLOCK_MONOTONIC, &flog.start);
    if (gbr_booster_fit(b, train, (const gbr_dataset *const *)valid,
                        valid_name, n_valid, &err) != GBR_OK ||
        gbr_booster_save(b, out_path, &err) != GBR_OK)
        cli_error(CLI_FAIL, "%s", err.msg);
    else
        status = CLI_OK;
    if (flog.out.fp && cli_out_commit(&flog.out) != CLI_OK)
        status = CLI_FAIL;
done:
    if (flog.out.fp)
        cli_out_abort(&flog.out);
    gbr_booster_free(b);
    gbr_dataset_free(train);
    for (size_t i = 0; i < n_valid; i++)
        gbr_dataset_free(valid[i]);
    return status;
}
