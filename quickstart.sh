#!/bin/sh
# Quick start: install what the build needs (as root on Debian or Ubuntu),
# build gbrank, make the bundled synthetic data, and run the main job on it:
# fit with the global proposal, predict the test set, and print its metrics.
set -eu
cd "$(dirname "$0")"

pkgs="build-essential autoconf automake libtool pkg-config libcmocka-dev mandoc \
    libopenblas-dev"
missing=""
for tool in cc make autoreconf libtoolize pkg-config mandoc; do
    command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if command -v pkg-config >/dev/null 2>&1; then
    pkg-config --exists 'cmocka >= 1.1' || missing="$missing cmocka"
    pkg-config --exists openblas || missing="$missing openblas"
fi
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "quickstart: installing $pkgs (missing:$missing)"
        DEBIAN_FRONTEND=noninteractive apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends $pkgs
    else
        echo "quickstart: missing:$missing" >&2
        echo "quickstart: install a C compiler, make, autoconf, automake," \
             "libtool, pkg-config, cmocka (>= 1.1), mandoc and OpenBLAS;" >&2
        echo "quickstart: on Debian or Ubuntu, as root: apt-get install" \
             "$pkgs" >&2
        exit 1
    fi
fi

[ -x configure ] || autoreconf -fi
[ -f Makefile ] || ./configure
make -j"$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)"

data=datasets/default
./gbrank fit --proposal=global --valid="$data/ltr.valid" \
    -o "$data/ltr.model" "$data/ltr.train"
./gbrank predict --model="$data/ltr.model" --output="$data/ltr.pred" \
    "$data/ltr.test"
echo "test metrics ($data/ltr.test):"
./gbrank eval --model="$data/ltr.model" --metric=ndcg@10,map@10,mrr@10 \
    "$data/ltr.test"

# The two-stage recommender on the synthetic interaction log: five
# first-stage models nominate candidates, the features of those
# candidates train a ranker (gbrank fit --proposal=global), and each model
# alone, their blend and the re-ranker are scored on the last window.
echo
echo "two-stage recommender ($data/rec.tsv, the protocol of" \
    "datasets/rec_pipeline.sh):"
GBRANK=./gbrank sh datasets/rec_pipeline.sh "$data/rec.tsv" "$data/rec" |
    awk -F '\t' 'BEGIN { printf "  %-10s %8s %9s\n", "method", "NDCG@10",
                         "Recall@20" }
        $1 == "seconds" { s = $2; next }
        { printf "  %-10s %8.4f %9.4f\n", $1, $2, $3 }
        END { printf "  (%s seconds)\n", s }'
./gbrank predict --model="$data/rec/ranker" --ranked \
    --output="$data/rec/test.ranked" "$data/rec/feat.c"
echo "re-ranked test candidates: $data/rec/test.ranked; the first user's" \
    "best five (user, item, score, rank):"
awk -F '\t' 'NR == FNR { user[FNR] = $2; item[FNR] = $3; next }
    FNR == 1 { q = $1 } $1 != q || $4 > 5 { exit }
    { printf "  %s\t%s\t%.4f\t%d\n", user[$2], item[$2], $3, $4 }' \
    "$data/rec/feat.c.pairs" "$data/rec/test.ranked"
