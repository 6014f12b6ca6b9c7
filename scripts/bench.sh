#!/usr/bin/env bash
# The benchmark: this project's event store beside the peers of scripts/bench/peers.py,
# all on the same generated history.
#
#   scripts/bench.sh                  # 200,000 events
#   BENCH_EVENTS=1000000 scripts/bench.sh
#
# Steps: build release; generate N events (admin generate); run the peers (peers.py --json);
# time admin import / verify / rebuild in a fresh temporary store, its size on disk (du -sb)
# and the import's peak RSS (/usr/bin/time -v); run the optional measurement hooks
# (admin bench-latency / bench-search / bench-timetravel) when admin lists them; then print
# one table (scripts/bench_report.py). Every figure is measured in this run; a figure that
# could not be measured is shown as such, never estimated.
#
# Environment: BENCH_PG=0 (skip the PostgreSQL backend), BENCH_HTTP=0 (skip the HTTP run), BENCH_EVENTS (200000), BENCH_SEED (2020), BENCH_OUT (bench-out/: the
# generated file and the JSON report are kept there), BENCH_PEERS (peers.py --only list),
# BENCH_NO_INSTALL=1 (do not try apt-get/pip for missing tools), BENCH_KEEP=1 (keep the
# temporary store), BENCH_SCRATCH (a --scratch-path for the release build).
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
N=${BENCH_EVENTS:-200000}
SEED=${BENCH_SEED:-2020}
OUT=${BENCH_OUT:-$ROOT/bench-out}
PEERS_PY=$ROOT/scripts/bench/peers.py
mkdir -p "$OUT" || exit 1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hromada-bench.XXXXXX") || exit 1
STEPS=$WORK/steps
mkdir -p "$STEPS"
STORE=$WORK/store
cleanup() { if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept: $WORK" >&2; else rm -rf "$WORK"; fi; }
trap cleanup EXIT

say() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'bench: %s\n' "$*" >&2; }

case $N in '' | *[!0-9]*) warn "BENCH_EVENTS must be a number, found '$N'"; exit 64 ;; esac

# --- tools ----------------------------------------------------------------------------------
try_apt() {  # try_apt PACKAGE...: quietly, only as root, only when allowed
    [ "${BENCH_NO_INSTALL:-0}" = 1 ] && return 1
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || return 1
    say "installing $* (apt-get)"
    { apt-get install -y -qq "$@" || { apt-get update -qq && apt-get install -y -qq "$@"; }; } >/dev/null 2>&1
}
[ -x /usr/bin/time ] || try_apt time || warn "/usr/bin/time is missing: the import's peak RSS will not be measured"
command -v sqlite3 >/dev/null || try_apt sqlite3 || true
command -v zstd >/dev/null || try_apt zstd || true
if ! python3 -c 'import eventsourcing' 2>/dev/null && [ "${BENCH_NO_INSTALL:-0}" != 1 ]; then
    say "installing the eventsourcing peer (pip)"
    timeout 180 python3 -m pip install --quiet --disable-pip-version-check eventsourcing >/dev/null 2>&1 ||
        timeout 180 python3 -m pip install --quiet --disable-pip-version-check --break-system-packages eventsourcing >/dev/null 2>&1 ||
        warn "pip could not install eventsourcing: that peer will be reported as skipped"
fi
if ! python3 -c 'import datasette' 2>/dev/null && [ "${BENCH_NO_INSTALL:-0}" != 1 ]; then
    say "installing the Datasette peer of the HTTP figures (pip)"
    timeout 180 python3 -m pip install --quiet --disable-pip-version-check datasette >/dev/null 2>&1 ||
        timeout 180 python3 -m pip install --quiet --disable-pip-version-check --break-system-packages datasette >/dev/null 2>&1 ||
        warn "pip could not install datasette: the HTTP figures will have no peer"
fi

now() { date +%s.%N; }

# measure NAME CMD...: runs CMD, records its wall time, exit code and (with /usr/bin/time) peak RSS
# in $STEPS/NAME.json; its stdout goes to $STEPS/NAME.out, stderr to $STEPS/NAME.err.
measure() {
    local name=$1; shift
    local t0 t1 rc rss=null
    t0=$(now)
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -v -o "$STEPS/$name.time" "$@" >"$STEPS/$name.out" 2>"$STEPS/$name.err"
        rc=$?
    else
        "$@" >"$STEPS/$name.out" 2>"$STEPS/$name.err"
        rc=$?
    fi
    t1=$(now)
    if [ -f "$STEPS/$name.time" ]; then
        rss=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): \([0-9]*\)$/\1/p' "$STEPS/$name.time")
        [ -n "$rss" ] || rss=null
    fi
    printf '{"step":"%s","seconds":%s,"rc":%d,"maxrss_kb":%s}\n' "$name" \
        "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.6f", b-a}')" "$rc" "$rss" >"$STEPS/$name.json"
    if [ "$rc" != 0 ]; then
        warn "$name failed (exit $rc): $(head -c 600 "$STEPS/$name.err")"
    fi
    return "$rc"
}

# --- build ----------------------------------------------------------------------------------
BUILD=(-c release)
[ -n "${BENCH_SCRATCH:-}" ] && BUILD+=(--scratch-path "$BENCH_SCRATCH")
say "swift build ${BUILD[*]} --product admin"
swift build "${BUILD[@]}" --product admin >&2 || { warn "the release build failed"; exit 1; }
BIN=$(swift build "${BUILD[@]}" --show-bin-path)/admin
[ -x "$BIN" ] || { warn "no admin binary at $BIN"; exit 1; }
"$BIN" help >"$STEPS/help.txt" 2>&1 || "$BIN" --help >"$STEPS/help.txt" 2>&1 || true
# a subcommand admin lists in its help, or answers `--help` for (hidden ones too)
has_command() {
    grep -Eq "^[[:space:]]+$1([[:space:]]|$)" "$STEPS/help.txt" ||
        "$BIN" "$1" --help 2>&1 | grep -Eq "^USAGE: [^ ]*admin $1( |$)"
}

# --- generate -------------------------------------------------------------------------------
EVENTS=$OUT/events-$N-seed$SEED.jsonl
say "generate $N events -> $EVENTS"
if has_command generate; then
    if "$BIN" generate --help 2>&1 | grep -q -- '--seed'; then
        measure generate "$BIN" generate --events "$N" --seed "$SEED" --out "$EVENTS" || exit 1
    else
        measure generate "$BIN" generate --events "$N" --out "$EVENTS" || exit 1
    fi
else
    warn "admin has no 'generate' command yet; building the generator directly from Sources/DemoHistory"
    cat >"$WORK/gen-main.swift" <<'SWIFT'
let a = CommandLine.arguments
let n = try HistoryGenerator(seed: UInt64(a[3])!, targetEvents: Int(a[1])!).write(toPath: a[2])
print(n)
SWIFT
    swiftc -O "$ROOT"/Sources/DemoHistory/*.swift "$WORK/gen-main.swift" -o "$WORK/gen" >&2 ||
        { warn "cannot build the generator"; exit 1; }
    measure generate "$WORK/gen" "$N" "$EVENTS" "$SEED" || exit 1
fi
COUNT=$(wc -l <"$EVENTS" | tr -d ' ')
BYTES=$(wc -c <"$EVENTS" | tr -d ' ')
printf '{"events":%s,"raw_bytes":%s,"requested":%s,"seed":%s,"file":"%s"}\n' "$COUNT" "$BYTES" "$N" "$SEED" "$EVENTS" >"$STEPS/input.json"
say "$COUNT events, $BYTES bytes"

# --- peers ----------------------------------------------------------------------------------
if [ -f "$PEERS_PY" ]; then
    say "peers: python3 scripts/bench/peers.py (this takes a while)"
    peer_args=("$EVENTS" --json)
    [ -n "${BENCH_PEERS:-}" ] && peer_args+=(--only "$BENCH_PEERS")
    if ! python3 "$PEERS_PY" "${peer_args[@]}" >"$STEPS/peers.out" 2>"$STEPS/peers.err"; then
        warn "peers.py failed: $(tail -c 600 "$STEPS/peers.err")"
    fi
    # the JSON is the last line of its output
    tail -n 1 "$STEPS/peers.out" >"$STEPS/peers.json"
else
    warn "peer benchmark not found at scripts/bench/peers.py: the peers are left out"
    echo '{"missing":"scripts/bench/peers.py not found"}' >"$STEPS/peers.json"
fi

# --- this project ---------------------------------------------------------------------------
rm -rf "$STORE"
"$BIN" --store "$STORE" init >"$STEPS/init.out" 2>&1 || warn "admin init failed: $(head -c 400 "$STEPS/init.out")"
sync
say "admin import"
if measure import "$BIN" --store "$STORE" import "$EVENTS"; then
    sync
    du -sb "$STORE" | cut -f1 >"$STEPS/store_bytes.txt"
    du -sb "$STORE/log" | cut -f1 >"$STEPS/log_bytes.txt"
    say "admin verify"
    measure verify "$BIN" --store "$STORE" verify || true
    say "admin rebuild"
    measure rebuild "$BIN" --store "$STORE" rebuild || true
    say "admin replay --check"
    measure replay "$BIN" --store "$STORE" replay --check || true
    du -sb "$STORE" | cut -f1 >"$STEPS/store_bytes_after_rebuild.txt"
    "$BIN" --store "$STORE" stats >"$STEPS/stats.txt" 2>&1 || true
    for hook in bench-latency bench-search bench-timetravel; do
        if has_command "$hook"; then
            say "admin $hook"
            measure "$hook" "$BIN" --store "$STORE" "$hook" || true
        fi
    done
else
    warn "import failed: verify, rebuild and the hooks are not measured"
fi

# --- instructions per event (callgrind): figures that do not move with the machine's noise ---
# The same binary on the same generated history gives the same count whatever else the machine
# does; seconds on a shared machine move by +-20%. BENCH_CALLGRIND_EVENTS (default 5000) events.
CG_N=${BENCH_CALLGRIND_EVENTS:-5000}
command -v valgrind >/dev/null || try_apt valgrind || true
if [ "$CG_N" != 0 ] && command -v valgrind >/dev/null; then
    # valgrind 3.19 cannot read the toolchain's DWARF 5: count on a copy without debug info
    # (the same machine code, so the same instructions).
    CG_BIN=$WORK/admin-callgrind
    strip --strip-debug -o "$CG_BIN" "$BIN" 2>/dev/null || cp "$BIN" "$CG_BIN"
    CG_EVENTS=$WORK/callgrind-events.jsonl
    CG_STORE=$WORK/callgrind-store
    "$BIN" generate --events "$CG_N" --seed "$SEED" --out "$CG_EVENTS" >/dev/null 2>&1
    CG_COUNT=$(wc -l <"$CG_EVENTS" | tr -d ' ')
    "$BIN" --store "$CG_STORE" init >/dev/null 2>&1
    # cg NAME CMD...: the program's total instruction count (Ir), from callgrind's summary line
    cg() {
        local name=$1; shift
        say "callgrind: $name ($CG_COUNT events)"
        if valgrind --tool=callgrind --callgrind-out-file="$STEPS/$name.callgrind" "$@" >"$STEPS/cg-$name.out" 2>"$STEPS/cg-$name.err"; then
            local ir
            ir=$(sed -n 's/^summary: \([0-9]*\).*/\1/p' "$STEPS/$name.callgrind" | head -1)
            printf '{"step":"%s","instructions":%s,"events":%s}\n' "$name" "${ir:-null}" "$CG_COUNT" >"$STEPS/cg-$name.json"
        else
            warn "callgrind $name failed: $(tail -c 300 "$STEPS/cg-$name.err")"
        fi
    }
    cg import "$CG_BIN" --store "$CG_STORE" import "$CG_EVENTS"
    cg verify "$CG_BIN" --store "$CG_STORE" verify
    cg rebuild "$CG_BIN" --store "$CG_STORE" rebuild
    rm -rf "$CG_STORE"
else
    warn "valgrind is missing (or BENCH_CALLGRIND_EVENTS=0): no instruction counts"
fi

# --- report ---------------------------------------------------------------------------------
python3 "$ROOT/scripts/bench_report.py" "$STEPS" --json-out "$OUT/bench-$N.json"

# --- the PostgreSQL backend (issue 11) -------------------------------------------------------
# import / export / verify / bytes on a server of its own beside the postgres-table peer of the
# same run, and appends per second with 1, 2 and 4 writers. BENCH_PG=0 skips it.
if [ "${BENCH_PG:-1}" != 0 ]; then
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || try_apt postgresql || true
    say "PostgreSQL backend"
    python3 "$ROOT/scripts/bench/pg_backend.py" "$BIN" "$EVENTS" "$STEPS/peers.json" --json-out "$OUT/bench-pg-$N.json" ||
        warn "the PostgreSQL backend run failed"
fi

# --- HTTP under load (issue 9) -------------------------------------------------------------
# admin serve with its workers on a history of about 10,000 practices (BENCH_HTTP_EVENTS), wrk
# at 64 connections for BENCH_HTTP_SECONDS (30) on the leaderboard and on catalog search, while
# jury scores are appended over HTTP. BENCH_HTTP=0 skips it.
if [ "${BENCH_HTTP:-1}" != 0 ]; then
    command -v wrk >/dev/null || try_apt wrk || warn "wrk is missing: no HTTP figures"
    if command -v wrk >/dev/null; then
        HN=${BENCH_HTTP_EVENTS:-450000}
        HSTORE=$WORK/http-store
        say "HTTP: generating $HN events, importing, projecting"
        if "$BIN" generate --events "$HN" --seed "$SEED" --out "$WORK/http.jsonl" >/dev/null &&
            "$BIN" --store "$HSTORE" init >/dev/null && "$BIN" --store "$HSTORE" import "$WORK/http.jsonl" >/dev/null &&
            "$BIN" --store "$HSTORE" project >/dev/null; then
            rm -f "$WORK/http.jsonl"
            python3 "$ROOT/scripts/bench/http_load.py" "$BIN" "$HSTORE" --json-out "$OUT/bench-http.json" ||
                warn "the HTTP run failed"
        else
            warn "could not build the HTTP bench store"
        fi
    fi
fi
