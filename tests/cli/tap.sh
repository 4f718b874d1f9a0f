# The reporting that every tests/cli script shares, sourced by each: a
# check is reported as "ok N - what" or "not ok N - what", followed after
# a failure by "#   " lines saying why (diag), and finish prints
# "P passed, F failed" and exits 1 if any check failed.
n=0
n_pass=0
n_fail=0

ok() {
    n=$((n + 1))
    n_pass=$((n_pass + 1))
    echo "ok $n - $1"
}

not_ok() {
    n=$((n + 1))
    n_fail=$((n_fail + 1))
    echo "not ok $n - $1"
}

# Print stdin as diagnostic lines.
diag() {
    sed 's/^/#   /'
}

finish() {
    echo "$n_pass passed, $n_fail failed"
    [ "$n_fail" -eq 0 ]
    exit $?
}
