#!/usr/bin/env python3
"""The benchmark's report: reads what scripts/bench.sh measured and prints one table.

usage: bench_report.py STEPS_DIR [--json-out FILE]

STEPS_DIR holds, per step, NAME.json ({"step", "seconds", "rc", "maxrss_kb"}) with NAME.out and
NAME.err; input.json (events, raw_bytes); peers.json (the output of peers.py --json);
store_bytes.txt (du -sb of the store after import). A figure that is missing or whose step
failed is printed as "n/a" with the reason: nothing is estimated or filled in.
"""
import argparse, json, os, sys


def load_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read_text(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def read_int(path):
    text = read_text(path)
    try:
        return int(text.strip()) if text else None
    except ValueError:
        return None


class Figure:
    """A measured number, or the reason there is none."""

    def __init__(self, value=None, why=None):
        self.value, self.why = value, why

    def ok(self):
        return self.value is not None

    def show(self, fmt="{:,.0f}"):
        return fmt.format(self.value) if self.ok() else "n/a"

    def json(self):
        return self.value if self.ok() else None


def step_rate(steps, name, events):
    s = load_json(os.path.join(steps, name + ".json"))
    if s is None:
        return Figure(why=f"{name} was not run"), None
    if s.get("rc") != 0:
        err = (read_text(os.path.join(steps, name + ".err")) or "").strip().splitlines()
        return Figure(why=f"{name} failed (exit {s.get('rc')}){': ' + err[0][:160] if err else ''}"), s
    if not events or s["seconds"] <= 0:
        return Figure(why="no event count"), s
    return Figure(events / s["seconds"]), s


def ratio(a, b, label):
    if not a.ok() or not b.ok() or not b.value:
        missing = a.why if not a.ok() else (b.why or "no peer figure")
        return Figure(why=missing), label
    return Figure(a.value / b.value), label


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("steps")
    ap.add_argument("--json-out")
    a = ap.parse_args()
    steps = a.steps

    inp = load_json(os.path.join(steps, "input.json")) or {}
    events = inp.get("events")
    raw = inp.get("raw_bytes")

    gen, _ = step_rate(steps, "generate", events)
    imp, imp_step = step_rate(steps, "import", events)
    ver, _ = step_rate(steps, "verify", events)
    reb, _ = step_rate(steps, "rebuild", events)
    rep, _ = step_rate(steps, "replay", events)
    rss = Figure(imp_step["maxrss_kb"] * 1024) if imp_step and imp_step.get("rc") == 0 and imp_step.get("maxrss_kb") \
        else Figure(why="import not measured" if not imp_step or imp_step.get("rc") != 0 else "/usr/bin/time unavailable")
    size = read_int(os.path.join(steps, "store_bytes.txt"))
    size = Figure(size) if size is not None else Figure(why="store not measured (import failed?)")
    size_after = read_int(os.path.join(steps, "store_bytes_after_rebuild.txt"))
    log_size = read_int(os.path.join(steps, "log_bytes.txt"))
    log_size = Figure(log_size) if log_size is not None else Figure(why="log not measured (import failed?)")

    peers_doc = load_json(os.path.join(steps, "peers.json"))
    peers, peer_note = {}, None
    if peers_doc is None:
        peer_note = "peers.py gave no JSON (see its stderr above)"
    elif "missing" in peers_doc:
        peer_note = peers_doc["missing"]
    else:
        for p in peers_doc.get("peers", []):
            peers[p["peer"]] = p

    def peer_fig(name, key):
        p = peers.get(name)
        if p is None:
            return Figure(why=peer_note or f"{name} not run")
        if key in p:
            return Figure(p[key])
        return Figure(why=f"{name} {p.get('skipped') or 'error: ' + str(p.get('error'))}")

    # --- the table ----------------------------------------------------------------------------
    out = []
    out.append(f"Benchmark on {events if events is not None else '?'} events "
               f"({raw / 1e6:,.1f} MB of JSON Lines)" if raw else f"Benchmark on {events} events")
    out.append("All figures are measured in this run on this machine; n/a = not measured (reason below).")
    out.append("")
    head = f"{'system':<24} {'append ev/s':>13} {'replay ev/s':>13} {'bytes':>15} {'raw/bytes':>9}"
    out.append(head)
    out.append("-" * len(head))

    def row(name, app, rep, b):
        r = f"{raw / b.value:.2f}" if raw and b.ok() and b.value else "n/a"
        out.append(f"{name:<24} {app.show():>13} {rep.show():>13} {b.show():>15} {r:>9}")

    row("hromada (import/verify)", imp, ver, size)
    for name in ["sqlite-table", "eventsourcing", "postgres-table", "zstd-cli"]:
        row(name, peer_fig(name, "append_eps"), peer_fig(name, "replay_eps"), peer_fig(name, "bytes"))
    for name, p in peers.items():  # peers added to peers.py later
        if name not in ("sqlite-table", "eventsourcing", "postgres-table", "zstd-cli"):
            row(name, peer_fig(name, "append_eps"), peer_fig(name, "replay_eps"), peer_fig(name, "bytes"))
    out.append("")
    out.append("hromada: append = admin import, replay = admin verify (checksums + hash chain),")
    out.append("         bytes = du -sb of the store right after the import (log + its indexes);")
    out.append(f"         the log alone (segments) is {log_size.show()} bytes.")
    out.append("")
    out.append("This project, further:")
    out.append(f"  rebuild (all read models)   {reb.show():>13} ev/s")
    rr = Figure(reb.value / rep.value) if reb.ok() and rep.ok() and rep.value else Figure(why=rep.why or reb.why)
    out.append(f"  replay --check (all models) {rep.show():>13} ev/s   ({rr.show('{:.2f}')} x the rebuild's time)")
    rss_text = f"{rss.value / 1048576:,.1f} MB" if rss.ok() else "n/a"
    out.append(f"  import peak RSS             {rss_text:>13}")
    if size_after is not None:
        out.append(f"  store after rebuild         {size_after:>13,} bytes (log + read models)")
    out.append(f"  generate (not a goal)       {gen.show():>13} ev/s")

    # Instructions per event (callgrind), repeatable whatever the machine's load.
    cg = {}
    for name in ("import", "verify", "rebuild"):
        d = load_json(os.path.join(steps, f"cg-{name}.json"))
        if d and d.get("instructions") and d.get("events"):
            cg[name] = d["instructions"] / d["events"]
    if cg:
        n = load_json(os.path.join(steps, "cg-import.json")) or {}
        out.append("")
        out.append(f"Instructions per event (valgrind --tool=callgrind, {n.get('events', '?')} generated events):")
        for name in ("import", "verify", "rebuild"):
            out.append(f"  {name:<10} {cg[name]:>13,.0f}" if name in cg else f"  {name:<10} {'n/a':>13}")

    zstd_replay = peer_fig("zstd-cli", "replay_eps")
    half_zstd = Figure(zstd_replay.value / 2) if zstd_replay.ok() else zstd_replay
    ratios = [
        ratio(imp, peer_fig("sqlite-table", "append_eps"), "import ev/s / sqlite-table append ev/s"),
        ratio(ver, peer_fig("sqlite-table", "replay_eps"), "verify ev/s / sqlite-table replay ev/s"),
        ratio(ver, half_zstd, "verify ev/s / (zstd-cli replay ev/s / 2)"),
        ratio(size, peer_fig("zstd-cli", "bytes"), "store bytes / zstd-cli bytes (lower is better)"),
        ratio(log_size, peer_fig("zstd-cli", "bytes"), "log-only bytes / zstd-cli bytes (lower is better)"),
    ]
    out.append("")
    out.append("Ratios named in the goals:")
    for fig, label in ratios:
        out.append(f"  {label:<48} {fig.show('{:.2f}'):>8}")

    # --- hooks --------------------------------------------------------------------------------
    hooks = {}
    for hook in ["bench-latency", "bench-search", "bench-timetravel"]:
        s = load_json(os.path.join(steps, hook + ".json"))
        if s is None:
            continue
        text = (read_text(os.path.join(steps, hook + ".out")) or "").rstrip()
        if s.get("rc") != 0:
            text = f"failed (exit {s.get('rc')}): " + (read_text(os.path.join(steps, hook + ".err")) or "").strip()[:300]
        hooks[hook] = text
    if hooks:
        out.append("")
        out.append("Measurement hooks (printed by admin):")
        for hook, text in hooks.items():
            out.append(f"  admin {hook}:")
            for line in text.splitlines() or ["(no output)"]:
                out.append("    " + line)

    # --- why something is missing -------------------------------------------------------------
    reasons = []
    for label, fig in [("import", imp), ("verify", ver), ("rebuild", reb), ("store bytes", size), ("peak RSS", rss)]:
        if not fig.ok():
            reasons.append(f"{label}: {fig.why}")
    if peer_note:
        reasons.append(f"peers: {peer_note}")
    for name, p in peers.items():
        if "append_eps" not in p:
            reasons.append(f"{name}: {p.get('skipped') or 'error: ' + str(p.get('error'))}")
    if reasons:
        out.append("")
        out.append("Not measured:")
        out.extend("  " + r for r in reasons)
    print("\n".join(out))

    if a.json_out:
        doc = {
            "events": events, "raw_bytes": raw,
            "hromada": {"import_eps": imp.json(), "verify_eps": ver.json(), "rebuild_eps": reb.json(),
                        "store_bytes": size.json(), "log_bytes": log_size.json(), "store_bytes_after_rebuild": size_after,
                        "instructions_per_event": cg,
                        "import_peak_rss_bytes": rss.json(), "generate_eps": gen.json()},
            "peers": list(peers.values()),
            "ratios": {label: fig.json() for fig, label in ratios},
            "hooks": hooks,
            "not_measured": reasons,
        }
        with open(a.json_out, "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False, indent=1)
        print(f"\n(JSON: {a.json_out})")


if __name__ == "__main__":
    sys.exit(main())
