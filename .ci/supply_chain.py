#!/usr/bin/env python3
"""Supply-chain check that needs only cargo and the Python 3.11 standard library.

Reads the policy in deny.toml (the file cargo-deny reads) and checks every
package of `cargo metadata --locked --format-version 1`:

- licences: each package's SPDX `license` expression (AND, OR, WITH,
  parentheses, the old `/` for OR, a trailing `+`) against `[licenses] allow`
  and `[[licenses.exceptions]]`; a package with only a `license_file` or no
  licence is refused unless `[[licenses.clarify]]` names its expression;
  packages that are not published are skipped when `[licenses.private]
  ignore = true`;
- sources: every package from an allowed registry (crates.io unless
  `[sources] allow-registry` says more) or an allowed git repository;
- bans: wildcard version requirements (`*`) refused (path dependencies of
  private crates allowed with `allow-wildcard-paths`); crates present in more
  than one version listed (`multiple-versions`: warn or deny);
- yanked versions: each crates.io package looked up in the sparse index
  (https://index.crates.io/); an unreachable index is reported, not failed;
- advisories: when github.com answers, cargo-deny or cargo-audit if
  installed, otherwise the RustSec database is downloaded and read; when it
  does not answer (or with --offline), a local snapshot of the database is
  read instead (--advisory-db, default ../shared/advisory-db beside the
  repository, or beside the main work tree of a git worktree) and the output
  names the snapshot (its SNAPSHOT file); without a snapshot the output says
  plainly that advisories were NOT checked, and the check does not fail. A
  vulnerability is an error; an informational advisory (unmaintained,
  unsound, notice) is an error too until deny.toml decides it in
  `[advisories] ignore` with a reason.

Exit status: 0 when nothing is refused, 1 when something is, 2 on a usage or
input error. `--self-test` runs the checker's own tests on crafted inputs.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import http.client
import io
import json
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import tomllib
import unittest
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

CRATES_IO = "https://github.com/rust-lang/crates.io-index"
CRATES_IO_SOURCES = {f"registry+{CRATES_IO}", "sparse+https://index.crates.io/"}
SPARSE_INDEX = "https://index.crates.io/"
RUSTSEC = "https://github.com/rustsec/advisory-db"

# deny.toml keys this checker reads; any other key is reported as not checked.
SUPPORTED = {
    "graph": {"all-features"},
    "advisories": {"db-urls", "yanked", "ignore"},
    "licenses": {"allow", "confidence-threshold", "private", "clarify", "exceptions"},
    "licenses.private": {"ignore"},
    "bans": {"multiple-versions", "wildcards", "allow-wildcard-paths", "skip", "deny"},
    "sources": {"unknown-registry", "unknown-git", "allow-registry", "allow-git"},
}


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def error(self, section: str, msg: str) -> None:
        self.errors.append(f"error[{section}]: {msg}")

    def warn(self, section: str, msg: str) -> None:
        self.warnings.append(f"warning[{section}]: {msg}")

    def note(self, msg: str) -> None:
        self.notes.append(msg)

    def level(self, severity: str, section: str, msg: str) -> None:
        if severity == "deny":
            self.error(section, msg)
        elif severity == "warn":
            self.warn(section, msg)


# ---------------------------------------------------------------- licences


class SpdxError(ValueError):
    pass


def spdx_tokens(expr: str) -> list[str]:
    tokens = re.findall(r"\(|\)|/|[^\s()/]+", expr)
    return ["OR" if t == "/" else t for t in tokens]


def spdx_parse(expr: str):
    """Parse an SPDX expression into nested tuples: ("or", a, b), ("and", a, b), ("id", "MIT")."""
    tokens = spdx_tokens(expr)
    pos = 0

    def peek():
        return tokens[pos] if pos < len(tokens) else None

    def take():
        nonlocal pos
        if pos >= len(tokens):
            raise SpdxError("expression ends too early")
        pos += 1
        return tokens[pos - 1]

    def or_expr():
        left = and_expr()
        while peek() == "OR":
            take()
            left = ("or", left, and_expr())
        return left

    def and_expr():
        left = with_expr()
        while peek() == "AND":
            take()
            left = ("and", left, with_expr())
        return left

    def with_expr():
        term = primary()
        if peek() == "WITH":
            take()
            exception = take()
            if term[0] != "id" or exception in ("AND", "OR", "WITH", "(", ")"):
                raise SpdxError("`WITH` must join a licence and an exception")
            term = ("id", f"{term[1]} WITH {exception}")
        return term

    def primary():
        t = take()
        if t == "(":
            inner = or_expr()
            if take() != ")":
                raise SpdxError("unclosed `(`")
            return inner
        if t in ("AND", "OR", "WITH", ")"):
            raise SpdxError(f"unexpected `{t}`")
        return ("id", t)

    if not tokens:
        raise SpdxError("empty expression")
    tree = or_expr()
    if pos != len(tokens):
        raise SpdxError(f"unexpected `{tokens[pos]}`")
    return tree


def licence_allowed(term: str, allow: set[str]) -> bool:
    """One licence (maybe `X WITH Y`, maybe `X+`) against the allow list, case-insensitively."""
    allow_lower = {a.lower() for a in allow}
    t = term.lower()
    if t in allow_lower:
        return True
    base, _, exception = t.partition(" with ")
    if base.endswith("+"):
        # `MPL-2.0+` is MPL-2.0 or any later version: accepting MPL-2.0 satisfies it.
        plain = base[:-1] + (f" with {exception}" if exception else "")
        return plain in allow_lower
    return False


def spdx_eval(tree, allow: set[str]) -> bool:
    kind = tree[0]
    if kind == "id":
        return licence_allowed(tree[1], allow)
    if kind == "and":
        return spdx_eval(tree[1], allow) and spdx_eval(tree[2], allow)
    return spdx_eval(tree[1], allow) or spdx_eval(tree[2], allow)


def crate_matches(entry, name: str, version: str) -> bool:
    """A deny.toml crate entry: "name", "name@version", or {name|crate = .., version = ..}."""
    if isinstance(entry, str):
        want, _, ver = entry.partition("@")
        return want == name and (not ver or ver == version)
    want = entry.get("name", entry.get("crate", ""))
    want, _, ver = want.partition("@")
    ver = ver or entry.get("version", "")
    if ver.startswith("="):
        ver = ver[1:]
    return want == name and (not ver or ver == version)


def is_private(pkg: dict) -> bool:
    return pkg.get("publish") == []


def check_licenses(packages: list[dict], deny: dict, report: Report) -> None:
    lic = deny.get("licenses", {})
    allow = set(lic.get("allow", []))
    private_ignore = lic.get("private", {}).get("ignore", False)
    clarify = lic.get("clarify", [])
    exceptions = lic.get("exceptions", [])
    checked = skipped = 0
    for pkg in packages:
        name, version = pkg["name"], pkg["version"]
        who = f"`{name} {version}`"
        if private_ignore and is_private(pkg):
            skipped += 1
            continue
        checked += 1
        expr = pkg.get("license")
        for c in clarify:
            if crate_matches(c, name, version):
                expr = c.get("expression")
                report.note(f"licences: {who} clarified in deny.toml as `{expr}`")
        if not expr:
            if pkg.get("license_file"):
                report.error(
                    "licenses",
                    f"{who} names only a licence file (`{pkg['license_file']}`), not an SPDX expression: "
                    "read it and add a [[licenses.clarify]] entry to deny.toml",
                )
            else:
                report.error("licenses", f"{who} declares no licence")
            continue
        allowed = set(allow)
        for e in exceptions:
            if crate_matches(e, name, version):
                allowed |= set(e.get("allow", []))
        try:
            tree = spdx_parse(expr)
        except SpdxError as err:
            report.error("licenses", f"{who} has a licence expression `{expr}` that does not parse: {err}")
            continue
        if not spdx_eval(tree, allowed):
            report.error("licenses", f"{who} is licensed `{expr}`, which deny.toml [licenses] allow does not accept")
    report.note(f"licences: {checked} packages checked, {skipped} private skipped")


# ----------------------------------------------------------------- sources


def normalise_registry(url: str) -> str:
    url = url.rstrip("/")
    if url in (CRATES_IO, SPARSE_INDEX.rstrip("/"), "sparse+" + SPARSE_INDEX.rstrip("/")):
        return CRATES_IO
    return url


def check_sources(packages: list[dict], deny: dict, report: Report) -> None:
    src = deny.get("sources", {})
    registries = {normalise_registry(r) for r in src.get("allow-registry", [CRATES_IO])}
    gits = {g.rstrip("/") for g in src.get("allow-git", [])}
    for pkg in packages:
        source = pkg.get("source")
        who = f"`{pkg['name']} {pkg['version']}`"
        if source is None:
            continue  # a path package: the workspace itself
        kind, _, url = source.partition("+")
        if kind in ("registry", "sparse"):
            if normalise_registry(url) not in registries:
                report.level(
                    src.get("unknown-registry", "warn"),
                    "sources",
                    f"{who} comes from registry `{url}`, which deny.toml [sources] allow-registry does not list",
                )
        elif kind == "git":
            repo = url.split("?")[0].split("#")[0].rstrip("/")
            if repo not in gits:
                report.level(
                    src.get("unknown-git", "warn"),
                    "sources",
                    f"{who} comes from git `{repo}`, which deny.toml [sources] allow-git does not list",
                )
        else:
            report.error("sources", f"{who} comes from an unknown kind of source `{source}`")
    report.note(f"sources: {sum(1 for p in packages if p.get('source'))} packages from registries or git checked")


# -------------------------------------------------------------------- bans


def check_bans(packages: list[dict], deny: dict, report: Report) -> None:
    bans = deny.get("bans", {})
    wildcards = bans.get("wildcards", "allow")
    allow_paths = bans.get("allow-wildcard-paths", False)
    for pkg in packages:
        for dep in pkg.get("dependencies", []):
            if dep.get("req") != "*":
                continue
            if "path" in dep and allow_paths and is_private(pkg):
                continue
            report.level(
                wildcards,
                "bans",
                f"`{pkg['name']} {pkg['version']}` depends on `{dep['name']}` with a wildcard version (`*`)",
            )
    for entry in bans.get("deny", []):
        for pkg in packages:
            if crate_matches(entry, pkg["name"], pkg["version"]):
                report.error("bans", f"`{pkg['name']} {pkg['version']}` is banned by deny.toml [bans] deny")
    versions: dict[str, list[str]] = {}
    for pkg in packages:
        if any(crate_matches(s, pkg["name"], pkg["version"]) for s in bans.get("skip", [])):
            continue
        versions.setdefault(pkg["name"], []).append(pkg["version"])
    dups = {n: sorted(v, key=version_key) for n, v in sorted(versions.items()) if len(v) > 1}
    for name, vs in dups.items():
        msg = f"`{name}` is present in {len(vs)} versions: " + ", ".join(vs)
        report.level(bans.get("multiple-versions", "warn"), "bans", msg)
    report.note(f"bans: {len(dups)} crates in more than one version")


# ------------------------------------------------------------------ yanked


def index_path(name: str) -> str:
    """The path of a crate's file in a cargo registry index."""
    n = name.lower()
    if len(n) <= 2:
        return f"{len(n)}/{n}"
    if len(n) == 3:
        return f"3/{n[0]}/{n}"
    return f"{n[:2]}/{n[2:4]}/{n}"


USER_AGENT = "recoup-supply-chain (.ci/supply_chain.py)"
_local = threading.local()
_tls = ssl.create_default_context()


def fetch(url: str, timeout: float, redirects: int = 5) -> bytes:
    """GET a file:// or http(s):// URL; one kept-alive connection per thread and host."""
    if url.startswith("file://"):
        path = Path(url[len("file://") :])
        if not path.exists():
            raise FileNotFoundError(404, "not found", str(path))
        return path.read_bytes()
    parts = urllib.parse.urlsplit(url)
    key = (parts.scheme, parts.netloc)
    conns = _local.__dict__.setdefault("conns", {})
    for attempt in (1, 2):
        conn = conns.get(key)
        if conn is None:
            if parts.scheme == "https":
                conn = http.client.HTTPSConnection(parts.netloc, timeout=timeout, context=_tls)
            else:
                conn = http.client.HTTPConnection(parts.netloc, timeout=timeout)
            conns[key] = conn
        try:
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            conn.request("GET", path or "/", headers={"User-Agent": USER_AGENT})
            resp = conn.getresponse()
            body = resp.read()
        except (http.client.HTTPException, OSError):
            conn.close()
            del conns[key]
            if attempt == 2:
                raise
            continue
        if resp.status in (301, 302, 303, 307, 308) and resp.getheader("Location") and redirects > 0:
            return fetch(urllib.parse.urljoin(url, resp.getheader("Location")), timeout, redirects - 1)
        if resp.status != 200:
            raise OSError(f"HTTP {resp.status} for {url}")
        return body
    raise OSError(f"no answer from {url}")


def check_yanked(packages: list[dict], deny: dict, report: Report, index: str, timeout: float = 10) -> None:
    severity = deny.get("advisories", {}).get("yanked", "warn")
    if severity == "allow":
        report.note("yanked: not checked (deny.toml [advisories] yanked = \"allow\")")
        return
    index = index if index.endswith("/") else index + "/"
    crates = [p for p in packages if p.get("source") in CRATES_IO_SOURCES]
    try:
        fetch(index + "config.json", timeout)
    except OSError as err:
        report.warn(
            "yanked",
            f"the crates.io index {index} could not be reached ({err}): yanked versions were NOT checked",
        )
        return

    def look(pkg):
        try:
            body = fetch(index + index_path(pkg["name"]), timeout)
        except OSError as err:
            return pkg, None, err
        for line in body.decode("utf-8").splitlines():
            if line.strip():
                entry = json.loads(line)
                if entry.get("vers") == pkg["version"]:
                    return pkg, bool(entry.get("yanked")), None
        return pkg, None, "version not in the index"

    failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        for pkg, yanked, err in pool.map(look, crates):
            who = f"`{pkg['name']} {pkg['version']}`"
            if err is not None:
                failed += 1
                report.warn("yanked", f"{who} could not be looked up in {index} ({err}): NOT checked")
            elif yanked:
                report.level(severity, "yanked", f"{who} is yanked from crates.io: update Cargo.lock")
    report.note(f"yanked: {len(crates) - failed} of {len(crates)} crates.io packages looked up in {index}")


# -------------------------------------------------------------- advisories


def version_key(v: str):
    core, _, pre = v.split("+")[0].partition("-")
    nums = [int(x) if x.isdigit() else 0 for x in core.split(".")] + [0, 0, 0]
    # A pre-release sorts before its release.
    return (nums[0], nums[1], nums[2], 0 if pre else 1, pre)


def req_matches(req: str, version: str) -> bool:
    """A semver requirement as RustSec writes them (`>= 1.2.3, < 1.3`, `^0.4`, `=1.0.0`, `*`)."""
    v = version_key(version)
    for part in req.split(","):
        part = part.strip()
        if part in ("", "*"):
            continue
        m = re.fullmatch(r"(>=|<=|>|<|=|\^|~)?\s*([0-9][0-9A-Za-z.\-+]*)", part)
        if not m:
            raise ValueError(f"cannot read version requirement `{part}`")
        op, ver = m.group(1) or "^", m.group(2)
        given = len(ver.split("-")[0].split("."))
        w = version_key(ver)
        if op == ">=":
            ok = v >= w
        elif op == ">":
            ok = v > w
        elif op == "<=":
            ok = v <= w
        elif op == "<":
            ok = v < w
        elif op == "=":
            ok = v[:3] == w[:3] if given < 3 else v == w
        elif op == "~":
            upper = (w[0] + 1, 0, 0) if given == 1 else (w[0], w[1] + 1, 0)
            ok = v >= w and v[:3] < upper
        else:  # caret
            if w[0] > 0 or given == 1:
                upper = (w[0] + 1, 0, 0)
            elif w[1] > 0 or given == 2:
                upper = (0, w[1] + 1, 0)
            else:
                upper = (0, 0, w[2] + 1)
            ok = v >= w and v[:3] < upper
        if not ok:
            return False
    return True


def read_advisory(path: Path) -> dict | None:
    text = path.read_text(encoding="utf-8")
    m = re.search(r"```toml\n(.*?)\n```", text, re.S)
    return tomllib.loads(m.group(1)) if m else tomllib.loads(text) if path.suffix == ".toml" else None


def advisory_ignores(deny: dict, report: Report) -> dict[str, str]:
    """`[advisories] ignore`: advisory id -> the reason it was decided (cargo-deny's `{ id, reason }` form)."""
    out = {}
    for entry in deny.get("advisories", {}).get("ignore", []):
        ident, reason = (entry, "") if isinstance(entry, str) else (entry.get("id"), entry.get("reason", ""))
        if not str(reason).strip():
            report.warn("advisories", f"deny.toml ignores {ident} without a reason: write `{{ id = \"{ident}\", reason = \"...\" }}`")
        out[ident] = str(reason).strip()
    return out


def check_advisory_db(packages: list[dict], deny: dict, report: Report, db: Path) -> None:
    ignore = advisory_ignores(deny, report)
    crates_dir = db / "crates"
    seen = 0
    used = set()
    for pkg in packages:
        if pkg.get("source") not in CRATES_IO_SOURCES:
            continue
        folder = crates_dir / pkg["name"]
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            adv = read_advisory(path)
            if adv is None:
                continue
            seen += 1
            a, vs = adv.get("advisory", {}), adv.get("versions", {})
            if a.get("withdrawn"):
                continue
            ranges = vs.get("patched", []) + vs.get("unaffected", [])
            if any(req_matches(r, pkg["version"]) for r in ranges):
                continue
            who = f"`{pkg['name']} {pkg['version']}`"
            what = f"{a.get('id')} ({(a.get('title') or first_heading(path)).strip()})"
            if a.get("id") in ignore:
                used.add(a.get("id"))
                report.note(f"advisories: {who}: {what} decided in deny.toml: {ignore[a.get('id')]}")
            elif a.get("informational"):
                report.error(
                    "advisories",
                    f"{who}: {a['informational']} {what}: decide it in deny.toml "
                    f"(`[advisories] ignore = [{{ id = \"{a.get('id')}\", reason = \"...\" }}]`) or replace the crate",
                )
            else:
                patched = ", ".join(vs.get("patched", [])) or "none"
                report.error("advisories", f"{who} is affected by {what}; patched: {patched}")
    for ident in sorted(set(ignore) - used):
        report.warn("advisories", f"deny.toml ignores {ident}, which no locked crate is affected by: remove it")
    report.note(f"advisories: {seen} advisories for locked crates considered")


def first_heading(path: Path) -> str:
    m = re.search(r"^# (.+)$", path.read_text(encoding="utf-8"), re.M)
    return m.group(1) if m else ""


def snapshot_candidates(root: Path) -> list[Path]:
    """Where a snapshot of the advisory database is looked for: `../shared/advisory-db` beside the
    repository (CI's fresh clone), then beside the main work tree when this is a git worktree."""
    out = [root.resolve().parent / "shared" / "advisory-db"]
    try:
        common = subprocess.run(
            ["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
            cwd=root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, check=True,
        ).stdout.strip()
        out.append(Path(common).parent.parent / "shared" / "advisory-db")
    except (OSError, subprocess.CalledProcessError):
        pass
    return list(dict.fromkeys(out))


def check_snapshot(packages: list[dict], deny: dict, report: Report, candidates: list[Path], why: str) -> None:
    """The advisories from a local snapshot of the RustSec database; missing: loud, not fatal."""
    db = next((c for c in candidates if (c / "crates").is_dir()), None)
    if db is None:
        report.warn(
            "advisories",
            f"{why}, and no snapshot of the RustSec database was found "
            f"(looked in {', '.join(str(c) for c in candidates)}): security advisories were NOT checked",
        )
        return
    stamp = db / "SNAPSHOT"
    what = " ".join(stamp.read_text(encoding="utf-8").split("\n")[1].split()) if stamp.is_file() else "no SNAPSHOT file"
    report.note(f"advisories: {why}; read the snapshot {db} ({what})")
    check_advisory_db(packages, deny, report, db)


def github_reachable(timeout: float = 5) -> bool:
    try:
        with socket.create_connection(("github.com", 443), timeout=timeout):
            return True
    except OSError:
        return False


def check_advisories(packages: list[dict], deny: dict, report: Report, root: Path, snapshots: list[Path]) -> None:
    if not github_reachable():
        check_snapshot(packages, deny, report, snapshots, "github.com is not reachable")
        return
    for tool, cmd in (
        ("cargo-deny", ["cargo", "deny", "--locked", "check", "advisories"]),
        ("cargo-audit", ["cargo", "audit"]),
    ):
        if shutil.which(tool):
            report.note(f"advisories: {' '.join(cmd)}")
            if subprocess.run(cmd, cwd=root).returncode != 0:
                report.error("advisories", f"`{' '.join(cmd)}` found advisories (see above)")
            return
    url = deny.get("advisories", {}).get("db-urls", [RUSTSEC])[0].rstrip("/")
    tarball = f"{url}/archive/refs/heads/main.tar.gz"
    try:
        body = fetch(tarball, 60)
    except OSError as err:
        check_snapshot(packages, deny, report, snapshots, f"{tarball} could not be downloaded ({err})")
        return
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(fileobj=io.BytesIO(body)) as tar:
            if hasattr(tarfile, "data_filter"):  # Python 3.11.4 and later
                tar.extractall(tmp, filter="data")
            else:
                tar.extractall(tmp)
        dbs = [p for p in Path(tmp).iterdir() if (p / "crates").is_dir()]
        if not dbs:
            report.warn("advisories", f"{tarball} holds no crates/ folder: advisories were NOT checked")
            return
        check_advisory_db(packages, deny, report, dbs[0])


# -------------------------------------------------------------------- main


def unsupported_keys(deny: dict) -> list[str]:
    out = []
    for table, value in deny.items():
        if table not in SUPPORTED:
            out.append(f"[{table}]")
            continue
        for key, sub in value.items():
            if key not in SUPPORTED[table]:
                out.append(f"[{table}] {key}")
            elif isinstance(sub, dict) and f"{table}.{key}" in SUPPORTED:
                out += [f"[{table}.{key}] {k}" for k in sub if k not in SUPPORTED[f"{table}.{key}"]]
    return out


def enabled_optional(pkg: dict, features: list[str]) -> set[str]:
    """The optional dependencies (by feature name) that a package's enabled features turn on."""
    on = set()
    for feat in features:
        on.add(feat)  # the implicit feature of an optional dependency without `dep:`
        for value in pkg.get("features", {}).get(feat, []):
            if value.startswith("dep:"):
                on.add(value[4:])
            elif "/" in value and "?/" not in value:
                on.add(value.split("/")[0])
    return on


def graph_packages(metadata: dict) -> list[dict]:
    """The packages of the build graph: from the workspace members along the edges that are on.

    `cargo metadata` lists, in `resolve`, optional dependencies whose feature is off (rust_decimal's
    `rand`); cargo-deny leaves those out, and so does this walk. Every target platform is kept.
    """
    resolve = metadata.get("resolve")
    packages = {p["id"]: p for p in metadata["packages"]}
    if resolve is None:
        return metadata["packages"]
    nodes = {n["id"]: n for n in resolve["nodes"]}
    if not all("deps" in n for n in nodes.values()):
        return [p for p in metadata["packages"] if p["id"] in nodes]
    members = set(metadata.get("workspace_members", []))
    seen, stack = set(members), list(members)
    while stack:
        node = nodes[stack.pop()]
        pkg = packages[node["id"]]
        on = enabled_optional(pkg, node.get("features", []))
        for dep in node["deps"]:
            kinds = {k["kind"] for k in dep["dep_kinds"]}
            if node["id"] not in members:
                kinds.discard("dev")
            # The edge's `name` is the crate name as the code sees it: a rename, else the library's name.
            renames = {d["rename"].replace("-", "_") for d in pkg["dependencies"] if d.get("rename")}
            declared = [
                d
                for d in pkg["dependencies"]
                if d["name"] == packages[dep["pkg"]]["name"]
                and d["kind"] in kinds
                and (d["rename"].replace("-", "_") == dep["name"] if d.get("rename") else dep["name"] not in renames)
            ]
            if not any(not d["optional"] or (d.get("rename") or d["name"]) in on for d in declared):
                continue
            if dep["pkg"] not in seen:
                seen.add(dep["pkg"])
                stack.append(dep["pkg"])
    return [p for p in metadata["packages"] if p["id"] in seen]


def run_checks(
    metadata: dict, deny: dict, report: Report, index: str | None, advisories: bool, root: Path,
    snapshots: list[Path] | None = None,
) -> None:
    for key in unsupported_keys(deny):
        report.warn("deny.toml", f"`{key}` is not read by this checker: NOT checked here (cargo-deny reads it)")
    packages = graph_packages(metadata)
    check_licenses(packages, deny, report)
    check_sources(packages, deny, report)
    check_bans(packages, deny, report)
    if index is None:
        report.warn("yanked", "--offline: yanked versions were NOT checked")
    else:
        check_yanked(packages, deny, report, index)
    snapshots = snapshot_candidates(root) if snapshots is None else snapshots
    if advisories:
        check_advisories(packages, deny, report, root, snapshots)
    else:
        check_snapshot(packages, deny, report, snapshots, "--offline")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--manifest-dir", default=".", help="folder holding Cargo.toml and deny.toml")
    ap.add_argument("--deny", help="deny.toml to read (default: <manifest-dir>/deny.toml)")
    ap.add_argument("--metadata", help="a `cargo metadata --format-version 1` JSON file instead of running cargo")
    ap.add_argument("--index", default=SPARSE_INDEX, help="sparse index base URL (https:// or file://)")
    ap.add_argument("--offline", action="store_true", help="no network: yanked NOT checked, advisories from the snapshot")
    ap.add_argument("--advisory-db", help="a RustSec database snapshot (default: ../shared/advisory-db)")
    ap.add_argument("--self-test", action="store_true", help="run this checker's own tests")
    args = ap.parse_args(argv)
    if args.self_test:
        result = unittest.main(module=__name__, argv=["supply_chain"], exit=False, verbosity=1).result
        return 0 if result.wasSuccessful() else 1
    root = Path(args.manifest_dir)
    start = time.monotonic()
    try:
        deny = tomllib.loads(Path(args.deny or root / "deny.toml").read_text(encoding="utf-8"))
        if args.metadata:
            metadata = json.loads(Path(args.metadata).read_text(encoding="utf-8"))
        else:
            out = subprocess.run(
                ["cargo", "metadata", "--locked", "--format-version", "1"],
                cwd=root,
                check=True,
                stdout=subprocess.PIPE,
            ).stdout
            metadata = json.loads(out)
    except (OSError, subprocess.CalledProcessError, json.JSONDecodeError, tomllib.TOMLDecodeError) as err:
        print(f"supply-chain: error: {err}", file=sys.stderr)
        return 2
    report = Report()
    snapshots = [Path(args.advisory_db)] if args.advisory_db else None
    run_checks(metadata, deny, report, None if args.offline else args.index, not args.offline, root, snapshots)
    for line in report.notes:
        print(f"supply-chain: {line}")
    for line in report.warnings + report.errors:
        print(line, file=sys.stderr)
    verdict = "FAILED" if report.errors else "ok"
    print(
        f"supply-chain: {verdict}: {len(report.errors)} errors, {len(report.warnings)} warnings "
        f"({time.monotonic() - start:.1f} s)"
    )
    return 1 if report.errors else 0


# -------------------------------------------------------------- self-test

POLICY = """
[advisories]
yanked = "deny"
[licenses]
allow = ["Apache-2.0", "Apache-2.0 WITH LLVM-exception", "MIT", "MPL-2.0", "Unicode-3.0"]
[licenses.private]
ignore = true
[bans]
multiple-versions = "warn"
wildcards = "deny"
allow-wildcard-paths = true
[sources]
unknown-registry = "deny"
unknown-git = "deny"
allow-registry = ["https://github.com/rust-lang/crates.io-index"]
"""


def pkg(name, version="1.0.0", license="MIT", source=f"registry+{CRATES_IO}", deps=(), **extra):
    p = {
        "id": f"{name} {version}",
        "name": name,
        "version": version,
        "license": license,
        "license_file": None,
        "source": source,
        "publish": None,
        "dependencies": [{"name": d, "req": r, "kind": None, **({"path": "/x"} if r == "*" else {})} for d, r in deps],
    }
    p.update(extra)
    return p


def metadata(*packages):
    return {"packages": list(packages), "resolve": {"nodes": [{"id": p["id"]} for p in packages]}}


class SelfTest(unittest.TestCase):
    def check(self, *packages, policy=POLICY, index=None, snapshots=()):
        report = Report()
        run_checks(metadata(*packages), tomllib.loads(policy), report, index, False, Path("."), list(snapshots))
        return report

    def errors(self, *packages, **kw):
        return [e for e in self.check(*packages, **kw).errors]

    def test_clean_graph_passes(self):
        project = pkg("app", license=None, source=None, publish=[], deps=[("lib", "*")])
        r = self.check(
            project, pkg("a", license="MIT OR Apache-2.0"), pkg("b", license="(MIT OR Apache-2.0) AND Unicode-3.0")
        )
        self.assertEqual(r.errors, [])

    def test_spdx_expressions(self):
        allow = {"MIT", "Apache-2.0", "Apache-2.0 WITH LLVM-exception", "MPL-2.0", "Unicode-3.0"}
        yes = ["MIT", "MIT OR GPL-3.0", "MIT/Apache-2.0", "Apache-2.0 / MIT", "(MIT OR GPL-3.0) AND Unicode-3.0",
               "Apache-2.0 WITH LLVM-exception OR GPL-3.0", "MPL-2.0+", "mit"]
        no = ["GPL-3.0", "MIT AND GPL-3.0", "(MIT OR Apache-2.0) AND LGPL-2.1-or-later",
              "GPL-2.0 WITH Classpath-exception-2.0", "MIT WITH Classpath-exception-2.0", "GPL-3.0+"]
        for e in yes:
            self.assertTrue(spdx_eval(spdx_parse(e), allow), e)
        for e in no:
            self.assertFalse(spdx_eval(spdx_parse(e), allow), e)
        for bad in ["", "MIT OR", "(MIT", "MIT)", "AND MIT", "MIT WITH", "(MIT OR Apache-2.0) WITH LLVM-exception"]:
            self.assertRaises(SpdxError, spdx_parse, bad)

    def test_gpl_crate_refused(self):
        errs = self.errors(pkg("ok"), pkg("gpl", license="GPL-3.0-only"))
        self.assertEqual(len(errs), 1)
        self.assertIn("`gpl 1.0.0` is licensed `GPL-3.0-only`", errs[0])

    def test_unparsable_licence_refused(self):
        self.assertIn("does not parse", self.errors(pkg("odd", license="MIT OR"))[0])

    def test_licence_file_reported_not_passed(self):
        errs = self.errors(pkg("lf", license=None, license_file="LICENSE.txt"))
        self.assertEqual(len(errs), 1)
        self.assertIn("only a licence file (`LICENSE.txt`)", errs[0])
        self.assertIn("declares no licence", self.errors(pkg("none", license=None))[0])

    def test_clarify_and_exceptions(self):
        policy = POLICY + '[[licenses.clarify]]\nname = "lf"\nexpression = "MIT"\n'
        policy += '[[licenses.exceptions]]\ncrate = "gpl"\nallow = ["GPL-3.0"]\n'
        errs = self.errors(pkg("lf", license=None, license_file="L"), pkg("gpl", license="GPL-3.0"),
                           pkg("other", license="GPL-3.0"), policy=policy)
        self.assertEqual(len(errs), 1)
        self.assertIn("`other 1.0.0`", errs[0])

    def test_private_project_skipped_only_when_ignored(self):
        project = pkg("app", license=None, source=None, publish=[])
        self.assertEqual(self.errors(project), [])
        not_ignored = POLICY.replace("ignore = true", "ignore = false")
        self.assertIn("declares no licence", self.errors(project, policy=not_ignored)[0])
        # A path crate that could be published is not private.
        self.assertIn("declares no licence", self.errors(pkg("pub", license=None, source=None))[0])

    def test_git_and_other_registry_refused(self):
        errs = self.errors(
            pkg("g", source="git+https://github.com/someone/g?branch=main#0123abcd"),
            pkg("r", source="registry+https://my.registry/index"),
            pkg("s", source="sparse+https://index.crates.io/"),
        )
        self.assertEqual(len(errs), 2, errs)
        self.assertIn("`g 1.0.0` comes from git `https://github.com/someone/g`", errs[0])
        self.assertIn("`r 1.0.0` comes from registry `https://my.registry/index`", errs[1])
        policy = POLICY + 'allow-git = ["https://github.com/someone/g"]\n'
        self.assertEqual(self.errors(pkg("g", source="git+https://github.com/someone/g#0123"), policy=policy), [])

    def test_wildcard_refused(self):
        errs = self.errors(pkg("w", deps=[("x", "*"), ("y", "^1.0")]))
        self.assertEqual(len(errs), 1)
        self.assertIn("`w 1.0.0` depends on `x` with a wildcard", errs[0])
        # A private crate's path dependency may be `*`, but not a registry one.
        app = pkg("app", source=None, publish=[], deps=[("lib", "*")])
        app["dependencies"].append({"name": "reg", "req": "*", "kind": None})
        errs = self.errors(app)
        self.assertEqual(len(errs), 1)
        self.assertIn("on `reg`", errs[0])

    def test_duplicates_listed_as_warning_or_denied(self):
        r = self.check(pkg("syn", "1.0.109"), pkg("syn", "2.0.1"), pkg("syn", "2.0.10"))
        self.assertEqual(r.errors, [])
        self.assertIn("`syn` is present in 3 versions: 1.0.109, 2.0.1, 2.0.10", r.warnings[0])
        errs = self.errors(pkg("syn", "1.0.109"), pkg("syn", "2.0.1"), policy=POLICY.replace('"warn"', '"deny"'))
        self.assertEqual(len(errs), 1)

    def test_banned_crate(self):
        errs = self.errors(pkg("openssl"), policy=POLICY.replace("[bans]", '[bans]\ndeny = [{ name = "openssl" }]'))
        self.assertIn("`openssl 1.0.0` is banned", errs[0])

    def test_graph_follows_features_dev_and_renames(self):
        app = pkg("app", source=None, publish=[])
        dec = pkg("dec", features={"default": ["std"], "std": ["opt-b?/std"], "big": ["dep:opt-a"]})
        app["dependencies"] = [{"name": "dec", "req": "^1", "kind": None, "optional": False},
                               {"name": "testonly", "req": "^1", "kind": "dev", "optional": False}]
        dec["dependencies"] = [{"name": "opt-a", "req": "^1", "kind": None, "optional": True},
                               {"name": "opt-b", "req": "^1", "kind": None, "optional": True},
                               {"name": "sys", "req": "^1", "kind": None, "optional": False, "rename": "os_sys"},
                               {"name": "devdep", "req": "^1", "kind": "dev", "optional": False}]
        others = [pkg(n) for n in ("opt-a", "opt-b", "sys", "devdep", "testonly", "unused")]

        def edge(p, name, kind=None):
            return {"name": name, "pkg": p["id"], "dep_kinds": [{"kind": kind, "target": None}]}

        by = {p["name"]: p for p in others}
        meta = {
            "packages": [app, dec, *others],
            "workspace_members": [app["id"]],
            "resolve": {"nodes": [
                {"id": app["id"], "features": [], "deps": [edge(dec, "dec"), edge(by["testonly"], "testonly", "dev")]},
                {"id": dec["id"], "features": ["default", "std"], "deps": [
                    edge(by["opt-a"], "opt_a"), edge(by["opt-b"], "opt_b"), edge(by["sys"], "os_sys"),
                    edge(by["devdep"], "devdep", "dev")]},
                *({"id": p["id"], "features": [], "deps": []} for p in others),
            ]},
        }
        names = sorted(p["name"] for p in graph_packages(meta))
        self.assertEqual(names, ["app", "dec", "sys", "testonly"])
        meta["resolve"]["nodes"][1]["features"].append("big")
        self.assertIn("opt-a", [p["name"] for p in graph_packages(meta)])

    def test_index_path(self):
        self.assertEqual(index_path("a"), "1/a")
        self.assertEqual(index_path("ab"), "2/ab")
        self.assertEqual(index_path("syn"), "3/s/syn")
        self.assertEqual(index_path("Serde_JSON"), "se/rd/serde_json")

    def stub_index(self, tmp: Path, crates: dict[str, list[tuple[str, bool]]]) -> str:
        (tmp / "config.json").write_text('{"dl": "https://static.crates.io/crates"}')
        for name, versions in crates.items():
            path = tmp / index_path(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(json.dumps({"name": name, "vers": v, "yanked": y}) + "\n" for v, y in versions))
        return f"file://{tmp}/"

    def test_yanked_version_refused(self):
        with tempfile.TemporaryDirectory() as tmp:
            crates = {"serde": [("1.0.0", False), ("1.0.1", True)], "syn": [("2.0.0", False)]}
            index = self.stub_index(Path(tmp), crates)
            r = self.check(pkg("serde", "1.0.1"), pkg("syn", "2.0.0"), index=index)
            self.assertEqual(len(r.errors), 1, r.errors)
            self.assertIn("`serde 1.0.1` is yanked", r.errors[0])
            self.assertEqual(self.check(pkg("serde", "1.0.0"), index=index).errors, [])
            # A crate the index does not know is reported, not passed silently.
            r = self.check(pkg("ghost", "0.1.0"), index=index)
            self.assertEqual(r.errors, [])
            self.assertTrue(any("`ghost 0.1.0` could not be looked up" in w for w in r.warnings), r.warnings)

    def test_unreachable_index_is_loud_but_not_fatal(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = self.check(pkg("serde"), index=f"file://{tmp}/missing/")
            self.assertEqual(r.errors, [])
            self.assertTrue(any("yanked versions were NOT checked" in w for w in r.warnings), r.warnings)
        r = self.check(pkg("serde"), index="http://127.0.0.1:9/")
        self.assertTrue(any("yanked versions were NOT checked" in w for w in r.warnings), r.warnings)

    def test_advisories_without_snapshot_say_so_and_pass(self):
        r = self.check(pkg("serde"), snapshots=[Path("/nonexistent/advisory-db")])
        self.assertEqual(r.errors, [])
        self.assertTrue(any("security advisories were NOT checked" in w and "/nonexistent/advisory-db" in w
                            for w in r.warnings), r.warnings)

    def fake_db(self, tmp: str) -> Path:
        db = Path(tmp) / "advisory-db"
        folder = db / "crates" / "time"
        folder.mkdir(parents=True)
        (db / "SNAPSHOT").write_text("RustSec advisory database\ncommit 0123abc, committed 2099-01-01.\n")
        (folder / "RUSTSEC-2020-0071.md").write_text(
            '```toml\n[advisory]\nid = "RUSTSEC-2020-0071"\npackage = "time"\ntitle = "Segfault"\n'
            '[versions]\npatched = [">= 0.2.23"]\nunaffected = ["= 0.2.0", "= 0.2.1", "< 0.2.0"]\n```\n# text\n'
        )
        (folder / "RUSTSEC-2099-0001.md").write_text(
            '```toml\n[advisory]\nid = "RUSTSEC-2099-0001"\npackage = "time"\ninformational = "unmaintained"\n'
            '[versions]\npatched = []\n```\n\n# time is unmaintained\n'
        )
        withdrawn = db / "crates" / "serde"
        withdrawn.mkdir()
        (withdrawn / "RUSTSEC-2099-0002.md").write_text(
            '```toml\n[advisory]\nid = "RUSTSEC-2099-0002"\npackage = "serde"\nwithdrawn = "2099-01-02"\n'
            '[versions]\npatched = []\n```\n'
        )
        return db

    def test_snapshot_fails_on_a_vulnerable_crate_and_names_itself(self):
        with tempfile.TemporaryDirectory() as tmp:
            db = self.fake_db(tmp)
            decided = POLICY.replace(
                'yanked = "deny"', 'yanked = "deny"\nignore = [{ id = "RUSTSEC-2099-0001", reason = "no successor" }]')
            r = self.check(pkg("time", "0.2.22"), pkg("serde"), policy=decided, snapshots=[Path(tmp) / "no", db])
            self.assertEqual(len(r.errors), 1, r.errors)
            self.assertIn("`time 0.2.22` is affected by RUSTSEC-2020-0071 (Segfault); patched: >= 0.2.23", r.errors[0])
            self.assertTrue(any(f"read the snapshot {db} (commit 0123abc, committed 2099-01-01.)" in n
                                for n in r.notes), r.notes)
            self.assertTrue(any("RUSTSEC-2099-0001 (time is unmaintained) decided in deny.toml: no successor" in n
                                for n in r.notes), r.notes)
            # Patched and unaffected versions pass; the exit status follows the errors.
            self.assertEqual(self.check(pkg("time", "0.2.23"), pkg("time", "0.1.40"), policy=decided,
                                        snapshots=[db]).errors, [])
            meta = Path(tmp) / "meta.json"
            meta.write_text(json.dumps(metadata(pkg("time", "0.2.22"))))
            deny = Path(tmp) / "deny.toml"
            deny.write_text(decided)
            argv = ["--metadata", str(meta), "--deny", str(deny), "--offline", "--advisory-db", str(db)]
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
                self.assertEqual(main(argv), 1)
            self.assertIn("RUSTSEC-2020-0071", err.getvalue())

    def test_informational_advisory_must_be_decided_with_a_reason(self):
        with tempfile.TemporaryDirectory() as tmp:
            db = self.fake_db(tmp)
            r = self.check(pkg("time", "0.2.23"), snapshots=[db])
            self.assertEqual(len(r.errors), 1, r.errors)
            self.assertIn("`time 0.2.23`: unmaintained RUSTSEC-2099-0001 (time is unmaintained): decide it", r.errors[0])
            bare = POLICY.replace('yanked = "deny"', 'yanked = "deny"\nignore = ["RUSTSEC-2099-0001", "RUSTSEC-1999-0001"]')
            r = self.check(pkg("time", "0.2.23"), policy=bare, snapshots=[db])
            self.assertEqual(r.errors, [])
            self.assertTrue(any("ignores RUSTSEC-2099-0001 without a reason" in w for w in r.warnings), r.warnings)
            self.assertTrue(any("ignores RUSTSEC-1999-0001, which no locked crate is affected by" in w
                                for w in r.warnings), r.warnings)

    def test_version_requirements(self):
        cases = [(">= 1.2.3, < 1.3", "1.2.9", True), (">= 1.2.3, < 1.3", "1.3.0", False), ("^0.4.2", "0.4.9", True),
                 ("^0.4.2", "0.5.0", False), ("^1.2", "1.9.0", True), ("^0.0.3", "0.0.4", False),
                 ("= 0.2.1", "0.2.1", True), ("~1.2.3", "1.2.9", True), ("~1.2.3", "1.3.0", False),
                 ("< 0.2.0", "0.2.0-alpha", True), (">= 1.0.0", "1.0.0-rc.1", False), ("*", "9.9.9", True)]
        for req, v, want in cases:
            self.assertEqual(req_matches(req, v), want, (req, v))

    def test_unknown_policy_keys_reported(self):
        r = self.check(pkg("a"), policy=POLICY + '[graph]\ntargets = ["x86_64-unknown-linux-gnu"]\n')
        self.assertTrue(any("`[graph] targets` is not read by this checker" in w for w in r.warnings), r.warnings)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
