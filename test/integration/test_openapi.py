"""The API description against the implementation: docs/openapi.yaml lists
exactly the routes cuebox-web implements (its own route table, printed by
`cuebox-web --routes`) with the same roles, operator members and summaries;
the box serves the document as it is; every plain GET answers as documented;
and every operation with path parameters is really routed (never the 404
`path` the API gives a path it does not know, never a 405 or a 5xx), probed
with ids that cannot exist so that nothing on the box changes."""
import http.client
import json
import os
import re
import subprocess

import yaml

from stack import BUILD, ROOT  # noqa: E402

DOC_FILE = os.path.join(ROOT, "docs", "openapi.yaml")
WEB = os.path.join(BUILD, "firmware", "app", "cuebox-web")
METHODS = ("get", "post", "patch", "put", "delete")
ROLES = ("public", "viewer", "operator", "designer", "admin")
# A JSON body no operation takes: a probe must be refused for its path
# parameter (or its body), never reach anything it could change.
ODD_BODY = {"zz_not_a_member": 1}
# Values for string path parameters with a pattern: the first one the
# pattern accepts is used (a media id, a backup folder, an export file),
# each one that cannot exist on the box.
PATTERN_PROBES = ["0" * 64, "20000101T000000000Z-r0", "zz-no-such-export.cuebox"]

_doc = None


def doc():
    global _doc
    if _doc is None:
        with open(DOC_FILE) as f:
            _doc = yaml.safe_load(f)
    return _doc


def resolve(node):
    """Follows a local $ref (one hop after another) to what it names."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), f"only local references are used: {ref}"
        target = doc()
        for part in ref[2:].split("/"):
            target = target[part]
        node = target
    return node


def operations():
    """(METHOD, path, operation, parameters) for every documented operation."""
    for path, item in doc()["paths"].items():
        shared = item.get("parameters", [])
        for method in METHODS:
            if method in item:
                op = item[method]
                params = [resolve(p) for p in shared + op.get("parameters", [])]
                yield method.upper(), path, op, params


def name(method, path):
    return f"{method} {path}"


def required_members(schema):
    """The top-level members a JSON schema requires (allOf parts included)."""
    schema = resolve(schema)
    out = set(schema.get("required", []))
    for part in schema.get("allOf", []):
        out |= required_members(part)
    return out


def call(stack, method, path, body=None):
    """(status, content type, raw body); raises OSError or HTTPException when
    the connection fails (the web process went away)."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=15)
    try:
        headers = {"X-Cuebox-Client": "test_openapi", **stack.auth}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, resp.getheader("Content-Type", ""), raw
    finally:
        conn.close()


def error_field(ctype, raw):
    if "json" not in ctype:
        return None
    try:
        return json.loads(raw).get("error", {}).get("field")
    except (ValueError, AttributeError):
        return None


def probe_value(schema):
    """A value of the parameter's documented form that names nothing on the
    box: outside an enum, the largest allowed whole number, or a pattern's
    impossible value."""
    schema = resolve(schema)
    if "enum" in schema:
        return "Z"
    if schema.get("type") == "integer":
        return schema.get("maximum", 999999)
    if "pattern" in schema:
        for v in PATTERN_PROBES:
            if re.search(schema["pattern"], v):
                return v
        raise AssertionError(f"no probe value fits pattern {schema['pattern']}: add one to PATTERN_PROBES")
    return "Z"


def fill(path, values):
    return re.sub(r"\{([^}]+)\}", lambda m: str(values[m.group(1)]), path)


def state(stack):
    """What a probe must not change: the loaded show (without media check
    results, which a check running meanwhile may write), the shows, the
    named recovery points and the backups."""
    _, show = stack.http("GET", "/api/show")
    s = show["show"]
    clips = [{k: v for k, v in c.items() if k not in ("media_check", "status")} for c in s["clips"]]
    _, shows = stack.http("GET", "/api/shows")
    _, points = stack.http("GET", "/api/recovery")
    _, backups = stack.http("GET", "/api/backups")
    return {
        "show": {k: v for k, v in s.items() if k != "clips"},
        "clips": clips,
        "shows": shows["shows"],
        "points": sorted(p["id"] for p in points["points"] if p["kind"] != "auto"),
        "backups": sorted(b["name"] for b in backups["backups"]),
    }


def probe(stack, method, path, bodies, failures):
    """Calls `path` with each body; a dropped connection (the web process
    died: the supervisor restarts it), a 5xx, a 405 or the 404 `path` of an
    unknown path is a failure."""
    for body in bodies:
        what = f"{name(method, path)} with body {json.dumps(body)}"
        try:
            status, ctype, raw = call(stack, method, path, body)
        except (OSError, http.client.HTTPException) as e:
            failures.append(f"{what}: the connection failed ({e!r}): did cuebox-web crash?")
            stack.wait_ready()
            continue
        field = error_field(ctype, raw)
        if status >= 500:
            failures.append(f"{what}: {status} {raw[:200]!r}")
        elif status == 405:
            failures.append(f"{what}: 405, the method is not implemented on this path: {raw[:200]!r}")
        elif status == 404 and field == "path":
            failures.append(f"{what}: 404 field path, the API does not know this path: {raw[:200]!r}")


def test_the_document_is_consistent():
    d = doc()
    assert d["openapi"].startswith("3.0"), "an OpenAPI 3.0 document"
    schemes = d["components"]["securitySchemes"]
    cookie, bearer = schemes["sessionCookie"], schemes["bearerToken"]
    assert (cookie["type"], cookie["in"], cookie["name"]) == ("apiKey", "cookie", "cuebox_session"), "the session cookie"
    assert (bearer["type"], bearer["scheme"]) == ("http", "bearer"), "the bearer token scheme"
    assert "X-CSRF-Token" in d["info"]["description"], "info.description documents the CSRF header"
    ids = set()
    problems = []
    for method, path, op, params in operations():
        n = name(method, path)
        if op.get("operationId") in ids:
            problems.append(f"{n}: operationId {op.get('operationId')} is used twice")
        ids.add(op.get("operationId"))
        summary = op.get("summary", "")
        if not summary or "\n" in summary:
            problems.append(f"{n}: needs a one-line summary")
        if op.get("x-cuebox-role") not in ROLES:
            problems.append(f"{n}: x-cuebox-role {op.get('x-cuebox-role')!r} is not one of {ROLES}")
        members = op.get("x-cuebox-operator-members")
        if members is not None and (op.get("x-cuebox-role") != "designer" or not members):
            problems.append(f"{n}: x-cuebox-operator-members belongs on designer operations only, non-empty")
        declared = {p["name"] for p in params if p["in"] == "path"}
        in_template = set(re.findall(r"\{([^}]+)\}", path))
        if declared != in_template:
            problems.append(f"{n}: path parameters {sorted(declared)} differ from the template's {sorted(in_template)}")
        for p in params:
            if p["in"] == "path" and not p.get("required"):
                problems.append(f"{n}: path parameter {p['name']} must be required")
        codes = list(op.get("responses", {}))
        if not any(re.fullmatch(r"[12][0-9][0-9]", str(c)) for c in codes):
            problems.append(f"{n}: documents no success answer")
        for code in codes:
            if not (isinstance(code, str) and re.fullmatch(r"[1-5][0-9][0-9]", code)):
                problems.append(f"{n}: response {code!r} must be a quoted status code")
            elif code[0] in "45":
                schema = resolve(op["responses"][code]).get("content", {}).get("application/json", {}).get("schema")
                if resolve(schema) is not resolve({"$ref": "#/components/schemas/Error"}):
                    problems.append(f"{n}: {code} must answer the Error schema")
    assert not problems, "docs/openapi.yaml:\n" + "\n".join(problems)


def test_the_route_table_and_the_document_list_the_same_operations():
    assert os.access(WEB, os.X_OK), f"{WEB} is not built"
    out = subprocess.run([WEB, "--routes"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, f"cuebox-web --routes exited {out.returncode}: {out.stderr}"
    table = {(r["method"], r["path"]): r for r in json.loads(out.stdout)}
    documented = {(m, p): op for m, p, op, _ in operations()}
    only_code = sorted(set(table) - set(documented))
    only_doc = sorted(set(documented) - set(table))
    assert not only_code and not only_doc, (
        "the route table and docs/openapi.yaml differ:\n"
        + "".join(f"  in the code, not documented: {name(*k)}\n" for k in only_code)
        + "".join(f"  documented, not in the code: {name(*k)}\n" for k in only_doc))
    problems = []
    for key, r in sorted(table.items()):
        op = documented[key]
        if r["role"] != op.get("x-cuebox-role"):
            problems.append(f"{name(*key)}: role {r['role']} in the code, {op.get('x-cuebox-role')} documented")
        if r["operator_members"] != op.get("x-cuebox-operator-members", []):
            problems.append(f"{name(*key)}: operator members {r['operator_members']} in the code, "
                            f"{op.get('x-cuebox-operator-members', [])} documented")
        if r["summary"] != op.get("summary"):
            problems.append(f"{name(*key)}: summary {r['summary']!r} in the code, {op.get('summary')!r} documented")
    assert not problems, "\n".join(problems)


def test_the_box_serves_this_document(stack):
    status, ctype, raw = call(stack, "GET", "/api/openapi.yaml")
    assert status == 200, f"GET /api/openapi.yaml: {status} {raw[:200]!r}"
    assert "yaml" in ctype, f"GET /api/openapi.yaml: content type {ctype!r} is not YAML"
    with open(DOC_FILE, "rb") as f:
        assert raw == f.read(), "GET /api/openapi.yaml is not docs/openapi.yaml byte for byte"


def test_every_plain_get_answers_as_documented(stack):
    failures = []
    for method, path, op, params in operations():
        if method != "GET" or "{" in path or path == "/api/ws":
            continue
        ok = op["responses"].get("200") or {}
        content = resolve(ok).get("content", {})
        if content and all(t == "application/octet-stream" for t in content):
            continue  # streams a large file
        # Required query parameters get their documented example.
        query = []
        for p in params:
            if p["in"] == "query" and p.get("required"):
                value = p.get("example", resolve(p["schema"]).get("default"))
                assert value is not None, f"{name(method, path)}: required query parameter {p['name']} needs an example"
                query.append(f"{p['name']}={value}")
        target = path + ("?" + "&".join(query) if query else "")
        try:
            status, ctype, raw = call(stack, method, target)
        except (OSError, http.client.HTTPException) as e:
            failures.append(f"{name(method, target)}: the connection failed ({e!r})")
            stack.wait_ready()
            continue
        documented = sorted(op["responses"])
        if str(status) not in op["responses"]:
            failures.append(f"{name(method, target)}: {status} is not a documented answer {documented}: {raw[:200]!r}")
            continue
        if status != 200 or "application/json" not in ctype:
            continue
        schema = content.get("application/json", {}).get("schema")
        if schema is None:
            failures.append(f"{name(method, target)}: answered JSON, documented {sorted(content)}")
            continue
        body = json.loads(raw)
        missing = sorted(required_members(schema) - set(body))
        if missing:
            failures.append(f"{name(method, target)}: the answer lacks required {missing}")
    assert not failures, "\n".join(failures)


def test_every_operation_with_path_parameters_is_routed(stack):
    before = state(stack)
    failures = []
    for method, path, op, params in operations():
        path_params = [p for p in params if p["in"] == "path"]
        if not path_params:
            continue
        values = {p["name"]: probe_value(p["schema"]) for p in path_params}
        bodies = [None, ODD_BODY] if method in ("POST", "PATCH", "PUT") else [None]
        probe(stack, method, fill(path, values), bodies, failures)
    assert not failures, "\n".join(failures)
    assert state(stack) == before, "a probe with ids that cannot exist changed the box"


def test_a_path_parameter_that_is_not_a_number_is_refused_not_fatal(stack):
    # One parameter at a time (the others well-formed), so that each
    # segment's own check is reached.
    before = state(stack)
    failures = []
    for method, path, op, params in operations():
        path_params = [p for p in params if p["in"] == "path"]
        for p in path_params:
            if resolve(p["schema"]).get("type") != "integer":
                continue
            values = {q["name"]: probe_value(q["schema"]) for q in path_params}
            values[p["name"]] = "Z"
            bodies = [None, ODD_BODY] if method in ("POST", "PATCH", "PUT") else [None]
            probe(stack, method, fill(path, values), bodies, failures)
    assert not failures, "\n".join(failures)
    assert state(stack) == before, "a probe with ids that are not numbers changed the box"
