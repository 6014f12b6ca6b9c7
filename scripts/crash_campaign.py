#!/usr/bin/env python3
"""kill -9 campaign for Hromada Ledger (issue 7, "Prove it holds, by the thousand").

Each run copies a prepared store, starts one kind of work with the `admin` binary, kills it
(SIGKILL) at a random moment, reopens the store with a writer and checks:

  (a) every acknowledged event is in the log, by id and at the position it was acknowledged at;
  (b) the log is a prefix of what was written (the export compared line by line, in order);
  (c) `admin verify` passes;
  (d) after `admin project` catches up, every read-model table equals a fresh build of the read
      models from the same log (the log copied into an empty folder, `admin project` there);
  (e) debris left behind (`__rebuild` tables, projections left `rebuilding`, scratch folders,
      `.tmp-*` files) is counted and reported; it fails the run only with STRICT_DEBRIS=1.

Kinds: import (of a generated history, all or nothing or --commit-every N), append (a loop of
single `admin append --id`), project, rebuild, workers (`admin workers` while appends happen,
both killed at once), snapshot (`admin snapshot create`).

Environment:
  ADMIN          the admin binary (default .build/release/admin); nothing is built here
  RUNS           number of runs (default 1000)
  SEED           the campaign's seed (default: random, printed); run N uses Random(f"{SEED}:{N}")
  ONLY_RUN       replay just this run number (with the same SEED and EVENTS)
  KINDS          comma list restricting the kinds (default all)
  EVENTS         size of the generated history (default 3000)
  WORK           working folder (default a fresh temporary folder, removed unless KEEP=1)
  KEEP           1: keep the working folder (failing runs are always kept)
  STRICT_DEBRIS  1: debris fails the campaign
  SELFTEST       1: plant faults (a lost acknowledged event, a prefix violation, a damaged frame,
                 a changed read-model row) and require the checker to flag each one
  QUIET          1: no per-run lines
Exit status: 0 when nothing was lost and no check failed; 1 otherwise; 2 on a setup error.
"""

import hashlib
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADMIN = os.path.abspath(os.environ.get("ADMIN") or os.path.join(ROOT, ".build/release/admin"))
RUNS = int(os.environ.get("RUNS", "1000"))
SEED = os.environ.get("SEED") or str(random.SystemRandom().randrange(1, 2**31))
EVENTS = int(os.environ.get("EVENTS", "3000"))
STRICT_DEBRIS = os.environ.get("STRICT_DEBRIS") == "1"
SELFTEST = os.environ.get("SELFTEST") == "1"
QUIET = os.environ.get("QUIET") == "1"
KEEP = os.environ.get("KEEP") == "1"
ONLY_RUN = os.environ.get("ONLY_RUN")
ALL_KINDS = ["import", "append", "project", "rebuild", "workers", "snapshot"]
WEIGHTS = {"import": 24, "append": 30, "project": 11, "rebuild": 11, "workers": 14, "snapshot": 10}
KINDS = [k for k in (os.environ.get("KINDS") or ",".join(ALL_KINDS)).split(",") if k]
PROJECTIONS = ["leaderboard", "regions", "catalog", "network", "seminars"]
# FTS5 keeps its index in shadow tables whose bytes depend on the order of inserts and merges;
# the searchable content is compared through the virtual table itself.
FTS_SHADOW = ("_data", "_idx", "_docsize", "_config", "_content")


def log(msg):
    print(msg, flush=True)


class Setup(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# children


class Tracker:
    """Every child's end: crashes are exits by a signal we did not send, or codes >= 128."""

    def __init__(self):
        self.crashes = []
        self.lock = threading.Lock()

    def note(self, argv, code, killed_by_us, where):
        if killed_by_us and code in (-signal.SIGKILL, 128 + signal.SIGKILL):
            return
        if code < 0 or code >= 128:
            with self.lock:
                self.crashes.append(f"{where}: {' '.join(argv[1:3])} ended with {'signal ' + str(-code) if code < 0 else 'exit ' + str(code)}")


TRACK = Tracker()


def child_env(run_dir):
    env = dict(os.environ)
    env.pop("HROMADA_STORE", None)
    tmp = os.path.join(run_dir, "tmp")
    os.makedirs(tmp, exist_ok=True)
    env["TMPDIR"] = tmp
    return env


def admin(args, run_dir, where, timeout=120, check=False, stdin=None):
    argv = [ADMIN] + args
    try:
        p = subprocess.run(argv, cwd=run_dir, env=child_env(run_dir), stdin=stdin or subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Setup(f"{where}: admin {' '.join(args[:2])} did not finish in {timeout} s")
    TRACK.note(argv, p.returncode, False, where)
    out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    if check and p.returncode != 0:
        raise Setup(f"{where}: admin {' '.join(args)} exited {p.returncode}: {err.strip()[:400]}")
    return p.returncode, out, err


class Child:
    """A running admin whose stdout lines are collected as they come."""

    def __init__(self, args, run_dir):
        self.argv = [ADMIN] + args
        self.killed = False
        self.lines = []
        self.p = subprocess.Popen(self.argv, cwd=run_dir, env=child_env(run_dir), stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.err = b""
        self.t_out = threading.Thread(target=self._read_out, daemon=True)
        self.t_err = threading.Thread(target=self._read_err, daemon=True)
        self.t_out.start()
        self.t_err.start()

    def _read_out(self):
        for raw in self.p.stdout:
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def _read_err(self):
        self.err = self.p.stderr.read()

    def kill(self):
        """SIGKILL if still running; returns whether it was running (killed mid-run)."""
        if self.p.poll() is None:
            try:
                os.kill(self.p.pid, signal.SIGKILL)
                self.killed = True
            except ProcessLookupError:
                pass
        return self.killed

    def wait(self, timeout=None):
        try:
            code = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        self.t_out.join(5)
        self.t_err.join(5)
        return code

    def finish(self, where):
        code = self.wait(60)
        if code is None:
            self.kill()
            code = self.wait(10)
            raise Setup(f"{where}: {' '.join(self.argv[1:3])} hung; killed")
        TRACK.note(self.argv, code, self.killed, where)
        return code

    @property
    def stderr(self):
        return self.err.decode("utf-8", "replace")


# ---------------------------------------------------------------------------------------------
# the history


def parse_lines(path):
    with open(path, "rb") as f:
        raw = [l for l in f.read().split(b"\n") if l]
    return raw, [json.loads(l) for l in raw]


def append_args(store, ev):
    args = ["append", "--store", store, "--stream", ev["stream"], "--type", ev["type"],
            "--data", json.dumps(ev["data"], ensure_ascii=False), "--id", ev["id"]]
    if "occurredAt" in ev:
        args += ["--occurred-at", ev["occurredAt"]]
    if "metadata" in ev:
        args += ["--metadata", json.dumps(ev["metadata"], ensure_ascii=False)]
    if "expectedVersion" in ev:
        args += ["--expected-version", str(ev["expectedVersion"])]
    return args


def position_in(out):
    """The position of `appended at position P` or `already in the log at position P (same id)`."""
    m = re.search(r"(?:appended at|already in the log at) position (\d+)", out)
    return int(m.group(1)) if m else None


def same_event(stored, ev, with_recorded_at):
    """Whether an exported line is the event `ev` that was written."""
    for key in ("id", "stream", "type", "data"):
        if stored.get(key) != ev.get(key):
            return f"{key} differs"
    if stored.get("metadata", {}) != ev.get("metadata", {}):
        return "metadata differs"
    if "occurredAt" in ev and stored.get("occurredAt") != ev["occurredAt"]:
        return f"occurredAt {stored.get('occurredAt')} != {ev['occurredAt']}"
    if with_recorded_at and "recordedAt" in ev and stored.get("recordedAt") != ev["recordedAt"]:
        return f"recordedAt {stored.get('recordedAt')} != {ev['recordedAt']}"
    return None


# ---------------------------------------------------------------------------------------------
# read models


def dump_projections(path):
    """Every read-model table's rows (sorted), the checkpoints, and the debris counts."""
    debris = {"rebuild_tables": 0, "rebuilding_state": 0}
    if not os.path.exists(path):
        return None, debris
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = con.execute("select name, sql from sqlite_master where type='table'").fetchall()
        virtual = [n for n, sql in tables if (sql or "").upper().startswith("CREATE VIRTUAL TABLE")]
        out = {}
        for name, sql in sorted(tables):
            if "__rebuild" in name:
                debris["rebuild_tables"] += 1
                continue
            if name.startswith("sqlite_") or name == "grdb_migrations":
                continue
            if any(name == v + s for v in virtual for s in FTS_SHADOW):
                continue
            if name == "projections":
                # `state` is left out of the comparison: a projection left `rebuilding` by a killed
                # rebuild is debris (counted), not a different read model
                rows = con.execute("select name, schemaVersion, checkpointPosition, checkpointRecordedAt, "
                                   "lastError from projections order by name").fetchall()
                states = con.execute("select state from projections").fetchall()
                debris["rebuilding_state"] = sum(1 for (st,) in states if st == "rebuilding")
            elif name in virtual:
                rows = sorted(con.execute(f'select rowid, * from "{name}"').fetchall(), key=repr)
            else:
                rows = sorted(con.execute(f'select * from "{name}"').fetchall(), key=repr)
            out[name] = rows
        return out, debris
    finally:
        con.close()


def diff_dumps(live, fresh):
    if live is None or fresh is None:
        return None if live is None and fresh is None else f"one side has no projections.sqlite (live {live is not None}, fresh {fresh is not None})"
    names = sorted(set(live) | set(fresh))
    for n in names:
        a, b = live.get(n), fresh.get(n)
        if a != b:
            if a is None or b is None:
                return f"table {n} only on one side"
            extra = [r for r in a if r not in b][:2]
            missing = [r for r in b if r not in a][:2]
            return f"table {n}: {len(a)} rows live vs {len(b)} fresh; live-only {extra!r:.300}; fresh-only {missing!r:.300}"
    return None


def tmpdir_debris(run_dir):
    """Scratch folders in the run's TMPDIR (time travel, restores): every start sweeps them."""
    tmp = os.path.join(run_dir, "tmp")
    if not os.path.isdir(tmp):
        return 0
    return sum(1 for x in os.listdir(tmp) if x.startswith("hromada-"))


def scratch_debris(run_dir, store, snaps):
    n = tmpdir_debris(run_dir)
    for d in (store, os.path.join(store, "log"), snaps):
        if os.path.isdir(d):
            n += sum(1 for x in os.listdir(d) if x.startswith(".tmp") or x.endswith(".tmp"))
    return n


# ---------------------------------------------------------------------------------------------
# the campaign


class Campaign:
    def __init__(self, work):
        self.work = work
        self.fresh_cache = {}
        self.cal = {}
        self.force_delay = None  # the self-test's appends: long enough to acknowledge some
        self.force_import_start = False  # the self-test's import: all or nothing, killed at once

    # --- setup ---------------------------------------------------------------------------------
    def prepare(self):
        w = self.work
        hist = os.path.join(w, "history.jsonl")
        gen_seed = int(hashlib.sha256(SEED.encode()).hexdigest()[:8], 16) % 100000
        admin(["generate", "--events", str(EVENTS), "--seed", str(gen_seed), "--out", hist], w, "setup", check=True)
        self.raw, self.events = parse_lines(hist)
        self.base = len(self.events) // 3
        self.rest_path = os.path.join(w, "rest.jsonl")
        with open(self.rest_path, "wb") as f:
            f.write(b"".join(l + b"\n" for l in self.raw[self.base:]))
        base_path = os.path.join(w, "base.jsonl")
        with open(base_path, "wb") as f:
            f.write(b"".join(l + b"\n" for l in self.raw[:self.base]))
        # base: the first third imported and projected
        t = os.path.join(w, "t-base")
        admin(["init", "--store", t], w, "setup", check=True)
        admin(["import", base_path, "--store", t], w, "setup", check=True)
        admin(["project", "--store", t], w, "setup", check=True)
        # behind: the whole history in the log, read models at the first third
        tb = os.path.join(w, "t-behind")
        shutil.copytree(t, tb)
        admin(["import", self.rest_path, "--store", tb], w, "setup", check=True)
        # bare: the whole log, no read models yet
        tn = os.path.join(w, "t-bare")
        os.makedirs(tn)
        shutil.copy2(os.path.join(tb, "STORE"), tn)
        shutil.copytree(os.path.join(tb, "log"), os.path.join(tn, "log"))
        admin(["init", "--store", tn], w, "setup", check=True)
        # full: everything projected
        tf = os.path.join(w, "t-full")
        shutil.copytree(tb, tf)
        admin(["project", "--store", tf], w, "setup", check=True)
        self.templates = {"base": t, "behind": tb, "bare": tn, "full": tf}
        self.calibrate()

    def timed(self, args, template, label):
        d = os.path.join(self.work, "cal-" + label)
        shutil.copytree(self.templates[template], os.path.join(d, "store"))
        start = time.monotonic()
        admin([a.replace("@S", os.path.join(d, "store")).replace("@D", d) for a in args], d, "calibration", check=True)
        self.cal[label] = time.monotonic() - start
        shutil.rmtree(d, ignore_errors=True)

    def calibrate(self):
        self.timed(["import", self.rest_path, "--store", "@S"], "base", "import")
        self.timed(["import", self.rest_path, "--store", "@S", "--commit-every", "50"], "base", "import-commit")
        self.timed(append_args("@S", self.events[self.base]), "base", "append")
        self.timed(["project", "--store", "@S"], "bare", "project")
        self.timed(["project", "--store", "@S"], "behind", "project-behind")
        self.timed(["rebuild", "--store", "@S"], "full", "rebuild")
        self.timed(["snapshot", "create", "--store", "@S", "--snapshots", "@D/snaps"], "full", "snapshot")
        self.timed(["snapshot", "create", "--store", "@S", "--snapshots", "@D/snaps"], "behind", "snapshot-behind")
        self.timed(["snapshot", "create", "--store", "@S", "--snapshots", "@D/snaps", "--at", f"position:{len(self.events) // 2}"],
                   "full", "snapshot-at")
        log("calibration (s, unkilled): " + ", ".join(f"{k} {v:.3f}" for k, v in self.cal.items()))

    # --- one run -------------------------------------------------------------------------------
    def run(self, n, kind, rng, plant=None):
        d = os.path.join(self.work, f"run-{n:04d}")
        if os.path.exists(d):
            shutil.rmtree(d)
        os.makedirs(d)
        store = os.path.join(d, "store")
        snaps = os.path.join(d, "snaps")
        r = {"run": n, "kind": kind, "killed_mid": False, "acked": 0, "problems": [], "debris": 0, "detail": ""}
        # what was written, in order, and which of it was acknowledged (id -> position)
        expected = list(self.events[:self.base])
        acked = {}
        pending = None  # an append in flight when killed: (event, expected position)

        def append_loop(deadline, start_pos, todo, extra_kill=None):
            nonlocal pending
            pos = start_pos
            for ev in todo:
                expected.append(ev)
                c = Child(append_args(store, ev), d)
                while True:
                    left = deadline - time.monotonic()
                    code = c.wait(timeout=max(left, 0.0005))
                    if code is not None or time.monotonic() >= deadline:
                        break
                if code is None:
                    if extra_kill:
                        extra_kill()
                    c.kill()
                    r["killed_mid"] = True
                    c.finish(f"run {n}")
                    pending = (ev, pos + 1)
                    return
                code = c.finish(f"run {n}")
                out = "\n".join(c.lines)
                if code == 0 and ("appended at position" in out or "already in the log at position" in out):
                    p = position_in(out)
                    if p != pos + 1:
                        r["problems"].append(f"append of {ev['id']} acknowledged at {p}, expected {pos + 1}")
                    acked[ev["id"]] = p
                    pos = p
                else:
                    r["problems"].append(f"append of {ev['id']} failed (exit {code}): {c.stderr.strip()[:300]}")
                    expected.pop()
                    return
            if extra_kill:
                extra_kill()

        if kind == "import":
            shutil.copytree(self.templates["base"], store)
            every = rng.choice([0, 0, 1, 7, 50, 200, 700])
            dur = self.cal["import" if every == 0 else "import-commit"]
            if every == 1:
                dur *= 4
            delay = rng.uniform(0, 1.15 * dur)
            if self.force_import_start:
                every, delay = 0, 0.0
            r["detail"] = f"--commit-every {every}, kill at {delay * 1000:.0f} ms"
            expected = list(self.events)
            c = Child(["import", self.rest_path, "--store", store, "--commit-every", str(every)], d)
            if c.wait(timeout=delay) is None:
                r["killed_mid"] = c.kill()
            code = c.finish(f"run {n}")
            head = self.base
            for line in c.lines:
                if line.startswith("committed "):
                    head = max(head, int(line.split()[1]))
                elif line.startswith("imported ") and code == 0:
                    head = max(head, int(line.split()[-1]))
            if code not in (0, -9):
                r["problems"].append(f"import exited {code}: {c.stderr.strip()[:300]}")
            for i in range(self.base, head):
                acked[self.events[i]["id"]] = i + 1
            # a transaction is all or nothing: after recovery the log ends at a commit point
            r["commit_points"] = {self.base, len(self.events)} | (
                set(range(self.base, len(self.events), every)) if every else set())
        elif kind == "append":
            shutil.copytree(self.templates["base"], store)
            delay = rng.uniform(0, rng.choice([1, 4, 12]) * self.cal["append"])
            if self.force_delay is not None:
                delay = self.force_delay
            r["detail"] = f"kill at {delay * 1000:.0f} ms"
            append_loop(time.monotonic() + delay, self.base, self.events[self.base:self.base + 60])
        elif kind == "workers":
            shutil.copytree(self.templates["base"], store)
            wargs = ["workers", "--store", store, "--poll", "0.1", "--snapshots", snaps]
            if rng.random() < 0.4:
                wargs += ["--snapshot-every", str(rng.choice([3, 10]))]
            delay = rng.uniform(0, rng.choice([4, 12]) * self.cal["append"])
            r["detail"] = f"{' '.join(wargs[3:])}, kill at {delay * 1000:.0f} ms"
            w = Child(wargs, d)
            start = time.monotonic()
            time.sleep(rng.uniform(0, 0.05))

            def kill_workers():
                if w.kill():
                    r["killed_mid"] = True
            append_loop(start + delay, self.base, self.events[self.base:self.base + 60], extra_kill=kill_workers)
            kill_workers()
            code = w.finish(f"run {n}")
            if code not in (0, -9):
                r["problems"].append(f"workers exited {code} by itself: {w.stderr.strip()[:300]}")
        else:
            template, args, cal = {
                "project": lambda: rng.choice([("bare", ["project"], "project"), ("behind", ["project"], "project-behind")]),
                "rebuild": lambda: ("full", ["rebuild"] + (["--projection", rng.choice(PROJECTIONS)] if rng.random() < 0.3 else []), "rebuild"),
                "snapshot": lambda: rng.choice([("full", ["snapshot", "create", "--snapshots", snaps, "--level", str(rng.choice([1, 3]))], "snapshot"),
                                                ("behind", ["snapshot", "create", "--snapshots", snaps], "snapshot-behind"),
                                                # as of a past position: rebuilt in a scratch folder under TMPDIR
                                                ("full", ["snapshot", "create", "--snapshots", snaps, "--at",
                                                          f"position:{rng.randrange(1, len(self.events))}"], "snapshot-at")]),
            }[kind]()
            shutil.copytree(self.templates[template], store)
            expected = list(self.events)
            for i, ev in enumerate(self.events):
                acked[ev["id"]] = i + 1
            delay = rng.uniform(0, 1.15 * self.cal[cal])
            r["detail"] = f"{template}: {' '.join(a for a in args if a != snaps)}, kill at {delay * 1000:.0f} ms"
            c = Child(args + ["--store", store], d)
            if c.wait(timeout=delay) is None:
                r["killed_mid"] = c.kill()
            code = c.finish(f"run {n}")
            if code not in (0, -9):
                r["problems"].append(f"{kind} exited {code}: {c.stderr.strip()[:300]}")

        if plant:
            plant(store, expected, acked, d)
        r["acked"] = len(acked) if kind in ("import", "append", "workers") else 0
        self.check(n, d, store, snaps, expected, acked, pending, r, rng)
        return r

    # --- the checks ----------------------------------------------------------------------------
    def check(self, n, d, store, snaps, expected, acked, pending, r, rng):
        P = r["problems"]
        where = f"run {n}"
        # reopen with a writer
        code, out, err = admin(["init", "--store", store], d, where)
        if code != 0:
            P.append(f"reopen (admin init) exited {code}: {err.strip()[:300]}")
            return
        # (b) prefix and (a) acknowledged
        code, out, err = admin(["export", "--store", store], d, where)
        if code != 0:
            P.append(f"export exited {code}: {err.strip()[:300]}")
            return
        stored = [json.loads(l) for l in out.splitlines() if l]
        if len(stored) > len(expected):
            P.append(f"prefix: the log has {len(stored)} events, only {len(expected)} were written")
        for i, s in enumerate(stored[:len(expected)]):
            why = same_event(s, expected[i], i < self.base or r["kind"] not in ("append", "workers"))
            if s.get("position") != i + 1:
                why = f"position {s.get('position')} at line {i + 1}"
            if why:
                P.append(f"prefix: position {i + 1} is not what was written there ({why})")
                break
        if "commit_points" in r and len(stored) not in r["commit_points"]:
            P.append(f"atomicity: the log ends at {len(stored)} after recovery, not at a commit point "
                     f"(the base {self.base}, every {sorted(r['commit_points'])[1] - self.base if len(r['commit_points']) > 2 else '-'} lines, or the end)")
        at = {s.get("id"): s.get("position") for s in stored}
        lost = [(i, p) for i, p in acked.items() if at.get(i) != p]
        r["lost"] = len(lost)
        if lost:
            P.append(f"LOST {len(lost)} acknowledged events, first {lost[:3]} (found at {[at.get(i) for i, _ in lost[:3]]})")
        # (c) verify
        code, out, err = admin(["verify", "--store", store], d, where)
        if code != 0:
            r["verify_failed"] = True
            P.append(f"verify exited {code}: {(err or out).strip()[:300]}")
        head_hash = out.strip().split()[-1] if code == 0 else None
        # the append in flight when killed: retrying it with its id gives its position or the next one
        if pending:
            ev, p = pending
            code, out, err = admin(append_args(store, ev), d, where)
            want = at.get(ev["id"], len(stored) + 1)
            got = None
            if code == 0:
                got = position_in(out)
            if got != want:
                P.append(f"retry of the killed append {ev['id']}: got {got} (exit {code} {err.strip()[:200]}), expected {want}")
            else:
                code, out2, err = admin(["verify", "--store", store], d, where)
                if code != 0:
                    P.append(f"verify after the retry exited {code}: {err.strip()[:300]}")
                head_hash = out2.strip().split()[-1] if code == 0 else None
                stored_len = got
                r["retried"] = True
        # (e) debris before catch-up (what a kill left), then (d) read models after catch-up
        try:
            before, deb = dump_projections(os.path.join(store, "projections.sqlite"))
        except sqlite3.Error as e:
            # a kill while the file was being created can leave a hot rollback journal, which a
            # read-only connection cannot roll back; the next writer (project, below) does
            deb = {"rebuild_tables": 0, "rebuilding_state": 0}
            r["unreadable_before_project"] = f"{e}"
        r["debris_rebuild_tables"] = deb["rebuild_tables"]
        r["debris_rebuilding"] = deb["rebuilding_state"]
        code, out, err = admin(["project", "--store", store], d, where)
        if code != 0:
            P.append(f"project after the kill exited {code}: {err.strip()[:300]}")
            return
        live, deb2 = dump_projections(os.path.join(store, "projections.sqlite"))
        r["debris_scratch"] = scratch_debris(d, store, snaps)
        r["debris_after_project"] = deb2["rebuild_tables"] + deb2["rebuilding_state"]
        r["debris"] = deb["rebuild_tables"] + deb["rebuilding_state"] + r["debris_scratch"]
        # kill -9 leaves debris no process can clean at that moment; the next start must clear it
        # (a killed snapshot's `.tmp-<pid>-…` folder goes at the next snapshot, not at `project`)
        if STRICT_DEBRIS and (r["debris_after_project"] or tmpdir_debris(d)):
            P.append(f"debris: {deb}, after project {deb2}, scratch {r['debris_scratch']}")
        fresh = self.fresh_dump(d, store, head_hash)
        why = diff_dumps(live, fresh)
        if why:
            r["model_mismatch"] = True
            P.append(f"read models differ from a fresh build: {why}")
        # snapshots left by a killed `snapshot create` or workers: every listed usable one verifies
        if os.path.isdir(snaps) and any(not x.startswith(".") for x in os.listdir(snaps)):
            code, out, err = admin(["snapshot", "verify", "--store", store, "--snapshots", snaps], d, where)
            if code != 0:
                r["snapshot_failed"] = True
                P.append(f"snapshot verify exited {code}: {(err or out).strip()[:300]}")

    def fresh_dump(self, d, store, head_hash):
        key = head_hash
        if key and key in self.fresh_cache:
            return self.fresh_cache[key]
        f = os.path.join(d, "fresh")
        shutil.rmtree(f, ignore_errors=True)
        os.makedirs(f)
        shutil.copy2(os.path.join(store, "STORE"), f)
        shutil.copytree(os.path.join(store, "log"), os.path.join(f, "log"))
        admin(["project", "--store", f], d, "fresh build", check=True)
        dump, _ = dump_projections(os.path.join(f, "projections.sqlite"))
        shutil.rmtree(f, ignore_errors=True)
        if key:
            self.fresh_cache[key] = dump
        return dump


# ---------------------------------------------------------------------------------------------
# self-test: planted faults must be flagged


def selftest(c):
    failures = []
    c.force_delay = 12 * c.cal["append"] + 0.2

    def expect(name, kind, plant, needle):
        rng = random.Random(f"{SEED}:selftest:{name}")
        r = c.run(9000 + len(failures) + hash(name) % 900, kind, rng, plant=plant)
        hit = [p for p in r["problems"] if needle in p]
        log(f"selftest {name}: {'flagged' if hit else 'NOT FLAGGED'}: {(hit or r['problems'] or ['no problem reported'])[0][:200]}")
        if not hit:
            failures.append(name)

    def lose_last(store, expected, acked, d):
        # cut the log back before the last acknowledged event's frame and drop the index: a store
        # that opens cleanly to a shorter history, as if an acknowledged append had not been durable
        if not acked:
            raise Setup("selftest: nothing acknowledged to lose")
        seg = sorted(x for x in os.listdir(os.path.join(store, "log")) if x.startswith("segment-"))[-1]
        path = os.path.join(store, "log", seg)
        with open(path, "rb") as fh:
            b = fh.read()
        last = max(acked.values())
        cut, off = None, 60
        while off + 92 <= len(b):
            first = int.from_bytes(b[off + 20:off + 28], "little")
            count = int.from_bytes(b[off + 16:off + 20], "little")
            if first <= last < first + count:
                cut = off
            off += 92 + int.from_bytes(b[off + 44:off + 48], "little")
        if cut is None:
            raise Setup(f"selftest: no frame holds position {last}")
        with open(path, "r+b") as fh:
            fh.truncate(cut)
        for x in os.listdir(store):
            if x.startswith("index.sqlite"):
                os.remove(os.path.join(store, x))

    def swap_expected(store, expected, acked, d):
        expected[5], expected[6] = expected[6], expected[5]

    def flip_body(store, expected, acked, d):
        seg = sorted(x for x in os.listdir(os.path.join(store, "log")) if x.startswith("segment-"))[0]
        path = os.path.join(store, "log", seg)
        with open(path, "r+b") as fh:
            fh.seek(60 + 92 + 40)
            byte = fh.read(1)
            fh.seek(60 + 92 + 40)
            fh.write(bytes([byte[0] ^ 0x10]))

    def change_row(store, expected, acked, d):
        # the kill's own check runs `admin project` first, which leaves a changed row in place
        con = sqlite3.connect(os.path.join(store, "projections.sqlite"))
        con.execute("update regions_community set population = population + 1 where communityId = "
                    "(select min(communityId) from regions_community)")
        con.commit()
        con.close()

    def half_transaction(store, expected, acked, d):
        # one event of the killed import's transaction appears in the log as if committed alone
        code, out, err = admin(append_args(store, c.events[c.base]) + ["--no-validate"], d, "selftest")
        if code != 0:
            raise Setup(f"selftest: cannot plant the half transaction: {err.strip()[:200]}")

    c.force_import_start = True
    expect("import not all or nothing", "import", half_transaction, "atomicity")
    c.force_import_start = False
    expect("lost acknowledged event", "append", lose_last, "LOST")
    expect("prefix violation", "append", swap_expected, "prefix")
    expect("damaged frame", "project", flip_body, "")  # any problem (reopen refuses or verify fails)
    expect("read-model row changed", "rebuild", change_row, "read models differ")
    c.force_delay = None
    return failures


# ---------------------------------------------------------------------------------------------


def pick_kind(rng):
    ks = [k for k in ALL_KINDS if k in KINDS]
    return rng.choices(ks, weights=[WEIGHTS[k] for k in ks])[0]


def main():
    if not os.access(ADMIN, os.X_OK):
        log(f"error: no admin binary at {ADMIN} (build it: make release, or set ADMIN)")
        return 2
    work = os.environ.get("WORK") or tempfile.mkdtemp(prefix="hromada-crash-")
    os.makedirs(work, exist_ok=True)
    work = os.path.abspath(work)
    log(f"crash campaign: SEED={SEED} RUNS={RUNS} EVENTS={EVENTS} ADMIN={ADMIN} WORK={work}"
        f"{' SELFTEST' if SELFTEST else ''}{' STRICT_DEBRIS' if STRICT_DEBRIS else ''}")
    t0 = time.monotonic()
    c = Campaign(work)
    try:
        c.prepare()
    except Setup as e:
        log(f"error: setup failed: {e}")
        return 2
    if SELFTEST:
        # the planted faults' own children may end oddly (a refused reopen); only count real runs
        try:
            failures = selftest(c)
        except Setup as e:
            log(f"error: selftest setup: {e}")
            return 2
        TRACK.crashes.clear()
        if failures:
            log(f"SELFTEST FAILED: not flagged: {', '.join(failures)}")
            return 1
        log("selftest: every planted fault was flagged")
        for x in os.listdir(work):
            if x.startswith("run-9"):
                shutil.rmtree(os.path.join(work, x), ignore_errors=True)
    by_kind = {k: 0 for k in ALL_KINDS}
    killed = {k: 0 for k in ALL_KINDS}
    totals = dict(acked=0, lost=0, prefix=0, verify=0, models=0, snapshots=0, other=0, debris=0, retried=0,
                  debris_after_project=0, debris_rebuild_tables=0, debris_rebuilding=0, debris_scratch=0)
    failed = []
    runs = [int(ONLY_RUN)] if ONLY_RUN else range(RUNS)
    for n in runs:
        rng = random.Random(f"{SEED}:{n}")
        kind = pick_kind(rng)
        crashes_before = len(TRACK.crashes)
        try:
            r = c.run(n, kind, rng)
        except Exception as e:  # a harness error fails the run with its reason, the campaign goes on
            r = {"run": n, "kind": kind, "killed_mid": False, "acked": 0, "problems": [f"harness: {type(e).__name__}: {e}"],
                 "debris": 0, "detail": ""}
        by_kind[kind] += 1
        killed[kind] += 1 if r["killed_mid"] else 0
        totals["acked"] += r["acked"]
        totals["lost"] += r.get("lost", 0)
        totals["prefix"] += sum(1 for p in r["problems"] if p.startswith("prefix"))
        totals["atomicity"] = totals.get("atomicity", 0) + sum(1 for p in r["problems"] if p.startswith("atomicity"))
        totals["verify"] += 1 if r.get("verify_failed") else 0
        totals["models"] += 1 if r.get("model_mismatch") else 0
        totals["snapshots"] += 1 if r.get("snapshot_failed") else 0
        totals["debris"] += r.get("debris", 0)
        totals["debris_after_project"] += r.get("debris_after_project", 0)
        for k in ("debris_rebuild_tables", "debris_rebuilding", "debris_scratch"):
            totals[k] += r.get(k, 0)
        totals["retried"] += 1 if r.get("retried") else 0
        totals["unreadable"] = totals.get("unreadable", 0) + (1 if r.get("unreadable_before_project") else 0)
        new_crashes = TRACK.crashes[crashes_before:]
        if new_crashes:
            r["problems"] += [f"crash: {x}" for x in new_crashes]
        d = os.path.join(work, f"run-{n:04d}")
        if r["problems"]:
            failed.append(r)
            log(f"FAIL run {n} [{kind}] {r['detail']}: " + " | ".join(r["problems"])[:1500])
            log(f"  replay: SEED={SEED} EVENTS={EVENTS} ONLY_RUN={n} KEEP=1 {sys.argv[0]}   (kept in {d})")
        else:
            if QUIET and (n + 1) % 100 == 0:
                log(f"... {n + 1} runs, {len(failed)} failed, {time.monotonic() - t0:.0f} s")
            if not QUIET:
                log(f"ok   run {n} [{kind}] {r['detail']}{' (killed mid-run)' if r['killed_mid'] else ' (had ended)'}"
                    f" acked {r['acked']}{' debris ' + str(r['debris']) if r['debris'] else ''}")
            if not KEEP:
                shutil.rmtree(d, ignore_errors=True)
    other = [p for r in failed for p in r["problems"]
             if not (p.startswith("prefix") or p.startswith("LOST") or p.startswith("atomicity") or p.startswith("verify")
                     or p.startswith("read models") or p.startswith("snapshot verify") or p.startswith("crash"))]
    elapsed = time.monotonic() - t0
    log("")
    log(f"summary: SEED={SEED} EVENTS={EVENTS} runs {len(runs)} in {elapsed:.0f} s")
    log("  runs by kind:        " + ", ".join(f"{k} {by_kind[k]}" for k in ALL_KINDS))
    log("  killed mid-run:      " + ", ".join(f"{k} {killed[k]}" for k in ALL_KINDS) + f" (total {sum(killed.values())})")
    log(f"  acknowledged events: {totals['acked']}")
    log(f"  lost:                {totals['lost']}")
    log(f"  prefix violations:   {totals['prefix']}")
    log(f"  atomicity violations (import not cut back to a commit): {totals.get('atomicity', 0)}")
    log(f"  verify failures:     {totals['verify']}")
    log(f"  read-model mismatches: {totals['models']}")
    log(f"  snapshot verify failures: {totals['snapshots']}")
    log(f"  killed appends retried by id: {totals['retried']}")
    log(f"  read models unreadable read-only before the next writer (hot journal): {totals.get('unreadable', 0)}")
    log(f"  signals/crashes seen: {len(TRACK.crashes)}" + (f" (first: {TRACK.crashes[0]})" if TRACK.crashes else ""))
    log(f"  other failures:      {len(other)}" + (f" (first: {other[0][:200]})" if other else ""))
    log(f"  debris left by kills: {totals['debris']} ({totals['debris_rebuild_tables']} __rebuild tables, "
        f"{totals['debris_rebuilding']} projections left rebuilding, {totals['debris_scratch']} scratch/.tmp files);"
        f" still there after the next project: {totals['debris_after_project']}"
        f"{' [STRICT_DEBRIS]' if STRICT_DEBRIS else ' (reported only; STRICT_DEBRIS=1 fails on it)'}")
    log(f"  failed runs:         {len(failed)}" + (f" ({', '.join(str(r['run']) for r in failed[:20])})" if failed else ""))
    if not failed and not KEEP and not os.environ.get("WORK"):
        shutil.rmtree(work, ignore_errors=True)
    log("result: " + ("PASS" if not failed else "FAIL"))
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
