#!/bin/sh
# Position-debiased lambdarank on generated click logs: for three seeds,
# datasets/gen_clicks makes 2,000 training queries of 10 displayed results
# with clicks from a position-based model (examination 1/position) and
# 1,000 test queries labelled with the true relevance. Plain lambdarank
# and lambdarank-unbiased fit the same clicks; the mean NDCG@10 on the true
# relevance must gain at least 0.02 with debiasing.
#
# Environment (make check sets it): GBR_BUILD_DIR (gbrank and
# datasets/gen_clicks).
set -u

build=${GBR_BUILD_DIR:-.}
gbrank=$build/gbrank
gen=$build/datasets/gen_clicks
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gbrank-unbiased.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

fit="--objective=lambdarank --rounds=100 --max-depth=4 --learning-rate=0.1"
sum=0
for seed in 1 2 3; do
    "$gen" --seed=$seed --queries=2000 --shown=10 "$tmp/c" || exit 99
    for u in no yes; do
        # shellcheck disable=SC2086
        "$gbrank" fit $fit --lambdarank-unbiased=$u -o "$tmp/m.$u" \
            "$tmp/c.train" >/dev/null 2>"$tmp/err" || {
            cat "$tmp/err" >&2
            echo "not ok - fit seed $seed unbiased=$u"
            exit 1
        }
        eval "ndcg_$u=\$(\"\$gbrank\" eval --model=\"\$tmp/m.\$u\" \
            --metric=ndcg@10 \"\$tmp/c.test\" | cut -f2)"
    done
    echo "# seed $seed: ndcg@10 plain $ndcg_no, unbiased $ndcg_yes"
    sum=$(awk -v s="$sum" -v a="$ndcg_yes" -v b="$ndcg_no" \
        'BEGIN { printf "%.6f", s + a - b }')
done
gain=$(awk -v s="$sum" 'BEGIN { printf "%.4f", s / 3 }')
if awk -v g="$gain" 'BEGIN { exit !(g >= 0.02) }'; then
    echo "ok - mean ndcg@10 gain $gain >= 0.02"
else
    echo "not ok - mean ndcg@10 gain $gain < 0.02"
    exit 1
fi
