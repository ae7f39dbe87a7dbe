#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Server-side apply driven by the real kubectl (1.27 and 1.33) against a fresh `ckube server`:
two field managers on different containers of one Deployment, removal of a field a manager
stops applying (kept while another manager owns it), a real conflict and --force-conflicts,
`kubectl apply` (client-side) followed by `kubectl apply --server-side` without conflicts
(upstream's last-applied upgrade), and managedFields as `get --show-managed-fields` prints them.

usage: apply_e2e.py CKUBE_BIN [--kubectl PATH ...]"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from ckubetest import Ctx, Fail, Server, expect, expect_in, kubectl_path  # noqa: E402


def deploy(name, ns, containers, labels=None):
    """A Deployment apply configuration holding only the given containers."""
    c = "".join("      - name: %s\n        image: %s\n" % (n, img) + "".join(
        "        env:\n" + "".join("        - name: %s\n          value: %s\n" % kv for kv in env.items())
        for _ in [0] if env) for n, img, env in containers)
    lab = "".join("    %s: %s\n" % kv for kv in (labels or {}).items())
    return ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\n  namespace: %s\n%s"
            "spec:\n  selector:\n    matchLabels:\n      app: %s\n  template:\n    metadata:\n"
            "      labels:\n        app: %s\n    spec:\n      containers:\n%s"
            % (name, ns, ("  labels:\n" + lab) if lab else "", name, name, c))


def cm(name, ns, data):
    return ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\ndata:\n" % (name, ns)
            + "".join("  %s: %s\n" % (k, json.dumps(v)) for k, v in data.items()))


def managed(c, obj):
    o = json.loads(c.out("get", obj, "-o", "json", "--show-managed-fields"))
    return o, {(e["manager"], e["operation"]): e for e in o["metadata"].get("managedFields", [])}


def case_two_managers(c):
    fa = c.file(deploy("two", c.ns, [("a", "nginx:1", {"E": "x"})]))
    expect_in("deployment.apps/two serverside-applied",
              c.out("apply", "--server-side", "--field-manager=a", "-f", fa))
    fb = c.file(deploy("two", c.ns, [("b", "busybox:1", {})]))
    expect_in("deployment.apps/two serverside-applied",
              c.out("apply", "--server-side", "--field-manager=b", "-f", fb))
    o, m = managed(c, "deploy/two")
    names = [x["name"] for x in o["spec"]["template"]["spec"]["containers"]]
    expect(names == ["a", "b"], "containers: %s" % names)
    ka = m[("a", "Apply")]["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    kb = m[("b", "Apply")]["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    expect(list(ka) == ['k:{"name":"a"}'] and list(kb) == ['k:{"name":"b"}'], "owners: %s %s" % (ka, kb))
    expect(ka['k:{"name":"a"}'] == {".": {}, "f:env": {'k:{"name":"E"}': {".": {}, "f:name": {}, "f:value": {}}},
                                   "f:image": {}, "f:name": {}}, "a's container: %s" % ka)
    # a stops applying env: removed; b's container untouched
    fa2 = c.file(deploy("two", c.ns, [("a", "nginx:1", {})]))
    c.out("apply", "--server-side", "--field-manager=a", "-f", fa2)
    o, m = managed(c, "deploy/two")
    cs = {x["name"]: x for x in o["spec"]["template"]["spec"]["containers"]}
    expect("env" not in cs["a"], "env kept: %s" % cs["a"])
    expect(cs["b"]["image"] == "busybox:1", "b changed: %s" % cs["b"])
    # a stops applying container a: gone (nobody else owns it); b's stays
    fa3 = c.file(deploy("two", c.ns, [("b", "busybox:1", {})]))
    c.out("apply", "--server-side", "--field-manager=a", "-f", fa3)
    names = [x["name"] for x in json.loads(c.out("get", "deploy/two", "-o", "json"))["spec"]["template"]["spec"]["containers"]]
    expect(names == ["b"], "containers after a dropped its own: %s" % names)


def case_removal_and_coownership(c):
    c.out("apply", "--server-side", "--field-manager=a", "-f", c.file(cm("rm", c.ns, {"x": "1", "y": "2", "z": "3"})))
    c.out("apply", "--server-side", "--field-manager=b", "-f", c.file(cm("rm", c.ns, {"z": "3"})))
    c.out("apply", "--server-side", "--field-manager=a", "-f", c.file(cm("rm", c.ns, {"x": "1"})))
    data = json.loads(c.out("get", "cm/rm", "-o", "json"))["data"]
    expect(data == {"x": "1", "z": "3"}, "y removed, z kept (b owns it): %s" % data)
    _, m = managed(c, "cm/rm")
    expect(m[("a", "Apply")]["fieldsV1"] == {"f:data": {"f:x": {}}}, "a: %s" % m[("a", "Apply")])
    expect(m[("b", "Apply")]["fieldsV1"] == {"f:data": {"f:z": {}}}, "b: %s" % m[("b", "Apply")])


def case_conflict_and_force(c):
    c.out("apply", "--server-side", "--field-manager=a", "-f", c.file(cm("cf", c.ns, {"x": "1"})))
    f = c.file(cm("cf", c.ns, {"x": "2"}))
    p = c.k("apply", "--server-side", "--field-manager=b", "-f", f, ok=False)
    expect_in('Apply failed with 1 conflict: conflict with "a": .data.x', p.stderr, "stderr")
    expect_in("--force-conflicts", p.stderr, "stderr")
    expect_in("configmap/cf serverside-applied",
              c.out("apply", "--server-side", "--field-manager=b", "--force-conflicts", "-f", f))
    _, m = managed(c, "cm/cf")
    expect(("a", "Apply") not in m, "a lost its only field: %s" % list(m))
    expect(m[("b", "Apply")]["fieldsV1"] == {"f:data": {"f:x": {}}}, "b: %s" % m[("b", "Apply")])
    # an Update (kubectl patch) takes the field; re-applying b's old value conflicts with it
    c.out("patch", "cm/cf", "--type=merge", "-p", '{"data":{"x":"3"}}')
    p = c.k("apply", "--server-side", "--field-manager=b", "-f", f, ok=False)
    expect_in('conflict with "kubectl-patch" using v1: .data.x', p.stderr, "stderr")


def case_client_side_upgrade(c):
    expect_in("configmap/up created", c.out("apply", "-f", c.file(cm("up", c.ns, {"a": "1", "b": "2"}))))
    _, m = managed(c, "cm/up")
    expect(("kubectl-client-side-apply", "Update") in m, "CSA manager: %s" % list(m))
    # server-side with a changed value: no conflict (the annotation explains the CSA fields)
    out = c.out("apply", "--server-side", "-f", c.file(cm("up", c.ns, {"a": "5"})))
    expect_in("configmap/up serverside-applied", out)
    o, m = managed(c, "cm/up")
    expect(o["data"] == {"a": "5"}, "data after the upgrade: %s" % o["data"])
    expect(("kubectl-client-side-apply", "Update") not in m, "CSA fields migrated: %s" % list(m))
    expect(m[("kubectl", "Apply")]["fieldsV1"] == {"f:data": {"f:a": {}}}, "kubectl: %s" % m[("kubectl", "Apply")])
    la = json.loads(o["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
    expect(la["data"] == {"a": "5"}, "last-applied kept current: %s" % la)


def case_show_managed_fields(c):
    c.out("apply", "--server-side", "--field-manager=shape", "-f",
          c.file(deploy("shape", c.ns, [("c", "nginx:1", {})], {"tier": "web"})))
    y = c.out("get", "deploy/shape", "-o", "yaml", "--show-managed-fields")
    for want in ("managedFields:", "manager: shape", "operation: Apply", "fieldsType: FieldsV1",
                 "apiVersion: apps/v1", "f:labels:", "f:tier: {}", "f:selector: {}",
                 'k:{"name":"c"}:', ".: {}", "f:image: {}", "time: "):
        expect_in(want, y, "get -o yaml --show-managed-fields")
    expect("managedFields" not in c.out("get", "deploy/shape", "-o", "yaml"), "hidden by default")


CASES = [
    ("two-managers", case_two_managers),
    ("removal-coownership", case_removal_and_coownership),
    ("conflict-force", case_conflict_and_force),
    ("client-side-upgrade", case_client_side_upgrade),
    ("show-managed-fields", case_show_managed_fields),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--kubectl", action="append")
    a = ap.parse_args()
    kubectls = a.kubectl or [p for p in (kubectl_path("1.27"), kubectl_path("1.33")) if p]
    if not kubectls:
        print("SKIP apply suite: no kubectl")
        return 0
    tmp = tempfile.mkdtemp(prefix="ckube-apply-")
    srv = Server(a.binary, os.path.join(tmp, "data"))
    failed = 0
    try:
        srv.start()
        for i, kb in enumerate(kubectls):
            ns = "apply-%d" % i
            srv.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
            work = os.path.join(tmp, "k%d" % i)
            os.makedirs(work)
            c = Ctx(kb, srv, work, ns)
            for name, fn in CASES:
                try:
                    fn(c)
                    print("PASS %s@%s" % (name, c.version))
                except Exception:
                    failed += 1
                    print("FAIL %s@%s\n%s" % (name, c.version, traceback.format_exc()))
        srv.stop()
    finally:
        if srv.proc and srv.proc.poll() is None:
            srv.proc.kill()
        if failed:
            print("server log: %s" % os.path.join(tmp, "server.log"))
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
