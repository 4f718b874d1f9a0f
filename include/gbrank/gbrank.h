#ifndef GBRANK_GBRANK_H
#define GBRANK_GBRANK_H

#include "gbrank/error.h"
#include "gbrank/dataset.h"
#include "gbrank/params.h"
#include "gbrank/booster.h"
#include "gbrank/rec.h"

#define GBR_VERSION "0.1.0"

#endif
