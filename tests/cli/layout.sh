#!/bin/sh
# The layout rule: which folder of src/ may include which. The rule is read
# from CONTRIBUTING.md, the block between "<!-- begin layout rule -->" and
# "<!-- end layout rule -->": a line per folder, the folder and then the
# folders it may include besides its own and include/gbrank/ ("-" for
# none), and a line per reserved system header, "<name.h>" and then the
# only files (under src/) that may include it.
#
# Every #include line of every src/**/*.c and src/**/*.h is checked:
#   - "folder/file" must name a folder (no bare "util.h", no "..") that
#     the including file's folder may use, and the file must exist
#     (include/gbrank/ for "gbrank/...", else src/<folder>/);
#   - <...> is free, but a reserved header only in its listed files, and a
#     project header in <...> would dodge the rule, so it fails too;
#   - every folder of src/ must have a line in the rule.
#
# Environment (make check sets it): GBR_SRC_DIR, the source tree (.).
#
# Prints "ok N - what" or "not ok N - what" per check (the rule, the
# folders, then one per source file), with "# " lines giving file:line and
# the rule broken after a failure, then "P passed, F failed". Exits 1 if
# any check failed.
set -u

src=$(cd "${GBR_SRC_DIR:-.}" 2>/dev/null && pwd) || src=${GBR_SRC_DIR:-.}
doc=$src/CONTRIBUTING.md

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gbrank-layout.XXXXXX") || {
    echo "layout: cannot make a temporary directory" >&2
    exit 99
}
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# A tab, for the pattern that strips the blanks after "include".
# shellcheck disable=SC2034
tab=$(printf '\t')
. "$(dirname "$0")/tap.sh"

# The rule: the indented lines between the markers, one entry a line.
awk '/<!-- begin layout rule -->/ { on = 1; next }
     /<!-- end layout rule -->/ { on = 0 }
     on && /^    [^ ]/ { $1 = $1; print }' "$doc" >"$tmp/rule" 2>/dev/null
if [ ! -s "$tmp/rule" ]; then
    not_ok "read the layout rule from CONTRIBUTING.md"
    echo "#   $doc has no block between <!-- begin layout rule --> and" \
        "<!-- end layout rule -->"
    finish
fi
ok "read the layout rule from CONTRIBUTING.md ($(wc -l <"$tmp/rule" |
    tr -d ' ') lines)"

# allowed FOLDER: the folders FOLDER may include, besides its own.
allowed() {
    awk -v f="$1" '$1 == f { for (i = 2; i <= NF; i++)
                                 if ($i != "-") print $i }' "$tmp/rule"
}

# A line per folder of src/, and every folder a line names exists.
: >"$tmp/why"
for d in "$src"/src/*/; do
    d=${d%/}
    d=${d##*/}
    [ "$d" = "*" ] && continue
    awk -v f="$d" '$1 == f { found = 1 } END { exit !found }' "$tmp/rule" ||
        echo "#   src/$d/ has no line in CONTRIBUTING.md's layout rule" \
            >>"$tmp/why"
done
awk '$1 !~ /^</ { for (i = 1; i <= NF; i++) if ($i != "-") print $i }' \
    "$tmp/rule" | sort -u | while read -r d; do
    [ -d "$src/src/$d" ] ||
        echo "#   the layout rule names $d/, which is not a folder of src/"
done >>"$tmp/why"
if [ -s "$tmp/why" ]; then
    not_ok "every folder of src/ has a line in the rule"
    cat "$tmp/why"
else
    ok "every folder of src/ has a line in the rule"
fi

# check FILE REL: the include lines of one source file (REL is its path
# under src/). Writes the reasons of its failures to $tmp/why.
check() {
    file=$1 rel=$2
    own=${rel%%/*}
    if [ "$own" = "$rel" ]; then
        echo "#   src/$rel: a source file outside a folder of src/" \
            >>"$tmp/why"
        return
    fi
    may=$(allowed "$own" | tr '\n' ' ')
    known=$(awk -v f="$own" '$1 == f { print "yes" }' "$tmp/rule")
    grep -n '^[[:space:]]*#[[:space:]]*include' "$file" |
    while IFS= read -r l; do
        line=${l%%:*}
        text=${l#*:}
        where="src/$rel:$line"
        rest=${text#*include}
        rest=${rest#"${rest%%[! 	]*}"}
        case $rest in
        '"'*'"'*)
            inc=${rest#\"}
            inc=${inc%%\"*}
            ;;
        '<'*'>'*)
            inc=${rest#<}
            inc=${inc%%>*}
            # A reserved system header: only its listed files.
            only=$(awk -v h="<$inc>" '$1 == h { for (i = 2; i <= NF; i++)
                                                    print $i }' "$tmp/rule")
            if [ -n "$only" ]; then
                echo "$only" | grep -qxF "$rel" ||
                    echo "#   $where: <$inc> may be included only by" \
                        "$(echo "$only" | sed 's|^|src/|' | tr '\n' ' ' |
                            sed 's/ $//')"
            fi
            # A project header in angle brackets would dodge the rule.
            dir=${inc%%/*}
            if [ "$dir" != "$inc" ] && [ -d "$src/src/$dir" ] &&
                [ -f "$src/src/$inc" ]; then
                echo "#   $where: <$inc> is a header of src/: write" \
                    "\"$inc\""
            fi
            continue
            ;;
        *)
            echo "#   $where: an include of neither \"...\" nor <...>"
            continue
            ;;
        esac
        dir=${inc%%/*}
        case $inc in
        */*) ;;
        *)
            echo "#   $where: \"$inc\" names no folder: write" \
                "\"folder/$inc\""
            continue
            ;;
        esac
        case /$inc/ in
        */../* | */./* | *//*)
            echo "#   $where: \"$inc\": a path through . or .. or //;" \
                "write \"folder/file\""
            continue
            ;;
        esac
        if [ "$dir" = gbrank ]; then
            [ -f "$src/include/$inc" ] ||
                echo "#   $where: \"$inc\": no such header in include/"
            continue
        fi
        if [ ! -d "$src/src/$dir" ]; then
            echo "#   $where: \"$inc\": $dir/ is not a folder of src/"
            continue
        fi
        if [ ! -f "$src/src/$inc" ]; then
            echo "#   $where: \"$inc\": no such header in src/"
            continue
        fi
        [ "$dir" = "$own" ] && continue
        if [ -z "$known" ]; then
            echo "#   $where: \"$inc\": $own/ has no line in the layout" \
                "rule, so it may include only its own folder and" \
                "include/gbrank/"
            continue
        fi
        case " $may " in
        *" $dir "*) ;;
        *)
            if [ -z "$may" ]; then
                echo "#   $where: \"$inc\": $own/ may include only its" \
                    "own folder and include/gbrank/, not $dir/"
            else
                echo "#   $where: \"$inc\": $own/ may include only" \
                    "$(echo "$may" | sed 's/ $//; s/ /, /g') and its own" \
                    "folder, not $dir/"
            fi
            ;;
        esac
    done >>"$tmp/why"
}

find "$src/src" -type f \( -name '*.c' -o -name '*.h' \) | LC_ALL=C sort \
    >"$tmp/files"
if [ ! -s "$tmp/files" ]; then
    not_ok "source files to check"
    echo "#   no .c or .h file under $src/src"
    finish
fi
while IFS= read -r f; do
    rel=${f#"$src"/src/}
    : >"$tmp/why"
    check "$f" "$rel"
    if [ -s "$tmp/why" ]; then
        not_ok "src/$rel"
        cat "$tmp/why"
    else
        ok "src/$rel"
    fi
done <"$tmp/files"

finish
