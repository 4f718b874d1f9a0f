#!/bin/sh
# Speed and memory of gbrank beside XGBoost (Debian's xgboost program,
# 1.7.4, tree_method=hist) on synthetic MSLR-shaped ranking data made by
# datasets/gen_ltr: lambdarank (rank:ndcg), depth 6, 256 bins, learning
# rate 0.1, the same number of threads. For each size and thread count it
# prints the seconds to load and prepare (a fit of one round less the time
# of a round; both tools also load the test set and evaluate NDCG@10 on it
# every round), the seconds per round (the difference between fits of
# ROUNDS and of 1 round, over ROUNDS - 1; each fit the median of RUNS),
# the peak resident memory of the ROUNDS fit, the test NDCG@10, and
# gbrank/XGBoost. With QUANTIZED=1, gbrank is also run with
# --quantized-grad (row "gbrank-q"). For ranking data, XGBoost's
# rank:pairwise is fitted once more for its NDCG@10 (row "xgb-pair"); with
# more than one thread count, the last row of a size compares gbrank's
# seconds per round for the first and the last.
#
# With TASK=higgs, the data is HIGGS-like instead (datasets/gen_higgs, 28
# features, binary labels), the objective logistic (binary:logistic) and
# the metric the test AUC.
#
# Usage (from the build directory): bench/run.sh
# Environment: SIZES (training rows, default "100000"), ROUNDS (20),
# RUNS (3), THREADS (thread counts, default "2"), PROPOSAL (fixed; XGBoost
# then uses approx for global and local, hist otherwise), QUANTIZED (0),
# TASK (ltr or higgs), XGB (0 to leave XGBoost out), WORK (a scratch
# directory).
set -eu
sizes=${SIZES:-100000}
rounds=${ROUNDS:-20}
runs=${RUNS:-3}
thread_list=${THREADS:-2}
quantized=${QUANTIZED:-0}
proposal=${PROPOSAL:-fixed}
task=${TASK:-ltr}
if [ "$task" = higgs ]; then
    obj=logistic xobj=binary:logistic metric=auc
else
    obj=lambdarank xobj=rank:ndcg metric=ndcg@10
fi
case $proposal in
global | local) method=approx ;;
*) method=hist ;;
esac
gbrank=${GBRANK:-./gbrank}
gen=${GEN_LTR:-datasets/gen_ltr}
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"

# median of the numbers on standard input
median() {
    sort -g | awk '{ v[NR] = $1 }
        END { if (NR % 2) print v[(NR + 1) / 2]
              else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# seconds of one run of "$@" into $secs; its peak KB stays in $work/time
timed() {
    /usr/bin/time -f '%e %M' -o "$work/time" "$@" >"$work/out" 2>"$work/err"
    read -r secs _ <"$work/time"
}

# median seconds over $runs runs of "$@" (the last run's seconds and peak
# stay in $work/time)
med() {
    for _ in $(seq "$runs"); do
        timed "$@"
        echo "$secs"
    done | median
}

have_xgb=0
[ "${XGB:-1}" = 0 ] || ! command -v xgboost >/dev/null 2>&1 || have_xgb=1
printf '%-9s %-3s %-9s %9s %9s %9s %9s\n' rows thr tool "load s" "s/round" \
    "peak MB" "$metric"

# gbrank with the given extra options: one row; $gper $gload $gpeak $gm
# are left set
gbrank_row() {
    label=$1
    shift
    gfit="$gbrank fit --objective=$obj --proposal=$proposal \
--max-depth=6 --max-bin=256 --learning-rate=0.1 --threads=$threads \
--metric=$metric --valid=$data.test $data.train $* -o"
    # shellcheck disable=SC2086
    t1=$(med $gfit "$work/g1.model" --rounds=1)
    # shellcheck disable=SC2086
    tn=$(med $gfit "$work/g$rounds.model" --rounds="$rounds")
    gpeak=$(cut -d' ' -f2 "$work/time")
    gper=$(echo "($tn - $t1) / ($rounds - 1)" | bc -l)
    gload=$(echo "$t1 - $gper" | bc -l)
    gm=$("$gbrank" eval --model="$work/g$rounds.model" --metric=$metric \
        "$data.test" | cut -f2)
    printf '%-9s %-3s %-9s %9.3f %9.3f %9.0f %9.6f\n' "$n" "$threads" \
        "$label" "$gload" "$gper" "$((gpeak / 1024))" "$gm"
}

# an XGBoost configuration of $1 rounds, objective $2
xconf() {
    cat >"$work/x$1.conf" <<CONF
booster = gbtree
objective = $2
eta = 0.1
max_depth = 6
max_bin = 256
tree_method = $method
nthread = $threads
num_round = $1
data = "$data.train?format=libsvm"
eval[test] = "$data.test?format=libsvm"
eval_metric = $metric
model_out = $work/x$1.model
CONF
}

for n in $sizes; do
    total=$((n * 5 / 4))
    data=$work/$task$n
    if [ "$task" = higgs ]; then
        [ -s "$data.train" ] || {
            "$(dirname "$gen")/gen_higgs" --rows="$n" --seed=1 \
                "$data.train" >/dev/null
            "$(dirname "$gen")/gen_higgs" --rows="$((n / 4))" --seed=2 \
                "$data.test" >/dev/null
        }
    else
        [ -s "$data.train" ] ||
            "$gen" --rows="$total" --split=80,0,20 --seed=5 "$data" \
                >/dev/null
    fi
    first_per=
    for threads in $thread_list; do
        gbrank_row gbrank
        # the ratios compare this row, not gbrank-q's
        bload=$gload bper=$gper bpeak=$gpeak bm=$gm
        [ -n "$first_per" ] || first_per=$gper
        last_per=$gper
        if [ "$quantized" = 1 ]; then
            gbrank_row gbrank-q --quantized-grad=yes
        fi
        [ "$have_xgb" -eq 1 ] || continue
        xconf 1 "$xobj"
        xconf "$rounds" "$xobj"
        x1=$(med xgboost "$work/x1.conf")
        xn=$(med xgboost "$work/x$rounds.conf")
        xpeak=$(cut -d' ' -f2 "$work/time")
        xper=$(echo "($xn - $x1) / ($rounds - 1)" | bc -l)
        xload=$(echo "$x1 - $xper" | bc -l)
        xm=$(tail -n 1 "$work/err" | sed "s/.*test-$metric://")
        printf '%-9s %-3s %-9s %9.3f %9.3f %9.0f %9.6f\n' "$n" "$threads" \
            xgboost "$xload" "$xper" "$((xpeak / 1024))" "$xm"
        printf '%-9s %-3s %-9s %9.2f %9.2f %9.2f %+9.6f\n' "$n" "$threads" \
            ratio "$(echo "$bload / $xload" | bc -l)" \
            "$(echo "$bper / $xper" | bc -l)" \
            "$(echo "$bpeak / $xpeak" | bc -l)" \
            "$(echo "$bm - $xm" | bc -l)"
    done
    if [ "$have_xgb" -eq 1 ] && [ "$task" = ltr ]; then
        xconf "$rounds" rank:pairwise
        timed xgboost "$work/x$rounds.conf"
        printf '%-9s %-3s %-9s %9s %9s %9s %9.6f\n' "$n" "$threads" \
            xgb-pair - - - \
            "$(tail -n 1 "$work/err" | sed "s/.*test-$metric://")"
    fi
    if [ "$first_per" != "$last_per" ]; then
        printf '%-9s %-3s %-9s %9s %9.2f\n' "$n" - speedup - \
            "$(echo "$first_per / $last_per" | bc -l)"
    fi
done
