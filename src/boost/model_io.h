#ifndef GBRANK_MODEL_IO_H
#define GBRANK_MODEL_IO_H

#include "boost/booster_impl.h"

/* The model file's version; a reader refuses any other. */
#define GBR_MODEL_VERSION 1

#endif
