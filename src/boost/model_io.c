#include "boost/model_io.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "data/params_impl.h"

/* The model is text, one key=value a line:
 *
 *   gbrank model 1
 *   objective=logistic
 *   n_features=127
 *   base_score=<%.17g>
 *   n_trees=N
 *   then for each tree: tree=i, n_nodes=n, and the node arrays feature,
 *   threshold (%.9g), default_left, left, right, value (%.17g), space
 *   separated;
 *   a last line "end", so that a file cut short anywhere is refused.
 *
 * Doubles are written %.17g and floats %.9g, so that loading gives back
 * the same bits. The parameters that shaped the model follow the header as
 * param.<name>=<value> lines, for the record; only objective is read
 * back into the model's behaviour. */

static int
write_tree(FILE *fp, const gbr_tree *t, size_t i)
{
    fprintf(fp, "tree=%zu\nn_nodes=%zu\nfeature=", i, t->n_nodes);
    for (size_t n = 0; n < t->n_nodes; n++)
        fprintf(fp, n ? " %d" : "%d", (int)t->feature[n]);
    fputs("\nthreshold=", fp);
    for (size_t n = 0; n < t->n_nodes; n++)
        fprintf(fp, n ? " %.9g" : "%.9g", (double)t->threshold[n]);
    fputs("\ndefault_left=", fp);
    for (size_t n = 0; n < t->n_nodes; n++)
        fprintf(fp, n ? " %d" : "%d", (int)t->default_left[n]);
    fputs("\nleft=", fp);
    for (size_t n = 0; n < t->n_nodes; n++)
        fprintf(fp, n ? " %d" : "%d", (int)t->left[n]);
    fputs("\nright=", fp);
    for (size_t n = 0; n < t->n_nodes; n++)
        fprintf(fp, n ? " %d" : "%d", (int)t->right[n]);
    fputs("\nvalue=", fp);
    for (size_t n = 0; n < t->n_nodes; n++)
        fprintf(fp, n ? " %.17g" : "%.17g", t->value[n]);
    return fputc('\n', fp) == EOF ? -1 : 0;
}

int
gbr_booster_save(const gbr_booster *b, const char *path, gbr_error *err)
{
    size_t len = strlen(path) + 16;
    char *tmp = gbr_malloc(len);
    FILE *fp = NULL;
    int rc = GBR_OK, fd;

    if (!tmp)
        return gbr_fail(err, GBR_ENOMEM, "out of memory");
    if (b->params.objective == GBR_OBJ_AUTO) {
        gbr_free(tmp);
        return gbr_fail(err, GBR_ESTATE, "%s: the objective is still auto: "
                        "fit the model before saving it", path);
    }
    snprintf(tmp, len, "%s.tmpXXXXXX", path);
    fd = mkstemp(tmp);
    if (fd < 0 || !(fp = fdopen(fd, "w"))) {
        rc = gbr_fail(err, GBR_EIO, "%s: %s", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        gbr_free(tmp);
        return rc;
    }
    fprintf(fp, "gbrank model %d\n", GBR_MODEL_VERSION);
    fprintf(fp, "objective=%s\n", gbr_objective_name(b->params.objective));
    fprintf(fp, "n_features=%zu\n", b->n_features);
    fprintf(fp, "base_score=%.17g\n", b->base_score);
    for (size_t i = 0; i < gbr_params_count(); i++) {
        const gbr_param_info *info = gbr_params_info(i);
        char value[GBR_METRIC_LIST_SIZE + 8];

        /* The thread count shapes no model: leaving it out keeps the
         * file the same for any count. subsample_by and
         * subsample_leaves came after the format: at their defaults they
         * are left out, so that the files of models that draw rows keep
         * their bytes (a reader without them takes the defaults). */
        if (strcmp(info->name, "objective") == 0 ||
            strcmp(info->name, "threads") == 0 ||
            (strcmp(info->name, "subsample_by") == 0 &&
             b->params.subsample_by == GBR_SUBSAMPLE_BY_ROW) ||
            (strcmp(info->name, "subsample_leaves") == 0 &&
             b->params.subsample_leaves == GBR_SUBSAMPLE_LEAVES_DRAWN))
            continue;
        gbr_params_get(&b->params, info->name, value, sizeof value, NULL);
        fprintf(fp, "param.%s=%s\n", info->name, value);
    }
    fprintf(fp, "n_trees=%zu\n", b->n_trees);
    for (size_t i = 0; i < b->n_trees; i++)
        write_tree(fp, &b->trees[i], i);
    fputs("end\n", fp);
    if (ferror(fp) | fflush(fp) | fsync(fileno(fp))) {
        rc = gbr_fail(err, GBR_EIO, "%s: %s", path, strerror(errno));
        fclose(fp);
        unlink(tmp);
    } else if (fclose(fp) != 0 || rename(tmp, path) != 0) {
        rc = gbr_fail(err, GBR_EIO, "%s: %s", path, strerror(errno));
        unlink(tmp);
    }
    gbr_free(tmp);
    return rc;
}

/* Line reader over the whole file in memory. */
struct reader {
    const char *path;
    char *text;
    size_t size, at, line;
    char *cur;                  /* the current line, NUL-terminated */
};

static int
read_all(struct reader *rd, gbr_error *err)
{
    FILE *fp = fopen(rd->path, "rb");
    size_t cap = 1 << 16, n = 0;

    if (!fp)
        return gbr_fail(err, GBR_EIO, "%s: %s", rd->path, strerror(errno));
    rd->text = gbr_malloc(cap + 1);
    while (rd->text) {
        n += fread(rd->text + n, 1, cap - n, fp);
        if (n < cap)
            break;
        char *t = cap > SIZE_MAX / 2 - 1 ? NULL
                                         : gbr_reallocarray(rd->text,
                                                            2 * cap + 1, 1);
        if (!t) {
            gbr_free(rd->text);
            rd->text = NULL;
            break;
        }
        rd->text = t;
        cap *= 2;
    }
    if (!rd->text) {
        fclose(fp);
        return gbr_fail(err, GBR_ENOMEM, "%s: out of memory", rd->path);
    }
    if (ferror(fp)) {
        fclose(fp);
        return gbr_fail(err, GBR_EIO, "%s: read error", rd->path);
    }
    fclose(fp);
    rd->text[n] = '\0';
    rd->size = n;
    if (memchr(rd->text, '\0', n))
        return gbr_fail(err, GBR_EFORMAT, "%s: not a text file", rd->path);
    return GBR_OK;
}

/* Next line into rd->cur, without its newline; 0 at the end. */
static int
next_line(struct reader *rd)
{
    if (rd->at >= rd->size)
        return 0;
    char *s = rd->text + rd->at;
    char *nl = strchr(s, '\n');

    if (nl) {
        *nl = '\0';
        rd->at = (size_t)(nl - rd->text) + 1;
    } else {
        rd->at = rd->size;
    }
    size_t len = strlen(s);

    if (len && s[len - 1] == '\r')
        s[len - 1] = '\0';
    rd->cur = s;
    rd->line++;
    return 1;
}

static int
bad(const struct reader *rd, gbr_error *err, const char *what)
{
    return gbr_fail(err, GBR_EFORMAT, "%s:%zu: %s", rd->path, rd->line,
                    what);
}

/* The next line must be key=...; returns the text after '='. */
static int
expect_key(struct reader *rd, const char *key, char **value, gbr_error *err)
{
    char msg[160];
    size_t klen = strlen(key);

    if (!next_line(rd)) {
        snprintf(msg, sizeof msg, "expected %s=, got the end of the file",
                 key);
        rd->line++;
        return bad(rd, err, msg);
    }
    if (strncmp(rd->cur, key, klen) != 0 || rd->cur[klen] != '=') {
        snprintf(msg, sizeof msg, "expected %s=, got \"%.40s\"", key,
                 rd->cur);
        return bad(rd, err, msg);
    }
    *value = rd->cur + klen + 1;
    return GBR_OK;
}

static int
parse_size(struct reader *rd, const char *key, size_t *out, gbr_error *err)
{
    char *v, *end;
    int rc;

    if ((rc = expect_key(rd, key, &v, err)) != GBR_OK)
        return rc;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (end == v || *end != '\0' || errno || v[0] == '-' ||
        x > SIZE_MAX / 64) {
        char msg[160];

        snprintf(msg, sizeof msg, "%s must be a count, got \"%.40s\"", key,
                 v);
        return bad(rd, err, msg);
    }
    *out = (size_t)x;
    return GBR_OK;
}

enum { K_INT, K_FLOAT, K_DOUBLE, K_BOOL };

/* Read n space-separated numbers of a node array. */
static int
parse_array(struct reader *rd, const char *key, int kind, void *out, size_t n,
            gbr_error *err)
{
    char *s, *end, msg[160];
    int rc;

    if ((rc = expect_key(rd, key, &s, err)) != GBR_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        while (*s == ' ')
            s++;
        errno = 0;
        if (kind == K_DOUBLE || kind == K_FLOAT) {
            double d = strtod(s, &end);

            if (end == s || isnan(d))
                goto fail;
            if (kind == K_DOUBLE)
                ((double *)out)[i] = d;
            else
                ((float *)out)[i] = (float)d;
        } else {
            long v = strtol(s, &end, 10);

            if (end == s || errno || v < INT32_MIN || v > INT32_MAX ||
                (kind == K_BOOL && v != 0 && v != 1))
                goto fail;
            if (kind == K_BOOL)
                ((uint8_t *)out)[i] = (uint8_t)v;
            else
                ((int32_t *)out)[i] = (int32_t)v;
        }
        if (*end != ' ' && *end != '\0')
            goto fail;
        s = end;
    }
    while (*s == ' ')
        s++;
    if (*s == '\0')
        return GBR_OK;
    snprintf(msg, sizeof msg, "%s has more than %zu values", key, n);
    return bad(rd, err, msg);
fail:
    if (*s == '\0')
        snprintf(msg, sizeof msg, "%s has fewer than %zu values", key, n);
    else
        snprintf(msg, sizeof msg, "%s: bad value \"%.20s\"", key, s);
    return bad(rd, err, msg);
}

static int
load_tree(struct reader *rd, gbr_booster *b, size_t i, gbr_error *err)
{
    size_t idx, n_nodes;
    gbr_tree *t;
    int rc;

    if ((rc = parse_size(rd, "tree", &idx, err)) != GBR_OK)
        return rc;
    if (idx != i) {
        char msg[96];

        snprintf(msg, sizeof msg, "expected tree=%zu, got tree=%zu", i, idx);
        return bad(rd, err, msg);
    }
    if ((rc = parse_size(rd, "n_nodes", &n_nodes, err)) != GBR_OK)
        return rc;
    if (n_nodes == 0 || n_nodes > INT32_MAX)
        return bad(rd, err, "n_nodes must be in [1, 2147483647]");
    /* Each node takes at least two bytes in each of its six arrays, so a
     * count beyond what the rest of the file can hold is refused before
     * anything is allocated for it. */
    if (n_nodes > (rd->size - rd->at) / 12 + 1)
        return bad(rd, err, "n_nodes is larger than the rest of the file "
                   "can hold");
    if (!(t = gbr_booster_push_tree(b)))
        return gbr_fail(err, GBR_ENOMEM, "out of memory");
    if ((rc = gbr_tree_reserve(t, n_nodes, err)) != GBR_OK)
        return rc;
    t->n_nodes = n_nodes;
    if ((rc = parse_array(rd, "feature", K_INT, t->feature, n_nodes, err)) ||
        (rc = parse_array(rd, "threshold", K_FLOAT, t->threshold, n_nodes,
                          err)) ||
        (rc = parse_array(rd, "default_left", K_BOOL, t->default_left,
                          n_nodes, err)) ||
        (rc = parse_array(rd, "left", K_INT, t->left, n_nodes, err)) ||
        (rc = parse_array(rd, "right", K_INT, t->right, n_nodes, err)) ||
        (rc = parse_array(rd, "value", K_DOUBLE, t->value, n_nodes, err)))
        return rc;
    gbr_error terr;

    if (gbr_tree_check(t, b->n_features, &terr) != GBR_OK) {
        char msg[GBR_ERROR_MSG_SIZE];

        snprintf(msg, sizeof msg, "tree %zu: %.180s", i, terr.msg);
        return bad(rd, err, msg);
    }
    return GBR_OK;
}

static int
load_header(struct reader *rd, gbr_booster *b, size_t *n_trees,
            gbr_error *err)
{
    char *v, *end, msg[160];
    int version, rc;

    if (!next_line(rd)) {
        rd->line = 1;
        return bad(rd, err, "empty file, expected \"gbrank model 1\"");
    }
    if (strncmp(rd->cur, "gbrank model ", 13) != 0)
        return bad(rd, err, "not a gbrank model: expected \"gbrank model 1\"");
    errno = 0;
    long lv = strtol(rd->cur + 13, &end, 10);
    if (end == rd->cur + 13 || *end != '\0' || errno || lv < 0 ||
        lv > INT32_MAX || !isdigit((unsigned char)rd->cur[13]))
        return bad(rd, err, "not a gbrank model: expected \"gbrank model 1\"");
    version = (int)lv;
    if (version != GBR_MODEL_VERSION) {
        snprintf(msg, sizeof msg, "unknown model version %d (this gbrank "
                 "reads version %d)", version, GBR_MODEL_VERSION);
        return bad(rd, err, msg);
    }
    if ((rc = expect_key(rd, "objective", &v, err)) != GBR_OK)
        return rc;
    if ((b->params.objective = gbr_objective_from_name(v)) < 0 ||
        b->params.objective == GBR_OBJ_AUTO) {
        snprintf(msg, sizeof msg, "unknown objective \"%.40s\"", v);
        return bad(rd, err, msg);
    }
    if ((rc = parse_size(rd, "n_features", &b->n_features, err)) != GBR_OK)
        return rc;
    if ((rc = expect_key(rd, "base_score", &v, err)) != GBR_OK)
        return rc;
    b->base_score = strtod(v, &end);
    if (end == v || *end != '\0' || !isfinite(b->base_score))
        return bad(rd, err, "base_score must be a finite number");
    /* param.<name>=<value> lines, then n_trees=. */
    for (;;) {
        if (!next_line(rd)) {
            rd->line++;
            return bad(rd, err, "expected n_trees=, got the end of the file");
        }
        if (strncmp(rd->cur, "param.", 6) != 0)
            break;
        char *eq = strchr(rd->cur, '=');
        gbr_error perr;

        if (!eq)
            return bad(rd, err, "expected param.<name>=<value>");
        *eq = '\0';
        if (strcmp(rd->cur + 6, "objective") == 0 ||
            strcmp(rd->cur + 6, "threads") == 0) {
            snprintf(msg, sizeof msg, "unknown key \"%.40s\"", rd->cur);
            return bad(rd, err, msg);
        }
        if (gbr_params_set(&b->params, rd->cur + 6, eq + 1, &perr) !=
            GBR_OK) {
            snprintf(msg, sizeof msg, "%.150s", perr.msg);
            return bad(rd, err, msg);
        }
    }
    if (strncmp(rd->cur, "n_trees=", 8) != 0) {
        snprintf(msg, sizeof msg, "unknown key \"%.40s\"", rd->cur);
        return bad(rd, err, msg);
    }
    v = rd->cur + 8;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (end == v || *end != '\0' || errno || v[0] == '-' || x > 100000000)
        return bad(rd, err, "n_trees must be a count up to 100000000");
    *n_trees = (size_t)x;
    return GBR_OK;
}

int
gbr_booster_load(const char *path, gbr_booster **out, gbr_error *err)
{
    struct reader rd = { .path = path };
    gbr_booster *b = NULL;
    size_t n_trees = 0;
    int rc;

    *out = NULL;
    if ((rc = read_all(&rd, err)) != GBR_OK)
        goto done;
    if (!(b = gbr_calloc(1, sizeof *b))) {
        rc = gbr_fail(err, GBR_ENOMEM, "out of memory");
        goto done;
    }
    gbr_params_init(&b->params);
    if ((rc = load_header(&rd, b, &n_trees, err)) != GBR_OK)
        goto done;
    gbr_error perr;

    if (gbr_params_check(&b->params, &perr) != GBR_OK) {
        rc = gbr_fail(err, GBR_EFORMAT, "%s: %.200s", path, perr.msg);
        goto done;
    }
    for (size_t i = 0; i < n_trees; i++)
        if ((rc = load_tree(&rd, b, i, err)) != GBR_OK)
            goto done;
    if (!next_line(&rd)) {
        rd.line++;
        rc = bad(&rd, err, "expected end, got the end of the file");
        goto done;
    }
    if (strcmp(rd.cur, "end") != 0) {
        char msg[96];

        snprintf(msg, sizeof msg, "expected end, got \"%.40s\"", rd.cur);
        rc = bad(&rd, err, msg);
        goto done;
    }
    while (next_line(&rd)) {
        if (rd.cur[0] != '\0') {
            char msg[96];

            snprintf(msg, sizeof msg, "unexpected \"%.40s\" after the end",
                     rd.cur);
            rc = bad(&rd, err, msg);
            goto done;
        }
    }
    *out = b;
    b = NULL;
done:
    gbr_booster_free(b);
    gbr_free(rd.text);
    return rc;
}
