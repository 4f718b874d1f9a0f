#include "objective/gain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* Items end at commas; an empty item, a number with trailing text, a
 * negative, infinite or NaN gain, or more than GBR_LABEL_GAIN_MAX items
 * is an error naming the item (counting from label 0). */
int
gbr_gain_parse(const char *list, int exp_gain, gbr_gain *out,
               gbr_error *err)
{
    const char *s = list;

    memset(out, 0, sizeof *out);
    if (!list || !list[0]) {
        out->kind = exp_gain ? GBR_GAIN_EXP : GBR_GAIN_LINEAR;
        return GBR_OK;
    }
    out->kind = GBR_GAIN_TABLE;
    for (;;) {
        const char *comma = strchr(s, ',');
        const size_t len = comma ? (size_t)(comma - s) : strlen(s);
        char item[64];
        char *end;
        double v;

        if (out->n == GBR_LABEL_GAIN_MAX)
            return gbr_fail(err, GBR_EPARAM, "label-gain: more than %d "
                            "gains", GBR_LABEL_GAIN_MAX);
        if (len == 0 || len >= sizeof item)
            return gbr_fail(err, GBR_EPARAM, "label-gain: the gain of "
                            "label %zu is %s", out->n,
                            len ? "too long" : "empty");
        memcpy(item, s, len);
        item[len] = '\0';
        errno = 0;
        v = strtod(item, &end);
        if (end == item || *end != '\0' || errno == ERANGE ||
            !(v >= 0) || isinf(v))
            return gbr_fail(err, GBR_EPARAM, "label-gain: the gain of "
                            "label %zu must be a finite number >= 0, got "
                            "\"%s\"", out->n, item);
        out->table[out->n++] = v;
        if (!comma)
            return GBR_OK;
        s = comma + 1;
    }
}

void
gbr_gain_describe(const gbr_gain *g, char *buf, size_t size)
{
    switch (g->kind) {
    case GBR_GAIN_EXP:
        snprintf(buf, size, "labels in [0, %d]",
                 GBR_GAIN_EXP_MAX_LABEL);
        break;
    case GBR_GAIN_LINEAR:
        snprintf(buf, size, "labels >= 0");
        break;
    default:
        snprintf(buf, size, "whole labels in [0, %zu] (label-gain has %zu "
                 "entries)", g->n - 1, g->n);
        break;
    }
}
