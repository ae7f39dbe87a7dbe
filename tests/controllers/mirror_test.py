#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The EndpointSlice mirroring controller (endpointslice-mirroring-controller) in `ckube server
--controllers`, driven by kubectl 1.27 and 1.33 (each in its own namespace): Endpoints of a
Service without a selector become EndpointSlices (labels, ready/not-ready addresses, ports,
ownerReference, one slice per port set, at most 1000 addresses per subset); a change follows;
skip-mirror, a selector, a missing Service and a deleted Endpoints remove them; the
apiserver's own default/kubernetes Endpoints (skip-mirror) is not mirrored.

usage: mirror_test.py CKUBE_BIN"""

import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from ckubetest import Server, Ctx, Fail, expect, kubectl_path, wait_for  # noqa: E402

MANAGED = "endpointslice.kubernetes.io/managed-by=endpointslicemirroring-controller.k8s.io"


def slices(c, name):
    out = c.out("get", "endpointslices.discovery.k8s.io", "-o", "json", "-l",
                "kubernetes.io/service-name=%s,%s" % (name, MANAGED))
    return sorted(json.loads(out)["items"], key=lambda s: json.dumps(s.get("ports")))


def endpoints_obj(c, name, subsets, labels=None):
    return json.dumps({"apiVersion": "v1", "kind": "Endpoints",
                       "metadata": {"name": name, "namespace": c.ns, "labels": labels or {}},
                       "subsets": subsets})


def apply(c, obj):
    c.k("apply", "-f", c.file(obj))


def addrs(sl):
    return sorted((e["addresses"][0], e["conditions"].get("ready")) for e in sl["endpoints"])


def case_mirror(c):
    apply(c, json.dumps({"apiVersion": "v1", "kind": "Service",
                         "metadata": {"name": "ext", "namespace": c.ns},
                         "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}))
    sub = {"addresses": [{"ip": "10.1.0.1", "hostname": "a"}, {"ip": "10.1.0.2"}],
           "notReadyAddresses": [{"ip": "10.1.0.3"}],
           "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}
    apply(c, endpoints_obj(c, "ext", [sub], {"team": "blue"}))
    got = wait_for("a mirrored slice", lambda: slices(c, "ext"), 20)
    expect(len(got) == 1, "one slice expected: %s" % got)
    sl = got[0]
    expect(sl["addressType"] == "IPv4", "addressType: %s" % sl)
    expect(addrs(sl) == [("10.1.0.1", True), ("10.1.0.2", True), ("10.1.0.3", False)],
           "endpoints: %s" % sl["endpoints"])
    expect([e.get("hostname") for e in sl["endpoints"] if e["addresses"][0] == "10.1.0.1"] ==
           ["a"], "hostname not mirrored: %s" % sl["endpoints"])
    expect(sl["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}],
           "ports: %s" % sl["ports"])
    lb = sl["metadata"]["labels"]
    expect(lb.get("team") == "blue" and lb.get("kubernetes.io/service-name") == "ext",
           "labels: %s" % lb)
    refs = sl["metadata"].get("ownerReferences") or []
    expect(len(refs) == 1 and refs[0]["kind"] == "Endpoints" and refs[0]["name"] == "ext" and
           refs[0].get("controller") is True, "ownerReferences: %s" % refs)
    expect(sl["metadata"]["name"].startswith("ext-"), "name: %s" % sl["metadata"]["name"])
    first = sl["metadata"]["name"]
    # a change follows in place; a second port set gets its own slice
    sub2 = {"addresses": [{"ip": "10.1.0.9"}],
            "ports": [{"name": "metrics", "port": 9090, "protocol": "TCP"}]}
    sub["addresses"] = [{"ip": "10.1.0.1"}]
    apply(c, endpoints_obj(c, "ext", [sub, sub2], {"team": "blue"}))

    def two():
        s = slices(c, "ext")
        ok = len(s) == 2 and addrs(s[0]) == [("10.1.0.1", True), ("10.1.0.3", False)]
        return s if ok else None
    got = wait_for("two slices", two, 20)
    expect(addrs(got[1]) == [("10.1.0.9", True)], "second slice: %s" % got[1])
    expect(first in [s["metadata"]["name"] for s in got], "the slice was not kept: %s" % got)
    # skip-mirror removes them; removing the label brings them back
    c.k("label", "endpoints", "ext", "endpointslice.kubernetes.io/skip-mirror=true")
    wait_for("slices gone after skip-mirror", lambda: not slices(c, "ext"), 20)
    c.k("label", "endpoints", "ext", "endpointslice.kubernetes.io/skip-mirror-")
    wait_for("slices back", lambda: len(slices(c, "ext")) == 2, 20)
    # a selector on the Service: the endpointslice controller's business, mirrors go
    c.k("patch", "service", "ext", "-p", '{"spec":{"selector":{"app":"ext"}}}')
    wait_for("slices gone after a selector", lambda: not slices(c, "ext"), 20)
    c.k("patch", "service", "ext", "--type=json",
        "-p", '[{"op":"remove","path":"/spec/selector"}]')
    # (meanwhile the endpoints controller owned the Endpoints and emptied them, as upstream's)
    apply(c, endpoints_obj(c, "ext", [sub, sub2], {"team": "blue"}))
    wait_for("slices back without the selector", lambda: len(slices(c, "ext")) == 2, 20)
    # deleting the Endpoints deletes its slices
    c.k("delete", "endpoints", "ext")
    wait_for("slices gone with the Endpoints", lambda: not slices(c, "ext"), 20)


def case_limits(c):
    apply(c, json.dumps({"apiVersion": "v1", "kind": "Service",
                         "metadata": {"name": "big", "namespace": c.ns},
                         "spec": {"ports": [{"port": 80}]}}))
    ips = [{"ip": "10.2.%d.%d" % (i // 250, i % 250 + 1)} for i in range(1005)]
    apply(c, endpoints_obj(c, "big", [{"addresses": ips, "ports": [{"port": 80}]}]))
    got = wait_for("the big slice", lambda: slices(c, "big"), 30)
    expect(len(got) == 1 and len(got[0]["endpoints"]) == 1000,
           "1000 endpoints per subset: %s slices, %s endpoints" % (
               len(got), [len(s["endpoints"]) for s in got]))
    # Endpoints without a Service: not mirrored; a deleted Service takes the slices along
    apply(c, endpoints_obj(c, "orphan", [{"addresses": [{"ip": "10.3.0.1"}],
                                          "ports": [{"port": 80}]}]))
    apply(c, json.dumps({"apiVersion": "v1", "kind": "Service",
                         "metadata": {"name": "late", "namespace": c.ns},
                         "spec": {"ports": [{"port": 80}]}}))
    apply(c, endpoints_obj(c, "late", [{"addresses": [{"ip": "10.3.0.2"}],
                                        "ports": [{"port": 80}]}]))
    wait_for("late mirrored", lambda: slices(c, "late"), 20)
    expect(not slices(c, "orphan"), "Endpoints without a Service were mirrored")
    c.k("delete", "service", "late")
    wait_for("slices gone with the Service", lambda: not slices(c, "late"), 20)


def main():
    binary = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="svcapi-mirror-")
    server = Server(binary, os.path.join(tmp, "data"), ["--controllers"])
    ok = False
    try:
        server.start()
        kubectls = [p for p in (kubectl_path("1.27"), kubectl_path("1.33")) if p]
        expect(kubectls, "no kubectl 1.27/1.33 found")
        for i, kc in enumerate(kubectls):
            ns = "mirror%d" % i
            wd = os.path.join(tmp, ns)
            os.makedirs(wd)
            c = Ctx(kc, server, wd, ns)
            c.k("create", "namespace", ns, ns=False)
            for case in (case_mirror, case_limits):
                case(c)
                print("ok %s (kubectl %s)" % (case.__name__, c.version), flush=True)
        # the API server's own Endpoints are not mirrored (skip-mirror)
        c = Ctx(kubectls[-1], server, os.path.join(tmp, "mirror0"), "default")
        md = json.loads(c.out("get", "endpoints", "kubernetes", "-o", "json"))["metadata"]
        expect(md.get("labels", {}).get("endpointslice.kubernetes.io/skip-mirror") == "true",
               "default/kubernetes Endpoints: %s" % md)
        expect(not slices(c, "kubernetes"), "default/kubernetes was mirrored")
        print("ok default/kubernetes not mirrored", flush=True)
        ok = True
    except Fail as e:
        print("FAIL: %s" % e, flush=True)
    finally:
        server.stop()
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("kept %s" % tmp)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
