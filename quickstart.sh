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
