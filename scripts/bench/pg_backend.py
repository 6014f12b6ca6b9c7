#!/usr/bin/env python3
"""The PostgreSQL backend's figures beside the postgres-table peer, on one throwaway server.

    python3 scripts/bench/pg_backend.py ADMIN EVENTS.jsonl PEERS.json [--json-out FILE]

Starts a PostgreSQL cluster of its own (initdb into a temporary folder, as the `postgres` user
when run as root; 127.0.0.1 on a free port; stopped and removed at the end), then times on it:
`admin import` of the whole history (every check, one transaction), `admin verify`, `admin export`
to /dev/null (the replay), the store's bytes (every table of its schema with indexes and TOAST),
and `admin bench-appenders` with 1, 2 and 4 writers (single-event appends, each committed,
one connection each). The peer's figures (COPY in, COPY out, the table's bytes) come from the
same run of peers.py (PEERS.json). Every figure is measured here; none is estimated.
"""
import argparse
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def binaries():
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    return None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def timed(cmd, stdout_devnull=False):
    t0 = time.perf_counter()
    if stdout_devnull:  # the replay's output read and thrown away, as the peer's COPY TO /dev/null
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    else:
        r = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} failed ({r.returncode}): {r.stderr[-600:]}")
    return dt, r.stdout or ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("admin")
    ap.add_argument("events")
    ap.add_argument("peers")
    ap.add_argument("--json-out")
    ap.add_argument("--appends", type=int, default=int(os.environ.get("BENCH_PG_APPENDS", "500")))
    a = ap.parse_args()
    bindir = binaries()
    if not bindir:
        print("pg backend: PostgreSQL's server binaries are not installed: no figures", file=sys.stderr)
        return 0
    n = sum(1 for _ in open(a.events, "rb"))
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    tmp = tempfile.mkdtemp(prefix="hromada-pgbench-")
    os.chmod(tmp, 0o777)
    data = os.path.join(tmp, "data")
    port = free_port()
    subprocess.run(run_as + [f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "bench", "-E", "UTF8", "--no-locale"],
                   check=True, capture_output=True)
    subprocess.run(run_as + [f"{bindir}/pg_ctl", "-D", data, "-l", os.path.join(tmp, "log"), "-w", "-o",
                             f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1", "start"],
                   check=True, capture_output=True, stdin=subprocess.DEVNULL)
    out = {"events": n}
    try:
        url = f"postgres://bench@127.0.0.1:{port}/postgres"
        psql = [f"{bindir}/psql", "-X", "-At", "-h", "127.0.0.1", "-p", str(port), "-U", "bench", "-d", "postgres"]
        timed([a.admin, "--store", url, "init"])
        out["import_s"], _ = timed([a.admin, "--store", url, "import", a.events])
        out["verify_s"], _ = timed([a.admin, "--store", url, "verify"])
        out["export_s"], _ = timed([a.admin, "--store", url, "export"], stdout_devnull=True)
        _, size = timed(psql + ["-c", "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace "
                                      "WHERE s.nspname = 'hromada' AND c.relkind = 'r'"])
        out["bytes"] = int(size.strip())
        # the same events into a store that already holds the first half: every id and stream of
        # the second half is then asked of the server (an import into an empty log asks nothing:
        # no other writer can add to it while the import holds the head row's lock)
        lines = open(a.events, "rb").readlines()
        half = os.path.join(tmp, "first-half.jsonl"), os.path.join(tmp, "second-half.jsonl")
        with open(half[0], "wb") as f:
            f.writelines(lines[: n // 2])
        with open(half[1], "wb") as f:
            f.writelines(lines[n // 2:])
        u = f"{url}?schema=halves"
        timed([a.admin, "--store", u, "init"])
        timed([a.admin, "--store", u, "import", half[0]])
        out["second_half_events"] = n - n // 2
        out["second_half_import_s"], _ = timed([a.admin, "--store", u, "import", half[1]])
        out["appenders"] = []
        for w in (1, 2, 4):
            schema = f"app{w}"
            u = f"{url}?schema={schema}"
            timed([a.admin, "--store", u, "init"])
            _, text = timed([a.admin, "--store", u, "bench-appenders", "--writers", str(w), "--appends", str(max(1, a.appends // w))])
            out["appenders"].append(json.loads(text.strip().splitlines()[-1]))
    finally:
        subprocess.run(run_as + [f"{bindir}/pg_ctl", "-D", data, "-m", "fast", "-w", "stop"], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)

    peer = None
    try:
        peers = json.load(open(a.peers))
        for p in peers.get("peers", peers if isinstance(peers, list) else []):
            if p.get("peer") == "postgres-table":
                peer = p
    except Exception as e:  # noqa: BLE001 - a missing peer is reported, not fatal
        print(f"pg backend: no postgres-table peer figures ({e})", file=sys.stderr)
    out["peer"] = peer

    def rate(s):
        return n / s if s else float("nan")

    print()
    print(f"PostgreSQL backend ({n:,} events, one server of its own, 127.0.0.1)")
    print(f"{'':28}{'hromada on PostgreSQL':>24}{'postgres-table peer':>22}{'ratio':>8}")
    rows = [("append (import), ev/s", rate(out["import_s"]), peer and peer.get("append_eps")),
            ("append into a half-full store", out["second_half_events"] / out["second_half_import_s"], peer and peer.get("append_eps")),
            ("replay (export), ev/s", rate(out["export_s"]), peer and peer.get("replay_eps")),
            ("verify, ev/s", rate(out["verify_s"]), None)]
    for name, ours, theirs in rows:
        ratio = f"{ours / theirs:.2f}x" if theirs else "-"
        print(f"{name:28}{ours:>24,.0f}{(f'{theirs:,.0f}' if theirs else '-'):>22}{ratio:>8}")
    pb = peer and peer.get("bytes")
    ours_bytes = out["bytes"]
    print(f"{'bytes':28}{ours_bytes:>24,}{(f'{pb:,}' if pb else '-'):>22}{(f'{ours_bytes / pb:.2f}x' if pb else '-'):>8}")
    for r in out["appenders"]:
        print(f"{'appends/s, ' + str(r['writers']) + ' writer(s)':28}{r['perSecond']:>24,.0f}   p50 {r['p50ms']} ms, p99 {r['p99ms']} ms")
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
