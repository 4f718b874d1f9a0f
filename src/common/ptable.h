#ifndef GBRANK_PTABLE_H
#define GBRANK_PTABLE_H

#include <stddef.h>

#include "gbrank/params.h"

/* A table of named parameters that live at fixed offsets of a struct:
 * the machinery behind gbr_params (the trees) and gbr_rec_params (the
 * recommenders), so that both parse, print and check their values the same
 * way and each keeps one table that its CLI options, its --help and the
 * manual follow. */

enum gbr_ptype {
    GBR_P_INT,          /* int */
    GBR_P_DOUBLE,       /* double */
    GBR_P_AUTO_DOUBLE,  /* double, or "auto" stored as NaN */
    GBR_P_U64,          /* uint64_t */
    GBR_P_CHOICE,       /* int, an index into choices */
    GBR_P_STRING        /* char[string_size] of the table */
};

/* One parameter. Interval bounds [lo, hi] apply to numbers; lo_open and
 * hi_open make them exclusive. */
typedef struct gbr_pdef {
    gbr_param_info info;
    enum gbr_ptype type;
    size_t offset;
    double lo, hi;
    int lo_open, hi_open;
    const char *const *choices;         /* GBR_P_CHOICE, NULL-terminated */
} gbr_pdef;

typedef struct gbr_ptable {
    const gbr_pdef *defs;
    size_t n;
    size_t string_size;                 /* bytes of a GBR_P_STRING field */
} gbr_ptable;

/* The row called name, '-' standing for '_'; NULL when there is none. */
const gbr_pdef *gbr_ptable_find(const gbr_ptable *t, const char *name);

/* Set every field of p to its default. */
void gbr_ptable_init(const gbr_ptable *t, void *p);

/* Set the field of row d from its text form; GBR_EPARAM with a message
 * naming the parameter, its range and the value when it is not one. */
int gbr_ptable_set_def(const gbr_ptable *t, const gbr_pdef *d, void *p,
                       const char *value, gbr_error *err);

/* gbr_ptable_set_def by name; GBR_EPARAM for an unknown name. */
int gbr_ptable_set(const gbr_ptable *t, void *p, const char *name,
                   const char *value, gbr_error *err);

/* The value of the field called name as text, as gbr_ptable_set reads
 * it back. GBR_OK or GBR_EPARAM (unknown name). */
int gbr_ptable_get(const gbr_ptable *t, const void *p, const char *name,
                   char *buf, size_t size, gbr_error *err);

/* Check every field of p against its row, as a caller may have written
 * the struct directly. GBR_OK or GBR_EPARAM. */
int gbr_ptable_check(const gbr_ptable *t, const void *p, gbr_error *err);

#endif
