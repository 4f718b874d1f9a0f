#!/bin/sh
# The recommenders beside a PyTorch implementation of the same algorithms
# (bench/rec_peer.py, run with Debian's python3-torch), side by side in one
# run: the same log, the same protocol (positives rated 4 or 5, users with
# 5 of them, each user's last fifth of positives as the test), the same
# hyperparameters, the same thread count (the peer with
# OMP_WAIT_POLICY=PASSIVE, so that PyTorch's OpenMP threads do not spin
# against OpenBLAS's).
#
# usage: bench/rec.sh            (from the build directory)
#
# Environment:
#   SETS       which logs: ml-100k (from $GBR_DATA_DIR/ml-100k/u.data),
#              1m and 20m (made by datasets/gen_rec in the shapes of
#              MovieLens 1M and 20M); default "ml-100k 1m"
#   MODELS     default "bpr-mf multi-vae"; also pop item-knn ease multi-dae
#   EPOCHS     epochs per fit (default 3; the 20m set takes EPOCHS_20M,
#              default 1)
#   RUNS       runs of each tool, taking turns (default 3); medians are
#              quoted
#   THREADS    threads of both tools (default 2)
#   PEER=0     gbrank alone
#   PYTHON     the Python with torch (default /usr/bin/python3)
#
# For each set, model and tool it prints a table row: seconds per epoch
# (the median over the epochs of the median run; training only), the whole
# job in seconds (reading and splitting the log, training, evaluating;
# gbrank's three commands added up), the peak resident memory in MB (of
# the fit, for gbrank; of the one process, for the peer), and NDCG@10 and
# Recall@20 on the test. The ratio row divides gbrank's figures by the
# peer's, each run by the run beside it, and gives the median.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=$(pwd)
gbrank=$build/gbrank
gen_rec=$build/datasets/gen_rec
peer=$here/rec_peer.py
python=${PYTHON:-/usr/bin/python3}
sets=${SETS:-ml-100k 1m}
models=${MODELS:-bpr-mf multi-vae}
epochs=${EPOCHS:-3}
epochs_20m=${EPOCHS_20M:-1}
runs=${RUNS:-3}
threads=${THREADS:-2}
use_peer=${PEER:-1}

. "$here/median.sh"

[ -x "$gbrank" ] || { echo "bench/rec.sh: run it from the build directory \
(no ./gbrank)" >&2; exit 1; }
[ "$use_peer" = 1 ] && [ ! -r "$peer" ] && { echo "bench/rec.sh: no $peer" >&2
    exit 1; }
if [ "$use_peer" = 1 ] && ! "$python" -c 'import torch' 2>/dev/null; then
    echo "bench/rec.sh: $python has no torch (apt-get install python3-torch," \
        "or PEER=0)" >&2
    exit 1
fi
[ -x /usr/bin/time ] || { echo "bench/rec.sh: needs GNU time (/usr/bin/time)" \
    >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gbrank-rec-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The hyperparameters both tools are given, whatever their defaults.
params() {
    case $1 in
    bpr-mf) echo "--dim=64 --loss=bpr --learning-rate=0.05 --l2=0.0001 \
--batch-size=1024 --extra-negatives=${EXTRA_NEGATIVES:-1024}" ;;
    multi-vae) echo "--hidden=600 --latent=200 --dropout=0.5 \
--learning-rate=0.001 --batch-size=250 --anneal-cap=0.2" ;;
    multi-dae) echo "--hidden=600 --latent=200 --dropout=0.5 \
--learning-rate=0.001 --l2=0.01 --batch-size=250" ;;
    *) echo "" ;;
    esac
}

log_of() {
    case $1 in
    ml-100k)
        f=${GBR_DATA_DIR:-}/ml-100k/u.data
        [ -r "$f" ] || { echo "bench/rec.sh: ml-100k needs GBR_DATA_DIR" \
            "(no $f)" >&2; return 1; }
        echo "$f" ;;
    1m)
        [ -s "$tmp/1m.tsv" ] || "$gen_rec" "$tmp/1m.tsv" >/dev/null
        echo "$tmp/1m.tsv" ;;
    20m)
        [ -s "$tmp/20m.tsv" ] || "$gen_rec" --users=136677 --items=20108 \
            --ratings=10000000 "$tmp/20m.tsv" >/dev/null
        echo "$tmp/20m.tsv" ;;
    *) echo "bench/rec.sh: unknown set $1" >&2; return 1 ;;
    esac
}

now() {
    date +%s.%N
}

# One gbrank run: split, fit (peak memory from GNU time), eval. Prints
# "epoch_s job_s peak_mb ndcg recall".
run_gbrank() {
    _log=$1 _model=$2 _ep=$3
    _t0=$(now)
    "$gbrank" rec split --min-rating=4 -o "$tmp/s" "$_log"
    # shellcheck disable=SC2046
    /usr/bin/time -f %M -o "$tmp/mem" "$gbrank" rec fit --model="$_model" \
        $(params "$_model") --epochs="$_ep" --threads="$threads" \
        --log="$tmp/g.log" -o "$tmp/g.rec" "$tmp/s.1" 2>"$tmp/g.err"
    "$gbrank" rec eval --model="$tmp/g.rec" --threads="$threads" \
        "$tmp/s.2" >"$tmp/g.eval"
    _t1=$(now)
    awk -F '\t' '$3 == "train" && $4 == "loss" { print $2 - last;
        last = $2 }' "$tmp/g.log" >"$tmp/g.epochs"
    _es=-
    [ -s "$tmp/g.epochs" ] && _es=$(median "$tmp/g.epochs" 1)
    echo "$_es $(awk -v a="$_t0" -v b="$_t1" 'BEGIN { print b - a }') \
$(($(cat "$tmp/mem") / 1024)) $(awk '{ print $2 }' "$tmp/g.eval" | tr '\n' ' ')"
}

# One peer run, the same figures from its summary line.
run_peer() {
    _log=$1 _model=$2 _ep=$3
    _t0=$(now)
    # shellcheck disable=SC2046
    # PyTorch's OpenMP threads would spin against OpenBLAS's own: passive
    # waiting is the peer's fair set-up. gbrank runs as a user runs it.
    OMP_WAIT_POLICY=PASSIVE "$python" "$peer" --model="$_model" \
        $(params "$_model") \
        --epochs="$_ep" --threads="$threads" "$_log" >"$tmp/p.out" \
        2>"$tmp/p.err"
    _t1=$(now)
    tr '\t' '\n' <"$tmp/p.out" | awk -F= -v job="$(awk -v a="$_t0" \
        -v b="$_t1" 'BEGIN { print b - a }')" '
        { v[$1] = $2 }
        END { print v["epoch_s"], job, v["peak_mb"], v["ndcg@10"],
                    v["recall@20"] }'
}

printf '| set | model | tool | epochs | s/epoch | job s | peak MB | NDCG@10 | Recall@20 |\n'
printf '|---|---|---|---|---|---|---|---|---|\n'
for set in $sets; do
    log=$(log_of "$set")
    ep=$epochs
    [ "$set" = 20m ] && ep=$epochs_20m
    for model in $models; do
        : >"$tmp/g.runs"
        : >"$tmp/p.runs"
        r=0
        while [ "$r" -lt "$runs" ]; do
            run_gbrank "$log" "$model" "$ep" >>"$tmp/g.runs"
            [ "$use_peer" = 1 ] && run_peer "$log" "$model" "$ep" >>"$tmp/p.runs"
            r=$((r + 1))
        done
        for tool in g p; do
            [ -s "$tmp/$tool.runs" ] || continue
            name=gbrank
            [ "$tool" = p ] && name="PyTorch 1.13"
            row=$(awk '{ print }' "$tmp/$tool.runs" | sort -k2,2g |
                awk -v n="$runs" 'NR == int((n + 1) / 2)')
            # shellcheck disable=SC2086
            set -- $row
            printf '| %s | %s | %s | %s | %s | %.2f | %s | %.4f | %.4f |\n' \
                "$set" "$model" "$name" "$ep" "$1" "$2" "$3" "$4" "$5"
        done
        if [ -s "$tmp/p.runs" ]; then
            paste -d ' ' "$tmp/g.runs" "$tmp/p.runs" >"$tmp/pairs"
            er=0
            grep -q -- '^-' "$tmp/pairs" || er=$(median "$tmp/pairs" 1 6)
            jr=$(median "$tmp/pairs" 2 7)
            mr=$(median "$tmp/pairs" 3 8)
            printf '| %s | %s | gbrank / PyTorch | | **%.2f** | **%.2f** | **%.2f** | | |\n' \
                "$set" "$model" "${er:-0}" "${jr:-0}" "${mr:-0}"
        fi
    done
done
