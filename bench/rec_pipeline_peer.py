#!/usr/bin/python3
"""The two-stage recommendation pipeline of issue 12 in PyTorch (1.13),
numpy and XGBoost (1.7.4): the reference that gbrank's pipeline (rec
split, the first-stage models, features, fit --proposal=global, rec eval)
is timed and scored beside.

usage: rec_pipeline_peer.py LOG [--seed=N] [--split=temporal|random]
           [--threads=N] [--candidates=K]
           [--objective=rank:pairwise|rank:ndcg]

The protocol:
  1. Positives are the ratings >= 4 (one per user and item, the earliest),
     users with >= 5 of them are kept. Each user's positives, in (time,
     item) order (--split=temporal) or in a random order drawn from the
     seed (--split=random), fall in three windows the way `gbrank rec
     split --fractions=0.6,0.2,0.2` cuts them: the later windows first,
     C the last round(0.2 n) and B the round(0.2 n) before it, each at
     least 1 while one positive is left, and A (about 60%) the rest.
  2. Stage one: pop, item-knn, EASE (lambda 200), BPR-MF (bpr loss, 1024
     extra negatives, 30 epochs) and Multi-VAE (75 epochs), the code of
     rec_peer.py beside this file, fitted on A. Each user's candidates
     are the union of every model's top K (default 50) unseen items. The
     features of a (user, candidate) pair, 26: for each model its score,
     log2(1 + rank) among the user's unseen items, the score's z-score
     over those items and its gap to the user's top score; how many
     models nominated the item; log2(1 + the best rank); the item's
     popularity (positives in the history); the user's activity; the
     mean popularity of the user's history and the item's gap to it.
     The label is 1 when the item is in B.
  3. The XGBoost ranker (tree_method hist, 200 rounds, eta 0.1, max depth
     6, one group a user) learns from the B-labelled features; a linear
     blend of the models' z-scored scores gets its weights from a
     coordinate search for NDCG@10 on B.
  4. The models are refitted on A+B with the same settings and seeds; the
     candidates and features come the same way from the A+B history,
     labelled by C. The re-ranker's ranking of the catalogue (the items
     with a positive in A+B, the user's A+B items excluded): its
     candidates by ranker score, then the other items by EASE's score.
     NDCG@10 (binary gains, the ideal over min(|C|, 10)) and Recall@20
     (hits / min(20, |C|)), |C| counting the test items outside the
     catalogue too, averaged over the users -- rec_peer.py's metrics, so
     the single models' rows here are what rec_peer.py reports for them
     on the temporal split (Multi-VAE with --epochs=75).

stdout, one line a method (pop, item-knn, ease, bpr-mf, multi-vae, blend,
xgboost-<objective>, ceiling: the candidates ordered perfectly):
  method=... ndcg@10=... recall@20=...
and a last line of seconds: load_s (reading and split), stage1_s (the
fits on A), features_s (candidates and features, both stages, with the
models' scoring), ranker_s (XGBoost's training and the blend's search),
refit_s (the fits on A+B), eval_s (the ranker's predictions and every
metric) and total_s. Progress, blend weights and candidate statistics go
to stderr.

Examples:
  OMP_WAIT_POLICY=PASSIVE rec_pipeline_peer.py --threads=2 u.data
  rec_pipeline_peer.py --split=random --seed=2 --objective=rank:ndcg u.data
"""
import argparse
import os
import sys
import time


def parse_args(argv):
    p = argparse.ArgumentParser(
        description='PyTorch + XGBoost two-stage recommender beside '
                    'gbrank\'s.')
    p.add_argument('log', metavar='LOG')
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--split', default='temporal',
                   choices=('temporal', 'random'))
    p.add_argument('--threads', type=int, default=0, help='0: every core')
    p.add_argument('--candidates', type=int, default=50,
                   help='each model\'s top K unseen items')
    p.add_argument('--objective', default='rank:pairwise',
                   choices=('rank:pairwise', 'rank:ndcg'))
    p.add_argument('--rounds', type=int, default=200)
    p.add_argument('--min-rating', type=float, default=4.0)
    p.add_argument('--min-positives', type=int, default=5)
    a = p.parse_args(argv)
    if a.threads <= 0:
        a.threads = os.cpu_count() or 1
    if a.candidates < 1:
        p.error('--candidates must be at least 1')
    return a


# The thread count has to reach OpenMP and OpenBLAS before torch loads
# (rec_peer imports it).
ARGS = parse_args(sys.argv[1:]) if __name__ == '__main__' else None
if ARGS is not None:
    for var in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS'):
        os.environ[var] = str(ARGS.threads)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import xgboost as xgb  # noqa: E402

import rec_peer  # noqa: E402
from rec_peer import log  # noqa: E402

FRACTIONS = (0.6, 0.2, 0.2)
MODELS = ('pop', 'item-knn', 'ease', 'bpr-mf', 'multi-vae')
FILL = 'ease'                   # orders the items after the candidates
VAE_EPOCHS = 75
BLEND_GRID = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0)
BLEND_PASSES = 3


# ---------------------------------------------------------------- data


def c_round(x):
    """C's round() for x >= 0: halves away from zero."""
    f = np.floor(x)
    return (f + (x - f >= 0.5)).astype(np.int64)


def windows(u, n_users, fractions, scheme, seed):
    """For events sorted by (user, time, item), each one's window: 0 for
    A, 1 for B, ... as gbr_rec_split cuts them. Random: a per-user
    shuffle drawn from the seed decides who falls where."""
    n = np.bincount(u, minlength=n_users)
    start = np.concatenate(([0], np.cumsum(n)[:-1]))
    left = n.copy()
    size = np.zeros((len(fractions), n_users), dtype=np.int64)
    for k in range(len(fractions) - 1, 0, -1):
        want = np.maximum(1, c_round(fractions[k] * n))
        want = np.minimum(want, left - 1)
        size[k] = want
        left -= want
    size[0] = left
    pos = np.arange(len(u)) - start[u]
    if scheme == 'random':
        rng = np.random.default_rng(seed)
        perm = np.lexsort((rng.random(len(u)), u))   # shuffled in a user
        shuffled = np.empty(len(u), dtype=np.int64)
        shuffled[perm] = np.arange(len(u)) - start[u[perm]]
        pos = shuffled
    bounds = np.cumsum(size, axis=0)                 # ends of the windows
    w = np.zeros(len(u), dtype=np.int64)
    for k in range(len(fractions) - 1):
        w += pos >= bounds[k][u]
    return w


class Part:
    """The fields of rec_peer.Split that its models and evaluate() read:
    a history (training) matrix over its own catalogue and a test window.
    n_test counts every test positive, those outside the catalogue too."""

    def __init__(self, u, i, hist, test, n_users):
        self.n_users = n_users
        catalogue, tr_items = np.unique(i[hist], return_inverse=True)
        self.catalogue = catalogue
        self.n_items = len(catalogue)
        remap = np.full(i.max() + 1, -1, dtype=np.int64)
        remap[catalogue] = np.arange(self.n_items)
        tr_users = u[hist]
        te_users, te_items = u[test], remap[i[test]]
        te_in = te_items >= 0
        self.n_test = torch.from_numpy(
            np.bincount(te_users, minlength=n_users).astype(np.int64))
        self.train_users = torch.from_numpy(tr_users.astype(np.int64))
        self.train_items = torch.from_numpy(tr_items.astype(np.int64))
        self.train_ptr = rec_peer.csr_ptr(tr_users, n_users)
        self.test_ptr = rec_peer.csr_ptr(te_users[te_in], n_users)
        self.test_items = torch.from_numpy(te_items[te_in].astype(np.int64))
        self.n_train = len(tr_users)


def load(a):
    """A (history) with B (test) and A+B (history) with C (test)."""
    u, i, r, t = rec_peer.read_log(a.log)
    keep = r >= a.min_rating
    u, i, t = u[keep], i[keep], t[keep]
    _, u = np.unique(u, return_inverse=True)
    _, i = np.unique(i, return_inverse=True)
    order = rec_peer.order_by(t, i, u)               # earliest per pair
    u, i, t = u[order], i[order], t[order]
    first = np.ones(len(u), dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (i[1:] != i[:-1])
    u, i, t = u[first], i[first], t[first]
    kept_user = np.bincount(u) >= a.min_positives
    keep = kept_user[u]
    u, i, t = u[keep], i[keep], t[keep]
    n_users = int(kept_user.sum())
    u = (np.cumsum(kept_user) - 1)[u]
    order = rec_peer.order_by(i, t, u)               # user, time, item
    u, i = u[order], i[order]
    w = windows(u, n_users, FRACTIONS, a.split, a.seed)
    return (Part(u, i, w == 0, w == 1, n_users),
            Part(u, i, w <= 1, w == 2, n_users))


# ------------------------------------------------------------ stage one


def model_args(a, model):
    """rec_peer's settings for a model, Multi-VAE trained 75 epochs."""
    m = rec_peer.parse_args(['--model=' + model, '--threads=%d' % a.threads,
                             '--seed=%d' % a.seed, a.log])
    if model == 'multi-vae':
        m.epochs = VAE_EPOCHS
    return m


def fit_models(part, a):
    """Every model's scorer, each fit starting from the seed as
    rec_peer.py's run of that model alone does."""
    fits = {}
    for name in MODELS:
        torch.manual_seed(a.seed)
        np.random.seed(a.seed)
        m = model_args(a, name)
        t0 = time.perf_counter()
        if name == 'pop':
            score, _ = rec_peer.fit_pop(part, m)
        elif name == 'item-knn':
            score, _ = rec_peer.fit_item_knn(part, m)
        elif name == 'ease':
            score, _ = rec_peer.fit_ease(part, m)
        elif name == 'bpr-mf':
            score = rec_peer.fit_bpr_mf(part, m, [])
        else:
            score = rec_peer.fit_vae(part, m, [], True)
        log('fit %s on %d positives: %.2f s'
            % (name, part.n_train, time.perf_counter() - t0))
        fits[name] = score
    return fits


def feature_names():
    names = []
    for m in MODELS:
        names += [m + '.score', m + '.log2_rank', m + '.z', m + '.gap_top']
    return names + ['n_nominating', 'log2_min_rank', 'item_pop',
                    'user_activity', 'user_mean_pop', 'item_pop_gap']


class Stage:
    """Candidates, features and labels of a history and its label window,
    and each model's z-scored scores over the catalogue (for the blend;
    the user's history items 0)."""

    def __init__(self, part, fits, k):
        n_u, n_i = part.n_users, part.n_items
        hist_len = (part.train_ptr[1:] - part.train_ptr[:-1]).double()
        pop = torch.bincount(part.train_items, minlength=n_i).double()
        x_ones = rec_peer.dense_rows(part.train_ptr, part.train_items,
                                     torch.arange(n_u), n_i, torch.float64)
        mean_pop = (x_ones @ pop) / hist_len.clamp(min=1)
        del x_ones
        self.z = {m: torch.zeros(n_u, n_i, dtype=torch.float32)
                  for m in MODELS}
        feats, labels, users, items = [], [], [], []
        batch = max(64, min(n_u, (1 << 22) // max(1, n_i)))
        ranks_1 = torch.arange(1, n_i + 1, dtype=torch.int64)
        with torch.no_grad():
            for s in range(0, n_u, batch):
                ub = torch.arange(s, min(s + batch, n_u))
                seen = rec_peer.dense_rows(part.train_ptr, part.train_items,
                                           ub, n_i, torch.bool)
                unseen_n = (~seen).sum(1).double()
                per = {}
                cand = torch.zeros(len(ub), n_i, dtype=torch.bool)
                for m in MODELS:
                    sc = fits[m](ub).double().masked_fill(seen,
                                                          float('-inf'))
                    top, order = torch.sort(sc, dim=1, descending=True,
                                            stable=True)
                    rank = torch.empty_like(order)
                    rank.scatter_(1, order, ranks_1.expand(len(ub), -1))
                    cand |= (rank <= k) & ~seen
                    s0 = sc.masked_fill(seen, 0.0)
                    mu = s0.sum(1) / unseen_n.clamp(min=1)
                    dev = (s0 - mu[:, None]).masked_fill(seen, 0.0)
                    sd = torch.sqrt((dev * dev).sum(1)
                                    / unseen_n.clamp(min=1))
                    z = torch.where(sd[:, None] > 0,
                                    dev / sd.clamp(min=1e-300)[:, None],
                                    torch.zeros_like(dev))
                    self.z[m][ub] = z.float()
                    per[m] = (s0, rank, z, top[:, 0:1] - s0)
                r, c = cand.nonzero(as_tuple=True)
                cols, rank_min = [], None
                n_nom = torch.zeros(len(r), dtype=torch.float64)
                for m in MODELS:
                    s0, rank, z, gap = per[m]
                    rk = rank[r, c]
                    cols += [s0[r, c], torch.log2(1.0 + rk.double()),
                             z[r, c], gap[r, c]]
                    n_nom += (rk <= k).double()
                    rank_min = rk if rank_min is None else \
                        torch.minimum(rank_min, rk)
                uu = ub[r]
                cols += [n_nom, torch.log2(1.0 + rank_min.double()), pop[c],
                         hist_len[uu], mean_pop[uu], pop[c] - mean_pop[uu]]
                feats.append(torch.stack(cols, 1).float())
                truth = rec_peer.dense_rows(part.test_ptr, part.test_items,
                                            ub, n_i, torch.bool)
                labels.append(truth[r, c])
                users.append(uu)
                items.append(c)
        self.x = torch.cat(feats).numpy()
        self.y = torch.cat(labels).numpy().astype(np.float32)
        self.users = torch.cat(users)
        self.items = torch.cat(items)
        self.groups = np.bincount(self.users.numpy(), minlength=n_u)
        self.n_items = n_i


def describe(stage, part, name):
    per_user = stage.groups.mean()
    reach = stage.y.sum() / max(1, int(part.n_test.sum()))
    log('%s: %d rows, %.1f candidates a user, %.3f of the label window '
        'in them' % (name, len(stage.y), per_user, reach))


# ------------------------------------------------------------ stage two


def blend_score(stage, w):
    total = None
    for m, wm in zip(MODELS, w):
        if wm:
            total = stage.z[m] * wm if total is None \
                else total + stage.z[m] * wm
    if total is None:
        total = torch.zeros_like(stage.z[MODELS[0]])
    return lambda users: total[users]


def tune_blend(stage, part):
    """Coordinate search on BLEND_GRID for NDCG@10 of the label window,
    from the best single model alone."""
    single = []
    for j, m in enumerate(MODELS):
        w = [0.0] * len(MODELS)
        w[j] = 1.0
        single.append((rec_peer.evaluate(part, blend_score(stage, w))[0], j))
    best, j = max(single)
    w = [0.0] * len(MODELS)
    w[j] = 1.0
    for _ in range(BLEND_PASSES):
        moved = False
        for j in range(len(MODELS)):
            for v in BLEND_GRID:
                if v == w[j]:
                    continue
                t = list(w)
                t[j] = v
                if not any(t):
                    continue
                nd = rec_peer.evaluate(part, blend_score(stage, t))[0]
                if nd > best + 1e-12:
                    best, w, moved = nd, t, True
        if not moved:
            break
    log('blend weights %s, ndcg@10 on the tuning window %.4f'
        % (' '.join('%s=%g' % mw for mw in zip(MODELS, w)), best))
    return w


def train_ranker(stage, a):
    d = xgb.DMatrix(stage.x, label=stage.y, feature_names=feature_names())
    d.set_group(stage.groups[stage.groups > 0])
    params = {'objective': a.objective, 'tree_method': 'hist', 'eta': 0.1,
              'max_depth': 6, 'nthread': a.threads, 'seed': a.seed}
    return xgb.train(params, d, num_boost_round=a.rounds)


def candidates_first(stage, key):
    """A score matrix that puts each user's candidates first, ordered by
    key (one value a candidate row), the other items after them in
    FILL's order."""
    full = stage.z[FILL].double().clone()
    full[stage.users, stage.items] = 1e6 + torch.as_tensor(key,
                                                           dtype=torch.float64)
    return lambda users: full[users]


# ---------------------------------------------------------------- main


def main(a):
    torch.set_num_threads(a.threads)
    t_all = time.perf_counter()

    t0 = time.perf_counter()
    part_a, part_ab = load(a)
    load_s = time.perf_counter() - t0
    log('%d users; A: %d positives over %d items, B: %d; A+B: %d over %d '
        'items, C: %d' % (part_a.n_users, part_a.n_train, part_a.n_items,
                          int(part_a.n_test.sum()), part_ab.n_train,
                          part_ab.n_items, int(part_ab.n_test.sum())))

    t0 = time.perf_counter()
    fits_a = fit_models(part_a, a)
    stage1_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    st_b = Stage(part_a, fits_a, a.candidates)
    features_s = time.perf_counter() - t0
    describe(st_b, part_a, 'features on A, labels B')
    del fits_a

    t0 = time.perf_counter()
    ranker = train_ranker(st_b, a)
    weights = tune_blend(st_b, part_a)
    ranker_s = time.perf_counter() - t0
    del st_b

    t0 = time.perf_counter()
    fits_ab = fit_models(part_ab, a)
    refit_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    st_c = Stage(part_ab, fits_ab, a.candidates)
    features_s += time.perf_counter() - t0
    describe(st_c, part_ab, 'features on A+B, labels C')

    t0 = time.perf_counter()
    rows = []
    for m in MODELS:
        rows.append((m, rec_peer.evaluate(part_ab, fits_ab[m])))
    rows.append(('blend', rec_peer.evaluate(part_ab,
                                            blend_score(st_c, weights))))
    pred = ranker.predict(xgb.DMatrix(st_c.x,
                                      feature_names=feature_names()))
    rows.append(('xgboost-' + a.objective,
                 rec_peer.evaluate(part_ab, candidates_first(st_c, pred))))
    ideal = pred.astype(np.float64) + 1e6 * st_c.y
    rows.append(('ceiling',
                 rec_peer.evaluate(part_ab, candidates_first(st_c, ideal))))
    eval_s = time.perf_counter() - t0

    for name, (ndcg, recall) in rows:
        print('method=%s ndcg@10=%.4f recall@20=%.4f' % (name, ndcg, recall))
    total_s = time.perf_counter() - t_all
    print('load_s=%.2f stage1_s=%.2f features_s=%.2f ranker_s=%.2f '
          'refit_s=%.2f eval_s=%.2f total_s=%.2f'
          % (load_s, stage1_s, features_s, ranker_s, refit_s, eval_s,
             total_s), flush=True)


if __name__ == '__main__':
    main(ARGS)
