#!/usr/bin/python3
"""XGBoost (the Debian python3-xgboost, 1.7.4) on a LETOR/libsvm ranking set,
for side-by-side figures with gbrank.

usage: xgb_rank.py OBJECTIVE TRAIN TEST [VALID] [key=value ...]

Groups come from qid: or from a <file>.query / <file>.group side file.
Prints the test set's ndcg@1, ndcg@3, ndcg@10 and map@10 as XGBoost computes
them, tab-separated; with VALID, early stopping watches its ndcg@10
(key early_stop=N, default 0: none).
"""
import sys

import numpy as np
import scipy.sparse as sp
import xgboost as xgb


def read_letor(path):
    labels, qids, rows, cols, vals = [], [], [], [], []
    with open(path) as fp:
        for line in fp:
            line = line.split('#', 1)[0].split()
            if not line:
                continue
            r = len(labels)
            labels.append(float(line[0].split(':')[0]))
            for tok in line[1:]:
                k, v = tok.split(':', 1)
                if k == 'qid':
                    qids.append(int(v))
                    continue
                rows.append(r)
                cols.append(int(k))
                vals.append(float(v))
    x = sp.csr_matrix((vals, (rows, cols)), shape=(len(labels), max(cols) + 1))
    groups = None
    if qids:
        groups, last = [], None
        for q in qids:
            if q != last:
                groups.append(0)
                last = q
            groups[-1] += 1
    else:
        for side in ('.query', '.group'):
            try:
                with open(path + side) as fp:
                    groups = [int(s) for s in fp.read().split()]
                break
            except OSError:
                pass
    return x, np.array(labels), groups


def matrix(path, n_cols):
    x, y, groups = read_letor(path)
    if x.shape[1] < n_cols:
        x = sp.csr_matrix((x.data, x.indices, x.indptr),
                          shape=(x.shape[0], n_cols))
    d = xgb.DMatrix(x, label=y)
    d.set_group(groups)
    return d, x.shape[1]


def main():
    objective, train, test = sys.argv[1:4]
    rest = sys.argv[4:]
    valid = rest.pop(0) if rest and '=' not in rest[0] else None
    params = {'objective': objective, 'tree_method': 'hist', 'nthread': 2,
              'eval_metric': ['map@10', 'ndcg@1', 'ndcg@3', 'ndcg@10']}
    rounds, early = 100, 0
    for kv in rest:
        k, v = kv.split('=', 1)
        if k == 'rounds':
            rounds = int(v)
        elif k == 'early_stop':
            early = int(v)
        else:
            params[k] = v
    xt, _, _ = read_letor(train)
    n_cols = xt.shape[1]
    for p in (test, valid):
        if p:
            n_cols = max(n_cols, read_letor(p)[0].shape[1])
    dtrain, _ = matrix(train, n_cols)
    dtest, _ = matrix(test, n_cols)
    evals = [(dtest, 'test')]
    if valid:
        dvalid, _ = matrix(valid, n_cols)
        evals.append((dvalid, 'valid'))
    result = {}
    bst = xgb.train(params, dtrain, rounds, evals=evals, evals_result=result,
                    early_stopping_rounds=early or None, verbose_eval=False)
    best = bst.best_iteration if early else rounds - 1
    t = result['test']
    print('\t'.join('%s\t%.6f' % (m, t[m][best])
                    for m in ('ndcg@1', 'ndcg@3', 'ndcg@10', 'map@10')))


main()
