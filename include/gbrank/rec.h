#ifndef GBRANK_REC_H
#define GBRANK_REC_H

#include <stddef.h>
#include <stdint.h>

#include "gbrank/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An interaction log: who interacted with what, and when, as read from a
 * text file of lines
 *
 *     user item [rating [timestamp]]
 *
 * such as MovieLens's u.data (tabs), ratings.dat ("::") or ratings.csv
 * (commas, with a header line). The handle is opaque and read-only once
 * made; its accessors may be called from any number of threads at once.
 *
 * Parsing rules:
 *   - Fields are separated by a tab, a comma, a run of spaces or the two
 *     characters "::". The first data line decides which: a tab if it has
 *     one, else "::" if it has it, else a comma if it has one, else
 *     spaces. Every later line must have the same separator (judged the
 *     same way), so a space or a comma may be part of an id only in files
 *     separated by tabs or "::". Spaces around a field are dropped.
 *   - A line has 2, 3 or 4 fields, user item [rating [timestamp]], and
 *     every data line as many as the first one.
 *   - Empty lines, lines of spaces and lines whose first character is '#'
 *     are skipped. So is line 1 when its third field is not a number or its
 *     fourth is not an integer: it is a header. A header is recognised on
 *     line 1 only, and a file of two fields cannot have one.
 *   - Lines end with LF or CRLF; a last line need not end at all.
 *   - A rating is a finite number that strtod reads from the whole field
 *     ("4", "3.5", "1e1"); it is 1 when the file has no rating field.
 *     A timestamp is a decimal integer (int64_t); it is 0 when absent.
 *   - Users and items are arbitrary tokens: any bytes but NUL, newline and
 *     the separator, compared byte for byte ("7" and "07" are two users).
 *
 * Which interactions are kept: those whose rating is >= min_rating (with
 * no rating field, a rating of 1 is compared). A user or item appears only
 * when it has one kept interaction. The same (user, item) pair kept twice
 * counts once, with the earliest timestamp and the rating of the line that
 * had it (the first such line when several tie).
 *
 * Dense indices: users are numbered 0 .. n_users - 1 in the sorted order
 * of their id tokens, items likewise, each kind on its own: in numeric
 * order when every token of that kind is a decimal integer (an optional
 * '-' and digits, of any length; equal numbers such as "7" and "07" then
 * go in byte order), else in byte-wise (memcmp, shorter first on a
 * common prefix) order. The numbering depends only on the set of kept
 * ids, never on the order of the lines.
 *
 * Events are stored per user as CSR: the events of user u are
 * positions [user_ptr[u], user_ptr[u + 1]) of the items, times and
 * ratings arrays, sorted by timestamp and then by item index. */
typedef struct gbr_interactions gbr_interactions;

/* Read the interaction log at path, keeping the ratings >= min_rating;
 * min_rating = -INFINITY keeps every line, and so does a NaN. The file is
 * read once, front to back, and memory grows with the lines read, whatever
 * the file says of itself. On success *out is a new handle for
 * gbr_interactions_free; on failure *out is NULL and the code is returned
 * with a message in *err (err may be NULL):
 *   GBR_EIO     the file cannot be opened or read ("path: <reason>");
 *   GBR_EPARSE  a malformed line ("path:17: expected 4 fields, got 3",
 *               'path:3: rating is not a number: "x"'; lines count from
 *               1), or no interaction kept ("path: no interactions");
 *   GBR_ENOMEM  out of memory.
 * Thread-safe: calls on different handles do not interfere. */
GBR_API int gbr_interactions_read(const char *path, double min_rating,
                                  gbr_interactions **out, gbr_error *err);

/* Free ix and everything it owns. NULL is allowed. */
GBR_API void gbr_interactions_free(gbr_interactions *ix);

/* The numbers of distinct users and items with a kept interaction, and of
 * kept interactions after duplicates are merged. */
GBR_API size_t gbr_interactions_n_users(const gbr_interactions *ix);
GBR_API size_t gbr_interactions_n_items(const gbr_interactions *ix);
GBR_API size_t gbr_interactions_n_events(const gbr_interactions *ix);

/* The id token of user u or item i as it was in the file, NUL-terminated
 * and owned by ix; NULL when the index is out of range. */
GBR_API const char *gbr_interactions_user_id(const gbr_interactions *ix,
                                             size_t u);
GBR_API const char *gbr_interactions_item_id(const gbr_interactions *ix,
                                             size_t i);

/* The dense index of the user or item whose token is id, or SIZE_MAX when
 * there is none. O(log n) comparisons. */
GBR_API size_t gbr_interactions_user_index(const gbr_interactions *ix,
                                           const char *id);
GBR_API size_t gbr_interactions_item_index(const gbr_interactions *ix,
                                           const char *id);

/* The CSR arrays, owned by ix: user_ptr has n_users + 1 entries, the
 * others n_events. times are 0 when the file has no timestamp field and
 * ratings 1 when it has no rating field. */
GBR_API const size_t *gbr_interactions_user_ptr(const gbr_interactions *ix);
GBR_API const uint32_t *gbr_interactions_items(const gbr_interactions *ix);
GBR_API const int64_t *gbr_interactions_times(const gbr_interactions *ix);
GBR_API const float *gbr_interactions_ratings(const gbr_interactions *ix);

#ifdef __cplusplus
}
#endif

#endif
