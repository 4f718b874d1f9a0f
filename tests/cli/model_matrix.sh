#!/bin/sh
# The model matrix: the exact bytes of the models gbrank fits for every
# proposal x objective (squared-error, logistic, lambdarank) x growth
# (depthwise, lossguide) x threads (1, 3), on tests/data/cli/tiny.svm (with
# a .query file) and on a generated set of 100,000 training rows, plus
# row and feature sampling and quantized-grad runs. Each model's SHA-256,
# and that of the values of its --log table, must equal the line for it
# in tests/data/model_matrix.sha256: a change that is meant to keep every
# model (a refactoring, a faster kernel) keeps this file as it is.
#
# Environment (make check sets them): GBR_BUILD_DIR (gbrank and
# datasets/gen_ltr), GBR_TEST_DATA (tests/data). GBR_REGEN_GOLDEN=1
# rewrites the hash file instead of comparing: do that only for a change
# that is meant to change models, and say why in the commit.
#
# Prints "ok N - what" or "not ok N - what" per run, then
# "P passed, F failed". Exits 1 if any run differs.
set -u

abs_dir() {
    (cd "$1" 2>/dev/null && pwd)
}

build=$(abs_dir "${GBR_BUILD_DIR:-.}") || build=${GBR_BUILD_DIR:-.}
data=$(abs_dir "${GBR_TEST_DATA:-tests/data}") ||
    data=${GBR_TEST_DATA:-tests/data}
regen=${GBR_REGEN_GOLDEN:-0}
gbrank=$build/gbrank
gen_ltr=$build/datasets/gen_ltr
golden=$data/model_matrix.sha256

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gbrank-matrix.XXXXXX") || {
    echo "model matrix: cannot make a temporary directory" >&2
    exit 99
}
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# The sets: tiny.svm with four queries of ten rows; a generated ranking
# set (about 100,000 training and 25,000 validation rows, labels 0..4);
# and the same with labels cut to 0/1 at 2, for logistic.
cp "$data/cli/tiny.svm" "$tmp/tiny.svm" || exit 99
printf '10\n10\n10\n10\n' >"$tmp/tiny.svm.query"
"$gen_ltr" --rows=125000 --docs=100 --split=80,20,0 --seed=7 \
    "$tmp/gen" >/dev/null || {
    echo "model matrix: gen_ltr failed" >&2
    exit 99
}
for s in train valid; do
    awk '{ $1 = ($1 >= 2) ? 1 : 0; print }' "$tmp/gen.$s" >"$tmp/bin.$s"
done

. "$(dirname "$0")/tap.sh"
: >"$tmp/got"

# run NAME TRAIN VALID OPTIONS...: fit, and hash the model and the log's
# round and value columns (not its seconds, nor its set names).
run() {
    name=$1 train=$2 valid=$3
    shift 3
    rm -f "$tmp/m" "$tmp/log"
    if ! "$gbrank" fit "$@" --valid="$valid" --log="$tmp/log" \
        -o "$tmp/m" "$train" >/dev/null 2>"$tmp/err"; then
        not_ok "$name: fit failed"
        diag <"$tmp/err"
        return
    fi
    hm=$(sha256sum <"$tmp/m" | cut -c1-64)
    hl=$(awk -F '\t' 'NR > 1 { print $1, $5 }' "$tmp/log" | sha256sum |
        cut -c1-64)
    line="$name $hm $hl"
    echo "$line" >>"$tmp/got"
    if [ "$regen" = 1 ]; then
        ok "$name (recorded)"
    elif grep -qxF "$line" "$golden" 2>/dev/null; then
        ok "$name"
    else
        not_ok "$name: model or log differs from $golden"
        grep "^$name " "$golden" 2>/dev/null | sed 's/^/#   want /'
        echo "#   got  $line"
    fi
}

for prop in fixed global local exact; do
    for obj in squared-error logistic lambdarank; do
        for grow in depthwise lossguide; do
            case $grow in
            depthwise) shape="--max-depth=4" ;;
            *) shape="--max-depth=0 --max-leaves=12" ;;
            esac
            for nt in 1 3; do
                # shellcheck disable=SC2086
                run "tiny-$prop-$obj-$grow-$nt" "$tmp/tiny.svm" \
                    "$tmp/tiny.svm" --proposal="$prop" --objective="$obj" \
                    --grow="$grow" $shape --rounds=6 --min-child-weight=0 \
                    --lambda=0.5 --threads="$nt"
                case $obj in
                logistic) set=bin ;;
                *) set=gen ;;
                esac
                # shellcheck disable=SC2086
                run "gen-$prop-$obj-$grow-$nt" "$tmp/$set.train" \
                    "$tmp/$set.valid" --proposal="$prop" --objective="$obj" \
                    --grow="$grow" $shape --rounds=4 --threads="$nt"
            done
        done
    done
    for nt in 1 3; do
        run "gen-$prop-sampled-$nt" "$tmp/gen.train" "$tmp/gen.valid" \
            --proposal="$prop" --objective=lambdarank --rounds=4 \
            --subsample=0.7 --colsample-bytree=0.6 --seed=11 \
            --threads="$nt"
        case $prop in
        fixed | global)
            run "gen-$prop-quantized-$nt" "$tmp/gen.train" \
                "$tmp/gen.valid" --proposal="$prop" --objective=lambdarank \
                --rounds=4 --quantized-grad=yes --seed=5 --threads="$nt"
            ;;
        esac
    done
done

if [ "$regen" = 1 ]; then
    cp "$tmp/got" "$golden" || exit 99
    echo "model matrix: wrote $golden"
fi
finish
