# Sourced by the bench scripts. median FILE A [B]: the median of column A
# of FILE, or, with B, of column A over column B taken line by line (a
# line whose column B is 0 counts as 0).
median() {
    awk -v a="$2" -v b="${3:-0}" '
        { v[NR] = !b ? $a : $b != 0 ? $a / $b : 0 }
        END {
            for (i = 2; i <= NR; i++)
                for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
                    t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
                }
            printf "%f\n", NR % 2 ? v[(NR + 1) / 2] \
                                  : (v[NR / 2] + v[NR / 2 + 1]) / 2
        }' "$1"
}
