#!/usr/bin/env bash
# Proves that another package can depend on RationaleRec through a versioned git URL and add its
# own metric to validate-rewards:
#   1. copies this working tree (tracked files and untracked ones git does not ignore) into a
#      temporary git repository and tags it 0.1.0;
#   2. writes a consumer package (consumer/Package.swift.template) that depends on it with
#      .package(url: "file://…", from: "0.1.0"), its source being custom-metric/main.swift;
#   3. builds the consumer from scratch (debug), makes a tiny synthetic world with rec-data, and
#      runs the consumer's validate-rewards with --metrics all;
#   4. fails unless the consumer's metric (`angular`) is a row of the validation table.
#
#   bash Notebooks-as-Scripts/check-consumer.sh [PATH/TO/rec-data]
#
# rec-data defaults to $REC_DATA, else this checkout's .build/debug/rec-data (`swift build` first).
# KEEP=1 keeps the temporary folder. Needs the MiniLM weights in the cache (fetched if missing).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rec_data="${1:-${REC_DATA:-$root/.build/debug/rec-data}}"
[ -x "$rec_data" ] || { echo "check-consumer: no rec-data at $rec_data (run \`swift build\` first or pass its path)" >&2; exit 2; }
start=$(date +%s)
work="$(mktemp -d "${TMPDIR:-/tmp}/rationalerec-consumer.XXXXXX")"
if [ "${KEEP:-0}" = 1 ]; then echo "check-consumer: keeping $work" >&2; else trap 'rm -rf "$work"' EXIT; fi

# 1. A tagged clone of the working tree. Files deleted but not yet committed are skipped.
lib="$work/RationaleRec"
mkdir -p "$lib"
(cd "$root" && git ls-files -co --exclude-standard -z \
    | while IFS= read -r -d '' f; do if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi; done \
    | tar --null -T - -cf -) | tar -xf - -C "$lib"
git -C "$lib" init -q
git -C "$lib" add -A
git -C "$lib" -c user.name=check-consumer -c user.email=check-consumer@localhost commit -q -m "snapshot for check-consumer"
git -C "$lib" tag 0.1.0

# 2. The consumer package.
consumer="$work/consumer"
mkdir -p "$consumer/Sources/my-validate-rewards"
sed "s|@RATIONALEREC_URL@|file://$lib|" "$root/Notebooks-as-Scripts/consumer/Package.swift.template" > "$consumer/Package.swift"
cp "$root/Notebooks-as-Scripts/custom-metric/main.swift" "$consumer/Sources/my-validate-rewards/main.swift"

# 3. Build it from scratch, then a tiny world and the run.
build_start=$(date +%s)
swift build --package-path "$consumer" 2>&1 | grep -E "error|warning: .*unsafe|Build complete" || true
bin="$(swift build --package-path "$consumer" --show-bin-path)"
[ -x "$bin/my-validate-rewards" ] || { echo "check-consumer: the consumer did not build" >&2; exit 1; }
build_seconds=$(( $(date +%s) - build_start ))
resolved="$(grep -A6 '"identity" : "rationalerec"' "$consumer/Package.resolved" | sed -n 's/.*"version" : "\([^"]*\)".*/\1/p' || true)"
echo "check-consumer: consumer built in ${build_seconds} s against RationaleRec ${resolved:-(version unknown)}"
[ "$resolved" = 0.1.0 ] || { echo "check-consumer: RationaleRec resolved to '${resolved}', not the tag 0.1.0" >&2; exit 1; }

db="$work/world.sqlite"
"$rec_data" synth --db "$db" --seed 7 --users 60 --items 80 --quiet >/dev/null
"$rec_data" split --db "$db" --dataset synth-7 --name random --method random --ratios 0.8,0.1,0.1 >/dev/null
"$rec_data" rationales --db "$db" --dataset synth-7 --split random --reasoner oracle --quiet >/dev/null
"$bin/my-validate-rewards" --list-metrics --dataset x --split y | grep -q '^angular ' || { echo "check-consumer: --list-metrics lacks angular" >&2; exit 1; }
out="$("$bin/my-validate-rewards" --db "$db" --dataset synth-7 --split random --reasoner oracle --metrics all \
    --bootstrap 50 --permutations 200 --quiet --out "$work/report")"
echo "$out"

# 4. The consumer's metric must be in the table.
if ! grep -Eq '^[^A-Za-z]*angular[[:space:]|]' <<<"$out"; then
    echo "check-consumer: FAILED — the table has no row for the consumer's metric 'angular'" >&2
    exit 1
fi
echo "check-consumer: ok — a versioned dependency (file://…RationaleRec, from: 0.1.0) built and validated the consumer's metric 'angular' ($(( $(date +%s) - start )) s in all)"
