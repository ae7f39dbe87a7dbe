#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""StatefulSets and DaemonSets on a three-node hollow cluster, driven by kubectl 1.27 and 1.33.

`ckube server --agent-hollow 3 --scheduler` (API server, scheduler, a hollow agent with nodes
hollow-node-0..2) plus a separate `ckube controller-manager`. A pod watch records every event
of the test namespace, so ordering claims are checked on what a client saw:

  sts: a StatefulSet of 3 (OrderedReady, a volumeClaimTemplate) comes up in order (web-n+1 is
       ADDED only after web-n was seen Ready), its PVCs data-web-N exist, pods carry their stable
       identity and the update revision; `rollout status`; `set image` deletes web-2, web-1,
       web-0 in that order; a partition of 2 updates only web-2; `rollout history` lists the
       ControllerRevisions and `rollout undo` brings the previous image back; `scale
       --replicas=1` removes web-2 before web-1 and keeps the claims (Retain); deleted with
       --cascade=orphan and re-created, the set adopts its pod and revisions. A Parallel set
       whose pods cannot be scheduled still gets all three pods; with the retention policy
       Delete/Delete its claims go with scaled-down pods and with the set.
  ds:  with hollow-node-2 tainted NoSchedule (a key of the test's own), a DaemonSet puts one pod
       on each of the two other nodes, and one that tolerates the taint on all three; pods
       carry upstream's added tolerations and a metadata.name node affinity the scheduler
       honours; `rollout status ds`; `set image` rolls with never more than maxUnavailable (1)
       pod down; `rollout history ds` and `rollout undo ds` (the old revision is renumbered);
       with maxSurge 1 / maxUnavailable 0 an update never has fewer than 3 Ready pods;
       removing the taint adds the third pod.

usage: workloads_test.py CKUBE_BIN"""

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
from ckubetest import Ctx, Fail, Server, expect, expect_in, kubectl_path, wait_for  # noqa: E402

NODES = ["hollow-node-0", "hollow-node-1", "hollow-node-2"]
TAINT_KEY = "wl-test.ckube.io/keep-off"
PAR_LABEL = "wl-test.ckube.io/par"


def wait(fn, what, timeout=60):
    return wait_for(what, fn, timeout, 0.2)


def is_ready(p):
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in p.get("status", {}).get("conditions", []))


class CM:
    """`ckube controller-manager` against the server (its own process and log)."""

    def __init__(self, binary, kubeconfig, logdir):
        self.binary, self.kubeconfig, self.logdir = binary, kubeconfig, logdir
        self.proc = None

    def start(self):
        log = open(os.path.join(self.logdir, "cm.log"), "ab")
        self.proc = subprocess.Popen([self.binary, "controller-manager", "--kubeconfig",
                                      self.kubeconfig, "--secure-port", "0", "-v", "2"],
                                     stdout=subprocess.DEVNULL, stderr=log)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise Fail("controller-manager did not exit within 20 s of SIGTERM")
            if rc != 0:
                raise Fail("controller-manager exited %d after SIGTERM (see cm.log)" % rc)


class PodWatch(threading.Thread):
    """Every pod event of one namespace, in order: (type, name, ready, deleting, revision)."""

    def __init__(self, server, ns):
        super().__init__(daemon=True)
        self.port, self.ns = server.pport, ns
        self.events, self.lock, self.stop = [], threading.Lock(), False

    def run(self):
        rv = None
        for _ in range(1000):  # reconnects, bounded
            if self.stop:
                return
            url = "http://127.0.0.1:%d/api/v1/namespaces/%s/pods?watch=1&timeoutSeconds=300" % (
                self.port, self.ns)
            if rv:
                url += "&resourceVersion=" + rv
            try:
                with urllib.request.urlopen(url, timeout=310) as r:
                    for line in r:
                        if self.stop:
                            return
                        ev = json.loads(line)
                        o = ev["object"]
                        md = o.get("metadata", {})
                        if ev["type"] == "ERROR":
                            rv = None
                            break
                        rv = md.get("resourceVersion", rv)
                        with self.lock:
                            self.events.append((ev["type"], md.get("name"), is_ready(o),
                                                bool(md.get("deletionTimestamp")),
                                                md.get("labels", {}).get("controller-revision-hash")))
            except Exception:  # noqa: BLE001 - reconnect
                time.sleep(0.2)

    def snapshot(self):
        with self.lock:
            return list(self.events)

    def first(self, pred, start=0):
        """Index of the first event from start matching pred, or None."""
        ev = self.snapshot()
        for i in range(start, len(ev)):
            if pred(ev[i]):
                return i
        return None


def gone_index(w, name, start=0):
    """The first event from start where pod name was deleted or began terminating."""
    return w.first(lambda e: e[1] == name and (e[0] == "DELETED" or e[3]), start)


def get(c, *args):
    return json.loads(c.out("get", *args, "-o", "json"))


def sts_pods(c):
    items = get(c, "pods", "-l", "app=web")["items"]
    return {p["metadata"]["name"]: p for p in items}


def image_of(p):
    return p["spec"]["containers"][0]["image"]


STS = """apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: nginx, image: "nginx:1.25"}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
"""


def settled(c, image, n):
    """All n pods Ready at image and the status says the rollout is complete."""
    pods = sts_pods(c)
    if len(pods) != n or not all(is_ready(p) and image_of(p) == image
                                 and not p["metadata"].get("deletionTimestamp")
                                 for p in pods.values()):
        return None
    st = get(c, "sts", "web")["status"]
    if st.get("currentRevision") != st.get("updateRevision") or st.get("updatedReplicas") != n:
        return None
    return pods


def case_sts(c, srv):
    w = PodWatch(srv, c.ns)
    w.start()
    time.sleep(0.3)
    c.k("apply", "-f", c.file(STS))
    c.k("rollout", "status", "sts/web", "--timeout=90s", timeout=120)
    pods = wait(lambda: settled(c, "nginx:1.25", 3), "3 pods Ready")
    # ordered creation: web-(n+1) only after web-n was seen Ready
    for n in (1, 2):
        added = w.first(lambda e, n=n: e[0] == "ADDED" and e[1] == "web-%d" % n)
        ready = w.first(lambda e, n=n: e[1] == "web-%d" % (n - 1) and e[2])
        expect(added is not None and ready is not None and ready < added,
               "web-%d created (event %s) before web-%d was Ready (event %s)" % (n, added, n - 1, ready))
    sts = get(c, "sts", "web")
    st = sts["status"]
    upd = st["updateRevision"]
    for k, v in (("replicas", 3), ("readyReplicas", 3), ("currentReplicas", 3),
                 ("updatedReplicas", 3), ("availableReplicas", 3)):
        expect(st.get(k) == v, "status.%s = %r, want %d" % (k, st.get(k), v))
    expect(st.get("observedGeneration") == sts["metadata"]["generation"], "observedGeneration")
    expect(st.get("currentRevision") == upd, "currentRevision == updateRevision")
    for i in range(3):
        p = pods["web-%d" % i]
        lb = p["metadata"]["labels"]
        expect(lb.get("statefulset.kubernetes.io/pod-name") == "web-%d" % i, "pod-name label")
        expect(lb.get("apps.kubernetes.io/pod-index") == str(i), "pod-index label")
        expect(lb.get("controller-revision-hash") == upd, "revision label %r" % lb)
        expect(p["spec"].get("hostname") == "web-%d" % i and p["spec"].get("subdomain") == "web",
               "hostname/subdomain %r/%r" % (p["spec"].get("hostname"), p["spec"].get("subdomain")))
        vols = {v["name"]: v for v in p["spec"].get("volumes", [])}
        expect(vols.get("data", {}).get("persistentVolumeClaim", {}).get("claimName") ==
               "data-web-%d" % i, "claim volume %r" % vols.get("data"))
    pvcs = {p["metadata"]["name"]: p for p in get(c, "pvc")["items"]}
    expect(sorted(pvcs) == ["data-web-0", "data-web-1", "data-web-2"], "PVCs %s" % sorted(pvcs))
    expect(pvcs["data-web-0"]["metadata"].get("labels", {}).get("app") == "web", "PVC labels")
    crs = get(c, "controllerrevisions")["items"]
    expect(len(crs) == 1, "%d ControllerRevisions" % len(crs))
    cr = crs[0]
    h = cr["metadata"]["labels"].get("controller.kubernetes.io/hash")
    expect(h and cr["metadata"]["name"] == "web-" + h and cr["metadata"]["name"] == upd,
           "revision name %s, hash %s" % (cr["metadata"]["name"], h))
    expect(cr.get("revision") == 1, "revision number %r" % cr.get("revision"))
    ref = cr["metadata"]["ownerReferences"][0]
    expect(ref["kind"] == "StatefulSet" and ref["controller"], "revision owner %r" % ref)
    expect(cr["data"]["spec"]["template"].get("$patch") == "replace", "revision data")

    # set image: reverse ordinal order
    mark = len(w.snapshot())
    c.k("set", "image", "sts/web", "nginx=nginx:1.26")
    c.k("rollout", "status", "sts/web", "--timeout=90s", timeout=120)
    wait(lambda: settled(c, "nginx:1.26", 3), "3 pods at nginx:1.26")
    order = [gone_index(w, "web-%d" % i, mark) for i in (2, 1, 0)]
    expect(None not in order and order == sorted(order),
           "update deleted web-2, web-1, web-0 at events %s" % order)
    # a pod is replaced only after the higher one is back and Ready
    back2 = w.first(lambda e: e[0] == "ADDED" and e[1] == "web-2", mark)
    ready2 = w.first(lambda e: e[1] == "web-2" and e[2] and not e[3], back2 or mark)
    expect(ready2 is not None and ready2 < order[1], "web-1 went before web-2 was Ready again")

    # partition 2: only web-2 moves
    c.k("patch", "sts", "web", "-p", '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":2}}}}')
    c.k("set", "image", "sts/web", "nginx=nginx:1.27")
    out = c.out("rollout", "status", "sts/web", "--timeout=90s", timeout=120)
    expect_in("partitioned roll out complete", out, "rollout status")
    wait(lambda: sts_pods(c).get("web-2", {}).get("spec") and is_ready(sts_pods(c)["web-2"]) and
         image_of(sts_pods(c)["web-2"]) == "nginx:1.27", "web-2 at nginx:1.27")
    time.sleep(2)
    pods = sts_pods(c)
    expect(image_of(pods["web-0"]) == "nginx:1.26" and image_of(pods["web-1"]) == "nginx:1.26",
           "the partition held: %s" % {k: image_of(v) for k, v in pods.items()})
    st = get(c, "sts", "web")["status"]
    expect(st.get("updatedReplicas") == 1 and st.get("currentReplicas") == 2,
           "partitioned status %r" % st)
    c.k("patch", "sts", "web", "-p", '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}')
    c.k("rollout", "status", "sts/web", "--timeout=90s", timeout=120)
    wait(lambda: settled(c, "nginx:1.27", 3), "3 pods at nginx:1.27")

    # history and undo
    hist = c.out("rollout", "history", "sts/web")
    revs = re.findall(r"^(\d+)\s", hist, re.M)
    expect(revs == ["1", "2", "3"], "rollout history revisions %s:\n%s" % (revs, hist))
    c.k("rollout", "undo", "sts/web")
    c.k("rollout", "status", "sts/web", "--timeout=90s", timeout=120)
    wait(lambda: settled(c, "nginx:1.26", 3), "undo back to nginx:1.26")
    crs = get(c, "controllerrevisions")["items"]
    by_rev = sorted((cr["revision"], cr["metadata"]["name"]) for cr in crs)
    expect([r for r, _ in by_rev] == [1, 3, 4], "revisions after undo: %s" % by_rev)
    expect(get(c, "sts", "web")["status"]["updateRevision"] == by_rev[-1][1],
           "updateRevision is the renumbered revision")

    # scale down: highest ordinal first, claims retained
    mark = len(w.snapshot())
    c.k("scale", "sts", "web", "--replicas=1")
    wait(lambda: list(sts_pods(c)) == ["web-0"], "scale down to web-0")
    g2, g1 = gone_index(w, "web-2", mark), gone_index(w, "web-1", mark)
    expect(g2 is not None and g1 is not None and g2 < g1, "web-2 (%s) went before web-1 (%s)" % (g2, g1))
    pvcs = sorted(p["metadata"]["name"] for p in get(c, "pvc")["items"])
    expect(pvcs == ["data-web-0", "data-web-1", "data-web-2"], "claims retained: %s" % pvcs)
    st = wait(lambda: (lambda s: s if s.get("replicas") == 1 and s.get("readyReplicas") == 1 else None)(
        get(c, "sts", "web")["status"]), "status replicas 1")
    # orphan, then re-create: the new set adopts the pod and the revisions, creates nothing
    spec = get(c, "sts", "web")["spec"]
    pod_uid = sts_pods(c)["web-0"]["metadata"]["uid"]
    cr_names = sorted(cr["metadata"]["name"] for cr in get(c, "controllerrevisions")["items"])
    c.k("delete", "sts", "web", "--cascade=orphan")
    wait(lambda: not sts_pods(c)["web-0"]["metadata"].get("ownerReferences"), "web-0 orphaned")
    c.k("create", "-f", "-", stdin=json.dumps({"apiVersion": "apps/v1", "kind": "StatefulSet",
                                               "metadata": {"name": "web"}, "spec": spec}))
    uid = get(c, "sts", "web")["metadata"]["uid"]

    def adopted():
        pods = sts_pods(c)
        crs = get(c, "controllerrevisions")["items"]
        owners = {r["uid"] for x in list(pods.values()) + crs
                  for r in x["metadata"].get("ownerReferences", [])}
        return (list(pods) == ["web-0"] and owners == {uid} and
                sorted(cr["metadata"]["name"] for cr in crs) == cr_names)
    wait(adopted, "the pod and the revisions adopted by the new set")
    c.k("rollout", "status", "sts/web", "--timeout=60s", timeout=90)
    expect(sts_pods(c)["web-0"]["metadata"]["uid"] == pod_uid, "web-0 was replaced on adoption")
    w.stop = True
    c.k("delete", "sts", "web", "--wait=false")
    c.k("delete", "svc", "web")
    c.k("delete", "pvc", "data-web-0", "data-web-1", "data-web-2", "--wait=false")
    case_sts_parallel(c, srv)


PAR = """apiVersion: apps/v1
kind: StatefulSet
metadata: {name: par}
spec:
  serviceName: par
  replicas: 3
  podManagementPolicy: Parallel
  persistentVolumeClaimRetentionPolicy: {whenScaled: Delete, whenDeleted: Delete}
  selector: {matchLabels: {app: par}}
  template:
    metadata: {labels: {app: par}}
    spec:
      nodeSelector: {wl-test.ckube.io/par: "yes"}
      containers: [{name: nginx, image: "nginx:1.25"}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
"""


def case_sts_parallel(c, srv):
    """Parallel: all pods created at once; claims follow the retention policy (Delete)."""
    w = PodWatch(srv, c.ns)
    w.start()
    time.sleep(0.3)
    # no node matches the selector yet: the pods stay Pending, and Parallel creates all three
    c.k("apply", "-f", c.file(PAR))
    wait(lambda: sorted(p["metadata"]["name"] for p in get(c, "pods", "-l", "app=par")["items"])
         == ["par-0", "par-1", "par-2"], "3 Pending pods of a Parallel set")
    expect(not any(e[2] for e in w.snapshot()), "no pod was Ready")
    c.k("label", "node", NODES[0], PAR_LABEL + "=yes", ns=False)
    try:
        c.k("rollout", "status", "sts/par", "--timeout=60s", timeout=90)
    finally:
        c.k("label", "node", NODES[0], PAR_LABEL + "-", ns=False, ok=None)
    pvcs = {p["metadata"]["name"]: p for p in get(c, "pvc")["items"]
            if p["metadata"]["name"].startswith("data-par-")}
    expect(sorted(pvcs) == ["data-par-0", "data-par-1", "data-par-2"], "PVCs %s" % sorted(pvcs))
    refs = pvcs["data-par-0"]["metadata"].get("ownerReferences", [])
    expect([r["kind"] for r in refs] == ["StatefulSet"], "whenDeleted=Delete: owner %r" % refs)
    # whenScaled=Delete: the claims of the removed pods go with them (garbage collector)
    c.k("scale", "sts", "par", "--replicas=1")
    wait(lambda: sorted(p["metadata"]["name"] for p in get(c, "pvc")["items"]
                        if p["metadata"]["name"].startswith("data-par-")) == ["data-par-0"],
         "claims of par-1 and par-2 deleted")
    # whenDeleted=Delete: the last claim goes with the set
    c.k("delete", "sts", "par")
    wait(lambda: not [p for p in get(c, "pvc")["items"]
                      if p["metadata"]["name"].startswith("data-par-")], "claim of par-0 deleted")
    w.stop = True


DS = """apiVersion: apps/v1
kind: DaemonSet
metadata: {name: %(name)s}
spec:
  selector: {matchLabels: {app: %(name)s}}
  updateStrategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 1}}
  template:
    metadata: {labels: {app: %(name)s}}
    spec:
      containers: [{name: c, image: "busybox:1.36"}]
%(tol)s
"""

TOL = """      tolerations: [{key: "%s", operator: Exists, effect: NoSchedule}]""" % TAINT_KEY


def ds_pods(c, name):
    items = get(c, "pods", "-l", "app=" + name)["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def case_ds(c, srv):
    c.k("taint", "node", NODES[2], TAINT_KEY + "=x:NoSchedule", ns=False)
    try:
        c.k("apply", "-f", c.file(DS % {"name": "dsa", "tol": ""}))
        c.k("apply", "-f", c.file(DS % {"name": "dsb", "tol": TOL}))
        for name, want in (("dsa", NODES[:2]), ("dsb", NODES)):
            c.k("rollout", "status", "ds/" + name, "--timeout=60s", timeout=90)
            pods = wait(lambda name=name, want=want: (lambda ps: ps if sorted(
                p["spec"].get("nodeName", "") for p in ps) == want and all(map(is_ready, ps)) else None)(
                ds_pods(c, name)), "%s on %s" % (name, want))
            st = get(c, "ds", name)["status"]
            n = len(want)
            for k in ("desiredNumberScheduled", "currentNumberScheduled", "numberReady",
                      "updatedNumberScheduled", "numberAvailable"):
                expect(st.get(k) == n, "%s status.%s = %r, want %d" % (name, k, st.get(k), n))
            expect(not st.get("numberMisscheduled") and not st.get("numberUnavailable"),
                   "%s status %r" % (name, st))
            p = pods[0]
            keys = {(t.get("key"), t.get("effect")) for t in p["spec"].get("tolerations", [])}
            for k, e in (("node.kubernetes.io/not-ready", "NoExecute"),
                         ("node.kubernetes.io/unreachable", "NoExecute"),
                         ("node.kubernetes.io/disk-pressure", "NoSchedule"),
                         ("node.kubernetes.io/memory-pressure", "NoSchedule"),
                         ("node.kubernetes.io/pid-pressure", "NoSchedule"),
                         ("node.kubernetes.io/unschedulable", "NoSchedule")):
                expect((k, e) in keys, "%s toleration %s:%s missing: %s" % (name, k, e, keys))
            for p in pods:
                terms = p["spec"]["affinity"]["nodeAffinity"][
                    "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
                f = terms[0]["matchFields"][0]
                expect(f["key"] == "metadata.name" and f["values"] == [p["spec"]["nodeName"]],
                       "node affinity %r on %s" % (f, p["spec"]["nodeName"]))
                expect(p["metadata"]["labels"].get("controller-revision-hash"), "hash label")
        # rolling update of dsb within maxUnavailable 1
        low = [3]
        stop = [False]

        def sample():
            for _ in range(3000):
                if stop[0]:
                    return
                try:
                    ps = ds_pods(c, "dsb")
                    low[0] = min(low[0], sum(1 for p in ps if is_ready(p)))
                except Fail:
                    pass
                time.sleep(0.05)
        t = threading.Thread(target=sample, daemon=True)
        t.start()
        old_hash = ds_pods(c, "dsb")[0]["metadata"]["labels"]["controller-revision-hash"]
        c.k("set", "image", "ds/dsb", "c=busybox:1.37")
        c.k("rollout", "status", "ds/dsb", "--timeout=90s", timeout=120)
        stop[0] = True
        t.join()
        pods = wait(lambda: (lambda ps: ps if len(ps) == 3 and all(
            image_of(p) == "busybox:1.37" and is_ready(p) for p in ps) else None)(ds_pods(c, "dsb")),
            "dsb rolled to busybox:1.37")
        hashes = {p["metadata"]["labels"]["controller-revision-hash"] for p in pods}
        expect(len(hashes) == 1 and old_hash not in hashes, "hashes after update %s" % hashes)
        expect(low[0] >= 2, "a watch saw %d ready pods (maxUnavailable 1 of 3)" % low[0])
        hist = c.out("rollout", "history", "ds/dsb")
        revs = re.findall(r"^(\d+)\s", hist, re.M)
        expect(revs == ["1", "2"], "rollout history ds: %s\n%s" % (revs, hist))
        crs = [cr for cr in get(c, "controllerrevisions")["items"]
               if cr["metadata"]["ownerReferences"][0]["name"] == "dsb"]
        expect(all(cr["metadata"]["name"] == "dsb-" + cr["metadata"]["labels"]["controller-revision-hash"]
                   for cr in crs), "ds revision names")
        c.k("rollout", "undo", "ds/dsb")
        c.k("rollout", "status", "ds/dsb", "--timeout=90s", timeout=120)
        pods = wait(lambda: (lambda ps: ps if len(ps) == 3 and all(
            image_of(p) == "busybox:1.36" and is_ready(p) for p in ps) else None)(ds_pods(c, "dsb")),
            "dsb back at busybox:1.36")
        expect({p["metadata"]["labels"]["controller-revision-hash"] for p in pods} == {old_hash},
               "undo reuses the first revision's hash")
        revs = sorted(cr["revision"] for cr in get(c, "controllerrevisions")["items"]
                      if cr["metadata"]["ownerReferences"][0]["name"] == "dsb")
        expect(revs == [2, 3], "ds revisions after undo: %s" % revs)
        # maxSurge 1, maxUnavailable 0: a new pod is Ready on a node before the old one goes
        c.k("patch", "ds", "dsb", "-p", '{"spec":{"updateStrategy":{"rollingUpdate":'
            '{"maxSurge":1,"maxUnavailable":0}}}}')
        low[0], most, stop[0] = 3, [0], False

        def sample_surge():
            for _ in range(3000):
                if stop[0]:
                    return
                try:
                    ps = ds_pods(c, "dsb")
                    low[0] = min(low[0], sum(1 for p in ps if is_ready(p)))
                    most[0] = max(most[0], len(ps))
                except Fail:
                    pass
                time.sleep(0.05)
        t = threading.Thread(target=sample_surge, daemon=True)
        t.start()
        c.k("set", "image", "ds/dsb", "c=busybox:1.35")
        c.k("rollout", "status", "ds/dsb", "--timeout=90s", timeout=120)
        wait(lambda: (lambda ps: len(ps) == 3 and all(
            image_of(p) == "busybox:1.35" and is_ready(p) for p in ps))(ds_pods(c, "dsb")),
            "dsb surged to busybox:1.35")
        stop[0] = True
        t.join()
        expect(low[0] >= 3, "surge: a watch saw only %d ready pods" % low[0])
        expect(most[0] <= 4, "surge: %d pods at once (maxSurge 1)" % most[0])
    finally:
        c.k("taint", "node", NODES[2], TAINT_KEY + ":NoSchedule-", ns=False, ok=None)
    wait(lambda: sorted(p["spec"].get("nodeName", "") for p in ds_pods(c, "dsa")) == NODES,
         "dsa on the untainted third node")
    c.k("delete", "ds", "dsa", "dsb", "--wait=false")


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    binary = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="ckube-wl-")
    srv = Server(binary, os.path.join(tmp, "d"), ["--agent-hollow", "3", "--scheduler"])
    cm = CM(binary, None, tmp)
    failed = 0
    try:
        srv.start()
        cm.kubeconfig = srv.kubeconfig
        cm.start()

        def nodes_ready():
            items = srv.get_json("/api/v1/nodes")["items"]
            names = sorted(n["metadata"]["name"] for n in items if any(
                x["type"] == "Ready" and x["status"] == "True"
                for x in n.get("status", {}).get("conditions", [])))
            return names == NODES
        wait(nodes_ready, "3 Ready hollow nodes")
        for ver in ("1.27", "1.33"):
            kc = kubectl_path(ver)
            if not kc:
                print("SKIP kubectl %s missing" % ver)
                continue
            for name, fn in (("sts", case_sts), ("ds", case_ds)):
                ns = "wl-%s-%s" % (name, ver.replace(".", ""))
                srv.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                "metadata": {"name": ns}})
                wd = os.path.join(tmp, ns)
                os.makedirs(wd)
                c = Ctx(kc, srv, wd, ns)
                t0 = time.time()
                try:
                    fn(c, srv)
                    print("ok %s kubectl %s (%.1fs)" % (name, ver, time.time() - t0), flush=True)
                except Fail as e:
                    failed += 1
                    print("FAIL %s kubectl %s: %s" % (name, ver, e), flush=True)
        cm.stop()
        srv.stop()
    except Fail as e:
        failed += 1
        print("FAIL %s" % e)
    finally:
        for p in (cm.proc, srv.proc):
            if p and p.poll() is None:
                p.kill()
                p.wait()
        if failed:
            print("logs kept in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("%d failed" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
