#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Node agent end-to-end (issue 12, bars 1 and 3): real pods on crun + CNI from a local Debian
docker-registry, driven by a real kubectl.

  node_e2e.py CKUBE_BIN 1.27|1.33   `ckube server --agent --scheduler --controllers`, that
                                      kubectl in its own namespace: bar 1 (probes, logs,
                                      CrashLoopBackOff timing, exit 7, preStop, nothing left)
                                      and bar 3 (missing image / configMap, bad command,
                                      a container exiting at once)
  node_e2e.py CKUBE_BIN adopt         `ckube server` + a separate `ckube agent`: kill -9 of the
                                      agent and a restart adopt the running containers

Each case is a function; the runner prints "ok <case>" or "FAIL <case>: why" for every case
and exits 1 if any failed (77 = SKIP when the machine lacks root, crun, CNI or the registry
tools). Everything the test makes carries its own names: namespace nodee2e-*, a node named
nodee2e-<pid> (adopt), and a private server data dir; the leftover check looks only at the
sandboxes, containers, IPs and pod uids of this test's pods."""

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from ckubetest import Server, Ctx, Fail, expect, expect_in, free_port, kubectl_path  # noqa: E402

CNI_NET = "ckube"  # the agent's default conflist name (src/cni cni_default_conflist)


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


def ts(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


def sh(script, **kw):
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, **kw)


class Registry:
    """tests/lib/registry.sh's docker-registry with the busybox image pushed."""

    def __init__(self, work):
        self.dir = os.path.join(work, "reg")
        lib = os.path.join(HERE, "..", "lib", "registry.sh")
        p = sh('. "%s" && registry_start "%s" && registry_push_busybox nodee2e/busybox:1 && '
               'echo "$REGISTRY_ADDR $REGISTRY_PID"' % (lib, self.dir), timeout=120)
        if p.returncode != 0 or not p.stdout.strip():
            out = (p.stdout + p.stderr).strip()
            if "SKIP" in out:
                skip(out)
            raise Fail("registry: %s" % out)
        self.addr, pid = p.stdout.split()[-2:]
        self.pid = int(pid)
        self.image = self.addr + "/nodee2e/busybox:1"

    def stop(self):
        try:
            os.kill(self.pid, signal.SIGTERM)
        except OSError:
            pass


class Track:
    """Records, while the test's pods exist, what the runtime made for them: sandbox ids
    (with IPs) and container ids from the agent's runtime dirs, by pod uid. A thread scans
    every 0.3 s so short-lived pods are seen too."""

    def __init__(self, agent_root):
        self.rt = os.path.join(agent_root, "runtime")
        self.uids, self.sandboxes, self.containers, self.ips = set(), set(), set(), set()
        self.mu = threading.Lock()
        self.stop_ev = threading.Event()
        self.th = threading.Thread(target=self.loop, daemon=True)
        self.th.start()

    def add_uid(self, uid):
        with self.mu:
            self.uids.add(uid)
        self.scan()

    def scan(self):
        sbdir, cdir = os.path.join(self.rt, "sandboxes"), os.path.join(self.rt, "containers")
        with self.mu:
            uids = set(self.uids)
        for d, kind in ((sbdir, "sb"), (cdir, "ctr")):
            try:
                names = os.listdir(d)
            except OSError:
                continue
            for n in names:
                for f in ("sandbox.json", "container.json", "config.json"):
                    try:
                        with open(os.path.join(d, n, f)) as fh:
                            doc = json.load(fh)
                    except (OSError, ValueError):
                        continue
                    text = json.dumps(doc)
                    if not any(u in text for u in uids):
                        continue
                    with self.mu:
                        if kind == "sb":
                            self.sandboxes.add(n)
                            if doc.get("ip"):
                                self.ips.add(doc["ip"])
                        else:
                            self.containers.add(n)
                    break

    def loop(self):
        while not self.stop_ev.wait(0.3):
            self.scan()

    def stop(self):
        self.stop_ev.set()
        self.th.join(timeout=5)


class E2E:
    def __init__(self, binary, mode, work):
        self.binary, self.mode, self.work = binary, mode, work
        self.reg = None
        self.srv = None
        self.agent = None  # adopt mode: the separate agent process
        self.agent_log = os.path.join(work, "agent.log")
        self.node = None
        self.ns = "nodee2e-" + mode.replace(".", "")
        self.ctx = None
        self.track = None
        self.cases = []
        self.results = []

    # ---- setup ---------------------------------------------------------------------------
    def setup(self):
        self.reg = Registry(self.work)
        data = os.path.join(self.work, "data")
        if self.mode == "adopt":
            self.srv = Server(self.binary, data)
            self.srv.start()
            self.node = "nodee2e-%d" % os.getpid()
            self.agent_root = os.path.join(self.work, "agent")
            self.hport = free_port()
            self.start_agent()
            kubectl = kubectl_path("1.33") or "/usr/bin/kubectl"
        else:
            self.srv = Server(self.binary, data, ["--agent", "--scheduler", "--controllers"])
            self.srv.start()
            self.node = socket.gethostname()
            self.agent_root = os.path.join(data, "agent")
            kubectl = kubectl_path(self.mode)
            if not kubectl:
                skip("kubectl %s not installed" % self.mode)
        self.track = Track(self.agent_root)
        self.wait("node %s Ready" % self.node, self.node_ready, 40)
        self.srv.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                             "metadata": {"name": self.ns}})
        self.wait("default service account", lambda: self.get(
            "/api/v1/namespaces/%s/serviceaccounts/default" % self.ns), 20, must=False)
        self.ctx = Ctx(kubectl, self.srv, self.work, self.ns)

    def start_agent(self):
        log = open(self.agent_log, "ab")
        self.agent = subprocess.Popen(
            [self.binary, "agent", "--kubeconfig", self.srv.kubeconfig, "--node-name", self.node,
             "--root", self.agent_root, "--healthz-port", str(self.hport), "-v", "2"],
            stdout=log, stderr=log)
        self.wait("agent healthz", lambda: self.http_ok("http://127.0.0.1:%d/healthz" % self.hport),
                  20)

    def teardown(self):
        if self.ctx and self.srv.proc.poll() is None:
            # a failed case may have left pods running: the agent must remove them before it
            # stops (it keeps containers across restarts by design)
            if self.agent and self.agent.poll() is not None:
                try:
                    self.start_agent()
                except Fail:
                    pass
            try:
                self.ctx.k("delete", "pods", "--all", "--grace-period=1", "--wait=true",
                           "--timeout=60s", ok=None, timeout=90)
            except subprocess.TimeoutExpired:
                print("teardown: pods of %s not deleted in time" % self.ns)
        if self.track:
            self.track.stop()
        if self.agent and self.agent.poll() is None:
            self.agent.terminate()
            try:
                self.agent.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.agent.kill()
                self.agent.wait()
        if self.srv:
            try:
                self.srv.stop()
            except Fail as e:
                print("server stop: %s" % e)
        if self.reg:
            self.reg.stop()

    # ---- helpers ---------------------------------------------------------------------------
    @staticmethod
    def http_ok(url):
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def get(self, path):
        try:
            return self.srv.get_json(path)
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise

    def pod(self, name):
        return self.get("/api/v1/namespaces/%s/pods/%s" % (self.ns, name))

    def wait(self, what, fn, timeout, step=0.2, must=True):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                last = fn()
            except (OSError, ValueError) as e:
                last = e
            if last and not isinstance(last, Exception):
                return last
            time.sleep(step)
        if must:
            raise Fail("timed out after %ds waiting for %s (last: %s)" % (timeout, what,
                                                                          str(last)[:400]))
        return None

    def node_ready(self):
        n = self.get("/api/v1/nodes/" + self.node)
        return n and any(c["type"] == "Ready" and c["status"] == "True"
                         for c in n.get("status", {}).get("conditions", []))

    def agent_alive(self):
        if self.agent:
            expect(self.agent.poll() is None, "the agent exited (%s)" % self.agent.returncode)
            expect(self.http_ok("http://127.0.0.1:%d/healthz" % self.hport), "agent healthz")
        expect(self.srv.proc.poll() is None, "the server (and its agent) exited")

    def events(self, name):
        lst = self.get("/api/v1/namespaces/%s/events" % self.ns) or {"items": []}
        return [(e.get("type"), e.get("reason"), e.get("message", ""))
                for e in lst["items"] if e["involvedObject"].get("name") == name]

    def expect_event(self, name, typ, reason, prefix="", timeout=20):
        def has():
            return any(t == typ and r == reason and m.startswith(prefix)
                       for t, r, m in self.events(name))
        if not self.wait("event", has, timeout, step=0.5, must=False):
            raise Fail("no %s %s event starting %r for %s; events:\n  %s" % (
                typ, reason, prefix, name, "\n  ".join(map(str, self.events(name)))))

    def apply_pod(self, name, containers, restart="Always", volumes=None, grace=5, node=False,
                  extra=None):
        spec = {"restartPolicy": restart, "terminationGracePeriodSeconds": grace,
                "containers": containers}
        if volumes:
            spec["volumes"] = volumes
        if node or self.mode == "adopt":
            spec["nodeName"] = self.node
        spec.update(extra or {})
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "labels": {"app": "nodee2e"}}, "spec": spec}
        self.ctx.k("apply", "-f", self.ctx.file(json.dumps(pod)))
        uid = self.wait("pod %s" % name, lambda: (self.pod(name) or {}).get("metadata", {})
                        .get("uid"), 10)
        self.track.add_uid(uid)
        return uid

    def ctr(self, name, cmd, **kw):
        c = {"name": kw.pop("cname", "c"), "image": self.reg.image, "command": cmd}
        c.update(kw)
        return c

    def cstatus(self, name):
        p = self.pod(name) or {}
        cs = p.get("status", {}).get("containerStatuses") or [{}]
        return cs[0]

    def waiting_reason(self, name):
        return self.cstatus(name).get("state", {}).get("waiting", {}).get("reason")

    def ready(self, name):
        p = self.pod(name) or {}
        return p.get("status", {}).get("phase") == "Running" and any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in p.get("status", {}).get("conditions", []))

    def delete(self, name, wait=True):
        self.ctx.k("delete", "pod", name, "--wait=%s" % ("true" if wait else "false"),
                   timeout=90)

    # ---- bar 1 -----------------------------------------------------------------------------
    def case_running_ready_probes(self):
        """configMap volume, readiness (exec) gates Ready until the container says so,
        liveness (httpGet on the pod IP) keeps passing; Running, Ready, a pod IP."""
        self.ctx.k("create", "configmap", "web-cfg", "--from-literal=greeting=hello-nodee2e")
        script = ("cat /etc/cfg/greeting; httpd -p 8080 -h /etc/cfg; "
                  "(sleep 5; touch /tmp/ready) & i=0; "
                  "while true; do i=$((i+1)); echo tick $i; sleep 1; done")
        c = self.ctr("web", ["sh", "-c", script],
                     volumeMounts=[{"name": "cfg", "mountPath": "/etc/cfg", "readOnly": True}],
                     readinessProbe={"exec": {"command": ["cat", "/tmp/ready"]},
                                     "periodSeconds": 1},
                     livenessProbe={"httpGet": {"path": "/greeting", "port": 8080},
                                    "initialDelaySeconds": 1, "periodSeconds": 1,
                                    "failureThreshold": 2})
        self.apply_pod("web", [c], volumes=[{"name": "cfg", "configMap": {"name": "web-cfg"}}])
        self.wait("web Running", lambda: (self.pod("web") or {}).get("status", {})
                  .get("phase") == "Running", 60)
        started = ts(self.cstatus("web")["state"]["running"]["startedAt"])
        # not ready before the container has made /tmp/ready (5 s after its start)
        if time.time() < started + 3:
            p = self.pod("web")
            expect(not self.cstatus("web").get("ready"),
                   "containerStatuses[0].ready true before the readiness probe can pass")
            rc = [c for c in p["status"].get("conditions", []) if c["type"] == "Ready"]
            expect(rc and rc[0]["status"] == "False" and rc[0].get("reason") == "ContainersNotReady",
                   "Ready condition before the probe passes: %s" % rc)
        self.ctx.k("wait", "--for=condition=Ready", "pod/web", "--timeout=60s", timeout=70)
        expect(time.time() >= started + 4, "Ready %.1f s after start, before the readiness "
               "probe could pass" % (time.time() - started))
        ip = self.ctx.jsonpath("pod/web", ".status.podIP")
        expect(ip and ip.count(".") == 3, "pod IP %r" % ip)
        with urllib.request.urlopen("http://%s:8080/greeting" % ip, timeout=5) as r:
            expect(r.read().decode().strip() == "hello-nodee2e", "configMap volume not served")
        time.sleep(4)  # liveness keeps passing: no restart
        cs = self.cstatus("web")
        expect(cs.get("restartCount") == 0 and cs.get("ready") is True,
               "web after 4 s of liveness probes: %s" % cs)
        out = self.ctx.out("get", "pod", "web", "-o", "wide")
        expect_in("1/1", out)
        expect_in("Running", out)
        expect_in(ip, out)

    def case_logs(self):
        """kubectl logs shows the output; logs -f follows new lines."""
        self.wait("web ready", lambda: self.ready("web"), 30)
        out = self.ctx.out("logs", "web")
        expect_in("hello-nodee2e", out, "kubectl logs web")
        expect_in("tick 1\n", out, "kubectl logs web")
        tail = self.ctx.out("logs", "web", "--tail=1").strip().splitlines()
        expect(len(tail) == 1 and tail[0].startswith("tick "), "logs --tail=1: %r" % tail)
        cmd = [self.ctx.kubectl, "-n", self.ns, "logs", "-f", "web", "--tail=1"]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=self.ctx.env)
        got = []
        t0 = time.time()
        try:
            while time.time() - t0 < 8 and len(got) < 4:
                line = p.stdout.readline()  # each second a tick line; ends with the kill below
                if not line:
                    break
                got.append((time.time() - t0, line.strip()))
        finally:
            p.kill()
            p.wait()
        ticks = [int(l.split()[1]) for _, l in got if l.startswith("tick ")]
        expect(len(ticks) >= 4 and ticks == list(range(ticks[0], ticks[0] + len(ticks))),
               "logs -f lines: %r (stderr %s)" % (got, p.stderr.read().strip()[:300]))
        expect(got[-1][0] >= 2, "logs -f did not follow (all lines at once): %r" % got)

    def case_liveness_restart(self):
        """A failing liveness probe restarts the container: Unhealthy, Killing events."""
        c = self.ctr("sick", ["sh", "-c", "touch /tmp/alive; sleep 3; rm /tmp/alive; "
                              "exec sleep 3600"],
                     livenessProbe={"exec": {"command": ["cat", "/tmp/alive"]},
                                    "periodSeconds": 1, "failureThreshold": 2})
        self.apply_pod("sick", [c], grace=2)
        self.wait("sick restarted", lambda: self.cstatus("sick").get("restartCount", 0) >= 1, 40)
        self.expect_event("sick", "Warning", "Unhealthy", "Liveness probe failed:")
        self.expect_event("sick", "Normal", "Killing",
                          "Container c failed liveness probe, will be restarted")
        self.delete("sick", wait=False)

    def case_crashloop_backoff(self):
        """A crashing container: restarted at once, then after 10 s, then after 20 s
        (upstream's 10 s doubling from each exit), CrashLoopBackOff in between."""
        uid = self.apply_pod("crash", [self.ctr("crash", ["sh", "-c", "echo crash; sleep 1; "
                                                          "exit 3"])])
        runs = {}  # startedAt -> finishedAt (or None)
        msgs, shown = set(), False
        deadline = time.time() + 75
        while time.time() < deadline:
            cs = self.cstatus("crash")
            for key in ("state", "lastState"):
                st = cs.get(key, {})
                if "running" in st and st["running"].get("startedAt"):
                    runs.setdefault(st["running"]["startedAt"], None)
                if "terminated" in st and st["terminated"].get("startedAt"):
                    t = st["terminated"]
                    runs[t["startedAt"]] = t.get("finishedAt")
                    expect(t.get("exitCode") == 3 and t.get("reason") == "Error",
                           "terminated state of the crashing container: %s" % t)
            w = cs.get("state", {}).get("waiting", {})
            if w.get("reason") == "CrashLoopBackOff":
                msgs.add(w.get("message", ""))
                if not shown:
                    out = self.ctx.out("get", "pod", "crash")
                    shown = "CrashLoopBackOff" in out
            if len(runs) >= 4:
                break
            time.sleep(0.25)
        starts = sorted(runs, key=ts)
        expect(len(starts) >= 4, "only %d runs seen in 75 s: %s" % (len(starts), runs))
        gaps = []
        for a, b in zip(starts, starts[1:]):
            expect(runs[a], "run started %s has no finishedAt" % a)
            gaps.append(ts(b) - ts(runs[a]))
        # timestamps have 1 s resolution; the worker notices an exit within a PLEG period
        want = [(0, 0, 3), (1, 10, 13), (2, 20, 24)]
        for i, lo, hi in want:
            expect(lo - 1 <= gaps[i] <= hi, "restart gaps %s, want ~0, 10, 20 s" % gaps)
        for d in ("10s", "20s"):
            m = "back-off %s restarting failed container=c pod=crash_%s(%s)" % (d, self.ns, uid)
            expect(m in msgs, "waiting message %r not seen; seen %s" % (m, msgs))
        expect(shown, "kubectl get pod never showed CrashLoopBackOff")
        self.expect_event("crash", "Warning", "BackOff",
                          "Back-off restarting failed container c in pod crash_%s(%s)" % (
                              self.ns, uid))
        self.delete("crash", wait=False)

    def case_exit7_never(self):
        """restartPolicy Never, exit 7: the pod ends Failed with exitCode 7."""
        self.apply_pod("seven", [self.ctr("seven", ["sh", "-c", "echo bye; exit 7"])],
                       restart="Never")
        self.wait("seven Failed", lambda: (self.pod("seven") or {}).get("status", {})
                  .get("phase") == "Failed", 40)
        t = self.cstatus("seven").get("state", {}).get("terminated", {})
        expect(t.get("exitCode") == 7 and t.get("reason") == "Error", "terminated: %s" % t)
        expect(self.ctx.jsonpath("pod/seven", ".status.phase") == "Failed", "kubectl phase")
        expect_in("Error", self.ctx.out("get", "pod", "seven"))
        expect(self.cstatus("seven").get("restartCount") == 0, "Never pod restarted")

    def case_prestop_on_delete(self):
        """delete runs the preStop hook first, then SIGTERM, all within the grace period."""
        script = ("trap 'echo term $(date +%s) >>/scratch/events; exit 0' TERM; "
                  "while true; do sleep 0.2; done")
        c = self.ctr("stopper", ["sh", "-c", script],
                     volumeMounts=[{"name": "scratch", "mountPath": "/scratch"}],
                     lifecycle={"preStop": {"exec": {"command": [
                         "sh", "-c", "echo prestop $(date +%s) >>/scratch/events; sleep 2"]}}})
        uid = self.apply_pod("stopper", [c], grace=20,
                             volumes=[{"name": "scratch", "emptyDir": {}}])
        self.wait("stopper Running", lambda: self.ready("stopper"), 40)
        evfile = os.path.join(self.agent_root, "volumes", uid, "scratch", "events")
        seen = [""]

        def watch():
            for _ in range(600):  # up to 30 s: until the agent removes the volume
                try:
                    with open(evfile) as f:
                        seen[0] = f.read()
                except OSError:
                    if seen[0]:
                        return
                time.sleep(0.05)
        th = threading.Thread(target=watch)
        th.start()
        t0 = time.time()
        self.delete("stopper")
        took = time.time() - t0
        th.join()
        lines = seen[0].split()
        expect("prestop" in lines, "preStop hook did not run; events file: %r" % seen[0])
        if "term" in lines:
            expect(lines.index("prestop") < lines.index("term"),
                   "SIGTERM before preStop: %r" % seen[0])
        expect(2 <= took < 15, "delete took %.1f s (hook sleeps 2 s, grace 20 s, container "
               "exits on TERM)" % took)

    # ---- bar 3 -----------------------------------------------------------------------------
    def case_missing_image(self):
        """ErrImagePull, then ImagePullBackOff; events Failed, BackOff as upstream."""
        img = self.reg.addr + "/nodee2e/missing:1"
        self.apply_pod("noimg", [{"name": "c", "image": img}])
        self.wait("ErrImagePull", lambda: self.waiting_reason("noimg") == "ErrImagePull", 30)
        self.wait("ImagePullBackOff", lambda: self.waiting_reason("noimg") == "ImagePullBackOff",
                  30)
        w = self.cstatus("noimg")["state"]["waiting"]
        expect(w.get("message", "").startswith('Back-off pulling image "%s"' % img),
               "ImagePullBackOff message: %r" % w.get("message"))
        self.expect_event("noimg", "Normal", "Pulling", 'Pulling image "%s"' % img)
        self.expect_event("noimg", "Warning", "Failed", 'Failed to pull image "%s"' % img)
        self.expect_event("noimg", "Warning", "Failed", "Error: ErrImagePull")
        self.expect_event("noimg", "Normal", "BackOff", 'Back-off pulling image "%s"' % img)
        # kubelet's startContainer records every EnsureImageExists error as Warning Failed
        # "Error: <reason>": ErrImagePull after a failed pull, ImagePullBackOff while backing off
        self.expect_event("noimg", "Warning", "Failed", "Error: ImagePullBackOff")
        out = self.ctx.out("get", "pod", "noimg")
        expect("ImagePullBackOff" in out or "ErrImagePull" in out, "kubectl get: %s" % out)
        self.agent_alive()
        self.delete("noimg", wait=False)

    def case_missing_configmap(self):
        """A configMap volume whose configMap is missing: FailedMount, ContainerCreating; the
        pod starts once the configMap is created."""
        c = self.ctr("late", ["sleep", "3600"],
                     volumeMounts=[{"name": "v", "mountPath": "/v"}])
        self.apply_pod("late", [c], volumes=[{"name": "v", "configMap": {"name": "late-cfg"}}],
                       grace=1)
        self.expect_event("late", "Warning", "FailedMount",
                          'MountVolume.SetUp failed for volume "v" : configmap "late-cfg" '
                          'not found', timeout=30)
        self.wait("late waiting in ContainerCreating",
                  lambda: self.waiting_reason("late") == "ContainerCreating", 10)
        expect((self.pod("late") or {}).get("status", {}).get("phase") == "Pending",
               "late not Pending while its volume cannot be set up")
        expect_in("ContainerCreating", self.ctx.out("get", "pod", "late"))
        self.ctx.k("create", "configmap", "late-cfg", "--from-literal=k=v")
        self.wait("late Running", lambda: self.ready("late"), 90)
        self.agent_alive()

    def case_bad_command(self):
        """A command that does not exist. The kubelet names the failing CRI call:
        CreateContainerError when the runtime rejects it at create (crun checks the executable
        in `crun create`, as CRI-O + crun report it), RunContainerError when it fails at start
        (containerd's StartError). Either way: that waiting reason with the runtime's message
        naming the command, a Warning Failed event "Error: <message>", no restart counted
        while it cannot be created, and the agent keeps going."""
        self.apply_pod("badcmd", [self.ctr("badcmd", ["/no/such/bin"])], grace=1)
        reasons = set()

        def failed():
            r = self.waiting_reason("badcmd")
            reasons.add(r)
            return r in ("CreateContainerError", "RunContainerError")
        self.wait("CreateContainerError or RunContainerError", failed, 30, step=0.1)
        cs = self.cstatus("badcmd")
        w = cs["state"]["waiting"]
        expect("/no/such/bin" in w.get("message", ""), "waiting message %r" % w)
        expect(reasons <= {None, "ContainerCreating", "CreateContainerError", "RunContainerError",
                           "CrashLoopBackOff"}, "waiting reasons seen: %s" % reasons)
        self.expect_event("badcmd", "Warning", "Failed", "Error: ")
        msgs = [m for t, r, m in self.events("badcmd") if r == "Failed"]
        expect(any("/no/such/bin" in m for m in msgs), "Failed events do not name the command: "
               "%s" % msgs)
        if w["reason"] == "CreateContainerError":
            expect(cs.get("restartCount") == 0 and not cs.get("lastState"),
                   "a container that was never created counts no restart: %s" % cs)
        else:  # created, failed to start: the runtime reports a terminated StartError
            last = cs.get("lastState", {}).get("terminated") or {}
            expect(not last or last.get("reason") == "StartError", "lastState %s" % last)
        print("  bad command -> %s: %s" % (w["reason"], w.get("message")))
        out = self.ctx.out("get", "pod", "badcmd")
        expect_in(w["reason"], out, "kubectl get pod badcmd")
        self.agent_alive()
        self.delete("badcmd", wait=False)

    def case_exits_at_once(self):
        """A container that exits 0 at once under Always: Completed, then CrashLoopBackOff."""
        self.apply_pod("quick", [self.ctr("quick", ["true"])], grace=1)
        self.wait("CrashLoopBackOff", lambda: self.waiting_reason("quick") == "CrashLoopBackOff",
                  40)
        last = self.cstatus("quick").get("lastState", {}).get("terminated", {})
        expect(last.get("reason") == "Completed" and last.get("exitCode") == 0,
               "lastState: %s" % last)
        expect(self.cstatus("quick").get("restartCount", 0) >= 1, "restartCount")
        self.expect_event("quick", "Warning", "BackOff", "Back-off restarting failed container")
        self.agent_alive()
        self.delete("quick", wait=False)

    # ---- cleanup ---------------------------------------------------------------------------
    def case_nothing_left(self):
        """All pods deleted: no pod, sandbox, container, crun state, mount, netns, cgroup, nft
        rule or IPAM lease of this test's pods is left."""
        self.track.scan()
        self.ctx.k("delete", "pods", "--all", "--wait=true", "--timeout=90s", timeout=120)
        self.wait("pods gone", lambda: not (self.get("/api/v1/namespaces/%s/pods" % self.ns)
                                            or {"items": [1]})["items"], 30)
        time.sleep(1)
        self.track.scan()
        with self.track.mu:
            uids, sbs = set(self.track.uids), set(self.track.sandboxes)
            ctrs, ips = set(self.track.containers), set(self.track.ips)
        expect(sbs and ctrs, "tracked no sandboxes/containers (%s / %s): tracker broken" % (
            sbs, ctrs))
        left = []
        rt = self.track.rt
        for s in sbs:
            if os.path.exists(os.path.join(rt, "sandboxes", s)):
                left.append("sandbox dir " + s)
            if os.path.exists("/run/netns/ckube-" + s[:24]):
                left.append("netns ckube-" + s[:24])
        for c in ctrs:
            for d in ("containers", "crun"):
                if os.path.exists(os.path.join(rt, d, c)):
                    left.append("%s/%s" % (d, c))
        for u in uids:
            for d in ("volumes", "pods"):
                base = os.path.join(self.agent_root, d)
                if os.path.isdir(base) and any(u in n for n in os.listdir(base)):
                    left.append("%s of pod %s" % (d, u))
            for ctl in os.listdir("/sys/fs/cgroup"):
                p = "/sys/fs/cgroup/%s/kubepods/pod%s" % (ctl, u)
                if os.path.exists(p):
                    left.append("cgroup " + p)
        with open("/proc/mounts") as f:
            for line in f:
                if any(x in line for x in uids | sbs | ctrs if x):
                    left.append("mount " + line.split()[1])
        nft = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout
        for s in sbs:
            chain = "CNI-" + hashlib.sha512((CNI_NET + s).encode()).hexdigest()[:24]
            if chain in nft:
                left.append("nft chain %s (sandbox %s)" % (chain, s))
            if s in nft:
                left.append("nft rule naming sandbox " + s)
        for ip in ips:
            if ("saddr %s " % ip) in nft or ("daddr %s " % ip) in nft:
                left.append("nft rule for pod IP " + ip)
        ipam = "/var/lib/cni/networks/" + CNI_NET
        if os.path.isdir(ipam):
            for n in os.listdir(ipam):
                try:
                    with open(os.path.join(ipam, n)) as f:
                        owner = f.read().split()
                except OSError:
                    continue
                if owner and owner[0] in sbs:
                    left.append("IPAM lease %s of sandbox %s" % (n, owner[0]))
        expect(not left, "left behind:\n  " + "\n  ".join(left))
        print("  checked %d pods, %d sandboxes, %d containers, %d IPs" % (
            len(uids), len(sbs), len(ctrs), len(ips)))

    # ---- adopt mode --------------------------------------------------------------------------
    def case_adopt_after_kill9(self):
        """kill -9 of `ckube agent` and a restart: the running containers are adopted, not
        restarted (containerID, restartCount, startedAt unchanged), and a pod created while
        the agent was down starts."""
        self.apply_pod("steady", [self.ctr("steady", ["sh", "-c", "while true; do sleep 1; "
                                                                  "done"])], grace=1)
        self.apply_pod("steady2", [self.ctr("steady2", ["sleep", "3600"], cname="a"),
                                   self.ctr("steady2", ["sleep", "3600"], cname="b")], grace=1)
        for n in ("steady", "steady2"):
            self.wait(n + " Ready", lambda n=n: self.ready(n), 60)
        before = {}
        for n in ("steady", "steady2"):
            for cs in self.pod(n)["status"]["containerStatuses"]:
                before[(n, cs["name"])] = (cs["containerID"], cs["restartCount"],
                                           cs["state"]["running"]["startedAt"])
        pid = self.agent.pid
        os.kill(pid, signal.SIGKILL)
        self.agent.wait()
        self.apply_pod("whiledown", [self.ctr("whiledown", ["sleep", "3600"])], grace=1)
        self.start_agent()
        self.wait("whiledown Ready", lambda: self.ready("whiledown"), 60)
        time.sleep(3)  # a few PLEG relists and status syncs after the restart
        for n in ("steady", "steady2"):
            p = self.pod(n)
            expect(self.ready(n), "%s not Running+Ready after the restart: %s" % (n, p["status"]))
            for cs in p["status"]["containerStatuses"]:
                now = (cs["containerID"], cs["restartCount"],
                       cs["state"].get("running", {}).get("startedAt"))
                expect(now == before[(n, cs["name"])], "%s/%s: before %s, after %s" % (
                    n, cs["name"], before[(n, cs["name"])], now))
        kinds = [r for t, r, m in self.events("steady") if r in ("Killing", "Started")]
        expect(kinds.count("Started") == 1 and "Killing" not in kinds,
               "steady events after restart: %s" % self.events("steady"))
        self.agent_alive()

    # ---- runner ------------------------------------------------------------------------------
    def run(self):
        if self.mode == "adopt":
            names = ["adopt_after_kill9", "crashloop_backoff", "bad_command", "nothing_left"]
        else:
            names = ["running_ready_probes", "logs", "liveness_restart", "crashloop_backoff",
                     "exit7_never", "prestop_on_delete", "missing_image", "missing_configmap",
                     "bad_command", "exits_at_once", "nothing_left"]
        only = os.environ.get("NODEE2E_CASES")
        if only:
            names = [n for n in names if n in only.split(",")]
        for n in names:
            t0 = time.time()
            try:
                getattr(self, "case_" + n)()
                self.results.append((n, True, ""))
                print("ok   %-22s (%.1f s)" % (n, time.time() - t0), flush=True)
            except Fail as e:
                self.results.append((n, False, str(e)))
                print("FAIL %-22s (%.1f s): %s" % (n, time.time() - t0, e), flush=True)
            except Exception as e:  # a broken case must not hide the others
                self.results.append((n, False, repr(e)))
                print("FAIL %-22s (%.1f s): %s" % (n, time.time() - t0,
                                                   traceback.format_exc()), flush=True)
        return all(ok for _, ok, _ in self.results)


def main():
    if len(sys.argv) < 3 or sys.argv[2] not in ("1.27", "1.33", "adopt"):
        print(__doc__)
        sys.exit(2)
    if os.geteuid() != 0:
        skip("needs root (crun, CNI, network namespaces)")
    for tool in ("crun", "nft"):
        if not shutil.which(tool):
            skip(tool + " not installed")
    if not os.path.exists("/usr/lib/cni/bridge"):
        skip("CNI plugins not installed (/usr/lib/cni)")
    binary = os.path.abspath(sys.argv[1])
    work = tempfile.mkdtemp(prefix="ck-node-e2e.")
    e = E2E(binary, sys.argv[2], work)
    ok = False
    try:
        e.setup()
        ok = e.run()
    except Fail as ex:
        print("FAIL setup: %s" % ex)
    finally:
        e.teardown()
        passed = sum(1 for _, o, _ in e.results if o)
        print("%d of %d cases passed (kubectl mode %s)" % (passed, len(e.results), e.mode))
        if ok:
            shutil.rmtree(work, ignore_errors=True)
            print("PASS")
        else:
            print("logs kept in %s" % work)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
