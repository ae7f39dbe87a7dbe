#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""ckube scheduler end to end: a pod that fits no node gets upstream's FailedScheduling event and
PodScheduled=False/Unschedulable, then schedules once a fitting Node is added; pods spread by a
topology spread constraint and kept apart by pod anti-affinity; leader election on the
kube-system/kube-scheduler Lease; /healthz and /metrics."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from ckubetest import Server, Fail, expect, free_port, wait_for  # noqa: E402


def node(name, cpu, mem="8Gi", pods="110", labels=None):
    st = {"capacity": {"cpu": cpu, "memory": mem, "pods": pods},
          "allocatable": {"cpu": cpu, "memory": mem, "pods": pods},
          "conditions": [{"type": "Ready", "status": "True"}]}
    lb = {"kubernetes.io/hostname": name}
    lb.update(labels or {})
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": lb},
            "status": st}


def pod(name, cpu="100m", labels=None, spec_extra=None):
    spec = {"containers": [{"name": "c", "image": "nginx:1.25",
                            "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}]}
    spec.update(spec_extra or {})
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": labels or {}}, "spec": spec}


def patch(srv, path, obj):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (srv.pport, path), method="PATCH",
                                 data=json.dumps(obj).encode(),
                                 headers={"Content-Type": "application/merge-patch+json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status


def add_node(srv, n):
    srv.post("/api/v1/nodes", n)
    # status may be dropped on create: set it through the status subresource
    patch(srv, "/api/v1/nodes/%s/status" % n["metadata"]["name"], {"status": n["status"]})


def wait(what, fn, timeout=20):
    return wait_for(what, fn, timeout)


def get_pod(srv, name):
    return srv.get_json("/api/v1/namespaces/default/pods/" + name)


def events_for(srv, name):
    items = srv.get_json("/api/v1/namespaces/default/events")["items"]
    return [e for e in items if e.get("involvedObject", {}).get("name") == name]


def main():
    binary = sys.argv[1]
    work = tempfile.mkdtemp(prefix="ckube-sched-")
    srv = Server(binary, os.path.join(work, "data"))
    sched = None
    passed = False
    try:
        srv.start()
        mport = free_port()
        slog = open(os.path.join(work, "scheduler.log"), "wb")
        sched = subprocess.Popen([binary, "scheduler", "--kubeconfig", srv.kubeconfig,
                                  "--port", str(mport), "-v=2"], stdout=subprocess.PIPE,
                                 stderr=slog)
        line = sched.stdout.readline().decode()
        expect("serving /healthz" in line, "scheduler start line: %r" % line)

        # leader election on the upstream Lease
        lease = wait("lease", lambda: _get(srv, "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler"))
        expect(lease["spec"].get("holderIdentity"), "lease has a holder: %r" % lease)

        # 1. a pod that fits no node
        add_node(srv, node("small", "1"))
        srv.post("/api/v1/namespaces/default/pods", pod("big", cpu="2"))
        want = ("0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: "
                "1 No preemption victims found for incoming pod.")
        ev = wait("FailedScheduling", lambda: [e for e in events_for(srv, "big")
                                               if e["reason"] == "FailedScheduling"])
        expect(ev[0]["message"] == want, "FailedScheduling message %r, want %r" % (ev[0]["message"], want))
        expect(ev[0]["type"] == "Warning", "event type %r" % ev[0]["type"])

        def cond():
            p = get_pod(srv, "big")
            for c in p.get("status", {}).get("conditions", []):
                if c["type"] == "PodScheduled":
                    return c
            return None
        c = wait("PodScheduled condition", cond)
        expect(c["status"] == "False" and c["reason"] == "Unschedulable" and c["message"] == want,
               "PodScheduled condition %r" % c)
        expect(not get_pod(srv, "big")["spec"].get("nodeName"), "big must stay pending")

        # 2. a fitting node arrives: the pod is scheduled there
        add_node(srv, node("large", "4"))
        wait("big bound", lambda: get_pod(srv, "big")["spec"].get("nodeName") == "large")
        ev = wait("Scheduled event", lambda: [e for e in events_for(srv, "big") if e["reason"] == "Scheduled"])
        expect(ev[0]["message"] == "Successfully assigned default/big to large", "Scheduled: %r" % ev[0]["message"])

        # 3. topology spread over hostnames: 6 pods on 3 nodes, maxSkew 1 -> 2 each
        add_node(srv, node("third", "4"))
        tsc = {"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                              "whenUnsatisfiable": "DoNotSchedule",
                                              "labelSelector": {"matchLabels": {"app": "web"}}}]}
        for i in range(6):
            srv.post("/api/v1/namespaces/default/pods", pod("web-%d" % i, labels={"app": "web"}, spec_extra=tsc))
        placed = wait("web pods bound", lambda: _placed(srv, ["web-%d" % i for i in range(6)]))
        counts = {}
        for n in placed.values():
            counts[n] = counts.get(n, 0) + 1
        expect(sorted(counts.values()) == [2, 2, 2], "spread across nodes: %r" % counts)

        # 4. required pod anti-affinity on hostname: 3 pods, 3 nodes, one each; a 4th stays pending
        anti = {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "solo"}}, "topologyKey": "kubernetes.io/hostname"}]}}}
        for i in range(4):
            srv.post("/api/v1/namespaces/default/pods", pod("solo-%d" % i, labels={"app": "solo"}, spec_extra=anti))
        time.sleep(1.5)
        placed = _placed(srv, ["solo-%d" % i for i in range(4)], need_all=False)
        expect(len(placed) == 3 and len(set(placed.values())) == 3, "anti-affinity placement %r" % placed)
        pending = [n for n in ["solo-%d" % i for i in range(4)] if n not in placed][0]
        ev = wait("anti-affinity FailedScheduling",
                  lambda: [e for e in events_for(srv, pending) if e["reason"] == "FailedScheduling"])
        expect("node(s) didn't match pod anti-affinity rules" in ev[0]["message"], ev[0]["message"])

        # 5. /healthz and /metrics
        with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % mport, timeout=5) as r:
            expect(r.read() == b"ok", "healthz")
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport, timeout=5) as r:
            m = r.read().decode()
        for w in ['scheduler_schedule_attempts_total{profile="default-scheduler",result="scheduled"}',
                  'result="unschedulable"', "scheduler_pending_pods{queue=\"unschedulable\"}",
                  "scheduler_pod_scheduling_sli_duration_seconds_bucket"]:
            expect(w in m, "metrics lack %s" % w)
        print("PASS scheduler e2e")
        passed = True
        return 0
    except Fail as e:
        print("FAIL: %s (logs in %s)" % (e, work))
        return 1
    finally:
        if sched:
            sched.terminate()
            try:
                sched.wait(timeout=10)
            except subprocess.TimeoutExpired:
                sched.kill()
        srv.stop()
        if passed:
            shutil.rmtree(work, ignore_errors=True)  # kept for the logs when failing


def _get(srv, path):
    try:
        return srv.get_json(path)
    except OSError:
        return None


def _placed(srv, names, need_all=True):
    out = {}
    for n in names:
        nn = get_pod(srv, n)["spec"].get("nodeName")
        if nn:
            out[n] = nn
    if need_all and len(out) != len(names):
        return None
    return out


if __name__ == "__main__":
    sys.exit(main())
