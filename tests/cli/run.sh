#!/bin/sh
# Tests of the gbrank program: exit statuses and messages, the parameter
# table against --help and the manual, golden outputs on a tiny data set,
# determinism over thread counts, model and input errors, and the manual's
# EXAMPLES.
#
# Environment (make check sets all three):
#   GBR_BUILD_DIR  where the gbrank program and datasets/default/ are (.)
#   GBR_TEST_DATA  the tests/data directory (tests/data)
#   GBR_SRC_DIR    the source tree, for src/data/params.c and man/gbrank.1 (.)
#   GBR_REGEN_GOLDEN=1 rewrites the golden files in $GBR_TEST_DATA/cli
#                  instead of comparing with them; check the diff in.
#
# Prints "ok N - what" or "not ok N - what" per check, with "# " lines
# saying why after a failure, then "P passed, F failed". Exits 1 if any
# check failed.
set -u

abs_dir() {
    (cd "$1" 2>/dev/null && pwd)
}

build=$(abs_dir "${GBR_BUILD_DIR:-.}") || build=${GBR_BUILD_DIR:-.}
data=$(abs_dir "${GBR_TEST_DATA:-tests/data}") ||
    data=${GBR_TEST_DATA:-tests/data}
src=$(abs_dir "${GBR_SRC_DIR:-.}") || src=${GBR_SRC_DIR:-.}
regen=${GBR_REGEN_GOLDEN:-0}

gbrank=$build/gbrank
man=$src/man/gbrank.1
tiny=$data/cli/tiny.svm
golden=$data/cli
default_data=$build/datasets/default

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gbrank-cli.XXXXXX") || {
    echo "gbrank cli tests: cannot make a temporary directory" >&2
    exit 99
}
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
work=$tmp/work
mkdir "$work" || exit 99
: >"$tmp/empty.svm"

. "$(dirname "$0")/tap.sh"

# A check is begin, then any number of need calls, then end "what".
# need "reason" command... runs the command and remembers the reason if
# it fails; end reports ok, or not ok with the reasons and the output of
# the last gbrank run.
begin() {
    good=1
    why=
    ran=0
}

need() {
    _reason=$1
    shift
    if ! "$@"; then
        good=0
        why="$why
$_reason"
    fi
}

end() {
    if [ "$good" -eq 1 ]; then
        ok "$1"
        return 0
    fi
    not_ok "$1"
    printf '%s\n' "$why" | sed '/^$/d' | diag
    [ "$ran" -eq 1 ] || return 1
    echo "#   last run: exit status $rc"
    if [ -s "$tmp/err" ]; then
        echo "#   stderr:"
        head -n 5 "$tmp/err" | diag
    fi
    if [ -s "$tmp/out" ]; then
        echo "#   stdout:"
        head -n 5 "$tmp/out" | diag
    fi
    return 1
}

# Run gbrank in the scratch directory: stdout in $tmp/out, stderr in
# $tmp/err, exit status in $rc.
rc=0
g() {
    (cd "$work" && "$gbrank" "$@") >"$tmp/out" 2>"$tmp/err"
    rc=$?
    ran=1
}

status_is() {
    [ "$rc" -eq "$1" ]
}

# Some line of stderr starts with "gbrank: " and contains every argument.
msg_has() {
    grep '^gbrank: ' "$tmp/err" >"$tmp/msg" || return 1
    for _s in "$@"; do
        grep -F -e "$_s" "$tmp/msg" >"$tmp/msg2" || return 1
        mv "$tmp/msg2" "$tmp/msg"
    done
}

# stderr is exactly one line, starting with "gbrank: ".
one_line_msg() {
    [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q '^gbrank: ' "$tmp/err"
}

lines_of() {
    wc -l <"$1" | tr -d ' '
}

# Every line of $1 is a number as %.9g prints it.
all_numbers() {
    ! grep -v -E \
        '^-?(inf|nan|[0-9]+(\.[0-9]+)?(e[-+][0-9]+)?|\.[0-9]+)$' "$1" \
        >/dev/null
}

# Directory $1 holds no entries at all.
dir_empty() {
    [ -z "$(ls -A "$1")" ]
}

# Compare file $1 with golden file $2, or rewrite the golden file.
same_as_golden() {
    if [ "$regen" = 1 ]; then
        cp "$1" "$2"
        return
    fi
    [ -f "$2" ] && cmp -s "$1" "$2"
}

if [ ! -x "$gbrank" ]; then
    not_ok "the program $gbrank exists (run make first)"
    finish
fi

# ---------------------------------------------------------------------
# Usage errors: exit 2 and a "gbrank: " message.

begin
g
need "exit status 2" status_is 2
need "a gbrank: message" msg_has ''
end "no arguments: exit 2 with a gbrank: message"

begin
g frobnicate
need "exit status 2" status_is 2
need "a gbrank: message naming the command" msg_has frobnicate
end "unknown command: exit 2 with a gbrank: message"

for args in "fit -x" "fit --frobnicate" "predict --frobnicate --model=m" \
    "eval --frobnicate --model=m" "plot --frobnicate --output=p.svg"; do
    # shellcheck disable=SC2086
    set -- $args
    begin
    # shellcheck disable=SC2086
    g $args "$tiny"
    need "exit status 2" status_is 2
    need "a gbrank: message naming $2" msg_has "$2"
    end "$1 $2: unknown option, exit 2 with a gbrank: message"
done

begin
g fit --no-such-parameter=1 "$tiny"
need "exit status 2" status_is 2
need "a gbrank: message naming the parameter" msg_has no-such-parameter
end "fit --no-such-parameter=1: exit 2 with a gbrank: message"

begin
g fit --max-depth=99 "$tiny"
need "exit status 2" status_is 2
need "a gbrank: message with max-depth, [0, 63] and 99" \
    msg_has max-depth '[0, 63]' 99
end "fit --max-depth=99: exit 2, the message names parameter, range, value"

begin
g fit --learning-rate=abc "$tiny"
need "exit status 2" status_is 2
need "a gbrank: message with learning-rate, (0, 1] and abc" \
    msg_has learning-rate '(0, 1]' abc
end "fit --learning-rate=abc: exit 2, the message names parameter, range, value"

begin
g fit --max-depth=0 "$tiny"
need "exit status 2" status_is 2
need "a gbrank: message naming max-depth" msg_has max-depth
end "fit --max-depth=0 with depthwise growth: exit 2"

begin
g fit --early-stop=5 "$tiny"
need "exit status 2" status_is 2
need "a gbrank: message naming early-stop" msg_has early-stop
end "fit --early-stop=5 without --valid: exit 2"

begin
g fit
need "exit status 2" status_is 2
need "a gbrank: message" msg_has ''
end "fit without a training file: exit 2 with a gbrank: message"

begin
g predict "$tiny"
need "exit status 2" status_is 2
need "a gbrank: message naming --model" msg_has --model
end "predict without --model: exit 2 with a gbrank: message"

begin
g eval "$tiny"
need "exit status 2" status_is 2
need "a gbrank: message naming --model" msg_has --model
end "eval without --model: exit 2 with a gbrank: message"

begin
g predict --threads=many --model=m "$tiny"
need "exit status 2" status_is 2
need "a gbrank: message naming threads and the value" msg_has threads many
end "predict --threads=many: exit 2 with a gbrank: message"

begin
g fit --rounds=2 --log=same -o same "$tiny"
need "exit status 2" status_is 2
need "a gbrank: message naming --log and the file" msg_has --log same
end "fit --log naming the model file: exit 2"

begin
g plot "$tiny"
need "exit status 2" status_is 2
need "a gbrank: message naming --output" msg_has --output
end "plot without --output: exit 2 with a gbrank: message"

begin
g plot --output=p.svg
need "exit status 2" status_is 2
need "a gbrank: message" msg_has ''
end "plot without a log file: exit 2 with a gbrank: message"

for args in "--x=bogus x bogus" "--width=10 width 10" "--height=x height x" \
    "--metric= metric"; do
    # shellcheck disable=SC2086
    set -- $args
    opt=$1
    shift
    begin
    g plot "$opt" --output=p.svg "$tiny"
    need "exit status 2" status_is 2
    need "a gbrank: message naming $*" msg_has "$@"
    end "plot $opt: exit 2 with a gbrank: message"
done

begin
need "usage errors left no file behind" dir_empty "$work"
end "usage errors write nothing"

begin
g --version
need "exit status 0" status_is 0
need "prints gbrank and a version" grep -q -E '^gbrank [0-9]' "$tmp/out"
end "gbrank --version"

begin
g --help
need "exit status 0" status_is 0
for c in fit predict eval plot "rec fit" "rec recommend" "rec eval" "rec split" \
    "rec blend" features; do
    need "usage shows gbrank $c" grep -q "gbrank $c " "$tmp/out"
done
end "gbrank --help prints the usage of every command"

# ---------------------------------------------------------------------
# The parameter table, fit --help and the manual.
# name;type;default;range for each row of a parameter table.
tab=$(printf '\t')
unescape() {
    sed 's/\\-/-/g; s/\\&//g; s/\\(<=/<=/g'
}

# check_table SOURCE PROBE HELP-COMMAND MAN-SECTION: the rows of the table
# in SOURCE (which has a row PROBE), the parameters HELP-COMMAND --help
# lists and those of the manual's section MAN-SECTION are the same, each
# with its type, default and range.
check_table() {
    table_c=$src/$1
    table_name=$1
    table_probe=$2
    help_cmd=$3
    man_section=$4

    # String literals continued on the next line are joined first.
    tr '\n' '\001' <"$table_c" 2>/dev/null | sed 's/"\x01 *"//g; s/",\x01 *"/", "/g' |
        tr '\001' '\n' |
        sed -n 's/^ *{ { "\([a-z0-9_]*\)", "\([a-z0-9|]*\)", "\([^"]*\)", "\([^"]*\)",.*/\1;\2;\3;\4/p' \
        >"$tmp/table" 2>/dev/null
    cut -d';' -f1 "$tmp/table" | tr _ - | sort >"$tmp/table.names"

    begin
    need "$table_name is readable" test -r "$table_c"
    need "rows parsed from the table in $table_name" test -s "$tmp/table"
    need "the table names $table_probe" grep -q "^$table_probe;" "$tmp/table"
    end "the parameter table in $table_name can be read"

    g $help_cmd --help
    cp "$tmp/out" "$tmp/help"
    sed -n '/^parameters/,$s/^  --\([a-z0-9-]*\)=.*/\1/p' "$tmp/help" |
        sort >"$tmp/help.names"

    begin
    need "exit status 0" status_is 0
    need "--help lists the same parameters as the table" \
        cmp -s "$tmp/table.names" "$tmp/help.names"
    while IFS=";" read -r name type def range; do
        dname=$(echo "$name" | tr _ -)
        shown=${def:-(empty)}
        need "--help lists --$dname=$type with its default $shown" \
            awk -v opt="  --$dname=$type" -v def="default $shown" '
                found { if (index($0, def) > 0) ok = 1; found = 0 }
                $0 == opt { found = 1 }
                END { exit !ok }' "$tmp/help"
    done <"$tmp/table"
    end "$help_cmd --help lists every parameter of the table with its default"
    if [ "$good" -ne 1 ]; then
        diff "$tmp/table.names" "$tmp/help.names" | diag
    fi

    # The manual: every parameter as .It Fl \-name Ns = Ns Ar type in the list
    # of PARAMETERS (up to its first subsection), with its default, range and
    # type; the source is un-escaped (\- to -, \& dropped) for the checks.

    awk -v sec="$man_section" '/^\.Sh /{ on = ($2 == sec) ; next } /^\.Ss /{ on = 0 } on' \
        "$man" 2>/dev/null | unescape >"$tmp/man.params"
    sed -n 's/^\.It Fl -\([a-z0-9-]*\) Ns = Ns Ar \([a-z0-9|]*\)$/\1/p' \
        "$tmp/man.params" | sort >"$tmp/man.names"

    begin
    need "man/gbrank.1 is readable" test -r "$man"
    need "the $man_section list documents the same parameters as the table" \
        cmp -s "$tmp/table.names" "$tmp/man.names"
    while IFS=";" read -r name type def range; do
        dname=$(echo "$name" | tr _ -)
        esc=$(echo "$dname" | sed 's/-/\\-/g')
        need "man page writes --$dname as Fl \\-$esc or \\-\\-$esc" \
            grep -q -F -e "Fl \\-$esc" -e "\\-\\-$esc" "$man"
        # The item's text: from its .It line to the next .It or .El.
        awk -v it=".It Fl -$dname Ns = Ns Ar $type" '
            $0 == it { on = 1; next }
            on && (/^\.It / || /^\.El/) { on = 0 }
            on' "$tmp/man.params" | tr '\n' ' ' >"$tmp/item"
        need "man page documents --$dname=$type" test -s "$tmp/item"
        need "man page gives the default of --$dname as \"default ${def:-empty}.\"" \
            grep -q -F -e "default ${def:-empty}." "$tmp/item"
        case $type in
        choice)
            for c in $(echo "$range" | tr '|' ' '); do
                need "man page names the choice $c of --$dname" \
                    grep -q -F -e ".Cm $c" "$tmp/item"
            done
            ;;
        *)
            need "man page gives the range $range of --$dname" \
                grep -q -F -e "$range" "$tmp/item"
            ;;
        esac
        need "man page has no --$name with underscores" \
            test "$name" = "$dname" -o -z "$(grep -F -e "\\-$name" "$man")"
    done <"$tmp/table"
    end "man/gbrank.1 $man_section documents every parameter of $table_name as --name with type, range, default"
    if [ "$good" -ne 1 ]; then
        diff "$tmp/table.names" "$tmp/man.names" | diag
    fi
}

check_table src/data/params.c max_depth fit PARAMETERS

# --label-gain: a label beyond the list stops fit and eval with the file
# and line (comment and blank lines counted), before any round; a table
# equal to 2^y - 1 gives the default model's metric, and eval takes the
# model's gains.
printf '2 qid:1 1:1\n0 qid:1 1:2\n# c\n\n1 qid:2 1:1 2:1\n3 qid:2 1:3\n' \
    >"$work/gain.svm"
begin
g fit --label-gain=0,1,3 --rounds=2 -o gain.model gain.svm
need "fit exits 1" status_is 1
need "the message names gain.svm:6 and label 3" \
    msg_has "gain.svm:6: label 3 has no gain" "label-gain has 3 entries"
need "one line" one_line_msg
need "no round ran" test ! -s "$tmp/out"
need "no model" test ! -e "$work/gain.model"
g fit --label-gain=0,1,x --rounds=2 -o gain.model gain.svm
need "a bad list is a usage error" status_is 2
need "naming the item" msg_has 'the gain of label 2' '"x"'
g fit --label-gain=0,1,3,7 --rounds=3 -o gain.model gain.svm
need "fit with 2^y - 1 as a table" status_is 0
g eval --model=gain.model --metric=ndcg gain.svm
cp "$tmp/out" "$tmp/gain_table"
g fit --rounds=3 -o gain2.model gain.svm
g eval --model=gain2.model --metric=ndcg gain.svm
need "the table and the default give the same ndcg" \
    cmp -s "$tmp/out" "$tmp/gain_table"
g fit --label-gain=0,1,2,3 --rounds=3 -o gain3.model gain.svm
g eval --model=gain3.model --metric=ndcg gain.svm
cp "$tmp/out" "$tmp/gain_lin"
g fit --ndcg-exp-gain=no --rounds=3 -o gain4.model gain.svm
g eval --model=gain4.model --metric=ndcg gain.svm
need "a linear table and ndcg-exp-gain=no give the same ndcg" \
    cmp -s "$tmp/out" "$tmp/gain_lin"
need "linear and exponential gains differ" \
    sh -c '! cmp -s "$1" "$2"' - "$tmp/gain_lin" "$tmp/gain_table"
printf '5 qid:1 1:1\n0 qid:1 1:2\n' >"$work/gain5.svm"
g eval --model=gain.model gain5.svm
need "eval with the model's table refuses label 5" status_is 1
need "at gain5.svm:1" msg_has "gain5.svm:1: label 5 has no gain"
g predict --model=gain.model gain5.svm
need "predict does not score labels, so it takes any" status_is 0
end "--label-gain: labels beyond it fail with file:line; tables equal the closed forms"

# --lambdarank-unbiased where objective auto finds no groups is an error,
# not an option silently dropped.
begin
printf '1 1:1\n0 1:2\n' >"$work/nogroups.svm"
g fit --lambdarank-unbiased=yes --rounds=2 -o unb.model nogroups.svm
need "unbiased on data without groups fails" status_is 1
need "saying it needs groups" msg_has "lambdarank-unbiased needs" "groups"
end "--lambdarank-unbiased on data without groups exits 1"
check_table src/rec/rec_params.c ease_lambda "rec fit" RECOMMENDERS

if command -v mandoc >/dev/null 2>&1; then
    begin
    mandoc -Tlint -W warning "$man" >"$tmp/out" 2>&1
    rc=$?
    ran=1
    : >"$tmp/err"
    need "mandoc -Tlint -W warning prints nothing" test ! -s "$tmp/out"
    end "mandoc -Tlint -W warning man/gbrank.1 prints nothing"

    # Every word of usage() is in the rendered SYNOPSIS.
    bs=$(printf '\b')
    mandoc -Tascii -O width=1000 "$man" 2>/dev/null | sed "s/.$bs//g" |
        awk '/^[A-Z]/{ on = ($0 == "SYNOPSIS"); next } on' |
        tr -s ' \t\n' '   ' >"$tmp/synopsis"
    "$gbrank" --help >"$tmp/usage" 2>/dev/null
    begin
    set -f
    for w in $(sed -n -E 's/^(usage:)? *gbrank (fit|predict|eval|plot|rec fit|rec recommend|rec eval|rec split|rec blend|features) //p' \
            "$tmp/usage"); do
        need "SYNOPSIS has \"$w\"" grep -q -F -e "$w" "$tmp/synopsis"
    done
    set +f
    need "SYNOPSIS read" test -s "$tmp/synopsis"
    end "the manual's SYNOPSIS has every word of usage()"
else
    ok "# SKIP mandoc missing"
    ok "# SKIP mandoc missing"
fi

# ---------------------------------------------------------------------
# The tiny data set: determinism, goldens, eval, and the training log.

tiny_rows=$(grep -c -v -e '^#' -e '^$' "$tiny" 2>/dev/null)
logi="--objective=logistic --rounds=10 --max-depth=3 --base-score=auto"
sq="--objective=squared-error --rounds=8 --base-score=0.25 \
--proposal=fixed --max-bin=4 \
--grow=lossguide --max-depth=0 --max-leaves=5 --lambda=0.5 --alpha=0.05 \
--gamma=0.01 --min-child-weight=2 --learning-rate=0.5"

for prop in global local exact fixed; do
    begin
    for nt in 1 2 4; do
        # shellcheck disable=SC2086
        g fit $logi --proposal=$prop --threads=$nt -o "$tmp/$prop.$nt" \
            "$tiny"
        need "fit --threads=$nt exits 0" status_is 0
        need "fit --threads=$nt writes the model" test -s "$tmp/$prop.$nt"
    done
    need "--threads=1 and --threads=2 give the same model bytes" \
        cmp -s "$tmp/$prop.1" "$tmp/$prop.2"
    need "--threads=1 and --threads=4 give the same model bytes" \
        cmp -s "$tmp/$prop.1" "$tmp/$prop.4"
    end "fit logistic --proposal=$prop: same model for 1, 2 and 4 threads"
    if [ "$good" -ne 1 ]; then
        diff "$tmp/$prop.1" "$tmp/$prop.2" | head -n 6 | diag
    fi
done
cp "$tmp/global.1" "$tmp/tiny.model" 2>/dev/null

begin
g predict --model="$tmp/tiny.model" "$tiny"
cp "$tmp/out" "$tmp/pred"
need "exit status 0" status_is 0
need "one line per row ($tiny_rows)" test "$(lines_of "$tmp/pred")" = \
    "$tiny_rows"
need "every line a %.9g number" all_numbers "$tmp/pred"
need "same as tiny.pred.golden" same_as_golden "$tmp/pred" \
    "$golden/tiny.pred.golden"
end "predict (logistic): one %.9g line per row, as in tiny.pred.golden"

begin
g predict --threads=4 --model="$tmp/tiny.model" "$tiny"
need "exit status 0" status_is 0
need "same output as with all threads" cmp -s "$tmp/out" "$tmp/pred"
g predict --threads=1 --model="$tmp/tiny.model" "$tiny"
need "same output with one thread" cmp -s "$tmp/out" "$tmp/pred"
end "predict gives the same output for any --threads"

begin
g predict --margin --model="$tmp/tiny.model" "$tiny"
need "exit status 0" status_is 0
need "one line per row" test "$(lines_of "$tmp/out")" = "$tiny_rows"
need "margins are the log-odds of the probabilities" \
    awk 'NR == FNR { m[FNR] = $1; next }
         { p = 1 / (1 + exp(-m[FNR])); d = p - $1; if (d < 0) d = -d
           if (d > 1e-6) bad = 1 }
         END { exit bad }' "$tmp/out" "$tmp/pred"
end "predict --margin prints margins whose logistic is the prediction"

begin
# shellcheck disable=SC2086
g fit $sq --threads=1 -o "$tmp/sq.1" "$tiny"
need "fit exits 0" status_is 0
# shellcheck disable=SC2086
g fit $sq --threads=2 -o "$tmp/sq.2" "$tiny"
need "the same model with 2 threads" cmp -s "$tmp/sq.1" "$tmp/sq.2"
g predict --model="$tmp/sq.1" "$tiny"
need "predict exits 0" status_is 0
need "one line per row" test "$(lines_of "$tmp/out")" = "$tiny_rows"
need "every line a %.9g number" all_numbers "$tmp/out"
need "same as tiny.sq.pred.golden" same_as_golden "$tmp/out" \
    "$golden/tiny.sq.pred.golden"
end "fit and predict squared-error (fixed, lossguide): as in tiny.sq.pred.golden"

begin
g eval --model="$tmp/tiny.model" --metric=auc,error,logloss "$tiny"
need "exit status 0" status_is 0
need "three lines auc, error, logloss, each name<TAB>%.6f" \
    awk -F "$tab" -v want="auc error logloss" '
        BEGIN { n = split(want, w, " ") }
        NF != 2 || $1 != w[NR] || $2 !~ /^-?[0-9]+\.[0-9][0-9][0-9][0-9][0-9][0-9]$/ { bad = 1 }
        END { exit bad || NR != n }' "$tmp/out"
need "same as tiny.eval.golden" same_as_golden "$tmp/out" \
    "$golden/tiny.eval.golden"
end "eval --metric=auc,error,logloss prints name<TAB>value lines"

begin
g eval --model="$tmp/tiny.model" --metric=auc,bogus "$tiny"
need "exit status 1" status_is 1
need "a gbrank: message naming bogus" msg_has bogus
need "nothing on stdout" test ! -s "$tmp/out"
end "eval with an unknown metric: exit 1 and no output"

begin
g fit --objective=logistic --metric=logloss --rounds=20 --threads=1 \
    -o "$tmp/log.model" "$tiny"
need "fit exits 0" status_is 0
need "20 rounds logged as [i]<TAB>train-logloss:%.6f" \
    awk -v tab="$tab" '
        $0 ~ "^\\[[0-9]+\\]" tab "train-logloss:[0-9]+\\.[0-9][0-9][0-9][0-9][0-9][0-9]$" { n++ }
        END { exit n != 20 }' "$tmp/err"
last=$(sed -n 's/^\[19\]	train-logloss:\([0-9.]*\)$/\1/p' "$tmp/err")
g eval --model="$tmp/log.model" --metric=logloss "$tiny"
need "eval exits 0" status_is 0
evald=$(sed -n 's/^logloss	//p' "$tmp/out")
need "last train-logloss ($last) equals eval's logloss ($evald)" \
    test -n "$last" -a "$last" = "$evald"
end "the last logged train-logloss equals gbrank eval --metric=logloss"

# ---------------------------------------------------------------------
# The training log (fit --log) and gbrank plot.

# Whether $1 is well-formed XML: by python3's parser, else xmllint, else
# an <svg ...> start and a last line </svg>.
well_formed() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import xml.dom.minidom, sys
xml.dom.minidom.parse(sys.argv[1])' "$1" 2>/dev/null
    elif command -v xmllint >/dev/null 2>&1; then
        xmllint --noout "$1" 2>/dev/null
    else
        grep -q '^<svg ' "$1" && [ "$(tail -n 1 "$1")" = "</svg>" ]
    fi
}

# The values fit printed on stderr, one "round column value" line per
# round and column ("[3]<TAB>train-auc:0.912345" gives "3 train-auc
# 0.912345").
stderr_rows() {
    awk -F "$tab" '/^\[[0-9]+\]/ {
        r = substr($1, 2, length($1) - 2)
        for (i = 2; i <= NF; i++) {
            c = $i; sub(/:[^:]*$/, "", c)
            print r, c, substr($i, length(c) + 2)
        } }' "$1"
}

# The same from a log table, its values rounded to six decimals.
log_rows() {
    awk -F "$tab" 'NR > 1 { printf "%s %s-%s %.6f\n", $1, $3, $4, $5 }' "$1"
}

cp "$tiny" "$tmp/tiny-valid.svm"
mkdir "$tmp/log"
logfit="--objective=logistic --metric=auc,ndcg@3- --rounds=6 --threads=1 \
--eval-train=yes"
header="round${tab}seconds${tab}set${tab}metric${tab}value"
begin
# shellcheck disable=SC2086
g fit $logfit --valid="$tmp/tiny-valid.svm" --log="$tmp/log/tiny.log" \
    -o "$tmp/logged.model" "$tiny"
need "exit status 0" status_is 0
cp "$tmp/err" "$tmp/fit.err"
need "the first line is the header round, seconds, set, metric, value" \
    test "$(head -n 1 "$tmp/log/tiny.log")" = "$header"
need "1 + 6 rounds x 2 sets x 2 metrics = 25 lines" \
    test "$(lines_of "$tmp/log/tiny.log")" = 25
need "every row: round, seconds (never decreasing), set, metric, value" \
    awk -F "$tab" 'NR > 1 && (NF != 5 || $1 != int((NR - 2) / 4) ||
        $2 !~ /^[0-9]+\.[0-9][0-9][0-9][0-9][0-9][0-9]$/ || $2 + 0 < last ||
        $5 !~ /^-?[0-9.]+(e[-+][0-9]+)?$/) { bad = 1 }
        NR > 1 { last = $2 + 0 } END { exit bad }' "$tmp/log/tiny.log"
need "sets train and tiny-valid.svm, metrics auc and ndcg@3- (hyphens kept)" \
    test "$(awk -F "$tab" 'NR > 1 && NR < 6 { print $3 "/" $4 }' \
    "$tmp/log/tiny.log" | tr '\n' ' ')" = \
    "train/auc train/ndcg@3- tiny-valid.svm/auc tiny-valid.svm/ndcg@3- "
stderr_rows "$tmp/fit.err" >"$tmp/rows.err"
log_rows "$tmp/log/tiny.log" >"$tmp/rows.log"
need "stderr has 24 values" test "$(lines_of "$tmp/rows.err")" = 24
need "the values, at six decimals, are those fit printed on stderr" \
    cmp -s "$tmp/rows.err" "$tmp/rows.log"
need "no temporary file left" test "$(ls -A "$tmp/log")" = tiny.log
# shellcheck disable=SC2086
g fit $logfit --valid="$tmp/tiny-valid.svm" -o "$tmp/unlogged.model" "$tiny"
need "the same model without --log" \
    cmp -s "$tmp/logged.model" "$tmp/unlogged.model"
end "fit --log: a header, then a row per round, set and metric, as on stderr"
if [ "$good" -ne 1 ]; then
    diff "$tmp/rows.err" "$tmp/rows.log" | head -n 6 | diag
fi

# The set is the validation file's base name and the metric its own
# column, whatever hyphens either holds, with or without the train set.
cp "$tiny" "$tmp/ltr-valid.svm"
begin
g fit --rounds=2 --valid="$tmp/ltr-valid.svm" --log="$tmp/hy.log" \
    -o "$tmp/hy.model" "$tiny"
need "without --eval-train: exit status 0" status_is 0
need "without --eval-train: rows ltr-valid.svm/rmse only" \
    test "$(awk -F "$tab" 'NR > 1 { print $3 "/" $4 }' "$tmp/hy.log" |
    tr '\n' ' ')" = "ltr-valid.svm/rmse ltr-valid.svm/rmse "
g fit --rounds=2 --eval-train=yes --valid="$tmp/ltr-valid.svm" \
    --log="$tmp/hy.log" -o "$tmp/hy.model" "$tiny"
need "with --eval-train=yes: exit status 0" status_is 0
need "with --eval-train=yes: rows train/rmse, ltr-valid.svm/rmse" \
    test "$(awk -F "$tab" 'NR > 1 { print $3 "/" $4 }' "$tmp/hy.log" |
    tr '\n' ' ')" = \
    "train/rmse ltr-valid.svm/rmse train/rmse ltr-valid.svm/rmse "
g fit --rounds=2 --metric=ndcg@3-,rmse --valid="$tmp/ltr-valid.svm" \
    --valid="$tmp/tiny-valid.svm" --log="$tmp/hy.log" -o "$tmp/hy.model" \
    "$tiny"
need "two hyphenated sets, a hyphenated metric: exit status 0" status_is 0
need "two hyphenated sets, a hyphenated metric: each named apart" \
    test "$(awk -F "$tab" 'NR > 1 && NR < 6 { print $3 "/" $4 }' \
    "$tmp/hy.log" | tr '\n' ' ')" = "ltr-valid.svm/ndcg@3- \
ltr-valid.svm/rmse tiny-valid.svm/ndcg@3- tiny-valid.svm/rmse "
end "fit --log names the set by the file's base name and the metric apart"

begin
g fit --rounds=3 --log=- -o "$tmp/stdout.model" "$tiny"
need "exit status 0" status_is 0
need "the header on stdout" test "$(head -n 1 "$tmp/out")" = "$header"
need "and 3 rows" test "$(lines_of "$tmp/out")" = 4
end "fit --log=- writes the table to standard output"

mkdir "$tmp/lout"
begin
g fit --log="$tmp/lout/log" -o "$tmp/lout/model" "$tmp/empty.svm"
need "on bad data: exit status 1" status_is 1
need "on bad data: no log, model or temporary file left" dir_empty "$tmp/lout"
g fit --rounds=2 --log="$tmp/no-such-dir/log" -o "$tmp/lout/model" "$tiny"
need "into a missing directory: exit status 1" status_is 1
need "into a missing directory: a gbrank: message naming the log" \
    msg_has "$tmp/no-such-dir/log"
need "into a missing directory: nothing written" dir_empty "$tmp/lout"
end "fit --log that fails before training leaves no file"

mkdir "$tmp/plot"
begin
g plot --output="$tmp/plot/tiny.svg" "$tmp/log/tiny.log"
need "exit status 0" status_is 0
need "nothing on stdout or stderr" test ! -s "$tmp/out" -a ! -s "$tmp/err"
need "an SVG document" grep -q '^<svg xmlns="http://www.w3.org/2000/svg"' \
    "$tmp/plot/tiny.svg"
need "well-formed XML" well_formed "$tmp/plot/tiny.svg"
need "one polyline per set of the first metric (2)" \
    test "$(grep -c '<polyline' "$tmp/plot/tiny.svg")" = 2
need "the legend has \"tiny.log train\"" \
    grep -q -F '>tiny.log train</text>' "$tmp/plot/tiny.svg"
need "the legend has \"tiny.log tiny-valid.svm\"" \
    grep -q -F '>tiny.log tiny-valid.svm</text>' "$tmp/plot/tiny.svg"
need "the y axis is titled auc" grep -q -F '>auc</text>' "$tmp/plot/tiny.svg"
cp "$tmp/plot/tiny.svg" "$tmp/tiny.svg.1"
g plot --output="$tmp/plot/tiny.svg" "$tmp/log/tiny.log"
need "a second run gives the same bytes" \
    cmp -s "$tmp/plot/tiny.svg" "$tmp/tiny.svg.1"
need "no temporary file left" test "$(ls -A "$tmp/plot")" = tiny.svg
end "plot of a fit --log: well-formed SVG, a line and a legend entry per set"

cp "$tmp/log/tiny.log" "$tmp/log/again.log"
begin
g plot --metric=ndcg@3- --x=seconds --title="tiny & <friends>" \
    --width=900 --height=300 --output=- "$tmp/log/tiny.log" \
    "$tmp/log/again.log"
need "exit status 0" status_is 0
need "well-formed XML on stdout" well_formed "$tmp/out"
need "one polyline per log and set (4)" \
    test "$(grep -c '<polyline' "$tmp/out")" = 4
need "the size 900x300" grep -q 'width="900" height="300"' "$tmp/out"
need "the title, escaped" \
    grep -q -F '>tiny &amp; &lt;friends&gt;</text>' "$tmp/out"
need "the x axis titled seconds" grep -q -F '>seconds</text>' "$tmp/out"
need "the y axis titled ndcg@3-" grep -q -F '>ndcg@3-</text>' "$tmp/out"
end "plot --metric --x=seconds --title --width --height of two logs"

begin
g plot --metric=ndcg@3 --title='gbrank "plot" & <test>' \
    --output="$tmp/plot/golden.svg" "$golden/plot-a.tsv" "$golden/plot-b.tsv"
need "exit status 0" status_is 0
need "well-formed XML" well_formed "$tmp/plot/golden.svg"
need "three polylines" \
    test "$(grep -c '<polyline' "$tmp/plot/golden.svg")" = 3
need "the set v&<1> escaped in the legend" \
    grep -q -F '>plot-a.tsv v&amp;&lt;1&gt;</text>' "$tmp/plot/golden.svg"
need "same as plot.svg.golden" same_as_golden "$tmp/plot/golden.svg" \
    "$golden/plot.svg.golden"
end "plot of hand-made logs (any column order, a nan): as in plot.svg.golden"
rm -f "$tmp/plot/golden.svg"

# Malformed logs made from tiny.log: file|sed script|line|what is wrong.
while IFS="|" read -r name script line what; do
    sed "$script" "$tmp/log/tiny.log" >"$tmp/log/$name"
    begin
    g plot --output="$tmp/plot/bad.svg" "$tmp/log/tiny.log" "$tmp/log/$name"
    need "exit status 1" status_is 1
    need "one gbrank: line" one_line_msg
    need "the message has $name$line" msg_has "$name$line"
    need "no output or temporary file left" \
        test "$(ls -A "$tmp/plot")" = tiny.svg
    end "plot of a log with $what: exit 1, the message has $name$line"
done <<BAD_LOGS
short.log|3s/${tab}[^${tab}]*\$//|:3:|a missing field
value.log|4s/[^${tab}]*\$/high/|:4:|a value that is not a number
round.log|5s/^[0-9]*/-1/|:5:|a negative round
header.log|1s/metric/measure/|:1:|no metric column
empty.log|1,\$d|:1:|no header
header-only.log|1!d|:|no rows
BAD_LOGS

begin
g plot --output="$tmp/plot/bad.svg" "$tmp/log/no-such.log"
need "exit status 1" status_is 1
need "one gbrank: line naming the file" msg_has "no-such.log:"
need "no output file" test "$(ls -A "$tmp/plot")" = tiny.svg
end "plot of a log that does not exist: exit 1"

begin
g plot --metric=bogus --output="$tmp/plot/bad.svg" "$tmp/log/tiny.log"
need "exit status 1" status_is 1
need "one gbrank: line naming the metric" msg_has bogus
need "no output file" test "$(ls -A "$tmp/plot")" = tiny.svg
end "plot --metric of a metric no log has: exit 1"

# ---------------------------------------------------------------------
# Output files.

mkdir "$tmp/pout"
begin
g predict --model="$tmp/tiny.model" --output="$tmp/pout/pred" "$tiny"
need "exit status 0" status_is 0
need "nothing on stdout" test ! -s "$tmp/out"
need "the file holds what stdout would" cmp -s "$tmp/pout/pred" "$tmp/pred"
need "no other file in the directory" test "$(ls -A "$tmp/pout")" = pred
end "predict --output=FILE writes the predictions to FILE"

rm -rf "$tmp/pout"
mkdir "$tmp/pout"
printf 'not a model\n' >"$tmp/garbage.model"
mkdir "$tmp/a-directory"
for model in no-such.model garbage.model a-directory; do
    begin
    g predict --model="$tmp/$model" --output="$tmp/pout/pred" "$tiny"
    need "exit status 1" status_is 1
    need "one gbrank: line naming the model" msg_has "$tmp/$model"
    need "no output or temporary file left" dir_empty "$tmp/pout"
    end "predict with an unreadable model ($model): exit 1, no output file left"
done

begin
g predict --model="$tmp/tiny.model" --output="$tmp/pout/pred" \
    "$tmp/empty.svm"
need "exit status 1" status_is 1
need "no output or temporary file left" dir_empty "$tmp/pout"
end "predict on bad data: exit 1, no output file left"

begin
g fit --rounds=2 -o "$tmp/no-such-dir/model" "$tiny"
need "exit status 1" status_is 1
need "a gbrank: message naming the file" msg_has "$tmp/no-such-dir/model"
need "no directory made" test ! -e "$tmp/no-such-dir"
end "fit -o into a directory that does not exist: exit 1"

mkdir "$tmp/fout"
begin
g fit --output="$tmp/fout/model" "$tmp/empty.svm"
need "exit status 1" status_is 1
need "no model or temporary file left" dir_empty "$tmp/fout"
end "fit on bad data writes no model"

begin
g fit --rounds=2 "$tiny"
need "exit status 0" status_is 0
need "gbrank.model written in the current directory" \
    test -s "$work/gbrank.model"
rm -f "$work/gbrank.model"
end "fit without -o writes gbrank.model"

# ---------------------------------------------------------------------
# Model file errors: exit 1 with file:line.

mkdir "$tmp/models"
sed '1s/.*/gbrank model 2/' "$tmp/tiny.model" >"$tmp/models/v2.model"
begin
g predict --model="$tmp/models/v2.model" "$tiny"
need "exit status 1" status_is 1
need "one line" one_line_msg
need "the message has v2.model:1: and the version" \
    msg_has "v2.model:1:" version
end "a model of version 2: exit 1 with file:1:"

sed '4a\
colour=blue' "$tmp/tiny.model" >"$tmp/models/key.model"
begin
g predict --model="$tmp/models/key.model" "$tiny"
need "exit status 1" status_is 1
need "one line" one_line_msg
need "the message has key.model:5: and the key" msg_has "key.model:5:" colour
end "a model with an unknown key: exit 1 with file:line"

sed '$d' "$tmp/tiny.model" >"$tmp/models/short.model"
last_line=$(($(lines_of "$tmp/tiny.model")))
begin
g predict --model="$tmp/models/short.model" "$tiny"
need "exit status 1" status_is 1
need "one line" one_line_msg
need "the message has short.model:$last_line:" \
    msg_has "short.model:$last_line:"
end "a truncated model: exit 1 with file:line"

# ---------------------------------------------------------------------
# The corpus of malformed inputs: fit and predict exit 1 with one line
# naming the file (or its side file) and a colon.

n_bad=0
for f in "$data"/bad/*; do
    [ -f "$f" ] || continue
    base=${f##*/}
    case $base in
    *.query | *.group | *.weight | *.position | README*) continue ;;
    esac
    n_bad=$((n_bad + 1))
    begin
    (cd "$data/bad" && "$gbrank" fit --rounds=2 -o "$work/bad.model" \
        "$base") >"$tmp/out" 2>"$tmp/err"
    rc=$?
    ran=1
    need "fit: exit status 1" status_is 1
    need "fit: stderr is one gbrank: line" one_line_msg
    need "fit: the message names $base or its side file, then ':'" \
        grep -q -F -e "$base:" -e "$base.query:" -e "$base.group:" \
        -e "$base.weight:" -e "$base.position:" "$tmp/err"
    need "fit: no model written" test ! -e "$work/bad.model"
    if [ "$good" -eq 1 ]; then
        (cd "$data/bad" && "$gbrank" predict --model="$tmp/tiny.model" \
            "$base") >"$tmp/out" 2>"$tmp/err"
        rc=$?
        ran=1
        need "predict: exit status 1" status_is 1
        need "predict: stderr is one gbrank: line" one_line_msg
        need "predict: nothing on stdout" test ! -s "$tmp/out"
    fi
    rm -f "$work/bad.model"
    end "bad/$base: exit 1, one gbrank: line with the file name"
done

begin
need "the corpus $data/bad has inputs" test "$n_bad" -gt 0
end "the corpus of malformed inputs is there ($n_bad files)"

begin
g fit --rounds=2 -o "$tmp/missing.model" "$tmp/no-such.svm"
need "exit status 1" status_is 1
need "stderr is one gbrank: line" one_line_msg
need "the message names the file and a colon" msg_has "no-such.svm:"
end "fit on a file that does not exist: exit 1"

# ---------------------------------------------------------------------
# gen_rec, the generator of implicit-feedback logs for the recommenders.

gen_rec=$build/datasets/gen_rec
differs() {
    ! cmp -s "$1" "$2"
}
begin
"$gen_rec" --users=60 --items=200 --ratings=3000 --seed=3 "$tmp/rec1.tsv" \
    >"$tmp/out" 2>"$tmp/err"
need "exit status 0" test $? -eq 0
"$gen_rec" --users=60 --items=200 --ratings=3000 --seed=3 "$tmp/rec2.tsv" \
    2>/dev/null
need "the same command gives the same bytes" cmp -s "$tmp/rec1.tsv" \
    "$tmp/rec2.tsv"
"$gen_rec" --users=60 --items=200 --ratings=3000 --seed=4 "$tmp/rec3.tsv" \
    2>/dev/null
need "another seed gives another log" differs "$tmp/rec1.tsv" \
    "$tmp/rec3.tsv"
need "user<TAB>item<TAB>rating<TAB>timestamp, ids in range, ratings 1..5" \
    awk -F "$tab" 'NF != 4 || $1 < 1 || $1 > 60 || $2 < 1 || $2 > 200 ||
        $3 !~ /^[1-5]$/ || $4 !~ /^[0-9]+$/ { bad = 1 } END { exit bad }' \
    "$tmp/rec1.tsv"
need "every user, 20 to 100 ratings each, each item once a user" \
    awk -F "$tab" '{ n[$1]++; if (seen[$1 SUBSEP $2]++) bad = 1 }
        END { for (u = 1; u <= 60; u++)
                  if (n[u] < 20 || n[u] > 100) bad = 1
              exit bad }' "$tmp/rec1.tsv"
need "about the ratings asked for (2,400 to 3,600)" \
    test "$(lines_of "$tmp/rec1.tsv")" -ge 2400 -a \
    "$(lines_of "$tmp/rec1.tsv")" -le 3600
need "each user's lines in time order, users in order" \
    awk -F "$tab" '$1 < u || ($1 == u && $4 < t) { bad = 1 }
        { u = $1; t = $4 } END { exit bad }' "$tmp/rec1.tsv"
"$gen_rec" --items=3 "$tmp/rec4.tsv" 2>"$tmp/err"
need "too few items: exit status 2 with a message" test $? -eq 2
need "no file left behind" test ! -e "$tmp/rec4.tsv" -a \
    ! -e "$tmp/rec4.tsv.tmp"
end "gen_rec: a deterministic log of the asked shape, in time order"

# ---------------------------------------------------------------------
# gbrank rec: split, fit, eval and recommend on a generated log, and the
# errors of bad logs and models.

rlog=$tmp/rec1.tsv
begin
g rec split --min-rating=4 -o "$tmp/rs" "$rlog"
need "rec split exits 0" status_is 0
need "writes prefix.1 and prefix.2" test -s "$tmp/rs.1" -a -s "$tmp/rs.2"
need "no prefix.3" test ! -e "$tmp/rs.3"
need "in the log's form: four tab-separated fields, ratings >= 4" \
    awk -F "$tab" 'NF != 4 || $3 < 4 { bad = 1 } END { exit bad }' \
    "$tmp/rs.1" "$tmp/rs.2"
awk -F "$tab" '$3 >= 4 { n[$1]++ } END { for (u in n) if (n[u] >= 5)
    { all += n[u]; t = int(n[u] * 0.2 + 0.5); test += t < 1 ? 1 : t }
    print all, test }' "$rlog" >"$tmp/want.split"
echo "$(cat "$tmp/rs.1" "$tmp/rs.2" | wc -l | tr -d ' ')" \
    "$(lines_of "$tmp/rs.2")" >"$tmp/got.split"
need "the parts hold every positive of the users with 5, the last \
max(1, round(0.2 n)) in the second" cmp -s "$tmp/want.split" "$tmp/got.split"
need "each user's test interactions are not older than its training ones" \
    awk -F "$tab" 'NR == FNR { if ($4 > last[$1]) last[$1] = $4; next }
        $4 < last[$1] { bad = 1 } END { exit bad }' "$tmp/rs.1" "$tmp/rs.2"
g rec split --min-rating=4 --fractions=0.6,0.2,0.2 --scheme=random \
    --seed=3 -o "$tmp/rr" "$rlog"
need "three fractions, random: exit 0 and three files" \
    test "$rc" -eq 0 -a -s "$tmp/rr.1" -a -s "$tmp/rr.2" -a -s "$tmp/rr.3"
need "and the history of the third, prefix.1-2, the first two together" \
    test "$(cat "$tmp/rr.1" "$tmp/rr.2" | sort)" = "$(sort "$tmp/rr.1-2")"
need "no union for two parts" test ! -e "$tmp/rs.1-2"
end "rec split writes the windows in the log's form"

for model in pop item-knn ease bpr-mf multi-vae multi-dae; do
    begin
    g rec fit --model=$model --threads=1 -o "$tmp/$model.1" "$tmp/rs.1"
    need "rec fit --model=$model exits 0" status_is 0
    g rec fit --model=$model --threads=2 -o "$tmp/$model.2" "$tmp/rs.1"
    need "the same model bytes for 1 and 2 threads" \
        cmp -s "$tmp/$model.1" "$tmp/$model.2"
    g rec eval --model="$tmp/$model.1" "$tmp/rs.2"
    need "rec eval exits 0" status_is 0
    need "prints ndcg@10 and recall@20 as name<TAB>value, in [0, 1]" \
        awk -F "$tab" 'NR == 1 && $1 != "ndcg@10" { bad = 1 }
            NR == 2 && $1 != "recall@20" { bad = 1 }
            NF != 2 || $2 < 0 || $2 > 1 { bad = 1 }
            END { exit bad || NR != 2 }' "$tmp/out"
    cp "$tmp/out" "$tmp/eval.1"
    g rec eval --model="$tmp/$model.1" --threads=2 "$tmp/rs.2"
    need "the same values with 2 threads" cmp -s "$tmp/out" "$tmp/eval.1"
    g rec recommend --model="$tmp/$model.1" --top=5 \
        --output="$tmp/top.$model"
    need "rec recommend exits 0" status_is 0
    need "user<TAB>item<TAB>score<TAB>rank, ranks 1..5, scores never rise" \
        awk -F "$tab" 'NF != 4 { bad = 1 }
            $1 != u { u = $1; r = 0; last = "" }
            { r++; if ($4 != r || r > 5) bad = 1
              if (last != "" && $3 + 0 > last + 0) bad = 1; last = $3 }
            END { exit bad || NR == 0 }' "$tmp/top.$model"
    need "no user is recommended an item of its training history" \
        awk -F "$tab" 'NR == FNR { h[$1 SUBSEP $2] = 1; next }
            (($1 SUBSEP $2) in h) { bad = 1 } END { exit bad }' \
        "$tmp/rs.1" "$tmp/top.$model"
    end "rec fit/eval/recommend --model=$model"
done

begin
g rec fit --model=bpr-mf --epochs=4 --valid="$tmp/rs.2" \
    --metric=ndcg@10,recall@20 --log="$tmp/mf.log" -o "$tmp/mf.rec" \
    "$tmp/rs.1"
need "rec fit --valid --log exits 0" status_is 0
need "stderr has a line per epoch with the loss and validation metrics" \
    test "$(grep -c '^epoch [1-4]: loss .*valid ndcg@10 .*valid recall@20' \
        "$tmp/err")" -eq 4
need "the log has fit's header" \
    test "$(head -n 1 "$tmp/mf.log")" = "round${tab}seconds${tab}set${tab}metric${tab}value"
need "per epoch: the training loss and the two validation metrics" \
    awk -F "$tab" 'NR > 1 { n[$1]++; if ($2 < last) bad = 1; last = $2
            if ($3 == "train" && $4 != "loss") bad = 1
            if ($3 != "train" && $3 != "rs.2") bad = 1 }
        END { for (e = 0; e < 4; e++) if (n[e] != 3) bad = 1
              exit bad || NR != 13 }' "$tmp/mf.log"
g plot --metric=ndcg@10 --output="$tmp/mf.svg" "$tmp/mf.log"
need "gbrank plot draws it" test "$rc" -eq 0 -a -s "$tmp/mf.svg"
g rec fit --model=bpr-mf --epochs=2 --early-stop=1 "$tmp/rs.1"
need "early-stop without --valid: exit 2" status_is 2
end "rec fit --valid --log: progress on stderr, fit's log table, plot draws it"

begin
printf 'u1\ti1\t5\t10\nu1\ti2\n' >"$tmp/r-field.tsv"
g rec fit --model=pop "$tmp/r-field.tsv"
need "a missing field: exit 1" status_is 1
need "a missing field: file:line" msg_has "r-field.tsv:2:" "fields"
printf 'u1\ti1\t5\t10\nu1\ti2\tgood\t11\n' >"$tmp/r-rating.tsv"
g rec fit --model=pop "$tmp/r-rating.tsv"
need "a non-numeric rating: exit 1" status_is 1
need "a non-numeric rating: file:line" msg_has "r-rating.tsv:2:" "rating"
: >"$tmp/r-empty.tsv"
g rec fit --model=pop -o "$tmp/r-empty.model" "$tmp/r-empty.tsv"
need "an empty log: exit 1" status_is 1
need "an empty log: file:line" msg_has "r-empty.tsv:1:" "empty"
need "no model written" test ! -e "$tmp/r-empty.model"
end "rec fit on bad logs: exit 1 with file:line"

begin
g rec fit "$tmp/rs.1"
need "without --model: exit 2" status_is 2
g rec fit --model=pop --frobnicate=1 "$tmp/rs.1"
need "an unknown parameter: exit 2" status_is 2
g rec fit --model=bpr-mf --dim=0 "$tmp/rs.1"
need "dim out of range: exit 2 naming it" test "$rc" -eq 2
need "dim out of range: the message names it" msg_has "dim" "[1, 4096]"
g rec eval --model="$tmp/pop.1" --metric=auc@5 "$tmp/rs.2"
need "an unknown metric: exit 2" status_is 2
g rec recommend --model="$tmp/pop.1"
need "recommend without --top: exit 2" status_is 2
g rec split "$rlog"
need "split without -o: exit 2" status_is 2
g rec split --fractions=0.5,0.6 -o "$tmp/bad" "$rlog"
need "fractions not adding up to 1: exit 2" status_is 2
need "and no file written" test ! -e "$tmp/bad.1"
g rec frobnicate
need "an unknown rec subcommand: exit 2" status_is 2
end "rec usage errors exit 2"

begin
head -c 100 "$tmp/pop.1" >"$tmp/pop.cut"
g rec eval --model="$tmp/pop.cut" "$tmp/rs.2"
need "a truncated model: exit 1" status_is 1
need "a truncated model: says so" msg_has "pop.cut" "truncated or corrupt"
cp "$tmp/item-knn.1" "$tmp/knn.bad"
printf 'X' | dd of="$tmp/knn.bad" bs=1 seek=200 conv=notrunc 2>/dev/null
g rec recommend --model="$tmp/knn.bad" --top=3 --output="$tmp/knn.top"
need "an altered model: exit 1" status_is 1
need "an altered model: the checksum says so" msg_has "knn.bad" "checksum"
need "and no output file" test ! -e "$tmp/knn.top"
g rec eval --model="$tiny" "$tmp/rs.2"
need "a file that is no model: exit 1" status_is 1
need "a file that is no model: says so" msg_has "not a gbrank recommender"
end "rec eval and recommend refuse truncated, altered and foreign models"

# ---------------------------------------------------------------------
# gbrank features: candidates and features of the models above for the
# users of rs.1, labelled by rs.2; the leakage guard and bad inputs.

fmodels=$tmp/pop.1,$tmp/item-knn.1,$tmp/ease.1,$tmp/bpr-mf.1,$tmp/multi-vae.1
begin
g features --models="$fmodels" --history="$tmp/rs.1" --labels="$tmp/rs.2" \
    --threads=1 -o "$tmp/feat.1"
need "features exits 0" status_is 0
need "writes OUT, OUT.pairs and OUT.names" \
    test -s "$tmp/feat.1" -a -s "$tmp/feat.1.pairs" -a -s "$tmp/feat.1.names"
g features --models="$fmodels" --history="$tmp/rs.1" --labels="$tmp/rs.2" \
    --threads=2 -o "$tmp/feat.2"
need "the same rows for 1 and 2 threads" cmp -s "$tmp/feat.1" "$tmp/feat.2"
need "the same pairs for 1 and 2 threads" \
    cmp -s "$tmp/feat.1.pairs" "$tmp/feat.2.pairs"
need "names: index<TAB>name, 1 .. 40, the models' first" \
    awk -F "$tab" '$1 != NR || NF != 2 { bad = 1 }
        NR == 1 && $2 != "m1.pop.score" { bad = 1 }
        NR == 40 && $2 != "pop_gap" { bad = 1 }
        END { exit bad || NR != 40 }' "$tmp/feat.1.names"
need "rows: label qid:q and increasing indices in 1 .. 40, qid never falls" \
    awk '{ if ($1 != 0 && $1 != 1) bad = 1
           if ($2 !~ /^qid:[0-9]+$/) bad = 1
           q = substr($2, 5) + 0; if (q < lastq) bad = 1; lastq = q
           last = 0
           for (f = 3; f <= NF; f++) { split($f, kv, ":")
               if (kv[1] <= last || kv[1] > 40) bad = 1; last = kv[1] } }
        END { exit bad || NR == 0 }' "$tmp/feat.1"
need "a pair per row" \
    test "$(lines_of "$tmp/feat.1")" -eq "$(lines_of "$tmp/feat.1.pairs")"
need "label 1 exactly for the pairs of rs.2, no pair of rs.1" \
    awk -F "$tab" 'FILENAME == ARGV[1] { b[$1 SUBSEP $2] = 1; next }
        FILENAME == ARGV[2] { a[$1 SUBSEP $2] = 1; next }
        FILENAME == ARGV[3] { p[FNR] = (($2 SUBSEP $3) in b)
            if (($2 SUBSEP $3) in a) bad = 1; next }
        { split($0, w, " "); if ((w[1] == 1) != p[FNR]) bad = 1; n += w[1] }
        END { exit bad || n == 0 }' "$tmp/rs.2" "$tmp/rs.1" \
    "$tmp/feat.1.pairs" "$tmp/feat.1"
g fit --objective=lambdarank --proposal=global --rounds=3 \
    -o "$tmp/feat.ranker" "$tmp/feat.1"
need "gbrank fit trains a ranker on them" status_is 0
end "features: rows, pairs and names, the same for 1 and 2 threads"

begin
g features --models="$tmp/pop.1,$tmp/ease.1" --history="$tmp/rs.1" \
    --labels="$tmp/rs.1" -o "$tmp/leak"
need "labels the models were fitted on: exit 1" status_is 1
need "the message names the model and the count" \
    msg_has "pop.1: " "pairs of" "training interactions"
need "no output written" test ! -e "$tmp/leak" -a ! -e "$tmp/leak.pairs"
g features --models="$tmp/pop.1" --history="$tmp/rs.1" --labels="$tmp/rs.1" \
    --allow-leak -o "$tmp/leak"
need "--allow-leak: exit 0 with a warning" \
    test "$rc" -eq 0 -a -s "$tmp/leak"
need "the warning says so" msg_has "warning: " "pop.1"
end "features refuses labels the models were fitted on"

begin
printf 'u1\ti1\t5\t10\nu1\ti2\tgood\t11\n' >"$tmp/f-bad.tsv"
g features --models="$tmp/pop.1" --history="$tmp/rs.1" \
    --labels="$tmp/f-bad.tsv" -o "$tmp/fbad"
need "a malformed labels file: exit 1" status_is 1
need "a malformed labels file: file:line" msg_has "f-bad.tsv:2:" "rating"
need "no output written" test ! -e "$tmp/fbad"
g features --models="$tmp/pop.1" --history="$tmp/f-bad.tsv" -o "$tmp/fbad"
need "a malformed history: exit 1 with file:line" \
    msg_has "f-bad.tsv:2:"
g features --models="$tmp/pop.1,$tmp/nothere" --history="$tmp/rs.1" \
    -o "$tmp/fbad"
need "a missing model: exit 1" status_is 1
g features --history="$tmp/rs.1" -o "$tmp/fbad"
need "without --models: exit 2" status_is 2
g features --models="$tmp/pop.1" --history="$tmp/rs.1" --candidates=0 \
    -o "$tmp/fbad"
need "candidates 0: exit 2" status_is 2
need "and nothing written" test ! -e "$tmp/fbad"
end "features: bad inputs exit 1 with file:line, usage errors 2"

# rec eval --ranker and rec blend: the candidates of feat.1 ranked by a
# gbrank model and by a blend, against rs.2.
begin
g rec eval --ranker="$tmp/feat.ranker" --features="$tmp/feat.1" \
    --threads=1 "$tmp/rs.2"
need "rec eval --ranker: exit 0" status_is 0
need "prints ndcg@10 and recall@20 in [0, 1]" \
    awk -F "$tab" '$2 < 0 || $2 > 1 { bad = 1 } END { exit bad || NR != 2 }' \
    "$tmp/out"
cp "$tmp/out" "$tmp/rank.1"
g rec eval --ranker="$tmp/feat.ranker" --features="$tmp/feat.1" \
    --threads=2 --per-user="$tmp/per-user" "$tmp/rs.2"
need "the same figures for 1 and 2 threads" cmp -s "$tmp/out" "$tmp/rank.1"
need "--per-user: a header, then a line a user whose means are the figures" \
    awk -F "$tab" 'NR == 1 { if ($0 != "user" FS "ndcg@10" FS "recall@20")
            bad = 1; next }
        FILENAME == ARGV[1] { n++; a += $2; b += $3; next }
        FNR == 1 { x = $2 } FNR == 2 { y = $2 }
        END { d1 = a / n - x; d2 = b / n - y
              exit bad || n < 10 || d1 > 1e-5 || d1 < -1e-5 ||
                  d2 > 1e-5 || d2 < -1e-5 }' "$tmp/per-user" "$tmp/out"
g rec blend --features="$tmp/feat.1" --threads=1 -o "$tmp/blend.1" \
    "$tmp/rs.2"
need "rec blend: exit 0" status_is 0
g rec blend --features="$tmp/feat.1" --threads=2 -o "$tmp/blend.2" \
    "$tmp/rs.2"
need "the same blend for 1 and 2 threads" cmp -s "$tmp/blend.1" "$tmp/blend.2"
need "the blend: its header, a comment, a weight a model's zscore" \
    awk -F "$tab" 'NR == 1 { bad = $0 != "gbrank blend 1"; next }
        /^#/ { next } $1 !~ /^m[1-5]\.[a-z-]+\.zscore$/ { bad = 1 } { n++ }
        END { exit bad || n != 5 }' "$tmp/blend.1"
g rec eval --ranker="$tmp/blend.1" --features="$tmp/feat.1" "$tmp/rs.2"
need "rec eval --ranker=BLEND: exit 0" status_is 0
need "it reaches the ndcg@10 the blend was tuned to" \
    test "$(sed -n 's/^ndcg@10\t//p' "$tmp/out")" = \
    "$(sed -n 's/^# .*: //p' "$tmp/blend.1")"
# EASE's own score as a blend: the figures of rec eval --model, as every
# model's top 50 is among the candidates.
printf 'gbrank blend 1\nm3.ease.score\t1\n' >"$tmp/ease.blend"
g rec eval --ranker="$tmp/ease.blend" --features="$tmp/feat.1" "$tmp/rs.2"
cp "$tmp/out" "$tmp/ease.by-blend"
g rec eval --model="$tmp/ease.1" "$tmp/rs.2"
need "a model's score as the ranker gives the model's own figures" \
    cmp -s "$tmp/out" "$tmp/ease.by-blend"
end "rec eval --ranker and rec blend, the same for 1 and 2 threads"

begin
g rec eval --ranker="$tmp/feat.ranker" "$tmp/rs.2"
need "--ranker without --features: exit 2" status_is 2
g rec eval --model="$tmp/ease.1" --per-user="$tmp/pu" "$tmp/rs.2"
need "--per-user without --ranker: exit 2" status_is 2
g rec eval --ranker="$tmp/feat.ranker" --features="$tmp/nothere" "$tmp/rs.2"
need "features without .pairs: exit 1, naming it" \
    test "$rc" -eq 1 -a -n "$(grep -F "nothere.pairs" "$tmp/err")"
head -n 5 "$tmp/feat.1" >"$tmp/short"
cp "$tmp/feat.1.pairs" "$tmp/short.pairs"
cp "$tmp/feat.1.names" "$tmp/short.names"
g rec eval --ranker="$tmp/feat.ranker" --features="$tmp/short" "$tmp/rs.2"
need "rows and pairs that differ in number: exit 1" \
    test "$rc" -eq 1 -a -n "$(grep -F "rows, but" "$tmp/err")"
cp "$tmp/feat.1" "$tmp/short"
{ head -n 3 "$tmp/feat.1.pairs"; printf '1 u1 i1\n'; } >"$tmp/short.pairs"
g rec eval --ranker="$tmp/blend.1" --features="$tmp/short" "$tmp/rs.2"
need "a malformed pairs line: exit 1 with file:line" \
    test "$rc" -eq 1 -a -n "$(grep -F "short.pairs:4:" "$tmp/err")"
{ head -n 1 "$tmp/feat.1.pairs"; head -n 1 "$tmp/feat.1.pairs"; } \
    >"$tmp/short.pairs"
head -n 2 "$tmp/feat.1" >"$tmp/short"
g rec eval --ranker="$tmp/blend.1" --features="$tmp/short" "$tmp/rs.2"
need "a pair listed twice: exit 1" \
    test "$rc" -eq 1 -a -n "$(grep -F "both user" "$tmp/err")"
printf 'gbrank blend 1\nm3.ease.score\tx\n' >"$tmp/bad.blend"
g rec eval --ranker="$tmp/bad.blend" --features="$tmp/feat.1" "$tmp/rs.2"
need "a blend weight that is no number: exit 1 with file:line" \
    test "$rc" -eq 1 -a -n "$(grep -F "bad.blend:2:" "$tmp/err")"
printf 'gbrank blend 1\nm9.none\t1\n' >"$tmp/bad.blend"
g rec eval --ranker="$tmp/bad.blend" --features="$tmp/feat.1" "$tmp/rs.2"
need "a blend feature not in OUT.names: exit 1, naming it" \
    test "$rc" -eq 1 -a -n "$(grep -F "m9.none" "$tmp/err")"
g rec blend --features="$tmp/feat.1" --columns=.nothing -o "$tmp/b3" \
    "$tmp/rs.2"
need "rec blend with no column: exit 2, nothing written" \
    test "$rc" -eq 2 -a ! -e "$tmp/b3"
g rec blend --features="$tmp/feat.1" "$tmp/rs.2"
need "rec blend without -o: exit 2" status_is 2
end "rec eval --ranker and rec blend: bad inputs exit 1, usage errors 2"

# The recipe, datasets/rec_pipeline.sh, with three quick models.
begin
QUIET=1 PAIRED=1 MODELS="pop item-knn ease" GBRANK="$gbrank" THREADS=2 \
    sh "$src/datasets/rec_pipeline.sh" "$rlog" "$tmp/pipe" >"$tmp/out" \
    2>"$tmp/err"
rc=$?
need "rec_pipeline.sh: exit 0" status_is 0
need "a line a method, in [0, 1], then the paired lines and the seconds" \
    awk -F "$tab" 'BEGIN { split("pop item-knn ease blend re-ranker", m, " ") }
        NR <= 5 { if ($1 != m[NR] || NF != 3 || $2 < 0 || $2 > 1 ||
            $3 < 0 || $3 > 1) bad = 1; next }
        NR <= 9 { if ($1 != "paired" || $2 != m[NR - 5] || NF != 6) bad = 1
                  next }
        NR == 10 { if ($1 != "seconds") bad = 1; next } { bad = 1 }
        END { exit bad || NR != 10 }' "$tmp/out"
need "its windows, models, features, ranker and blend are there" \
    test -s "$tmp/pipe/win.1-2" -a -s "$tmp/pipe/ab.ease" -a \
    -s "$tmp/pipe/feat.c.pairs" -a -s "$tmp/pipe/ranker" -a \
    -s "$tmp/pipe/blend"
ease_line=$("$gbrank" rec eval --model="$tmp/pipe/ab.ease" \
    "$tmp/pipe/win.3" | tr '\n' "$tab" | awk -F "$tab" '{ print $2, $4 }')
need "its ease line is rec eval --model's" \
    test "$ease_line" = "$(awk -F "$tab" '$1 == "ease" { print $2, $3 }' \
    "$tmp/out")"
end "datasets/rec_pipeline.sh runs the protocol and prints every method"

# ---------------------------------------------------------------------
# The default data set: determinism where the work is parallel, and the
# manual's EXAMPLES.

have_default=1
for f in ltr.train ltr.valid ltr.test; do
    [ -s "$default_data/$f" ] || have_default=0
done
missing_default="$default_data/ltr.{train,valid,test} missing: run make \
(the generator datasets/gen_ltr makes them)"

begin
if [ "$have_default" -eq 1 ]; then
    for nt in 1 2 4; do
        g fit --rounds=4 --subsample=0.8 --colsample-bytree=0.8 --seed=7 \
            --threads=$nt -o "$tmp/ltr.$nt" "$default_data/ltr.train"
        need "fit --threads=$nt exits 0" status_is 0
    done
    need "--threads=1 and 2 give the same model bytes" \
        cmp -s "$tmp/ltr.1" "$tmp/ltr.2"
    need "--threads=1 and 4 give the same model bytes" \
        cmp -s "$tmp/ltr.1" "$tmp/ltr.4"
else
    need "$missing_default" false
fi
end "fit on datasets/default/ltr.train: same model for 1, 2 and 4 threads"

# --lambdarank-pairs=mean draws by seed, round and row: the same model
# for every thread count, another for another seed.
begin
if [ "$have_default" -eq 1 ]; then
    for nt in 1 2; do
        g fit --rounds=4 --lambdarank-pairs=mean \
            --lambdarank-pairs-per-doc=2 --seed=3 --threads=$nt \
            -o "$tmp/mean.$nt" "$default_data/ltr.train"
        need "fit --threads=$nt exits 0" status_is 0
    done
    g fit --rounds=4 --lambdarank-pairs=mean --lambdarank-pairs-per-doc=2 \
        --seed=4 -o "$tmp/mean.s4" "$default_data/ltr.train"
    need "--threads=1 and 2 give the same model bytes" \
        cmp -s "$tmp/mean.1" "$tmp/mean.2"
    need "another seed draws other pairs" \
        sh -c '! cmp -s "$1" "$2"' - "$tmp/mean.1" "$tmp/mean.s4"
else
    need "$missing_default" false
fi
end "fit --lambdarank-pairs=mean: same model for 1 and 2 threads, another per seed"

if [ "$good" -ne 1 ] && [ "$have_default" -eq 1 ]; then
    diff "$tmp/ltr.1" "$tmp/ltr.2" | head -n 6 | diag
fi

begin
if [ "$have_default" -eq 1 ]; then
    for nt in 1 2; do
        g fit --rounds=4 --subsample=0.3 --subsample-by=query --seed=7 \
            --threads=$nt -o "$tmp/ltr.q$nt" "$default_data/ltr.train"
        need "fit --subsample-by=query --threads=$nt exits 0" status_is 0
    done
    need "--subsample-by=query: --threads=1 and 2 give the same model bytes" \
        cmp -s "$tmp/ltr.q1" "$tmp/ltr.q2"
    need "the model file says subsample_by=query" \
        grep -q -x "param.subsample_by=query" "$tmp/ltr.q1"
    need "the model drawn by row does not name subsample_by" \
        test -z "$(grep subsample_by "$tmp/ltr.1")"
    for nt in 1 2; do
        g fit --rounds=4 --subsample=0.3 --subsample-by=query --seed=7 \
            --subsample-leaves=all --threads=$nt -o "$tmp/ltr.qa$nt" \
            "$default_data/ltr.train"
        need "fit --subsample-leaves=all --threads=$nt exits 0" status_is 0
    done
    need "--subsample-leaves=all: --threads=1 and 2 give the same model bytes" \
        cmp -s "$tmp/ltr.qa1" "$tmp/ltr.qa2"
    need "the model file says subsample_leaves=all" \
        grep -q -x "param.subsample_leaves=all" "$tmp/ltr.qa1"
    grep -v '^param\.' "$tmp/ltr.qa1" >"$tmp/ltr.qa1.trees"
    grep -v '^param\.' "$tmp/ltr.q1" >"$tmp/ltr.q1.trees"
    need "leaves from every row give other trees than from the drawn rows" \
        test -n "$(cmp "$tmp/ltr.qa1.trees" "$tmp/ltr.q1.trees" 2>&1)"
    need "a model with the drawn rows' leaves does not name subsample_leaves" \
        test -z "$(grep subsample_leaves "$tmp/ltr.q1")"
else
    need "$missing_default" false
fi
g fit --subsample=0.5 --subsample-by=query -o "$tmp/noq" "$tiny"
need "fit --subsample-by=query without query groups: exit 1" status_is 1
need "a gbrank: message naming subsample-by=query and query groups" \
    msg_has subsample-by=query "query groups"
end "fit --subsample-by=query: same model for 1 and 2 threads, an error without groups"

# predict --ranked: every row once, each query's rows by score, ranks 1..n.
begin
g fit --rounds=5 --threads=1 -o "$tmp/rank.model" "$default_data/ltr.train"
need "fit on grouped data exits 0" status_is 0
g predict --model="$tmp/rank.model" --ranked "$default_data/ltr.test"
need "predict --ranked exits 0" status_is 0
cp "$tmp/out" "$tmp/ranked"
g predict --model="$tmp/rank.model" "$default_data/ltr.test"
cp "$tmp/out" "$tmp/plain"
need "one line per row" \
    test "$(wc -l <"$tmp/ranked")" -eq "$(wc -l <"$tmp/plain")"
need "four tab-separated fields" \
    awk -F "$tab" 'NF != 4 { bad = 1 } END { exit bad }' "$tmp/ranked"
need "scores are the rows' predictions" \
    awk -F "$tab" 'NR == FNR { p[NR] = $1; next }
        p[$2] != $3 { bad = 1 } END { exit bad }' "$tmp/plain" "$tmp/ranked"
need "within a query: ranks 1, 2, ... and scores never rise" \
    awk -F "$tab" '$1 != q { q = $1; r = 0; last = "" }
        { r++; if ($4 != r) bad = 1
          if (last != "" && $3 + 0 > last + 0) bad = 1; last = $3 }
        END { exit bad }' "$tmp/ranked"
need "every row appears once" \
    test "$(cut -f2 "$tmp/ranked" | sort -n | uniq | wc -l)" -eq \
        "$(wc -l <"$tmp/plain")"
g predict --model="$tmp/rank.model" --ranked "$tiny"
need "without groups: exit 1" status_is 1
need "without groups: says so" msg_has "needs query groups"
end "predict --ranked lists each query's rows by score with their ranks"

# The lines of the literal displays of EXAMPLES, un-escaped.
awk '/^\.Sh /{ on = ($2 == "EXAMPLES"); next }
     on && /^\.Bd -literal/ { lit = 1; next }
     on && /^\.Ed/ { lit = 0; next }
     on && lit && NF' "$man" 2>/dev/null |
    sed 's/\\-/-/g; s/\\&//g; s/\\e/\\/g' >"$tmp/examples"

begin
need "EXAMPLES has command lines" test -s "$tmp/examples"
need "every example line starts with gbrank" \
    test -z "$(grep -v '^gbrank ' "$tmp/examples")"
need "$missing_default" test "$have_default" -eq 1
end "the manual has EXAMPLES to run, and their data is there"

if [ "$have_default" -eq 1 ]; then
    mkdir "$tmp/ex"
    ln -s "$build/datasets" "$tmp/ex/datasets"
    while IFS= read -r line; do
        begin
        cmd="\"\$gbrank\"${line#gbrank}"
        (cd "$tmp/ex" && eval "$cmd") >"$tmp/out" 2>"$tmp/err" </dev/null
        rc=$?
        ran=1
        need "exit status 0" status_is 0
        end "example: $line"
    done <"$tmp/examples"
fi

finish
