#!/bin/sh
# The two-stage recommender (datasets/rec_pipeline.sh: split, five
# first-stage models fitted twice, candidates and features twice, the
# ranker, the blend, every evaluation) beside the same protocol in
# PyTorch + XGBoost (bench/rec_pipeline_peer.py), side by side in one run,
# taking turns.
#
# usage: bench/rec_pipeline.sh          (from the build directory)
#
# Environment:
#   LOG        the interaction log (default $GBR_DATA_DIR/ml-100k/u.data;
#              "1m" makes one shaped like MovieLens 1M with datasets/gen_rec)
#   SCHEMES    splits (default "temporal"; also random)
#   SEEDS      seeds of the split and of every model (default "1")
#   RUNS       runs of each tool for each scheme and seed, taking turns
#              (default 1)
#   THREADS    threads of both tools (default 2)
#   PEER=0     gbrank alone
#   PAIRED=1   gbrank's paired comparisons of the re-ranker (see
#              datasets/rec_pipeline.sh)
#   PYTHON     the Python with torch and xgboost (default /usr/bin/python3)
#
# It prints a table row for each tool and method: the mean over the seeds
# of NDCG@10 and Recall@20, then, for each tool, the median whole job in
# seconds and its peak resident memory in MB (of the largest process),
# and the median of the per-run ratios gbrank / peer.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=$(pwd)
gbrank=$build/gbrank
peer=$here/rec_pipeline_peer.py
python=${PYTHON:-/usr/bin/python3}
log=${LOG:-${GBR_DATA_DIR:-}/ml-100k/u.data}
schemes=${SCHEMES:-temporal}
seeds=${SEEDS:-1}
runs=${RUNS:-1}
threads=${THREADS:-2}
use_peer=${PEER:-1}
paired=${PAIRED:-0}

. "$here/median.sh"

[ -x "$gbrank" ] || { echo "bench/rec_pipeline.sh: run it from the build" \
    "directory (no ./gbrank)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench/rec_pipeline.sh: needs GNU time" \
    "(/usr/bin/time)" >&2; exit 1; }
if [ "$use_peer" = 1 ] &&
    ! "$python" -c 'import torch, xgboost' 2>/dev/null; then
    echo "bench/rec_pipeline.sh: $python lacks torch or xgboost (apt-get" \
        "install python3-torch python3-xgboost, or PEER=0)" >&2
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gbrank-pipeline-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

if [ "$log" = 1m ]; then
    "$build/datasets/gen_rec" "$tmp/1m.tsv" >/dev/null
    log=$tmp/1m.tsv
fi
[ -r "$log" ] || { echo "bench/rec_pipeline.sh: no log $log (set" \
    "GBR_DATA_DIR or LOG)" >&2; exit 1; }

now() {
    date +%s.%N
}

# gbrank's pipeline: "method ndcg recall" lines into $1, "job_s peak_mb"
# appended to $2.
run_gbrank() {
    rm -rf "$tmp/g"
    _t0=$(now)
    QUIET=1 PAIRED="$paired" SCHEME="$scheme" SEED="$seed" \
        THREADS="$threads" GBRANK="$gbrank" /usr/bin/time -f %M \
        -o "$tmp/mem" sh "$src/datasets/rec_pipeline.sh" "$log" "$tmp/g" \
        >"$tmp/g.out"
    _t1=$(now)
    awk -F '\t' '$1 != "seconds" && $1 != "paired" { print $1, $2, $3 }' \
        "$tmp/g.out" >>"$1"
    awk -F '\t' -v s="$scheme" -v d="$seed" '$1 == "paired" {
        print s "\t" d "\t" $2 "\t" $3 "\t" $4 "\t" $5 "\t" $6 }' \
        "$tmp/g.out" >>"$tmp/paired"
    echo "$(awk -v a="$_t0" -v b="$_t1" 'BEGIN { print b - a }')" \
        "$(($(cat "$tmp/mem") / 1024))" >>"$2"
}

run_peer() {
    _t0=$(now)
    OMP_WAIT_POLICY=PASSIVE /usr/bin/time -f %M -o "$tmp/mem" "$python" \
        "$peer" --threads="$threads" --seed="$seed" --split="$scheme" \
        "$log" >"$tmp/p.out" 2>"$tmp/p.err"
    _t1=$(now)
    sed -n 's/^method=\([^ ]*\) ndcg@10=\([^ ]*\) recall@20=\([^ ]*\)$/\1 \2 \3/p' \
        "$tmp/p.out" >>"$1"
    echo "$(awk -v a="$_t0" -v b="$_t1" 'BEGIN { print b - a }')" \
        "$(($(cat "$tmp/mem") / 1024))" >>"$2"
}

: >"$tmp/paired"
printf '| split | tool | method | NDCG@10 | Recall@20 |\n|---|---|---|---|---|\n'
for scheme in $schemes; do
    : >"$tmp/g.q"
    : >"$tmp/p.q"
    : >"$tmp/g.t"
    : >"$tmp/p.t"
    for seed in $seeds; do
        r=0
        while [ "$r" -lt "$runs" ]; do
            run_gbrank "$tmp/g.q" "$tmp/g.t"
            [ "$use_peer" = 1 ] && run_peer "$tmp/p.q" "$tmp/p.t"
            r=$((r + 1))
        done
    done
    for tool in g p; do
        [ -s "$tmp/$tool.q" ] || continue
        name=gbrank
        [ "$tool" = p ] && name="PyTorch + XGBoost"
        awk -v s="$scheme" -v t="$name" '
            !($1 in n) { order[++k] = $1 }
            { n[$1]++; a[$1] += $2; b[$1] += $3 }
            END { for (i = 1; i <= k; i++) { m = order[i]
                  printf "| %s | %s | %s | %.4f | %.4f |\n", s, t, m,
                      a[m] / n[m], b[m] / n[m] } }' "$tmp/$tool.q"
    done
    echo
    printf '| split | tool | runs | whole job s | peak MB |\n|---|---|---|---|---|\n'
    for tool in g p; do
        [ -s "$tmp/$tool.t" ] || continue
        name=gbrank
        [ "$tool" = p ] && name="PyTorch + XGBoost"
        printf '| %s | %s | %s | %.2f | %.0f |\n' "$scheme" "$name" \
            "$(wc -l <"$tmp/$tool.t" | tr -d ' ')" \
            "$(median "$tmp/$tool.t" 1)" "$(median "$tmp/$tool.t" 2)"
    done
    if [ -s "$tmp/p.t" ]; then
        paste -d ' ' "$tmp/g.t" "$tmp/p.t" >"$tmp/pairs"
        printf '| %s | gbrank / peer | | **%.2f** | **%.2f** |\n' "$scheme" \
            "$(median "$tmp/pairs" 1 3)" "$(median "$tmp/pairs" 2 4)"
    fi
    echo
done
if [ -s "$tmp/paired" ]; then
    printf '| split | seed | re-ranker less | mean d NDCG@10 | paired SE | mean d Recall@20 | paired SE |\n|---|---|---|---|---|---|---|\n'
    awk -F '\t' '{ printf "| %s | %s | %s | %+.4f | %.4f | %+.4f | %.4f |\n",
        $1, $2, $3, $4, $5, $6, $7 }' "$tmp/paired"
fi
