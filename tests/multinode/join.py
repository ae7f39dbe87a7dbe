#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The agent's join (issue 16, multi-node): `ckube agent --server URL --token ID.SECRET
--ca-cert-hash sha256:HEX` against `ckube server` and `ckube controller-manager` with the CSR
signer on the cluster CA and a short --cluster-signing-duration.

  join.py CKUBE_BIN

Cases: a wrong --ca-cert-hash and a wrong token secret are refused before any CSR is made;
the join writes <root>/pki/kubelet-client.{crt,key}, kubelet-client-current.pem and
<root>/kubelet.conf, its CSR (signer kubernetes.io/kube-apiserver-client-kubelet, usages
digital signature + client auth, CN system:node:<node>, O system:nodes) is made by
system:bootstrap:<id> and issued, and the Node registers; the 40 s certificate is renewed by
the node itself (a second CSR whose requestor is system:node:<node>) and the node keeps its
Lease after the first certificate expired; a restart reuses the certificate (no new CSR);
node IPAM on a range of two subnets: allocation, CIDRNotAvailable, release on delete, the map
rebuilt by a restarted controller manager.
The agent runs on the host without proxy, DNS or kubelet port; its node is joinmn-<pid>."""

import base64
import calendar
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from ckubetest import Fail, expect, free_port  # noqa: E402

NODE = "joinmn-%d" % os.getpid()
SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"
CERT_S = 40
# two /25 subnets: the agent's node takes one, the IPAM case the other
IPAM = ["--allocate-node-cidrs", "--cluster-cidr", "10.245.0.0/24", "--node-cidr-mask-size", "25"]


def wait(what, fn, timeout=60, step=0.5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(step)
    raise Fail("timed out after %ds waiting for %s" % (timeout, what))


class T:
    def __init__(self, binary, work):
        self.bin, self.work = binary, work
        self.procs = {}
        self.sport, self.pport = free_port(), free_port()

    def spawn(self, name, argv):
        log = open(os.path.join(self.work, name + ".log"), "ab")
        self.procs[name] = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, text=True)
        return self.procs[name]

    def stop(self, name):
        p = self.procs.pop(name, None)
        if p and p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def api(self, path):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.pport, path), timeout=10) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise

    def call(self, method, path, body=None, ctype="application/json"):
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.pport, path), method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": ctype})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"{}")

    def start(self):
        self.data = os.path.join(self.work, "server")
        p = self.spawn("server", [self.bin, "server", "--data-dir", self.data, "--secure-port",
                                  str(self.sport), "--insecure-port", str(self.pport)])
        line = p.stdout.readline()
        if not line.startswith("export KUBECONFIG="):
            raise Fail("server: %r" % line)
        self.kc = line.strip().split("=", 1)[1]
        path = os.path.join(self.data, "join-command")
        wait("join-command", lambda: os.path.exists(path), timeout=10, step=0.2)
        with open(path) as f:
            words = f.read().split()
        expect(words[:2] == ["ckube", "agent"], "join-command %s" % words)
        self.join = dict(zip(words[2::2], words[3::2]))
        expect(set(self.join) == {"--server", "--token", "--ca-cert-hash"}, "join %s" % self.join)
        self.cm_argv = [
            self.bin, "controller-manager", "--kubeconfig", self.kc, "--leader-elect=false",
            "--secure-port", "0", "--cluster-signing-cert-file", os.path.join(self.data, "ca.crt"),
            "--cluster-signing-key-file", os.path.join(self.data, "ca.key"),
            "--cluster-signing-duration", "%ds" % CERT_S] + IPAM
        self.spawn("controller-manager", self.cm_argv)

    def agent_argv(self, **over):
        j = dict(self.join, **over)
        argv = [self.bin, "agent", "--node-name", NODE, "--root", os.path.join(self.work, "agent"),
                "--port", "0", "--healthz-port", "-1", "--proxy=false", "--dns=false", "-v", "1"]
        for k in ("--server", "--token", "--ca-cert-hash"):
            argv += [k, j[k]]
        return argv

    def csrs(self):
        items = (self.api("/apis/certificates.k8s.io/v1/certificatesigningrequests") or {})
        return [c for c in items.get("items", []) if c["metadata"]["name"].startswith("node-csr-%s-" % NODE)]


def case_refused(t):
    bad_hash = "sha256:" + "00" * 32
    tid, secret = t.join["--token"].split(".")
    bad_tok = tid + "." + ("a" * 16 if secret != "a" * 16 else "b" * 16)
    for what, over, want in (("wrong --ca-cert-hash", {"--ca-cert-hash": bad_hash}, "are pinned"),
                             ("wrong token secret", {"--token": bad_tok}, "JWS signature")):
        p = subprocess.run(t.agent_argv(**over), capture_output=True, text=True, timeout=60)
        expect(p.returncode != 0, "%s: the agent started" % what)
        expect(want in p.stderr, "%s: %r not in the agent's error:\n%s" % (what, want, p.stderr[-600:]))
    expect(not t.csrs(), "a refused join made a CSR: %s" % [c["metadata"]["name"] for c in t.csrs()])


def case_join(t):
    t.spawn("agent", t.agent_argv())
    node = wait("node %s Ready" % NODE, lambda: (lambda n: n if n and any(
        c["type"] == "Ready" and c["status"] == "True"
        for c in n.get("status", {}).get("conditions", [])) else None)(
            t.api("/api/v1/nodes/" + NODE)), timeout=60)
    expect(node["metadata"]["name"] == NODE, "node")
    csrs = t.csrs()
    expect(len(csrs) == 1, "CSRs %s" % [c["metadata"]["name"] for c in csrs])
    csr = csrs[0]
    tid = t.join["--token"].split(".")[0]
    expect(csr["spec"]["signerName"] == SIGNER, "signer %s" % csr["spec"]["signerName"])
    expect(sorted(csr["spec"]["usages"]) == ["client auth", "digital signature"],
           "usages %s" % csr["spec"]["usages"])
    expect(csr["spec"]["username"] == "system:bootstrap:" + tid, "requestor %s" % csr["spec"]["username"])
    types = {c["type"] for c in csr["status"].get("conditions", [])}
    expect({"Approved"} <= types and csr["status"].get("certificate"), "CSR status %s" % csr["status"])
    root = os.path.join(t.work, "agent")
    for f, mode in (("pki/kubelet-client.crt", 0o644), ("pki/kubelet-client.key", 0o600),
                    ("pki/kubelet-client-current.pem", 0o600), ("pki/ca.crt", 0o644),
                    ("kubelet.conf", 0o600)):
        st = os.stat(os.path.join(root, f))
        expect(st.st_mode & 0o777 == mode, "%s mode %o" % (f, st.st_mode & 0o777))
    subj = subprocess.run(["openssl", "x509", "-noout", "-subject", "-in",
                           os.path.join(root, "pki/kubelet-client.crt")],
                          capture_output=True, text=True).stdout
    expect("system:nodes" in subj and ("system:node:" + NODE) in subj, "subject %s" % subj)
    with open(os.path.join(root, "kubelet.conf")) as f:
        conf = f.read()
    expect(t.join["--server"] in conf and "kubelet-client-current.pem" in conf, "kubelet.conf:\n" + conf)
    return csr


def case_renew(t, first):
    with open(os.path.join(t.work, "agent", "pki", "kubelet-client-current.pem")) as f:
        pem0 = f.read()

    def renewed():
        cs = [c for c in t.csrs() if c["metadata"]["name"] != first["metadata"]["name"]]
        return cs if cs and cs[0]["status"].get("certificate") else None
    cs = wait("the renewal CSR", renewed, timeout=CERT_S + 20, step=1)
    expect(cs[0]["spec"]["username"] == "system:node:" + NODE,
           "renewal requestor %s" % cs[0]["spec"]["username"])
    cur = os.path.join(t.work, "agent", "pki", "kubelet-client-current.pem")
    wait("the new certificate in %s" % cur, lambda: open(cur).read() != pem0, timeout=10, step=0.2)
    # past the first certificate's end the node still renews its Lease with the new one
    t0 = time.time()
    pem = base64.b64decode(first["status"]["certificate"])
    end = subprocess.run(["openssl", "x509", "-noout", "-enddate"], input=pem,
                         capture_output=True).stdout.decode().strip().split("=", 1)[1]
    not_after = calendar.timegm(time.strptime(end, "%b %d %H:%M:%S %Y GMT"))
    expect(not_after - time.time() < CERT_S + 5, "the first certificate ends at %s" % end)
    time.sleep(max(0, not_after + 2 - time.time()))
    path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/" + NODE
    r0 = t.api(path)["spec"]["renewTime"]
    wait("a Lease renewal after the first certificate expired",
         lambda: t.api(path)["spec"]["renewTime"] != r0, timeout=30, step=1)
    print("  renewed by system:node:%s; a Lease renewal after the first certificate's end "
          "(%.0fs)" % (NODE, time.time() - t0))


def case_ipam(t):
    """Node IPAM with two /25 subnets: the agent's node holds one; node a gets the other,
    node b gets CIDRNotAvailable; a's deletion frees its subnet for b (on b's next update);
    a restarted controller manager rebuilds the map from the Nodes (c gets nothing)."""
    names = ["%s-%s" % (NODE, x) for x in "abc"]

    def mk(n):
        t.call("POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": n}})

    def cidr(n):
        return ((t.api("/api/v1/nodes/" + n) or {}).get("spec") or {}).get("podCIDR")

    def event(n):
        evs = t.api("/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3D" + n)
        return [e for e in evs.get("items", []) if e.get("reason") == "CIDRNotAvailable"]
    mine = wait("the agent's podCIDR", lambda: cidr(NODE), timeout=30)
    expect(mine in ("10.245.0.0/25", "10.245.0.128/25"), "agent podCIDR %s" % mine)
    mk(names[0])
    a = wait("a podCIDR for " + names[0], lambda: cidr(names[0]), timeout=20, step=0.2)
    expect({a, mine} == {"10.245.0.0/25", "10.245.0.128/25"}, "podCIDRs %s %s" % (a, mine))
    mk(names[1])
    ev = wait("CIDRNotAvailable on " + names[1], lambda: event(names[1]), timeout=20, step=0.3)
    expect(ev[0]["type"] == "Normal" and ev[0]["involvedObject"]["kind"] == "Node" and
           ev[0]["message"] == "Node %s status is now: CIDRNotAvailable" % names[1], "event %s" % ev[0])
    expect(not cidr(names[1]), "%s got a podCIDR" % names[1])
    t.call("DELETE", "/api/v1/nodes/" + names[0])
    time.sleep(1)
    t.call("PATCH", "/api/v1/nodes/" + names[1], {"metadata": {"labels": {"touch": "1"}}},
           "application/merge-patch+json")
    b = wait("the freed podCIDR for " + names[1], lambda: cidr(names[1]), timeout=20, step=0.2)
    expect(b == a, "%s got %s, %s was freed" % (names[1], b, a))
    # restart: the map comes back from the Nodes, so c finds nothing free
    t.stop("controller-manager")
    t.spawn("controller-manager", t.cm_argv)
    mk(names[2])
    wait("CIDRNotAvailable on %s after a restart" % names[2], lambda: event(names[2]), timeout=30)
    expect(not cidr(names[2]) and cidr(names[1]) == b and cidr(NODE) == mine,
           "CIDRs after a restart: %s %s %s" % (cidr(names[2]), cidr(names[1]), cidr(NODE)))
    for n in names[1:]:
        t.call("DELETE", "/api/v1/nodes/" + n)


def case_restart(t):
    n0 = len(t.csrs())
    t.stop("agent")
    t.spawn("agent", t.agent_argv())
    log = os.path.join(t.work, "agent.log")
    wait("the restarted agent reusing its certificate",
         lambda: "reusing the client certificate" in open(log, errors="replace").read(), timeout=30)
    time.sleep(2)
    expect(len(t.csrs()) == n0, "a restart made a CSR")


def main():
    if len(sys.argv) < 2:
        print("usage: join.py CKUBE_BIN")
        return 2
    if os.geteuid() != 0 or not shutil.which("crun"):
        print("SKIP: needs root and crun (the agent's runtime)")
        return 77
    work = tempfile.mkdtemp(prefix="joinmn-")
    t = T(os.path.abspath(sys.argv[1]), work)
    failed = False
    try:
        t.start()
        case_refused(t)
        print("ok refused")
        first = case_join(t)
        print("ok join")
        case_renew(t, first)
        print("ok renew")
        case_restart(t)
        print("ok restart")
        case_ipam(t)
        print("ok ipam")
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
        t.stop("agent")
        for name in list(t.procs):
            t.stop(name)
        if failed and os.environ.get("CKUBE_KEEP"):
            print("kept %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
