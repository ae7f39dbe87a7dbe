#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`ckube controller-manager` against a fresh `ckube server`, driven by kubectl 1.27 and 1.33.

There is no kubelet: FakeKubelet marks every new pod Running+Ready through pods/status, and
PodCounter counts every pod ever created (ADDED events of a watch from the start). Cases:
create/rollout status, set image within maxUnavailable, history/undo, pause/resume, restart,
scale to 0 and 5, foreground/orphan/background cascades, kill -9 mid-rollout."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from ckubetest import Server, Ctx, Fail, expect, expect_in, kubectl_path  # noqa: E402
import ckubetest  # noqa: E402


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Api:
    def __init__(self, server):
        self.base = "http://127.0.0.1:%d" % server.pport

    def req(self, method, path, body=None, ctype="application/json"):
        data = json.dumps(body).encode() if body is not None else None
        r = urllib.request.Request(self.base + path, method=method, data=data,
                                   headers={"Content-Type": ctype})
        try:
            with urllib.request.urlopen(r, timeout=10) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise

    def get(self, path):
        return self.req("GET", path)


class FakeKubelet(threading.Thread):
    """Marks pods Running+Ready a little after they appear (unless paused)."""

    def __init__(self, api):
        super().__init__(daemon=True)
        self.api, self.stop, self.paused = api, False, False

    def run(self):
        while not self.stop:
            try:
                if not self.paused:
                    pods = self.api.get("/api/v1/pods")["items"]
                    for p in pods:
                        md = p["metadata"]
                        st = p.get("status", {})
                        if md.get("deletionTimestamp") or st.get("phase") == "Running":
                            continue
                        self.api.req("PATCH", "/api/v1/namespaces/%s/pods/%s/status" % (
                            md["namespace"], md["name"]), {"status": {
                                "phase": "Running", "podIP": "10.0.0.1",
                                "conditions": [{"type": "Ready", "status": "True",
                                                "lastTransitionTime": now_rfc3339()}]}},
                            "application/merge-patch+json")
            except Exception:  # noqa: BLE001 - a pod deleted meanwhile
                pass
            time.sleep(0.15)


class PodCounter(threading.Thread):
    """Counts ADDED pod events per namespace (pods ever created) from a watch."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.port = server.pport
        self.added = {}
        self.lock = threading.Lock()

    def run(self):
        rv = "0"
        while True:
            try:
                url = "http://127.0.0.1:%d/api/v1/pods?watch=1&resourceVersion=%s" % (self.port, rv)
                with urllib.request.urlopen(url, timeout=600) as r:
                    for line in r:
                        ev = json.loads(line)
                        md = ev["object"].get("metadata", {})
                        rv = md.get("resourceVersion", rv)
                        if ev["type"] == "ADDED":
                            with self.lock:
                                self.added.setdefault(md["namespace"], set()).add(md["uid"])
            except Exception:  # noqa: BLE001
                time.sleep(0.2)

    def count(self, ns):
        with self.lock:
            return len(self.added.get(ns, ()))


class CM:
    def __init__(self, binary, kubeconfig, logdir):
        self.binary, self.kubeconfig, self.logdir = binary, kubeconfig, logdir
        self.proc, self.port, self.n = None, None, 0

    def start(self, *extra):
        self.n += 1
        log = open(os.path.join(self.logdir, "cm%d.log" % self.n), "ab")
        self.proc = subprocess.Popen([self.binary, "controller-manager", "--kubeconfig",
                                      self.kubeconfig, "--secure-port", "0", "-v", "1"] + list(extra),
                                     stdout=subprocess.PIPE, stderr=log, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"on 127\.0\.0\.1:(\d+)", line or "")
        if not m:
            raise Fail("controller-manager did not start: %r" % line)
        self.port = int(m.group(1))

    def get(self, path):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, path), timeout=5) as r:
            return r.read().decode()

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise Fail("controller-manager did not exit within 20 s of SIGTERM")
            if rc != 0:
                raise Fail("controller-manager exited %d after SIGTERM" % rc)


def wait_for(what, fn, timeout=30):
    return ckubetest.wait_for(what, fn, timeout)


def pods_of(api, ns, app):
    items = api.get("/api/v1/namespaces/%s/pods?labelSelector=app%%3D%s" % (ns, app))["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def ready_count(pods):
    return sum(1 for p in pods if any(c["type"] == "Ready" and c["status"] == "True"
                                      for c in p.get("status", {}).get("conditions", [])))


class Sampler(threading.Thread):
    """Records the minimum number of ready pods of app while it runs."""

    def __init__(self, api, ns, app):
        super().__init__(daemon=True)
        self.api, self.ns, self.app = api, ns, app
        self.min_ready, self.max_total, self.stop = 10 ** 9, 0, False

    def run(self):
        while not self.stop:
            pods = pods_of(self.api, self.ns, self.app)
            self.min_ready = min(self.min_ready, ready_count(pods))
            self.max_total = max(self.max_total, len(pods))
            time.sleep(0.03)


def case_rollout(c, api, counter):
    ns = c.ns
    c.k("create", "deployment", "web", "--image=nginx:1.25", "--replicas=3")
    c.k("rollout", "status", "deployment/web", "--timeout=60s")
    expect(len(pods_of(api, ns, "web")) == 3, "3 pods after rollout")
    expect(counter.count(ns) == 3, "3 pods created, saw %d" % counter.count(ns))
    rs = api.get("/apis/apps/v1/namespaces/%s/replicasets" % ns)["items"]
    expect(len(rs) == 1, "one ReplicaSet")
    h = rs[0]["metadata"]["labels"]["pod-template-hash"]
    expect(rs[0]["metadata"]["name"] == "web-" + h, "ReplicaSet named web-<hash>")
    ref = rs[0]["metadata"]["ownerReferences"][0]
    expect(ref["kind"] == "Deployment" and ref["controller"] and ref["blockOwnerDeletion"],
           "controller ref on the ReplicaSet: %r" % ref)
    expect(rs[0]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1", "revision 1")
    d = api.get("/apis/apps/v1/namespaces/%s/deployments/web" % ns)
    conds = {x["type"]: x for x in d["status"]["conditions"]}
    expect(conds["Available"]["status"] == "True", "Available True")
    expect(conds["Progressing"]["reason"] == "NewReplicaSetAvailable", "Progressing reason %r" %
           conds["Progressing"]["reason"])

    # set image rolls within maxUnavailable (25% of 3 rounds down to 0, surge rounds up to 1)
    s = Sampler(api, ns, "web")
    s.start()
    c.k("set", "image", "deployment/web", "nginx=nginx:1.26")
    c.k("rollout", "status", "deployment/web", "--timeout=60s")
    s.stop = True
    s.join()
    expect(s.min_ready >= 3, "ready pods fell to %d during the rollout (maxUnavailable 0)" % s.min_ready)
    expect(s.max_total <= 4, "more than replicas+maxSurge pods: %d" % s.max_total)
    expect(counter.count(ns) == 6, "6 pods ever created, saw %d" % counter.count(ns))
    hist = c.out("rollout", "history", "deployment/web")
    expect(re.search(r"^1\s", hist, re.M) and re.search(r"^2\s", hist, re.M), "history:\n" + hist)

    # undo goes back to the first template (revision 3)
    c.k("rollout", "undo", "deployment/web")
    c.k("rollout", "status", "deployment/web", "--timeout=60s")
    img = c.jsonpath("deployment/web", ".spec.template.spec.containers[0].image")
    expect(img == "nginx:1.25", "image after undo: %s" % img)
    rs = api.get("/apis/apps/v1/namespaces/%s/replicasets" % ns)["items"]
    expect(len(rs) == 2, "undo reuses the old ReplicaSet: %d" % len(rs))
    revs = sorted(r["metadata"]["annotations"]["deployment.kubernetes.io/revision"] for r in rs)
    expect(revs == ["2", "3"], "revisions after undo: %r" % revs)

    # pause: a template change makes no new ReplicaSet until resume
    c.k("rollout", "pause", "deployment/web")
    c.k("set", "image", "deployment/web", "nginx=nginx:1.27")
    time.sleep(1.5)
    expect(len(api.get("/apis/apps/v1/namespaces/%s/replicasets" % ns)["items"]) == 2,
           "paused deployment rolled")
    c.k("rollout", "resume", "deployment/web")
    c.k("rollout", "status", "deployment/web", "--timeout=60s")
    expect(len(api.get("/apis/apps/v1/namespaces/%s/replicasets" % ns)["items"]) == 3, "resume rolls")

    # restart: a template annotation change makes a new ReplicaSet
    c.k("rollout", "restart", "deployment/web")
    c.k("rollout", "status", "deployment/web", "--timeout=60s")
    expect(len(api.get("/apis/apps/v1/namespaces/%s/replicasets" % ns)["items"]) == 4, "restart rolls")

    # scale to 0 and 5
    c.k("scale", "deployment/web", "--replicas=0")
    wait_for("0 pods", lambda: len(pods_of(api, ns, "web")) == 0)
    c.k("scale", "deployment/web", "--replicas=5")
    c.k("rollout", "status", "deployment/web", "--timeout=60s")
    wait_for("5 pods", lambda: len(pods_of(api, ns, "web")) == 5)

    # a burst: expectations keep a cache that lags behind the creations from doubling them
    before = counter.count(ns)
    c.k("scale", "deployment/web", "--replicas=60")
    c.k("rollout", "status", "deployment/web", "--timeout=60s")
    time.sleep(1)
    expect(counter.count(ns) - before == 55, "scale 5 -> 60 created %d pods" % (counter.count(ns) - before))
    c.k("scale", "deployment/web", "--replicas=5")
    wait_for("back to 5 pods", lambda: len(pods_of(api, ns, "web")) == 5)


def case_cascades(c, api):
    ns = c.ns
    # foreground: the Deployment goes only after its pods
    c.k("create", "deployment", "fg", "--image=nginx:1.25", "--replicas=3")
    c.k("rollout", "status", "deployment/fg", "--timeout=60s")
    c.k("delete", "deployment", "fg", "--cascade=foreground", "--wait=false")
    deadline = time.time() + 30
    while True:
        d = api.get("/apis/apps/v1/namespaces/%s/deployments/fg" % ns)
        pods = pods_of(api, ns, "fg") + [p for p in api.get(
            "/api/v1/namespaces/%s/pods?labelSelector=app%%3Dfg" % ns)["items"]]
        if d is None:
            expect(not pods, "Deployment gone while %d pods remain" % len(pods))
            break
        expect(time.time() < deadline, "foreground delete did not finish")
        time.sleep(0.05)
    expect(not api.get("/apis/apps/v1/namespaces/%s/replicasets?labelSelector=app%%3Dfg" % ns)["items"],
           "ReplicaSet left after foreground delete")

    # orphan: ReplicaSet and pods stay, without ownerReferences to the deleted owner
    c.k("create", "deployment", "orph", "--image=nginx:1.25", "--replicas=2")
    c.k("rollout", "status", "deployment/orph", "--timeout=60s")
    c.k("delete", "deployment", "orph", "--cascade=orphan")
    rs = api.get("/apis/apps/v1/namespaces/%s/replicasets?labelSelector=app%%3Dorph" % ns)["items"]
    expect(len(rs) == 1 and not rs[0]["metadata"].get("ownerReferences"),
           "orphaned ReplicaSet: %r" % [r["metadata"].get("ownerReferences") for r in rs])
    rsname = rs[0]["metadata"]["name"]
    c.k("delete", "rs", rsname, "--cascade=orphan")
    time.sleep(1)
    pods = pods_of(api, ns, "orph")
    expect(len(pods) == 2, "orphaned pods stay: %d" % len(pods))
    expect(all(not p["metadata"].get("ownerReferences") for p in pods), "pods keep ownerReferences")

    # background (the default): the ReplicaSet and pods follow
    c.k("create", "deployment", "bg", "--image=nginx:1.25", "--replicas=2")
    c.k("rollout", "status", "deployment/bg", "--timeout=60s")
    c.k("delete", "deployment", "bg")
    wait_for("background cascade", lambda: not api.get(
        "/api/v1/namespaces/%s/pods?labelSelector=app%%3Dbg" % ns)["items"] and not api.get(
        "/apis/apps/v1/namespaces/%s/replicasets?labelSelector=app%%3Dbg" % ns)["items"])

    # a ReplicationController: same controller, map selector, then a background cascade
    c.k("apply", "-f", c.file("""apiVersion: v1
kind: ReplicationController
metadata: {name: rc1}
spec:
  replicas: 3
  selector: {app: rc1}
  template:
    metadata: {labels: {app: rc1}}
    spec: {containers: [{name: c, image: nginx:1.25}]}
"""))
    wait_for("rc status", lambda: (api.get("/api/v1/namespaces/%s/replicationcontrollers/rc1" % ns)
                                   .get("status", {}).get("readyReplicas") == 3))
    pods = pods_of(api, ns, "rc1")
    expect(len(pods) == 3 and all(p["metadata"]["ownerReferences"][0]["kind"] ==
                                  "ReplicationController" for p in pods), "rc pods")
    c.k("scale", "rc", "rc1", "--replicas=1")
    wait_for("rc scaled to 1", lambda: len(pods_of(api, ns, "rc1")) == 1)
    c.k("delete", "rc", "rc1")
    wait_for("rc pods collected", lambda: not api.get(
        "/api/v1/namespaces/%s/pods?labelSelector=app%%3Drc1" % ns)["items"])

    # a bare ReplicaSet adopts a matching orphan pod and releases a relabelled one
    c.k("create", "deployment", "ad", "--image=nginx:1.25", "--replicas=2")
    c.k("rollout", "status", "deployment/ad", "--timeout=60s")
    pods = pods_of(api, ns, "ad")
    victim = pods[0]["metadata"]["name"]
    c.k("label", "pod", victim, "app=gone", "--overwrite")
    wait_for("released pod loses its controller ref", lambda: not (api.get(
        "/api/v1/namespaces/%s/pods/%s" % (ns, victim))["metadata"].get("ownerReferences")))
    wait_for("replacement pod", lambda: len(pods_of(api, ns, "ad")) == 2)
    # relabelled back, it is adopted again and one pod too many is deleted
    c.k("label", "pod", victim, "app=ad", "--overwrite")
    wait_for("adoption, then back to 2 owned pods", lambda: (
        len(pods_of(api, ns, "ad")) == 2 and
        all(p["metadata"].get("ownerReferences") for p in pods_of(api, ns, "ad"))))


class HashSampler(threading.Thread):
    """Records whether pods of two pod-template-hashes of app ever existed together."""

    def __init__(self, api, ns, app):
        super().__init__(daemon=True)
        self.api, self.ns, self.app = api, ns, app
        self.mixed, self.stop = False, False

    def run(self):
        while not self.stop:
            items = self.api.get("/api/v1/namespaces/%s/pods?labelSelector=app%%3D%s" % (
                self.ns, self.app))["items"]
            if len({p["metadata"]["labels"].get("pod-template-hash") for p in items}) > 1:
                self.mixed = True
            time.sleep(0.03)


def case_strategies(c, api, kl):
    ns = c.ns
    # Recreate: old pods are all gone before the first new one exists
    c.k("apply", "-f", c.file("""apiVersion: apps/v1
kind: Deployment
metadata: {name: rec}
spec:
  replicas: 3
  strategy: {type: Recreate}
  selector: {matchLabels: {app: rec}}
  template:
    metadata: {labels: {app: rec}}
    spec: {containers: [{name: c, image: nginx:1.25}]}
"""))
    c.k("rollout", "status", "deployment/rec", "--timeout=60s")
    s = HashSampler(api, ns, "rec")
    s.start()
    c.k("set", "image", "deployment/rec", "c=nginx:1.26")
    c.k("rollout", "status", "deployment/rec", "--timeout=60s")
    s.stop = True
    s.join()
    expect(not s.mixed, "Recreate: old and new pods existed together")
    expect(len(pods_of(api, ns, "rec")) == 3, "Recreate: 3 pods")

    # progressDeadlineSeconds: pods never get ready -> ProgressDeadlineExceeded
    kl.paused = True
    try:
        c.k("apply", "-f", c.file("""apiVersion: apps/v1
kind: Deployment
metadata: {name: stuck}
spec:
  replicas: 2
  progressDeadlineSeconds: 2
  revisionHistoryLimit: 1
  selector: {matchLabels: {app: stuck}}
  template:
    metadata: {labels: {app: stuck}}
    spec: {containers: [{name: c, image: nginx:1.25}]}
"""))
        r = c.k("rollout", "status", "deployment/stuck", "--timeout=30s", ok=None)
        expect(r.returncode != 0 and "exceeded its progress deadline" in r.stderr,
               "rollout status on a stuck rollout: rc=%d %s" % (r.returncode, r.stderr))
        d = api.get("/apis/apps/v1/namespaces/%s/deployments/stuck" % ns)
        conds = {x["type"]: x for x in d["status"]["conditions"]}
        expect(conds["Progressing"]["status"] == "False" and
               conds["Progressing"]["reason"] == "ProgressDeadlineExceeded", "Progressing: %r" %
               conds["Progressing"])
        expect(conds["Available"]["status"] == "False", "Available: %r" % conds["Available"])
    finally:
        kl.paused = False

    def progressed():
        d = api.get("/apis/apps/v1/namespaces/%s/deployments/stuck" % ns)
        return any(x["type"] == "Progressing" and x["reason"] == "NewReplicaSetAvailable"
                   for x in d["status"].get("conditions", []))
    wait_for("NewReplicaSetAvailable once the pods are ready", progressed)
    c.k("rollout", "status", "deployment/stuck", "--timeout=60s")
    # revisionHistoryLimit 1: after two more rollouts only one old ReplicaSet is kept
    for img in ("nginx:1.26", "nginx:1.27"):
        c.k("set", "image", "deployment/stuck", "c=" + img)
        c.k("rollout", "status", "deployment/stuck", "--timeout=60s")
    wait_for("history limit", lambda: len(api.get(
        "/apis/apps/v1/namespaces/%s/replicasets?labelSelector=app%%3Dstuck" % ns)["items"]) == 2)


def rs_sizes(api, ns, app):
    items = api.get("/apis/apps/v1/namespaces/%s/replicasets?labelSelector=app%%3D%s" % (ns, app))["items"]
    items.sort(key=lambda r: int(r["metadata"]["annotations"]["deployment.kubernetes.io/revision"]))
    return [r["spec"]["replicas"] for r in items]


def case_proportional(c, api, kl):
    """Scaling in the middle of a rollout shares the new replicas out proportionally."""
    ns = c.ns
    c.k("apply", "-f", c.file("""apiVersion: apps/v1
kind: Deployment
metadata: {name: prop}
spec:
  replicas: 10
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 3, maxUnavailable: 2}}
  selector: {matchLabels: {app: prop}}
  template:
    metadata: {labels: {app: prop}}
    spec: {containers: [{name: c, image: nginx:1.25}]}
"""))
    c.k("rollout", "status", "deployment/prop", "--timeout=60s")
    kl.paused = True
    try:
        c.k("set", "image", "deployment/prop", "c=nginx:1.26")
        # old 10 -> 8 (maxUnavailable 2), new 0 -> 5 (13 = 10 + maxSurge), nothing ready
        wait_for("stuck mid-rollout at [8, 5]", lambda: rs_sizes(api, ns, "prop") == [8, 5])
        c.k("rollout", "pause", "deployment/prop")
        c.k("scale", "deployment/prop", "--replicas=20")
        # 23 allowed, 10 to add: old round(8*23/13)-8 = 6, new round(5*23/13)-5 = 4
        wait_for("proportional [14, 9]", lambda: rs_sizes(api, ns, "prop") == [14, 9])
    finally:
        kl.paused = False
    c.k("rollout", "resume", "deployment/prop")
    c.k("rollout", "status", "deployment/prop", "--timeout=60s")
    expect(rs_sizes(api, ns, "prop") == [0, 20], "after the rollout: %r" % rs_sizes(api, ns, "prop"))


def case_kill9(c, api, counter, cm):
    ns = c.ns
    c.k("create", "deployment", "k9", "--image=nginx:1.25", "--replicas=8")
    c.k("rollout", "status", "deployment/k9", "--timeout=60s")
    before = counter.count(ns)
    c.k("set", "image", "deployment/k9", "nginx=nginx:1.26")
    wait_for("rollout under way", lambda: counter.count(ns) > before, timeout=20)
    cm.kill9()
    time.sleep(0.5)
    cm.start()
    c.k("rollout", "status", "deployment/k9", "--timeout=90s", timeout=100)
    wait_for("8 pods", lambda: len(pods_of(api, ns, "k9")) == 8)
    made = counter.count(ns) - before
    expect(made == 8, "kill -9 mid-rollout: %d pods created for 8 replicas" % made)


def case_apiserver_restart(c, api, counter, server):
    """The controllers survive an API server restart: their watches resume or relist."""
    ns = c.ns
    c.k("create", "deployment", "rs1", "--image=nginx:1.25", "--replicas=2")
    c.k("rollout", "status", "deployment/rs1", "--timeout=60s")
    server.stop()
    server.start()
    c.k("scale", "deployment/rs1", "--replicas=4")
    c.k("rollout", "status", "deployment/rs1", "--timeout=60s")
    wait_for("4 pods", lambda: len(pods_of(api, ns, "rs1")) == 4)
    c.k("set", "image", "deployment/rs1", "nginx=nginx:1.26")
    c.k("rollout", "status", "deployment/rs1", "--timeout=60s")


def case_namespace(c, api):
    """The namespace controller empties a deleted namespace through discovery (a ConfigMap, a
    Deployment with its ReplicaSet and pods, a Secret held by a finalizer for a while), shows
    upstream's conditions, and finalizes it once nothing is left."""
    ns = c.ns + "-gone"
    c.k("create", "namespace", ns, ns=False)
    c.k("-n", ns, "create", "configmap", "cm1", "--from-literal=a=b", ns=False)
    c.k("-n", ns, "create", "deployment", "web", "--image=busybox", "--replicas=2", ns=False)
    wait_for("2 pods in " + ns, lambda: len(pods_of(api, ns, "web")) == 2)
    api.req("POST", "/api/v1/namespaces/%s/secrets" % ns, {
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "held", "finalizers": ["example.com/hold"]}})
    c.k("delete", "namespace", ns, "--wait=false", ns=False)

    def conds():
        o = api.get("/api/v1/namespaces/" + ns) or {}
        return {x["type"]: x for x in o.get("status", {}).get("conditions", [])}
    cs = wait_for("NamespaceFinalizersRemaining", lambda: (conds().get(
        "NamespaceFinalizersRemaining") or {}).get("status") == "True" and conds())
    expect("example.com/hold in 1 resource instances" in cs["NamespaceFinalizersRemaining"][
        "message"], "finalizers message: %r" % cs["NamespaceFinalizersRemaining"])
    expect(cs["NamespaceContentRemaining"]["reason"] == "SomeResourcesRemain" and
           "secrets. has 1 resource instances" in cs["NamespaceContentRemaining"]["message"],
           "content message: %r" % cs["NamespaceContentRemaining"])
    expect(cs["NamespaceDeletionDiscoveryFailure"]["reason"] == "ResourcesDiscovered", "discovery")
    for path in ("/api/v1/namespaces/%s/configmaps/cm1", "/apis/apps/v1/namespaces/%s/deployments/web"):
        wait_for(path % ns + " gone", lambda: api.get(path % ns) is None)
    expect((api.get("/api/v1/namespaces/" + ns) or {}).get("status", {}).get("phase") ==
           "Terminating", "still Terminating while the secret is held")
    api.req("PATCH", "/api/v1/namespaces/%s/secrets/held" % ns, {"metadata": {"finalizers": None}},
            "application/merge-patch+json")
    wait_for("namespace %s removed" % ns, lambda: api.get("/api/v1/namespaces/" + ns) is None,
             timeout=30)
    expect(not api.get("/api/v1/namespaces/%s/pods" % ns)["items"], "no pods left")


class NodeHeartbeat(threading.Thread):
    """Posts the node's Ready condition every 2 s, as a kubelet would, so that the node
    lifecycle controller leaves the node and its pods alone."""

    def __init__(self, api, node):
        super().__init__(daemon=True)
        self.api, self.node, self.stop = api, node, False

    def run(self):
        while not self.stop:
            try:
                self.api.req("PATCH", "/api/v1/nodes/%s/status" % self.node, {"status": {
                    "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                    "lastHeartbeatTime": now_rfc3339(),
                                    "lastTransitionTime": now_rfc3339()}]}},
                    "application/strategic-merge-patch+json")
            except Exception:  # noqa: BLE001 - the node is gone at the end
                pass
            time.sleep(2)


def case_drain(c, api):
    """The disruption controller keeps PDB status; `kubectl drain` is held back by it."""
    node = "drain-" + c.ns
    api.req("POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node",
                                      "metadata": {"name": node}})
    hb = NodeHeartbeat(api, node)
    hb.start()
    try:
        drain_on(c, api, node)
    finally:
        hb.stop = True


def drain_on(c, api, node):
    for i in range(2):
        api.req("POST", "/api/v1/namespaces/%s/pods" % c.ns, {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "db-%d" % i, "labels": {"app": "db"}},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]}})
    wait_for("2 ready db pods", lambda: ready_count(pods_of(api, c.ns, "db")) == 2)
    c.k("create", "pdb", "db", "--selector=app=db", "--min-available=2")

    def st():
        return (api.get("/apis/policy/v1/namespaces/%s/poddisruptionbudgets/db" % c.ns) or
                {}).get("status", {})
    s = wait_for("pdb status", lambda: st().get("expectedPods") == 2 and st())
    expect(s.get("currentHealthy") == 2 and s.get("desiredHealthy") == 2 and
           s.get("disruptionsAllowed") == 0, "pdb status %r" % s)
    cond = [x for x in s.get("conditions", []) if x["type"] == "DisruptionAllowed"]
    expect(cond and cond[0]["status"] == "False" and cond[0]["reason"] == "InsufficientPods",
           "condition %r" % cond)
    r = c.k("drain", node, "--force", "--timeout=4s", ok=False, ns=False)
    expect(r.returncode != 0 and "disruption budget" in (r.stdout + r.stderr),
           "drain held back by the PDB: %r" % (r.stdout + r.stderr)[-400:])
    expect(len(pods_of(api, c.ns, "db")) == 2, "both pods still there")
    # a Deployment counts its replicas through its controller (maxUnavailable)
    c.k("create", "deployment", "dw", "--image=busybox", "--replicas=3")
    wait_for("3 ready dw pods", lambda: ready_count(pods_of(api, c.ns, "dw")) == 3)
    c.k("create", "pdb", "dw", "--selector=app=dw", "--max-unavailable=1")

    def st2():
        return (api.get("/apis/policy/v1/namespaces/%s/poddisruptionbudgets/dw" % c.ns) or
                {}).get("status", {})
    s2 = wait_for("pdb dw allows 1", lambda: st2().get("disruptionsAllowed") == 1 and st2())
    expect(s2.get("expectedPods") == 3 and s2.get("desiredHealthy") == 2, "pdb dw %r" % s2)
    c.k("patch", "pdb", "db", "--type=merge", "-p", '{"spec":{"minAvailable":0}}')
    wait_for("pdb db allows 2", lambda: st().get("disruptionsAllowed") == 2)
    # no kubelet here to finish a graceful deletion: evict with grace 0
    c.k("drain", node, "--force", "--grace-period=0", "--timeout=30s", ns=False)
    wait_for("db pods evicted", lambda: not pods_of(api, c.ns, "db"))


def case_endpoints(c, api, kl):
    """Endpoints and EndpointSlices follow the selected pods: named targetPorts per pod, ready
    and not-ready addresses, subsets by port set, terminating endpoints in slices; both go
    with the Service."""
    kl.paused = True
    try:
        ns = c.ns
        c.k("apply", "-f", c.file(json.dumps({
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "labels": {"tier": "x"}},
            "spec": {"selector": {"app": "web"}, "ports": [
                {"name": "http", "port": 80, "targetPort": "http"},
                {"name": "raw", "port": 81, "targetPort": 9000}]}})))
        specs = [("web-0", "10.1.0.10", True, True), ("web-1", "10.1.0.11", False, True),
                 ("web-2", "10.1.0.12", True, False)]
        for name, ip, ready, named in specs:
            ctr = {"name": "c", "image": "busybox"}
            if named:
                ctr["ports"] = [{"name": "http", "containerPort": 8080}]
            api.req("POST", "/api/v1/namespaces/%s/pods" % ns, {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "labels": {"app": "web"}},
                "spec": {"nodeName": "n1", "containers": [ctr]}})
            api.req("PATCH", "/api/v1/namespaces/%s/pods/%s/status" % (ns, name), {"status": {
                "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                "lastTransitionTime": now_rfc3339()}]}},
                "application/merge-patch+json")

        def subsets():
            ep = api.get("/api/v1/namespaces/%s/endpoints/web" % ns) or {}
            out = {}
            for s in ep.get("subsets") or []:
                key = tuple(sorted((p.get("name", ""), p["port"]) for p in s.get("ports", [])))
                out[key] = ([a["ip"] for a in s.get("addresses", [])],
                            [a["ip"] for a in s.get("notReadyAddresses", [])])
            return out
        want = {(("http", 8080), ("raw", 9000)): (["10.1.0.10"], ["10.1.0.11"]),
                (("raw", 9000),): (["10.1.0.12"], [])}
        wait_for("endpoints subsets", lambda: subsets() == want)
        ep = api.get("/api/v1/namespaces/%s/endpoints/web" % ns)
        expect(ep["metadata"].get("labels", {}).get("tier") == "x", "service labels copied")
        addr = ep["subsets"][0]["addresses"][0] if ep["subsets"][0].get("addresses") else \
            ep["subsets"][1]["addresses"][0]
        expect(addr.get("nodeName") == "n1" and addr["targetRef"]["kind"] == "Pod", "address %r" % addr)

        def slices():
            items = api.get("/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices?labelSelector="
                            "kubernetes.io%%2Fservice-name%%3Dweb" % ns)["items"]
            out = {}
            for s in items:
                key = tuple(sorted((p.get("name", ""), p["port"]) for p in s.get("ports") or []))
                for e in s.get("endpoints") or []:
                    out.setdefault(key, {})[e["addresses"][0]] = (
                        e["conditions"].get("ready"), e["conditions"].get("terminating"))
            return out, items
        want_s = {(("http", 8080), ("raw", 9000)): {"10.1.0.10": (True, False),
                                                    "10.1.0.11": (False, False)},
                  (("raw", 9000),): {"10.1.0.12": (True, False)}}
        wait_for("endpoint slices", lambda: slices()[0] == want_s)
        items = slices()[1]
        expect(len(items) == 2 and all(
            s["metadata"]["labels"].get("endpointslice.kubernetes.io/managed-by") ==
            "endpointslice-controller.k8s.io" and s["addressType"] == "IPv4" and
            s["metadata"]["ownerReferences"][0]["kind"] == "Service" for s in items),
            "slice metadata %r" % [s["metadata"] for s in items])
        # a terminating pod leaves Endpoints but stays in its slice as terminating
        api.req("DELETE", "/api/v1/namespaces/%s/pods/web-0" % ns)
        want[(("http", 8080), ("raw", 9000))] = ([], ["10.1.0.11"])
        wait_for("endpoints without web-0", lambda: subsets() == want)
        wait_for("web-0 terminating in its slice", lambda: slices()[0].get(
            (("http", 8080), ("raw", 9000)), {}).get("10.1.0.10") == (False, True))
        c.k("delete", "service", "web")
        wait_for("endpoints gone", lambda: api.get("/api/v1/namespaces/%s/endpoints/web" % ns) is None)
        wait_for("slices gone", lambda: not slices()[1])
    finally:
        kl.paused = False


def case_nodelifecycle(c, api):
    """A node whose Lease and status stop: Ready Unknown, the unreachable taints, its pods not
    ready; a pod tolerating the taint for 2 s is deleted, one tolerating it for ever and one
    with the API server's default 300 s stay; a fresh heartbeat removes the taints."""
    node = "nl-" + c.ns

    def micro(t):
        return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(t))
    api.req("POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": node}})
    api.req("PATCH", "/api/v1/nodes/%s/status" % node, {"status": {"conditions": [
        {"type": "Ready", "status": "True", "reason": "KubeletReady", "lastHeartbeatTime": now_rfc3339(),
         "lastTransitionTime": now_rfc3339()}]}}, "application/strategic-merge-patch+json")
    api.req("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", {
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": node},
        "spec": {"holderIdentity": node, "leaseDurationSeconds": 40, "renewTime": micro(time.time())}})
    tol = {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"}
    for name, extra in (("short", dict(tol, tolerationSeconds=2)), ("forever", tol), ("default", None)):
        spec = {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]}
        if extra:
            spec["tolerations"] = [extra]
        api.req("POST", "/api/v1/namespaces/%s/pods" % c.ns, {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nl-" + name, "labels": {"app": "nl"}},
            "spec": spec})
    wait_for("3 ready pods", lambda: ready_count(pods_of(api, c.ns, "nl")) == 3)
    # the node falls silent: grace 15 s (--node-monitor-grace-period), checked every 5 s

    def node_obj():
        return api.get("/api/v1/nodes/" + node) or {}

    def ready_cond():
        return [x for x in node_obj().get("status", {}).get("conditions", []) if x["type"] == "Ready"][0]
    wait_for("Ready Unknown", lambda: ready_cond()["status"] == "Unknown", timeout=45)
    rc = ready_cond()
    expect(rc.get("reason") == "NodeStatusUnknown" and rc.get("message") ==
           "Kubelet stopped posting node status.", "ready condition %r" % rc)
    wait_for("unreachable taints", lambda: sorted(t["effect"] for t in node_obj().get("spec", {}).get(
        "taints", []) if t["key"] == "node.kubernetes.io/unreachable") == ["NoExecute", "NoSchedule"])

    def deleting(name):
        p = api.get("/api/v1/namespaces/%s/pods/nl-%s" % (c.ns, name))
        return p is None or bool(p["metadata"].get("deletionTimestamp"))
    wait_for("nl-short deleted after 2 s", lambda: deleting("short"), timeout=20)
    time.sleep(3)
    expect(not deleting("forever") and not deleting("default"), "the other pods stay")
    p = api.get("/api/v1/namespaces/%s/pods/nl-forever" % c.ns)
    expect(not ready_count([p]), "pods on the node are not Ready any more")
    # back to life
    api.req("PATCH", "/api/v1/nodes/%s/status" % node, {"status": {"conditions": [
        {"type": "Ready", "status": "True", "reason": "KubeletReady", "lastHeartbeatTime": now_rfc3339(),
         "lastTransitionTime": now_rfc3339()}]}}, "application/strategic-merge-patch+json")
    wait_for("taints removed", lambda: not [t for t in node_obj().get("spec", {}).get("taints", [])
                                            if t["key"].startswith("node.kubernetes.io/")], timeout=20)
    api.req("DELETE", "/api/v1/nodes/" + node)


def case_podgc(c, api, kl):
    """Terminated pods beyond --terminated-pod-gc-threshold (5 here) are deleted, oldest
    first."""
    kl.paused = True  # it would mark the Succeeded pods Running again
    try:
        podgc_run(c, api)
    finally:
        kl.paused = False


def podgc_run(c, api):
    names = ["gc-%d" % i for i in range(7)]
    node = "gc-" + c.ns  # exists: pods on a missing node would be orphans
    api.req("POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": node}})
    for n in names:
        api.req("POST", "/api/v1/namespaces/%s/pods" % c.ns, {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": n, "labels": {"app": "gc"}},
            "spec": {"nodeName": node, "restartPolicy": "Never",
                     "containers": [{"name": "c", "image": "busybox"}]}})
        api.req("PATCH", "/api/v1/namespaces/%s/pods/%s/status" % (c.ns, n),
                {"status": {"phase": "Succeeded"}}, "application/merge-patch+json")
        time.sleep(1.1)  # distinct creationTimestamps
    wait_for("2 oldest terminated pods deleted", lambda: sorted(
        p["metadata"]["name"] for p in pods_of(api, c.ns, "gc")) == names[2:], timeout=60)
    api.req("DELETE", "/api/v1/nodes/" + node)


def main():
    binary = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="ckube-ctrl-")
    server = Server(binary, os.path.join(tmp, "data"), ["--namespace-deletion=controller"])
    failed = 0
    cm = None
    kl = None
    try:
        server.start()
        api = Api(server)
        counter = PodCounter(server)
        counter.start()
        kl = FakeKubelet(api)
        kl.start()
        cm = CM(binary, server.kubeconfig, tmp)
        # grace 15 s: longer than any case on a node without heartbeats takes
        cm.start("--node-monitor-grace-period", "15", "--terminated-pod-gc-threshold", "5")
        expect(cm.get("/healthz") == "ok", "/healthz")
        lease = wait_for("lease", lambda: (api.get(
            "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager")
            or {}).get("spec", {}).get("holderIdentity"))
        print("ok lease held by %s" % lease)
        cases = []
        for ver in ("1.27", "1.33"):
            kc = kubectl_path(ver)
            if not kc:
                print("SKIP kubectl %s missing" % ver)
                continue
            for name, fn in (("rollout", case_rollout), ("cascades", case_cascades),
                             ("strategies", case_strategies), ("proportional", case_proportional),
                             ("namespace", case_namespace), ("drain", case_drain),
                             ("endpoints", case_endpoints), ("nodelifecycle", case_nodelifecycle),
                             ("podgc", case_podgc),
                             ("kill9", case_kill9), ("apiserver-restart", case_apiserver_restart)):
                if name in ("kill9", "apiserver-restart") and ver != "1.33":
                    continue  # once is enough: the kill -9 restart waits out the lease
                cases.append((ver, name, fn, kc))
        for ver, name, fn, kc in cases:
            ns = "t-%s-%s" % (name.replace("apiserver-", "as"), ver.replace(".", ""))
            server.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                               "metadata": {"name": ns}})
            wd = os.path.join(tmp, ns)
            os.makedirs(wd)
            c = Ctx(kc, server, wd, ns)
            t0 = time.time()
            try:
                if fn is case_rollout:
                    fn(c, api, counter)
                elif fn is case_kill9:
                    fn(c, api, counter, cm)
                elif fn in (case_strategies, case_proportional, case_endpoints, case_podgc):
                    fn(c, api, kl)
                elif fn is case_apiserver_restart:
                    fn(c, api, counter, server)
                else:
                    fn(c, api)
                print("ok %s kubectl %s (%.1fs)" % (name, ver, time.time() - t0))
            except Fail as e:
                failed += 1
                print("FAIL %s kubectl %s: %s" % (name, ver, e))
        m = cm.get("/metrics")
        expect_in("ckube_controller_syncs_total{controller=\"replicaset\"}", m, "metrics")
        cm.stop()
    except Fail as e:
        failed += 1
        print("FAIL setup: %s" % e)
    finally:
        if kl:
            kl.stop = True
        if cm and cm.proc and cm.proc.poll() is None:
            cm.proc.kill()
        try:
            server.stop()
        except Fail as e:
            print("FAIL %s" % e)
            failed += 1
    if failed:
        print("logs kept in %s" % tmp)
        for f in sorted(os.listdir(tmp)):
            if f.endswith(".log"):
                print("---- %s (tail)" % f)
                with open(os.path.join(tmp, f), errors="replace") as fh:
                    print("".join(fh.readlines()[-30:]))
        sys.exit(1)
    if os.environ.get("CKUBE_KEEP"):
        print("logs kept in %s" % tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print("controllers: all passed")


if __name__ == "__main__":
    main()
