#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Protobuf suite: kubectl 1.32+ sends these typed requests as
application/vnd.kubernetes.protobuf (they got 415 before the schema covered every kind); each
case checks the command succeeds and the object is stored right. Then raw requests ask for
protobuf answers (GET, LIST, WATCH) and decode them with the small wire reader below.

usage: proto_kubectl.py path/to/ckube"""

import http.client
import json
import os
import shutil
import struct
import sys
import tempfile
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from ckubetest import Ctx, Fail, Server, expect, expect_in, kubectl_path  # noqa: E402

PB = "application/vnd.kubernetes.protobuf"

# ---- a tiny protobuf wire reader ---------------------------------------------------------


def varint(b, i):
    v = shift = 0
    while True:
        if i >= len(b):
            raise Fail("truncated varint")
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        if not c & 0x80:
            return v, i
        shift += 7


def fields(b):
    """[(number, value)]: value is an int (varint) or bytes (length-delimited)."""
    out, i = [], 0
    while i < len(b):
        tag, i = varint(b, i)
        num, wt = tag >> 3, tag & 7
        if wt == 0:
            v, i = varint(b, i)
        elif wt == 2:
            n, i = varint(b, i)
            v = b[i:i + n]
            if len(v) != n:
                raise Fail("truncated field %d" % num)
            i += n
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        elif wt == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise Fail("wire type %d" % wt)
        out.append((num, v))
    return out


def field(b, num, default=b""):
    for n, v in fields(b):
        if n == num:
            return v
    return default


def all_of(b, num):
    return [v for n, v in fields(b) if n == num]


def envelope(b):
    """'k8s\\0' + runtime.Unknown -> (apiVersion, kind, raw)."""
    if b[:4] != b"k8s\x00":
        raise Fail("no protobuf magic: %r" % b[:40])
    unk = b[4:]
    tm = field(unk, 1)
    return field(tm, 1).decode(), field(tm, 2).decode(), field(unk, 2)


def name_of(obj_raw):
    """metadata (field 1) -> name (field 1)."""
    return field(field(obj_raw, 1), 1).decode()


def cm_data(obj_raw):
    """ConfigMap.data (field 2, map<string,string>) as a dict."""
    return {field(e, 1).decode(): field(e, 2).decode() for e in all_of(obj_raw, 2)}


# ---- the cases -----------------------------------------------------------------------------

RBAC = """apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: rec-role, namespace: %(ns)s}
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rec-rb, namespace: %(ns)s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: rec-role}
subjects:
- {kind: User, apiGroup: rbac.authorization.k8s.io, name: bob}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: rec-cr-%(v)s}
rules:
- nonResourceURLs: ["/healthz"]
  verbs: [get]
"""


def get(c, *args):
    return json.loads(c.out("get", *args, "-o", "json"))


def kubectl_cases(c, v):
    vv = v.replace(".", "")
    c.k("create", "role", "r1", "--verb=get,list", "--resource=pods,deployments.apps")
    r = get(c, "role", "r1")
    rules = r["rules"]
    expect(rules[0]["verbs"] == ["get", "list"], "role verbs: %s" % rules)
    expect([""] in [x["apiGroups"] for x in rules], "core group kept as \"\": %s" % rules)
    expect(any(x["resources"] == ["deployments"] and x["apiGroups"] == ["apps"] for x in rules),
           "apps rule: %s" % rules)

    c.k("create", "rolebinding", "rb1", "--role=r1", "--user=alice", "--serviceaccount=%s:sa1" % c.ns)
    rb = get(c, "rolebinding", "rb1")
    expect(rb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r1"},
           "roleRef: %s" % rb["roleRef"])
    subj = {(s["kind"], s["name"]) for s in rb["subjects"]}
    expect(subj == {("User", "alice"), ("ServiceAccount", "sa1")}, "subjects: %s" % rb["subjects"])

    c.k("create", "clusterrole", "cr-" + vv, "--verb=get", "--resource=nodes",
        "--non-resource-url=/metrics", ns=False)
    cr = get(c, "clusterrole", "cr-" + vv)
    expect(any(x.get("nonResourceURLs") == ["/metrics"] for x in cr["rules"]),
           "nonResourceURLs: %s" % cr["rules"])
    expect("namespace" not in cr["metadata"], "cluster-scoped: %s" % cr["metadata"])

    c.k("create", "clusterrolebinding", "crb-" + vv, "--clusterrole=cr-" + vv, "--group=devs",
        ns=False)
    crb = get(c, "clusterrolebinding", "crb-" + vv)
    expect(crb["subjects"][0]["kind"] == "Group" and crb["subjects"][0]["name"] == "devs",
           "crb subjects: %s" % crb["subjects"])

    c.k("create", "priorityclass", "pc-" + vv, "--value=1000", "--description=proto test",
        "--preemption-policy=Never", ns=False)
    pc = get(c, "priorityclass", "pc-" + vv)
    expect(pc["value"] == 1000 and pc["description"] == "proto test" and
           pc.get("preemptionPolicy") == "Never", "priorityclass: %s" % pc)
    expect("globalDefault" not in pc or pc["globalDefault"] is False, "globalDefault: %s" % pc)

    c.k("create", "ingress", "ing1", "--rule=foo.com/bar*=svc1:8080", "--class=nginx")
    ing = get(c, "ingress", "ing1")
    rule = ing["spec"]["rules"][0]
    path = rule["http"]["paths"][0]
    expect(rule["host"] == "foo.com" and path["path"] == "/bar" and path["pathType"] == "Prefix",
           "ingress rule: %s" % rule)
    expect(path["backend"]["service"] == {"name": "svc1", "port": {"number": 8080}},
           "ingress backend: %s" % path["backend"])
    expect(ing["spec"].get("ingressClassName") == "nginx", "ingressClassName: %s" % ing["spec"])

    out = c.out("auth", "can-i", "--list")
    expect_in("Resources", out, "auth can-i --list")
    expect(len(out.strip().splitlines()) >= 2, "auth can-i --list printed no rules:\n" + out)

    c.k("auth", "reconcile", "-f", c.file(RBAC % {"ns": c.ns, "v": vv}))
    rr = get(c, "role", "rec-role")
    expect(rr["rules"][0]["verbs"] == ["get", "watch"], "reconciled role: %s" % rr["rules"])
    rrb = get(c, "rolebinding", "rec-rb")
    expect(rrb["subjects"][0]["name"] == "bob", "reconciled rolebinding: %s" % rrb["subjects"])
    rcr = get(c, "clusterrole", "rec-cr-" + vv)
    expect(rcr["rules"][0]["nonResourceURLs"] == ["/healthz"], "reconciled cr: %s" % rcr["rules"])
    # a second reconcile changes nothing and still succeeds
    c.k("auth", "reconcile", "-f", c.file(RBAC % {"ns": c.ns, "v": vv}))


def autoscale_case(c, srv):
    try:
        srv.get_json("/apis/autoscaling/v1")
    except OSError as e:  # urllib raises HTTPError (an OSError) for 404
        print("SKIP autoscale: autoscaling/v1 is not served yet (%s)" % e)
        return
    c.mk_deploy("web")
    c.k("autoscale", "deployment", "web", "--min=2", "--max=5", "--cpu-percent=70")
    hpa = json.loads(c.server_get("/apis/autoscaling/v1/namespaces/%s/horizontalpodautoscalers/web"
                                  % c.ns))
    expect(hpa["spec"]["maxReplicas"] == 5 and hpa["spec"].get("minReplicas") == 2,
           "hpa spec: %s" % hpa["spec"])
    expect(hpa["spec"]["scaleTargetRef"]["name"] == "web", "hpa target: %s" % hpa["spec"])


def raw_cases(srv, ns):
    srv.post("/api/v1/namespaces/%s/configmaps" % ns,
             {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "raw1"},
              "data": {"k": "v", "e": ""}})
    conn = http.client.HTTPConnection("127.0.0.1", srv.pport, timeout=10)
    # GET
    conn.request("GET", "/api/v1/namespaces/%s/configmaps/raw1" % ns, headers={"Accept": PB})
    r = conn.getresponse()
    body = r.read()
    expect(r.status == 200, "GET status %d" % r.status)
    expect(r.getheader("Content-Type") == PB, "GET content type %s" % r.getheader("Content-Type"))
    av, kind, raw = envelope(body)
    expect((av, kind) == ("v1", "ConfigMap"), "GET typeMeta %s %s" % (av, kind))
    expect(name_of(raw) == "raw1", "GET name %r" % name_of(raw))
    expect(cm_data(raw) == {"k": "v", "e": ""}, "GET data %s" % cm_data(raw))
    # LIST, preferring protobuf by q-value over JSON
    conn.request("GET", "/api/v1/namespaces/%s/configmaps" % ns,
                 headers={"Accept": "application/json;q=0.9, " + PB})
    r = conn.getresponse()
    body = r.read()
    expect(r.status == 200 and r.getheader("Content-Type") == PB,
           "LIST %d %s" % (r.status, r.getheader("Content-Type")))
    av, kind, raw = envelope(body)
    expect(kind == "ConfigMapList", "LIST kind %s" % kind)
    names = [name_of(it) for it in all_of(raw, 2)]
    expect("raw1" in names, "LIST items %s" % names)
    rv = field(field(raw, 1), 2).decode()  # ListMeta.resourceVersion
    expect(rv.isdigit(), "LIST resourceVersion %r" % rv)
    # an error is a protobuf Status
    conn.request("GET", "/api/v1/namespaces/%s/configmaps/nope" % ns, headers={"Accept": PB})
    r = conn.getresponse()
    body = r.read()
    av, kind, raw = envelope(body)
    expect(r.status == 404 and kind == "Status", "404 %d %s" % (r.status, kind))
    expect(field(raw, 4).decode() == "NotFound" and field(raw, 6, 0) == 404,
           "Status reason/code %r %r" % (field(raw, 4), field(raw, 6, 0)))
    conn.close()
    # WATCH from the LIST's resourceVersion: length-delimited WatchEvent frames
    conn = http.client.HTTPConnection("127.0.0.1", srv.pport, timeout=10)
    conn.request("GET", "/api/v1/namespaces/%s/configmaps?watch=1&resourceVersion=%s&"
                 "timeoutSeconds=5" % (ns, rv), headers={"Accept": PB + ";stream=watch"})
    r = conn.getresponse()
    expect(r.status == 200, "WATCH status %d" % r.status)
    expect(r.getheader("Content-Type") == PB + ";stream=watch",
           "WATCH content type %s" % r.getheader("Content-Type"))
    srv.post("/api/v1/namespaces/%s/configmaps" % ns,
             {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "raw2"},
              "data": {"x": "y"}})
    seen = []
    while True:
        hdr = r.read(4)
        expect(len(hdr) == 4, "WATCH stream ended before raw2 (seen %s)" % seen)
        (n,) = struct.unpack(">I", hdr)
        frame = r.read(n)
        etype = field(frame, 1).decode()
        obj = field(field(frame, 2), 1)  # RawExtension.raw
        av, kind, raw = envelope(obj)
        seen.append((etype, kind, name_of(raw)))
        if name_of(raw) == "raw2":
            expect(etype == "ADDED" and kind == "ConfigMap" and cm_data(raw) == {"x": "y"},
                   "WATCH event %s %s %s" % (etype, kind, cm_data(raw)))
            break
    conn.close()


def main():
    binary = os.path.abspath(sys.argv[1])
    versions = [v for v in ("1.32", "1.33") if kubectl_path(v)]
    if not versions:
        print("SKIP: no kubectl 1.32 / 1.33 installed")
        return 0
    work = tempfile.mkdtemp(prefix="ckube-proto-")
    srv = Server(binary, os.path.join(work, "data"))
    failed = []
    try:
        srv.start()
        raw_ns = "proto-raw"
        srv.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                        "metadata": {"name": raw_ns}})
        try:
            raw_cases(srv, raw_ns)
            print("ok   raw protobuf GET/LIST/Status/WATCH")
        except Exception as e:  # noqa: BLE001
            failed.append("raw")
            print("FAIL raw protobuf: %s" % e)
            traceback.print_exc()
        for v in versions:
            ns = "proto-" + v.replace(".", "")
            srv.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                            "metadata": {"name": ns}})
            wd = os.path.join(work, "k" + v)
            os.makedirs(wd)
            c = Ctx(kubectl_path(v), srv, wd, ns)
            c.server_get = lambda p: json.dumps(srv.get_json(p))
            for name, fn in (("kubectl", lambda: kubectl_cases(c, v)),
                             ("autoscale", lambda: autoscale_case(c, srv))):
                try:
                    fn()
                    print("ok   kubectl %s %s" % (v, name))
                except Exception as e:  # noqa: BLE001
                    failed.append("%s %s" % (v, name))
                    print("FAIL kubectl %s %s: %s" % (v, name, e))
    finally:
        try:
            srv.stop()
        except Fail as e:
            failed.append("server stop")
            print("FAIL %s" % e)
        if not failed:
            shutil.rmtree(work, ignore_errors=True)
    if failed:
        print("FAILED: %s (logs in %s)" % (", ".join(failed), work))
        return 1
    print("all protobuf cases passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
