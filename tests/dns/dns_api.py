#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Cluster DNS against a real API server (issue 16): `ckube server` + `ckube dns --bind
127.0.0.1:<free port>`, Services and EndpointSlices made with the real kubectl, queried over
UDP and TCP with a hand-built DNS client (dnslib.py).

  dns_api.py CKUBE_BIN [KUBECTL]

Cases: ClusterIP A / AAAA (NODATA + SOA) / SRV of named ports, headless A from ready
endpoints and per-hostname records, publishNotReadyAddresses, ExternalName CNAME, pod records,
PTR, NXDOMAIN with the SOA, dns-version TXT, TCP, forwarding to an upstream (a fake resolver
the test runs on loopback) and SERVFAIL when it is dead, changes followed through the
informers, /healthz and /metrics. Everything lives in namespace dnsapi-<pid>."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
from ckubetest import Server, Fail, expect, free_port, wait_for  # noqa: E402
import dnslib  # noqa: E402

NS = "dnsapi-%d" % os.getpid()
D = "cluster.local."


class Upstream:
    """A fake upstream resolver on loopback: answers every A query with 192.0.2.7."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.seen = []
        self.stop = False
        self.th = threading.Thread(target=self.run, daemon=True)
        self.th.start()

    def run(self):
        while not self.stop:
            try:
                q, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            self.seen.append(q)
            self.sock.sendto(dnslib.answer_reply(q, "192.0.2.7"), peer)

    def close(self):
        self.stop = True
        self.th.join()
        self.sock.close()


class T:
    def __init__(self, binary, kubectl):
        self.binary, self.kubectl = binary, kubectl
        self.work = tempfile.mkdtemp(prefix="dnsapi-")
        self.srv = Server(binary, os.path.join(self.work, "data"))
        self.dns = None
        self.up = None

    def k(self, *args, stdin=None, ok=True):
        p = subprocess.run([self.kubectl, "--kubeconfig", self.srv.kubeconfig] + list(args),
                           input=stdin, capture_output=True, text=True, timeout=60)
        if ok and p.returncode != 0:
            raise Fail("kubectl %s: %s" % (" ".join(args), p.stderr.strip()))
        return p.stdout

    def apply(self, yaml):
        self.k("apply", "-f", "-", stdin=yaml)

    def start(self):
        self.srv.start()
        self.up = Upstream()
        self.port, self.hport = free_port(), free_port()
        self.dns_log = open(os.path.join(self.work, "dns.log"), "ab")
        self.dns = subprocess.Popen(
            [self.binary, "dns", "--kubeconfig", self.srv.kubeconfig, "--bind",
             "127.0.0.1:%d" % self.port, "--healthz-port", str(self.hport), "--upstream",
             "127.0.0.1:%d" % self.up.port, "--upstream", "127.0.0.1:%d" % free_port()],
            stdout=subprocess.PIPE, stderr=self.dns_log, text=True)
        line = self.dns.stdout.readline()
        expect("serving cluster.local on 127.0.0.1:%d" % self.port in line,
               "ckube dns printed %r" % line)
        self.k("create", "namespace", NS)

    def ask(self, name, qtype, **kw):
        return dnslib.ask("127.0.0.1", self.port, name, qtype, **kw)

    def http(self, path):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.hport, path), timeout=5) as r:
            return r.status, r.read().decode()

    def stop(self):
        if self.dns and self.dns.poll() is None:
            self.dns.terminate()
            try:
                self.dns.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.dns.kill()
                self.dns.wait()
                raise Fail("ckube dns did not exit within 15 s of SIGTERM")
            expect(self.dns.returncode == 0, "ckube dns exited %d" % self.dns.returncode)
        if self.up:
            self.up.close()
        self.srv.stop()


def data(rrs, typ=None):
    return sorted(str(r["data"]) for r in rrs if typ is None or r["type"] == typ)


def case_services(t):
    t.apply("""
apiVersion: v1
kind: Service
metadata: {name: web, namespace: %(ns)s}
spec:
  ports: [{name: http, port: 80, protocol: TCP}, {name: dns, port: 53, protocol: UDP}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: %(ns)s}
spec: {clusterIP: None, ports: [{name: pg, port: 5432}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: db-1
  namespace: %(ns)s
  labels: {kubernetes.io/service-name: db, endpointslice.kubernetes.io/managed-by: dnsapi-test}
addressType: IPv4
endpoints:
- {addresses: [10.250.0.5], hostname: db-0, conditions: {ready: true}}
- {addresses: [10.250.0.6], conditions: {ready: true}}
- {addresses: [10.250.0.7], hostname: db-2, conditions: {ready: false}}
ports: [{name: pg, port: 15432, protocol: TCP}]
---
apiVersion: v1
kind: Service
metadata: {name: ext, namespace: %(ns)s}
spec: {type: ExternalName, externalName: db.example.org}
---
apiVersion: v1
kind: Service
metadata: {name: pnr, namespace: %(ns)s}
spec: {clusterIP: None, publishNotReadyAddresses: true, ports: [{port: 9}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: pnr-1
  namespace: %(ns)s
  labels: {kubernetes.io/service-name: pnr, endpointslice.kubernetes.io/managed-by: dnsapi-test}
addressType: IPv4
endpoints:
- {addresses: [10.250.1.9], conditions: {ready: false}}
ports: [{port: 9, protocol: TCP}]
""" % {"ns": NS})
    vip = t.k("get", "svc", "web", "-n", NS, "-o", "jsonpath={.spec.clusterIP}")
    expect(vip, "web has no clusterIP")
    web = "web.%s.svc.%s" % (NS, D)
    r = wait_for("web's A record", lambda: (lambda r: r if r["answer"] else None)(t.ask(web, "A")),
                 timeout=15)
    expect(r["rcode"] == "NOERROR" and r["aa"], "web A: %r" % r)
    expect(data(r["answer"]) == [vip], "web A %r, want %s" % (r["answer"], vip))
    expect(r["answer"][0]["ttl"] == 5, "ttl %r" % r["answer"][0]["ttl"])
    r = t.ask(web, "AAAA")
    expect(r["rcode"] == "NOERROR" and not r["answer"], "web AAAA (NODATA): %r" % r)
    expect([x["type"] for x in r["authority"]] == ["SOA"], "NODATA without SOA: %r" % r)
    r = t.ask("_http._tcp." + web, "SRV")
    expect(data(r["answer"]) == [str((0, 100, 80, web))], "SRV http: %r" % r["answer"])
    expect(data(r["additional"], "A") == [vip], "SRV glue: %r" % r["additional"])
    r = t.ask("_dns._udp." + web, "SRV")
    expect([x["data"][2] for x in r["answer"]] == [53], "SRV dns/udp: %r" % r["answer"])
    r = t.ask("_dns._tcp." + web, "SRV")
    expect(r["rcode"] == "NXDOMAIN", "SRV dns/tcp: %r" % r)
    # headless
    db = "db.%s.svc.%s" % (NS, D)
    r = wait_for("db's endpoints", lambda: (lambda r: r if len(r["answer"]) == 2 else None)(
        t.ask(db, "A")), timeout=15)
    expect(data(r["answer"]) == ["10.250.0.5", "10.250.0.6"], "headless A: %r" % r["answer"])
    r = t.ask("db-0." + db, "A")
    expect(data(r["answer"]) == ["10.250.0.5"], "hostname A: %r" % r)
    r = t.ask("db-2." + db, "A")
    expect(r["rcode"] == "NXDOMAIN", "a not-ready endpoint answers: %r" % r)
    r = t.ask("_pg._tcp." + db, "SRV")
    expect(data(r["answer"]) == [str((0, 50, 15432, "10-250-0-6." + db)),
                                 str((0, 50, 15432, "db-0." + db))], "headless SRV: %r" % r)
    r = wait_for("pnr", lambda: (lambda r: r if r["answer"] else None)(
        t.ask("pnr.%s.svc.%s" % (NS, D), "A")), timeout=15)
    expect(data(r["answer"]) == ["10.250.1.9"], "publishNotReadyAddresses: %r" % r)
    # ExternalName, pods, PTR, misc
    r = wait_for("ext", lambda: (lambda r: r if r["answer"] else None)(
        t.ask("ext.%s.svc.%s" % (NS, D), "A")), timeout=15)
    expect(r["answer"][0]["type"] == "CNAME" and r["answer"][0]["data"] == "db.example.org.",
           "ExternalName: %r" % r)
    r = t.ask("10-1-2-3.%s.pod.%s" % (NS, D), "A")
    expect(data(r["answer"]) == ["10.1.2.3"], "pod A: %r" % r)
    rev = ".".join(reversed(vip.split("."))) + ".in-addr.arpa."
    r = t.ask(rev, "PTR")
    expect(data(r["answer"]) == [web], "PTR of the VIP: %r" % r)
    r = t.ask("5.0.250.10.in-addr.arpa.", "PTR")
    expect(data(r["answer"]) == ["db-0." + db], "PTR of an endpoint: %r" % r)
    r = t.ask("nothere.%s.svc.%s" % (NS, D), "A")
    expect(r["rcode"] == "NXDOMAIN" and r["authority"] and r["authority"][0]["type"] == "SOA",
           "NXDOMAIN + SOA: %r" % r)
    r = t.ask("dns-version." + D, "TXT")
    expect(data(r["answer"]) == ["1.1.0"], "dns-version: %r" % r)
    r = t.ask("kubernetes.default.svc." + D, "A")
    expect(r["rcode"] == "NOERROR" and len(r["answer"]) == 1, "kubernetes.default: %r" % r)
    # TCP
    r = t.ask(db, "A", tcp=True)
    expect(data(r["answer"]) == ["10.250.0.5", "10.250.0.6"], "TCP: %r" % r)


def case_changes(t):
    """Readiness flips and deletions reach the answers through the informers."""
    db = "db.%s.svc.%s" % (NS, D)
    t.k("patch", "endpointslice", "db-1", "-n", NS, "--type=json", "-p",
        '[{"op":"replace","path":"/endpoints/1/conditions/ready","value":false}]')
    wait_for("the not-ready endpoint to leave", lambda: data(t.ask(db, "A")["answer"]) ==
             ["10.250.0.5"], timeout=15)
    # no ready endpoint left: the headless name is gone (CoreDNS answers NXDOMAIN)
    t.k("patch", "endpointslice", "db-1", "-n", NS, "--type=json", "-p",
        '[{"op":"replace","path":"/endpoints/0/conditions/ready","value":false}]')
    wait_for("db to be NXDOMAIN", lambda: t.ask(db, "A")["rcode"] == "NXDOMAIN", timeout=15)
    t.k("delete", "svc", "web", "-n", NS)
    wait_for("web to be gone", lambda: t.ask("web.%s.svc.%s" % (NS, D), "A")["rcode"] ==
             "NXDOMAIN", timeout=15)


def case_forward(t):
    r = t.ask("www.example.test.", "A")
    expect(data(r["answer"]) == ["192.0.2.7"] and not r["aa"], "forwarded: %r" % r)
    expect(t.up.seen, "the upstream saw nothing")
    r = t.ask("www.example.test.", "A", tcp=False, edns=True)
    expect(r["rcode"] == "NOERROR", "forwarded with EDNS: %r" % r)
    # the upstream dies: SERVFAIL after the bounded tries (2 s each, 2 upstreams)
    t.up.close()
    t0 = time.time()
    r = t.ask("www2.example.test.", "A", timeout=10)
    expect(r["rcode"] == "SERVFAIL", "dead upstream: %r" % r)
    expect(time.time() - t0 < 8, "SERVFAIL took %.1f s" % (time.time() - t0))
    t.up = None
    # cluster names still answer at once meanwhile
    r = t.ask("kubernetes.default.svc." + D, "A", timeout=2)
    expect(r["answer"], "cluster name while forwarding fails: %r" % r)


def case_health_metrics(t):
    code, body = t.http("/healthz")
    expect(code == 200 and body == "ok", "healthz %d %r" % (code, body))
    code, body = t.http("/readyz")
    expect(code == 200, "readyz %d" % code)
    code, body = t.http("/metrics")
    expect('ckube_dns_requests_total{proto="udp",type="A"}' in body, "metrics: no udp A count")
    expect('ckube_dns_responses_total{rcode="NXDOMAIN"}' in body, "metrics: no NXDOMAIN count")
    expect('ckube_dns_requests_total{proto="tcp",type="A"}' in body, "metrics: no tcp count")
    expect("ckube_dns_request_duration_seconds_bucket" in body, "metrics: no latency histogram")
    expect("ckube_dns_forward_failures_total" in body, "metrics: no forward failures")


CASES = [case_services, case_changes, case_forward, case_health_metrics]


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    kubectl = sys.argv[2] if len(sys.argv) > 2 else "/usr/bin/kubectl"
    t = T(sys.argv[1], kubectl)
    failed = 0
    try:
        t.start()
        for c in CASES:
            try:
                c(t)
                print("ok " + c.__name__)
            except Exception as e:  # noqa: BLE001
                failed += 1
                print("FAIL %s: %s" % (c.__name__, e))
                traceback.print_exc()
    finally:
        try:
            t.k("delete", "namespace", NS, "--wait=false", ok=False)
            t.stop()
        except Exception as e:  # noqa: BLE001
            failed += 1
            print("FAIL stop: %s" % e)
        if failed:
            print("logs kept in " + t.work)
        else:
            shutil.rmtree(t.work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
