#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer through the Swift toolchain's -sanitize=fuzzer) of
#   frames: a log segment's bytes (segment header, frame headers, CRC32C, zstd, the hash chain,
#           decodeRecorded of every line, LogVerifier over a store holding the segment)
#   import: one import line (strict JSON parser, decodeProposed, payload checks, the stored line,
#           the export line, re-import: accepted input must round-trip canonically)
# Each harness is Sources/Events compiled with Tests/Fuzz/harness/<Target>Fuzzer.swift into one
# instrumented module, linked with the release build's objects of its dependencies.
#
#   FUZZ_RUNS=N        inputs per target (default 200000)
#   FUZZ_TARGETS=...   "frames import" (default both)
#   FUZZ_MERGE=1       after the run, minimise the corpus back into Tests/Fuzz/corpus-<target>/
#   FUZZ_SEED=N        libFuzzer's -seed (default 1)
# Crashes go to Tests/Fuzz/crashes/ (codec) or .build/fuzz/artifacts-<target>/ (see the report).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
runs="${FUZZ_RUNS:-200000}"
targets="${FUZZ_TARGETS:-frames import}"
seed="${FUZZ_SEED:-1}"
out="$root/.build/fuzz"
mkdir -p "$out"

bin="$(swift build -c release --show-bin-path)"
# The dependencies' objects come from the release build (`make release`); built here only when
# missing, so that fuzzing does not relink a release admin that a campaign may be running.
if [ ! -d "$bin/Crypto.build" ] || [ ! -d "$bin/GRDB.build" ] || [ ! -d "$bin/Logging.build" ]; then
  echo "fuzz: building the release objects of the dependencies (swift build -c release --product admin)" >&2
  swift build -c release --product admin >"$out/build.log" 2>&1 || { tail -20 "$out/build.log" >&2; exit 1; }
fi
checkouts="$root/.build/checkouts"

flags=(-O -sanitize=fuzzer -parse-as-library -module-name Events -swift-version 6 -enable-upcoming-feature ExistentialAny
  -package-name hromada_fuzz -I "$bin/Modules"
  -Xcc "-fmodule-map-file=$root/Sources/CZstd/module.modulemap"
  -Xcc "-fmodule-map-file=$bin/CCRC32C.build/module.modulemap" -Xcc -I -Xcc "$root/Sources/CCRC32C/include"
  -Xcc "-fmodule-map-file=$checkouts/GRDB.swift/Sources/GRDBSQLite/module.modulemap"
  -Xcc "-fmodule-map-file=$checkouts/swift-crypto/Sources/CCryptoBoringSSLShims/include/module.modulemap"
  -Xcc -I -Xcc "$checkouts/swift-crypto/Sources/CCryptoBoringSSLShims/include"
  -Xcc "-fmodule-map-file=$checkouts/swift-crypto/Sources/CCryptoBoringSSL/include/module.modulemap"
  -Xcc -I -Xcc "$checkouts/swift-crypto/Sources/CCryptoBoringSSL/include")
objects=()
for t in Crypto CCryptoBoringSSL CCryptoBoringSSLShims CryptoBoringWrapper GRDB Logging CCRC32C; do
  while IFS= read -r -d '' o; do objects+=("$o"); done < <(find "$bin/$t.build" -name '*.o' -print0)
done
mapfile -t sources < <(find "$root/Sources/Events" -name '*.swift' | sort)

build_target() {  # $1 = frames | import
  local name="$1" main
  case "$name" in frames) main=FrameFuzzer ;; import) main=ImportFuzzer ;; esac
  local exe="$out/fuzz-$name"
  local newest
  newest="$(find "$root/Sources/Events" "$root/Tests/Fuzz/harness/$main.swift" -newer "$exe" -name '*.swift' 2>/dev/null | head -1 || true)"
  if [ ! -x "$exe" ] || [ -n "$newest" ]; then
    echo "fuzz: compiling $exe" >&2
    swiftc "${flags[@]}" "${sources[@]}" "$root/Tests/Fuzz/harness/$main.swift" "${objects[@]}" \
      -lzstd -lsqlite3 -o "$exe" >"$out/compile-$name.log" 2>&1 || { tail -30 "$out/compile-$name.log" >&2; exit 1; }
  fi
}

# Swift's own backtracer would take the crash signal before libFuzzer writes the input down.
export SWIFT_BACKTRACE=enable=no
status=0
for t in $targets; do
  build_target "$t"
  corpus="$root/Tests/Fuzz/corpus-$t"
  work="$out/corpus-$t"
  art="$out/artifacts-$t/"
  mkdir -p "$work" "$art" "$corpus"
  extra=(-max_len=2048)
  if [ "$t" = frames ]; then
    # Memory limits make a frame that allocates what a damaged header declares a crash.
    extra=(-max_len=8192 -rss_limit_mb=1024 -malloc_limit_mb=512)
  fi
  echo "fuzz: $t: $runs runs from $(ls "$corpus" | wc -l) corpus inputs" >&2
  set +e
  TMPDIR="${TMPDIR:-/tmp}" "$out/fuzz-$t" -runs="$runs" -seed="$seed" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$art" "${extra[@]}" "$work" "$corpus" >"$out/run-$t.log" 2>&1
  rc=$?
  set -e
  grep -E '^(stat::|Done|#[0-9]+ *DONE)' "$out/run-$t.log" >&2 || true
  found=$(ls "$art" | wc -l)
  if [ $rc -ne 0 ] || [ "$found" -gt 0 ]; then
    echo "fuzz: $t: exit $rc, $found artifacts in $art:" >&2
    grep -m3 -E 'Fatal error|ERROR: libFuzzer|==ERROR|SUMMARY' "$out/run-$t.log" >&2 || true
    status=1
  fi
  if [ "${FUZZ_MERGE:-0}" = 1 ]; then
    merged="$out/merged-$t"
    rm -rf "$merged" && mkdir -p "$merged"
    "$out/fuzz-$t" -merge=1 "${extra[@]}" "$merged" "$corpus" "$work" >"$out/merge-$t.log" 2>&1
    rm -rf "$corpus" && mv "$merged" "$corpus"
    echo "fuzz: $t: corpus minimised to $(ls "$corpus" | wc -l) files, $(cat "$corpus"/* | wc -c) bytes" >&2
  fi
done
exit $status
