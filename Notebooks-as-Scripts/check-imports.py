#!/usr/bin/env python3
"""Declared dependencies are the real ones: every target imports exactly what it declares.

For each Swift target of the package (as `swift package dump-package` describes it) this reads
the modules its sources import (`import X`, `@testable import X`, `@preconcurrency import X`, ...)
and compares them with the target's declared dependencies:

  - an imported module that is not declared compiles today only because another dependency drags
    it in, and breaks the day that one stops doing so;
  - a declared module that is never imported is a false edge in the graph Docs/ARCHITECTURE.md
    draws, and costs build time.

A product dependency provides the module of the same name (true of every product this package
uses: ArgumentParser, GRDB, GRDBSQLite). Toolchain modules are not dependencies and are ignored.
C targets are skipped (they `#include`, they do not `import`).

It also checks Docs/ARCHITECTURE.md against the manifest: the table between `<!-- deps:begin -->`
and `<!-- deps:end -->` must list each library target and command-line tool with exactly its
declared dependencies, and the graph between `<!-- graph:begin -->` and `<!-- graph:end -->`
(`A ──► B, C` lines) must be the transitive reduction of those dependencies.

    python3 Notebooks-as-Scripts/check-imports.py            # from the repository root
    python3 Notebooks-as-Scripts/check-imports.py --dump F   # use a saved dump-package JSON

Exits 1 and names each mismatch, else prints one line per target and exits 0.
"""
import argparse
import json
import os
import re
import subprocess
import sys

# Modules that come with the toolchain or the OS, never from a package dependency.
SYSTEM_MODULES = {
    "Foundation", "FoundationEssentials", "FoundationInternationalization", "FoundationNetworking",
    "FoundationXML", "Glibc", "Musl", "Darwin", "WinSDK", "Android", "Dispatch", "Synchronization",
    "Observation", "os", "Testing", "XCTest", "Swift", "_Concurrency", "_StringProcessing",
    "RegexBuilder", "Distributed", "CoreFoundation", "SwiftShims", "libkern",
}

IMPORT = re.compile(
    r"^\s*(?:@\w+(?:\([^)]*\))?\s+|(?:public|package|internal|private|fileprivate)\s+)*"
    r"import\s+(?:(?:typealias|struct|class|enum|protocol|let|var|func)\s+)?([A-Za-z_][A-Za-z0-9_]*)"
)


def dump_package(path):
    out = subprocess.run(["swift", "package", "dump-package"], cwd=path, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def dependency_name(dep):
    """A target dependency of the dump's JSON -> the module it provides."""
    for kind in ("byName", "target", "product"):
        if kind in dep:
            return dep[kind][0]
    raise ValueError(f"unexpected dependency form: {dep}")


def target_path(root, target):
    if target.get("path"):
        return os.path.join(root, target["path"])
    base = "Tests" if target["type"] == "test" else "Sources"
    return os.path.join(root, base, target["name"])


def imports_of(folder, excluded):
    """Imported module -> the first file importing it; None when the folder holds no Swift."""
    found, swift = {}, False
    for dirpath, dirnames, filenames in os.walk(folder):
        rel = os.path.relpath(dirpath, folder)
        dirnames[:] = [d for d in dirnames if os.path.normpath(os.path.join(rel, d)) not in excluded]
        for f in filenames:
            if not f.endswith(".swift"):
                continue
            swift = True
            path = os.path.join(dirpath, f)
            in_string = False  # inside a multi-line string literal (embedded Python says `import sys`)
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    if not in_string:
                        m = IMPORT.match(line)
                        if m:
                            found.setdefault(m.group(1), path)
                    if line.count('"""') % 2 == 1:
                        in_string = not in_string
    return found if swift else None


def block(text, name):
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if begin not in text or end not in text:
        return None
    return text[text.index(begin) + len(begin):text.index(end)]


def split_names(text):
    return {n.strip().strip("`") for n in text.split(",") if n.strip() and n.strip() not in ("—", "-")}


def transitive_reduction(graph):
    """Edges a -> b such that no other path a -> ... -> b exists."""
    def reachable(start, skip_edge):
        seen, stack = set(), [start]
        while stack:
            n = stack.pop()
            for m in graph.get(n, ()):
                if (n, m) == skip_edge or m in seen:
                    continue
                seen.add(m)
                stack.append(m)
        return seen
    return {a: {b for b in bs if b not in reachable(a, (a, b))} for a, bs in graph.items()}


def check_docs(path, package, root):
    """Mismatches between the architecture document and the manifest's dependencies."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    doc = os.path.relpath(path, root)
    declared = {}
    for t in package["targets"]:
        where = t.get("path") or ""
        if t["type"] in ("test", "system", "plugin", "macro", "binary") or where.startswith(("Sources/Benchmarks", "Notebooks-as-Scripts", "Tests")):
            continue
        declared[t["name"]] = {dependency_name(d) for d in t.get("dependencies", [])}
    problems = []
    table = block(text, "deps")
    if table is None:
        return [f"{doc}: no <!-- deps:begin --> ... <!-- deps:end --> table"]
    listed = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or cells[0] in ("module", "---") or not cells[0]:
            continue
        listed[cells[0].strip("`")] = split_names(cells[1])
    for name in sorted(declared.keys() | listed.keys()):
        if name not in listed:
            problems.append(f"{doc}: the dependency table lacks {name}")
        elif name not in declared:
            problems.append(f"{doc}: the dependency table lists {name}, which Package.swift does not declare")
        elif listed[name] != declared[name]:
            problems.append(f"{doc}: {name} imports {', '.join(sorted(declared[name]))} in Package.swift, "
                            f"not {', '.join(sorted(listed[name]))} as the table says")
    graph = block(text, "graph")
    if graph is None:
        return problems + [f"{doc}: no <!-- graph:begin --> ... <!-- graph:end --> graph"]
    drawn = {}
    for line in graph.splitlines():
        if "──►" not in line:
            continue
        left, right = line.split("──►", 1)
        for a in split_names(left):
            drawn.setdefault(a, set()).update(split_names(right))
    expected = {a: bs for a, bs in transitive_reduction(declared).items() if bs}
    for name in sorted(expected.keys() | drawn.keys()):
        want, got = expected.get(name, set()), drawn.get(name, set())
        if want != got:
            problems.append(f"{doc}: the graph draws {name} ──► {', '.join(sorted(got)) or '(nothing)'}; "
                            f"Package.swift makes it {', '.join(sorted(want)) or '(nothing)'}")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--package-path", default=".")
    ap.add_argument("--dump", help="read dump-package JSON from this file instead of running swift")
    ap.add_argument("--docs", default="Docs/ARCHITECTURE.md", help="architecture document to check (relative to the package)")
    args = ap.parse_args()
    root = os.path.abspath(args.package_path)
    if args.dump:
        with open(args.dump) as fh:
            package = json.load(fh)
    else:
        package = dump_package(root)

    problems = []
    checked = 0
    for t in package["targets"]:
        if t["type"] in ("system", "binary", "plugin", "macro"):
            continue
        folder = target_path(root, t)
        excluded = {os.path.normpath(e) for e in t.get("exclude", [])}
        imported = imports_of(folder, excluded)
        if imported is None:
            # A C target (no Swift sources): nothing to compare.
            continue
        declared = {dependency_name(d) for d in t.get("dependencies", [])}
        modules = {m for m in imported if m not in SYSTEM_MODULES}
        for m in sorted(modules - declared):
            problems.append(f"{t['name']}: imports {m} ({os.path.relpath(imported[m], root)}) but does not declare it")
        for m in sorted(declared - modules):
            problems.append(f"{t['name']}: declares {m} but never imports it")
        checked += 1
        if not (modules ^ declared):
            print(f"ok  {t['name']}: {', '.join(sorted(modules)) or '(none)'}")

    doc_problems = check_docs(os.path.join(root, args.docs), package, root)
    if not doc_problems:
        print(f"ok  {args.docs}: dependency table and graph match Package.swift")
    problems += doc_problems
    sys.stdout.flush()
    for p in problems:
        print(f"MISMATCH  {p}", file=sys.stderr)
    if problems:
        print(f"check-imports: {len(problems)} mismatch(es) in {checked} targets", file=sys.stderr)
        return 1
    print(f"check-imports: {checked} Swift targets, every import declared and every declared dependency imported")
    return 0


if __name__ == "__main__":
    sys.exit(main())
