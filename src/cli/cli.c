#include "cli/cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gbrank/libsvm.h"

static const struct cli_cmd cmds[] = {
    { "fit",
      "gbrank fit [--name=value ...] [--valid=file ...] [--log=file] "
      "[-o model] trainfile",
      cmd_fit },
    { "predict",
      "gbrank predict --model=file [--output=file] [--margin] [--ranked] "
      "[--threads=n] datafile",
      cmd_predict },
    { "eval",
      "gbrank eval --model=file [--metric=list] [--threads=n] datafile",
      cmd_eval },
    { "plot",
      "gbrank plot --output=file [--metric=name] [--set=name] "
      "[--x=round | seconds] [--title=text] [--width=n] [--height=n] "
      "logfile ...",
      cmd_plot },
    { "rec fit",
      "gbrank rec fit --model=name [--name=value ...] [--min-rating=r] "
      "[--valid=file] [--log=file] [-o model] logfile",
      cmd_rec },
    { "rec recommend",
      "gbrank rec recommend --model=file --top=n [--history=file] "
      "[--users=file] [--min-rating=r] [--threads=n] [--output=file]",
      cmd_rec },
    { "rec eval",
      "gbrank rec eval --model=file [--metric=list] [--history=file] "
      "[--min-rating=r] [--threads=n] testfile\n"
      "       gbrank rec eval --ranker=model --features=out [--metric=list] "
      "[--per-user=file] [--min-rating=r] [--threads=n] testfile",
      cmd_rec },
    { "rec blend",
      "gbrank rec blend --features=out [--metric=list] [--columns=list] "
      "[--min-rating=r] [--threads=n] -o blend tuninglog",
      cmd_rec },
    { "rec split",
      "gbrank rec split [--scheme=temporal | random] [--fractions=f1,f2,...] "
      "[--min-rating=r] [--min-positives=n] [--seed=n] -o prefix logfile",
      cmd_rec },
    { "features",
      "gbrank features --models=m1,m2,... --history=file [--labels=file] "
      "[--graded] [--candidates=k] [--min-rating=r] [--allow-leak] "
      "[--threads=n] -o out",
      cmd_features },
};

#define N_CMDS (sizeof cmds / sizeof cmds[0])

int
cli_error(int status, const char *fmt, ...)
{
    va_list ap;

    fputs("gbrank: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return status;
}

void
cli_usage(FILE *fp, const char *name)
{
    fputs("usage:", fp);
    size_t shown = 0;

    /* "rec" stands for all of its subcommands. */
    for (size_t i = 0; i < N_CMDS; i++)
        if (!name || strcmp(name, cmds[i].name) == 0 ||
            (strcmp(name, "rec") == 0 && strncmp(cmds[i].name, "rec ", 4) ==
                                             0))
            fprintf(fp, "%s%s\n", shown++ ? "       " : " ",
                    cmds[i].synopsis);
    if (!name)
        fputs("       gbrank fit --help | predict --help | eval --help | "
              "plot --help\n"
              "       gbrank rec fit --help | rec recommend --help | ...\n"
              "       gbrank --version\n",
              fp);
}

int
cli_opt(const char *arg, const char *key, const char **value_out)
{
    size_t n = strlen(key);

    if (strncmp(arg, "--", 2) != 0 || strncmp(arg + 2, key, n) != 0)
        return 0;
    if (!value_out)
        return arg[2 + n] == '\0';
    if (arg[2 + n] != '=')
        return 0;
    *value_out = arg + 3 + n;
    return 1;
}

/* The line of path that holds data row row (from 0), by the reader's
 * rule: a line is a row when something other than spaces, tabs and
 * carriage returns comes before its first '#'. 0 if it cannot tell. */
static size_t
row_line(const char *path, size_t row)
{
    FILE *fp = fopen(path, "rb");
    size_t line = 1, rows = 0;
    int c, content = 0, comment = 0;

    if (!fp)
        return 0;
    while ((c = getc(fp)) != EOF) {
        if (c == '\n') {
            if (content && rows++ == row)
                break;
            line++;
            content = comment = 0;
        } else if (c == '#') {
            comment = 1;
        } else if (!comment && c != ' ' && c != '\t' && c != '\r') {
            content = 1;
        }
    }
    if (c == EOF && !(content && rows == row))
        line = 0;
    fclose(fp);
    return line;
}

int
cli_load(const char *path, const gbr_params *p, int n_threads,
         gbr_dataset **out)
{
    gbr_csr csr;
    gbr_error err;
    size_t bad;
    int rc;

    *out = NULL;
    if (gbr_libsvm_read_threads(path, n_threads, &csr, &err) != GBR_OK)
        return cli_error(CLI_FAIL, "%s", err.msg);
    if (p && gbr_params_check_label_gain(p, csr.label, csr.n_rows, &bad,
                                         &err) != GBR_OK) {
        const size_t line = row_line(path, bad);

        gbr_libsvm_free(&csr);
        if (line)
            return cli_error(CLI_FAIL, "%s:%zu: %s", path, line, err.msg);
        return cli_error(CLI_FAIL, "%s: row %zu: %s", path, bad + 1,
                         err.msg);
    }
    rc = gbr_dataset_adopt(&csr, out, &err);
    gbr_libsvm_free(&csr);
    if (rc != GBR_OK)
        return cli_error(CLI_FAIL, "%s: %s", path, err.msg);
    return CLI_OK;
}

int
cli_print_metrics(const char *metrics, const double *values, size_t n)
{
    const char *s = metrics;

    for (size_t k = 0; k < n; k++) {
        const size_t len = strcspn(s, ",");

        printf("%.*s\t%.6f\n", (int)len, s, values[k]);
        s += len + (s[len] == ',');
    }
    if (fflush(stdout) != 0 || ferror(stdout))
        return cli_error(CLI_FAIL, "standard output: %s", strerror(errno));
    return CLI_OK;
}

int
cli_read_csr(const char *path, gbr_csr *out)
{
    gbr_error err;

    if (gbr_libsvm_read(path, out, &err) != GBR_OK)
        return cli_error(CLI_FAIL, "%s", err.msg);
    return CLI_OK;
}

void
cli_free_csr(gbr_csr *csr)
{
    gbr_libsvm_free(csr);
}

int
cli_out_open(struct cli_out *o, const char *path)
{
    int fd;

    memset(o, 0, sizeof *o);
    if (!path || strcmp(path, "-") == 0) {
        o->fp = stdout;
        return CLI_OK;
    }
    size_t len = strlen(path) + 16;

    o->path = strdup(path);
    o->tmp = malloc(len);
    if (!o->path || !o->tmp) {
        cli_out_abort(o);
        return cli_error(CLI_FAIL, "out of memory");
    }
    snprintf(o->tmp, len, "%s.tmpXXXXXX", path);
    fd = mkstemp(o->tmp);
    if (fd < 0 || !(o->fp = fdopen(fd, "w"))) {
        int e = errno;

        if (fd >= 0) {
            close(fd);
            unlink(o->tmp);
        }
        free(o->tmp);
        o->tmp = NULL;
        cli_out_abort(o);
        return cli_error(CLI_FAIL, "%s: %s", path, strerror(e));
    }
    return CLI_OK;
}

int
cli_out_commit(struct cli_out *o)
{
    int rc = CLI_OK;

    if (o->fp == stdout) {
        if (fflush(stdout) != 0 || ferror(stdout))
            rc = cli_error(CLI_FAIL, "standard output: %s", strerror(errno));
        o->fp = NULL;
        return rc;
    }
    if (ferror(o->fp) || fflush(o->fp) != 0 || fsync(fileno(o->fp)) != 0) {
        rc = cli_error(CLI_FAIL, "%s: %s", o->path, strerror(errno));
        cli_out_abort(o);
        return rc;
    }
    if (fclose(o->fp) != 0) {
        o->fp = NULL;
        rc = cli_error(CLI_FAIL, "%s: %s", o->path, strerror(errno));
        cli_out_abort(o);
        return rc;
    }
    o->fp = NULL;
    if (rename(o->tmp, o->path) != 0) {
        rc = cli_error(CLI_FAIL, "%s: %s", o->path, strerror(errno));
        cli_out_abort(o);
        return rc;
    }
    free(o->tmp);
    free(o->path);
    memset(o, 0, sizeof *o);
    return CLI_OK;
}

void
cli_out_abort(struct cli_out *o)
{
    if (o->fp && o->fp != stdout)
        fclose(o->fp);
    if (o->tmp)
        unlink(o->tmp);
    free(o->tmp);
    free(o->path);
    memset(o, 0, sizeof *o);
}

int
cli_check_writable(const char *path)
{
    struct cli_out o;

    if (cli_out_open(&o, path) != CLI_OK)
        return CLI_FAIL;
    cli_out_abort(&o);
    return CLI_OK;
}

int
cli_name_value(const char *arg, char *name, size_t size, const char **value)
{
    const char *eq = strchr(arg, '=');

    if (strncmp(arg, "--", 2) != 0 || !eq || eq == arg + 2 ||
        (size_t)(eq - arg - 2) >= size)
        return cli_error(CLI_USAGE, "options take the form --name=value, "
                         "got \"%.40s\"", arg);
    memcpy(name, arg + 2, (size_t)(eq - arg - 2));
    name[eq - arg - 2] = '\0';
    *value = eq + 1;
    return CLI_OK;
}

void
cli_print_params(FILE *fp, size_t count,
                 const gbr_param_info *(*info)(size_t))
{
    char name[64];

    for (size_t i = 0; i < count; i++) {
        const gbr_param_info *row = info(i);
        size_t j = 0;

        for (; row->name[j] && j + 1 < sizeof name; j++)
            name[j] = row->name[j] == '_' ? '-' : row->name[j];
        name[j] = '\0';
        fprintf(fp, "  --%s=%s\n      %s; %s, default %s\n", name, row->type,
                row->help, row->range, row->def[0] ? row->def : "(empty)");
    }
}

int
cli_min_rating(const char *v, double *out)
{
    char *end;

    if (strcmp(v, "none") == 0) {
        *out = -INFINITY;
        return CLI_OK;
    }
    errno = 0;
    *out = strtod(v, &end);
    if (end == v || *end != '\0' || errno != 0 || !isfinite(*out))
        return cli_error(CLI_USAGE, "min-rating must be a number or none, "
                         "got \"%.40s\"", v);
    return CLI_OK;
}

int
cli_read_log(const char *path, double min_rating, gbr_interactions **out)
{
    gbr_error err;

    if (gbr_interactions_read(path, min_rating, out, &err) != GBR_OK)
        return cli_error(CLI_FAIL, "%s", err.msg);
    return CLI_OK;
}

int
cli_threads(const char *v, int *out)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(v, &end, 10);
    if (end == v || *end != '\0' || errno || n < 0 || n > 1024)
        return cli_error(CLI_USAGE, "threads must be in [0, 1024], got "
                         "\"%.40s\"", v);
    *out = (int)n;
    return CLI_OK;
}

int
cli_model_args_parse(int argc, char **argv, int is_eval,
                     struct cli_model_args *m)
{
    const char *cmd = is_eval ? "eval" : "predict", *v;
    int status;

    memset(m, 0, sizeof *m);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cli_usage(stdout, cmd);
            m->help = 1;
            return CLI_OK;
        } else if (cli_opt(a, "model", &v)) {
            m->model = v;
        } else if (cli_opt(a, "threads", &v)) {
            if ((status = cli_threads(v, &m->n_threads)) != CLI_OK)
                return status;
        } else if (is_eval && cli_opt(a, "metric", &v)) {
            m->metrics = v;
        } else if (!is_eval && cli_opt(a, "output", &v)) {
            m->output = v;
        } else if (!is_eval && cli_opt(a, "margin", NULL)) {
            m->margin = 1;
        } else if (!is_eval && cli_opt(a, "ranked", NULL)) {
            m->ranked = 1;
        } else if (a[0] == '-' && a[1] != '\0') {
            return cli_error(CLI_USAGE, "unknown option \"%.40s\"", a);
        } else if (!m->data) {
            m->data = a;
        } else {
            return cli_error(CLI_USAGE, "more than one data file");
        }
    }
    if (!m->model || !m->data) {
        cli_error(CLI_USAGE, "%s", !m->model ? "--model=file is required"
                                             : "a data file is required");
        cli_usage(stderr, cmd);
        return CLI_USAGE;
    }
    return CLI_OK;
}

int
cli_predict_all(const char *model_path, const char *data_path, int margin,
                int n_threads, int scored, gbr_booster **b, gbr_dataset **ds,
                double **pred)
{
    gbr_error err;
    size_t n;

    if (gbr_booster_load(model_path, b, &err) != GBR_OK)
        return cli_error(CLI_FAIL, "%s", err.msg);
    if (cli_load(data_path, scored ? gbr_booster_params(*b) : NULL,
                 n_threads, ds) != CLI_OK)
        return CLI_FAIL;
    n = gbr_dataset_n_rows(*ds);
    *pred = malloc(n * sizeof **pred);
    if (!*pred)
        return cli_error(CLI_FAIL, "out of memory for %zu predictions", n);
    if (gbr_booster_predict(*b, *ds, margin, n_threads, *pred, n, &err) !=
        GBR_OK)
        return cli_error(CLI_FAIL, "%s", err.msg);
    return CLI_OK;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        cli_error(CLI_USAGE, "a command is required");
        cli_usage(stderr, NULL);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        cli_usage(stdout, NULL);
        return CLI_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("gbrank %s\n", GBR_VERSION);
        return CLI_OK;
    }
    if (strcmp(argv[1], "rec") == 0)
        return cmd_rec(argc - 1, argv + 1);
    for (size_t i = 0; i < N_CMDS; i++)
        if (strcmp(argv[1], cmds[i].name) == 0)
            return cmds[i].run(argc - 1, argv + 1);
    cli_error(CLI_USAGE, "unknown command \"%.40s\"", argv[1]);
    cli_usage(stderr, NULL);
    return CLI_USAGE;
}
