#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Agent suite, container lifecycle on a real node: `ckube agent` on crun + CNI against a fresh
`ckube server`, busybox from a local docker-registry (tests/lib/registry.sh).

- probes: a pod with an httpGet readiness probe (named port, busybox httpd) and an exec
  liveness probe becomes Ready (kubectl wait); removing the readiness file flips Ready and
  ContainersReady to False and back; removing the liveness file gets the container killed and
  restarted (restartCount 1) with upstream's Unhealthy and Killing events;
- hooks: an exec postStart writes a file the container serves; a failing one gets the
  container killed with FailedPostStartHook (upstream's message) and Killing events; an httpGet postStart reaches a
  loopback server made here (host 127.0.0.1) with the probe User-Agent; on delete an exec
  preStop runs first (its file appears while the pod terminates) and the deletion takes the
  hook's time but stays inside the grace period;
- sidecars: an init container with restartPolicy Always and a startup probe starts before the
  main container (tcpSocket startup and liveness probes), counts in initContainerStatuses
  (started, ready), keeps running, is restarted when it exits while the main container keeps
  running, and on delete stops after the main container (httpGet preStop order);
- /metrics has kubelet_pod_start_duration_seconds with upstream's buckets.

usage: lifecycle.py CKUBE_BIN SRC_DIR   (needs root, crun, CNI plugins, docker-registry; exit
77 = SKIP when the machine lacks them)"""
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from ckubetest import Server, Fail, expect, free_port  # noqa: E402

NS = "lifetest"


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


def wait(what, fn, timeout=30, every=0.2):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = fn()
            if last:
                return last
        except (OSError, KeyError, ValueError, IndexError, TypeError) as e:
            last = e
        time.sleep(every)
    raise Fail("timed out waiting for %s (last: %r)" % (what, last))


def api(srv, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (srv.pport, path), method=method,
                                 data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def get_pod(srv, name):
    code, p = api(srv, "GET", "/api/v1/namespaces/%s/pods/%s" % (NS, name))
    return p if code == 200 else None


def cond(pod, t):
    for c in (pod or {}).get("status", {}).get("conditions", []):
        if c["type"] == t:
            return c.get("status")
    return None


def cstatus(pod, name, init=False):
    key = "initContainerStatuses" if init else "containerStatuses"
    for s in (pod or {}).get("status", {}).get(key, []):
        if s["name"] == name:
            return s
    return {}


def events(srv, pod):
    items = srv.get_json("/api/v1/namespaces/%s/events" % NS)["items"]
    return [(e["type"], e["reason"], e.get("involvedObject", {}).get("fieldPath", ""), e["message"])
            for e in items if e.get("involvedObject", {}).get("name") == pod]


def has_event(srv, pod, typ, reason, msg_start):
    return any(t == typ and r == reason and m.startswith(msg_start)
               for t, r, _, m in events(srv, pod))


class HookServer:
    """A loopback HTTP server the httpGet hooks call (host: 127.0.0.1)."""

    def __init__(self):
        self.hits = []
        hs = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                hs.hits.append((time.time(), self.path, self.headers.get("User-Agent", "")))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        self.th = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.th.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def registry(src, tmp):
    """Starts docker-registry with busybox pushed; returns (addr, pid)."""
    out = subprocess.run(
        ["bash", "-c", '. "$1/tests/lib/registry.sh" && registry_start "$2" >&2 && '
         'registry_push_busybox life/busybox:1 >&2 && echo "$REGISTRY_ADDR $REGISTRY_PID"',
         "reg", src, os.path.join(tmp, "reg")],
        stdout=subprocess.PIPE, text=True, timeout=120)
    if out.returncode != 0 or not out.stdout.strip():
        skip("local registry could not start (docker-registry, skopeo, umoci, busybox-static)")
    addr, pid = out.stdout.split()
    return addr, int(pid)


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    binary, src = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    if os.geteuid() != 0:
        skip("needs root (namespaces, mounts, cgroups)")
    for tool in ("crun", "ip"):
        if not shutil.which(tool):
            skip(tool + " not installed")
    if not os.access("/usr/lib/cni/bridge", os.X_OK):
        skip("containernetworking-plugins not installed")
    tmp = tempfile.mkdtemp(prefix="ck-life.")
    srv = agent = hooks = None
    reg_pid = None
    ok = False
    try:
        addr, reg_pid = registry(src, tmp)
        img = addr + "/life/busybox:1"
        srv = Server(binary, os.path.join(tmp, "data"))
        srv.start()
        node = "life-%d" % os.getpid()
        root = os.path.join(tmp, "agent")
        hport = free_port()
        log = open(os.path.join(tmp, "agent.log"), "ab")
        agent = subprocess.Popen(
            [binary, "agent", "--kubeconfig", srv.kubeconfig, "--node-name", node, "--root", root,
             "--healthz-port", str(hport), "-v", "2"], stdout=log, stderr=log)

        def metrics():
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % hport, timeout=5) as r:
                return r.read().decode()
        wait("agent /metrics", metrics, 20)
        wait("node Ready", lambda: cond(srv.get_json("/api/v1/nodes/" + node), "Ready") == "True")
        code, _ = api(srv, "POST", "/api/v1/namespaces",
                      {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        expect(code in (201, 409), "create namespace: %d" % code)
        hooks = HookServer()
        try:
            run_checks(srv, node, root, img, hooks, metrics)
        except Fail:
            print("---- agent.log (tail)", file=sys.stderr)
            with open(os.path.join(tmp, "agent.log"), errors="replace") as f:
                sys.stderr.write("".join(f.readlines()[-40:]))
            raise
        # stop the agent: SIGTERM ends it cleanly
        agent.send_signal(signal.SIGTERM)
        rc = agent.wait(timeout=20)
        agent = None
        expect(rc == 0, "agent exited %d on SIGTERM" % rc)
        ok = True
        print("PASS")
        return 0
    except Fail as e:
        print("FAIL: %s" % e, file=sys.stderr)
        return 1
    finally:
        if agent and agent.poll() is None and srv:
            cleanup_pods(srv)
        if agent and agent.poll() is None:
            agent.send_signal(signal.SIGTERM)
            try:
                agent.wait(timeout=20)
            except subprocess.TimeoutExpired:
                agent.kill()
                agent.wait()
        if hooks:
            hooks.stop()
        if srv:
            try:
                srv.stop()
            except Fail:
                pass
        if reg_pid:
            try:
                os.kill(reg_pid, signal.SIGTERM)
            except OSError:
                pass
        if ok or not os.environ.get("CK_KEEP"):
            leftovers = [l for l in open("/proc/mounts") if tmp in l]
            if not leftovers:
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                print("mounts left under %s" % tmp, file=sys.stderr)


def cleanup_pods(srv):
    """After a failure: deletes the pods this test made so the agent removes their containers."""
    for name in PODS:
        try:
            api(srv, "DELETE", "/api/v1/namespaces/%s/pods/%s" % (NS, name))
        except OSError:
            pass
    for name in PODS:
        try:
            wait(name + " gone", lambda: get_pod(srv, name) is None, 30, 0.2)
        except Fail as e:
            print("cleanup: %s" % e, file=sys.stderr)


PODS = ("life-web", "life-side", "life-hookfail")


def mkpod(srv, name, node, spec):
    spec = dict(spec, nodeName=node)
    code, body = api(srv, "POST", "/api/v1/namespaces/%s/pods" % NS,
                     {"apiVersion": "v1", "kind": "Pod",
                      "metadata": {"name": name, "namespace": NS}, "spec": spec})
    expect(code == 201, "create pod %s: %d %s" % (name, code, body))
    return body["metadata"]["uid"]


def pod_ip(srv, name):
    return get_pod(srv, name)["status"]["podIP"]


def http_get(url):
    with urllib.request.urlopen(url, timeout=3) as r:
        return r.read().decode()


WEB_CMD = ("i=0; while [ ! -f /tmp/poststart ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; "
           "cp /tmp/poststart /www/poststart; echo ok > /www/ready; touch /scratch/alive; "
           "exec httpd -f -p 8080 -h /www")


def run_checks(srv, node, root, img, hooks, metrics):
    # ---- probes and hooks -------------------------------------------------------------------
    web_uid = mkpod(srv, "life-web", node, {
        "terminationGracePeriodSeconds": 8,
        "volumes": [{"name": "www", "emptyDir": {}}, {"name": "scratch", "emptyDir": {}}],
        "containers": [{
            "name": "web", "image": img, "command": ["sh", "-c", WEB_CMD],
            "ports": [{"name": "http", "containerPort": 8080}],
            "volumeMounts": [{"name": "www", "mountPath": "/www"},
                             {"name": "scratch", "mountPath": "/scratch"}],
            "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"},
                               "periodSeconds": 1, "failureThreshold": 1},
            "livenessProbe": {"exec": {"command": ["cat", "/scratch/alive"]},
                              "periodSeconds": 1, "failureThreshold": 2},
            "lifecycle": {
                "postStart": {"exec": {"command": ["sh", "-c",
                                                   "echo hello-poststart > /tmp/poststart"]}},
                "preStop": {"exec": {"command": ["sh", "-c",
                                                 "echo bye > /scratch/prestop; sleep 3"]}}},
        }]})
    vol = os.path.join(root, "volumes", web_uid)
    kubectl = os.environ.get("KUBECTL", "/usr/bin/kubectl")
    if os.access(kubectl, os.X_OK):
        r = subprocess.run([kubectl, "--kubeconfig", srv.kubeconfig, "-n", NS, "wait",
                            "--for=condition=Ready", "pod/life-web", "--timeout=60s"],
                           capture_output=True, text=True, timeout=90)
        expect(r.returncode == 0, "kubectl wait Ready: %s %s" % (r.stdout, r.stderr))
    wait("life-web Ready", lambda: cond(get_pod(srv, "life-web"), "Ready") == "True", 60)
    p = get_pod(srv, "life-web")
    st = cstatus(p, "web")
    expect(st.get("ready") is True and st.get("started") is True, "web status: %s" % st)
    expect(cond(p, "ContainersReady") == "True", "ContainersReady")
    ip = pod_ip(srv, "life-web")
    expect(http_get("http://%s:8080/poststart" % ip).strip() == "hello-poststart",
           "the postStart file is not what the container served")
    print("ok readiness (httpGet, named port) -> Ready; postStart exec file seen by the container")

    # readiness fails: Ready False, then back
    os.unlink(os.path.join(vol, "www", "ready"))
    wait("Ready False", lambda: cond(get_pod(srv, "life-web"), "Ready") == "False", 20)
    p = get_pod(srv, "life-web")
    expect(cond(p, "ContainersReady") == "False", "ContainersReady should be False")
    expect(cstatus(p, "web").get("ready") is False, "containerStatuses[].ready should be False")
    expect(p["status"]["phase"] == "Running", "phase %s" % p["status"]["phase"])
    wait("Unhealthy readiness event", lambda: has_event(
        srv, "life-web", "Warning", "Unhealthy",
        "Readiness probe failed: HTTP probe failed with statuscode: 404"), 15)
    with open(os.path.join(vol, "www", "ready"), "w") as f:
        f.write("ok\n")
    wait("Ready True again", lambda: cond(get_pod(srv, "life-web"), "Ready") == "True", 20)
    expect(cstatus(get_pod(srv, "life-web"), "web").get("restartCount") == 0,
           "readiness must not restart the container")
    print("ok failing readiness flips Ready/ContainersReady to False and back")

    # liveness fails: killed and restarted
    os.unlink(os.path.join(vol, "scratch", "alive"))
    wait("restartCount 1", lambda: cstatus(get_pod(srv, "life-web"), "web").get("restartCount") == 1,
         30)
    wait("Unhealthy liveness event", lambda: has_event(
        srv, "life-web", "Warning", "Unhealthy", "Liveness probe failed: cat: can't open"), 10)
    wait("Killing event", lambda: has_event(
        srv, "life-web", "Normal", "Killing",
        "Container web failed liveness probe, will be restarted"), 10)
    wait("Ready after the restart", lambda: cond(get_pod(srv, "life-web"), "Ready") == "True", 40)
    st = cstatus(get_pod(srv, "life-web"), "web")
    expect("terminated" in st.get("lastState", {}), "lastState after the liveness kill: %s" % st)
    expect(os.path.exists(os.path.join(vol, "scratch", "alive")), "the new instance did not start")
    print("ok failing liveness restarts the container (restartCount 1, Unhealthy + Killing events)")

    # ---- sidecar ----------------------------------------------------------------------------
    sc_cmd = ("rm -f /s/stop-sc; echo sc >> /s/order; touch /tmp/up; i=0; "
              "while [ ! -f /s/stop-sc ] && [ $i -lt 3000 ]; do sleep 0.1; i=$((i+1)); done; exit 3")
    main_cmd = "sleep 1; echo main >> /s/order; exec httpd -f -p 8081 -h /s"
    side_uid = mkpod(srv, "life-side", node, {
        "terminationGracePeriodSeconds": 3,
        "volumes": [{"name": "s", "emptyDir": {}}],
        "initContainers": [{
            "name": "sc", "image": img, "restartPolicy": "Always",
            "command": ["sh", "-c", sc_cmd],
            "volumeMounts": [{"name": "s", "mountPath": "/s"}],
            "startupProbe": {"exec": {"command": ["test", "-f", "/tmp/up"]}, "periodSeconds": 1},
            "lifecycle": {"preStop": {"httpGet": {"host": "127.0.0.1", "port": hooks.port,
                                                  "path": "/prestop-sc"}}}}],
        "containers": [{
            "name": "main", "image": img, "command": ["sh", "-c", main_cmd],
            "volumeMounts": [{"name": "s", "mountPath": "/s"}],
            "startupProbe": {"tcpSocket": {"port": 8081}, "periodSeconds": 1,
                             "failureThreshold": 30},
            "livenessProbe": {"tcpSocket": {"port": 8081}, "periodSeconds": 1},
            "lifecycle": {"postStart": {"httpGet": {"host": "127.0.0.1", "port": hooks.port,
                                                    "path": "/poststart-main"}},
                          "preStop": {"httpGet": {"host": "127.0.0.1", "port": hooks.port,
                                                  "path": "/prestop-main"}}}}]})
    svol = os.path.join(root, "volumes", side_uid, "s")
    wait("life-side Ready", lambda: cond(get_pod(srv, "life-side"), "Ready") == "True", 60)
    order = os.path.join(svol, "order")
    wait("main started", lambda: "main" in open(order).read().split(), 10)
    p = get_pod(srv, "life-side")
    sc = cstatus(p, "sc", init=True)
    expect("running" in sc.get("state", {}) and sc.get("started") is True and sc.get("ready") is True,
           "sidecar status: %s" % sc)
    expect(cond(p, "Initialized") == "True", "Initialized")
    expect(p["status"]["phase"] == "Running", "phase")
    expect(open(order).read().split() == ["sc", "main"],
           "start order: %s" % open(order).read().split())
    hit = [h for h in hooks.hits if h[1] == "/poststart-main"]
    expect(hit and hit[0][2].startswith("kube-probe/1."), "httpGet postStart: %s" % hooks.hits)
    time.sleep(2)
    sc = cstatus(get_pod(srv, "life-side"), "sc", init=True)
    expect("running" in sc["state"] and sc["restartCount"] == 0, "sidecar kept running: %s" % sc)
    open(os.path.join(svol, "stop-sc"), "w").close()
    wait("sidecar restarted", lambda: cstatus(get_pod(srv, "life-side"), "sc", True)
         .get("restartCount") == 1 and "running" in cstatus(get_pod(srv, "life-side"), "sc", True)
         ["state"], 30)
    st = cstatus(get_pod(srv, "life-side"), "main")
    expect(st["restartCount"] == 0 and "running" in st["state"], "main affected: %s" % st)
    expect(st.get("started") is True, "main started (tcpSocket startup probe): %s" % st)
    expect(open(order).read().split() == ["sc", "main", "sc"], "order: %s" % open(order).read())
    print("ok sidecar starts first, gates the main container, keeps running, restarts on exit")

    # ---- a failing postStart hook kills the container ---------------------------------------
    hf_uid = mkpod(srv, "life-hookfail", node, {
        "terminationGracePeriodSeconds": 2,
        "containers": [{"name": "c", "image": img, "command": ["sleep", "3600"],
                        "lifecycle": {"postStart": {"exec": {"command": [
                            "sh", "-c", "echo boom; exit 1"]}}}}]})
    want = ('Exec lifecycle hook ([sh -c echo boom; exit 1]) for Container "c" in Pod '
            '"life-hookfail_%s(%s)" failed - error: command \'sh -c echo boom; exit 1\' exited '
            'with 1: , message: "boom\\n"' % (NS, hf_uid))
    wait("FailedPostStartHook event", lambda: has_event(
        srv, "life-hookfail", "Warning", "FailedPostStartHook", want), 30)
    wait("Killing FailedPostStartHook", lambda: has_event(
        srv, "life-hookfail", "Normal", "Killing", "FailedPostStartHook"), 10)
    wait("the killed instance in lastState", lambda: "terminated" in cstatus(
        get_pod(srv, "life-hookfail"), "c").get("lastState", {}), 30)
    st = cstatus(get_pod(srv, "life-hookfail"), "c")
    expect(st.get("ready") is False, "a container whose postStart failed is not ready: %s" % st)
    print("ok failing postStart: FailedPostStartHook event with upstream's message, killed")

    # ---- metrics ----------------------------------------------------------------------------
    m = metrics()
    expect('kubelet_pod_start_duration_seconds_bucket{le="0.5"}' in m and
           'kubelet_pod_start_duration_seconds_bucket{le="3600"}' in m, "histogram buckets")
    cnt = [l for l in m.splitlines()
           if l.startswith("kubelet_pod_start_duration_seconds_count ")]
    expect(cnt and int(cnt[0].split()[1]) >= 2, "pod start count: %s" % cnt)
    expect('prober_probe_total{container="web",namespace="lifetest",pod="life-web",'
           'pod_uid="%s",probe_type="Readiness",result="failed"}' % web_uid in m,
           "prober_probe_total series")
    print("ok kubelet_pod_start_duration_seconds, prober_probe_total")

    # ---- imagePullPolicy Never with the image absent: ErrImageNeverPull, nothing pulled --------
    never = "127.0.0.1:9/absent/never:1"
    mkpod(srv, "life-never", node, {"containers": [
        {"name": "c", "image": never, "imagePullPolicy": "Never"}]})
    wait("life-never ErrImageNeverPull", lambda: cstatus(get_pod(srv, "life-never"), "c").get(
        "state", {}).get("waiting", {}).get("reason") == "ErrImageNeverPull", 30)
    w = cstatus(get_pod(srv, "life-never"), "c")["state"]["waiting"]
    msg = 'Container image "%s" is not present with pull policy of Never' % never
    expect(w.get("message") == msg, "waiting message: %s" % w)
    expect(has_event(srv, "life-never", "Warning", "ErrImageNeverPull", msg), "ErrImageNeverPull event")
    expect(not has_event(srv, "life-never", "Normal", "Pulling", ""), "no pull was tried")
    code, _ = api(srv, "DELETE", "/api/v1/namespaces/%s/pods/life-never" % NS)
    expect(code == 200, "delete life-never: %d" % code)
    wait("life-never gone", lambda: get_pod(srv, "life-never") is None, 30, 0.1)
    print("ok imagePullPolicy Never: ErrImageNeverPull with upstream's message")

    # ---- preStop on delete ------------------------------------------------------------------
    prestop = os.path.join(vol, "scratch", "prestop")
    if os.path.exists(prestop):  # written when the liveness kill ran the hook
        os.unlink(prestop)
    t0 = time.time()
    code, _ = api(srv, "DELETE", "/api/v1/namespaces/%s/pods/life-web" % NS)
    expect(code == 200, "delete life-web: %d" % code)
    wait("preStop ran", lambda: os.path.exists(prestop), 5, 0.05)
    t_hook = time.time()
    wait("life-web gone", lambda: get_pod(srv, "life-web") is None, 30, 0.1)
    t_gone = time.time()
    expect(t_hook - t0 < 3, "preStop started late (%.1fs)" % (t_hook - t0))
    expect(t_gone - t0 >= 3, "the pod went away before the preStop hook finished (%.1fs)" %
           (t_gone - t0))
    expect(t_gone - t0 < 8 + 6, "deletion took %.1fs with a grace period of 8s" % (t_gone - t0))
    print("ok preStop runs first, inside the grace period (gone after %.1fs)" % (t_gone - t0))

    code, _ = api(srv, "DELETE", "/api/v1/namespaces/%s/pods/life-side" % NS)
    expect(code == 200, "delete life-side: %d" % code)
    wait("life-side gone", lambda: get_pod(srv, "life-side") is None, 30, 0.1)
    stops = [h[1] for h in hooks.hits if h[1].startswith("/prestop")]
    expect(stops == ["/prestop-main", "/prestop-sc"],
           "preStop order (main first, then the sidecar): %s" % stops)
    print("ok on delete the main container stops before the sidecar (httpGet preStop hooks)")
    code, _ = api(srv, "DELETE", "/api/v1/namespaces/%s/pods/life-hookfail" % NS)
    expect(code == 200, "delete life-hookfail: %d" % code)
    wait("life-hookfail gone", lambda: get_pod(srv, "life-hookfail") is None, 30, 0.1)
    left = [d for d in os.listdir(os.path.join(root, "volumes")) if d in (web_uid, side_uid)] \
        if os.path.isdir(os.path.join(root, "volumes")) else []
    expect(not left, "volumes left: %s" % left)
    rt_sb = os.path.join(root, "runtime", "sandboxes")
    wait("sandboxes removed", lambda: not os.path.isdir(rt_sb) or not os.listdir(rt_sb), 10)
    print("ok deleted, nothing left")


if __name__ == "__main__":
    sys.exit(main())
