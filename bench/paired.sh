#!/bin/sh
# Two gbrank builds side by side, to measure what a change does to speed:
# OLD and NEW fit the same MSLR-shaped data with the same settings as
# proposals.sh (lambdarank, depth 6, 256 bins, learning rate 0.1, NDCG@10
# on the test set every round), for each proposal, taking turns: within a
# run each proposal is fitted by both builds one after the other, and the
# build that goes first alternates from run to run, so that a drift of the
# machine's speed reaches both. A round's seconds come from the fit's
# --log clock, from the end of round 0 to the end of the last round, over
# ROUNDS - 1; a whole run's seconds are those of the fit, loading
# included.
#
# For each size and proposal it prints the medians over RUNS runs of the
# old and new seconds per round and of the new / old ratio of each run
# (so a ratio below 1 means NEW is faster), the same for whole runs, and
# whether the two builds wrote the same model bytes (a change meant to
# keep models must say "yes").
#
# Usage (from the build directory):
#     OLD=/path/to/old/gbrank NEW=./gbrank bench/paired.sh
# Environment: OLD and NEW (the two gbrank programs; required), PROPOSALS
# (default "fixed global local"), SIZES (training rows, 500000), ROUNDS
# (11), RUNS (5), THREADS (2), GEN_LTR (datasets/gen_ltr), WORK (a scratch
# directory, kept when given, so that its generated data is reused).
set -eu
old=${OLD:?"set OLD to the old gbrank program"}
new=${NEW:?"set NEW to the new gbrank program"}
proposals=${PROPOSALS:-fixed global local}
sizes=${SIZES:-500000}
rounds=${ROUNDS:-11}
runs=${RUNS:-5}
threads=${THREADS:-2}
gen=${GEN_LTR:-datasets/gen_ltr}

for b in "$old" "$new"; do
    [ -x "$b" ] || {
        echo "paired.sh: $b is not an executable gbrank" >&2
        exit 2
    }
done
[ "$rounds" -ge 2 ] || {
    echo "paired.sh: ROUNDS must be at least 2, got $rounds" >&2
    exit 2
}
case $(date +%N) in
*[!0-9]*)
    echo "paired.sh: needs a date(1) that prints nanoseconds (+%N)" >&2
    exit 2
    ;;
esac
if [ -n "${WORK:-}" ]; then
    work=$WORK
    mkdir -p "$work"
else
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    trap 'exit 1' HUP INT TERM
fi

# Seconds of one fit, "$@" its options, into $secs; a failed fit stops
# the script with its messages.
timed() {
    t0=$(date +%s.%N)
    if ! "$@" >/dev/null 2>"$work/err"; then
        echo "paired.sh: failed: $*" >&2
        cat "$work/err" >&2
        exit 1
    fi
    t1=$(date +%s.%N)
    secs=$(echo "$t1 - $t0" | bc -l)
}

# fit BUILD TAG PROPOSAL DATA: a ROUNDS-round fit with --log; prints the
# seconds per round, from the log's clock between the end of the first
# round and the end of the last (so loading and the first round's set-up
# are left out), and the seconds of the whole fit, loading included. The
# model is left in $work/TAG.model.
fit() {
    b=$1 tag=$2 p=$3 data=$4
    timed "$b" fit --objective=lambdarank --proposal="$p" --max-depth=6 \
        --max-bin=256 --learning-rate=0.1 --threads="$threads" \
        --metric=ndcg@10 --valid="$data.test" --rounds="$rounds" \
        --log="$work/$tag.log" -o "$work/$tag.model" "$data.train"
    per=$(awk -F '\t' -v last="$((rounds - 1))" '
        $1 == "0" { t0 = $2 } $1 == last { t1 = $2 }
        END { printf "%.6f\n", (t1 - t0) / last }' "$work/$tag.log")
    echo "$per $secs"
}

. "$(dirname "$0")/median.sh"

# The median of column $1 of $work/runs, or of $1 over $2 line by line.
med() {
    median "$work/runs" "$@"
}

echo "old: $old"
echo "new: $new"
echo "$runs runs of $rounds rounds, s/round from the --log clock," \
    "$threads threads"
printf '%-9s %-9s %9s %9s %8s %9s %9s %8s %6s\n' rows proposal \
    old-s/rd new-s/rd new/old old-run-s new-run-s new/old same
for n in $sizes; do
    data=$work/ltr$n
    [ -s "$data.train" ] ||
        "$gen" --rows="$((n * 5 / 4))" --split=80,0,20 --seed=5 "$data" \
            >/dev/null
    for p in $proposals; do
        : >"$work/runs"
        for r in $(seq "$runs"); do
            # Columns: old s/round, old run s, new s/round, new run s.
            if [ $((r % 2)) -eq 1 ]; then
                o=$(fit "$old" old "$p" "$data")
                w=$(fit "$new" new "$p" "$data")
            else
                w=$(fit "$new" new "$p" "$data")
                o=$(fit "$old" old "$p" "$data")
            fi
            echo "$o $w" >>"$work/runs"
        done
        if cmp -s "$work/old.model" "$work/new.model"; then
            same=yes
        else
            same=no
        fi
        printf '%-9s %-9s %9.4f %9.4f %8.3f %9.3f %9.3f %8.3f %6s\n' \
            "$n" "$p" "$(med 1)" "$(med 3)" "$(med 3 1)" \
            "$(med 2)" "$(med 4)" "$(med 4 2)" "$same"
    done
done
