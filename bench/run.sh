#!/bin/sh
# Speed and memory of gbrank beside XGBoost (Debian's xgboost program,
# 1.7.4, tree_method=hist) on synthetic MSLR-shaped ranking data made by
# datasets/gen_ltr: lambdarank (rank:ndcg), depth 6, 256 bins, learning
# rate 0.1, the same number of threads. For each size and thread count it
# prints the seconds to load and prepare (a fit of one round less the time
# of a round; both tools also load the test set and evaluate NDCG@10 on it
# every round), the seconds per round (the difference between fits of
# ROUNDS and of 1 round, over ROUNDS - 1), the seconds of the whole
# ROUNDS fit a user runs ("run s", loading included), each the median
# over RUNS runs in which the tools take turns, the peak resident memory
# of the ROUNDS fit, the test NDCG@10, and gbrank/XGBoost (for time, the
# median of the runs' own ratios). gbrank runs with its own defaults
# beyond the shared settings below (lambdarank's pairs and normalisation
# included). With QUANTIZED=1, gbrank is also run with
# --quantized-grad (row "gbrank-q"). For ranking data, XGBoost's
# rank:pairwise is fitted once more for its NDCG@10 (row "xgb-pair"); with
# more than one thread count, the last row of a size compares gbrank's
# seconds per round for the first and the last.
#
# With LIGHTGBM naming a LightGBM command-line program (4.x), LightGBM is
# run too (row "lightgbm", and "ratio-lgb" for gbrank/LightGBM) with the
# same trees: lambdarank, max_depth=6 num_leaves=64 (a full depth-6 tree,
# grown best leaf first), max_bin=256 (like gbrank's --max-bin, LightGBM's
# counts the bin of missing values), learning rate 0.1, lambda_l2=1 and
# min_sum_hessian_in_leaf=1 (gbrank's --lambda and --min-child-weight),
# min_data_in_leaf=0, NDCG@10 on the test set every round. Its copies of
# the files are made once, untimed, before the runs: without qid: (the
# groups go to a .query file beside each, as LightGBM reads them) and
# with every feature a row lacks written as nan, since LightGBM reads an
# absent entry as 0 where gbrank and XGBoost read it as missing. Loading
# those copies is timed, as the other tools' loading is.
#
# With TASK=higgs, the data is HIGGS-like instead (datasets/gen_higgs, 28
# features, binary labels), the objective logistic (binary:logistic) and
# the metric the test AUC.
#
# Usage (from the build directory): bench/run.sh
# Environment: SIZES (training rows, default "100000"), ROUNDS (100),
# RUNS (3), THREADS (thread counts, default "2"), PROPOSAL (fixed; XGBoost
# then uses approx for global and local, hist otherwise), QUANTIZED (0),
# TASK (ltr or higgs), XGB (0 to leave XGBoost out), LIGHTGBM (the
# LightGBM program; empty or unset leaves LightGBM out), WORK (a scratch
# directory).
set -eu
sizes=${SIZES:-100000}
rounds=${ROUNDS:-100}
runs=${RUNS:-3}
thread_list=${THREADS:-2}
quantized=${QUANTIZED:-0}
proposal=${PROPOSAL:-fixed}
task=${TASK:-ltr}
if [ "$task" = higgs ]; then
    obj=logistic xobj=binary:logistic lobj=binary metric=auc
else
    obj=lambdarank xobj=rank:ndcg lobj=lambdarank metric=ndcg@10
fi
case $proposal in
global | local) method=approx ;;
*) method=hist ;;
esac
gbrank=${GBRANK:-./gbrank}
gen=${GEN_LTR:-datasets/gen_ltr}
# A scratch directory of our own is removed at the end (at 500,000 rows it
# holds about 2 GB); one named by WORK is left for inspection.
if [ -n "${WORK:-}" ]; then
    work=$WORK
else
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"

# seconds of one run of "$@" into $secs; its peak KB stays in $work/time
timed() {
    /usr/bin/time -f '%e %M' -o "$work/time" "$@" >"$work/out" 2>"$work/err"
    read -r secs _ <"$work/time"
}

have_xgb=0
[ "${XGB:-1}" = 0 ] || ! command -v xgboost >/dev/null 2>&1 || have_xgb=1
lightgbm=${LIGHTGBM:-}
have_lgb=0
if [ -n "$lightgbm" ]; then
    [ -x "$lightgbm" ] || {
        echo "bench/run.sh: LIGHTGBM=$lightgbm is not a program" >&2
        exit 1
    }
    have_lgb=1
fi
printf '%-9s %-3s %-9s %9s %9s %9s %9s %9s\n' rows thr tool "load s" \
    "s/round" "run s" "peak MB" "$metric"

# the gbrank fit with the given extra options, less -o FILE --rounds=N
gbrank_fit() {
    echo "$gbrank fit --objective=$obj --proposal=$proposal \
--max-depth=6 --max-bin=256 --learning-rate=0.1 --threads=$threads \
--metric=$metric --valid=$data.test $data.train $*"
}

# Medians over the runs in $work/runs of a tool's load and per-round
# seconds, from its 1-round fit in column $1 and its ROUNDS fit in column
# $2; with columns $3 and $4 for a second tool, the medians of the first
# tool's figures over the second's, each ratio taken within its run.
medians() {
    awk -v a="$1" -v b="$2" -v c="${3:-0}" -v d="${4:-0}" -v r="$rounds" '
        function med(v, n,   i, j, t) {
            for (i = 2; i <= n; i++)
                for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
                    t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
                }
            return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
        }
        {
            per[NR] = ($b - $a) / (r - 1); load[NR] = $a - per[NR]
            if (c) {
                xp = ($d - $c) / (r - 1)
                per[NR] /= xp; load[NR] /= $c - xp
            }
        }
        {
            whole[NR] = c ? $b / $d : $b
        }
        END {
            printf "%f %f %f\n", med(load, NR), med(per, NR), med(whole, NR)
        }' "$work/runs"
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

# a LightGBM configuration of $1 rounds
lconf() {
    cat >"$work/l$1.conf" <<CONF
task = train
objective = $lobj
learning_rate = 0.1
max_depth = 6
num_leaves = 64
max_bin = 256
lambda_l2 = 1
min_sum_hessian_in_leaf = 1
min_data_in_leaf = 0
num_threads = $threads
num_iterations = $1
data = $data.lgb.train
valid = $data.lgb.test
metric = ${metric%@*}
eval_at = 10
output_model = $work/l$1.model
CONF
}

# LightGBM's copy of the libsvm file $1 in $2: without qid:, the sizes of
# the groups (runs of one qid) in $2.query, one a line, and each feature
# up to $3 that a row lacks written as nan. The indices of a row increase,
# so the missing ones are the gaps between them.
lgb_copy() {
    awk -v nf="$3" -v q="$2.query" '
        $2 ~ /^qid:/ {
            if (n && $2 != prev) { print n >q; n = 0 }
            prev = $2; n++; sub(/ qid:[^ ]*/, "")
        }
        {
            out = $1; f = 1
            for (i = 2; i <= NF; i++) {
                k = substr($i, 1, index($i, ":") - 1) + 0
                for (; f < k; f++) out = out " " f ":nan"
                out = out " " $i; f = k + 1
            }
            for (; f <= nf; f++) out = out " " f ":nan"
            print out
        }
        END { if (n) print n >q }' "$1" >"$2"
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
    if [ "$have_lgb" -eq 1 ] && [ ! -s "$data.lgb.test" ]; then
        nf=$(awk '{ k = substr($NF, 1, index($NF, ":") - 1) + 0 }
            k > m { m = k } END { print m + 0 }' "$data.train" "$data.test")
        lgb_copy "$data.train" "$data.lgb.train" "$nf"
        lgb_copy "$data.test" "$data.lgb.test" "$nf"
    fi
    first_per=
    for threads in $thread_list; do
        xconf 1 "$xobj"
        xconf "$rounds" "$xobj"
        lconf 1
        lconf "$rounds"
        gfit=$(gbrank_fit)
        qfit=$(gbrank_fit --quantized-grad=yes)
        : >"$work/runs"
        # The tools take turns run by run, so that a drift of the
        # machine's speed reaches both: each run's line holds gbrank's
        # 1-round and ROUNDS fits, gbrank-q's, XGBoost's and LightGBM's (0
        # when not run).
        for _ in $(seq "$runs"); do
            # shellcheck disable=SC2086
            timed $gfit -o "$work/g1.model" --rounds=1
            g1=$secs
            # shellcheck disable=SC2086
            timed $gfit -o "$work/gn.model" --rounds="$rounds"
            gn=$secs gpeak=$(cut -d' ' -f2 "$work/time")
            q1=0 qn=0 x1=0 xn=0 l1=0 ln=0
            if [ "$quantized" = 1 ]; then
                # shellcheck disable=SC2086
                timed $qfit -o "$work/q1.model" --rounds=1
                q1=$secs
                # shellcheck disable=SC2086
                timed $qfit -o "$work/qn.model" --rounds="$rounds"
                qn=$secs qpeak=$(cut -d' ' -f2 "$work/time")
            fi
            if [ "$have_xgb" -eq 1 ]; then
                timed xgboost "$work/x1.conf"
                x1=$secs
                timed xgboost "$work/x$rounds.conf"
                xn=$secs xpeak=$(cut -d' ' -f2 "$work/time")
                xm=$(tail -n 1 "$work/err" | sed "s/.*test-$metric://")
            fi
            if [ "$have_lgb" -eq 1 ]; then
                timed "$lightgbm" config="$work/l1.conf"
                l1=$secs
                timed "$lightgbm" config="$work/l$rounds.conf"
                ln=$secs lpeak=$(cut -d' ' -f2 "$work/time")
                lm=$(sed -n "s/.*valid_1 $metric : //p" "$work/out" \
                    "$work/err" | tail -n 1)
            fi
            echo "$g1 $gn $q1 $qn $x1 $xn $l1 $ln" >>"$work/runs"
        done
        # shellcheck disable=SC2046 # two numbers, split on purpose
        set -- $(medians 1 2)
        gload=$1 gper=$2 gwhole=$3
        gm=$("$gbrank" eval --model="$work/gn.model" --metric=$metric \
            "$data.test" | cut -f2)
        printf '%-9s %-3s %-9s %9.3f %9.3f %9.2f %9.0f %9.6f\n' "$n" \
            "$threads" gbrank "$gload" "$gper" "$gwhole" "$((gpeak / 1024))" \
            "$gm"
        [ -n "$first_per" ] || first_per=$gper
        last_per=$gper
        if [ "$quantized" = 1 ]; then
            # shellcheck disable=SC2046 # two numbers, split on purpose
            set -- $(medians 3 4)
            qm=$("$gbrank" eval --model="$work/qn.model" --metric=$metric \
                "$data.test" | cut -f2)
            printf '%-9s %-3s %-9s %9.3f %9.3f %9.2f %9.0f %9.6f\n' "$n" \
                "$threads" gbrank-q "$1" "$2" "$3" "$((qpeak / 1024))" "$qm"
        fi
        if [ "$have_xgb" -eq 1 ]; then
            # shellcheck disable=SC2046 # two numbers, split on purpose
            set -- $(medians 5 6)
            printf '%-9s %-3s %-9s %9.3f %9.3f %9.2f %9.0f %9.6f\n' "$n" \
                "$threads" xgboost "$1" "$2" "$3" "$((xpeak / 1024))" "$xm"
            # shellcheck disable=SC2046 # two numbers, split on purpose
            set -- $(medians 1 2 5 6)
            printf '%-9s %-3s %-9s %9.2f %9.2f %9.2f %9.2f %+9.6f\n' "$n" \
                "$threads" ratio "$1" "$2" "$3" \
                "$(echo "$gpeak / $xpeak" | bc -l)" \
                "$(echo "$gm - $xm" | bc -l)"
        fi
        [ "$have_lgb" -eq 1 ] || continue
        # shellcheck disable=SC2046 # two numbers, split on purpose
        set -- $(medians 7 8)
        printf '%-9s %-3s %-9s %9.3f %9.3f %9.2f %9.0f %9.6f\n' "$n" \
            "$threads" lightgbm "$1" "$2" "$3" "$((lpeak / 1024))" "$lm"
        # shellcheck disable=SC2046 # two numbers, split on purpose
        set -- $(medians 1 2 7 8)
        printf '%-9s %-3s %-9s %9.2f %9.2f %9.2f %9.2f %+9.6f\n' "$n" \
            "$threads" ratio-lgb "$1" "$2" "$3" \
            "$(echo "$gpeak / $lpeak" | bc -l)" \
            "$(echo "$gm - $lm" | bc -l)"
    done
    if [ "$have_xgb" -eq 1 ] && [ "$task" = ltr ]; then
        xconf "$rounds" rank:pairwise
        timed xgboost "$work/x$rounds.conf"
        printf '%-9s %-3s %-9s %9s %9s %9s %9s %9.6f\n' "$n" "$threads" \
            xgb-pair - - - - \
            "$(tail -n 1 "$work/err" | sed "s/.*test-$metric://")"
    fi
    if [ "$first_per" != "$last_per" ]; then
        printf '%-9s %-3s %-9s %9s %9.2f\n' "$n" - speedup - \
            "$(echo "$first_per / $last_per" | bc -l)"
    fi
done
