#include "common/ptable.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* Compare a user's name with a table name, taking '-' for '_'. */
static int
name_matches(const char *user, const char *table)
{
    for (; *user && *table; user++, table++) {
        char c = *user == '-' ? '_' : *user;

        if (c != *table)
            return 0;
    }
    return *user == '\0' && *table == '\0';
}

const gbr_pdef *
gbr_ptable_find(const gbr_ptable *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (name_matches(name, t->defs[i].info.name))
            return &t->defs[i];
    return NULL;
}

/* The user-facing spelling of a name: hyphens, as on the command line. */
static void
dashed(const char *name, char *buf, size_t size)
{
    size_t i = 0;

    for (; name[i] && i + 1 < size; i++)
        buf[i] = name[i] == '_' ? '-' : name[i];
    buf[i] = '\0';
}

static int
in_range(const gbr_pdef *d, double v)
{
    if (isnan(v))
        return 0;
    if (d->lo_open ? !(v > d->lo) : !(v >= d->lo))
        return 0;
    if (d->hi_open ? !(v < d->hi) : !(v <= d->hi))
        return 0;
    return 1;
}

static int
range_error(const gbr_pdef *d, const char *value, gbr_error *err)
{
    char name[64];

    dashed(d->info.name, name, sizeof name);
    return gbr_fail(err, GBR_EPARAM, "%s must be in %s, got \"%.40s\"", name,
                    d->info.range, value);
}

int
gbr_ptable_set_def(const gbr_ptable *t, const gbr_pdef *d, void *p,
                   const char *value, gbr_error *err)
{
    char *slot = (char *)p + d->offset;
    char *end;

    switch (d->type) {
    case GBR_P_INT: {
        long v;

        errno = 0;
        v = strtol(value, &end, 10);
        if (end == value || *end != '\0' || errno != 0 ||
            !in_range(d, (double)v))
            return range_error(d, value, err);
        *(int *)(void *)slot = (int)v;
        return GBR_OK;
    }
    case GBR_P_DOUBLE: {
        double v;

        errno = 0;
        v = strtod(value, &end);
        if (end == value || *end != '\0' || errno != 0 || !in_range(d, v))
            return range_error(d, value, err);
        *(double *)(void *)slot = v;
        return GBR_OK;
    }
    case GBR_P_AUTO_DOUBLE: {
        double v;

        if (strcmp(value, "auto") == 0) {
            *(double *)(void *)slot = NAN;
            return GBR_OK;
        }
        errno = 0;
        v = strtod(value, &end);
        if (end == value || *end != '\0' || errno != 0 || !in_range(d, v))
            return range_error(d, value, err);
        *(double *)(void *)slot = v;
        return GBR_OK;
    }
    case GBR_P_U64: {
        unsigned long long v;

        errno = 0;
        if (!isdigit((unsigned char)value[0]))
            return range_error(d, value, err);
        v = strtoull(value, &end, 10);
        if (end == value || *end != '\0' || errno != 0)
            return range_error(d, value, err);
        *(uint64_t *)(void *)slot = (uint64_t)v;
        return GBR_OK;
    }
    case GBR_P_CHOICE:
        for (int i = 0; d->choices[i]; i++) {
            if (strcmp(value, d->choices[i]) == 0) {
                *(int *)(void *)slot = i;
                return GBR_OK;
            }
        }
        return range_error(d, value, err);
    case GBR_P_STRING:
        if (strlen(value) >= t->string_size) {
            char name[64];

            dashed(d->info.name, name, sizeof name);
            return gbr_fail(err, GBR_EPARAM,
                            "%s is longer than %zu characters", name,
                            t->string_size - 1);
        }
        strcpy(slot, value);
        return GBR_OK;
    }
    return gbr_fail(err, GBR_EPARAM, "bad parameter table");
}

void
gbr_ptable_init(const gbr_ptable *t, void *p)
{
    for (size_t i = 0; i < t->n; i++) {
        int rc = gbr_ptable_set_def(t, &t->defs[i], p, t->defs[i].info.def,
                                    NULL);

        (void)rc;       /* the defaults are in range: test_params checks */
    }
}

int
gbr_ptable_set(const gbr_ptable *t, void *p, const char *name,
               const char *value, gbr_error *err)
{
    const gbr_pdef *d = gbr_ptable_find(t, name);

    if (!d)
        return gbr_fail(err, GBR_EPARAM, "unknown parameter \"%.60s\"", name);
    return gbr_ptable_set_def(t, d, p, value, err);
}

int
gbr_ptable_get(const gbr_ptable *t, const void *p, const char *name,
               char *buf, size_t size, gbr_error *err)
{
    const gbr_pdef *d = gbr_ptable_find(t, name);
    const char *slot;

    if (!d)
        return gbr_fail(err, GBR_EPARAM, "unknown parameter \"%.60s\"", name);
    slot = (const char *)p + d->offset;
    switch (d->type) {
    case GBR_P_INT:
        snprintf(buf, size, "%d", *(const int *)(const void *)slot);
        break;
    case GBR_P_DOUBLE:
        snprintf(buf, size, "%.17g", *(const double *)(const void *)slot);
        break;
    case GBR_P_AUTO_DOUBLE: {
        double v = *(const double *)(const void *)slot;

        if (isnan(v))
            snprintf(buf, size, "auto");
        else
            snprintf(buf, size, "%.17g", v);
        break;
    }
    case GBR_P_U64:
        snprintf(buf, size, "%" PRIu64,
                 *(const uint64_t *)(const void *)slot);
        break;
    case GBR_P_CHOICE:
        snprintf(buf, size, "%s",
                 d->choices[*(const int *)(const void *)slot]);
        break;
    case GBR_P_STRING:
        snprintf(buf, size, "%s", slot);
        break;
    }
    return GBR_OK;
}

int
gbr_ptable_check(const gbr_ptable *t, const void *p, gbr_error *err)
{
    for (size_t i = 0; i < t->n; i++) {
        const gbr_pdef *d = &t->defs[i];
        const char *slot = (const char *)p + d->offset;
        char text[64];

        switch (d->type) {
        case GBR_P_INT: {
            int v = *(const int *)(const void *)slot;

            if (!in_range(d, (double)v)) {
                snprintf(text, sizeof text, "%d", v);
                return range_error(d, text, err);
            }
            break;
        }
        case GBR_P_DOUBLE: {
            double v = *(const double *)(const void *)slot;

            if (!in_range(d, v)) {
                snprintf(text, sizeof text, "%g", v);
                return range_error(d, text, err);
            }
            break;
        }
        case GBR_P_CHOICE: {
            int v = *(const int *)(const void *)slot, n = 0;

            while (d->choices[n])
                n++;
            if (v < 0 || v >= n) {
                snprintf(text, sizeof text, "%d", v);
                return range_error(d, text, err);
            }
            break;
        }
        case GBR_P_AUTO_DOUBLE: {
            double v = *(const double *)(const void *)slot;

            if (!isnan(v) && !in_range(d, v)) {
                snprintf(text, sizeof text, "%g", v);
                return range_error(d, text, err);
            }
            break;
        }
        case GBR_P_STRING: {
            char name[64];

            if (memchr(slot, '\0', t->string_size) == NULL) {
                dashed(d->info.name, name, sizeof name);
                return gbr_fail(err, GBR_EPARAM, "%s is not terminated",
                                name);
            }
            break;
        }
        case GBR_P_U64:
            break;
        }
    }
    return GBR_OK;
}
