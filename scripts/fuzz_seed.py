#!/usr/bin/env python3
"""Seeds the fuzz corpora from the fixtures and a generated small store (then run
`FUZZ_MERGE=1 scripts/fuzz.sh` to minimise them).

  Tests/Fuzz/corpus-import/  one import line per file: a sample of Tests/Fixtures lines (one
                             per event type, and others), the rejected events of
                             invalid-after-sample.json, export lines, and edge cases
  Tests/Fuzz/corpus-frames/  a mode byte (0: as is, 1: checksums fixed) + a log segment of a
                             small store (many frames, one frame, the empty segment, a torn tail)

ADMIN: the admin binary (default .build/release/admin).
"""
import hashlib, json, os, random, shutil, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADMIN = os.environ.get("ADMIN") or os.path.join(ROOT, ".build/release/admin")
FIX = os.path.join(ROOT, "Tests/Fixtures")
IMP = os.path.join(ROOT, "Tests/Fuzz/corpus-import")
FRM = os.path.join(ROOT, "Tests/Fuzz/corpus-frames")


def put(folder, data):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "seed-" + hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


def admin(*args, **kw):
    return subprocess.run([ADMIN] + list(args), check=True, capture_output=True, **kw)


def main():
    rng = random.Random(7)
    lines = [l for l in open(os.path.join(FIX, "sample-history.jsonl"), "rb").read().split(b"\n") if l]
    by_type = {}
    for l in lines:
        by_type.setdefault(json.loads(l)["type"], []).append(l)
    # the two shortest lines of each event type, and a few others (the corpus stays small)
    for t, ls in sorted(by_type.items()):
        for l in sorted(ls, key=len)[:2]:
            put(IMP, l)
    for l in rng.sample([l for l in lines if len(l) < 1500], 10):
        put(IMP, l)
    for entry in json.load(open(os.path.join(FIX, "invalid-after-sample.json"))):
        ev = entry.get("event")
        put(IMP, ev.encode() if isinstance(ev, str) else json.dumps(ev, ensure_ascii=False, separators=(",", ":")).encode())
    base = json.loads(lines[0])
    edge = []
    for occ in ["2020-05-01T10:00:00.123456Z", "2020-05-01T10:00:00+03:00", "9999-12-31T23:59:59-01:00",
                "2020-02-29T23:59:60Z", "1991-01-01T00:00:00Z"]:
        e = dict(base, occurredAt=occ)
        e.pop("recordedAt", None)
        edge.append(json.dumps(e, ensure_ascii=False).encode())
    for num in ["12345678901234567890", "9007199254740992.0", "-0", "-0.0", "1e400", "1E-7", "0.1", "-9223372036854775808",
                "9223372036854775807", "1.5e300", "123456789012345678901234567890.5"]:
        edge.append(b'{"stream":"test-x","type":"T","occurredAt":"2020-01-01T00:00:00Z","data":{"n":' + num.encode() + b'}}')
    edge += [b'{"stream":"test-x","type":"T","occurredAt":"2020-01-01T00:00:00Z","data":{"s":"\\u0000\\ud83d\\ude00\\n\\"/"}}',
             b'{"stream":"test-x","type":"T","occurredAt":"2020-01-01T00:00:00Z","data":{"a":[[[[{}]]]],"b":null,"c":true}}',
             b'{"stream":"test-x","type":"T","occurredAt":"2020-01-01T00:00:00Z","data":{},"metadata":{"actor":"\xd0\x86"}}',
             b'[1,2,{"a":"b"}]', b'"\\ud800"', b'{"a":1,"a":2}']
    for e in edge:
        put(IMP, e)
    with tempfile.TemporaryDirectory() as d:
        store = os.path.join(d, "s")
        admin("init", "--store", store)
        few = os.path.join(d, "few.jsonl")
        open(few, "wb").write(b"".join(l + b"\n" for l in lines[:12]))
        admin("import", few, "--store", store, "--commit-every", "2")
        out = admin("export", "--store", store).stdout
        for l in [l for l in out.split(b"\n") if l][:6]:
            put(IMP, l)
        seg = sorted(os.listdir(os.path.join(store, "log")))[0]
        many = open(os.path.join(store, "log", seg), "rb").read()
        store1 = os.path.join(d, "one")
        admin("init", "--store", store1)
        open(few, "wb").write(b"".join(l + b"\n" for l in lines[:3]))
        admin("import", few, "--store", store1)
        one = open(os.path.join(store1, "log", sorted(os.listdir(os.path.join(store1, "log")))[0]), "rb").read()
        empty = one[:60]
        for mode in (b"\x00", b"\x01"):
            for seg_bytes in (many, one, empty, many[:len(many) - 17], one + b"\x00" * 64):
                put(FRM, mode + seg_bytes)
        # mode 2: the stored lines of a frame body, which the harness frames itself
        body = subprocess.run(["zstd", "-dc"], input=many, capture_output=True, check=True).stdout
        put(FRM, b"\x02" + body)
        put(FRM, b"\x02" + body.split(b"\n")[0] + b"\n")
    print(f"corpus-import: {len(os.listdir(IMP))} files; corpus-frames: {len(os.listdir(FRM))} files")


if __name__ == "__main__":
    main()
