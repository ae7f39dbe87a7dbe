#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Cluster DNS served by the node agent, seen from real pods (issue 16; needs root, crun,
CNI and the registry tools, else exit 77 = SKIP).

  dns_pod_e2e.py CKUBE_BIN

`ckube server` + `ckube agent --dns-port <free port>` (node dnse2e-<pid>, its own root dir):
  - the agent makes the Service kube-system/kube-dns (clusterIP = clusterDNS 10.96.0.10) and
    its node's EndpointSlice (node IP, the DNS port);
  - pods' /etc/resolv.conf is upstream's: ClusterFirst (nameserver 10.96.0.10, the three
    cluster searches plus the host's, ndots:5), Default and hostNetwork + ClusterFirst (the
    host's nameservers/searches/options), None + dnsConfig;
  - from a busybox pod, nslookup of kubernetes.default.svc.cluster.local and of a Service the
    test made, asked of the agent's DNS at <node IP>:<port> (the service proxy that would
    carry the VIP is not in the agent yet), answers their ClusterIPs.
Everything is named dnse2e-*: the namespace, node, pods; the data dirs are private."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from ckubetest import Server, Fail, expect, free_port, wait_for  # noqa: E402

NS = "dnse2e-%d" % os.getpid()
NODE = "dnse2e-%d" % os.getpid()


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


def sh(script, **kw):
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, **kw)


def host_resolv():
    """The host's resolv.conf as upstream's parseResolvConf reads it."""
    servers, searches, options = [], [], []
    with open("/etc/resolv.conf") as f:
        for line in f:
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            if fields[0] == "nameserver" and len(fields) > 1:
                servers.append(fields[1])
            elif fields[0] == "search":
                searches = [s.rstrip(".") for s in fields[1:]]
            elif fields[0] == "options":
                options = fields[1:]
    return servers, searches, options


def render(servers, searches, options):
    out = "".join("nameserver %s\n" % s for s in servers)
    if searches:
        out += "search " + " ".join(searches) + "\n"
    if options:
        out += "options " + " ".join(options) + "\n"
    return out


class T:
    def __init__(self, binary):
        self.binary = binary
        self.work = tempfile.mkdtemp(prefix="dnse2e-")
        self.srv = Server(binary, os.path.join(self.work, "data"), ["--controllers"])
        self.agent = None
        self.reg_pid = None
        self.kubectl = "/usr/bin/kubectl"
        self.sandboxes = set()

    def k(self, *args, stdin=None, ok=True, timeout=60):
        p = subprocess.run([self.kubectl, "--kubeconfig", self.srv.kubeconfig] + list(args),
                           input=stdin, capture_output=True, text=True, timeout=timeout)
        if ok and p.returncode != 0:
            raise Fail("kubectl %s: %s" % (" ".join(args), p.stderr.strip()))
        return p.stdout

    def get(self, path):
        try:
            return self.srv.get_json(path)
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise

    def setup(self):
        lib = os.path.join(HERE, "..", "lib", "registry.sh")
        p = sh('. "%s" && registry_start "%s" && registry_push_busybox dnse2e/busybox:1 && '
               'echo "$REGISTRY_ADDR $REGISTRY_PID"' % (lib, os.path.join(self.work, "reg")),
               timeout=120)
        if p.returncode != 0 or not p.stdout.strip():
            out = (p.stdout + p.stderr).strip()
            if "SKIP" in out:
                skip(out)
            raise Fail("registry: %s" % out)
        addr, pid = p.stdout.split()[-2:]
        self.reg_pid = int(pid)
        self.image = addr + "/dnse2e/busybox:1"
        self.srv.start()
        self.dns_port, self.hport = free_port(), free_port()
        log = open(os.path.join(self.work, "agent.log"), "ab")
        self.agent = subprocess.Popen(
            [self.binary, "agent", "--kubeconfig", self.srv.kubeconfig, "--node-name", NODE,
             "--root", os.path.join(self.work, "agent"), "--healthz-port", str(self.hport),
             "--port", "0", "--dns-port", str(self.dns_port), "--proxy=false", "-v", "2"],
            stdout=log, stderr=log)

        def node_ready():
            n = self.get("/api/v1/nodes/" + NODE)
            return n and any(c["type"] == "Ready" and c["status"] == "True"
                             for c in n.get("status", {}).get("conditions", []))
        wait_for("node %s Ready" % NODE, node_ready, timeout=40, step=0.3)
        node = self.get("/api/v1/nodes/" + NODE)
        self.node_ip = [a["address"] for a in node["status"]["addresses"]
                        if a["type"] == "InternalIP"][0]
        self.k("create", "namespace", NS)
        try:  # when the controller manager has the service-account controller
            wait_for("default service account", lambda: self.get(
                "/api/v1/namespaces/%s/serviceaccounts/default" % NS), timeout=10, step=0.3)
        except Fail:
            pass

    def teardown(self):
        if self.srv.proc and self.srv.proc.poll() is None and self.agent:
            self.k("delete", "pods", "--all", "-n", NS, "--grace-period=1", "--wait=true",
                   "--timeout=60s", ok=False, timeout=90)
        if self.agent and self.agent.poll() is None:
            self.agent.terminate()
            try:
                self.agent.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.agent.kill()
                self.agent.wait()
        try:
            self.srv.stop()
        except Fail as e:
            print("server stop: %s" % e)
        if self.reg_pid:
            try:
                os.kill(self.reg_pid, signal.SIGTERM)
            except OSError:
                pass

    def pod(self, name, extra):
        spec = {"nodeName": NODE, "terminationGracePeriodSeconds": 1,
                "containers": [{"name": "c", "image": self.image,
                                "command": ["sh", "-c", "sleep 600"]}]}
        spec.update(extra)
        self.k("apply", "-n", NS, "-f", "-", stdin=json.dumps(
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}))

    def running(self, name):
        p = self.get("/api/v1/namespaces/%s/pods/%s" % (NS, name)) or {}
        return p.get("status", {}).get("phase") == "Running"

    def exec(self, pod, *cmd):
        return self.k("exec", "-n", NS, pod, "--", *cmd, ok=False, timeout=30)


def case_kube_dns_objects(t):
    svc = wait_for("kube-system/kube-dns", lambda: t.get(
        "/api/v1/namespaces/kube-system/services/kube-dns"), timeout=20, step=0.3)
    expect(svc["spec"]["clusterIP"] == "10.96.0.10", "kube-dns clusterIP %s" %
           svc["spec"]["clusterIP"])
    expect(svc["metadata"]["labels"].get("k8s-app") == "kube-dns", "kube-dns labels")
    expect(sorted((p["name"], p["protocol"], p["port"]) for p in svc["spec"]["ports"]) ==
           [("dns", "UDP", 53), ("dns-tcp", "TCP", 53)], "kube-dns ports %r" % svc["spec"]["ports"])
    sl = wait_for("the node's EndpointSlice", lambda: t.get(
        "/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices/kube-dns-" + NODE),
        timeout=20, step=0.3)
    expect(sl["endpoints"][0]["addresses"] == [t.node_ip], "slice address %r" % sl["endpoints"])
    expect(sorted(p["port"] for p in sl["ports"]) == [t.dns_port, t.dns_port],
           "slice ports %r" % sl["ports"])
    expect(sl["metadata"]["labels"].get("kubernetes.io/service-name") == "kube-dns",
           "slice labels")


def case_resolv_conf(t):
    t.pod("dnse2e-cf", {})
    t.pod("dnse2e-default", {"dnsPolicy": "Default"})
    t.pod("dnse2e-none", {"dnsPolicy": "None", "dnsConfig": {
        "nameservers": ["192.0.2.53"], "searches": ["dnse2e.example"],
        "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]}})
    t.pod("dnse2e-hostnet", {"hostNetwork": True})  # ClusterFirst falls back to Default
    for name in ("dnse2e-cf", "dnse2e-default", "dnse2e-none", "dnse2e-hostnet"):
        wait_for("pod %s Running" % name, lambda n=name: t.running(n), timeout=90, step=0.5)
    try:  # for the leftover check: the sandboxes the agent made for these pods
        t.sandboxes |= set(os.listdir(os.path.join(t.work, "agent", "runtime", "sandboxes")))
    except OSError:
        pass
    expect(len(t.sandboxes) >= 4, "sandboxes seen under the agent root: %r" % t.sandboxes)
    servers, searches, options = host_resolv()
    want = render(["10.96.0.10"], ["%s.svc.cluster.local" % NS, "svc.cluster.local",
                                   "cluster.local"] + [s for s in searches if s not in (
                                       "%s.svc.cluster.local" % NS, "svc.cluster.local",
                                       "cluster.local")], ["ndots:5"])
    got = t.exec("dnse2e-cf", "cat", "/etc/resolv.conf")
    expect(got == want, "ClusterFirst resolv.conf:\n%s\nwant:\n%s" % (got, want))
    got = t.exec("dnse2e-default", "cat", "/etc/resolv.conf")
    want = render(servers[:3], searches, options)
    expect(got == want, "Default resolv.conf:\n%s\nwant:\n%s" % (got, want))
    got = t.exec("dnse2e-hostnet", "cat", "/etc/resolv.conf")
    expect(got == want, "hostNetwork ClusterFirst resolv.conf:\n%s\nwant:\n%s" % (got, want))
    got = t.exec("dnse2e-none", "cat", "/etc/resolv.conf")
    want = "nameserver 192.0.2.53\nsearch dnse2e.example\noptions ndots:2 edns0\n"
    expect(got == want, "None resolv.conf:\n%s\nwant:\n%s" % (got, want))


def case_lookup_from_pod(t):
    t.k("create", "service", "clusterip", "dnse2e-web", "-n", NS, "--tcp=80:8080")
    web_ip = t.k("get", "svc", "dnse2e-web", "-n", NS, "-o", "jsonpath={.spec.clusterIP}")
    kube_ip = t.get("/api/v1/namespaces/default/services/kubernetes")["spec"]["clusterIP"]
    server = "%s:%d" % (t.node_ip, t.dns_port)

    def lookup(name):
        out = t.exec("dnse2e-cf", "nslookup", name, server)
        return out if "Name:" in out else None
    out = wait_for("kubernetes.default from the pod", lambda: lookup(
        "kubernetes.default.svc.cluster.local"), timeout=30, step=1)
    expect("Address: %s" % kube_ip in out, "nslookup kubernetes.default:\n%s" % out)
    out = wait_for("dnse2e-web from the pod", lambda: lookup(
        "dnse2e-web.%s.svc.cluster.local" % NS), timeout=30, step=1)
    expect("Address: %s" % web_ip in out, "nslookup dnse2e-web:\n%s" % out)
    out = t.exec("dnse2e-cf", "nslookup", "nothere.%s.svc.cluster.local" % NS, server)
    expect("NXDOMAIN" in out, "nslookup of a missing service:\n%s" % out)


CASES = [case_kube_dns_objects, case_resolv_conf, case_lookup_from_pod]


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    if os.geteuid() != 0:
        skip("needs root (crun, CNI, network namespaces)")
    for tool in ("crun", "nft"):
        if not shutil.which(tool):
            skip(tool + " not installed")
    if not os.path.exists("/usr/lib/cni/bridge"):
        skip("CNI plugins not installed (/usr/lib/cni)")
    t = T(os.path.abspath(sys.argv[1]))
    failed = 0
    try:
        t.setup()
        for c in CASES:
            try:
                c(t)
                print("ok " + c.__name__)
            except Exception as e:  # noqa: BLE001
                failed += 1
                print("FAIL %s: %s" % (c.__name__, e))
                traceback.print_exc()
    except Fail as e:
        failed += 1
        print("FAIL setup: %s" % e)
    finally:
        t.teardown()
        left = [sb for sb in t.sandboxes if os.path.exists("/var/run/netns/ckube-" + sb[:24])]
        if left:
            failed += 1
            print("FAIL leftovers: network namespaces of this test's pods: %s" % left)
        if failed:
            print("logs kept in " + t.work)
        else:
            shutil.rmtree(t.work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
