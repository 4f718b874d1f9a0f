#!/bin/sh
# The two-stage recommender as gbrank commands: first-stage recommenders
# nominate candidates, a gradient-boosted ranker re-ranks them, without the
# stacking leak. The protocol (the manual's RECOMMENDERS and FEATURES):
#
#   1. rec split cuts each user's positives into three windows, A (the
#      oldest 60%), B (the next 20%) and C (the last 20%), in time order
#      (SCHEME=temporal) or a random order (SCHEME=random).
#   2. The first stage is fitted on A. Its candidates and features for
#      each user, with A as the history, are labelled by B: the ranker and
#      the blend learn from them, never from labels the models saw.
#   3. The first stage is refitted on A+B with the same settings; its
#      features, with A+B as the history, are labelled by C, the test.
#   4. Every method is scored on C over the whole catalogue by one rec eval
#      each: each model alone, the blend, the re-ranker.
#
# usage: datasets/rec_pipeline.sh LOG WORKDIR     (from the build directory)
#
# LOG is an interaction log (user item rating [time] lines, as MovieLens's
# u.data or datasets/gen_rec's); WORKDIR receives every intermediate file.
# Environment:
#   GBRANK      the program (default ./gbrank)
#   SCHEME      temporal (default) or random
#   SEED        seed of the split and of every model (default 1)
#   MIN_RATING  ratings at or above it are positives (default 4)
#   MODELS      first-stage models (default "pop item-knn ease bpr-mf
#               multi-vae"), each with its defaults
#   CANDIDATES  each model's top K unseen items (default 50)
#   RANKER      the ranker's gbrank fit parameters (default below)
#   THREADS     threads of every command (default 0: all cores)
#   VERBOSE=1   gbrank's own progress on stderr too (each epoch, each
#               round); by default only the steps are named, and a failing
#               command's messages shown
#   QUIET=1     nothing on stderr but errors
#   PAIRED=1    also compare the re-ranker with every other method user by
#               user (each model ranking the candidates by its own score,
#               which holds its top 50: the same figures as rec eval
#               --model, but for ties)
#
# stdout: one line a method, "method<TAB>ndcg@10<TAB>recall@20", then
# "seconds<TAB>S", the whole job (the paired comparisons not counted);
# with PAIRED=1, before the seconds, lines
# "paired<TAB>method<TAB>d_ndcg<TAB>se_ndcg<TAB>d_recall<TAB>se_recall":
# the mean over users of the re-ranker's value less the method's, and its
# standard error.
set -eu

[ $# -eq 2 ] || { echo "usage: $0 LOG WORKDIR" >&2; exit 2; }
log=$1
w=$2
gbrank=${GBRANK:-./gbrank}
scheme=${SCHEME:-temporal}
seed=${SEED:-1}
minr=${MIN_RATING:-4}
models=${MODELS:-pop item-knn ease bpr-mf multi-vae}
cands=${CANDIDATES:-50}
# Stochastic boosting (rows and features drawn for each tree, shallow
# trees, every pair of a query): the labels are few, about two a user among
# a hundred candidates, and a ranker that chases them does worse than the
# blend.
ranker=${RANKER:---objective=lambdarank --lambdarank-top-k=0 --rounds=100 \
--learning-rate=0.05 --max-depth=4 --subsample=0.7 --colsample-bytree=0.7 \
--eval-train=no}
threads=${THREADS:-0}
quiet=${QUIET:-0}
verbose=${VERBOSE:-0}
paired=${PAIRED:-0}
metrics=ndcg@10,recall@20

say() { [ "$quiet" = 1 ] || echo "rec_pipeline: $*" >&2; }
# Run gbrank, its progress shown with VERBOSE, its messages when it fails.
run() {
    if [ "$verbose" = 1 ]; then "$gbrank" "$@"
    else "$gbrank" "$@" 2>"$w/stderr" || { cat "$w/stderr" >&2; return 1; }
    fi
}
# The two metrics of a rec eval as "a<TAB>b".
row() { printf '%s\t%s\t%s\n' "$1" "$(sed -n 's/^ndcg@10\t//p' "$w/eval")" \
    "$(sed -n 's/^recall@20\t//p' "$w/eval")"; }

[ -x "$gbrank" ] || { echo "$0: no $gbrank (run it from the build" \
    "directory, or set GBRANK)" >&2; exit 1; }
mkdir -p "$w"
start=$(date +%s.%N)

say "split $log ($scheme, seed $seed) into A, B, C"
run rec split --scheme="$scheme" --fractions=0.6,0.2,0.2 \
    --min-rating="$minr" --seed="$seed" -o "$w/win" "$log"

# Fit every model on A (stage "a") or A+B (stage "ab").
fit_all() {
    for m in $models; do
        say "fit $m on $2"
        run rec fit --model="$m" --seed="$seed" --threads="$threads" \
            -o "$w/$1.$m" "$2"
    done
}
list() { for m in $models; do printf '%s,' "$w/$1.$m"; done | sed 's/,$//'; }

fit_all a "$w/win.1"
say "candidates and features on A, labelled by B"
run features --models="$(list a)" --history="$w/win.1" --labels="$w/win.2" \
    --candidates="$cands" --threads="$threads" -o "$w/feat.b"
say "the ranker, on the B-labelled features"
# shellcheck disable=SC2086
run fit --proposal=global $ranker --seed="$seed" --threads="$threads" \
    -o "$w/ranker" "$w/feat.b"
say "the blend's weights, tuned on B"
run rec blend --features="$w/feat.b" --threads="$threads" -o "$w/blend" \
    "$w/win.2"

fit_all ab "$w/win.1-2"
say "candidates and features on A+B, labelled by C"
run features --models="$(list ab)" --history="$w/win.1-2" \
    --labels="$w/win.3" --candidates="$cands" --threads="$threads" \
    -o "$w/feat.c"

for m in $models; do
    "$gbrank" rec eval --model="$w/ab.$m" --metric=$metrics \
        --threads="$threads" "$w/win.3" >"$w/eval"
    row "$m"
done
# The row of method $1 ranked by file $2, each user's figures kept too.
rank_row() {
    "$gbrank" rec eval --ranker="$w/$2" --features="$w/feat.c" \
        --metric=$metrics --per-user="$w/users.$2" --threads="$threads" \
        "$w/win.3" >"$w/eval"
    row "$1"
}
rank_row blend blend
rank_row re-ranker ranker
elapsed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')

if [ "$paired" = 1 ]; then
    k=0
    for m in $models; do
        k=$((k + 1))
        printf 'gbrank blend 1\nm%d.%s.score\t1\n' "$k" "$m" >"$w/own.$m"
        "$gbrank" rec eval --ranker="$w/own.$m" --features="$w/feat.c" \
            --metric=$metrics --per-user="$w/users.$m" --threads="$threads" \
            "$w/win.3" >/dev/null
    done
    for m in $models blend; do
        # The files list the same users in the same order.
        paste "$w/users.ranker" "$w/users.$m" | awk -F '\t' -v m="$m" '
            NR > 1 { n++; a = $2 - $5; b = $3 - $6
                     sa += a; qa += a * a; sb += b; qb += b * b }
            END { ma = sa / n; mb = sb / n
                  printf "paired\t%s\t%.6f\t%.6f\t%.6f\t%.6f\n", m, ma,
                      sqrt((qa / n - ma * ma) / (n - 1)), mb,
                      sqrt((qb / n - mb * mb) / (n - 1)) }'
    done
fi
printf 'seconds\t%.2f\n' "$elapsed"
