#ifndef GBRANK_GAIN_H
#define GBRANK_GAIN_H

#include <math.h>
#include <stddef.h>

#include "gbrank/error.h"

/* The gain G(y) of a label in a DCG, shared by lambdarank and the ndcg
 * metrics so that what is optimised is what is measured:
 *   exp     2^y - 1, labels in [0, 31] (the default)
 *   linear  y, labels >= 0
 *   table   gain[y] from --label-gain, labels whole numbers in
 *           [0, n), n the table's length. */
enum gbr_gain_kind {
    GBR_GAIN_EXP,
    GBR_GAIN_LINEAR,
    GBR_GAIN_TABLE
};

/* Longest table: a --label-gain list fits a 255-character parameter. */
#define GBR_LABEL_GAIN_MAX 128
/* 2^y - 1 stays a small exact integer up to here. */
#define GBR_GAIN_EXP_MAX_LABEL 31

typedef struct gbr_gain {
    int kind;           /* an enum gbr_gain_kind */
    size_t n;           /* table: its length */
    double table[GBR_LABEL_GAIN_MAX];
} gbr_gain;

/* The gain of --label-gain=list, or with an empty list that of
 * --ndcg-exp-gain (exp_gain 1: exp, 0: linear). A list is comma-separated
 * finite numbers >= 0, one per label from 0, at most GBR_LABEL_GAIN_MAX.
 * Returns GBR_OK, or GBR_EPARAM naming the bad item. Thread-safe. */
int gbr_gain_parse(const char *list, int exp_gain, gbr_gain *out,
                   gbr_error *err);

/* Whether label y has a gain under g. */
static inline int
gbr_gain_label_ok(const gbr_gain *g, double y)
{
    switch (g->kind) {
    case GBR_GAIN_EXP:
        return y >= 0 && y <= GBR_GAIN_EXP_MAX_LABEL;
    case GBR_GAIN_LINEAR:
        return y >= 0 && y < INFINITY;
    default:
        return y >= 0 && y < (double)g->n && y == floor(y);
    }
}

/* G(y), for a label that gbr_gain_label_ok accepts. */
static inline double
gbr_gain_of(const gbr_gain *g, double y)
{
    switch (g->kind) {
    case GBR_GAIN_EXP:
        return exp2(y) - 1;
    case GBR_GAIN_LINEAR:
        return y;
    default:
        return g->table[(size_t)y];
    }
}

/* What labels g accepts, for messages: "labels in [0, 31]",
 * "labels >= 0" or "whole labels in [0, 4] (--label-gain has 5
 * entries)". */
void gbr_gain_describe(const gbr_gain *g, char *buf, size_t size);

#endif
