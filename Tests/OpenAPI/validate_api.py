#!/usr/bin/env python3
"""Checks a running `admin serve` against its own OpenAPI document.

Usage: validate_api.py BASE_URL TOKEN   (e.g. http://127.0.0.1:8080, the sample history
projected, the service started with --token-file holding TOKEN)

1. GET /openapi.json and check it is a valid OpenAPI 3.1 document (openapi-spec-validator).
2. GET each request below and check its status, that its Content-Type is one the document
   declares for that status, and that a JSON body validates against the declared schema
   (jsonschema, JSON Schema 2020-12, the document's $refs resolved).
3. The streams: the first event of /api/v1/live (its data against LiveReady), the lines of
   /api/v1/events against ExportLine.
4. POST /api/v1/streams/{stream}: each status the document declares, bodies against its schemas.
5. Check that every GET operation of the document was exercised with a 200.

Exit 0 when all hold; 1 with one line per failure; 2 when a validator is not installed
(scripts/deps.sh installs them). Used by Tests/AdminTests/OpenAPITests.swift.
"""
import json
import re
import sys
import urllib.error
import urllib.request

try:
    import jsonschema
    from openapi_spec_validator import validate as validate_spec
except ImportError as e:  # the test fails, it never skips
    print(f"validator missing: {e} (run scripts/deps.sh)", file=sys.stderr)
    sys.exit(2)

# (target, expected status)
REQUESTS = [
    ("/api/v1/leaderboard?competition=bp-2020&theme=1", 200),
    ("/api/v1/leaderboard?competition=bp-2021", 200),
    ("/api/v1/leaderboard?competition=bp-2021&theme=2&kind=rural", 200),
    ("/api/v1/leaderboard?competition=bp-2020&at=2020-06-01", 200),
    ("/api/v1/leaderboard?competition=bp-2020&format=csv", 200),
    ("/api/v1/leaderboard", 400),
    ("/api/v1/leaderboard?competition=bp-2020&kind=metropolis", 400),
    ("/api/v1/leaderboard?competition=bp-1999", 404),
    ("/api/v1/leaderboard?competition=bp-2020&theme=99", 404),
    ("/api/v1/competitions", 200),
    ("/api/v1/competitions?at=position:1", 200),
    ("/api/v1/competitions?format=jsonl", 200),
    ("/api/v1/regions", 200),
    ("/api/v1/regions?at=position:900", 200),
    ("/api/v1/regions?format=csv", 200),
    ("/api/v1/regions?format=json", 200),
    ("/api/v1/regions?format=xml", 400),
    ("/api/v1/regions?colour=red", 400),
    ("/api/v1/regions?at=yesterday", 400),
    ("/api/v1/catalog", 200),
    ("/api/v1/catalog?q=%D0%B1%D1%8E%D0%B4%D0%B6%D0%B5%D1%82&limit=5", 200),
    ("/api/v1/catalog?sector=governance&format=csv", 200),
    ("/api/v1/catalog?limit=0", 400),
    ("/api/v1/network", 200),
    ("/api/v1/network?format=jsonl", 200),
    ("/api/v1/network?at=2020-06-01", 200),
    ("/api/v1/seminars", 200),
    ("/api/v1/seminars?at=position:100&format=csv", 200),
    ("/api/v1/streams/submission-bp-2020-00039/history", 200),
    ("/api/v1/streams/submission-bp-2020-00039/history?at=2020-06-01", 200),
    ("/api/v1/streams/no-such-stream-1/history", 404),
    ("/api/v1/streams/BAD%20NAME/history", 400),
    ("/api/v1/stats", 200),
    ("/api/v1/stats?at=position:1", 400),
    ("/health/live", 200),
    ("/health/ready", 200),
    ("/openapi.json", 200),
    ("/api/v1/events?from=1200&limit=20", 200),
    ("/api/v1/events?from=1250", 200),
    ("/api/v1/events?from=-1", 400),
    ("/api/v1/events?follow=maybe", 400),
    ("/metrics", 200),
    ("/metrics?x=1", 400),
    ("/api/v1/live?x=1", 400),
]

SCORE = {"submissionId": "bp-2021-00000", "jurorId": "j-openapi",
         "scores": {"relevance": 7, "innovation": 8, "participation": 6, "results": 9, "replicability": 5}}
GOOD = {"expectedVersion": "any", "events": [
    {"id": "0b7c9a4e-6f1d-4c53-9a37-0a5b7d3c1e01", "type": "JuryScoreAdded", "data": SCORE}]}
# (body bytes, token, expected status), in order: the good one twice (201, then 200 for the retry).
POSTS = [
    (json.dumps(GOOD).encode(), "TOKEN", 201),
    (json.dumps(GOOD).encode(), "TOKEN", 200),
    (json.dumps(GOOD).encode(), None, 401),
    (json.dumps(GOOD).encode(), "wrong-token-0123456789", 403),
    (b"{not json", "TOKEN", 400),
    (json.dumps({"expectedVersion": 0, "events": [dict(GOOD["events"][0], id="0b7c9a4e-6f1d-4c53-9a37-0a5b7d3c1e02")]}).encode(),
     "TOKEN", 409),
    (b" " * ((1 << 20) + 1), "TOKEN", 413),
]



def fetch(base, target, data=None, headers=None):
    request = urllib.request.Request(base + target, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode("utf-8")


def first_sse_event(base, target):
    """The name and data of the first event of a text/event-stream, and its Content-Type."""
    with urllib.request.urlopen(base + target, timeout=60) as r:
        content_type = r.headers.get("Content-Type")
        name, data = None, None
        for raw in r:
            line = raw.decode("utf-8").rstrip("\n")
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
            elif line == "" and name:
                return r.status, content_type, name, json.loads(data)
    return None, content_type, None, None


def check_json(spec, target, schema, instance, failures):
    wrapper = {"components": spec["components"], "allOf": [schema]}
    for error in list(jsonschema.Draft202012Validator(wrapper).iter_errors(instance))[:3]:
        path_in = "/".join(str(p) for p in error.absolute_path)
        failures.append(f"{target}: at /{path_in}: {error.message[:300]}")


def template_of(spec, path):
    """The document's path template matching a concrete path."""
    for template in spec["paths"]:
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path):
            return template
    return None


TOKEN = ""


def main():
    global TOKEN
    base = sys.argv[1].rstrip("/")
    TOKEN = sys.argv[2]
    failures = []
    status, content_type, body = fetch(base, "/openapi.json")
    if status != 200:
        print(f"/openapi.json: status {status}", file=sys.stderr)
        return 1
    spec = json.loads(body)
    try:
        validate_spec(spec)
    except Exception as e:
        print(f"/openapi.json is not a valid OpenAPI 3.1 document: {e}", file=sys.stderr)
        return 1
    if not spec.get("openapi", "").startswith("3.1"):
        failures.append(f"openapi is {spec.get('openapi')!r}, not 3.1.x")

    exercised = set()
    for target, expected in REQUESTS:
        path = target.split("?")[0]
        status, content_type, body = fetch(base, target)
        if status != expected:
            failures.append(f"{target}: status {status}, expected {expected}: {body[:200]}")
            continue
        template = template_of(spec, urllib.request.unquote(path))
        operation = spec["paths"].get(template, {}).get("get") if template else None
        if operation is None:
            failures.append(f"{target}: no GET operation in the document")
            continue
        response = operation["responses"].get(str(status))
        if response is None:
            failures.append(f"{target}: status {status} is not declared")
            continue
        content = response.get("content", {})
        if content_type not in content:
            failures.append(f"{target}: Content-Type {content_type!r} not declared (declared: {sorted(content)})")
            continue
        if status == 200:
            exercised.add(template)
        schema = content[content_type]["schema"]
        if content_type.startswith("application/json"):
            check_json(spec, target, schema, json.loads(body), failures)
        elif content_type.startswith("text/csv") and not body.startswith("\ufeff"):
            failures.append(f"{target}: CSV without its byte order mark")
        elif content_type.startswith("application/x-ndjson"):
            line_schema = content[content_type].get("x-line-schema", {"type": "object"})
            lines = body.splitlines()
            if not lines and "from=1250" not in target:
                failures.append(f"{target}: no line")
            for number, line in enumerate(lines, 1):
                check_json(spec, f"{target} line {number}", line_schema, json.loads(line), failures)

    # The live stream: its first event, `ready`.
    status, content_type, name, data = first_sse_event(base, "/api/v1/live")
    live = spec["paths"]["/api/v1/live"]["get"]["responses"]["200"]["content"]
    if status != 200 or content_type not in live or name != "ready":
        failures.append(f"/api/v1/live: status {status}, Content-Type {content_type!r}, first event {name!r}")
    else:
        exercised.add("/api/v1/live")
        check_json(spec, "/api/v1/live ready", {"$ref": "#/components/schemas/LiveReady"}, data, failures)

    # Appends.
    append = spec["paths"]["/api/v1/streams/{stream}"]["post"]
    for body, token, expected in POSTS:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + (TOKEN if token == "TOKEN" else token)
        status, content_type, answer = fetch(base, "/api/v1/streams/submission-bp-2021-00000", data=body, headers=headers)
        target = f"POST ({expected})"
        if status != expected:
            failures.append(f"{target}: status {status}: {answer[:200]}")
            continue
        response = append["responses"].get(str(status))
        if response is None or content_type not in response.get("content", {}):
            failures.append(f"{target}: status {status} / {content_type!r} not declared")
            continue
        check_json(spec, target, response["content"][content_type]["schema"], json.loads(answer), failures)

    for template, item in spec["paths"].items():
        if "get" in item and template not in exercised:
            failures.append(f"GET {template}: no request of this checker answered 200")

    for failure in failures:
        print(failure, file=sys.stderr)
    print(f"{len(REQUESTS) + len(POSTS) + 1} answers checked against /openapi.json, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
