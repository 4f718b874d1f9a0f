#!/bin/sh
# Accuracy side by side with XGBoost (the Debian xgboost program, 1.7.4) on
# the public sets of issue 2, with the same parameters:
#   agaricus      logistic, 10 rounds, depth 3, eta 0.3           -> error
#   higgs-sas11k  logistic, 200 rounds, depth 6, eta 0.1, 256 bins -> auc
# Usage: bench/xgb_compare.sh [DATA_DIR]   (default $GBR_DATA_DIR)
# Run from the build directory (it uses ./gbrank).
set -eu
data=${1:-${GBR_DATA_DIR:?set GBR_DATA_DIR or pass the data directory}}
gbrank=${GBRANK:-./gbrank}
command -v xgboost >/dev/null 2>&1 || {
    echo "xgb_compare: xgboost is not installed (apt-get install xgboost)" >&2
    exit 1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run NAME TRAIN TEST ROUNDS DEPTH ETA BINS METRIC
run() {
    name=$1 train=$2 test=$3 rounds=$4 depth=$5 eta=$6 bins=$7 metric=$8
    cat >"$tmp/xgb.conf" <<CONF
booster = gbtree
objective = binary:logistic
eta = $eta
max_depth = $depth
num_round = $rounds
tree_method = hist
max_bin = $bins
nthread = 2
data = "$train?format=libsvm"
eval[test] = "$test?format=libsvm"
eval_metric = $metric
model_out = $tmp/xgb.model
CONF
    xgb=$( (cd "$tmp" && xgboost xgb.conf 2>&1) | tail -n 1 |
          sed 's/.*test-[a-z]*://')
    "$gbrank" fit --objective=logistic --rounds="$rounds" \
        --max-depth="$depth" --learning-rate="$eta" --max-bin="$bins" \
        --proposal=fixed --threads=2 -o "$tmp/gbr.model" "$train" \
        2>/dev/null
    gbr=$("$gbrank" eval --model="$tmp/gbr.model" --metric="$metric" \
        "$test" | cut -f2)
    printf '%-14s %-6s %10.6f %10.6f %+10.6f\n' "$name" "$metric" "$gbr" \
        "$xgb" "$(echo "$gbr - $xgb" | bc -l)"
}

printf '%-14s %-6s %10s %10s %10s\n' data metric gbrank xgboost diff
run agaricus "$data/agaricus/agaricus.txt.train" \
    "$data/agaricus/agaricus.txt.test" 10 3 0.3 256 error
run higgs-sas11k "$data/higgs-sas11k/higgs.train" \
    "$data/higgs-sas11k/higgs.test" 200 6 0.1 256 auc
