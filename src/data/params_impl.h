#ifndef GBRANK_PARAMS_INTERNAL_H
#define GBRANK_PARAMS_INTERNAL_H

#include "gbrank/params.h"

/* Names of the choices of an enum parameter, for model files and logs. */
const char *gbr_objective_name(int objective);
int gbr_objective_from_name(const char *name);

/* Write one log line through p->log_fn when it is set. */
void gbr_log(const gbr_params *p, int level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
