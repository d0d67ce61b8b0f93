#!/usr/bin/env bash
# Scale benchmark (issue 15): every pipeline stage on synthetic worlds of growing size, with wall
# time, peak RSS and the fitted growth exponent per stage. Release binaries; /usr/bin/time for RSS.
#
#   bash Notebooks-as-Scripts/bench-scale.sh                          # 1k, 10k, 100k users
#   bash Notebooks-as-Scripts/bench-scale.sh --sizes 200,400          # CI-size smoke run
#   bash Notebooks-as-Scripts/bench-scale.sh --sizes 1000,10000 --stages 1,2,3,7 --bootstrap 200
#   bash Notebooks-as-Scripts/bench-scale.sh --list                   # the stages and their inputs
#
# Options go to bench_scale.py (--sizes, --min-items, --max-items, --seed, --bootstrap,
# --train-steps, --stages, --out DIR, --keep-db). Writes DIR/scale.csv, DIR/scale.svg and
# DIR/logs/ (default DIR: runs/bench-scale). Set REC_BENCH_NO_BUILD=1 to use binaries as built.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/time ]; then
    echo "bench-scale needs GNU time for peak RSS: apt-get install time" >&2
    exit 1
fi
python3 -c 'import numpy' 2>/dev/null || { echo "bench-scale needs python3 with numpy" >&2; exit 1; }

if [ -z "${REC_BENCH_NO_BUILD:-}" ]; then
    for product in rec-data validate-rewards rec-train; do
        swift build -c release --product "$product" >&2
    done
fi
bin="$(swift build -c release --show-bin-path)"
# The model is fetched once, outside the timed stages.
"$bin/rec-data" fetch-model minilm >/dev/null
echo "CPU: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) cores; BLAS: $("$bin/validate-rewards" --version)" >&2
exec python3 Notebooks-as-Scripts/bench_scale.py --bin "$bin" "$@"
