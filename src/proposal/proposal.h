#ifndef GBRANK_PROPOSAL_H
#define GBRANK_PROPOSAL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "gbrank/error.h"
#include "gbrank/params.h"
#include "data/dataset_impl.h"
#include "node/node.h"
#include "node/partition.h"
#include "sketch/binmat.h"
#include "sketch/sketch.h"

/* A proposal makes the candidate splits of a fit's nodes. The booster and
 * the grower drive it through these operations without knowing which one
 * it is:
 *
 *   prepare     once per fit, from the training set: sort, sketch or bin
 *               what the proposal needs, and set hist_size (slots of a
 *               node's histogram, at most) and, when the cuts stay the same
 *               for the whole fit, cuts_fixed;
 *   begin_tree  once per tree, with its gradients (may be NULL: nothing to
 *               do), before any node;
 *   root        make ready to split the root, ws->nodes[0], whose rows
 *               and sums are set (build its histogram, say);
 *   find        set node nid's best split (gbr_split_none's gain when it
 *               has none) and the raw threshold rows below which go left;
 *   route       say how node nid's rows go at its split, for the
 *               partition;
 *   children    after the partition, make the children lid and rid ready
 *               to be split (split_l, split_r: whether each will be); the
 *               node's histogram, if any, is theirs to take;
 *   free        release what prepare made beyond the common fields (may
 *               be NULL).
 *
 * The binned proposals (fixed, global, local) share a bin matrix and cuts
 * in the common fields, and the histogram steps below; exact keeps its own
 * sorted values. A new proposal is one new file with one gbr_proposer_ops
 * and one entry in the table of proposal.c. */
typedef struct gbr_proposer gbr_proposer;

typedef struct gbr_proposer_ops {
    int (*prepare)(gbr_proposer *pr, const gbr_dataset *train,
                   gbr_error *err);
    void (*begin_tree)(gbr_proposer *pr, const gbr_grow_data *gd);
    int (*root)(gbr_proposer *pr, gbr_workspace *ws, const gbr_grow_data *gd,
                gbr_error *err);
    void (*find)(gbr_proposer *pr, gbr_workspace *ws,
                 const gbr_grow_data *gd, size_t nid);
    void (*route)(gbr_proposer *pr, gbr_workspace *ws,
                  const gbr_grow_data *gd, size_t nid, gbr_part_rule *rule);
    int (*children)(gbr_proposer *pr, gbr_workspace *ws,
                    const gbr_grow_data *gd, size_t nid, size_t lid,
                    size_t rid, int split_l, int split_r, gbr_error *err);
    void (*free)(gbr_proposer *pr);
} gbr_proposer_ops;

struct gbr_proposer {
    const gbr_proposer_ops *ops;
    const gbr_params *p;
    int nt;
    size_t hist_size;           /* slots of a node's histogram, at most */
    int cuts_fixed;             /* cuts and bm stay for the whole fit */
    gbr_cuts cuts;              /* binned proposals: the candidates */
    gbr_binmat bm;              /* and the training rows' bins */
    void *impl;                 /* the proposal's own state */
};

/* b of the sketches' pruned summaries: candidates are at most 1/b of the
 * weight apart, and b <= 1/sketch_eps. */
static inline size_t
gbr_proposal_sketch_b(const gbr_params *p)
{
    return (size_t)ceil(1.0 / p->sketch_eps);
}

/* Prepare p->proposal for a fit on train with nt threads. p and train
 * are borrowed for the fit. Zeroes pr first, so that gbr_proposer_free may
 * follow any failure. GBR_OK or an error code with a message in *err. */
int gbr_proposer_create(gbr_proposer *pr, const gbr_params *p,
                        const gbr_dataset *train, int nt, gbr_error *err);
void gbr_proposer_free(gbr_proposer *pr);

static inline void
gbr_proposer_begin_tree(gbr_proposer *pr, const gbr_grow_data *gd)
{
    if (pr->ops->begin_tree)
        pr->ops->begin_tree(pr, gd);
}

static inline int
gbr_proposer_root(gbr_proposer *pr, gbr_workspace *ws,
                  const gbr_grow_data *gd, gbr_error *err)
{
    return pr->ops->root(pr, ws, gd, err);
}

static inline void
gbr_proposer_find(gbr_proposer *pr, gbr_workspace *ws,
                  const gbr_grow_data *gd, size_t nid)
{
    pr->ops->find(pr, ws, gd, nid);
}

static inline void
gbr_proposer_route(gbr_proposer *pr, gbr_workspace *ws,
                   const gbr_grow_data *gd, size_t nid, gbr_part_rule *rule)
{
    pr->ops->route(pr, ws, gd, nid, rule);
}

static inline int
gbr_proposer_children(gbr_proposer *pr, gbr_workspace *ws,
                      const gbr_grow_data *gd, size_t nid, size_t lid,
                      size_t rid, int split_l, int split_r, gbr_error *err)
{
    return pr->ops->children(pr, ws, gd, nid, lid, rid, split_l, split_r,
                             err);
}

/* The steps the binned proposals share, over pr->bm and pr->cuts. */

/* root: the root's histogram. */
int gbr_proposal_binned_root(gbr_proposer *pr, gbr_workspace *ws,
                             const gbr_grow_data *gd, gbr_error *err);

/* find, with the node's bins as the candidates (fixed, global). */
void gbr_proposal_binned_find(gbr_proposer *pr, gbr_workspace *ws,
                              const gbr_grow_data *gd, size_t nid);

/* The raw threshold of node nid's split at its bin: the cut above it. */
void gbr_proposal_binned_threshold(const gbr_proposer *pr, gbr_node *nd);

/* route: by the rows' bins, absent values by the default direction. */
void gbr_proposal_binned_route(gbr_proposer *pr, gbr_workspace *ws,
                               const gbr_grow_data *gd, size_t nid,
                               gbr_part_rule *rule);

/* children: the smaller child's histogram, the larger's by subtraction. */
int gbr_proposal_binned_children(gbr_proposer *pr, gbr_workspace *ws,
                                 const gbr_grow_data *gd, size_t nid,
                                 size_t lid, size_t rid, int split_l,
                                 int split_r, gbr_error *err);

/* The proposals, for the table of proposal.c. */
extern const gbr_proposer_ops gbr_fixed_ops;
extern const gbr_proposer_ops gbr_global_ops;
extern const gbr_proposer_ops gbr_local_ops;
extern const gbr_proposer_ops gbr_exact_ops;

#endif
