#!/usr/bin/env bash
# Single-bit flips by the thousand, through the built `admin` binary.
#
#   scripts/bitflip-campaign.sh [FLIPS [SEED]]      (defaults: 1000 flips, seed 1; or $FLIPS, $SEED)
#
# A store is made from the sample history (imported in commits of 100, then three appends), so
# every frame is a commit. Then, for each flip: a copy of the store, one random bit flipped (a
# seeded PRNG) in the segment header, a frame header or a frame body, alternately with and
# without index.sqlite; and
#   - `admin verify` must exit non-zero, naming the damaged offset;
#   - `admin export` must not crash (exit < 128, no signal) and never print a changed event;
#   - `admin init` and `admin append` must refuse, or open without changing a byte of the log
#     (a writer never cuts acknowledged events);
#   - `admin repair --json` must keep every event before the damaged frame, and the repaired
#     store must verify.
# Prints a summary (flips, caught, crashes, lost) and exits 1 on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

FLIPS="${1:-${FLIPS:-1000}}"
SEED="${2:-${SEED:-1}}"
ADMIN="${ADMIN:-.build/debug/admin}"
if [ ! -x "$ADMIN" ]; then
  echo "building admin ..." >&2
  swift build --product admin >&2
fi

exec python3 - "$ADMIN" "$FLIPS" "$SEED" <<'PY'
import json, os, random, shutil, struct, subprocess, sys, tempfile

admin, flips, seed = os.path.abspath(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
sample = os.path.abspath("Tests/Fixtures/sample-history.jsonl")
work = tempfile.mkdtemp(prefix="hromada-bitflip-")
env = {k: v for k, v in os.environ.items() if k != "HROMADA_STORE"}

def run(*args, check=False):
    p = subprocess.run([admin, *args], capture_output=True, env=env, timeout=120)
    if check and p.returncode != 0:
        sys.exit(f"setup failed: admin {' '.join(args)}: {p.stderr.decode(errors='replace')}")
    return p

def lines(out):
    return [l for l in out.split(b"\n") if l]

# The base store.
base = os.path.join(work, "base")
run("init", "--store", base, check=True)
run("import", "--store", base, "--commit-every", "100", sample, check=True)
for n in range(3):
    run("append", "--store", base, "--stream", "note-campaign", "--type", "NoteTaken", "--no-validate",
        "--data", json.dumps({"n": n}), "--occurred-at", "2021-01-01T00:00:00Z", check=True)
reference = lines(run("export", "--store", base, check=True).stdout)
segment_name = sorted(f for f in os.listdir(os.path.join(base, "log")) if f.startswith("segment-"))
if len(segment_name) != 1:
    sys.exit(f"expected one segment, found {segment_name}")
segment_name = segment_name[0]
original = open(os.path.join(base, "log", segment_name), "rb").read()

# The frames: (offset, header length 92, compressed length, first position, commit flag).
frames, offset = [], 60
while offset < len(original):
    flags, count, first = struct.unpack_from("<HIQ", original, offset + 14)
    clen = struct.unpack_from("<I", original, offset + 44)[0]
    frames.append((offset, clen, first, flags & 1))
    offset += 92 + clen
if offset != len(original) or not all(f[3] for f in frames):
    sys.exit("the base segment does not parse into commit frames")

rng = random.Random(seed)
stats = dict(flips=0, caught=0, crashes=0, lost=0, served_changed=0, writer_refused=0, writer_opened_clean=0,
             repaired=0, failures=0)
regions = dict(segment_header=0, frame_header=0, frame_body=0)
first_failures = []

def failure(text):
    stats["failures"] += 1
    if len(first_failures) < 10:
        first_failures.append(text)

def crashed(p):
    return p.returncode < 0 or p.returncode >= 128

for trial in range(flips):
    region = ("segment_header", "frame_header", "frame_body")[trial % 3]
    frame = rng.choice(frames)
    if region == "segment_header":
        at, damaged_at, kept = rng.randrange(60), 0, 0
    elif region == "frame_header":
        at, damaged_at, kept = frame[0] + rng.randrange(92), frame[0], frame[2] - 1
    else:
        at, damaged_at, kept = frame[0] + 92 + rng.randrange(frame[1]), frame[0], frame[2] - 1
    bit = rng.randrange(8)
    with_index = trial % 2 == 0
    regions[region] += 1
    stats["flips"] += 1
    label = f"flip {trial}: bit {bit} at offset {at} ({region}, {'with' if with_index else 'without'} index)"

    store = os.path.join(work, "trial")
    shutil.rmtree(store, ignore_errors=True)
    shutil.copytree(base, store)
    if not with_index:
        for suffix in ("", "-wal", "-shm"):
            path = os.path.join(store, "index.sqlite" + suffix)
            if os.path.exists(path):
                os.unlink(path)
    seg = os.path.join(store, "log", segment_name)
    damaged = bytearray(original)
    damaged[at] ^= 1 << bit
    open(seg, "wb").write(damaged)

    v = run("verify", "--store", store)
    if crashed(v):
        stats["crashes"] += 1; failure(f"{label}: verify crashed ({v.returncode})")
    elif v.returncode != 0 and f"offset {damaged_at}" in v.stderr.decode(errors="replace"):
        stats["caught"] += 1
    else:
        failure(f"{label}: verify exit {v.returncode}, does not name offset {damaged_at}: {v.stdout[-200:]!r} {v.stderr[-300:]!r}")

    e = run("export", "--store", store)
    if crashed(e):
        stats["crashes"] += 1; failure(f"{label}: export crashed ({e.returncode}): {e.stderr[-300:]!r}")
    out = lines(e.stdout)
    if out != reference[:len(out)]:
        stats["served_changed"] += 1; failure(f"{label}: export printed changed events")

    for args in (["init"], ["append", "--stream", "note-campaign", "--type", "NoteTaken", "--no-validate",
                            "--data", "{\"n\":99}", "--occurred-at", "2021-01-01T00:00:00Z"]):
        w = run(args[0], "--store", store, *args[1:])
        now = open(seg, "rb").read()
        if crashed(w):
            stats["crashes"] += 1; failure(f"{label}: {args[0]} crashed ({w.returncode})")
        if w.returncode != 0:
            if now != bytes(damaged):
                failure(f"{label}: a refused {args[0]} changed the log")
            elif args[0] == "init":
                stats["writer_refused"] += 1
        else:
            if not now.startswith(bytes(damaged)):
                lost = len(reference) - kept
                stats["lost"] += lost; failure(f"{label}: {args[0]} exited 0 and cut the log")
            elif args[0] == "init":
                stats["writer_opened_clean"] += 1
            break  # an open that succeeded: no append on a damaged store (it would follow the damage)

    r = run("repair", "--store", store, "--json")
    if crashed(r) or r.returncode != 0:
        failure(f"{label}: repair exit {r.returncode}: {r.stderr[-300:]!r}")
        continue
    report = json.loads(r.stdout)
    after = lines(run("export", "--store", store).stdout)
    if after != reference[:kept]:
        missing = kept - len([1 for a, b in zip(after, reference) if a == b])
        stats["lost"] += max(0, missing)
        failure(f"{label}: after repair the log holds {len(after)} events, expected the {kept} before the damage ({report})")
    elif report.get("keptHead") != kept:
        failure(f"{label}: repair reports keptHead {report.get('keptHead')}, expected {kept}")
    else:
        stats["repaired"] += 1
    if run("verify", "--store", store).returncode != 0:
        failure(f"{label}: the repaired store does not verify")
    for name in os.listdir(os.path.join(store, "damaged")):
        moved = open(os.path.join(store, "damaged", name), "rb").read()
        if name.startswith(segment_name) and moved and not bytes(damaged).endswith(moved):
            failure(f"{label}: the moved-aside file {name} is not the damaged bytes")

shutil.rmtree(work, ignore_errors=True)
print(f"bit-flip campaign: seed {seed}, {len(reference)} events, {len(frames)} frames, {len(original)} bytes")
print(f"  flips {stats['flips']} (segment header {regions['segment_header']}, frame headers {regions['frame_header']}, "
      f"frame bodies {regions['frame_body']}; half without index.sqlite)")
print(f"  caught by verify {stats['caught']}, crashes {stats['crashes']}, lost {stats['lost']}, "
      f"changed events served {stats['served_changed']}")
print(f"  writers: refused {stats['writer_refused']}, opened without cutting {stats['writer_opened_clean']}; "
      f"repaired keeping every event before the damage {stats['repaired']}")
for text in first_failures:
    print("  FAIL " + text)
ok = stats["failures"] == 0 and stats["caught"] == stats["flips"] and stats["crashes"] == 0 and stats["lost"] == 0
print("  result: " + ("PASS" if ok else f"FAIL ({stats['failures']} failures)"))
sys.exit(0 if ok else 1)
PY
