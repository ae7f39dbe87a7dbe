#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Agent suite, hollow mode: `ckube agent --hollow N` against a fresh `ckube server`.
Checks Node registration (capacity, allocatable, conditions, nodeInfo, addresses), Lease
renewal every 10 s, pods bound by the test (spec.nodeName) becoming Running and Ready with
upstream-shaped status, CrashLoopBackOff, restartPolicy Never with exit 7, init containers,
graceful deletion ending with the pod object gone, /healthz and /metrics, and that the agent
survives an API server restart (kill -9) and keeps renewing and syncing.

usage: hollow.py CKUBE_BIN"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from ckubetest import Server, Fail, expect, free_port  # noqa: E402

NODES = 4
PREFIX = "hollowtest"
NS = "default"


def wait(what, fn, timeout=20, every=0.2):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = fn()
            if last:
                return last
        except (OSError, KeyError, ValueError) as e:
            last = e
        time.sleep(every)
    raise Fail("timed out waiting for %s (last: %r)" % (what, last))


class Agent:
    def __init__(self, binary, kubeconfig, workdir):
        self.binary, self.kubeconfig, self.workdir = binary, kubeconfig, workdir
        self.port = free_port()
        self.proc = None

    def start(self):
        log = open(os.path.join(self.workdir, "agent.log"), "ab")
        self.proc = subprocess.Popen(
            [self.binary, "agent", "--kubeconfig", self.kubeconfig, "--hollow", str(NODES),
             "--node-name", PREFIX, "--healthz-port", str(self.port), "-v", "2"],
            stdout=log, stderr=log)
        wait("agent /healthz", lambda: self.get("/healthz") == "ok")

    def get(self, path):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, path), timeout=5) as r:
            return r.read().decode()

    def metric(self, name):
        for line in self.get("/metrics").splitlines():
            if line.startswith(name + " "):
                return int(line.split()[1])
        raise Fail("metric %s missing" % name)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise Fail("agent did not exit within 15 s of SIGTERM")
            if rc != 0:
                raise Fail("agent exited %d after SIGTERM" % rc)


def api(srv, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (srv.pport, path), method=method,
                                 data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def pod_obj(name, node, containers, policy="Always", init=None, grace=None):
    spec = {"nodeName": node, "restartPolicy": policy, "containers": containers}
    if init:
        spec["initContainers"] = init
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS},
            "spec": spec}


def get_pod(srv, name):
    code, p = api(srv, "GET", "/api/v1/namespaces/%s/pods/%s" % (NS, name))
    return p if code == 200 else None


def cond(obj, t):
    for c in obj.get("status", {}).get("conditions", []):
        if c["type"] == t:
            return c
    return None


def event_reasons(srv, pod):
    items = srv.get_json("/api/v1/namespaces/%s/events" % NS)["items"]
    return [(e["type"], e["reason"], e.get("involvedObject", {}).get("fieldPath", ""), e["message"])
            for e in items if e.get("involvedObject", {}).get("name") == pod]


def check_nodes(srv):
    def ready():
        items = srv.get_json("/api/v1/nodes")["items"]
        mine = [n for n in items if n["metadata"]["name"].startswith(PREFIX + "-")]
        return mine if len(mine) == NODES and all(
            (cond(n, "Ready") or {}).get("status") == "True" for n in mine) else None
    nodes = wait("%d Ready hollow nodes" % NODES, ready)
    n = nodes[0]
    st = n["status"]
    for k in ("cpu", "memory", "pods", "ephemeral-storage"):
        expect(k in st.get("capacity", {}) and k in st.get("allocatable", {}), "capacity/allocatable %s: %s" % (k, st))
    expect(st["capacity"]["pods"] == "110", "pods capacity %s" % st["capacity"]["pods"])
    types = [c["type"] for c in st["conditions"]]
    expect(types == ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"], "conditions %s" % types)
    reasons = {c["type"]: (c["status"], c["reason"]) for c in st["conditions"]}
    expect(reasons["Ready"] == ("True", "KubeletReady"), "Ready %s" % (reasons["Ready"],))
    expect(reasons["MemoryPressure"] == ("False", "KubeletHasSufficientMemory"), str(reasons))
    expect(reasons["DiskPressure"] == ("False", "KubeletHasNoDiskPressure"), str(reasons))
    expect(reasons["PIDPressure"] == ("False", "KubeletHasSufficientPID"), str(reasons))
    for c in st["conditions"]:
        expect(c.get("lastHeartbeatTime") and c.get("lastTransitionTime"), "condition times %s" % c)
    addr = {a["type"]: a["address"] for a in st["addresses"]}
    expect("InternalIP" in addr and addr.get("Hostname") == n["metadata"]["name"], "addresses %s" % addr)
    info = st["nodeInfo"]
    expect(info["operatingSystem"] == "linux" and info["kubeletVersion"].startswith("v1."), "nodeInfo %s" % info)
    expect(info["containerRuntimeVersion"].startswith("hollow://"), "runtime %s" % info)
    lbl = n["metadata"]["labels"]
    expect(lbl.get("kubernetes.io/hostname") == n["metadata"]["name"] and lbl.get("kubernetes.io/os") == "linux",
           "labels %s" % lbl)
    return nodes


def leases(srv):
    items = srv.get_json("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases")["items"]
    return {l["metadata"]["name"]: l for l in items if l["metadata"]["name"].startswith(PREFIX + "-")}


def check_leases(srv, nodes):
    first = wait("%d leases" % NODES, lambda: (lambda l: l if len(l) == NODES else None)(leases(srv)))
    uids = {n["metadata"]["name"]: n["metadata"]["uid"] for n in nodes}
    for name, l in first.items():
        expect(l["spec"]["holderIdentity"] == name, "holder %s" % l["spec"])
        expect(l["spec"]["leaseDurationSeconds"] == 40, "duration %s" % l["spec"])
        owners = l["metadata"].get("ownerReferences", [])
        expect(owners and owners[0]["kind"] == "Node" and owners[0]["uid"] == uids[name],
               "lease owner %s" % owners)
    t0 = {k: v["spec"]["renewTime"] for k, v in first.items()}
    # every lease renewed within one renew interval (10 s) plus slack
    wait("every lease renewed", lambda: all(leases(srv)[k]["spec"]["renewTime"] != t0[k] for k in t0),
         timeout=14, every=0.5)


def check_running_pod(srv):
    node = PREFIX + "-1"
    api(srv, "POST", "/api/v1/namespaces/%s/pods" % NS,
        pod_obj("web", node, [{"name": "app", "image": "busybox",
                               "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                                             "limits": {"cpu": "100m", "memory": "64Mi"}}},
                              {"name": "side", "image": "busybox", "command": ["sleep", "3600"],
                               "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                                             "limits": {"cpu": "100m", "memory": "64Mi"}}}],
                init=[{"name": "prep", "image": "busybox", "command": ["sleep", "0.3"],
                       "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                                     "limits": {"cpu": "100m", "memory": "64Mi"}}}]))
    p = wait("pod web Running and Ready",
             lambda: (lambda p: p if p and p["status"].get("phase") == "Running" and
                      (cond(p, "Ready") or {}).get("status") == "True" else None)(get_pod(srv, "web")))
    st = p["status"]
    types = [c["type"] for c in st["conditions"]]
    expect(types == ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"],
           "condition order %s" % types)
    expect(all(c["status"] == "True" for c in st["conditions"]), "conditions %s" % st["conditions"])
    expect(st.get("podIP") and st.get("podIPs") == [{"ip": st["podIP"]}], "podIP %s" % st)
    expect(st.get("hostIP") and st.get("startTime"), "hostIP/startTime %s" % st)
    expect(st.get("qosClass") == "Guaranteed", "qosClass %s" % st.get("qosClass"))
    names = [c["name"] for c in st["containerStatuses"]]
    expect(names == ["app", "side"], "containerStatuses sorted by name: %s" % names)
    for c in st["containerStatuses"]:
        expect(c["ready"] is True and c["started"] is True and c["restartCount"] == 0, "status %s" % c)
        expect("running" in c["state"] and c["state"]["running"].get("startedAt"), "state %s" % c)
        expect(c["containerID"].startswith("hollow://") and c["lastState"] == {}, "ids %s" % c)
        expect(c["image"] == "busybox", "image %s" % c)
    ic = st["initContainerStatuses"][0]
    expect(ic["state"]["terminated"]["reason"] == "Completed" and ic["state"]["terminated"]["exitCode"] == 0,
           "init %s" % ic)
    evs = event_reasons(srv, "web")
    for want in [("Normal", "Created", "spec.containers{app}", "Created container app"),
                 ("Normal", "Started", "spec.containers{side}", "Started container side"),
                 ("Normal", "Started", "spec.initContainers{prep}", "Started container prep")]:
        expect(want in evs, "event %s missing from %s" % (want, evs))
    return p


def check_never_exit7(srv):
    api(srv, "POST", "/api/v1/namespaces/%s/pods" % NS,
        pod_obj("seven", PREFIX + "-2", [{"name": "c", "image": "busybox", "command": ["exit", "7"]}],
                policy="Never"))
    p = wait("pod seven Failed", lambda: (lambda p: p if p and p["status"].get("phase") == "Failed" else None)(
        get_pod(srv, "seven")))
    t = p["status"]["containerStatuses"][0]["state"].get("terminated", {})
    expect(t.get("exitCode") == 7 and t.get("reason") == "Error", "terminated %s" % t)
    expect(cond(p, "Ready")["status"] == "False" and cond(p, "Ready")["reason"] == "PodFailed",
           "Ready %s" % cond(p, "Ready"))


def check_crashloop(srv):
    api(srv, "POST", "/api/v1/namespaces/%s/pods" % NS,
        pod_obj("crash", PREFIX + "-3", [{"name": "c", "image": "busybox", "command": ["exit", "1"]}]))

    def backing_off():
        p = get_pod(srv, "crash")
        cs = (p or {}).get("status", {}).get("containerStatuses", [{}])[0]
        w = cs.get("state", {}).get("waiting", {})
        return (p, cs) if w.get("reason") == "CrashLoopBackOff" else None
    p, cs = wait("CrashLoopBackOff", backing_off)
    msg = cs["state"]["waiting"]["message"]
    expect(msg.startswith("back-off 10s restarting failed container=c pod=crash_default("), "message %r" % msg)
    expect(cs["restartCount"] == 1 and cs["lastState"]["terminated"]["exitCode"] == 1, "cs %s" % cs)
    expect(p["status"]["phase"] == "Running", "phase under Always %s" % p["status"]["phase"])
    evs = wait("BackOff event", lambda: [e for e in event_reasons(srv, "crash") if e[1] == "BackOff"])
    expect(evs[0][0] == "Warning" and evs[0][3].startswith("Back-off restarting failed container c in pod crash_default("),
           "BackOff event %s" % (evs[0],))


def check_delete(srv, name):
    t = time.time()
    code, _ = api(srv, "DELETE", "/api/v1/namespaces/%s/pods/%s" % (NS, name))
    expect(code == 200, "delete %s: %d" % (name, code))
    wait("pod %s gone" % name, lambda: get_pod(srv, name) is None, timeout=15)
    return time.time() - t


def main():
    binary = os.path.abspath(sys.argv[1])
    work = tempfile.mkdtemp(prefix="ck-agent-hollow.")
    srv = Server(binary, os.path.join(work, "data"))
    agent = None
    ok = False
    try:
        srv.start()
        agent = Agent(binary, srv.kubeconfig, work)
        agent.start()
        nodes = check_nodes(srv)
        print("ok nodes registered and Ready")
        check_running_pod(srv)
        print("ok pod Running and Ready with upstream-shaped status")
        patches = agent.metric("ckube_agent_pod_status_patches_total")
        check_never_exit7(srv)
        print("ok restartPolicy Never, exit 7 -> Failed")
        check_crashloop(srv)
        print("ok CrashLoopBackOff")
        check_leases(srv, nodes)
        print("ok leases renewed")
        p = get_pod(srv, "web")
        expect(p["status"]["containerStatuses"][0]["restartCount"] == 0, "web restarted")
        expect(agent.metric("ckube_agent_lease_renewals_total") >= 2 * NODES, "lease metric")
        expect(agent.metric("ckube_agent_lease_late_total") == 0, "late lease renewals")
        expect(patches > 0, "status patch metric")
        took = check_delete(srv, "web")
        print("ok graceful delete completed in %.1f s" % took)
        evs = event_reasons(srv, "web")
        expect(("Normal", "Killing", "spec.containers{app}", "Stopping container app") in evs,
               "Killing event missing: %s" % evs)
        check_delete(srv, "seven")
        check_delete(srv, "crash")
        print("ok terminal and crashing pods deleted")
        # API server restart: kill -9, start again on the same ports and data
        srv.kill9()
        time.sleep(1.5)
        srv.start()
        before = agent.metric("ckube_agent_lease_renewals_total")
        wait("leases renewed after the API server restart",
             lambda: agent.metric("ckube_agent_lease_renewals_total") >= before + NODES, timeout=25)
        api(srv, "POST", "/api/v1/namespaces/%s/pods" % NS,
            pod_obj("after", PREFIX + "-0", [{"name": "c", "image": "busybox"}]))
        wait("pod after Running", lambda: (get_pod(srv, "after") or {}).get("status", {}).get("phase") == "Running",
             timeout=30)
        check_delete(srv, "after")
        print("ok agent survived an API server restart")
        expect(agent.get("/healthz") == "ok", "healthz")
        agent.stop()
        ok = True
        print("PASS")
    except Fail as e:
        print("FAIL: %s" % e)
    finally:
        if agent and agent.proc and agent.proc.poll() is None:
            agent.proc.kill()
        try:
            srv.stop()
        except Fail as e:
            print("server stop: %s" % e)
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("logs kept in %s" % work)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
