#include "cli/cli.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define MAX_COLS 64
#define FONT_SIZE 12
#define CHAR_WIDTH 7.0          /* average advance of a 12px sans-serif */
#define TICK_LEN 5
#define N_PALETTE (sizeof palette / sizeof palette[0])
#define N_DASHES (sizeof dashes / sizeof dashes[0])

/* Line colours, in the order series get them; past the last, the colours
 * start again with the next dash pattern. */
static const char *const palette[] = {
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
};
static const char *const dashes[] = { NULL, "6 3", "2 2", "8 3 2 3" };

/* The columns of a log table that plot reads, found by their header
 * names in any order; other columns are ignored. */
enum { COL_ROUND, COL_SECONDS, COL_SET, COL_METRIC, COL_VALUE, N_COLS };
static const char *const col_name[N_COLS] = {
    "round", "seconds", "set", "metric", "value",
};

/* One line of the figure: the rows of one set in one log, for the
 * metric plotted, in the log's order. */
struct series {
    size_t file;                /* index of the log in the command line */
    char *set;
    double *x, *y;              /* n points, cap allocated */
    size_t n, cap;
};

struct plot {
    const char *const *logs;    /* n_logs paths */
    size_t n_logs;
    const char *metric;         /* --metric, or the first log's first */
    const char *set;            /* --set: the only set drawn; NULL: all */
    char *first_metric;         /* owned copy of the latter */
    int x_seconds;
    const char *title;          /* NULL: none */
    long width, height;
    struct series *s;
    size_t n_series, cap;
};

/* A ruled axis from lo to hi, both multiples of step; the ticks are
 * k * step for k in [k0, k1]. */
struct axis {
    double lo, hi, step;
    long k0, k1;
    int decimals;               /* of the tick labels; -1: use %g */
};

static void
plot_help(FILE *fp)
{
    cli_usage(fp, "plot");
    fputs("\nDraw the metric of one or more fit --log tables as an SVG "
          "figure, one line\nper log and set.\n"
          "\noptions:\n"
          "  --output=file      the SVG file to write (- for standard "
          "output); required\n"
          "  --metric=name      the metric to draw (default: the first "
          "of the first log)\n"
          "  --set=name         draw only this set (train, or a validation "
          "file's\n                     base name); the legend then names "
          "the logs alone\n"
          "  --x=round|seconds  the horizontal axis: the round (default) "
          "or the seconds\n"
          "                     since training began\n"
          "  --title=text       a title above the figure (default: none)\n"
          "  --width=n          width in pixels, from 320 to 10000 "
          "(default 720)\n"
          "  --height=n         height in pixels, from 200 to 10000 "
          "(default 480)\n"
          "  -h, --help         this text\n",
          fp);
}

/* Parse the value of --name=v as an integer in [lo, hi]. */
static int
parse_size(const char *name, const char *v, long lo, long hi, long *out)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(v, &end, 10);
    if (end == v || *end != '\0' || errno || n < lo || n > hi)
        return cli_error(CLI_USAGE, "%s must be in [%ld, %ld], got "
                         "\"%.40s\"", name, lo, hi, v);
    *out = n;
    return CLI_OK;
}

/* Cut line at its tabs into at most max fields; returns how many fields
 * the line has, which may be more than max. */
static size_t
split_tabs(char *line, char **field, size_t max)
{
    size_t n = 0;

    for (char *p = line;; n++) {
        char *tab = strchr(p, '\t');

        if (n < max)
            field[n] = p;
        if (!tab)
            return n + 1;
        *tab = '\0';
        p = tab + 1;
    }
}

/* A whole field as a number; strtod's forms, nan and inf included. */
static int
parse_number(const char *s, double *out)
{
    char *end;

    if (*s == '\0' || *s == ' ')
        return 0;
    *out = strtod(s, &end);
    return *end == '\0';
}

/* A whole field as a round number: decimal digits only. */
static int
parse_round(const char *s, double *out)
{
    unsigned long long r;
    char *end;

    if (*s < '0' || *s > '9')
        return 0;
    errno = 0;
    r = strtoull(s, &end, 10);
    if (*end != '\0' || errno)
        return 0;
    *out = (double)r;
    return 1;
}

/* The series of set in log file, made empty if it is not there yet. */
static struct series *
series_of(struct plot *pl, size_t file, const char *set)
{
    for (size_t i = pl->n_series; i-- > 0 && pl->s[i].file == file;)
        if (strcmp(pl->s[i].set, set) == 0)
            return &pl->s[i];
    if (pl->n_series == pl->cap) {
        size_t cap = pl->cap ? 2 * pl->cap : 8;
        struct series *s = cap < SIZE_MAX / sizeof *s
                           ? realloc(pl->s, cap * sizeof *s) : NULL;

        if (!s)
            return NULL;
        pl->s = s;
        pl->cap = cap;
    }
    struct series *s = &pl->s[pl->n_series];

    memset(s, 0, sizeof *s);
    s->file = file;
    if (!(s->set = strdup(set)))
        return NULL;
    pl->n_series++;
    return s;
}

static int
series_push(struct series *s, double x, double y)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        double *nx, *ny;

        if (cap > SIZE_MAX / sizeof(double))
            return -1;
        if (!(nx = realloc(s->x, cap * sizeof *nx)))
            return -1;
        s->x = nx;
        if (!(ny = realloc(s->y, cap * sizeof *ny)))
            return -1;
        s->y = ny;
        s->cap = cap;
    }
    s->x[s->n] = x;
    s->y[s->n] = y;
    s->n++;
    return 0;
}

/* Find the columns of the header line: col[c] is the field index of
 * column c, or -1. */
static int
read_header(const char *path, char *line, int *col, size_t *n_fields)
{
    char *field[MAX_COLS];
    size_t n = split_tabs(line, field, MAX_COLS);

    if (n > MAX_COLS)
        return cli_error(CLI_FAIL, "%s:1: more than %d columns", path,
                         MAX_COLS);
    for (int c = 0; c < N_COLS; c++)
        col[c] = -1;
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < N_COLS; c++)
            if (strcmp(field[i], col_name[c]) == 0) {
                if (col[c] >= 0)
                    return cli_error(CLI_FAIL, "%s:1: column %s given "
                                     "twice", path, col_name[c]);
                col[c] = (int)i;
            }
    for (int c = 0; c < N_COLS; c++)
        if (col[c] < 0 && c != COL_SECONDS)
            return cli_error(CLI_FAIL, "%s:1: expected a header of "
                             "tab-separated columns round, seconds, set, "
                             "metric and value; no column %s", path,
                             col_name[c]);
    *n_fields = n;
    return CLI_OK;
}

/* Check one data row of a log and add it to its series when its metric
 * is the one plotted. The first metric of the first log is plotted when
 * --metric was not given. */
static int
read_row(struct plot *pl, size_t file, const char *path, size_t lineno,
         char *line, const int *col, size_t n_fields, size_t *n_rows)
{
    char *field[MAX_COLS];
    size_t n = split_tabs(line, field, MAX_COLS);
    double x = 0, y, seconds = 0;

    if (n != n_fields)
        return cli_error(CLI_FAIL, "%s:%zu: expected %zu tab-separated "
                         "fields, got %zu", path, lineno, n_fields, n);
    const char *round_s = field[col[COL_ROUND]];
    const char *set = field[col[COL_SET]];
    const char *metric = field[col[COL_METRIC]];
    const char *value_s = field[col[COL_VALUE]];

    if (!parse_round(round_s, &x))
        return cli_error(CLI_FAIL, "%s:%zu: round must be an integer >= 0, "
                         "got \"%.40s\"", path, lineno, round_s);
    if (col[COL_SECONDS] >= 0) {
        const char *s = field[col[COL_SECONDS]];

        if (!parse_number(s, &seconds) || !isfinite(seconds))
            return cli_error(CLI_FAIL, "%s:%zu: seconds must be a finite "
                             "number, got \"%.40s\"", path, lineno, s);
    }
    if (!parse_number(value_s, &y))
        return cli_error(CLI_FAIL, "%s:%zu: value must be a number, got "
                         "\"%.40s\"", path, lineno, value_s);
    if (!*set || !*metric)
        return cli_error(CLI_FAIL, "%s:%zu: empty %s", path, lineno,
                         !*set ? "set" : "metric");
    if (!pl->metric) {
        if (!(pl->first_metric = strdup(metric)))
            return cli_error(CLI_FAIL, "out of memory");
        pl->metric = pl->first_metric;
    }
    if (strcmp(metric, pl->metric) != 0 ||
        (pl->set && strcmp(set, pl->set) != 0))
        return CLI_OK;
    struct series *s = series_of(pl, file, set);

    if (!s || series_push(s, pl->x_seconds ? seconds : x, y) != 0)
        return cli_error(CLI_FAIL, "out of memory");
    ++*n_rows;
    return CLI_OK;
}

/* Read the log table at path: a header line naming the columns, then one
 * row per round, set and metric, as fit --log writes it. Any malformed
 * line is an error with path:line, and so is a log without a row of the
 * metric plotted. */
static int
read_log(struct plot *pl, size_t file)
{
    const char *path = pl->logs[file];
    FILE *fp = fopen(path, "r");
    char *line = NULL;
    size_t size = 0, lineno = 0, n_fields = 0, n_rows = 0;
    int col[N_COLS], status = CLI_OK;
    ssize_t len;

    if (!fp)
        return cli_error(CLI_FAIL, "%s: %s", path, strerror(errno));
    while (status == CLI_OK && (len = getline(&line, &size, fp)) >= 0) {
        lineno++;
        if ((size_t)len != strlen(line)) {
            status = cli_error(CLI_FAIL, "%s:%zu: NUL byte in the line",
                               path, lineno);
            break;
        }
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        if (len > 0 && line[len - 1] == '\r')
            line[--len] = '\0';
        if (lineno == 1)
            status = read_header(path, line, col, &n_fields);
        else
            status = read_row(pl, file, path, lineno, line, col, n_fields,
                              &n_rows);
        if (status == CLI_OK && lineno == 1 && pl->x_seconds &&
            col[COL_SECONDS] < 0)
            status = cli_error(CLI_FAIL, "%s:1: no seconds column, which "
                               "--x=seconds needs", path);
    }
    if (status == CLI_OK && ferror(fp))
        status = cli_error(CLI_FAIL, "%s: %s", path, strerror(errno));
    else if (status == CLI_OK && lineno == 0)
        status = cli_error(CLI_FAIL, "%s:1: expected a header line, got an "
                           "empty file", path);
    else if (status == CLI_OK && n_rows == 0 && pl->metric && pl->set)
        status = cli_error(CLI_FAIL, "%s: no rows of metric \"%.40s\" for "
                           "set \"%.40s\"", path, pl->metric, pl->set);
    else if (status == CLI_OK && n_rows == 0 && pl->metric)
        status = cli_error(CLI_FAIL, "%s: no rows of metric \"%.40s\"", path,
                           pl->metric);
    else if (status == CLI_OK && n_rows == 0)
        status = cli_error(CLI_FAIL, "%s: no rows after the header", path);
    free(line);
    fclose(fp);
    return status;
}

/* Rule an axis over [lo, hi] with about target intervals at "nice"
 * numbers: the step is 1, 2 or 5 times a power of ten, whichever is
 * nearest raw = (hi - lo) / target, rounding the mantissa f of raw
 * (raw = f 10^e, 1 <= f < 10) to 1 below 1.5, to 2 below 3, to 5 below 7
 * and to 10 above (Heckbert's nice numbers); the axis ends at the
 * multiples of step around lo and hi. A range of
 * one value is widened by 5% of it (or 0.5 around 0), and one too narrow
 * for its magnitude to 2e-9 of it, so that k * step stays exact enough.
 * With integer set the step is at least 1. Returns -1 when the values are
 * too large to rule. */
static int
axis_rule(double lo, double hi, int target, int integer, struct axis *a)
{
    double mag = fmax(fabs(lo), fabs(hi));

    if (!(hi > lo)) {
        double d = lo != 0 ? fabs(lo) * 0.05 : 0.5;

        lo -= d;
        hi += d;
    } else if (hi - lo < mag * 2e-9) {
        lo -= mag * 1e-9;
        hi += mag * 1e-9;
    }
    double raw = hi / target - lo / target;
    double p10 = pow(10, floor(log10(raw)));
    double f = raw / p10;

    a->step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * p10;
    if (integer && a->step < 1)
        a->step = 1;
    double k0 = floor(lo / a->step + 1e-9), k1 = ceil(hi / a->step - 1e-9);

    if (!isfinite(a->step) || !(a->step > 0) || !(fabs(k0) < 1e15) ||
        !(fabs(k1) < 1e15))
        return -1;
    a->k0 = (long)k0;
    a->k1 = (long)k1;
    if (a->k1 == a->k0)
        a->k1++;
    a->lo = (double)a->k0 * a->step;
    a->hi = (double)a->k1 * a->step;
    a->decimals = a->step >= 1 ? 0 : (int)ceil(-log10(a->step) - 1e-9);
    if (a->decimals > 12 || fmax(fabs(a->lo), fabs(a->hi)) >= 1e12)
        a->decimals = -1;
    return 0;
}

static void
tick_label(const struct axis *a, long k, char *buf, size_t size)
{
    double v = (double)k * a->step;

    if (a->decimals < 0)
        snprintf(buf, size, "%.6g", v);
    else
        snprintf(buf, size, "%.*f", a->decimals, v);
}

/* Length of the UTF-8 sequence at p that encodes one character XML
 * allows, or 0 when the bytes there are not one. */
static size_t
utf8_len(const unsigned char *p)
{
    uint32_t cp, min;
    size_t n;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2;
        cp = p[0] & 0x1f;
        min = 0x80;
    } else if ((p[0] & 0xf0) == 0xe0) {
        n = 3;
        cp = p[0] & 0x0f;
        min = 0x800;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4;
        cp = p[0] & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
        cp == 0xfffe || cp == 0xffff)
        return 0;
    return n;
}

/* Write s as XML character data: &, <, >, " and ' as entities, and
 * control characters and bytes that are not UTF-8 (neither allowed in
 * XML) as '?', so that any file name or title makes a well-formed file.
 * Returns the number of characters written, for the width of the text. */
static size_t
put_xml(FILE *fp, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n_chars = 0;

    for (; *p; n_chars++) {
        size_t n = utf8_len(p);

        if (n > 1) {
            fwrite(p, 1, n, fp);
            p += n;
            continue;
        }
        switch (n ? *p : 0) {
        case '&': fputs("&amp;", fp); break;
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '"': fputs("&quot;", fp); break;
        case '\'': fputs("&apos;", fp); break;
        default:
            fputc(*p >= 0x20 && n ? *p : '?', fp);
        }
        p++;
    }
    return n_chars;
}

/* Characters in s, as put_xml counts them. */
static size_t
text_chars(const char *s)
{
    size_t n = 0;

    for (const unsigned char *p = (const unsigned char *)s; *p; n++) {
        size_t len = utf8_len(p);

        p += len ? len : 1;
    }
    return n;
}

static const char *
base_name(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash && slash[1] ? slash + 1 : path;
}

static void
put_legend_label(FILE *fp, const struct plot *pl, const struct series *s)
{
    put_xml(fp, base_name(pl->logs[s->file]));
    if (pl->set)
        return;
    fputc(' ', fp);
    put_xml(fp, s->set);
}

/* The frame of the figure, in pixels: the plot area [x0, x1] x [y0, y1]
 * and the left edge of the legend. */
struct frame {
    double x0, x1, y0, y1, legend_x;
    struct axis ax, ay;
};

/* Rule both axes and lay out the figure. The left margin holds the y
 * tick labels and the y title, the right one the legend, whose width
 * follows its longest label up to 35% of the figure; the sizes of texts
 * are estimated at CHAR_WIDTH per character. */
static int
layout(const struct plot *pl, struct frame *fr)
{
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY;
    double ymax = -INFINITY;
    size_t legend_chars = 0, ylabel_chars = 0;
    char buf[64];

    for (size_t i = 0; i < pl->n_series; i++) {
        const struct series *s = &pl->s[i];
        size_t n = text_chars(base_name(pl->logs[s->file])) +
                   (pl->set ? 0 : 1 + text_chars(s->set));

        legend_chars = n > legend_chars ? n : legend_chars;
        for (size_t j = 0; j < s->n; j++) {
            if (!isfinite(s->y[j]))
                continue;
            xmin = fmin(xmin, s->x[j]);
            xmax = fmax(xmax, s->x[j]);
            ymin = fmin(ymin, s->y[j]);
            ymax = fmax(ymax, s->y[j]);
        }
    }
    if (!(xmin <= xmax))
        return cli_error(CLI_FAIL, "no finite value of metric \"%.40s\" in "
                         "the logs", pl->metric);
    /* Rounds and seconds both count from 0, and so does the x axis. */
    xmin = fmin(xmin, 0);
    if (xmax <= xmin)
        xmax = xmin + 1;
    fr->y0 = pl->title ? 40 : 16;
    fr->y1 = (double)pl->height - 56;
    if (axis_rule(ymin, ymax, (int)fmax(2, (fr->y1 - fr->y0) / 55), 0,
                  &fr->ay) != 0)
        return cli_error(CLI_FAIL, "values of metric \"%.40s\" too large to "
                         "plot", pl->metric);
    for (long k = fr->ay.k0; k <= fr->ay.k1; k++) {
        tick_label(&fr->ay, k, buf, sizeof buf);
        ylabel_chars = strlen(buf) > ylabel_chars ? strlen(buf)
                                                  : ylabel_chars;
    }
    double legend_w = fmin(48 + CHAR_WIDTH * (double)legend_chars,
                           0.35 * (double)pl->width);

    fr->x0 = 12 + FONT_SIZE + 8 + CHAR_WIDTH * (double)ylabel_chars + 4 +
             TICK_LEN;
    fr->x1 = (double)pl->width - legend_w;
    fr->legend_x = fr->x1 + 12;
    if (fr->x1 - fr->x0 < 60 || fr->y1 - fr->y0 < 60)
        return cli_error(CLI_FAIL, "a figure of %ldx%ld pixels is too small "
                         "for its labels", pl->width, pl->height);
    if (axis_rule(xmin, xmax, (int)fmax(2, (fr->x1 - fr->x0) / 90),
                  !pl->x_seconds, &fr->ax) != 0)
        return cli_error(CLI_FAIL, "seconds too large to plot");
    return CLI_OK;
}

static double
px_x(const struct frame *fr, double x)
{
    return fr->x0 + (x - fr->ax.lo) / (fr->ax.hi - fr->ax.lo) *
           (fr->x1 - fr->x0);
}

static double
px_y(const struct frame *fr, double y)
{
    return fr->y1 - (y - fr->ay.lo) / (fr->ay.hi - fr->ay.lo) *
           (fr->y1 - fr->y0);
}

/* Grid lines, the frame, ticks and their labels, and the axis titles. */
static void
put_axes(FILE *fp, const struct plot *pl, const struct frame *fr)
{
    char buf[64];

    fputs("<g stroke=\"#e0e0e0\" stroke-width=\"1\">\n", fp);
    for (long k = fr->ax.k0; k <= fr->ax.k1; k++) {
        double x = px_x(fr, (double)k * fr->ax.step);

        fprintf(fp, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>"
                "\n", x, fr->y0, x, fr->y1);
    }
    for (long k = fr->ay.k0; k <= fr->ay.k1; k++) {
        double y = px_y(fr, (double)k * fr->ay.step);

        fprintf(fp, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>"
                "\n", fr->x0, y, fr->x1, y);
    }
    fputs("</g>\n<g stroke=\"#000000\" stroke-width=\"1\" fill=\"none\">\n",
          fp);
    fprintf(fp, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"/>"
            "\n", fr->x0, fr->y0, fr->x1 - fr->x0, fr->y1 - fr->y0);
    for (long k = fr->ax.k0; k <= fr->ax.k1; k++) {
        double x = px_x(fr, (double)k * fr->ax.step);

        fprintf(fp, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>"
                "\n", x, fr->y1, x, fr->y1 + TICK_LEN);
    }
    for (long k = fr->ay.k0; k <= fr->ay.k1; k++) {
        double y = px_y(fr, (double)k * fr->ay.step);

        fprintf(fp, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>"
                "\n", fr->x0 - TICK_LEN, y, fr->x0, y);
    }
    fputs("</g>\n<g text-anchor=\"middle\">\n", fp);
    for (long k = fr->ax.k0; k <= fr->ax.k1; k++) {
        tick_label(&fr->ax, k, buf, sizeof buf);
        fprintf(fp, "<text x=\"%.2f\" y=\"%.2f\">%s</text>\n",
                px_x(fr, (double)k * fr->ax.step),
                fr->y1 + TICK_LEN + 4 + FONT_SIZE, buf);
    }
    fprintf(fp, "<text x=\"%.2f\" y=\"%.2f\">%s</text>\n",
            (fr->x0 + fr->x1) / 2, (double)pl->height - 12,
            pl->x_seconds ? "seconds" : "round");
    fprintf(fp, "<text transform=\"translate(%d, %.2f) rotate(-90)\">",
            12 + FONT_SIZE - 2, (fr->y0 + fr->y1) / 2);
    put_xml(fp, pl->metric);
    fputs("</text>\n</g>\n<g text-anchor=\"end\">\n", fp);
    for (long k = fr->ay.k0; k <= fr->ay.k1; k++) {
        tick_label(&fr->ay, k, buf, sizeof buf);
        fprintf(fp, "<text x=\"%.2f\" y=\"%.2f\">%s</text>\n",
                fr->x0 - TICK_LEN - 4,
                px_y(fr, (double)k * fr->ay.step) + FONT_SIZE / 3.0, buf);
    }
    fputs("</g>\n", fp);
}

/* The stroke of series i: its colour, and past the palette a dash. */
static void
put_stroke(FILE *fp, size_t i)
{
    const char *dash = dashes[i / N_PALETTE % N_DASHES];

    fprintf(fp, " stroke=\"%s\"", palette[i % N_PALETTE]);
    if (dash)
        fprintf(fp, " stroke-dasharray=\"%s\"", dash);
}

/* One polyline per series over its finite points (a lone point gets a
 * dot as well, as a line of one point shows nothing), then the legend:
 * a stroke and "<log basename> <set>" per series. */
static void
put_series(FILE *fp, const struct plot *pl, const struct frame *fr)
{
    fputs("<g fill=\"none\" stroke-width=\"1.5\" stroke-linejoin=\"round\">"
          "\n", fp);
    for (size_t i = 0; i < pl->n_series; i++) {
        const struct series *s = &pl->s[i];
        size_t n_finite = 0;
        double lx = 0, ly = 0;

        fputs("<polyline", fp);
        put_stroke(fp, i);
        fputs(" points=\"", fp);
        for (size_t j = 0; j < s->n; j++) {
            if (!isfinite(s->y[j]))
                continue;
            lx = px_x(fr, s->x[j]);
            ly = px_y(fr, s->y[j]);
            fprintf(fp, "%s%.2f,%.2f", n_finite++ ? " " : "", lx, ly);
        }
        fputs("\"/>\n", fp);
        if (n_finite == 1)
            fprintf(fp, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%s\""
                    " stroke=\"none\"/>\n", lx, ly, palette[i % N_PALETTE]);
    }
    fputs("</g>\n<g stroke-width=\"2\">\n", fp);
    for (size_t i = 0; i < pl->n_series; i++) {
        double y = fr->y0 + 8 + 18 * (double)i;

        fprintf(fp, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"",
                fr->legend_x, y, fr->legend_x + 24, y);
        put_stroke(fp, i);
        fprintf(fp, "/>\n<text x=\"%.2f\" y=\"%.2f\" stroke=\"none\">",
                fr->legend_x + 30, y + FONT_SIZE / 3.0);
        put_legend_label(fp, pl, &pl->s[i]);
        fputs("</text>\n", fp);
    }
    fputs("</g>\n", fp);
}

/* The whole SVG 1.1 document. Every number is written with fixed
 * decimals, so the same logs give the same bytes. */
static void
put_svg(FILE *fp, const struct plot *pl, const struct frame *fr)
{
    fprintf(fp, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
            "width=\"%ld\" height=\"%ld\" viewBox=\"0 0 %ld %ld\" "
            "font-family=\"sans-serif\" font-size=\"%d\">\n",
            pl->width, pl->height, pl->width, pl->height, FONT_SIZE);
    if (pl->title) {
        fputs("<title>", fp);
        put_xml(fp, pl->title);
        fputs("</title>\n", fp);
    }
    fprintf(fp, "<rect x=\"0\" y=\"0\" width=\"%ld\" height=\"%ld\" "
            "fill=\"#ffffff\"/>\n", pl->width, pl->height);
    if (pl->title) {
        fprintf(fp, "<text x=\"%.2f\" y=\"26\" text-anchor=\"middle\" "
                "font-size=\"16\" font-weight=\"bold\">",
                (fr->x0 + fr->x1) / 2);
        put_xml(fp, pl->title);
        fputs("</text>\n", fp);
    }
    put_axes(fp, pl, fr);
    put_series(fp, pl, fr);
    fputs("</svg>\n", fp);
}

static void
plot_free(struct plot *pl)
{
    for (size_t i = 0; i < pl->n_series; i++) {
        free(pl->s[i].set);
        free(pl->s[i].x);
        free(pl->s[i].y);
    }
    free(pl->s);
    free(pl->first_metric);
}

int
cmd_plot(int argc, char **argv)
{
    struct plot pl;
    struct frame fr;
    struct cli_out out;
    const char *output = NULL, *v;
    const char **logs;
    int status;

    memset(&pl, 0, sizeof pl);
    pl.width = 720;
    pl.height = 480;
    /* argv outlives the command, so the paths are kept as pointers. */
    if (!(logs = malloc((size_t)argc * sizeof *logs)))
        return cli_error(CLI_FAIL, "out of memory");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        status = CLI_OK;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            plot_help(stdout);
            free(logs);
            return CLI_OK;
        } else if (cli_opt(a, "output", &v)) {
            output = v;
        } else if (cli_opt(a, "metric", &v)) {
            pl.metric = v;
            if (!*v)
                status = cli_error(CLI_USAGE, "--metric needs a name");
        } else if (cli_opt(a, "set", &v)) {
            pl.set = v;
            if (!*v)
                status = cli_error(CLI_USAGE, "--set needs a name");
        } else if (cli_opt(a, "x", &v)) {
            pl.x_seconds = strcmp(v, "seconds") == 0;
            if (!pl.x_seconds && strcmp(v, "round") != 0)
                status = cli_error(CLI_USAGE, "x must be round or seconds, "
                                   "got \"%.40s\"", v);
        } else if (cli_opt(a, "title", &v)) {
            pl.title = v;
        } else if (cli_opt(a, "width", &v)) {
            status = parse_size("width", v, 320, 10000, &pl.width);
        } else if (cli_opt(a, "height", &v)) {
            status = parse_size("height", v, 200, 10000, &pl.height);
        } else if (a[0] == '-' && a[1] != '\0') {
            status = cli_error(CLI_USAGE, "unknown option \"%.40s\"", a);
        } else {
            logs[pl.n_logs++] = a;
        }
        if (status != CLI_OK) {
            free(logs);
            return status;
        }
    }
    if (!output || pl.n_logs == 0) {
        cli_error(CLI_USAGE, "%s", !output ? "--output=file is required"
                                           : "a log file is required");
        cli_usage(stderr, "plot");
        free(logs);
        return CLI_USAGE;
    }
    pl.logs = logs;
    status = CLI_OK;
    for (size_t f = 0; f < pl.n_logs && status == CLI_OK; f++)
        status = read_log(&pl, f);
    if (status == CLI_OK)
        status = layout(&pl, &fr);
    if (status == CLI_OK && (status = cli_out_open(&out, output)) == CLI_OK) {
        put_svg(out.fp, &pl, &fr);
        status = cli_out_commit(&out);
    }
    plot_free(&pl);
    free(logs);
    return status;
}
