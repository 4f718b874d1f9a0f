#!/usr/bin/python3
"""PyTorch (1.13) and numpy recommenders, the peer that gbrank's own
recommenders are timed beside: the same data protocol, algorithms and
metrics as gbrank's recommender notes, written the way one would write
them in PyTorch for speed.

usage: rec_peer.py --model=MODEL [options] LOG

MODEL is one of
  pop        count of training positives (ties: lower item index first)
  item-knn   cosine similarity on the binary user-item matrix, all
             neighbours, no self-similarity
  ease       EASE (Steck 2019), closed form through a dense inverse
  bpr-mf     matrix factorisation with item biases, trained by Adagrad on
             batches of (user, item) pairs with in-batch (and optionally
             extra uniform) negatives, --loss=bpr|top1|bpr-max|top1-max
  multi-vae  Multi-VAE (Liang et al. 2018), Adam, annealed KL weight
  multi-dae  Multi-DAE, the same without sampling and KL, L2 on weights

LOG is an interaction log of "user item rating time" lines, separated by
tabs, "::", commas or spaces (a header line is skipped). Positives are
the ratings >= --min-rating; users with at least --min-positives of them
are kept; each user's last 20% of positives by (time, item) is the test.
The model scores every item with a training positive, the user's own
training items excluded, and NDCG@10 and Recall@20 are averaged over the
users.

Per epoch, a line "epoch N loss X seconds S" goes to stderr; at the end
one tab-separated line of key=value fields goes to stdout: model, loss,
users, items, train_events, epochs, load_s (reading and split), fit_s,
epoch_s (median seconds of an epoch, training only; "-" for the models
without epochs), peak_mb (peak resident memory), ndcg@10, recall@20 and
eval_s.

Examples:
  rec_peer.py --model=pop u.data
  rec_peer.py --model=bpr-mf --loss=top1-max --extra-negatives=64 u.data
  OMP_WAIT_POLICY=PASSIVE rec_peer.py --model=multi-vae --threads=2 log.tsv
"""
import argparse
import os
import resource
import sys
import time
import warnings

import numpy as np

MODELS = ('pop', 'item-knn', 'ease', 'bpr-mf', 'multi-vae', 'multi-dae')
LOSSES = ('bpr', 'top1', 'bpr-max', 'top1-max')

# Defaults of the shared flags, per model and, for bpr-mf, per loss: the
# best found on ml-100k (NDCG@10 / Recall@20 there, seed 1: EASE
# 0.1453/0.2201, bpr 0.1366/0.2123, top1-max 0.1362/0.2107, bpr-max
# 0.1335/0.2052, Multi-VAE about 0.137/0.222 and Multi-DAE 0.140/0.219
# over seeds 1-3).
DEFAULTS = {
    'bpr-mf': dict(learning_rate=0.05, batch_size=1024),
    'multi-vae': dict(learning_rate=1e-3, l2=0.0, epochs=60, batch_size=250),
    'multi-dae': dict(learning_rate=1e-3, l2=0.003, epochs=50,
                      batch_size=250),
}
LOSS_DEFAULTS = {
    'bpr': dict(l2=1e-4, epochs=30, extra_negatives=1024),
    'top1': dict(l2=1e-4, epochs=20, extra_negatives=1024),
    'bpr-max': dict(l2=2e-4, epochs=10, extra_negatives=256),
    'top1-max': dict(l2=1e-4, epochs=20, extra_negatives=1024),
}
EASE_LAMBDA = 200.0


def parse_args(argv):
    p = argparse.ArgumentParser(
        description='PyTorch recommenders beside gbrank\'s.',
        usage='%(prog)s --model=MODEL [options] LOG')
    p.add_argument('--model', required=True, choices=MODELS)
    p.add_argument('--loss', default='bpr', choices=LOSSES)
    p.add_argument('--dim', type=int, default=64)
    p.add_argument('--learning-rate', type=float)
    p.add_argument('--l2', type=float)
    p.add_argument('--epochs', type=int)
    p.add_argument('--batch-size', type=int)
    p.add_argument('--extra-negatives', type=int)
    p.add_argument('--bpr-max-reg', type=float, default=1.0)
    p.add_argument('--init-std', type=float, default=0.1)
    p.add_argument('--hidden', type=int, default=600)
    p.add_argument('--latent', type=int, default=200)
    p.add_argument('--dropout', type=float, default=0.5)
    p.add_argument('--anneal-cap', type=float, default=0.2)
    p.add_argument('--anneal-steps', type=int, default=0,
                   help='updates to reach the cap (0: the whole run)')
    p.add_argument('--ease-lambda', type=float, default=EASE_LAMBDA)
    p.add_argument('--threads', type=int, default=0,
                   help='0: every core')
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--min-rating', type=float, default=4.0)
    p.add_argument('--min-positives', type=int, default=5)
    p.add_argument('--eval-batch', type=int, default=0,
                   help='users scored at a time (0: by the catalogue size)')
    p.add_argument('--eval-every', type=int, default=0,
                   help='also evaluate every N epochs (stderr; for tuning)')
    p.add_argument('log', metavar='LOG')
    a = p.parse_args(argv)
    defaults = dict(DEFAULTS.get(a.model, {}))
    if a.model == 'bpr-mf':
        defaults.update(LOSS_DEFAULTS[a.loss])
    for k, v in defaults.items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    if a.extra_negatives is None:
        a.extra_negatives = 0
    if a.epochs is None:
        a.epochs = 0
    if a.l2 is None:
        a.l2 = 0.0
    if a.threads <= 0:
        a.threads = os.cpu_count() or 1
    return a


# The thread count has to reach OpenMP and OpenBLAS before torch loads.
ARGS = parse_args(sys.argv[1:]) if __name__ == '__main__' else None
if ARGS is not None:
    for var in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS'):
        os.environ[var] = str(ARGS.threads)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- data


def read_log(path):
    """The log's columns (user, item, rating, time) as float64 arrays. The
    fast path is numpy's text parser on numeric tokens; ids that are not
    numbers go through a plain loop and are ordered byte-wise."""
    with open(path, 'rb') as fp:
        data = fp.read()
    pos = 0
    while True:                         # the first data line
        end = data.find(b'\n', pos)
        end = len(data) if end < 0 else end
        head = data[pos:end].strip()
        if head and not head.startswith(b'#'):
            break
        if end >= len(data):
            raise SystemExit('%s: no interactions' % path)
        pos = end + 1
    sep = (b'\t' if b'\t' in head else b'::' if b'::' in head
           else b',' if b',' in head else None)
    fields = [f.strip() for f in (head.split(sep) if sep else head.split())]
    nf = len(fields)
    if nf < 2 or nf > 4:
        raise SystemExit('%s: expected 2 to 4 fields, got %d' % (path, nf))

    def number(tok, integer=False):
        try:
            int(tok) if integer else float(tok)
            return True
        except ValueError:
            return False

    header = ((nf > 2 and not number(fields[2]))
              or (nf > 3 and not number(fields[3], True)))
    data = data[end + 1:] if header else data[pos:]
    if b'#' in data:
        data = b'\n'.join(ln for ln in data.split(b'\n')
                          if not ln.lstrip().startswith(b'#'))
    text = data
    if sep == b'::':
        text = text.replace(b'::', b' ')
    elif sep == b',':
        text = text.replace(b',', b' ')
    try:
        with warnings.catch_warnings():
            # a token that is not a number stops the parse with a warning
            warnings.simplefilter('error', DeprecationWarning)
            flat = np.fromstring(text, dtype=np.float64, sep=' ')
        if flat.size % nf:
            raise ValueError
        cols = flat.reshape(-1, nf)
        u, i = cols[:, 0], cols[:, 1]
        r = cols[:, 2] if nf > 2 else np.ones(len(u))
        t = cols[:, 3] if nf > 3 else np.zeros(len(u))
        return u, i, r, t
    except (ValueError, DeprecationWarning):
        pass
    us, its, rs, ts = [], [], [], []
    for ln in data.split(b'\n'):
        if not ln.strip():
            continue
        f = [x.strip() for x in (ln.split(sep) if sep else ln.split())]
        if len(f) != nf:
            raise SystemExit('%s: expected %d fields, got %d'
                             % (path, nf, len(f)))
        us.append(f[0])
        its.append(f[1])
        rs.append(float(f[2]) if nf > 2 else 1.0)
        ts.append(float(f[3]) if nf > 3 else 0.0)

    def ranks(tokens):
        try:
            return np.array([float(x) for x in tokens])
        except ValueError:
            _, inv = np.unique(np.array(tokens, dtype=object),
                               return_inverse=True)
            return inv.astype(np.float64)
    return ranks(us), ranks(its), np.array(rs), np.array(ts)


class Split:
    """The protocol: positives, the kept users, the temporal split and the
    training catalogue. Users and items are dense indices; CSR arrays are
    torch int64 tensors."""

    def __init__(self, path, min_rating, min_positives):
        u, i, r, t = read_log(path)
        keep = r >= min_rating
        u, i, t = u[keep], i[keep], t[keep]
        _, u = np.unique(u, return_inverse=True)
        _, i = np.unique(i, return_inverse=True)
        # one event per (user, item): the earliest time
        order = order_by(t, i, u)
        u, i, t = u[order], i[order], t[order]
        first = np.ones(len(u), dtype=bool)
        first[1:] = (u[1:] != u[:-1]) | (i[1:] != i[:-1])
        u, i, t = u[first], i[first], t[first]
        n_pos = np.bincount(u)
        kept_user = n_pos >= min_positives
        keep = kept_user[u]
        u, i, t = u[keep], i[keep], t[keep]
        self.n_users = int(kept_user.sum())
        u = (np.cumsum(kept_user) - 1)[u]
        self.n_positive_items = len(np.unique(i))
        # per user by (time, item); the last max(1, round(0.2 n)) are test
        order = order_by(i, t, u)
        u, i = u[order], i[order]
        n = np.bincount(u, minlength=self.n_users)
        start = np.concatenate(([0], np.cumsum(n)[:-1]))
        n_test = np.maximum(1, np.floor(0.2 * n + 0.5).astype(np.int64))
        pos = np.arange(len(u)) - start[u]
        test = pos >= (n - n_test)[u]
        catalogue, tr_items = np.unique(i[~test], return_inverse=True)
        self.n_items = len(catalogue)
        remap = np.full(i.max() + 1, -1, dtype=np.int64)
        remap[catalogue] = np.arange(self.n_items)
        tr_users = u[~test]
        te_users, te_items = u[test], remap[i[test]]
        self.n_test = torch.from_numpy(n_test)           # |test| per user
        te_in = te_items >= 0
        self.train_users = torch.from_numpy(tr_users.astype(np.int64))
        self.train_items = torch.from_numpy(tr_items.astype(np.int64))
        self.train_ptr = csr_ptr(tr_users, self.n_users)
        self.test_ptr = csr_ptr(te_users[te_in], self.n_users)
        self.test_items = torch.from_numpy(te_items[te_in].astype(np.int64))
        self.n_train = len(tr_users)


def order_by(*keys):
    """np.lexsort(keys) (the last key the primary one), through a single
    int64 key when the keys are integers that fit in one."""
    packed, bits = np.zeros(len(keys[0]), dtype=np.int64), 0
    for k in keys:
        lo, hi = (k.min(), k.max()) if len(k) else (0, 0)
        if k.dtype.kind == 'f' and not np.array_equal(k, np.floor(k)):
            return np.lexsort(keys)
        width = int(hi - lo).bit_length()
        if bits + width > 62:
            return np.lexsort(keys)
        packed |= (k - lo).astype(np.int64) << bits
        bits += width
    return np.argsort(packed, kind='stable')


def csr_ptr(rows_sorted, n_rows):
    counts = np.bincount(rows_sorted, minlength=n_rows)
    return torch.from_numpy(np.concatenate(([0], np.cumsum(counts)))
                            .astype(np.int64))


def batch_entries(ptr, cols, rows):
    """The nonzeros of rows `rows` of the CSR matrix (ptr, cols): for each,
    its row in the batch and its column; and the rows' lengths."""
    start = ptr[rows]
    lens = ptr[rows + 1] - start
    r = torch.repeat_interleave(torch.arange(len(rows)), lens)
    offs = torch.cumsum(lens, 0) - lens
    at = torch.arange(len(r)) - offs[r] + start[r]
    return r, cols[at], lens


def dense_rows(ptr, cols, rows, n_cols, dtype=torch.float32):
    """Rows `rows` of the CSR matrix (ptr, cols) with ones as a dense
    len(rows) x n_cols tensor."""
    r, c, _ = batch_entries(ptr, cols, rows)
    out = torch.zeros(len(rows), n_cols, dtype=dtype)
    out.view(-1).index_fill_(0, r * n_cols + c, 1)
    return out


# ---------------------------------------------------------- evaluation


def top_k(scores, k):
    """Indices of the k best scores of each row, best first, ties by lower
    index. torch.topk does not order ties, so its picks are ordered by
    (score, index), and rows with a tie across the k-th place are sorted
    whole with a stable sort."""
    vals, idx = torch.topk(scores, k, dim=1)
    idx, o = torch.sort(idx, dim=1)
    vals = torch.gather(vals, 1, o)
    vals, o = torch.sort(vals, dim=1, descending=True, stable=True)
    idx = torch.gather(idx, 1, o)
    kth = vals[:, k - 1:k]
    tied = (scores == kth).sum(1) > (vals == kth).sum(1)
    if bool(tied.any()):
        rows = tied.nonzero().squeeze(1)
        _, full = torch.sort(scores[rows], dim=1, descending=True,
                             stable=True)
        idx[rows] = full[:, :k]
    return idx


def evaluate(split, score, batch=0):
    """Mean NDCG@10 and Recall@20 over the users. score(users) gives a
    len(users) x n_items tensor."""
    n_items = split.n_items
    if batch <= 0:
        batch = max(64, min(4096, (1 << 24) // max(1, n_items)))
    k = min(20, n_items)
    disc = 1.0 / torch.log2(torch.arange(2, 12, dtype=torch.float64))
    idcg_table = torch.cat((torch.zeros(1, dtype=torch.float64),
                            torch.cumsum(disc, 0)))
    ndcg_sum = recall_sum = 0.0
    n_eval = 0
    with torch.no_grad():
        for s in range(0, split.n_users, batch):
            users = torch.arange(s, min(s + batch, split.n_users))
            sc = score(users)
            seen = dense_rows(split.train_ptr, split.train_items, users,
                              n_items, torch.bool)
            sc = sc.masked_fill(seen, float('-inf'))
            top = top_k(sc, k)
            truth = dense_rows(split.test_ptr, split.test_items, users,
                               n_items, torch.bool)
            hits = torch.gather(truth, 1, top).double()
            n_test = split.n_test[users]
            dcg = (hits[:, :10] * disc[:hits[:, :10].shape[1]]).sum(1)
            idcg = idcg_table[torch.clamp(n_test, max=10)]
            ndcg_sum += float((dcg / idcg).sum())
            recall_sum += float(hits[:, :20].sum(1).div(
                torch.clamp(n_test, max=20).double()).sum())
            n_eval += len(users)
    return ndcg_sum / n_eval, recall_sum / n_eval


# -------------------------------------------------------------- models


def fit_pop(split, a):
    counts = torch.bincount(split.train_items, minlength=split.n_items)
    counts = counts.double()
    return lambda users: counts.expand(len(users), -1), []


def item_gram(split, dtype):
    """X^T X of the binary training matrix, through dense user blocks."""
    n = split.n_items
    g = torch.zeros(n, n, dtype=dtype)
    block = max(256, (1 << 24) // max(1, n))
    for s in range(0, split.n_users, block):
        users = torch.arange(s, min(s + block, split.n_users))
        x = dense_rows(split.train_ptr, split.train_items, users, n, dtype)
        g.addmm_(x.t(), x)
    return g


def closed_form_dtype(split):
    return torch.float64 if split.n_items <= 16384 else torch.float32


def fit_item_knn(split, a):
    dt = closed_form_dtype(split)
    sim = item_gram(split, dt)
    norm = torch.sqrt(torch.diagonal(sim).clone())
    sim.div_(norm[:, None]).div_(norm[None, :])
    sim.fill_diagonal_(0)
    return scorer_xw(split, sim), []


def fit_ease(split, a):
    dt = closed_form_dtype(split)
    g = item_gram(split, dt)
    g.diagonal().add_(a.ease_lambda)
    p = torch.linalg.inv(g)
    b = p / (-torch.diagonal(p))[None, :]
    b.fill_diagonal_(0)
    return scorer_xw(split, b), []


def scorer_xw(split, w):
    def score(users):
        x = dense_rows(split.train_ptr, split.train_items, users,
                       split.n_items, w.dtype)
        return x @ w
    return score


class MF(nn.Module):
    def __init__(self, n_users, n_items, dim, init_std, sparse):
        super().__init__()
        self.p = nn.Embedding(n_users, dim, sparse=sparse)
        self.q = nn.Embedding(n_items, dim, sparse=sparse)
        self.b = nn.Embedding(n_items, 1, sparse=sparse)
        nn.init.normal_(self.p.weight, 0.0, init_std)
        nn.init.normal_(self.q.weight, 0.0, init_std)
        nn.init.zeros_(self.b.weight)


def bpr_batch_loss(s, pos, neg, kind, bpr_max_reg):
    """The mean loss over the rows with a negative of the score matrix s
    (rows x targets), pos the rows' positive scores and neg the mask of
    each row's negatives; None when no row has one."""
    cnt = neg.sum(1)
    if not bool((cnt > 0).all()):           # rare: drop the rows
        has = cnt > 0
        if not bool(has.any()):
            return None
        s, pos, neg, cnt = s[has], pos[has], neg[has], cnt[has]
    d = pos[:, None] - s                                # s - s_j
    negf = neg.to(s.dtype)
    if kind == 'bpr':
        rows = (F.softplus(-d) * negf).sum(1) / cnt     # -log sigma(d)
    elif kind == 'top1':
        rows = ((torch.sigmoid(-d) + torch.sigmoid(s * s)) * negf).sum(1) \
            / cnt
    elif kind == 'bpr-max':
        log_sm = torch.log_softmax(s.masked_fill(~neg, float('-inf')), 1)
        # -log sum_j softmax_j sigma(s - s_j), as a log-sum-exp
        rows = -torch.logsumexp(log_sm + F.logsigmoid(d), 1) \
            + bpr_max_reg * (log_sm.exp() * s * s).sum(1)
    else:                                               # top1-max
        sm = torch.softmax(s.masked_fill(~neg, float('-inf')), 1)
        rows = (sm * (torch.sigmoid(-d) + torch.sigmoid(s * s))).sum(1)
    return rows.mean()


def fit_bpr_mf(split, a, epoch_times):
    # Sparse gradients pay off once the tables are much larger than what
    # a batch touches; below that the dense Adagrad step is cheaper.
    rows = split.n_users + split.n_items
    sparse = rows > 8 * (a.batch_size * 2 + a.extra_negatives)
    model = MF(split.n_users, split.n_items, a.dim, a.init_std, sparse)
    opt = torch.optim.Adagrad(model.parameters(), lr=a.learning_rate,
                              initial_accumulator_value=0.0, eps=1e-10)
    tu, ti = split.train_users, split.train_items
    n = split.n_train
    for ep in range(a.epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        total, n_batches = 0.0, 0
        for s in range(0, n, a.batch_size):
            sel = perm[s:s + a.batch_size]
            u, i = tu[sel], ti[sel]
            if a.extra_negatives:
                tgt = torch.cat((i, torch.randint(split.n_items,
                                                  (a.extra_negatives,))))
            else:
                tgt = i
            uu, inv = torch.unique(u, return_inverse=True)
            seen = dense_rows(split.train_ptr, split.train_items, uu,
                              split.n_items, torch.bool)
            neg = ~seen.index_select(1, tgt).index_select(0, inv)
            pu = model.p(u)
            qt = model.q(tgt)
            bt = model.b(tgt).squeeze(1)
            sc = torch.addmm(bt, pu, qt.t())
            pos = sc.diagonal()
            loss = bpr_batch_loss(sc, pos, neg, a.loss, a.bpr_max_reg)
            if loss is None:
                continue
            if a.l2:
                ut = torch.unique(tgt)
                reg = (model.p(uu).pow(2).sum() + model.q(ut).pow(2).sum()
                       + model.b(ut).pow(2).sum())
                loss = loss + 0.5 * a.l2 * reg
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss)
            n_batches += 1
        sec = time.perf_counter() - t0
        epoch_times.append(sec)
        log('epoch %d loss %.6f seconds %.3f'
            % (ep + 1, total / max(1, n_batches), sec))
        if a.eval_every and (ep + 1) % a.eval_every == 0:
            log_eval(ep + 1, split, mf_scorer(model))
    return mf_scorer(model)


def mf_scorer(model):
    p, q, b = (model.p.weight.detach(), model.q.weight.detach(),
               model.b.weight.detach().squeeze(1))
    return lambda users: torch.addmm(b, p[users], q.t())


def log_eval(epoch, split, score):
    ndcg, recall = evaluate(split, score)
    log('epoch %d ndcg@10 %.4f recall@20 %.4f' % (epoch, ndcg, recall))


class MultVAE(nn.Module):
    def __init__(self, n_items, hidden, latent, variational):
        super().__init__()
        self.variational = variational
        self.latent = latent
        self.enc1 = nn.Linear(n_items, hidden)
        self.enc2 = nn.Linear(hidden, 2 * latent if variational else latent)
        self.dec1 = nn.Linear(latent, hidden)
        self.dec2 = nn.Linear(hidden, n_items)
        for m in (self.enc1, self.enc2, self.dec1, self.dec2):
            nn.init.xavier_uniform_(m.weight)
            nn.init.normal_(m.bias, 0.0, 0.001)

    def forward(self, x):
        """Logits, mu and logvar (None for the DAE) of the input rows x,
        already normalised (and dropped out in training)."""
        h = self.enc2(torch.tanh(self.enc1(x)))
        if self.variational:
            mu, logvar = h[:, :self.latent], h[:, self.latent:]
            z = mu
            if self.training:
                z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        else:
            mu = logvar = None
            z = h
        return self.dec2(torch.tanh(self.dec1(z))), mu, logvar


def fit_vae(split, a, epoch_times, variational):
    model = MultVAE(split.n_items, a.hidden, a.latent, variational)
    opt = torch.optim.Adam(model.parameters(), lr=a.learning_rate,
                           betas=(0.9, 0.999), eps=1e-8)
    weights = [m.weight for m in (model.enc1, model.enc2, model.dec1,
                                  model.dec2)]
    per_epoch = -(-split.n_users // a.batch_size)
    anneal_steps = a.anneal_steps or a.epochs * per_epoch
    step = 0

    def score(users):
        x = dense_rows(split.train_ptr, split.train_items, users,
                       split.n_items)
        return model(F.normalize(x, dim=1))[0]

    keep = 1.0 - a.dropout
    n_items = split.n_items

    for ep in range(a.epochs):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(split.n_users)
        total = 0.0
        for s in range(0, split.n_users, a.batch_size):
            users = perm[s:s + a.batch_size]
            # x binary for the loss; the input x / |x|_2 with inverted
            # dropout, drawn on the nonzeros only (the zeros stay zero)
            r, c, lens = batch_entries(split.train_ptr, split.train_items,
                                       users)
            at = r * n_items + c
            x = torch.zeros(len(users), n_items)
            x.view(-1).index_fill_(0, at, 1)
            val = lens.float().rsqrt()[r]
            if keep < 1:
                kept = torch.rand(len(r)) < keep
                at, val = at[kept], val[kept] / keep
            xin = torch.zeros(len(users), n_items)
            xin.view(-1).index_put_((at,), val)
            logits, mu, logvar = model(xin)
            nll = -(torch.log_softmax(logits, 1) * x).sum(1)
            if variational:
                beta = a.anneal_cap * min(1.0, step / anneal_steps)
                kl = 0.5 * (-logvar + logvar.exp() + mu * mu - 1).sum(1)
                loss = (nll + beta * kl).mean()
            else:
                loss = nll.mean()
                if a.l2:
                    loss = loss + 0.5 * a.l2 * sum(w.pow(2).sum()
                                                   for w in weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            total += float(loss)
        sec = time.perf_counter() - t0
        epoch_times.append(sec)
        log('epoch %d loss %.6f seconds %.3f' % (ep + 1, total / per_epoch,
                                                 sec))
        if a.eval_every and (ep + 1) % a.eval_every == 0:
            model.eval()
            log_eval(ep + 1, split, score)
    model.eval()
    return score


# ---------------------------------------------------------------- main


def main(a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)

    t0 = time.perf_counter()
    split = Split(a.log, a.min_rating, a.min_positives)
    load_s = time.perf_counter() - t0

    epoch_times = []
    t0 = time.perf_counter()
    if a.model == 'pop':
        score, _ = fit_pop(split, a)
    elif a.model == 'item-knn':
        score, _ = fit_item_knn(split, a)
    elif a.model == 'ease':
        score, _ = fit_ease(split, a)
    elif a.model == 'bpr-mf':
        score = fit_bpr_mf(split, a, epoch_times)
    else:
        score = fit_vae(split, a, epoch_times, a.model == 'multi-vae')
    fit_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    ndcg, recall = evaluate(split, score, a.eval_batch)
    eval_s = time.perf_counter() - t0

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    epoch_s = ('%.4f' % float(np.median(epoch_times))) if epoch_times \
        else '-'
    loss = {'bpr-mf': a.loss, 'multi-vae': 'multinomial+kl',
            'multi-dae': 'multinomial'}.get(a.model, '-')
    fields = [('model', a.model), ('loss', loss),
              ('users', split.n_users), ('items', split.n_items),
              ('train_events', split.n_train),
              ('epochs', len(epoch_times)),
              ('load_s', '%.3f' % load_s), ('fit_s', '%.3f' % fit_s),
              ('epoch_s', epoch_s), ('peak_mb', '%.1f' % peak_mb),
              ('ndcg@10', '%.4f' % ndcg), ('recall@20', '%.4f' % recall),
              ('eval_s', '%.3f' % eval_s)]
    print('\t'.join('%s=%s' % kv for kv in fields), flush=True)


if __name__ == '__main__':
    main(ARGS)
