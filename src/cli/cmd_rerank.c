#include "cli/cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The second stage's end: rec eval --ranker (a re-ranker's candidates
 * scored by a gbrank model or a blend, against a test window) and rec
 * blend (a linear blend of features, tuned on a window). Both read a
 * features file OUT beside its OUT.pairs and OUT.names, as gbrank
 * features writes them. */

#define BLEND_HEADER "gbrank blend 1"

/* A whole text file in memory, NUL-terminated. */
static int
slurp(const char *path, char **out, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    size_t cap = 0, n = 0;
    char *buf = NULL;

    *out = NULL;
    if (!fp)
        return cli_error(CLI_FAIL, "%s: %s", path, strerror(errno));
    for (;;) {
        size_t got;

        if (cap - n < 65536) {
            size_t c = cap ? 2 * cap : 65536 + 1;
            char *p = c > cap ? realloc(buf, c) : NULL;

            if (!p) {
                free(buf);
                fclose(fp);
                return cli_error(CLI_FAIL, "%s: out of memory", path);
            }
            buf = p;
            cap = c;
        }
        got = fread(buf + n, 1, cap - n - 1, fp);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(fp)) {
        free(buf);
        fclose(fp);
        return cli_error(CLI_FAIL, "%s: %s", path, strerror(errno));
    }
    fclose(fp);
    buf[n] = '\0';
    if (memchr(buf, '\0', n)) {
        free(buf);
        return cli_error(CLI_FAIL, "%s: a NUL byte: not a text file", path);
    }
    *out = buf;
    *len = n;
    return CLI_OK;
}

/* Cut a line of buf at its end (LF or CRLF) and return the next one. */
static char *
next_line(char *s)
{
    char *nl = strchr(s, '\n');

    if (!nl)
        return s + strlen(s);
    if (nl > s && nl[-1] == '\r')
        nl[-1] = '\0';
    *nl = '\0';
    return nl + 1;
}

/* OUT.pairs: "qid<TAB>user<TAB>item" lines, one a row of OUT. */
struct pairs {
    char *buf;
    size_t n;
    const char **user, **item;
};

static void
pairs_free(struct pairs *p)
{
    free(p->buf);
    free(p->user);
    free(p->item);
    memset(p, 0, sizeof *p);
}

static int
read_pairs(const char *path, struct pairs *p)
{
    size_t len, room = 0, ln = 0;
    char *s;

    memset(p, 0, sizeof *p);
    if (slurp(path, &p->buf, &len) != CLI_OK)
        return CLI_FAIL;
    for (s = p->buf; *s;) {
        char *line = s, *t1, *t2;

        s = next_line(s);
        ln++;
        if (*line == '\0')
            return cli_error(CLI_FAIL, "%s:%zu: an empty line", path, ln);
        t1 = strchr(line, '\t');
        t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (!t1 || !t2 || t1 == line || t2 == t1 + 1 || t2[1] == '\0' ||
            strchr(t2 + 1, '\t'))
            return cli_error(CLI_FAIL, "%s:%zu: expected qid<TAB>user<TAB>"
                             "item, got \"%.40s\"", path, ln, line);
        *t1 = *t2 = '\0';
        if (p->n == room) {
            size_t r = room ? 2 * room : 4096;
            const char **u = realloc(p->user, r * sizeof *u), **i;

            if (!u)
                return cli_error(CLI_FAIL, "%s: out of memory", path);
            p->user = u;
            if (!(i = realloc(p->item, r * sizeof *i)))
                return cli_error(CLI_FAIL, "%s: out of memory", path);
            p->item = i;
            room = r;
        }
        p->user[p->n] = t1 + 1;
        p->item[p->n] = t2 + 1;
        p->n++;
    }
    if (p->n == 0)
        return cli_error(CLI_FAIL, "%s: no pairs", path);
    return CLI_OK;
}

/* OUT.names: "index<TAB>name" lines, indices 1, 2, ... in order. */
struct names {
    char *buf;
    size_t n;
    const char **name;
};

static void
names_free(struct names *nm)
{
    free(nm->buf);
    free(nm->name);
    memset(nm, 0, sizeof *nm);
}

static int
read_names(const char *path, struct names *nm)
{
    size_t len, room = 0;
    char *s;

    memset(nm, 0, sizeof *nm);
    if (slurp(path, &nm->buf, &len) != CLI_OK)
        return CLI_FAIL;
    for (s = nm->buf; *s;) {
        char *line = s, *tab, *end;
        unsigned long long idx;

        s = next_line(s);
        tab = strchr(line, '\t');
        errno = 0;
        idx = strtoull(line, &end, 10);
        if (!tab || end != tab || errno || idx != nm->n + 1 ||
            tab[1] == '\0')
            return cli_error(CLI_FAIL, "%s:%zu: expected %zu<TAB>name, got "
                             "\"%.40s\"", path, nm->n + 1, nm->n + 1, line);
        if (nm->n == room) {
            size_t r = room ? 2 * room : 64;
            const char **p = realloc(nm->name, r * sizeof *p);

            if (!p)
                return cli_error(CLI_FAIL, "%s: out of memory", path);
            nm->name = p;
            room = r;
        }
        nm->name[nm->n++] = tab + 1;
    }
    if (nm->n == 0)
        return cli_error(CLI_FAIL, "%s: no feature names", path);
    return CLI_OK;
}

/* A side file's name: path followed by suffix, in a new string. */
static char *
side_name(const char *path, const char *suffix)
{
    const size_t len = strlen(path) + strlen(suffix) + 1;
    char *s = malloc(len);

    if (s)
        snprintf(s, len, "%s%s", path, suffix);
    else
        cli_error(CLI_FAIL, "out of memory");
    return s;
}

/* A features file's rows as a dense matrix of the columns col[0 .. n_cols)
 * (0-based feature indices), NaN where a row has no value. */
static int
read_columns(const char *path, size_t n_rows, const size_t *col,
             size_t n_cols, double **out)
{
    gbr_csr csr;
    double *x;

    *out = NULL;
    if (cli_read_csr(path, &csr) != CLI_OK)
        return CLI_FAIL;
    if (csr.n_rows != n_rows) {
        cli_free_csr(&csr);
        return cli_error(CLI_FAIL, "%s: %zu rows, but its .pairs lists %zu",
                         path, csr.n_rows, n_rows);
    }
    x = n_cols && n_rows > SIZE_MAX / sizeof *x / n_cols
            ? NULL
            : malloc(n_rows * n_cols * sizeof *x + 1);
    if (!x) {
        cli_free_csr(&csr);
        return cli_error(CLI_FAIL, "out of memory for %zu x %zu features",
                         n_rows, n_cols);
    }
    for (size_t r = 0; r < n_rows; r++) {
        for (size_t c = 0; c < n_cols; c++)
            x[r * n_cols + c] = NAN;
        for (size_t e = csr.row_ptr[r]; e < csr.row_ptr[r + 1]; e++)
            for (size_t c = 0; c < n_cols; c++)
                if (csr.index[e] == col[c] + 1)
                    x[r * n_cols + c] = csr.value[e];
    }
    cli_free_csr(&csr);
    *out = x;
    return CLI_OK;
}

/* A blend file: BLEND_HEADER, then "name<TAB>weight" lines ('#' lines
 * are comments). */
struct blend {
    char *buf;
    size_t n;
    const char **name;
    double *w;
};

static void
blend_free(struct blend *b)
{
    free(b->buf);
    free(b->name);
    free(b->w);
    memset(b, 0, sizeof *b);
}

/* 1 when path starts with the blend header, 0 when not, -1 when it cannot
 * be read (the booster loader then says why). */
static int
is_blend(const char *path)
{
    char head[sizeof BLEND_HEADER];
    FILE *fp = fopen(path, "rb");
    size_t got;

    if (!fp)
        return -1;
    got = fread(head, 1, sizeof head - 1, fp);
    fclose(fp);
    return got == sizeof head - 1 &&
           memcmp(head, BLEND_HEADER, sizeof head - 1) == 0;
}

static int
read_blend(const char *path, struct blend *b)
{
    size_t len, room = 0, ln = 1;
    char *s;

    memset(b, 0, sizeof *b);
    if (slurp(path, &b->buf, &len) != CLI_OK)
        return CLI_FAIL;
    s = next_line(b->buf);
    if (strcmp(b->buf, BLEND_HEADER) != 0)
        return cli_error(CLI_FAIL, "%s:1: not a blend (expected \"%s\")",
                         path, BLEND_HEADER);
    while (*s) {
        char *line = s, *tab, *end;
        double w;

        s = next_line(s);
        ln++;
        if (*line == '#' || *line == '\0')
            continue;
        tab = strchr(line, '\t');
        if (!tab || tab == line)
            return cli_error(CLI_FAIL, "%s:%zu: expected name<TAB>weight, "
                             "got \"%.40s\"", path, ln, line);
        *tab = '\0';
        errno = 0;
        w = strtod(tab + 1, &end);
        if (end == tab + 1 || *end || errno || !isfinite(w))
            return cli_error(CLI_FAIL, "%s:%zu: weight is not a finite "
                             "number: \"%.40s\"", path, ln, tab + 1);
        if (b->n == room) {
            size_t r = room ? 2 * room : 16;
            const char **nm = realloc(b->name, r * sizeof *nm);
            double *pw;

            if (!nm)
                return cli_error(CLI_FAIL, "%s: out of memory", path);
            b->name = nm;
            if (!(pw = realloc(b->w, r * sizeof *pw)))
                return cli_error(CLI_FAIL, "%s: out of memory", path);
            b->w = pw;
            room = r;
        }
        b->name[b->n] = line;
        b->w[b->n++] = w;
    }
    if (b->n == 0)
        return cli_error(CLI_FAIL, "%s: a blend of no features", path);
    return CLI_OK;
}

/* The feature index (0-based) of name in nm, or SIZE_MAX. */
static size_t
find_name(const struct names *nm, const char *name)
{
    for (size_t f = 0; f < nm->n; f++)
        if (strcmp(nm->name[f], name) == 0)
            return f;
    return SIZE_MAX;
}

/* The scores of a blend on the rows of a features file. */
static int
blend_scores(const char *blend_path, const char *features, size_t n_rows,
             double **score)
{
    struct blend b;
    struct names nm;
    char *names_path = side_name(features, ".names");
    size_t *col = NULL;
    double *x = NULL;
    int status = CLI_FAIL;

    memset(&b, 0, sizeof b);
    memset(&nm, 0, sizeof nm);
    *score = NULL;
    if (!names_path || read_blend(blend_path, &b) != CLI_OK ||
        read_names(names_path, &nm) != CLI_OK)
        goto done;
    if (!(col = malloc(b.n * sizeof *col))) {
        cli_error(CLI_FAIL, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < b.n; k++)
        if ((col[k] = find_name(&nm, b.name[k])) == SIZE_MAX) {
            cli_error(CLI_FAIL, "%s: feature \"%.60s\" of the blend is not "
                      "in %s", blend_path, b.name[k], names_path);
            goto done;
        }
    if (read_columns(features, n_rows, col, b.n, &x) != CLI_OK)
        goto done;
    if (!(*score = malloc((n_rows ? n_rows : 1) * sizeof **score))) {
        cli_error(CLI_FAIL, "out of memory");
        goto done;
    }
    gbr_rec_blend_score(x, n_rows, b.n, b.w, *score);
    status = CLI_OK;
done:
    free(names_path);
    free(col);
    free(x);
    blend_free(&b);
    names_free(&nm);
    return status;
}

/* The scores a ranker (a gbrank model or a blend) gives the rows of a
 * features file. */
static int
ranker_scores(const char *ranker, const char *features, size_t n_rows,
              int n_threads, double **score)
{
    gbr_booster *b = NULL;
    gbr_dataset *ds = NULL;
    int status;

    if (is_blend(ranker) == 1)
        return blend_scores(ranker, features, n_rows, score);
    status = cli_predict_all(ranker, features, 0, n_threads, 0, &b, &ds,
                             score);
    if (status == CLI_OK && gbr_dataset_n_rows(ds) != n_rows)
        status = cli_error(CLI_FAIL, "%s: %zu rows, but its .pairs lists "
                           "%zu", features, gbr_dataset_n_rows(ds), n_rows);
    gbr_dataset_free(ds);
    gbr_booster_free(b);
    return status;
}

/* The candidates of features set against a test log. */
static int
load_candidates(const char *features, const gbr_interactions *test,
                struct pairs *p, gbr_rec_pairs **rp)
{
    char *pairs_path = side_name(features, ".pairs");
    gbr_error err;
    int status = CLI_FAIL;

    *rp = NULL;
    if (!pairs_path || read_pairs(pairs_path, p) != CLI_OK)
        goto done;
    if (gbr_rec_pairs_new(test, p->n, p->user, p->item, rp, &err) !=
        GBR_OK) {
        cli_error(CLI_FAIL, "%s: %s", pairs_path, err.msg);
        goto done;
    }
    if (gbr_rec_pairs_n_users(*rp) == 0) {
        cli_error(CLI_FAIL, "%s: no user of the test log has a candidate",
                  pairs_path);
        goto done;
    }
    status = CLI_OK;
done:
    free(pairs_path);
    return status;
}

/* "user<TAB>metric..." with a header line, one line an evaluated user. */
static int
write_per_user(const char *path, const gbr_rec_pairs *rp,
               const gbr_interactions *test, const char *metrics,
               const double *each, size_t n_values)
{
    const size_t n = gbr_rec_pairs_n_users(rp);
    struct cli_out o;
    const char *s = metrics;

    if (cli_out_open(&o, path) != CLI_OK)
        return CLI_FAIL;
    fputs("user", o.fp);
    for (size_t k = 0; k < n_values; k++) {
        const size_t len = strcspn(s, ",");

        fprintf(o.fp, "\t%.*s", (int)len, s);
        s += len + (s[len] == ',');
    }
    fputc('\n', o.fp);
    for (size_t g = 0; g < n; g++) {
        fputs(gbr_interactions_user_id(test, gbr_rec_pairs_user(rp, g)),
              o.fp);
        for (size_t k = 0; k < n_values; k++)
            fprintf(o.fp, "\t%.6f", each[g * n_values + k]);
        fputc('\n', o.fp);
    }
    return cli_out_commit(&o);
}

int
cli_rec_eval_ranker(const char *ranker, const char *features,
                    const gbr_interactions *test, const char *metrics,
                    const char *per_user, int n_threads)
{
    struct pairs p;
    gbr_rec_pairs *rp = NULL;
    double *score = NULL, *each = NULL, values[GBR_REC_EVAL_MAX];
    size_t n_values;
    gbr_error err;
    int status = CLI_FAIL;

    memset(&p, 0, sizeof p);
    if (load_candidates(features, test, &p, &rp) != CLI_OK ||
        ranker_scores(ranker, features, p.n, n_threads, &score) != CLI_OK)
        goto done;
    if (per_user &&
        !(each = malloc(gbr_rec_pairs_n_users(rp) * GBR_REC_EVAL_MAX *
                        sizeof *each))) {
        cli_error(CLI_FAIL, "out of memory");
        goto done;
    }
    if (gbr_rec_pairs_evaluate(rp, score, metrics, values, GBR_REC_EVAL_MAX,
                               &n_values, each, n_threads, &err) != GBR_OK) {
        status = cli_error(err.code == GBR_EPARAM ? CLI_USAGE : CLI_FAIL,
                           "%s", err.msg);
        goto done;
    }
    if (per_user && write_per_user(per_user, rp, test, metrics, each,
                                   n_values) != CLI_OK)
        goto done;
    status = cli_print_metrics(metrics, values, n_values);
done:
    free(each);
    free(score);
    gbr_rec_pairs_free(rp);
    pairs_free(&p);
    return status;
}

/* ---- rec blend -------------------------------------------------------- */

/* Whether feature name is one of the comma list of names or, for an entry
 * ".suffix", ends with it. */
static int
column_chosen(const char *name, const char *list)
{
    const size_t nlen = strlen(name);

    while (*list) {
        const size_t len = strcspn(list, ",");

        if (list[0] == '.' ? len <= nlen &&
                                 memcmp(name + nlen - len, list, len) == 0
                           : len == nlen && memcmp(name, list, len) == 0)
            return 1;
        list += len + (list[len] == ',');
    }
    return 0;
}

static int
write_blend(const char *path, const struct names *nm, const size_t *col,
            const double *w, size_t n_cols, const char *metric,
            const char *tuned_on, double best)
{
    struct cli_out o;

    if (cli_out_open(&o, path) != CLI_OK)
        return CLI_FAIL;
    fprintf(o.fp, "%s\n# weights tuned for %.*s on %s: %.6f\n",
            BLEND_HEADER, (int)strcspn(metric, ","), metric, tuned_on, best);
    for (size_t c = 0; c < n_cols; c++) {
        char buf[32];

        /* The shortest of %.15g and %.17g that reads back the same. */
        snprintf(buf, sizeof buf, "%.15g", w[c]);
        if (strtod(buf, NULL) != w[c])
            snprintf(buf, sizeof buf, "%.17g", w[c]);
        fprintf(o.fp, "%s\t%s\n", nm->name[col[c]], buf);
    }
    return cli_out_commit(&o);
}

int
cli_rec_blend(int argc, char **argv)
{
    const char *features = NULL, *out_path = NULL, *test_path = NULL, *v;
    const char *metric = "ndcg@10", *columns = ".zscore";
    double min_rating = -INFINITY, best = 0, *x = NULL, *w = NULL;
    int n_threads = 0, status;
    gbr_interactions *test = NULL;
    struct pairs p;
    struct names nm;
    gbr_rec_pairs *rp = NULL;
    char *names_path = NULL;
    size_t *col = NULL, n_cols = 0;
    gbr_error err;

    memset(&p, 0, sizeof p);
    memset(&nm, 0, sizeof nm);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cli_usage(stdout, "rec blend");
            return CLI_OK;
        } else if (cli_opt(a, "features", &v)) {
            features = v;
        } else if (cli_opt(a, "metric", &v)) {
            metric = v;
        } else if (cli_opt(a, "columns", &v)) {
            columns = v;
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
        } else if (a[0] == '-' && a[1] != '\0') {
            return cli_error(CLI_USAGE, "unknown option \"%.40s\"", a);
        } else if (!test_path) {
            test_path = a;
        } else {
            return cli_error(CLI_USAGE, "more than one tuning log");
        }
    }
    if (!features || !out_path || !test_path) {
        cli_error(CLI_USAGE, "%s", !features ? "--features=file is required"
                                   : !out_path ? "-o blend is required"
                                               : "a tuning log is required");
        cli_usage(stderr, "rec blend");
        return CLI_USAGE;
    }
    status = CLI_FAIL;
    if (cli_read_log(test_path, min_rating, &test) != CLI_OK ||
        load_candidates(features, test, &p, &rp) != CLI_OK ||
        !(names_path = side_name(features, ".names")) ||
        read_names(names_path, &nm) != CLI_OK)
        goto done;
    if (!(col = malloc(nm.n * sizeof *col))) {
        cli_error(CLI_FAIL, "out of memory");
        goto done;
    }
    for (size_t f = 0; f < nm.n; f++)
        if (column_chosen(nm.name[f], columns))
            col[n_cols++] = f;
    if (n_cols == 0) {
        status = cli_error(CLI_USAGE, "%s: no feature matches --columns=%.60s",
                           names_path, columns);
        goto done;
    }
    if (read_columns(features, p.n, col, n_cols, &x) != CLI_OK)
        goto done;
    if (!(w = malloc(n_cols * sizeof *w))) {
        cli_error(CLI_FAIL, "out of memory");
        goto done;
    }
    if (gbr_rec_blend_tune(rp, x, n_cols, metric, n_threads, w, &best,
                           &err) != GBR_OK) {
        status = cli_error(err.code == GBR_EPARAM ? CLI_USAGE : CLI_FAIL,
                           "%s", err.msg);
        goto done;
    }
    for (size_t c = 0; c < n_cols; c++)
        fprintf(stderr, "gbrank: blend: %s %g\n", nm.name[col[c]], w[c]);
    fprintf(stderr, "gbrank: blend: %.*s %.6f on %s\n",
            (int)strcspn(metric, ","), metric, best, test_path);
    status = write_blend(out_path, &nm, col, w, n_cols, metric, test_path,
                         best);
done:
    free(names_path);
    free(col);
    free(x);
    free(w);
    gbr_rec_pairs_free(rp);
    pairs_free(&p);
    names_free(&nm);
    gbr_interactions_free(test);
    return status;
}
