#!/bin/sh
# Every ranking objective of gbrank on lgbm-rank and MQ2008, with XGBoost
# 1.7.4's rank:ndcg and rank:pairwise (Debian's python3-xgboost, through
# bench/xgb_rank.py) under the same parameters, and a model of constant
# scores (each query in input order).
#   lgbm-rank: 100 rounds, learning rate 0.1, loss-guided, 31 leaves,
#              255 bins, min-child-weight 5
#   mq2008:    train Fold2/test, validate Fold1/vali, test Fold1/test;
#              depth 6, learning rate 0.1, early stopping after 30 rounds
#              without a better validation NDCG@10
# Usage (from the build directory): bench/rank_compare.sh [DATA_DIR]
set -eu
data=${1:-${GBR_DATA_DIR:?set GBR_DATA_DIR or pass the data directory}}
gbrank=${GBRANK:-./gbrank}
here=$(dirname "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
L=$data/lgbm-rank
M=$data/mq2008
lgbm="--rounds=100 --learning-rate=0.1 --grow=lossguide --max-leaves=31 \
--max-depth=0 --max-bin=255 --min-child-weight=5 --proposal=fixed"
mq="--rounds=500 --learning-rate=0.1 --max-depth=6 --proposal=fixed \
--early-stop=30 --metric=ndcg@10 --valid=$M/Fold1/vali.txt"

row() {
    printf '| %s | %s | %s | %s | %s |\n' "$@"
}

echo "| objective | lgbm-rank NDCG@1 | NDCG@3 | NDCG@10 | MQ2008 NDCG@10 |"
echo "|---|---|---|---|---|"
# shellcheck disable=SC2086
"$gbrank" fit --rounds=1 --gamma=1e300 -o "$tmp/c" "$L/rank.train" \
    2>/dev/null
"$gbrank" fit --rounds=1 --gamma=1e300 -o "$tmp/cm" "$M/Fold2/test.txt" \
    2>/dev/null
set -- $("$gbrank" eval --model="$tmp/c" --metric=ndcg@1,ndcg@3,ndcg@10 \
    "$L/rank.test" | cut -f2)
row "constant scores" "$1" "$2" "$3" "$("$gbrank" eval --model="$tmp/cm" \
    --metric=ndcg@10 "$M/Fold1/test.txt" | cut -f2)"
for obj in lambdarank map pairwise top1 bpr-max top1-max; do
    # shellcheck disable=SC2086
    "$gbrank" fit --objective=$obj $lgbm -o "$tmp/l" "$L/rank.train" \
        2>/dev/null
    # shellcheck disable=SC2086
    "$gbrank" fit --objective=$obj $mq -o "$tmp/m" "$M/Fold2/test.txt" \
        2>/dev/null
    set -- $("$gbrank" eval --model="$tmp/l" \
        --metric=ndcg@1,ndcg@3,ndcg@10 "$L/rank.test" | cut -f2)
    row "gbrank $obj" "$1" "$2" "$3" "$("$gbrank" eval --model="$tmp/m" \
        --metric=ndcg@10 "$M/Fold1/test.txt" | cut -f2)"
done
if /usr/bin/python3 -c 'import xgboost' 2>/dev/null; then
    for obj in rank:ndcg rank:pairwise; do
        set -- $(/usr/bin/python3 "$here/xgb_rank.py" "$obj" \
            "$L/rank.train" "$L/rank.test" eta=0.1 grow_policy=lossguide \
            max_leaves=31 max_depth=0 max_bin=255 min_child_weight=5)
        a=$2 b=$4 c=$6
        set -- $(/usr/bin/python3 "$here/xgb_rank.py" "$obj" \
            "$M/Fold2/test.txt" "$M/Fold1/test.txt" "$M/Fold1/vali.txt" \
            eta=0.1 max_depth=6 rounds=500 early_stop=30)
        row "XGBoost 1.7.4 $obj" "$a" "$b" "$c" "$6"
    done
else
    echo "(XGBoost rows left out: apt-get install python3-xgboost)" >&2
fi
