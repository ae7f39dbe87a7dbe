#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The newer API groups driven by the real kubectl 1.27 and 1.33: api-resources lists every
group-version, `get cs`, `auth whoami` (1.27 uses authentication.k8s.io/v1beta1), `autoscale`
then `get hpa` in the v1 and v2 views, `certificate approve`, an Event created in one of
events.k8s.io/v1 and core/v1 and read in the other, `explain` of a new kind.

Usage: groups_e2e.py <ckube binary> [--kubectl PATH]..."""

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from ckubetest import Ctx, Fail, Server, expect, expect_in, kubectl_path  # noqa: E402

KUBECTLS = [p for p in (kubectl_path("1.27"), kubectl_path("1.33")) if p]


def proto_pending(p):
    """kubectl 1.32+ sends protobuf; until the server speaks it a 415/406 is tolerated."""
    err = p.stderr
    return p.returncode != 0 and ("415" in err or "406" in err or "protobuf" in err or
                                  "unknown format" in err or "not acceptable" in err.lower())


def case_api_resources(c):
    out = c.out("api-resources", ns=False)
    for gv, res in [("certificates.k8s.io/v1", "certificatesigningrequests"),
                    ("admissionregistration.k8s.io/v1", "mutatingwebhookconfigurations"),
                    ("admissionregistration.k8s.io/v1", "validatingwebhookconfigurations"),
                    ("admissionregistration.k8s.io/v1", "validatingadmissionpolicies"),
                    ("admissionregistration.k8s.io/v1", "validatingadmissionpolicybindings"),
                    ("node.k8s.io/v1", "runtimeclasses"),
                    ("storage.k8s.io/v1", "csidrivers"), ("storage.k8s.io/v1", "csinodes"),
                    ("storage.k8s.io/v1", "volumeattachments"),
                    ("storage.k8s.io/v1", "csistoragecapacities"),
                    ("flowcontrol.apiserver.k8s.io/v1", "flowschemas"),
                    ("flowcontrol.apiserver.k8s.io/v1", "prioritylevelconfigurations"),
                    ("v1", "componentstatuses"), ("events.k8s.io/v1", "events"),
                    ("autoscaling/v2", "horizontalpodautoscalers")]:
        line = [ln for ln in out.splitlines() if ln.split()[:1] == [res] and gv in ln]
        expect(line, "api-resources lacks %s %s:\n%s" % (gv, res, out))
    expect_in("csr", [ln for ln in out.splitlines() if ln.startswith("certificatesigningrequests")][0])
    versions = c.out("api-versions", ns=False).split()
    for gv in ["autoscaling/v1", "autoscaling/v2", "flowcontrol.apiserver.k8s.io/v1beta3",
               "flowcontrol.apiserver.k8s.io/v1", "authentication.k8s.io/v1beta1",
               "certificates.k8s.io/v1", "node.k8s.io/v1"]:
        expect(gv in versions, "api-versions lacks %s: %s" % (gv, versions))


def case_get_cs(c):
    p = c.k("get", "cs", ns=False)
    lines = p.stdout.splitlines()
    expect(lines[0].split() == ["NAME", "STATUS", "MESSAGE", "ERROR"], "header: %r" % lines[0])
    etcd = [ln for ln in lines if ln.startswith("etcd-0")]
    expect(etcd and etcd[0].split()[1:3] == ["Healthy", "ok"], "etcd-0 row: %r" % lines)
    expect(any(ln.startswith("scheduler") for ln in lines), "no scheduler row: %r" % lines)
    # the deprecation warning, checked on the wire (the header is the engine's contract)
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/componentstatuses"
                                % c.server.pport, timeout=10) as r:
        expect_in("v1 ComponentStatus is deprecated in v1.19+", r.headers.get("Warning", ""),
                  "Warning header")


def case_whoami(c):
    p = c.k("auth", "whoami", "-o", "json", ns=False, ok=None)
    if p.returncode != 0 and proto_pending(p):
        print("SKIP whoami [%s]: protobuf not served yet (%s)" % (c.version, p.stderr.strip()[:120]))
        return
    expect(p.returncode == 0, "auth whoami failed: %s" % p.stderr)
    o = json.loads(p.stdout)
    want = "authentication.k8s.io/v1beta1" if c.version == "1.27" else "authentication.k8s.io/v1"
    expect(o["apiVersion"] == want, "whoami apiVersion %s, want %s" % (o["apiVersion"], want))
    expect(o["status"]["userInfo"]["username"], "no username: %s" % p.stdout)


def case_autoscale(c):
    c.mk_deploy("web")
    p = c.k("autoscale", "deployment", "web", "--min=1", "--max=3", "--cpu-percent=50", ok=None)
    if p.returncode != 0 and proto_pending(p):
        print("SKIP autoscale [%s]: protobuf not served yet (%s)" % (c.version, p.stderr.strip()[:120]))
        return
    expect(p.returncode == 0, "autoscale failed: %s" % p.stderr)
    expect_in("autoscaled", p.stdout)
    out = c.out("get", "hpa", "web")
    hdr = out.splitlines()[0].split()
    expect(hdr == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"],
           "hpa header %r" % hdr)
    expect_in("Deployment/web", out)
    v1 = json.loads(c.out("get", "horizontalpodautoscalers.v1.autoscaling", "web", "-o", "json"))
    expect(v1["apiVersion"] == "autoscaling/v1", "v1 view: %s" % v1["apiVersion"])
    expect(v1["spec"].get("targetCPUUtilizationPercentage") == 50, "v1 spec: %s" % v1["spec"])
    v2 = json.loads(c.out("get", "horizontalpodautoscalers.v2.autoscaling", "web", "-o", "json"))
    expect(v2["apiVersion"] == "autoscaling/v2", "v2 view: %s" % v2["apiVersion"])
    m = v2["spec"]["metrics"][0]
    expect(m["resource"]["name"] == "cpu" and m["resource"]["target"]["averageUtilization"] == 50,
           "v2 metrics: %s" % v2["spec"]["metrics"])
    c.out("delete", "hpa", "web")


def make_csr():
    d = tempfile.mkdtemp()
    try:
        subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", os.path.join(d, "k"),
                        "-subj", "/CN=alice", "-out", os.path.join(d, "csr")],
                       check=True, capture_output=True)
        with open(os.path.join(d, "csr"), "rb") as f:
            return base64.b64encode(f.read()).decode()
    finally:
        shutil.rmtree(d)


def case_certificate_approve(c):
    name = "alice-" + c.version.replace(".", "")
    path = c.file(json.dumps({
        "apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        "metadata": {"name": name},
        "spec": {"request": make_csr(), "signerName": "kubernetes.io/kube-apiserver-client",
                 "usages": ["client auth"], "expirationSeconds": 86400}}))
    p = c.k("create", "-f", path, ns=False, ok=None)
    if p.returncode != 0 and proto_pending(p):
        print("SKIP certificate [%s]: protobuf not served yet" % c.version)
        return
    expect(p.returncode == 0, "create csr: %s" % p.stderr)
    out = c.out("get", "csr", name, ns=False)
    expect(out.splitlines()[0].split() == ["NAME", "AGE", "SIGNERNAME", "REQUESTOR",
                                           "REQUESTEDDURATION", "CONDITION"], out)
    expect_in("Pending", out)
    p = c.k("certificate", "approve", name, ns=False, ok=None)
    if p.returncode != 0 and proto_pending(p):
        print("SKIP certificate approve [%s]: protobuf not served yet" % c.version)
        return
    expect(p.returncode == 0, "approve: %s" % p.stderr)
    expect_in("approved", p.stdout)
    out = c.out("get", "csr", name, ns=False)
    expect_in("Approved", out)
    o = json.loads(c.out("get", "csr", name, "-o", "json", ns=False))
    cond = o["status"]["conditions"][0]
    expect(cond["type"] == "Approved" and cond["reason"] == "KubectlApprove", str(cond))
    c.out("delete", "csr", name, ns=False)


def case_events_two_views(c):
    ev = {"apiVersion": "events.k8s.io/v1", "kind": "Event",
          "metadata": {"name": "new-style"},
          "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "example.com/ctl",
          "reportingInstance": "ctl-1", "action": "Check", "reason": "Checked",
          "regarding": {"kind": "Pod", "name": "p1", "namespace": c.ns}, "note": "from v1 events",
          "type": "Normal"}
    p = c.k("create", "-f", c.file(json.dumps(ev)), ok=None)
    if p.returncode != 0 and proto_pending(p):
        print("SKIP events [%s]: protobuf not served yet" % c.version)
        return
    expect(p.returncode == 0, "create events.k8s.io event: %s" % p.stderr)
    core = json.loads(c.out("get", "events.v1.", "new-style", "-o", "json"))
    expect(core["apiVersion"] == "v1" and core["message"] == "from v1 events", str(core))
    expect(core["involvedObject"]["name"] == "p1", str(core))
    old = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "old-style"},
           "involvedObject": {"kind": "Pod", "name": "p2", "namespace": c.ns}, "reason": "Old",
           "message": "from core", "type": "Warning", "source": {"component": "test"}}
    c.out("create", "-f", c.file(json.dumps(old)))
    new = json.loads(c.out("get", "events.v1.events.k8s.io", "old-style", "-o", "json"))
    expect(new["apiVersion"] == "events.k8s.io/v1" and new["note"] == "from core", str(new))
    expect(new["regarding"]["name"] == "p2" and new["deprecatedSource"]["component"] == "test",
           str(new))
    lst = json.loads(c.out("get", "events.v1.events.k8s.io", "-o", "json"))
    expect(len(lst["items"]) == 2, "events.k8s.io list: %d items" % len(lst["items"]))
    out = c.out("get", "events.v1.events.k8s.io")
    expect_in("Checked", out)


def case_explain(c):
    p = c.k("explain", "csr.spec.signerName", ns=False, ok=None)
    expect(p.returncode == 0, "explain: %s" % p.stderr)
    expect_in("signerName", p.stdout)
    p = c.k("explain", "flowschemas.spec", ns=False)
    expect_in("priorityLevelConfiguration", p.stdout)


def case_new_kinds(c):
    rc = {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass",
          "metadata": {"name": "rc" + c.version.replace(".", "")}, "handler": "runc"}
    c.out("apply", "-f", c.file(json.dumps(rc)), ns=False)
    out = c.out("get", "runtimeclass", rc["metadata"]["name"], ns=False)
    expect(out.splitlines()[0].split() == ["NAME", "HANDLER", "AGE"], out)
    p = c.k("create", "-f", c.file(json.dumps(dict(rc, metadata={"name": "bad" + c.version.replace(".", "")},
                                                    handler="Bad_Handler"))), ns=False, ok=False)
    expect_in("handler", p.stderr)
    drv = {"apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver",
           "metadata": {"name": "d%s.example.com" % c.version.replace(".", "")}, "spec": {}}
    c.out("create", "-f", c.file(json.dumps(drv)), ns=False)
    out = c.out("get", "csidriver", drv["metadata"]["name"], ns=False)
    expect_in("Persistent", out)
    c.out("delete", "runtimeclass", rc["metadata"]["name"], ns=False)
    c.out("delete", "csidriver", drv["metadata"]["name"], ns=False)


CASES = [("api-resources", case_api_resources), ("get-cs", case_get_cs), ("whoami", case_whoami),
         ("autoscale", case_autoscale), ("certificate", case_certificate_approve),
         ("events", case_events_two_views), ("explain", case_explain),
         ("new-kinds", case_new_kinds)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ckube")
    ap.add_argument("--kubectl", action="append")
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    kubectls = [k for k in (a.kubectl or KUBECTLS) if os.access(k, os.X_OK)]
    if not kubectls:
        print("SKIP all: no kubectl found")
        return 0
    only = set(filter(None, a.only.split(",")))
    tmp = tempfile.mkdtemp(prefix="ckube-groups-")
    server = Server(os.path.abspath(a.ckube), os.path.join(tmp, "data"))
    failed, passed = [], 0
    try:
        server.start()
        ctxs = []
        for kc in kubectls:
            c = Ctx(kc, server, tempfile.mkdtemp(dir=tmp), "")
            c.ns = "groups-v" + c.version.replace(".", "")
            server.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                "metadata": {"name": c.ns}})
            ctxs.append(c)
        for name, fn in CASES:
            if only and name not in only:
                continue
            for c in ctxs:
                label = "%s [kubectl %s]" % (name, c.version)
                t0 = time.time()
                try:
                    fn(c)
                    passed += 1
                    print("PASS %s (%.1fs)" % (label, time.time() - t0), flush=True)
                except Exception as e:  # noqa: BLE001 - report every failure and go on
                    failed.append(label)
                    print("FAIL %s: %s" % (label, e), flush=True)
        server.stop()
    except Fail as e:
        failed.append("setup")
        print("FAIL setup: %s" % e)
    finally:
        if server.proc and server.proc.poll() is None:
            server.proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed%s" % (passed, len(failed), (": " + ", ".join(failed)) if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
