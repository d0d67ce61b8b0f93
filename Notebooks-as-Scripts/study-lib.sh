# Shared by the study scripts (sourced, not run).

# release_bin PREBUILT PRODUCT...: the folder of release builds of PRODUCTs, built here unless
# PREBUILT (a folder with copies made aside while the tree changes) is given.
release_bin() {
    local prebuilt="$1"; shift
    if [ -n "$prebuilt" ]; then echo "$prebuilt"; return; fi
    local p
    for p in "$@"; do swift build -c release --product "$p" >&2; done
    swift build -c release --show-bin-path
}

# has_split DB DATASET SPLIT: the store already holds that split (`rec-data list`: "…  splits: a, b").
# Needs $RD, the rec-data binary.
has_split() {
    "$RD" list --db "$1" 2>/dev/null | awk -v d="$2" -v s="$3" '$1 == d { sub(/.*splits: /, ""); n = split($0, a, ", "); for (i = 1; i <= n; i++) if (a[i] == s) f = 1 } END { exit !f }'
}
