#!/usr/bin/env python3
"""Reads an `admin export-model` CSV back with Python's csv module and checks that it holds
exactly the rows of the model's JSON document, flattened as docs/OPEN-DATA.md says (written
here again, independently of the Swift code), and that the JSON Lines export holds the same.

Usage: csv_roundtrip.py MODEL EXPORT.csv DOCUMENT.json EXPORT.jsonl
Exit 0 when they agree, 1 with the first differences. Used by ExportModelTests.swift.
"""
import csv
import io
import json
import sys

LIST = "; "

COLUMNS = {
    "leaderboard": [("competitionId", "p"), ("competitionTitle", "p"), ("themeCode", "p"), ("themeTitle", "p"),
                    ("minJurors", "p"), ("winnersAnnounced", "p"), "rank", "submissionId", "title", "communityId",
                    "oblast", "kind", "score", "jurors", "provisional", "place", "award"],
    "competitions": [("competitionId", "p"), ("competitionTitle", "p:title"), ("minJurors", "p"),
                     "themeCode", ("themeTitle", "r:title"), "winnersAnnounced", "submissions"],
    "regions": ["oblast", "communities", "networkMembers", "networkPopulation", "submissions", "meanScore", "winners",
                "seminars", "seminarParticipants", "seminarCommunities", "practices"],
    "catalog": ["rank", "practiceId", "title", "communityId", "oblast", "sector", "relevance", "directions",
                "participationForms", "tags", "snippet"],
    "network": ["communityId", "name", "oblast", "joinedAt", "sectors", "directions", "seminarsAttended"],
    "seminars": ["seminarId", "date", "title", "oblast", "city", "direction", "participants", "communities",
                 "communityIds"],
}


def entities(model, document):
    """(row, parent) pairs in document order."""
    if model == "leaderboard":
        boards = document if isinstance(document, list) else [document]
        return [(row, board) for board in boards for row in board["rows"]]
    if model == "competitions":
        return [(theme, c) for c in document["competitions"] for theme in (c["themes"] or [{}])]
    return [(row, document) for row in document["rows"]]


def expected_rows(model, document):
    """Column names and typed rows, as the documentation defines them."""
    pairs = entities(model, document)
    names, getters = [], []
    for spec in COLUMNS[model]:
        if isinstance(spec, str):
            names.append(spec)
            if model == "regions" and spec == "submissions":
                getters.append(lambda r, p: sum(r["submissions"].values()))
            else:
                getters.append(lambda r, p, k=spec: r.get(k))
        else:
            name, source = spec
            key = source.split(":")[1] if ":" in source else name
            names.append(name)
            getters.append((lambda r, p, k=key: p.get(k)) if source.startswith("p") else (lambda r, p, k=key: r.get(k)))
    if model == "regions":
        ids = sorted({k for r, _ in pairs for k in list(r["submissions"]) + list(r["meanScores"])})
        for i in ids:
            names.append(f"submissions.{i}")
            getters.append(lambda r, p, i=i: r["submissions"].get(i, 0))
        for i in ids:
            names.append(f"meanScore.{i}")
            getters.append(lambda r, p, i=i: r["meanScores"].get(i))
    return names, [[g(r, p) for g in getters] for r, p in pairs]


def as_csv_text(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return LIST.join(value)
    return str(value)


def main():
    model, csv_path, json_path, jsonl_path = sys.argv[1:5]
    raw = open(csv_path, "rb").read()
    problems = []
    if not raw.startswith(b"\xef\xbb\xbf"):
        problems.append("the CSV does not start with the UTF-8 byte order mark")
    records = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), strict=True))
    if not raw.endswith(b"\r\n") or b"\n" in raw.replace(b"\r\n", b""):
        # LF inside quoted fields would be legal; the models' texts hold none, so every LF ends a record
        problems.append("records are not ended by CRLF")
    names, rows = expected_rows(model, json.load(open(json_path, encoding="utf-8")))
    if records[0] != names:
        problems.append(f"header {records[0]} != {names}")
    got = records[1:]
    if len(got) != len(rows):
        problems.append(f"{len(got)} CSV rows, the document has {len(rows)}")
    for n, (g, e) in enumerate(zip(got, rows), 1):
        want = [as_csv_text(v) for v in e]
        # numbers compare as numbers (the JSON encoder and the CSV may spell a double differently)
        for name, a, b, v in zip(names, g, want, e):
            if isinstance(v, float) and not isinstance(v, bool):
                if float(a) != v:
                    problems.append(f"row {n} {name}: {a!r} != {v!r}")
            elif a != b:
                problems.append(f"row {n} {name}: {a!r} != {b!r}")
    lines = [json.loads(line) for line in open(jsonl_path, encoding="utf-8").read().splitlines()]
    if [list(line.keys()) for line in lines] != [names] * len(rows):
        problems.append("JSON Lines keys differ from the CSV columns")
    if [list(line.values()) for line in lines] != rows:
        problems.append("JSON Lines values differ from the document's rows")
    for p in problems[:20]:
        print(p, file=sys.stderr)
    print(f"{model}: {len(got)} rows, {len(names)} columns, {len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
