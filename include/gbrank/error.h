#ifndef GBRANK_ERROR_H
#define GBRANK_ERROR_H

#include <stddef.h>
#include <stdint.h>

#ifndef GBR_API
#if defined(__GNUC__)
#define GBR_API __attribute__((visibility("default")))
#else
#define GBR_API
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes returned by every fallible function. Append only: the
 * numbers are part of the ABI. */
enum gbr_status {
    GBR_OK = 0,
    GBR_ENOMEM,     /* an allocation failed */
    GBR_EIO,        /* a file could not be opened, read or written */
    GBR_EPARSE,     /* input text is malformed */
    GBR_EPARAM,     /* a parameter is unknown or out of range */
    GBR_EFORMAT,    /* a model file has an unknown version or key */
    GBR_ESTATE      /* the call does not fit the object's state */
};

#define GBR_ERROR_MSG_SIZE 256

/* Where a failed call leaves its message: one line, lowercase, no final
 * period, saying where the problem is. */
typedef struct gbr_error {
    int code;
    char msg[GBR_ERROR_MSG_SIZE];
} gbr_error;

/* The fixed text for a status code ("out of memory", ...). Never NULL.
 * Thread-safe. */
GBR_API const char *gbr_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif
