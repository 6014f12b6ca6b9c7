#!/usr/bin/env python3
"""Several hosts for real (issue 11): one PostgreSQL store, appenders on other hosts.

Topology: the database runs in the root network namespace; each of HOSTS appender hosts is a
network namespace `hlcamp<N>` joined to the root one by a veth pair (10.77.N.1 on the database's
side, 10.77.N.2 in the host). The server listens on every address and lets 10.77.0.0/16 in; each
host reaches it at its own 10.77.N.1, so cutting host N's link cuts that host only.

Each host imports ROUNDS batches of BATCH events (registrations of communities of its own), one
`admin import --store postgres://...` a batch, run inside its namespace: one transaction, all or
nothing. A batch whose command exits 0 is acknowledged. Faults while they run:
  - host 2's link is cut (`ip link set ... down` on the database's side) for CUT seconds, twice,
    each time while one of its imports is in flight;
  - host 3's import is killed with -9 at a random moment of KILLS of its batches (mid-transaction:
    after BEGIN, before COMMIT, or while the COMMIT is on its way);
  - any import that does not end within TIMEOUT seconds is killed with -9 as well.

WORKERS worker hosts (namespaces after the appenders') each run `admin workers` on the same
store, folding the shared log into read models of their own (`--read-models`), woken by
LISTEN/NOTIFY. The first worker host's link is cut for CUT seconds twice while the appenders
run; the second worker is killed with -9 once mid-run and started again.

Then a writer is cut off in the middle of its turn: a session on the database's host holds the
head row, host 2's import waits for it, host 2's link goes down and stays down, the head row is
let go (so host 2's server session now holds it, its client unreachable). Host 1's import must
get its turn, and host 2's import must give up, both within 3 x DEADLINK + 20 seconds: the dead
link is given up on both ends (`HROMADA_PG_KEEPALIVE`, DEADLINK seconds, default 5; without it
the server's TCP holds on for about fifteen minutes and every writer waits behind it).

Then, from the database's host:
  1. `admin verify` passes (chain, batches, head);
  2. the export has positions 1..N dense and every event id once;
  3. every acknowledged batch is there whole, exactly once; every other batch whole or not at all;
  4. every batch is sent again, each from another host than its own: the acknowledged ones add
     nothing (ids are idempotent across hosts), the missing ones land now; then 1-3 again, and now
     every batch is there whole, exactly once;
  5. each worker host reaches the head, stops cleanly on SIGTERM, and its read models equal a
     fresh fold of the log (`admin replay --check`, table by table), every checkpoint at the head.

Usage: scripts/pg_hosts_campaign.py [--admin .build/release/admin] (root, iproute2, PostgreSQL
server binaries; `make pg-hosts-campaign`). Environment: HOSTS (3), ROUNDS (40), BATCH (25),
KILLS (10), CUT (3), WORKERS (2), DEADLINK (5; 0 leaves the phase out), SEED (random, printed), SELFTEST=1 (a planted lost batch must be
flagged first), KEEP=1 keeps the working folder, NETNS_PREFIX
(hlcamp) and SUBNET (77: addresses 10.77.N.x) to run two campaigns side by side.
"""
import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

ENV = os.environ
HOSTS = int(ENV.get("HOSTS", "3"))
ROUNDS = int(ENV.get("ROUNDS", "40"))
BATCH = int(ENV.get("BATCH", "25"))
KILLS = int(ENV.get("KILLS", "10"))
WORKERS = int(ENV.get("WORKERS", "2"))
CUT = float(ENV.get("CUT", "3"))
DEADLINK = float(ENV.get("DEADLINK", "5"))
TIMEOUT = float(ENV.get("TIMEOUT", "60"))
SEED = int(ENV.get("SEED", str(random.randrange(1 << 30))))
PREFIX = ENV.get("NETNS_PREFIX", "hlcamp")[:8]
NET = int(ENV.get("SUBNET", "77"))
OBLASTS = ["UA-05", "UA-07", "UA-12", "UA-14", "UA-18", "UA-21", "UA-23", "UA-26", "UA-32", "UA-35",
           "UA-46", "UA-48", "UA-51", "UA-53", "UA-56", "UA-59", "UA-61", "UA-63", "UA-65", "UA-68",
           "UA-71", "UA-74", "UA-77"]


def sh(*args, check=True, **kw):
    return subprocess.run(list(args), check=check, capture_output=True, text=True, **kw)


def pg_binaries():
    root = "/usr/lib/postgresql"
    for v in sorted((int(d) for d in os.listdir(root) if d.isdigit()), reverse=True) if os.path.isdir(root) else []:
        if os.path.exists(f"{root}/{v}/bin/initdb"):
            return f"{root}/{v}/bin"
    sys.exit("PostgreSQL's server binaries are not installed (scripts/deps.sh installs them)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Network:
    """The hosts' namespaces and links; removed again at the end."""

    def __init__(self, hosts):
        self.hosts = hosts
        self.down()
        for n in range(1, hosts + 1):
            ns, veth = f"{PREFIX}{n}", f"{PREFIX}v{n}"
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh("ip", "addr", "add", f"10.{NET}.{n}.1/24", "dev", veth)
            sh("ip", "link", "set", veth, "up")
            sh("ip", "netns", "exec", ns, "ip", "addr", "add", f"10.{NET}.{n}.2/24", "dev", "eth0")
            sh("ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up")
            sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")

    def cut(self, n, up):
        sh("ip", "link", "set", f"{PREFIX}v{n}", "up" if up else "down")

    def flush_neighbours(self, n):
        sh("ip", "neigh", "flush", "dev", f"{PREFIX}v{n}", check=False)
        sh("ip", "netns", "exec", f"{PREFIX}{n}", "ip", "neigh", "flush", "dev", "eth0", check=False)

    def down(self):
        for n in range(1, 10):
            sh("ip", "netns", "del", f"{PREFIX}{n}", check=False)
            sh("ip", "link", "del", f"{PREFIX}v{n}", check=False)


class Server:
    """A throwaway PostgreSQL cluster listening for the hosts."""

    def __init__(self, work):
        self.bin = pg_binaries()
        self.folder = os.path.join(work, "pg")
        os.makedirs(self.folder)
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
            os.chmod(work, 0o755)
        self.data = os.path.join(self.folder, "data")
        sh(*self.as_user, f"{self.bin}/initdb", "-D", self.data, "-U", "camp", "-A", "trust", "-E", "UTF8",
           "--no-locale", "--no-sync")
        with open(os.path.join(self.data, "pg_hba.conf"), "a") as f:
            f.write(f"host all all 10.{NET}.0.0/16 trust\n")
        self.port = free_port()
        sh(*self.as_user, f"{self.bin}/pg_ctl", "-D", self.data, "-l", os.path.join(self.folder, "log"), "-w", "-o",
           f"-p {self.port} -k {self.folder} -c listen_addresses=* -c max_connections=200", "start")

    def psql(self, *options):
        """psql on the database's host (its socket folder), as the campaign's user."""
        return [f"{self.bin}/psql", "-h", self.folder, "-p", str(self.port), "-U", "camp", "-d", "postgres", "-X",
                *options]

    def psql_session(self):
        """psql fed line by line (a session that holds a lock)."""
        return subprocess.Popen(self.psql("-q", "-v", "ON_ERROR_STOP=1"), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)

    def scalar(self, sql):
        return sh(*self.psql("-At", "-c", sql), check=False).stdout.strip()

    def stop(self):
        sh(*self.as_user, f"{self.bin}/pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop", check=False)


def community_event(host, batch, k, rng):
    cid = f"camp-{host}-{batch}-{k}"
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "stream": f"community-{cid}", "type": "CommunityRegistered",
        "occurredAt": "2024-03-01T10:00:00Z",
        "data": {"communityId": cid, "name": f"Громада {host}-{batch}-{k}", "oblast": rng.choice(OBLASTS),
                 "kind": rng.choice(["urban", "settlement", "rural"]), "settlements": rng.randint(1, 40),
                 "population": rng.randint(900, 90000),
                 "council": {"name": f"Рада громади {host}-{batch}-{k}", "email": f"rada{host}{batch}{k}@example.gov.ua"}},
        "metadata": {"actor": f"host-{host}"},
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--admin", default=".build/release/admin")
    args = parser.parse_args()
    admin = os.path.abspath(args.admin)
    if os.geteuid() != 0:
        sys.exit("network namespaces need root")
    if not shutil.which("ip"):
        sys.exit("iproute2 (ip) is not installed")
    rng = random.Random(SEED)
    print(f"pg hosts campaign: SEED={SEED} HOSTS={HOSTS} ROUNDS={ROUNDS} BATCH={BATCH} KILLS={KILLS} CUT={CUT}", flush=True)
    work = tempfile.mkdtemp(prefix="hl-pg-hosts-")
    os.chmod(work, 0o755)
    net = Network(HOSTS + WORKERS)
    server = None
    failures = []
    workers = {}
    try:
        server = Server(work)
        url = lambda n: f"postgres://camp@10.{NET}.{n}.1:{server.port}/postgres?schema=camp"
        r = sh(admin, "init", "--store", url(1), check=False)
        if r.returncode != 0:
            sys.exit(f"admin init failed: {r.stderr}")

        # the batches, written once (each host's own), and the kill plan of host 3
        batches = {}

        def write_batch(h, b):
            """Host h's batch b as a file of its own, kept in `batches` with its event ids."""
            path = os.path.join(work, f"batch-{h}-{b}.jsonl")
            events = [community_event(h, b, k, rng) for k in range(BATCH)]
            with open(path, "w") as f:
                for e in events:
                    f.write(json.dumps(e, ensure_ascii=False) + "\n")
            batches[(h, b)] = (path, [e["id"] for e in events])
            return (h, b), path

        for h in range(1, HOSTS + 1):
            for b in range(ROUNDS):
                write_batch(h, b)
        # host 3's batch 0 runs unkilled first: how long an import takes there (the calibration);
        # the kills land uniformly over 0.1-1.0 of that, so most of them come mid-transaction
        killed_batches = set(rng.sample(range(1, ROUNDS), min(KILLS, ROUNDS - 1))) if HOSTS >= 3 else set()
        kill_fraction = {b: rng.uniform(0.1, 1.0) for b in killed_batches}
        kill_after = {}

        acked, outcome, lock, reasons = set(), {}, threading.Lock(), []

        # the worker hosts: each folds the log into read models of its own
        worker_hosts = list(range(HOSTS + 1, HOSTS + WORKERS + 1))

        def start_worker(n):
            log = open(os.path.join(work, f"worker-{n}.log"), "a")
            workers[n] = subprocess.Popen(
                ["ip", "netns", "exec", f"{PREFIX}{n}", admin, "workers", "--store", url(n),
                 "--read-models", os.path.join(work, f"read-models-{n}"), "--log-level", "info"],
                stdout=log, stderr=log)

        def in_host(n, *args):
            return sh("ip", "netns", "exec", f"{PREFIX}{n}", admin, *args, "--store", url(n),
                      "--read-models", os.path.join(work, f"read-models-{n}"), check=False)

        for n in worker_hosts:
            start_worker(n)
        worker_faults = []

        def worker_cut():
            n = worker_hosts[0]
            net.cut(n, up=False)
            time.sleep(CUT)
            net.cut(n, up=True)
            worker_faults.append(f"host {n}'s link cut for {CUT:.0f} s")

        def worker_kill():
            n = worker_hosts[1]
            workers[n].send_signal(signal.SIGKILL)
            workers[n].wait()
            start_worker(n)
            worker_faults.append(f"host {n}'s worker killed with -9 and started again")

        def run_import(host, key, sent_from):
            path, _ = batches[key]
            cmd = ["ip", "netns", "exec", f"{PREFIX}{sent_from}", admin, "import", path, "--store", url(sent_from)]
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            deadline = time.time() + TIMEOUT
            kill_at = time.time() + kill_after[key[1]] if (host == 3 and sent_from == 3 and key[1] in kill_after) else None
            while p.poll() is None:
                now = time.time()
                if (kill_at and now >= kill_at) or now >= deadline:
                    p.send_signal(signal.SIGKILL)
                    break
                time.sleep(0.005)
            out, err = p.communicate()
            return p.returncode, out, err

        longest = {}

        def appender(host):
            for b in range(ROUNDS):
                started_at = time.time()
                if host == 2 and b in cut_points:
                    cut_soon()
                if host == 1 and worker_hosts and b in (ROUNDS // 4, 3 * ROUNDS // 4):
                    cuts.append(threading.Thread(target=worker_cut))
                    cuts[-1].start()
                if host == 1 and len(worker_hosts) > 1 and b == ROUNDS // 2:
                    worker_kill()
                rc, out, err = run_import(host, (host, b), host)
                longest[host] = max(longest.get(host, 0), time.time() - started_at)
                if host == 3 and b == 0:
                    took = time.time() - started_at
                    kill_after.update({k: f * took for k, f in kill_fraction.items()})
                    print(f"calibration: an import of {BATCH} events from host 3 took {took * 1000:.0f} ms", flush=True)
                with lock:
                    outcome[(host, b)] = rc
                    if rc not in (0, -signal.SIGKILL):
                        reasons.append(f"host {host} batch {b}: exit {rc}: {(err.strip().splitlines() or ['?'])[-1][:200]}")
                    if rc == 0:
                        acked.add((host, b))

        # host 2's link goes down while its imports of a third and of two thirds of the way are
        # in flight (a few ms after each starts), for CUT seconds each time
        cut_points = {max(1, ROUNDS // 3), max(1, 2 * ROUNDS // 3)} if HOSTS >= 2 else set()
        cuts = []

        def cut_for_a_while():
            net.cut(2, up=False)
            time.sleep(CUT)
            net.cut(2, up=True)

        def cut_soon():
            t = threading.Timer(0.015, cut_for_a_while)
            t.start()
            cuts.append(t)

        started = time.time()
        threads = [threading.Thread(target=appender, args=(h,)) for h in range(1, HOSTS + 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for t in cuts:
            t.join()
        elapsed = time.time() - started
        killed = sum(1 for k, rc in outcome.items() if rc == -signal.SIGKILL)
        failed = sum(1 for k, rc in outcome.items() if rc not in (0, -signal.SIGKILL))
        print(f"phase 1: {len(acked)} of {len(outcome)} batches acknowledged in {elapsed:.1f} s "
              f"({killed} killed with -9, {failed} failed otherwise); longest import by host: "
              + ", ".join(f"{h}: {t:.2f} s" for h, t in sorted(longest.items()))
              + (f" (host 2's link was down twice for {CUT:.0f} s)" if HOSTS >= 2 else ""), flush=True)
        for r in reasons:
            print(f"  not acknowledged (refused, not lost): {r}", flush=True)

        def check(phase, all_expected):
            v = sh(admin, "verify", "--store", url(1), check=False)
            if v.returncode != 0:
                failures.append(f"{phase}: verify failed: {v.stderr.strip()[:400]}")
            ex = sh(admin, "export", "--store", url(1), check=False)
            if ex.returncode != 0:
                failures.append(f"{phase}: export failed: {ex.stderr.strip()[:400]}")
                return
            positions, ids = [], {}
            for line in ex.stdout.splitlines():
                e = json.loads(line)
                positions.append(e["position"])
                ids[e["id"]] = ids.get(e["id"], 0) + 1
            if positions != list(range(1, len(positions) + 1)):
                failures.append(f"{phase}: positions are not 1..{len(positions)} in order")
            twice = [i for i, c in ids.items() if c > 1]
            if twice:
                failures.append(f"{phase}: {len(twice)} ids stored more than once, e.g. {twice[0]}")
            present = 0
            for key, (_, batch_ids) in batches.items():
                found = sum(1 for i in batch_ids if i in ids)
                if (key in acked or all_expected) and found != len(batch_ids):
                    failures.append(f"{phase}: batch {key} ({'acknowledged' if key in acked else 'sent again'}) has {found} of {len(batch_ids)} events")
                elif found not in (0, len(batch_ids)):
                    failures.append(f"{phase}: batch {key} is half there: {found} of {len(batch_ids)} events")
                present += found == len(batch_ids)
            head = v.stdout.strip().splitlines()[-1] if v.stdout.strip() else "?"
            print(f"{phase}: {len(positions)} events, {present} whole batches of {len(batches)}; verify: {head}", flush=True)
            return present

        # phase 1b: a writer cut off in the middle of its turn. A session on the database's host
        # holds the head row; host 2's import waits for it; host 2's link goes down and stays
        # down; the head row is let go. Host 2's session now holds the head row on the server
        # with its client gone: another host's writer gets its turn only when the server gives
        # that connection up (HROMADA_PG_KEEPALIVE, DEADLINK seconds here; without it, the
        # server's TCP waits about fifteen minutes), and host 2's import must give up as well.
        if HOSTS >= 2 and DEADLINK > 0:
            cut_key, cut_path = write_batch(2, ROUNDS)
            other_key, _ = write_batch(1, ROUNDS)
            holder = server.psql_session()
            holder.stdin.write("BEGIN;\nSELECT position FROM camp.head FOR UPDATE;\n\\echo held\n")
            holder.stdin.flush()
            while holder.stdout.readline().strip() != "held":
                pass
            env = dict(ENV, HROMADA_PG_KEEPALIVE=f"{DEADLINK:g}")
            cut_writer = subprocess.Popen(
                ["ip", "netns", "exec", f"{PREFIX}2", admin, "import", cut_path, "--store", url(2)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
            waiting = False
            for _ in range(200):
                if server.scalar(f"SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                 f"AND client_addr = '10.{NET}.2.2'") == "1":
                    waiting = True
                    break
                time.sleep(0.05)
            if not waiting:
                failures.append("phase 1b: host 2's import never waited for the head row")
            net.cut(2, up=False)
            holder.stdin.write("COMMIT;\n")
            holder.stdin.close()
            holder.wait()
            let_go = time.time()
            limit = 3 * DEADLINK + 20
            rc, out, err = run_import(0, other_key, 1)
            other_took = time.time() - let_go
            if rc == 0:
                acked.add(other_key)
            else:
                failures.append(f"phase 1b: host 1's import, behind a writer cut off holding the head row, "
                                f"did not get its turn (exit {rc} after {other_took:.1f} s)")
            try:
                cut_writer.wait(timeout=max(1, limit - (time.time() - let_go)))
            except subprocess.TimeoutExpired:
                cut_writer.kill()
            gave_up = time.time() - let_go
            cut_out, cut_err = cut_writer.communicate()
            if cut_writer.returncode == -signal.SIGKILL:
                failures.append(f"phase 1b: host 2's import, cut off, had not given up after {limit:.0f} s")
            elif cut_writer.returncode == 0:
                acked.add(cut_key)
            net.cut(2, up=True)
            # the link was down long enough for both ends to mark the other unreachable: until the
            # neighbour entries are resolved again a connect fails with "No route to host"
            net.flush_neighbours(2)
            back = time.time() + 20
            while sh("ip", "netns", "exec", f"{PREFIX}2", admin, "stats", "--store", url(2), check=False).returncode != 0:
                if time.time() > back:
                    failures.append("phase 1b: host 2 could not reach the database 20 s after its link was back")
                    break
                time.sleep(0.2)
            said = next((l for l in cut_err.splitlines() if l.startswith("error:")), cut_err.strip() or "?")[:220]
            print(f"phase 1b: a writer cut off in its turn (HROMADA_PG_KEEPALIVE={DEADLINK:g}): host 1's import got "
                  f"the head row after {other_took:.1f} s (exit {rc}); host 2's import gave up after {gave_up:.1f} s "
                  f"(exit {cut_writer.returncode}: {said})", flush=True)

        if ENV.get("SELFTEST") == "1":
            # the checks must be able to fail: a batch written down as acknowledged that was
            # never sent has to be flagged as missing
            planted = (0, 0)
            batches[planted] = ("", [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(BATCH)])
            acked.add(planted)
            before = len(failures)
            check("selftest", False)
            flagged = [f for f in failures[before:] if f"batch {planted}" in f]
            del failures[before:]
            del batches[planted]
            acked.discard(planted)
            if not flagged:
                failures.append("selftest: a lost acknowledged batch was not flagged")
            else:
                print("selftest: the planted lost batch was flagged", flush=True)

        check("after the faults", False)

        # phase 2: every batch again, each from another host than its own
        appended_again = 0
        for (h, b) in sorted(batches):
            other = h % HOSTS + 1
            rc, out, err = run_import(0, (h, b), other)
            if rc != 0:
                failures.append(f"resend of batch {(h, b)} from host {other} failed: {err.strip()[:300]}")
                continue
            # "imported N events (M already in the log, 0 rejected)"
            words = out.split()
            n = int(words[1]) if len(words) > 1 and words[1].isdigit() else -1
            was_there = (h, b) in acked or n == 0
            if (h, b) in acked and n != 0:
                failures.append(f"batch {(h, b)} was acknowledged, yet sending it again from host {other} added {n} events")
            if not was_there:
                appended_again += 1
        print(f"phase 2: every batch sent again from another host; {appended_again} batches landed only now", flush=True)
        check("after sending everything again", True)

        # the worker hosts: at the head, stopped cleanly, their read models equal to the log
        head = json.loads(sh(admin, "stats", "--json", "--store", url(1)).stdout)["headPosition"]
        print(f"workers: {', '.join(worker_faults) or 'no faults'}; head {head}", flush=True)
        for n in worker_hosts:
            deadline, checkpoints = time.time() + 60, []
            while time.time() < deadline:
                r = in_host(n, "stats", "--json")
                if r.returncode == 0:
                    checkpoints = [p["checkpoint"] for p in json.loads(r.stdout).get("projections", [])]
                    if checkpoints and all(c == head for c in checkpoints):
                        break
                time.sleep(0.2)
            caught_up = time.time()
            workers[n].send_signal(signal.SIGTERM)
            try:
                rc = workers[n].wait(timeout=30)
            except subprocess.TimeoutExpired:
                workers[n].kill()
                rc = "hung"
            if not checkpoints or any(c != head for c in checkpoints):
                failures.append(f"worker host {n}: checkpoints {checkpoints} never reached the head {head}")
            if rc != 0:
                failures.append(f"worker host {n}: exit {rc} on SIGTERM (see worker-{n}.log)")
            r = in_host(n, "replay", "--check")
            if r.returncode != 0:
                failures.append(f"worker host {n}: its read models differ from the log: {(r.stdout + r.stderr).strip()[:600]}")
            if ENV.get("SELFTEST") == "1" and n == worker_hosts[0] and r.returncode == 0:
                # the comparison must be able to fail: one altered row of this host's read models
                import sqlite3
                db = sqlite3.connect(os.path.join(work, f"read-models-{n}", "projections.sqlite"))
                db.execute("UPDATE leaderboard_community SET name = name || ' (змінено)' "
                           "WHERE communityId = (SELECT min(communityId) FROM leaderboard_community)")
                db.commit()
                db.close()
                t = in_host(n, "replay", "--check")
                if t.returncode == 0:
                    failures.append(f"selftest: an altered row of worker host {n}'s read models was not flagged")
                else:
                    print(f"selftest: an altered row of worker host {n}'s read models was flagged", flush=True)
            print(f"worker host {n}: checkpoints {sorted(set(checkpoints))} (head {head}), SIGTERM exit {rc}, "
                  f"replay --check exit {r.returncode}: {(r.stdout.strip().splitlines() or ['?'])[-1][:160]}", flush=True)
    finally:
        for p in workers.values():
            if p.poll() is None:
                p.kill()
        if server:
            server.stop()
        net.down()
        if ENV.get("KEEP") != "1":
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")
    for f in failures:
        print("FAIL", f)
    print("result:", "FAIL" if failures else "PASS", f"(SEED={SEED})")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
