#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Generates src/apiserver/encoding/proto_schema*.c, the protobuf schema table of the API
server's built-in kinds, from upstream's sources:

  * generated.proto of each package (k8s.io/api/<group>/<version>, apimachinery meta/v1,
    runtime, api/resource, util/intstr): message names, field names, numbers and types;
  * the package's Go types (*.go): which fields are Go pointers (their zero value is still
    marshalled) and which members are inlined into their parent's JSON;
  * register.go: the API group of the package.

Usage (read from git checkouts or mirrors of kubernetes/api and kubernetes/apimachinery):

  scripts/gen_proto_schema.py --api DIR --apimachinery DIR [--out src/apiserver/encoding]

DIR is a work tree or a bare git directory (read at --api-ref / --apimachinery-ref, by
default the release of the Kubernetes version ckube serves). To support another group version,
add it to PACKAGES and rerun; nothing else is hand-written per kind.

Output line format (read by proto.c): a line "@<package>" starts a package (its API
version, e.g. "apps/v1"; apimachinery packages "meta.k8s.io/v1", "runtime", "resource",
"intstr"); every other line is "Name field=num:type ...". type is a scalar (string int32
int64 bool bytes double float), a well-known type (Time MicroTime Quantity IntOrString
Duration RawExtension FieldsV1 StrList), a message of the same package, "<package>.Name" for
a message of another package, "[]T" (repeated) or "map<K,V>". A '*' after the field name
marks a Go pointer field, '^' a member inlined into its parent's JSON."""

import argparse
import os
import re
import subprocess
import sys

# (source, directory, package alias or None to read the group from register.go)
PACKAGES = [
    ("apimachinery", "pkg/apis/meta/v1", "meta.k8s.io/v1"),
    ("apimachinery", "pkg/runtime", "runtime"),
    ("apimachinery", "pkg/api/resource", "resource"),
    ("apimachinery", "pkg/util/intstr", "intstr"),
    ("api", "core/v1", None),
    ("api", "apps/v1", None),
    ("api", "batch/v1", None),
    ("api", "autoscaling/v1", None),
    ("api", "autoscaling/v2", None),
    ("api", "policy/v1", None),
    ("api", "coordination/v1", None),
    ("api", "discovery/v1", None),
    ("api", "events/v1", None),
    ("api", "networking/v1", None),
    ("api", "rbac/v1", None),
    ("api", "storage/v1", None),
    ("api", "scheduling/v1", None),
    ("api", "node/v1", None),
    ("api", "certificates/v1", None),
    ("api", "admissionregistration/v1", None),
    ("api", "flowcontrol/v1", None),
    ("api", "flowcontrol/v1beta3", None),
    ("api", "authentication/v1", None),
    ("api", "authentication/v1beta1", None),
    ("api", "authorization/v1", None),
]

# Messages with a JSON form of their own (proto.c knows them by these names).
WELL_KNOWN = {
    "k8s.io.apimachinery.pkg.apis.meta.v1.Time": "Time",
    "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime": "MicroTime",
    "k8s.io.apimachinery.pkg.apis.meta.v1.Duration": "Duration",
    "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1": "FieldsV1",
    "k8s.io.apimachinery.pkg.api.resource.Quantity": "Quantity",
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": "IntOrString",
    "k8s.io.apimachinery.pkg.runtime.RawExtension": "RawExtension",
}
SCALAR_MAP = {"string": "string", "int32": "int32", "int64": "int64", "bool": "bool",
              "bytes": "bytes", "double": "double", "float": "float", "uint32": "int32",
              "uint64": "int64"}
MAX_LINES = 900  # per generated file (the layout check allows 1,000)


class Source:
    def __init__(self, path, ref):
        self.path, self.ref = path, ref
        self.bare = not os.path.isdir(os.path.join(path, ".git")) and \
            os.path.isfile(os.path.join(path, "HEAD"))

    def commit(self):
        gd = self.path if self.bare else os.path.join(self.path, ".git")
        if not os.path.exists(gd):
            return "unknown"
        return subprocess.run(["git", "--git-dir", gd, "rev-parse", self.ref + "^{commit}"], check=True,
                              capture_output=True, text=True).stdout.strip()

    def list(self, d):
        if self.bare:
            out = subprocess.run(["git", "--git-dir", self.path, "ls-tree", "--name-only",
                                  self.ref, d + "/"], check=True, capture_output=True,
                                 text=True).stdout.split()
            return [os.path.basename(p) for p in out]
        return sorted(os.listdir(os.path.join(self.path, d)))

    def read(self, p):
        if self.bare:
            return subprocess.run(["git", "--git-dir", self.path, "show", self.ref + ":" + p],
                                  check=True, capture_output=True, text=True).stdout
        with open(os.path.join(self.path, p)) as f:
            return f.read()


def parse_proto(text):
    """{message: (comment, [(label, type, name, num)])}, package."""
    pkg = re.search(r"^package ([\w.]+);", text, re.M).group(1)
    msgs = {}
    comment = []
    cur = None
    for line in text.splitlines():
        s = line.strip()
        if cur is None:
            if s.startswith("//"):
                comment.append(s)
                continue
            m = re.match(r"message (\w+) \{", s)
            if m:
                cur = m.group(1)
                msgs[cur] = ("\n".join(comment), [])
            comment = []
            continue
        if s == "}":
            cur = None
            continue
        m = re.match(r"(optional|repeated) ([\w.]+) (\w+) = (\d+);", s)
        if m:
            msgs[cur][1].append((m.group(1), m.group(2), m.group(3), int(m.group(4))))
            continue
        m = re.match(r"map<([\w.]+), ([\w.]+)> (\w+) = (\d+);", s)
        if m:
            msgs[cur][1].append(("map", (m.group(1), m.group(2)), m.group(3), int(m.group(4))))
            continue
        if s and not s.startswith("//"):
            sys.exit("gen_proto_schema: cannot parse %r in message %s" % (s, cur))
    return pkg, msgs


def parse_go(texts):
    """{struct: {field number: (pointer, inline, json name)}}."""
    out = {}
    for text in texts:
        for m in re.finditer(r"^type (\w+) struct \{\n(.*?)^\}", text, re.M | re.S):
            fields = {}
            for line in m.group(2).splitlines():
                lm = re.match(r"\s*(?:(\w+)\s+)?(\S+)\s+`([^`]*)`", line)
                if not lm:
                    continue
                tag = lm.group(3)
                pm = re.search(r'protobuf:"[a-z0-9]+,(\d+),', tag)
                if not pm:
                    continue
                jm = re.search(r'json:"([^",]*)', tag)
                jname = jm.group(1) if jm else None
                embedded = lm.group(1) is None
                fields[int(pm.group(1))] = (lm.group(2).startswith("*"),
                                            embedded and not jname, jname)
            out[m.group(1)] = fields
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--api", required=True)
    ap.add_argument("--apimachinery", required=True)
    ap.add_argument("--api-ref", default="v0.33.13",
                    help="tag or commit to read from a bare git directory")
    ap.add_argument("--apimachinery-ref", default="v0.33.13")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "src",
                                                  "apiserver", "encoding"))
    a = ap.parse_args()
    srcs = {"api": Source(a.api, a.api_ref),
            "apimachinery": Source(a.apimachinery, a.apimachinery_ref)}

    loaded = []  # (alias, proto package, messages, go structs)
    aliases = {}  # proto package -> alias
    for src, d, alias in PACKAGES:
        s = srcs[src]
        pkg, msgs = parse_proto(s.read(d + "/generated.proto"))
        gofiles = [f for f in s.list(d) if f.endswith(".go") and not f.endswith("_test.go")
                   and not f.startswith("zz_") and f != "generated.pb.go"]
        go = parse_go([s.read(d + "/" + f) for f in gofiles])
        if alias is None:
            reg = s.read(d + "/register.go")
            group = re.search(r'const GroupName = "([^"]*)"', reg).group(1)
            version = os.path.basename(d)
            alias = group + "/" + version if group else version
        aliases[pkg] = alias
        loaded.append((alias, pkg, msgs, go))

    # messages wrapping a repeated string that JSON shows as the bare array (ExtraValue)
    strlists = set()
    for alias, pkg, msgs, go in loaded:
        for name, (comment, fields) in msgs.items():
            if "+protobuf.nullable=true" in comment and len(fields) == 1 and \
                    fields[0][:3] == ("repeated", "string", "items"):
                strlists.add(pkg + "." + name)

    def type_ref(t, pkg):
        if t in SCALAR_MAP:
            return SCALAR_MAP[t]
        full = t.lstrip(".")
        if "." not in full:
            full = pkg + "." + full
        if full in WELL_KNOWN:
            return WELL_KNOWN[full]
        if full in strlists:
            return "StrList"
        tpkg, name = full.rsplit(".", 1)
        if tpkg == pkg:
            return name
        if tpkg not in aliases:  # a package not served here: the field stays unknown
            print("gen_proto_schema: %s: package %s not in PACKAGES" % (t, tpkg),
                  file=sys.stderr)
            return "?" + full
        return aliases[tpkg] + "." + name

    files = []  # (file stem, lines)
    for alias, pkg, msgs, go in loaded:
        lines = ['"@%s",' % alias]
        for name in sorted(msgs):
            comment, fields = msgs[name]
            gofields = go.get(name, {})
            toks = [name]
            for label, t, fname, num in sorted(fields, key=lambda f: f[3]):
                ptr, inline, jname = gofields.get(num, (False, False, None))
                jn = jname if jname and jname != "-" else fname
                mark = ("*" if ptr else "") + ("^" if inline else "")
                if label == "map":
                    ty = "map<%s,%s>" % (type_ref(t[0], pkg), type_ref(t[1], pkg))
                elif label == "repeated":
                    ty = "[]" + type_ref(t, pkg)
                else:
                    ty = type_ref(t, pkg)
                toks.append("%s%s=%d:%s" % (jn, mark, num, ty))
            # one C string per message, wrapped at ~96 columns
            pieces, cur = [], ""
            for tok in toks:
                if cur and len(cur) + len(tok) + 1 > 90:
                    pieces.append(cur + " ")
                    cur = tok
                else:
                    cur = tok if not cur else cur + " " + tok
            pieces.append(cur)
            for i, p in enumerate(pieces):
                lines.append('"%s"%s' % (p, "," if i == len(pieces) - 1 else ""))
        stem = re.sub(r"[^a-z0-9]+", "_", alias.replace(".k8s.io", "").replace(
            ".authorization", "").replace(".apiserver", "").lower())
        # split big packages so that no file passes MAX_LINES
        chunk, part = [], 0
        for ln in lines:
            chunk.append(ln)
            if len(chunk) >= MAX_LINES - 40 and ln.endswith(","):
                files.append((stem + ("_%d" % part if part else ""), chunk))
                part += 1
                chunk = ['"@%s",' % alias]
        files.append((stem + ("_%d" % part if part else ""), chunk))

    header = ("/* SPDX-License-Identifier: Apache-2.0 */\n"
              "/* GENERATED by scripts/gen_proto_schema.py from k8s.io/api %s (%s) and\n"
              " * k8s.io/apimachinery %s (%s): do not edit. Format: see the script. */\n"
              % (a.api_ref, srcs["api"].commit()[:12], a.apimachinery_ref,
                 srcs["apimachinery"].commit()[:12]))
    for stem, lines in files:
        with open(os.path.join(a.out, "proto_schema_%s.c" % stem), "w") as f:
            f.write(header + "#include \"apiserver/encoding/proto_schema.h\"\n\n"
                    "#include \"lib/banned.h\"\n\n")
            f.write("const char *const proto_schema_%s[] = {\n" % stem)
            for ln in lines:
                f.write("    " + ln + "\n")
            f.write("    NULL,\n};\n")
    with open(os.path.join(a.out, "proto_schema.c"), "w") as f:
        f.write(header + "#include \"apiserver/encoding/proto_schema.h\"\n\n"
                    "#include \"lib/banned.h\"\n\n")
        for stem, _ in files:
            f.write("extern const char *const proto_schema_%s[];\n" % stem)
        f.write("\nconst char *const *const proto_schema_tables[] = {\n")
        for stem, _ in files:
            f.write("    proto_schema_%s,\n" % stem)
        f.write("    NULL,\n};\n")
    print("wrote %d files" % (len(files) + 1))


if __name__ == "__main__":
    main()
