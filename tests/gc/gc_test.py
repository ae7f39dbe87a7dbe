# SPDX-License-Identifier: Apache-2.0
"""The garbage collector over every resource discovery lists, not a fixed set of kinds:
objects of kinds no workload controller watches (ConfigMap, Secret, Role) owned by a
Deployment are deleted with it (background) and kept without their reference under
--cascade=orphan; a ConfigMap owned by another ConfigMap goes when its owner goes (background,
and first under --cascade=foreground); an owner that never existed (dangling uid) lets its
dependent go; an owner of a kind discovery does not serve keeps it (upstream retries). Each
case runs with kubectl 1.27 and 1.33 in its own namespace gc-<case>-<ver>."""

import json
import os
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from ckubetest import Server, Ctx, Fail, expect, kubectl_path, wait_for  # noqa: E402


class Api:
    def __init__(self, server):
        self.base = "http://127.0.0.1:%d" % server.pport

    def req(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        r = urllib.request.Request(self.base + path, method=method, data=data,
                                   headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(r, timeout=10) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise Fail("%s %s: %d %s" % (method, path, e.code, e.read()[:300]))

    def get(self, path):
        return self.req("GET", path)


PATHS = {
    "ConfigMap": ("v1", "/api/v1/namespaces/%s/configmaps"),
    "Secret": ("v1", "/api/v1/namespaces/%s/secrets"),
    "Role": ("rbac.authorization.k8s.io/v1",
             "/apis/rbac.authorization.k8s.io/v1/namespaces/%s/roles"),
    "Deployment": ("apps/v1", "/apis/apps/v1/namespaces/%s/deployments"),
}


def ref(owner, kind, block=False):
    r = {"apiVersion": PATHS[kind][0], "kind": kind, "name": owner["metadata"]["name"],
         "uid": owner["metadata"]["uid"]}
    if block:
        r["blockOwnerDeletion"] = True
    return r


def make(api, ns, kind, name, owners=(), finalizers=None):
    meta = {"name": name}
    if owners:
        meta["ownerReferences"] = list(owners)
    if finalizers:
        meta["finalizers"] = finalizers
    obj = {"apiVersion": PATHS[kind][0], "kind": kind, "metadata": meta}
    if kind == "Deployment":
        obj["spec"] = {"replicas": 0, "selector": {"matchLabels": {"app": name}},
                       "template": {"metadata": {"labels": {"app": name}},
                                    "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}
    elif kind == "Role":
        obj["rules"] = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]
    elif kind in ("ConfigMap", "Secret"):
        obj["data"] = {"k": "dg=="}
    return api.req("POST", PATHS[kind][1] % ns, obj)


def get(api, ns, kind, name):
    return api.get((PATHS[kind][1] % ns) + "/" + name)


def case_deployment_owner(c, api):
    ns = c.ns
    # background (kubectl's default): every dependent kind follows the Deployment
    d = make(api, ns, "Deployment", "gc-bg")
    deps = [("ConfigMap", "gc-bg-cm"), ("Secret", "gc-bg-sec"), ("Role", "gc-bg-role")]
    for kind, name in deps:
        make(api, ns, kind, name, [ref(d, "Deployment")])
    bystander = make(api, ns, "ConfigMap", "gc-bg-free")
    c.k("delete", "deployment", "gc-bg")
    wait_for("dependents of gc-bg deleted", lambda: all(
        get(api, ns, k, n) is None for k, n in deps), timeout=30)
    expect(get(api, ns, "ConfigMap", "gc-bg-free")["metadata"]["uid"] ==
           bystander["metadata"]["uid"], "an unowned ConfigMap was touched")

    # orphan: the dependents stay, without the reference to the deleted owner
    d = make(api, ns, "Deployment", "gc-or")
    other = make(api, ns, "ConfigMap", "gc-or-other")
    make(api, ns, "ConfigMap", "gc-or-cm", [ref(d, "Deployment"), ref(other, "ConfigMap")])
    make(api, ns, "Secret", "gc-or-sec", [ref(d, "Deployment")])
    c.k("delete", "deployment", "gc-or", "--cascade=orphan")
    wait_for("gc-or gone", lambda: get(api, ns, "Deployment", "gc-or") is None, timeout=30)
    cm = get(api, ns, "ConfigMap", "gc-or-cm")
    sec = get(api, ns, "Secret", "gc-or-sec")
    expect(cm is not None and sec is not None, "orphaned dependents deleted")
    expect([r["uid"] for r in cm["metadata"].get("ownerReferences", [])] ==
           [other["metadata"]["uid"]], "gc-or-cm refs: %r" % cm["metadata"].get("ownerReferences"))
    expect(not sec["metadata"].get("ownerReferences"), "gc-or-sec keeps its reference")
    time.sleep(2)  # and nothing collects them afterwards
    expect(get(api, ns, "Secret", "gc-or-sec") is not None, "orphan collected later")


def case_configmap_owner(c, api):
    ns = c.ns
    # background: a ConfigMap owned by a ConfigMap, and a chain of three
    p = make(api, ns, "ConfigMap", "gc-p")
    ch = make(api, ns, "ConfigMap", "gc-c", [ref(p, "ConfigMap")])
    make(api, ns, "Secret", "gc-gc", [ref(ch, "ConfigMap")])
    c.k("delete", "configmap", "gc-p")
    wait_for("child and grandchild collected", lambda: get(api, ns, "ConfigMap", "gc-c") is None and
             get(api, ns, "Secret", "gc-gc") is None, timeout=30)

    # foreground: the owner stays (with foregroundDeletion) until its blocking dependent goes
    p = make(api, ns, "ConfigMap", "gc-fp")
    make(api, ns, "ConfigMap", "gc-fc", [ref(p, "ConfigMap", block=True)], finalizers=["ckube.test/hold"])
    c.k("delete", "configmap", "gc-fp", "--cascade=foreground", "--wait=false")
    wait_for("the dependent is being deleted", lambda: (get(api, ns, "ConfigMap", "gc-fc") or {}).get(
        "metadata", {}).get("deletionTimestamp"), timeout=30)
    time.sleep(1)
    owner = get(api, ns, "ConfigMap", "gc-fp")
    expect(owner is not None and "foregroundDeletion" in owner["metadata"].get("finalizers", []),
           "foreground owner went before its dependent: %r" % (owner and owner["metadata"]))
    r = urllib.request.Request(api.base + (PATHS["ConfigMap"][1] % ns) + "/gc-fc", method="PATCH",
                               data=json.dumps({"metadata": {"finalizers": None}}).encode(),
                               headers={"Content-Type": "application/merge-patch+json"})
    urllib.request.urlopen(r, timeout=10).read()
    wait_for("foreground owner gone after its dependent", lambda: get(
        api, ns, "ConfigMap", "gc-fp") is None and get(api, ns, "ConfigMap", "gc-fc") is None, timeout=30)


def case_odd_owners(c, api):
    ns = c.ns
    # an owner uid that never existed: the dependent is collected
    make(api, ns, "ConfigMap", "gc-dangling", [{"apiVersion": "v1", "kind": "ConfigMap",
                                                "name": "gc-nobody", "uid": "0000-gc-nobody"}])
    # a live owner name with another uid: dangling too
    real = make(api, ns, "ConfigMap", "gc-real")
    make(api, ns, "Secret", "gc-wronguid", [{"apiVersion": "v1", "kind": "ConfigMap",
                                             "name": "gc-real", "uid": "0000-not-" + real["metadata"]["uid"]}])
    # a kind discovery does not know: kept (upstream retries, never treats it as absent)
    make(api, ns, "ConfigMap", "gc-unknown", [{"apiVersion": "example.com/v1", "kind": "Widget",
                                               "name": "w", "uid": "0000-gc-widget"}])
    wait_for("dangling owners' dependents collected", lambda: get(api, ns, "ConfigMap", "gc-dangling")
             is None and get(api, ns, "Secret", "gc-wronguid") is None, timeout=30)
    time.sleep(2)
    u = get(api, ns, "ConfigMap", "gc-unknown")
    expect(u is not None and u["metadata"].get("ownerReferences"),
           "a dependent of an unknown kind was collected or changed: %r" % (u and u["metadata"]))
    expect(get(api, ns, "ConfigMap", "gc-real") is not None, "gc-real deleted")


def main():
    binary = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="ckube-gc-")
    server = Server(binary, os.path.join(tmp, "data"), ["--controllers"])
    failed = 0
    try:
        server.start()
        api = Api(server)
        for ver in ("1.27", "1.33"):
            kc = kubectl_path(ver)
            if not kc:
                print("SKIP kubectl %s missing" % ver)
                continue
            for name, fn in (("deploy", case_deployment_owner), ("cm", case_configmap_owner),
                             ("odd", case_odd_owners)):
                ns = "gc-%s-%s" % (name, ver.replace(".", ""))
                server.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                   "metadata": {"name": ns}})
                wd = os.path.join(tmp, ns)
                os.makedirs(wd)
                c = Ctx(kc, server, wd, ns)
                t0 = time.time()
                try:
                    fn(c, api)
                    print("ok %s kubectl %s (%.1fs)" % (name, ver, time.time() - t0))
                except Fail as e:
                    failed += 1
                    print("FAIL %s kubectl %s: %s" % (name, ver, e))
    except Fail as e:
        failed += 1
        print("FAIL setup: %s" % e)
    finally:
        try:
            server.stop()
        except Fail as e:
            print("FAIL %s" % e)
            failed += 1
    if failed:
        print("logs kept in %s" % tmp)
        log = os.path.join(tmp, "server.log")
        if os.path.exists(log):
            with open(log, errors="replace") as fh:
                print("---- server.log (tail)\n" + "".join(fh.readlines()[-40:]))
        sys.exit(1)
    if os.environ.get("CKUBE_KEEP"):
        print("logs kept in %s" % tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print("gc: all passed")


if __name__ == "__main__":
    main()
