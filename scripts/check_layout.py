#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks the source layout of ckube; prints one explanation per violation, exits 1 on any.

Rules:

1. No include cycle between the top-level folders of src/ (lib, store, apiserver, client, cmd,
   ...). There is an edge A -> B when a file under src/A/ (at any depth) has a quoted include
   that resolves into src/B/. The public headers in include/<dir>/ (e.g. include/ckube/) form
   one more node, "include/<dir>", so a cycle through them is caught too.
2. No include cycle between the sub-folders of any src/<comp>/ that has sub-folders (today
   src/apiserver/): each src/<comp>/<sub>/ (with everything below it) is a node named
   "<comp>/<sub>", and the files directly in src/<comp>/ form the node "<comp>/".
3. No .c or .h file under src/, tests/, fuzz/, bench/ or include/ is longer than 1000 lines,
   unless it is generated or a data table: such a file says so with the marker
   "ckube:generated-data" in a comment within its first 5 lines, e.g.
       /* ckube:generated-data: the API schemas as a table, one entry a line. */
   Keep logic out of marked files; they are exempt from the size limit only.
4. src/apiserver/ is split into at least 4 sub-folders, and each sub-folder has a non-empty
   README.md saying what the folder owns and which other folders it may include.

Include resolution follows the compiler's search for quoted includes: first the including
file's own folder (so `#include "http_int.h"` or `#include "../storage/x.h"` work), then src/,
then include/. An include whose first path part names a folder of src/ counts as an edge even
if the file does not exist (yet). Includes of anything else (system or third-party headers)
are ignored. Includes are found per line (`#include "..."` at the start of a line), so one
inside a block comment or under `#if 0` still counts.

Usage:
    scripts/check_layout.py [--root DIR]   check the tree at DIR (default: this repository)
    scripts/check_layout.py --self-test    build fake trees in a temporary folder and check
                                           that each rule fires (and stays quiet on a clean
                                           tree), so a passing check means something
    scripts/check_layout.py --with-self-test [--root DIR]   both (what ctest layout/check runs)

Python 3 standard library only.
"""

import argparse
import collections
import io
import os
import re
import sys
import tempfile

MAX_LINES = 1000
DATA_MARKER = "ckube:generated-data"
MARKER_LINES = 5
SIZE_ROOTS = ("src", "tests", "fuzz", "bench", "include")
SUBFOLDERS_REQUIRED = {"apiserver": 4}  # src/<comp> -> minimum sub-folders, each with README.md

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def _skip_dir(name):
    # node_modules: npm packages the test suites install (not ours)
    return name.startswith(".") or name in ("__pycache__", "node_modules")


def _walk_sources(root, top):
    """Yields repo-relative paths of .c/.h files under root/top, sorted."""
    base = os.path.join(root, top)
    out = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if not _skip_dir(d))
        for f in filenames:
            if f.endswith((".c", ".h")):
                out.append(os.path.relpath(os.path.join(dirpath, f), root).replace(os.sep, "/"))
    return sorted(out)


def _read_lines(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read().splitlines()


def _src_components(root):
    src = os.path.join(root, "src")
    if not os.path.isdir(src):
        return []
    return sorted(d for d in os.listdir(src)
                  if os.path.isdir(os.path.join(src, d)) and not _skip_dir(d))


def _resolve(root, includer, target, comps):
    """Repo-relative path a quoted include resolves to, or None if it is not ours."""
    here = os.path.dirname(includer)
    local = os.path.normpath(os.path.join(here, target)).replace(os.sep, "/")
    if not local.startswith("../") and os.path.isfile(os.path.join(root, local)):
        return local
    first = target.split("/", 1)[0]
    if first in comps or os.path.isfile(os.path.join(root, "src", target)):
        return os.path.normpath("src/" + target).replace(os.sep, "/")
    if os.path.isfile(os.path.join(root, "include", target)):
        return os.path.normpath("include/" + target).replace(os.sep, "/")
    return None


def _top_node(path):
    """Top-level node of a repo-relative path: "lib" for src/lib/..., "include/ckube" for
    include/ckube/..., None for anything else."""
    parts = path.split("/")
    if parts[0] == "src" and len(parts) >= 3:
        return parts[1]
    if parts[0] == "include" and len(parts) >= 3:
        return "include/" + parts[1]
    return None


def _sub_node(path):
    """(component, node) for src/<comp>/...: node "<comp>/<sub>" or "<comp>/"."""
    parts = path.split("/")
    if parts[0] != "src" or len(parts) < 3:
        return None, None
    if len(parts) == 3:
        return parts[1], parts[1] + "/"
    return parts[1], parts[1] + "/" + parts[2]


class Problems:
    def __init__(self):
        self.items = []

    def add(self, kind, text):
        self.items.append((kind, text))


def _sccs(graph):
    """Strongly connected components (Tarjan, iterative) with more than one node."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = [0]
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, it = work[-1]
            advanced = False
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    n = stack.pop()
                    on_stack.discard(n)
                    comp.append(n)
                    if n == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def _shortest_cycle(graph, start, allowed):
    """Shortest path start -> ... -> start inside allowed (BFS), as a node list."""
    prev = {start: None}
    queue = collections.deque([start])
    while queue:
        n = queue.popleft()
        for m in sorted(graph.get(n, ())):
            if m not in allowed:
                continue
            if m == start:
                path = [n]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if m not in prev:
                prev[m] = n
                queue.append(m)
    return None


def _report_cycles(problems, kind, what, edges, advice):
    """edges: {(a, b): [(file, line, text), ...]} with a != b."""
    graph = collections.defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
    for comp in _sccs(graph):
        allowed = set(comp)
        cycles, seen = [], set()
        for n in comp:
            cyc = _shortest_cycle(graph, n, allowed)
            if not cyc:
                continue
            body = cyc[:-1]
            i = body.index(min(body))
            canon = tuple(body[i:] + body[:i])
            if canon in seen:
                continue
            seen.add(canon)
            cycles.append(list(canon) + [canon[0]])
        cycles.sort(key=lambda c: (len(c), c))
        for cyc in cycles[:5]:
            lines = ["%s form an include cycle: %s" % (what, " -> ".join(cyc))]
            for a, b in zip(cyc, cyc[1:]):
                sites = sorted(edges[(a, b)])
                f, ln, text = sites[0]
                more = " (and %d more)" % (len(sites) - 1) if len(sites) > 1 else ""
                lines.append("    %s -> %s: %s:%d %s%s" % (a, b, f, ln, text, more))
            if len(comp) > len(cyc) - 1:
                lines.append("    (all of %s depend on each other)" % ", ".join(comp))
            lines.append("  " + advice)
            problems.add(kind, "\n".join(lines))
        if len(cycles) > 5:
            problems.add(kind, "%s: %d more cycles among %s not shown" %
                         (what, len(cycles) - 5, ", ".join(comp)))


def check_includes(root, problems, stats):
    comps = set(_src_components(root))
    top_edges = collections.defaultdict(list)
    sub_edges = collections.defaultdict(lambda: collections.defaultdict(list))
    files = _walk_sources(root, "src") + _walk_sources(root, "include")
    for path in files:
        for ln, line in enumerate(_read_lines(os.path.join(root, path)), 1):
            m = INCLUDE_RE.match(line)
            if not m:
                continue
            target = _resolve(root, path, m.group(1), comps)
            if target is None:
                continue
            stats["includes"] += 1
            site = (path, ln, '#include "%s"' % m.group(1))
            a, b = _top_node(path), _top_node(target)
            if a and b and a != b:
                top_edges[(a, b)].append(site)
            ca, na = _sub_node(path)
            cb, nb = _sub_node(target)
            if ca and ca == cb and na != nb:
                sub_edges[ca][(na, nb)].append(site)
    _report_cycles(
        problems, "include-cycle", "top-level folders of src/", top_edges,
        "The folders must form layers (lib at the bottom, cmd at the top). Break the cycle: "
        "move what both sides need into the lower folder, or turn the upward include into a "
        "callback or vtable that the upper folder registers.")
    for comp in sorted(sub_edges):
        _report_cycles(
            problems, "include-cycle", "sub-folders of src/%s/" % comp, sub_edges[comp],
            "Sub-folders must form layers too: each README.md says which folders it may "
            "include. Move the shared declarations down, or split the header that both use.")


def check_sizes(root, problems, stats):
    for top in SIZE_ROOTS:
        for path in _walk_sources(root, top):
            stats["files"] += 1
            lines = _read_lines(os.path.join(root, path))
            if len(lines) <= MAX_LINES:
                continue
            if any(DATA_MARKER in l for l in lines[:MARKER_LINES]):
                continue
            problems.add(
                "file-too-long",
                "%s has %d lines (limit %d). Split it along a natural seam into files of "
                "about 700 lines (a private *_int.h can share the statics), or, if it is "
                "generated or a data table, put a comment with \"%s\" in its first %d lines."
                % (path, len(lines), MAX_LINES, DATA_MARKER, MARKER_LINES))


def check_subfolders(root, problems):
    for comp, need in sorted(SUBFOLDERS_REQUIRED.items()):
        base = os.path.join(root, "src", comp)
        if not os.path.isdir(base):
            continue
        subs = sorted(d for d in os.listdir(base)
                      if os.path.isdir(os.path.join(base, d)) and not _skip_dir(d))
        flat = sorted(f for f in os.listdir(base) if f.endswith((".c", ".h")))
        if len(subs) < need:
            problems.add(
                "subfolders",
                "src/%s/ has %d sub-folder(s)%s; it must be split into at least %d, each owning "
                "one concern (%d .c/.h files sit directly in src/%s/)."
                % (comp, len(subs), " (%s)" % ", ".join(subs) if subs else "", need,
                   len(flat), comp))
        for d in subs:
            readme = os.path.join(base, d, "README.md")
            ok = os.path.isfile(readme) and any(
                l.strip() for l in _read_lines(readme))
            if not ok:
                problems.add(
                    "readme",
                    "src/%s/%s/ has no README.md (or an empty one): say what this folder owns "
                    "and which other folders it may include." % (comp, d))


def run_checks(root):
    problems = Problems()
    stats = collections.Counter()
    check_includes(root, problems, stats)
    check_sizes(root, problems, stats)
    check_subfolders(root, problems)
    return problems, stats


def report(root, problems, stats, out=sys.stdout):
    for kind, text in problems.items:
        print("[%s] %s\n" % (kind, text), file=out)
    if problems.items:
        counts = collections.Counter(k for k, _ in problems.items)
        print("check_layout: %d problem(s) in %s (%s)" % (
            len(problems.items), root,
            ", ".join("%d %s" % (n, k) for k, n in sorted(counts.items()))), file=out)
        return 1
    print("check_layout: OK (%d source files, %d internal includes) in %s"
          % (stats["files"], stats["includes"], root), file=out)
    return 0


# ------------------------------------------------------------------------------- self-test

def _write(root, path, text):
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w", encoding="utf-8") as f:
        f.write(text)


def _clean_tree(root):
    _write(root, "src/lib/buf.h", "/* buf */\n")
    _write(root, "src/lib/buf.c", '#include "lib/buf.h"\n')
    _write(root, "src/store/store.c", '#include "lib/buf.h"\n#include "store/store.h"\n')
    _write(root, "src/store/store.h", '#include "lib/buf.h"\n')
    _write(root, "include/ckube/client.h", '#include "lib/buf.h"\n')
    _write(root, "src/client/rest.c", '#include "ckube/client.h"\n#include <stdio.h>\n')
    for sub in ("http", "storage", "registry", "endpoints"):
        _write(root, "src/apiserver/%s/README.md" % sub, "Owns %s.\n" % sub)
    _write(root, "src/apiserver/api.h", '#include "store/store.h"\n')
    _write(root, "src/apiserver/http/http.c", '#include "http_int.h"\n#include "apiserver/api.h"\n')
    _write(root, "src/apiserver/http/http_int.h", "\n")
    _write(root, "src/apiserver/storage/cache.c", '#include "../api.h"\n')
    _write(root, "src/apiserver/endpoints/read.c",
           '#include "apiserver/http/http_int.h"\n#include "apiserver/storage/cache.h"\n')
    _write(root, "src/apiserver/storage/cache.h", "\n")
    _write(root, "src/apiserver/registry/schema_data.c",
           "/* SPDX */\n/* ckube:generated-data: a table */\n" + "{0},\n" * (MAX_LINES + 50))
    _write(root, "tests/unit/lib/test_buf.c", "x\n" * MAX_LINES)


def self_test():
    failures = []

    def expect(cond, what):
        if not cond:
            failures.append(what)

    with tempfile.TemporaryDirectory(prefix="check_layout.") as tmp:
        clean = os.path.join(tmp, "clean")
        _clean_tree(clean)
        p, _ = run_checks(clean)
        expect(not p.items, "a clean tree is reported clean (got: %r)" % p.items)

        bad = os.path.join(tmp, "bad")
        _clean_tree(bad)
        # top-level cycle lib -> store -> lib, and a cycle through include/ckube
        _write(bad, "src/lib/buf.c", '#include "lib/buf.h"\n\n#include "store/store.h"\n')
        _write(bad, "src/lib/log.c", '#include "ckube/client.h"\n')
        # sub-folder cycle http -> endpoints -> http, and apiserver/ -> storage -> apiserver/
        _write(bad, "src/apiserver/http/http.c", '#include "apiserver/endpoints/read.h"\n')
        _write(bad, "src/apiserver/endpoints/read.h", '#include "../http/http_int.h"\n')
        _write(bad, "src/apiserver/api.h", '#include "apiserver/storage/cache.h"\n')
        # oversize file, marker too late, and an empty README
        _write(bad, "src/store/big.c", "int x;\n" * (MAX_LINES + 1))
        _write(bad, "fuzz/late_marker.c", "\n" * MARKER_LINES + "/* %s */\n" % DATA_MARKER
               + "x\n" * MAX_LINES)
        _write(bad, "src/apiserver/registry/README.md", "\n")
        p, _ = run_checks(bad)
        texts = "\n".join(t for _, t in p.items)
        kinds = collections.Counter(k for k, _ in p.items)
        expect("lib -> store -> lib" in texts, "top-level cycle lib -> store -> lib reported")
        expect("lib -> store: src/lib/buf.c:3" in texts, "edge example file:line given")
        expect("include/ckube -> lib -> include/ckube" in texts, "cycle via include/ reported")
        expect("apiserver/endpoints -> apiserver/http -> apiserver/endpoints" in texts,
               "sub-folder cycle http <-> endpoints reported (relative include resolved)")
        expect("apiserver/ -> apiserver/storage -> apiserver/" in texts,
               "cycle through the files directly in src/apiserver/ reported")
        expect("src/store/big.c has %d lines" % (MAX_LINES + 1) in texts, "oversize file reported")
        expect("fuzz/late_marker.c" in texts, "marker after line %d ignored" % MARKER_LINES)
        expect("schema_data.c" not in texts, "a marked data file is exempt")
        expect("test_buf.c" not in texts, "exactly %d lines is allowed" % MAX_LINES)
        expect("src/apiserver/registry/ has no README.md" in texts, "empty README reported")
        expect(kinds["include-cycle"] == 4, "4 cycles reported (got %d)" % kinds["include-cycle"])
        expect(report(bad, p, collections.Counter(), out=io.StringIO()) == 1, "exit status 1")

        flat = os.path.join(tmp, "flat")
        _write(flat, "src/apiserver/api.h", "\n")
        _write(flat, "src/apiserver/http/http.c", "\n")
        p, _ = run_checks(flat)
        texts = "\n".join(t for _, t in p.items)
        expect("src/apiserver/ has 1 sub-folder(s) (http)" in texts, "too few sub-folders reported")
        expect("src/apiserver/http/ has no README.md" in texts, "missing README reported")

    for f in failures:
        print("check_layout self-test FAILED: %s" % f)
    if not failures:
        print("check_layout self-test: OK (fake trees with cycles, an oversize file and missing "
              "READMEs are flagged; a clean tree passes)")
    return 1 if failures else 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    help="repository to check (default: the one holding this script)")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--self-test", action="store_true", help="only run the self-test")
    mode.add_argument("--with-self-test", action="store_true",
                      help="run the self-test, then check --root")
    args = ap.parse_args(argv)
    rc = 0
    if args.self_test or args.with_self_test:
        rc = self_test()
        if args.self_test:
            return rc
        print()
    problems, stats = run_checks(os.path.abspath(args.root))
    return report(os.path.abspath(args.root), problems, stats) or rc


if __name__ == "__main__":
    sys.exit(main())
