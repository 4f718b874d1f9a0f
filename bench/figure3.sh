#!/bin/sh
# The XGBoost paper's Figure 3 (Chen and Guestrin, KDD 2016): test AUC by
# round on HIGGS for exact greedy, the global proposal at eps 0.3 and 0.05
# and the local proposal at eps 0.3; max depth 8, learning rate 0.1, 90
# rounds, no column sampling.
#
# Usage (from the build directory):
#   bench/figure3.sh OUTDIR NAME TRAIN TEST
# writes OUTDIR/NAME-<run>.tsv (the --log of each run), OUTDIR/NAME.svg
# (the figure) and prints a table: final test AUC and seconds per tree
# (wall clock of training and of the per-round evaluation, from the log).
set -eu
out=$1 name=$2 train=$3 test=$4
gbrank=${GBRANK:-./gbrank}
threads=${THREADS:-0}
mkdir -p "$out"

run() {
    tag=$1
    shift
    "$gbrank" fit --objective=logistic --max-depth=8 --learning-rate=0.1 \
        --rounds=90 --metric=auc --threads="$threads" --valid="$test" \
        --log="$out/$name-$tag.tsv" -o "$out/$name-$tag.model" "$@" \
        "$train" 2>/dev/null
}

run exact --proposal=exact
run global-0.3 --proposal=global --sketch-eps=0.3
run local-0.3 --proposal=local --sketch-eps=0.3
run global-0.05 --proposal=global --sketch-eps=0.05

"$gbrank" plot --metric=auc --set="$(basename "$test")" \
    --title="$name: test AUC by round" \
    --output="$out/$name.svg" "$out/$name-exact.tsv" \
    "$out/$name-global-0.3.tsv" "$out/$name-local-0.3.tsv" \
    "$out/$name-global-0.05.tsv"

tset=$(basename "$test")
printf '%-12s %10s %14s\n' run "test auc" "s per tree"
for tag in exact global-0.3 local-0.3 global-0.05; do
    awk -F'\t' -v set="$tset" -v tag="$tag" '
        $3 == set && $4 == "auc" { auc = $5; s = $2; r = $1 }
        $1 == "0" && $3 == set && $4 == "auc" { s0 = $2 }
        END {
            # Round 0 also holds the set-up (sorting, first sketch).
            printf "%-12s %10.6f %14.4f\n", tag, auc, (s - s0) / r
        }' "$out/$name-$tag.tsv"
done
