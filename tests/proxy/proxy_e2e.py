#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Service proxy end-to-end (issue 16, bar 1): `ckube server --agent --scheduler --controllers`
runs the nftables proxy inside the agent, on real crun + CNI pods from a local registry,
driven by kubectl (1.33, else /usr/bin/kubectl).

Two busybox httpd pods behind a NodePort Service: from a third pod `wget` on the ClusterIP
reaches both; the NodePort answers from the host on the node IP; a pod made unready drops out
of the rotation; a VIP of the service CIDR that no Service holds is refused at once (reject,
not a timeout); deleting the Service puts the nft table back to what it was; the table goes
away with the agent. The Service's DNS name is checked when cluster DNS answers in the pod.

Own names: namespace proxye2e-<pid>, nft table proxye2e-<pid> (CKUBE_PROXY_NFT_TABLE), a
private data dir. Exit 77 (SKIP) without root, the registry tools, crun or nft."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from ckubetest import Server, Ctx, Fail, expect, kubectl_path  # noqa: E402

TABLE = "proxye2e-%d" % os.getpid()
NS = "proxye2e-%d" % os.getpid()
UNUSED_VIP = "10.111.222.233"  # in the default 10.96.0.0/12; no Service of this test holds it


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


def sh(script, **kw):
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, **kw)


def nft_table():
    p = subprocess.run(["nft", "list", "table", "ip", TABLE], capture_output=True, text=True)
    return p.stdout if p.returncode == 0 else None


def wait(what, fn, timeout, step=0.3):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = fn()
        except (OSError, ValueError, Fail) as e:
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(step)
    raise Fail("timed out after %ds waiting for %s (last: %s)" % (timeout, what, str(last)[:300]))


class Test:
    def __init__(self, binary, work):
        self.binary, self.work = binary, work
        self.srv = self.ctx = None
        self.reg_pid = None

    def setup(self):
        if os.geteuid() != 0:
            skip("needs root (crun, CNI, nftables)")
        for t in ("crun", "nft"):
            if not shutil.which(t):
                skip("%s not installed" % t)
        kubectl = kubectl_path("1.33") or shutil.which("kubectl")
        if not kubectl:
            skip("kubectl not installed")
        lib = os.path.join(HERE, "..", "lib", "registry.sh")
        p = sh('. "%s" && registry_start "%s" && registry_push_busybox proxye2e/busybox:1 && '
               'echo "$REGISTRY_ADDR $REGISTRY_PID"' % (lib, os.path.join(self.work, "reg")),
               timeout=120)
        if p.returncode != 0 or not p.stdout.strip():
            out = (p.stdout + p.stderr).strip()
            if "SKIP" in out:
                skip(out)
            raise Fail("registry: %s" % out)
        addr, pid = p.stdout.split()[-2:]
        self.reg_pid = int(pid)
        self.image = addr + "/proxye2e/busybox:1"
        os.environ["CKUBE_PROXY_NFT_TABLE"] = TABLE  # the server's agent inherits it
        self.srv = Server(self.binary, os.path.join(self.work, "data"),
                          ["--agent", "--scheduler", "--controllers"])
        self.srv.start()
        self.node = socket.gethostname().lower()
        wait("node Ready", self.node_ready, 60)
        wait("nft table %s" % TABLE, nft_table, 30)
        self.srv.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                             "metadata": {"name": NS}})
        try:  # pods need it when a service-account controller runs; ours may not
            wait("default service account",
                 lambda: self.srv.get_json("/api/v1/namespaces/%s/serviceaccounts/default" % NS),
                 10)
        except Fail:
            pass
        self.ctx = Ctx(kubectl, self.srv, self.work, NS)

    def node_ready(self):
        n = self.srv.get_json("/api/v1/nodes/" + self.node)
        return any(c["type"] == "Ready" and c["status"] == "True"
                   for c in n.get("status", {}).get("conditions", []))

    def teardown(self):
        if self.ctx and self.srv.proc.poll() is None:
            self.ctx.k("delete", "pods", "--all", "--grace-period=1", "--wait=true",
                       "--timeout=60s", ok=None, timeout=90)
        if self.srv:
            try:
                self.srv.stop()
            except Fail as e:
                print("server stop: %s" % e)
        if self.reg_pid:
            try:
                os.kill(self.reg_pid, signal.SIGTERM)
            except OSError:
                pass
        if nft_table() is not None:  # only ours, by name
            subprocess.run(["nft", "delete", "table", "ip", TABLE])

    # ---- helpers -------------------------------------------------------------------------
    def pod(self, name, script, ready_file=False):
        c = {"name": "c", "image": self.image, "command": ["sh", "-c", script]}
        if ready_file:
            c["readinessProbe"] = {"exec": {"command": ["cat", "/tmp/ready"]},
                                   "periodSeconds": 1, "failureThreshold": 1}
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "labels": {"app": "web"} if ready_file else {}},
                "spec": {"containers": [c], "terminationGracePeriodSeconds": 1}}

    def apply(self, obj):
        self.ctx.k("apply", "-f", "-", stdin=json.dumps(obj))

    def pod_ready(self, name):
        p = self.srv.get_json("/api/v1/namespaces/%s/pods/%s" % (NS, name))
        return any(c["type"] == "Ready" and c["status"] == "True"
                   for c in p.get("status", {}).get("conditions", []))

    def ready_endpoints(self):
        sl = self.srv.get_json("/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices"
                               "?labelSelector=kubernetes.io/service-name%%3Dweb" % NS)
        return sorted(e["addresses"][0] for s in sl.get("items", [])
                      for e in s.get("endpoints") or []
                      if e.get("conditions", {}).get("ready"))

    def fetch(self, url, timeout=3, pod="client"):
        """An HTTP GET from the client pod: (ok, body or error text, seconds). busybox-static's
        wget crashes in this image when run as `wget` or with -T, so it is nc with a request."""
        hostport = url.split("/")[2]
        host, port = (hostport.split(":") + ["80"])[:2]
        t0 = time.time()
        p = self.ctx.k("exec", pod, "--", "busybox", "sh", "-c",
                       'printf "GET / HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n" | '
                       "busybox nc -w %d %s %s" % (host, timeout, host, port), ok=None, timeout=30)
        secs = time.time() - t0
        head, _, body = p.stdout.replace("\r", "").partition("\n\n")
        if p.returncode == 0 and head.startswith("HTTP/1.") and " 200 " in head.split("\n")[0]:
            return True, body.strip(), secs
        return False, (p.stdout + p.stderr).strip(), secs

    def backends(self, url, want, tries):
        seen = set()
        for _ in range(tries):
            ok, body, _ = self.fetch(url)
            if ok:
                seen.add(body)
            elif not seen:
                self.last_err = body
            if want <= seen:
                break
        return seen

    # ---- the test ------------------------------------------------------------------------
    def run(self):
        for name in ("web-a", "web-b"):
            self.apply(self.pod(name, "mkdir -p /www && echo %s > /www/index.html && "
                                      "touch /tmp/ready && exec httpd -f -p 8080 -h /www" % name,
                                ready_file=True))
        self.apply(self.pod("client", "exec sleep 3600"))
        for name in ("web-a", "web-b", "client"):
            wait("pod %s Ready" % name, lambda n=name: self.pod_ready(n), 90)
        time.sleep(1)
        before = nft_table()
        expect(before is not None, "table %s missing" % TABLE)
        self.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                    "spec": {"type": "NodePort", "selector": {"app": "web"},
                             "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
        svc = self.srv.get_json("/api/v1/namespaces/%s/services/web" % NS)
        vip, nodeport = svc["spec"]["clusterIP"], svc["spec"]["ports"][0].get("nodePort")
        expect(vip and vip != "None", "no ClusterIP allocated: %s" % svc["spec"])
        wait("two ready endpoints", lambda: len(self.ready_endpoints()) == 2, 30)
        # the proxy's rules for it
        wait("the VIP in the table", lambda: vip in (nft_table() or ""), 10)
        print("ok table has %s" % vip)

        seen = self.backends("http://%s/" % vip, {"web-a", "web-b"}, 40)
        expect(seen == {"web-a", "web-b"}, "ClusterIP %s reached %s, want both (last error: %s)"
               % (vip, seen, getattr(self, "last_err", "")))
        print("ok ClusterIP %s reaches both backends" % vip)

        if nodeport:
            n = self.srv.get_json("/api/v1/nodes/" + self.node)
            ips = [a["address"] for a in n["status"].get("addresses", [])
                   if a["type"] == "InternalIP"]
            expect(ips, "node has no InternalIP")
            got = set()
            for _ in range(30):
                try:
                    with urllib.request.urlopen("http://%s:%d/" % (ips[0], nodeport),
                                                timeout=3) as r:
                        got.add(r.read().decode().strip())
                except OSError:
                    pass
                if got == {"web-a", "web-b"}:
                    break
            expect(got, "NodePort %s:%d did not answer from the host" % (ips[0], nodeport))
            print("ok NodePort %s:%d answers from the host (%s)" % (ips[0], nodeport,
                                                                    sorted(got)))
        else:
            raise Fail("the API server allocated no nodePort for a NodePort Service")

        # DNS, when cluster DNS runs (another part of issue 16)
        p = self.ctx.k("exec", "client", "--", "busybox", "nslookup",
                       "web.%s.svc.cluster.local" % NS, ok=None, timeout=30)
        if p.returncode == 0 and vip in p.stdout:
            ok, body, _ = self.fetch("http://web.%s.svc.cluster.local/" % NS)
            expect(ok and body in ("web-a", "web-b"), "by name: %s" % body)
            print("ok web.%s.svc.cluster.local reaches a backend" % NS)
        else:
            print("note: cluster DNS does not resolve the Service name in the pod; "
                  "name check skipped (%s)" % (p.stdout + p.stderr).strip()[:200])

        # readiness: web-b unready leaves the rotation
        self.ctx.k("exec", "web-b", "--", "rm", "/tmp/ready")
        wait("web-b unready", lambda: not self.pod_ready("web-b"), 30)
        wait("one ready endpoint", lambda: len(self.ready_endpoints()) == 1, 30)
        time.sleep(1)  # the proxy's debounce and sync
        seen = set()
        for _ in range(12):
            ok, body, _ = self.fetch("http://%s/" % vip)
            expect(ok, "ClusterIP failed with one ready endpoint: %s" % body)
            seen.add(body)
        expect(seen == {"web-a"}, "with web-b unready the VIP reached %s" % seen)
        print("ok an unready pod leaves the rotation")

        # hairpin: web-a, the only ready endpoint now, reaches itself through the VIP
        for _ in range(3):
            ok, body, _ = self.fetch("http://%s/" % vip, pod="web-a")
            expect(ok and body == "web-a", "hairpin from web-a: %s" % body)
        print("ok hairpin: a pod reaches itself through its Service")

        # a VIP of the service CIDR that no Service holds: refused at once
        ok, body, secs = self.fetch("http://%s/" % UNUSED_VIP, timeout=10)
        expect(not ok, "unallocated VIP answered: %s" % body)
        expect(secs < 8, "unallocated VIP took %.1f s (a timeout, not a reject): %s" % (secs, body))
        print("ok unallocated VIP refused in %.1f s (%s)" % (secs, body[:80]))

        # deleting the Service restores the table
        self.ctx.k("delete", "service", "web")
        try:
            wait("the table as before", lambda: nft_table() == before, 15)
        except Fail:
            import difflib
            after = nft_table() or ""
            print("".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True),
                                               "before", "after")))
            raise
        print("ok the table is back to what it was")

    def end(self):
        """After the server stops the table is gone."""
        self.ctx.k("delete", "pods", "--all", "--grace-period=1", "--wait=true", "--timeout=60s",
                   ok=None, timeout=90)
        self.srv.proc.send_signal(signal.SIGTERM)
        try:  # the agent's own shutdown can take longer than Server.stop allows
            self.srv.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            raise Fail("server did not exit within 60 s of SIGTERM")
        expect(nft_table() is None, "table %s left after the agent stopped" % TABLE)
        print("ok table removed with the agent")


def main():
    if len(sys.argv) < 2:
        print("usage: proxy_e2e.py CKUBE_BIN")
        return 2
    work = tempfile.mkdtemp(prefix="proxye2e-")
    t = Test(os.path.abspath(sys.argv[1]), work)
    rc = 0
    try:
        t.setup()
        t.run()
        t.end()
    except Fail as e:
        print("FAIL: %s" % e)
        rc = 1
        if os.environ.get("PROXYE2E_PAUSE"):  # debugging: keep the cluster up a while
            print("paused; KUBECONFIG=%s table %s" % (t.srv.kubeconfig if t.srv else "", TABLE))
            sys.stdout.flush()
            time.sleep(int(os.environ["PROXYE2E_PAUSE"]))
        try:
            with open(os.path.join(work, "server.log"), errors="replace") as f:
                lines = f.readlines()
            print("---- server.log (proxy lines, last 30) ----")
            print("".join([ln for ln in lines if "proxy" in ln][-30:]))
        except OSError:
            pass
    finally:
        t.teardown()
        if rc == 0:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("work dir kept: %s" % work)
    print("PASS" if rc == 0 else "FAILED")
    return rc


if __name__ == "__main__":
    sys.exit(main())
