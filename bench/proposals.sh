#!/bin/sh
# gbrank's split proposals side by side: the seconds per round of fixed,
# global and local on the same MSLR-shaped data and settings as run.sh
# (lambdarank, depth 6, learning rate 0.1, NDCG@10 on the test set every
# round; fixed with 256 bins, global and local with the default
# sketch-eps). In each run the three take turns, so that a drift of the
# machine's speed reaches all of them; a round's seconds are the
# difference between fits of ROUNDS and of 1 round, over ROUNDS - 1. It
# prints the medians over RUNS runs, global / fixed and local / global
# (each the median of the runs' own ratios) and each proposal's test
# NDCG@10.
#
# Usage (from the build directory): bench/proposals.sh
# Environment: SIZES (training rows, default "100000 500000"), ROUNDS
# (11), RUNS (3), THREADS (2), WORK (a scratch directory).
set -eu
sizes=${SIZES:-100000 500000}
rounds=${ROUNDS:-11}
runs=${RUNS:-3}
threads=${THREADS:-2}
gbrank=${GBRANK:-./gbrank}
gen=${GEN_LTR:-datasets/gen_ltr}
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"

# seconds of one run of "$@" into $secs
timed() {
    /usr/bin/time -f '%e' -o "$work/ptime" "$@" >/dev/null 2>&1
    secs=$(cat "$work/ptime")
}

. "$(dirname "$0")/median.sh"

# The median of column $1 of $work/pruns, or of $1 over $2 line by line.
med() {
    median "$work/pruns" "$@"
}

printf '%-9s %9s %9s %9s %9s %9s %9s %9s %9s\n' rows fixed global local \
    glob/fix loc/glob ndcg-fix ndcg-glob ndcg-loc
for n in $sizes; do
    data=$work/ltr$n
    [ -s "$data.train" ] ||
        "$gen" --rows="$((n * 5 / 4))" --split=80,0,20 --seed=5 "$data" \
            >/dev/null
    : >"$work/pruns"
    for _ in $(seq "$runs"); do
        line=
        for p in fixed global local; do
            fit="$gbrank fit --objective=lambdarank --proposal=$p \
--max-depth=6 --max-bin=256 --learning-rate=0.1 --threads=$threads \
--metric=ndcg@10 --valid=$data.test $data.train"
            # shellcheck disable=SC2086
            timed $fit -o "$work/p1.model" --rounds=1
            t1=$secs
            # shellcheck disable=SC2086
            timed $fit -o "$work/$p.model" --rounds="$rounds"
            line="$line $(echo "($secs - $t1) / ($rounds - 1)" | bc -l)"
        done
        echo "$line" >>"$work/pruns"
    done
    ndcg() {
        "$gbrank" eval --model="$work/$1.model" --metric=ndcg@10 \
            "$data.test" | cut -f2
    }
    printf '%-9s %9.3f %9.3f %9.3f %9.2f %9.2f %9.6f %9.6f %9.6f\n' "$n" \
        "$(med 1)" "$(med 2)" "$(med 3)" "$(med 2 1)" \
        "$(med 3 2)" "$(ndcg fixed)" "$(ndcg global)" "$(ndcg local)"
done
