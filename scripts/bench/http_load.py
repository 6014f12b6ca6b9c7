#!/usr/bin/env python3
"""The HTTP figures of `make bench`: `admin serve` under wrk while appends keep arriving.

Usage: http_load.py ADMIN STORE [--seconds 30] [--connections 64] [--rate 20] [--json-out FILE]
                    [--only TARGET]... [--no-peer]

STORE holds a generated history with its read models built. The script starts `admin serve`
with its workers (on a free port, appends taken with a bearer token), then, for each target
(the first page, 100 rows, of the leaderboard of the last competition's first theme, which is
what the dashboard asks for; that whole board; catalog search with rotating Ukrainian queries),
runs `wrk -t2 -c64 -d30s --latency` while a second thread appends jury scores over HTTP at a
steady rate, which the workers fold in as wrk runs. It prints requests per second, p50/p90/p99
latency, and the errors (socket errors and non-2xx answers) of each run, and how many appends
were acknowledged meanwhile. Every figure is measured in this run; none is estimated.
"""
import argparse
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

QUERIES = ["бюджет", "громада", "молодь", "освіта", "прозорість", "участь", "консультації", "школа",
           "культура", "енергоефективність", "цифровий", "старости", "ветерани", "туризм", "спорт"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, timeout=30):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read().decode("utf-8"))


def show(v):
    return "-" if v is None else f"{v:.1f}" if isinstance(v, float) else str(v)


def wrk_lua(path, targets):
    """A wrk script that cycles through `targets` (paths with their query strings)."""
    quoted = ", ".join(json.dumps(t) for t in targets)
    with open(path, "w") as f:
        f.write("local paths = {" + quoted + "}\nlocal n = 0\n"
                "request = function()\n  n = n + 1\n  return wrk.format('GET', paths[(n % #paths) + 1])\nend\n")


def parse_wrk(text):
    def seconds(value, unit):
        return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]
    out = {"rps": None, "p50_ms": None, "p90_ms": None, "p99_ms": None, "requests": None,
           "socket_errors": 0, "non_2xx": 0}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if m:
        out["rps"] = float(m.group(1))
    for pct, key in (("50", "p50_ms"), ("90", "p90_ms"), ("99", "p99_ms")):
        m = re.search(rf"^\s+{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
        if m:
            out[key] = round(seconds(m.group(1), m.group(2)) * 1000, 3)
    m = re.search(r"(\d+) requests in", text)
    if m:
        out["requests"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        out["socket_errors"] = sum(int(g) for g in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        out["non_2xx"] = int(m.group(1))
    return out


class Appender(threading.Thread):
    """Appends a jury score over HTTP every 1/rate seconds, each by a juror of its own."""

    def __init__(self, base, token, template, rate):
        super().__init__(daemon=True)
        self.base, self.token, self.template, self.rate = base, token, template, rate
        self.stop = threading.Event()
        self.acknowledged = 0
        self.refused = []

    def run(self):
        n = 0
        next_at = time.monotonic()
        while not self.stop.is_set():
            n += 1
            data = dict(self.template["data"], jurorId=f"bench-juror-{os.getpid()}-{n}")
            body = json.dumps({"expectedVersion": "any", "events": [
                {"id": str(uuid.uuid4()), "type": "JuryScoreAdded", "data": data,
                 "metadata": {"actor": "bench"}}]}).encode()
            request = urllib.request.Request(
                f"{self.base}/api/v1/streams/{urllib.parse.quote(self.template['stream'])}", data=body,
                headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=30) as r:
                    if r.status in (200, 201):
                        self.acknowledged += 1
            except urllib.error.HTTPError as e:
                self.refused.append(f"{e.code} {e.read()[:200]!r}")
            except OSError as e:
                self.refused.append(str(e))
            next_at += 1.0 / self.rate
            self.stop.wait(max(0.0, next_at - time.monotonic()))


BOARD_SQL = """SELECT s.submissionId, s.title, s.communityId, c.oblast, c.kind, s.place, s.award,
 (SELECT COUNT(*) FROM leaderboard_score sc WHERE sc.submissionId = s.submissionId) AS jurors,
 (SELECT SUM(sc.total) FROM leaderboard_score sc WHERE sc.submissionId = s.submissionId) AS total
 FROM leaderboard_submission s LEFT JOIN leaderboard_community c ON c.communityId = s.communityId
 WHERE s.competitionId = :c AND s.themeCode = :t AND s.withdrawn = 0
 ORDER BY 1.0 * total / MAX(jurors, 1) DESC, s.submissionId LIMIT 100"""

SEARCH_SQL = """SELECT p.practiceId, p.title, p.communityId, p.oblast, p.sector,
 snippet(catalog_search, -1, '[', ']', '…', 16) AS snippet, bm25(catalog_search) AS relevance
 FROM catalog_search JOIN catalog_practice p ON p.docid = catalog_search.rowid
 WHERE catalog_search MATCH :q ORDER BY rank LIMIT 20"""


def peer_datasette(a, base, token, template, competition, queries):
    """Datasette over the store's projections.sqlite under the same wrk load and appends."""
    try:
        version = subprocess.run([sys.executable, "-m", "datasette", "--version"], capture_output=True, text=True)
        if version.returncode != 0:
            raise OSError(version.stderr.strip())
    except OSError as e:
        print(f"http bench: the Datasette peer is not installed ({e}); scripts/deps.sh installs it", file=sys.stderr)
        return None
    port = free_port()
    peer = subprocess.Popen(
        [sys.executable, "-m", "datasette", "serve", os.path.join(a.store, "projections.sqlite"), "--port", str(port),
         "--setting", "sql_time_limit_ms", "10000"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peer_base = f"http://127.0.0.1:{port}"
    out = {"name": version.stdout.strip(), "runs": {}}
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(peer_base + "/-/versions.json", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        else:
            print("http bench: Datasette did not start", file=sys.stderr)
            return None
        board = "/projections.json?" + urllib.parse.urlencode(
            {"sql": BOARD_SQL, "c": competition["competitionId"], "t": competition["themes"][0]["themeCode"],
             "_shape": "array"})
        # Each word as a prefix (the catalog's own query stems the words the same way).
        searches = ["/projections.json?" + urllib.parse.urlencode(
            {"sql": SEARCH_SQL, "q": " ".join(w[:max(3, len(w) - 2)] + "*" for w in q.split()), "_shape": "array"})
            for q in queries]
        rows = json.loads(urllib.request.urlopen(peer_base + board, timeout=30).read())
        out["board_rows"] = len(rows)
        work = tempfile.mkdtemp(prefix="hromada-bench-peer-")
        for name, targets in (("leaderboard page", [board]), ("catalog search", searches)):
            lua = os.path.join(work, "paths.lua")
            wrk_lua(lua, targets)
            appender = Appender(base, token, template, a.rate)
            appender.start()
            run = subprocess.run(
                ["wrk", "-t2", f"-c{a.connections}", f"-d{a.seconds}s", "--latency", "--timeout", "10s",
                 "-s", lua, peer_base], capture_output=True, text=True)
            appender.stop.set()
            appender.join()
            figures = parse_wrk(run.stdout)
            figures["appends_acknowledged"] = appender.acknowledged
            out["runs"][name] = figures
    finally:
        peer.terminate()
        try:
            peer.wait(timeout=10)
        except subprocess.TimeoutExpired:
            peer.kill()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("admin")
    ap.add_argument("store")
    ap.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_HTTP_SECONDS", "30")))
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--rate", type=float, default=20.0, help="appends per second during each run")
    ap.add_argument("--json-out")
    ap.add_argument("--only", action="append", help="run only this target (repeatable): "
                    "'leaderboard page', 'leaderboard all', 'catalog search'")
    ap.add_argument("--no-peer", action="store_true", help="leave the Datasette peer out (for profiling)")
    a = ap.parse_args()

    work = tempfile.mkdtemp(prefix="hromada-bench-http-")
    token = secrets.token_hex(24)
    token_file = os.path.join(work, "token")
    with open(token_file, "w") as f:
        f.write(token + "\n")
    os.chmod(token_file, 0o600)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [a.admin, "--store", a.store, "serve", "--port", str(port), "--token-file", token_file,
         "--snapshots", os.path.join(work, "snapshots")],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "serve.log"), "w"))
    try:
        for _ in range(300):
            try:
                if get(base + "/health/ready", timeout=2).get("status") == "ready":
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        else:
            print("http bench: the service did not become ready", file=sys.stderr)
            return 1

        competitions = get(base + "/api/v1/competitions")["competitions"]
        last = competitions[-1]
        leaderboard = f"/api/v1/leaderboard?competition={last['competitionId']}&theme={last['themes'][0]['themeCode']}"
        board_rows = get(base + leaderboard + "&limit=0")["page"]["total"]
        practices = get(base + "/api/v1/catalog?limit=1")["total"]
        catalog = [f"/api/v1/catalog?q={urllib.parse.quote(q)}&limit=20" for q in QUERIES]
        # The appends: a jury score of the log's last scored submission, by new jurors.
        template = None
        with urllib.request.urlopen(f"{base}/api/v1/events?from={max(0, get(base + '/api/v1/stats')['headPosition'] - 5000)}") as r:
            for raw in r:
                line = json.loads(raw)
                if line["type"] == "JuryScoreAdded":
                    template = line
        if template is None:
            print("http bench: no jury score in the last 5000 events to model the appends on", file=sys.stderr)
            return 1

        results = {"practices": practices, "board_rows": board_rows, "seconds": a.seconds,
                   "connections": a.connections, "append_rate": a.rate, "runs": {}}
        # The dashboard's first page of the board (what its leaderboard view asks for), the
        # whole board (every row, as admin query leaderboard prints it), and catalog search.
        for name, targets in (("leaderboard page", [leaderboard + "&limit=100"]),
                              ("leaderboard all", [leaderboard]), ("catalog search", catalog)):
            if a.only and name not in a.only:
                continue
            lua = os.path.join(work, "paths.lua")
            wrk_lua(lua, targets)
            head_before = get(base + "/api/v1/stats")["headPosition"]
            appender = Appender(base, token, template, a.rate)
            appender.start()
            run = subprocess.run(
                ["wrk", "-t2", f"-c{a.connections}", f"-d{a.seconds}s", "--latency", "--timeout", "10s",
                 "-s", lua, base], capture_output=True, text=True)
            appender.stop.set()
            appender.join()
            time.sleep(1.5)
            stats = get(base + "/api/v1/stats")
            figures = parse_wrk(run.stdout)
            figures.update({
                "appends_acknowledged": appender.acknowledged, "appends_refused": len(appender.refused),
                "head_moved": stats["headPosition"] - head_before,
                "leaderboard_lag_after": next(p["lagEvents"] for p in stats["projections"] if p["name"] == "leaderboard"),
            })
            if run.returncode != 0:
                figures["wrk_error"] = run.stderr.strip()[:300]
            if appender.refused:
                figures["first_refusal"] = appender.refused[0]
            results["runs"][name] = figures

        # The peer: Datasette (what a user would put in front of a SQLite file instead) over the
        # same projections.sqlite, while our workers keep folding the same appends into it. Its
        # answers are one SQL query each: the board's first 100 rows ordered by average, and the
        # first 20 matches of an FTS5 query with snippets, ordered by rank (no facet counts and
        # no total, which our catalog answer has as well).
        results["peer"] = None if a.no_peer else peer_datasette(a, base, token, template, last, QUERIES)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()

    print(f"\nHTTP: admin serve with its workers, {a.connections} connections for {a.seconds} s (wrk), "
          f"{a.rate:g} appends/s over HTTP meanwhile; catalog of {results['practices']} practices; "
          f"the board has {board_rows} rows (page: the first 100)")
    print(f"{'target':<18} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'errors':>7} {'appends':>8} {'lag after':>9}")
    for name, f in results["runs"].items():
        errors = (f["socket_errors"] or 0) + (f["non_2xx"] or 0)
        print(f"{name:<18} {show(f['rps']):>9} {show(f['p50_ms']):>8} {show(f['p90_ms']):>8} {show(f['p99_ms']):>8} "
              f"{errors:>7} {f['appends_acknowledged']:>8} {f['leaderboard_lag_after']:>9}")
        if "wrk_error" in f:
            print(f"  wrk: {f['wrk_error']}")
        if "first_refusal" in f:
            print(f"  {f['appends_refused']} appends refused, first: {f['first_refusal']}")
    peer = results.get("peer")
    if peer:
        print(f"peer: {peer['name']} over the same projections.sqlite, one SQL query a request "
              f"(board: the first {peer['board_rows']} rows; search: 20 matches with snippets, no facets)")
        for name, f in peer["runs"].items():
            errors = (f["socket_errors"] or 0) + (f["non_2xx"] or 0)
            ours = results["runs"].get(name, {})
            ratio = (ours.get("rps") or 0) / f["rps"] if f.get("rps") else None
            print(f"{'  ' + name:<18} {show(f['rps']):>9} {show(f['p50_ms']):>8} {show(f['p90_ms']):>8} "
                  f"{show(f['p99_ms']):>8} {errors:>7} {f['appends_acknowledged']:>8}"
                  f"   ours/peer req/s {('%.2fx' % ratio) if ratio else '-'}")
    print("goal: p99 under 50 ms and no request error")
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump(results, f, indent=2, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
