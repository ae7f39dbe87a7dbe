#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Multi-node end-to-end (issue 16, bar 2): three agents, each in its own network namespace on
this machine, in one cluster.

  multinode.py CKUBE_BIN [--keep]

The host gets a bridge ckmn-br (10.231.0.1/24) and the API server listens on 10.231.0.1; the
network namespaces ckmn-1..3 each hold one `ckube agent` (veth ckmn-vN <-> ckmn-pN, node IP
10.231.0.1N, its own --root and kubelet port). The agents join with --server/--token when the
server wrote a join command (<data-dir>/join-command: bootstrap token, CA hash), else they
use the admin kubeconfig (the test says which); the CSRs are signed by the controller
manager with the cluster CA.
`ckube controller-manager --allocate-node-cidrs --cluster-cidr 10.244.0.0/16` gives each Node
a podCIDR, the agents run their pods on it and route to the others' (host-gw, proto 201).

Cases: each Node gets a distinct podCIDR and every agent the two routes to the others (and a
route for a Node that comes and goes, gone with it); busybox
httpd pods on the three nodes reach each other by pod IP; by Service name when the service
proxy and cluster DNS answer (otherwise a printed note); kill -9 of one agent: its Node goes
NotReady (Unknown), the Deployment's pods there (tolerationSeconds 5) are deleted and
recreated on the other nodes. Everything the test makes carries the ckmn prefix (netns, veth,
bridge, namespace ckmn-*, node names ckmn-node-N, data dirs under one temp dir) and is removed
at the end, also on failure."""

import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from ckubetest import Fail, expect, free_port, kubectl_path  # noqa: E402

BRIDGE, HOST_IP, NET = "ckmn-br", "10.231.0.1", "10.231.0"
CLUSTER_CIDR = "10.244.0.0/16"
NODES = 3
NS = "ckmn-%d" % os.getpid()
ROUTE_PROTO = "201"  # src/agent/routes.h AG_ROUTE_PROTO


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


def sh(script, timeout=60):
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=timeout)


def must(script, timeout=60):
    p = sh(script, timeout)
    if p.returncode != 0:
        raise Fail("%s: rc=%d %s" % (script, p.returncode, (p.stdout + p.stderr).strip()))
    return p.stdout


def wait(what, fn, timeout=60, step=0.5):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            v = fn()
            if v:
                return v
        except Fail as e:
            last = e
        time.sleep(step)
    raise Fail("timed out after %ds waiting for %s%s" % (timeout, what,
                                                        (": %s" % last) if last else ""))


class Cluster:
    def __init__(self, binary, work):
        self.bin, self.work = binary, work
        self.procs = {}  # name -> Popen
        self.kubectl = kubectl_path("1.33") or shutil.which("kubectl")
        self.kc = None
        self.sport, self.pport = free_port(), free_port()
        self.join_mode = "kubeconfig"
        self.reg_port = None

    # ---- processes ----
    def spawn(self, name, argv, netns=None):
        log = open(os.path.join(self.work, name + ".log"), "ab")
        if netns:
            # nsenter, not `ip netns exec`: that one remounts /sys (and hides the cgroup fs)
            argv = ["nsenter", "--net=/run/netns/" + netns, "--"] + argv
        self.procs[name] = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, text=True,
                                            start_new_session=True)
        return self.procs[name]

    def stop(self, name, sig=signal.SIGTERM, timeout=20):
        p = self.procs.pop(name, None)
        if not p or p.poll() is not None:
            return
        try:
            os.killpg(p.pid, sig)
        except OSError:
            pass
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()

    # ---- network ----
    def net_up(self):
        must("ip link add %s type bridge && ip addr add %s/24 dev %s && ip link set %s up"
             % (BRIDGE, HOST_IP, BRIDGE, BRIDGE))
        for i in range(1, NODES + 1):
            ns, v, p, ip = "ckmn-%d" % i, "ckmn-v%d" % i, "ckmn-p%d" % i, "%s.1%d" % (NET, i)
            must("ip netns add {ns} && ip link add {v} type veth peer name {p} && "
                 "ip link set {v} master {br} up && ip link set {p} netns {ns} && "
                 "ip -n {ns} addr add {ip}/24 dev {p} && ip -n {ns} link set {p} up && "
                 "ip -n {ns} link set lo up && ip -n {ns} route add default via {gw}"
                 .format(ns=ns, v=v, p=p, ip=ip, br=BRIDGE, gw=HOST_IP))

    # ---- registry: one on the host to push to, one per netns on the same 127.0.0.1 port
    # serving the same storage, so the image name is the same on every node ----
    def registry(self):
        lib = os.path.join(HERE, "..", "lib", "registry.sh")
        d = os.path.join(self.work, "reg")
        p = sh('. "%s" && registry_start "%s" && registry_push_busybox ckmn/busybox:1 && '
               'echo "$REGISTRY_ADDR $REGISTRY_PID"' % (lib, d), timeout=120)
        if p.returncode != 0 or not p.stdout.strip():
            out = (p.stdout + p.stderr).strip()
            if "SKIP" in out:
                skip(out)
            raise Fail("registry: %s" % out)
        addr, pid = p.stdout.split()[-2:]
        self.reg_pid = int(pid)
        self.image = addr + "/ckmn/busybox:1"
        cfg = os.path.join(d, "config.yml")
        for i in range(1, NODES + 1):
            self.spawn("registry-%d" % i, ["docker-registry", "serve", cfg], netns="ckmn-%d" % i)
        for i in range(1, NODES + 1):
            wait("registry in ckmn-%d" % i, lambda: sh(
                "ip netns exec ckmn-%d curl -fs -o /dev/null http://%s/v2/" % (i, addr)
            ).returncode == 0, timeout=30, step=0.2)

    # ---- control plane ----
    def server(self):
        data = os.path.join(self.work, "server")
        # HTTPS only: the plain port is refused on a non-loopback address (it would serve
        # unauthenticated admin); the test talks to the secure port with the admin token
        p = self.spawn("server", [self.bin, "server", "--data-dir", data, "--bind-address", HOST_IP,
                                  "--secure-port", str(self.sport), "--insecure-port", "0",
                                  "--scheduler"])
        line = p.stdout.readline()
        if not line.startswith("export KUBECONFIG="):
            raise Fail("server did not print its kubeconfig line: %r (see server.log)" % line)
        self.kc = line.strip().split("=", 1)[1]
        wait("the API server", lambda: self.ready(), timeout=30, step=0.2)
        self.spawn("controller-manager", [
            self.bin, "controller-manager", "--kubeconfig", self.kc, "--leader-elect=false",
            "--secure-port", "0", "--allocate-node-cidrs", "--cluster-cidr", CLUSTER_CIDR,
            "--node-monitor-grace-period", "10",
            "--cluster-signing-cert-file", os.path.join(data, "ca.crt"),
            "--cluster-signing-key-file", os.path.join(data, "ca.key")])

    def ready(self):
        try:
            with urllib.request.urlopen("https://%s:%d/readyz" % (HOST_IP, self.sport), timeout=2,
                                        context=self.tls()) as r:
                return r.status == 200
        except OSError:
            return False

    def tls(self):
        return ssl.create_default_context(cafile=os.path.join(self.work, "server", "ca.crt"))

    def api(self, path, method="GET", body=None, ctype="application/json"):
        with open(os.path.join(self.work, "server", "token")) as f:
            token = f.read().strip()
        req = urllib.request.Request("https://%s:%d%s" % (HOST_IP, self.sport, path), method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": ctype, "Authorization": "Bearer " + token})
        try:
            with urllib.request.urlopen(req, timeout=10, context=self.tls()) as r:
                return json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise Fail("%s %s: %d %s" % (method, path, e.code, e.read()[:300]))

    def k(self, *args, ok=True, timeout=60):
        cmd = [self.kubectl, "--kubeconfig", self.kc, "--request-timeout=30s", "-n", NS] + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           env=dict(os.environ, HOME=self.work))
        if ok and p.returncode != 0:
            raise Fail("kubectl %s: rc=%d %s" % (" ".join(args), p.returncode, p.stderr.strip()))
        return p

    # ---- agents ----
    def join_args(self):
        """The arguments of the server's join command (<data-dir>/join-command: --server,
        --token, --ca-cert-hash), or None when the server prints none."""
        path = os.path.join(self.work, "server", "join-command")
        deadline = time.time() + 10  # written right after the kubeconfig line
        while not os.path.exists(path) and time.time() < deadline:
            time.sleep(0.2)
        try:
            with open(path) as f:
                words = f.read().split()
        except OSError:
            return None
        expect(words[:2] == ["ckube", "agent"] and "--token" in words, "join-command: %s" % words)
        return words[2:]

    def agent(self, i, join):
        root = os.path.join(self.work, "agent-%d" % i)
        argv = [self.bin, "agent", "--node-name", "ckmn-node-%d" % i, "--root", root,
                "--node-ip", "%s.1%d" % (NET, i), "--cluster-cidr", CLUSTER_CIDR,
                "--healthz-port", "-1", "-v", "2"]
        argv += join if join else ["--kubeconfig", self.kc]
        self.spawn("agent-%d" % i, argv, netns="ckmn-%d" % i)

    def node(self, i):
        return self.api("/api/v1/nodes/ckmn-node-%d" % i)

    def ready_status(self, node):
        for c in (node or {}).get("status", {}).get("conditions", []):
            if c.get("type") == "Ready":
                return c.get("status")
        return ""

    # ---- pods ----
    def pods(self, sel=""):
        out = self.api("/api/v1/namespaces/%s/pods%s" % (NS, ("?labelSelector=" + sel) if sel else ""))
        return (out or {}).get("items", [])

    def cleanup_runtime(self):
        """Containers the agents left (a killed agent's): crun state under each root."""
        for i in range(1, NODES + 1):
            crun_root = os.path.join(self.work, "agent-%d" % i, "runtime", "crun")
            if not os.path.isdir(crun_root):
                continue
            p = sh("crun --root %s list -q 2>/dev/null" % crun_root)
            for cid in p.stdout.split():
                sh("crun --root %s kill %s KILL; sleep 0.2; crun --root %s delete -f %s"
                   % (crun_root, cid, crun_root, cid))


# index.html names the pod; /cgi-bin/ip answers with the client's address (REMOTE_ADDR)
HTTPD = ("mkdir -p /www/cgi-bin && echo \"ckmn $(hostname)\" > /www/index.html && "
         "printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho $REMOTE_ADDR\\n' "
         "> /www/cgi-bin/ip && chmod +x /www/cgi-bin/ip && exec httpd -f -p 8080 -h /www")


def pod_manifest(name, node, image):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": NS, "labels": {"app": "ckmn-web"}},
            "spec": {"nodeSelector": {"kubernetes.io/hostname": node},
                     "terminationGracePeriodSeconds": 1,
                     "containers": [{"name": "c", "image": image,
                                     "command": ["sh", "-c", HTTPD],
                                     "ports": [{"containerPort": 8080}]}]}}


def case_ipam_routes(c):
    cidrs = {}
    for i in range(1, NODES + 1):
        n = wait("node ckmn-node-%d with a podCIDR" % i,
                 lambda: (lambda n: n if n and n["spec"].get("podCIDR") else None)(c.node(i)),
                 timeout=60)
        cidr = n["spec"]["podCIDR"]
        expect(n["spec"].get("podCIDRs") == [cidr], "podCIDRs %s" % n["spec"].get("podCIDRs"))
        expect(cidr.startswith("10.244.") and cidr.endswith("/24"), "podCIDR %s" % cidr)
        cidrs[i] = cidr
    expect(len(set(cidrs.values())) == NODES, "podCIDRs not distinct: %s" % cidrs)
    for i in range(1, NODES + 1):
        want = {"%s via %s.1%d" % (cidrs[j], NET, j) for j in cidrs if j != i}

        def routes():
            out = sh("ip -n ckmn-%d -4 route show proto %s" % (i, ROUTE_PROTO)).stdout
            got = {" ".join(line.split()[:3]) for line in out.splitlines() if line.strip()}
            return got == want or None
        wait("routes in ckmn-%d: %s" % (i, sorted(want)), routes, timeout=40)
        expect(sh("ip netns exec ckmn-%d cat /proc/sys/net/ipv4/ip_forward" % i).stdout.strip() == "1",
               "ip_forward off in ckmn-%d" % i)
    for i in range(1, NODES + 1):
        wait("node ckmn-node-%d Ready" % i, lambda: c.ready_status(c.node(i)) == "True", timeout=60)
    return cidrs


def case_route_follows_node(c):
    """A Node that appears with a podCIDR and an InternalIP gets a route on every agent; the
    route goes with the Node."""
    name, cidr, ip = "ckmn-node-fake", "10.244.200.0/24", "%s.99" % NET
    c.api("/api/v1/nodes", "POST", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
                                    "spec": {"podCIDR": cidr, "podCIDRs": [cidr]}})
    c.api("/api/v1/nodes/%s/status" % name, "PATCH",
          {"status": {"addresses": [{"type": "InternalIP", "address": ip}]}},
          "application/merge-patch+json")
    want = "%s via %s" % (cidr, ip)

    def routes(i):
        out = sh("ip -n ckmn-%d -4 route show proto %s" % (i, ROUTE_PROTO)).stdout
        return {" ".join(line.split()[:3]) for line in out.splitlines() if line.strip()}
    for i in range(1, NODES + 1):
        wait("%s in ckmn-%d" % (want, i), lambda: want in routes(i), timeout=20, step=0.3)
    c.api("/api/v1/nodes/" + name, "DELETE")
    for i in range(1, NODES + 1):
        wait("%s gone from ckmn-%d" % (want, i), lambda: want not in routes(i), timeout=20, step=0.3)
        expect(len(routes(i)) == NODES - 1, "ckmn-%d routes %s" % (i, routes(i)))


def case_pod_to_pod(c, cidrs):
    for i in range(1, NODES + 1):
        c.api("/api/v1/namespaces/%s/pods" % NS, "POST",
              pod_manifest("web-%d" % i, "ckmn-node-%d" % i, c.image))
    ips = {}
    for i in range(1, NODES + 1):
        def running():
            p = c.api("/api/v1/namespaces/%s/pods/web-%d" % (NS, i))
            st = (p or {}).get("status", {})
            return st.get("podIP") if st.get("phase") == "Running" else None
        ips[i] = wait("pod web-%d Running" % i, running, timeout=120)
        net = cidrs[i].split("/")[0].rsplit(".", 1)[0] + "."
        expect(ips[i].startswith(net), "web-%d IP %s not in its node's podCIDR %s" %
               (i, ips[i], cidrs[i]))
    for i in range(1, NODES + 1):
        for j in range(1, NODES + 1):
            if i == j:
                continue
            def fetch():
                r = c.k("exec", "web-%d" % i, "--", "timeout", "5", "wget", "-qO-",
                        "http://%s:8080/" % ips[j], ok=None)
                if r.returncode != 0:
                    raise Fail("rc=%d %s" % (r.returncode, (r.stdout + r.stderr).strip()))
                return r
            p = wait("web-%d -> web-%d (%s)" % (i, j, ips[j]), fetch, timeout=30, step=1)
            expect("ckmn web-%d" % j in p.stdout, "web-%d got %r from web-%d" % (i, p.stdout, j))
    # no NAT between pods on different nodes: the server sees the client pod's own address
    r = c.k("exec", "web-1", "--", "timeout", "5", "wget", "-qO-", "http://%s:8080/cgi-bin/ip" % ips[2])
    seen = r.stdout.strip().strip("[]").replace("::ffff:", "")  # httpd's IPv4-mapped form
    expect(seen == ips[1], "web-2 saw web-1 (%s) as %r" % (ips[1], r.stdout.strip()))
    print("  pod-to-pod by IP across 3 nodes: ok (no NAT)")


def case_service_name(c):
    c.api("/api/v1/namespaces/%s/services" % NS, "POST", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "ckmn-web", "namespace": NS},
        "spec": {"selector": {"app": "ckmn-web"}, "ports": [{"port": 80, "targetPort": 8080}]}})
    name = "ckmn-web.%s.svc.cluster.local" % NS
    seen = set()
    deadline = time.time() + 30
    while time.time() < deadline and len(seen) < NODES:
        r = c.k("exec", "web-1", "--", "timeout", "5", "wget", "-qO-", "http://%s/" % name, ok=None)
        if r.returncode == 0:
            seen.add(r.stdout.strip())
        else:
            time.sleep(1)
    if not seen:
        print("NOTE: the Service by name did not answer (service proxy / cluster DNS not in this "
              "build?): check skipped")
        return
    expect(len(seen) >= 2, "Service %s reached only %s" % (name, seen))
    print("  Service by name across nodes: ok (%d backends)" % len(seen))


def case_kill_agent(c):
    tol = [{"key": k, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}
           for k in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")]
    c.api("/apis/apps/v1/namespaces/%s/deployments" % NS, "POST", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "ckmn-dep", "namespace": NS},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "ckmn-dep"}},
                 "template": {"metadata": {"labels": {"app": "ckmn-dep"}},
                              "spec": {"tolerations": tol, "terminationGracePeriodSeconds": 1,
                                       "topologySpreadConstraints": [{
                                           "maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                           # not DoNotSchedule: the dead node stays a
                                           # domain (nodeTaintsPolicy Ignore) with 0 pods
                                           "whenUnsatisfiable": "ScheduleAnyway",
                                           "labelSelector": {"matchLabels": {"app": "ckmn-dep"}}}],
                                       "containers": [{"name": "c", "image": c.image,
                                                       "command": ["sleep", "3600"]}]}}}})

    def all_running():
        ps = [p for p in c.pods("app%3Dckmn-dep") if not p["metadata"].get("deletionTimestamp")]
        ok = len(ps) == 3 and all(p["status"].get("phase") == "Running" for p in ps)
        return ps if ok else None
    ps = wait("3 Running pods of ckmn-dep", all_running, timeout=90)
    victim = ps[0]["spec"]["nodeName"]
    i = int(victim.rsplit("-", 1)[1])
    gone = {p["metadata"]["name"] for p in ps if p["spec"]["nodeName"] == victim}
    print("  kill -9 the agent of %s (pods there: %s)" % (victim, sorted(gone)))
    c.stop("agent-%d" % i, signal.SIGKILL)
    t0 = time.time()
    wait("%s NotReady" % victim, lambda: c.ready_status(c.node(i)) in ("Unknown", "False"),
         timeout=60)
    print("  %s Ready=%s after %.0fs" % (victim, c.ready_status(c.node(i)), time.time() - t0))
    def tainted():  # the controller taints the node on its next pass after the status
        taints = {t["key"] for t in c.node(i)["spec"].get("taints", [])}
        return taints & {"node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready"}
    wait("%s tainted unreachable or not-ready" % victim, tainted, timeout=20, step=0.5)

    def recreated():
        ps = [p for p in c.pods("app%3Dckmn-dep") if not p["metadata"].get("deletionTimestamp")]
        if any(p["metadata"]["name"] in gone for p in ps):
            return None
        ok = len(ps) == 3 and all(p["status"].get("phase") == "Running" and
                                  p["spec"].get("nodeName") != victim for p in ps)
        return ps if ok else None
    ps = wait("ckmn-dep's pods evicted from %s and Running elsewhere" % victim, recreated,
              timeout=90, step=1)
    print("  evicted and recreated after %.0fs on %s" %
          (time.time() - t0, sorted({p["spec"]["nodeName"] for p in ps})))
    # the node comes back: its agent cleans up the pods deleted meanwhile
    c.agent(i, c.join)
    wait("%s Ready again" % victim, lambda: c.ready_status(c.node(i)) == "True", timeout=60)


def main():
    if len(sys.argv) < 2:
        print("usage: multinode.py CKUBE_BIN [--keep]")
        return 2
    if os.geteuid() != 0:
        skip("needs root")
    for tool in ("crun", "ip", "curl"):
        if not shutil.which(tool):
            skip("%s not installed" % tool)
    if not os.path.exists("/usr/lib/cni/bridge") or not os.path.exists("/usr/lib/cni/host-local"):
        skip("CNI plugins not installed")
    if sh("ip link show %s; ip netns list | grep -q '^ckmn-'" % BRIDGE).returncode == 0 or \
            sh("ip link show %s" % BRIDGE).returncode == 0:
        raise SystemExit("ckmn-br or a ckmn-* netns exists already (another run?): clean it first")
    keep = "--keep" in sys.argv
    work = tempfile.mkdtemp(prefix="ckmn-")
    c = Cluster(os.path.abspath(sys.argv[1]), work)
    failed = False
    try:
        c.net_up()
        c.registry()
        c.server()
        c.join = c.join_args()
        c.join_mode = "bootstrap token" if c.join else "admin kubeconfig"
        if not c.join:
            print("NOTE: the server wrote no join-command (bootstrap-token join not in this "
                  "build): the agents use the admin kubeconfig")
        c.api("/api/v1/namespaces", "POST", {"apiVersion": "v1", "kind": "Namespace",
                                             "metadata": {"name": NS}})
        for i in range(1, NODES + 1):
            c.agent(i, c.join)
        t0 = time.time()
        cidrs = case_ipam_routes(c)
        print("ok ipam_routes (%s, %.0fs): %s" % (c.join_mode, time.time() - t0, cidrs))
        case_route_follows_node(c)
        print("ok route_follows_node")
        case_pod_to_pod(c, cidrs)
        print("ok pod_to_pod")
        case_service_name(c)
        print("ok service_name")
        case_kill_agent(c)
        print("ok kill_agent")
    except Exception as e:  # noqa: BLE001
        failed = True
        print("FAIL: %s" % e)
        traceback.print_exc()
        for name in sorted(os.listdir(work)):
            if name.endswith(".log"):
                print("---- %s (tail)" % name)
                with open(os.path.join(work, name), errors="replace") as f:
                    print("".join(f.readlines()[-25:]))
    finally:
        cleanup(c, keep and failed)
    return 1 if failed else 0


def cleanup(c, keep):
    # the pods go through their agents while they run; then the agents, the control plane
    try:
        if c.kc and c.ready():
            c.api("/api/v1/namespaces/%s" % NS, "DELETE")
            deadline = time.time() + 40
            while time.time() < deadline and c.pods():
                time.sleep(0.5)
    except Exception as e:  # noqa: BLE001
        print("cleanup: %s" % e)
    for name in [n for n in list(c.procs) if n.startswith("agent-")]:
        c.stop(name)
    c.cleanup_runtime()
    for name in list(c.procs):
        c.stop(name)
    if getattr(c, "reg_pid", None):
        try:
            os.kill(c.reg_pid, signal.SIGTERM)
        except OSError:
            pass
    for i in range(1, NODES + 1):
        sh("ip netns del ckmn-%d" % i)
        sh("ip link del ckmn-v%d" % i)
    sh("ip link del %s" % BRIDGE)
    # pod network namespaces the runtime made under /run/netns for this test's sandboxes
    for i in range(1, NODES + 1):
        sbdir = os.path.join(c.work, "agent-%d" % i, "runtime", "sandboxes")
        for sb in os.listdir(sbdir) if os.path.isdir(sbdir) else []:
            name = "ckube-" + sb[:24]  # src/runtime/crun_sandbox.c
            if os.path.exists(os.path.join("/run/netns", name)):
                sh("ip netns del %s" % name)
    # mounts the runtime left under the test's dirs (a killed agent's sandboxes), deepest first
    with open("/proc/mounts") as f:
        mounts = [line.split()[1] for line in f if line.split()[1].startswith(c.work + "/")]
    for m in sorted(mounts, reverse=True):
        sh("umount -l %s" % m)
    if keep:
        print("kept %s" % c.work)
    else:
        shutil.rmtree(c.work, ignore_errors=True)
        if os.path.exists(c.work):
            print("cleanup: %s could not be removed" % c.work)


if __name__ == "__main__":
    sys.exit(main())
