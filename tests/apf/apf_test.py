#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""apf suite: `ckube apiserver` on free ports, data under a private temp dir (prefix apf-t-).

ports        a second server on a port in use fails with "address already in use";
             --insecure-port with a non-loopback --bind-address is refused
cert         the serving certificate's SANs (kubernetes.default.svc..., the first service IP),
             reissued when the service range changes and when fewer than 30 days remain,
             always from the same CA
apf          the bootstrap FlowSchemas; X-Kubernetes-PF-* headers name the matching schema and
             level (exempt for the admin, global-default for a client-certificate user);
             a one-seat level with one one-slot queue answers upstream's 429 (plain text,
             Retry-After) and counts it in apiserver_flowcontrol_rejected_requests_total
rapid_reset  50,000 HTTP/2 HEADERS+RST_STREAM pairs on one TLS connection (raw frames): the
             server's RSS and another client's GET latency stay flat and the reset LISTs mostly
             never run
"""
import http.client
import json
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from ckubetest import Fail, expect, expect_in, free_port, wait_for  # noqa: E402

BIN = sys.argv[1]
WORK = tempfile.mkdtemp(prefix="apf-t-")
PROCS = []


class Api:
    def __init__(self, data, extra=()):
        self.data, self.sport, self.pport = data, free_port(), free_port()
        self.log = open(os.path.join(WORK, os.path.basename(data) + ".log"), "ab")
        self.proc = subprocess.Popen(
            [BIN, "apiserver", "--data-dir", data, "--secure-port", str(self.sport),
             "--insecure-port", str(self.pport)] + list(extra),
            stdout=self.log, stderr=self.log)
        PROCS.append(self.proc)
        wait_for("the API server on %d" % self.pport, self.ready, timeout=40, step=0.1)

    def ready(self):
        if self.proc.poll() is not None:
            raise Fail("apiserver exited %s (see %s)" % (self.proc.returncode, WORK))
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/readyz" % self.pport, timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def req(self, method, path, body=None):
        r = urllib.request.Request("http://127.0.0.1:%d%s" % (self.pport, path), method=method,
                                   data=json.dumps(body).encode() if body is not None else None,
                                   headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(r, timeout=30) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def metrics(self):
        return self.req("GET", "/metrics")[2].decode()

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return -1

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def run(args, timeout=30):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout)


def client_cert(data, cn, org):
    """A client certificate for cn/org from the cluster CA (openssl), paths (crt, key)."""
    key, csr, crt = (os.path.join(WORK, "%s.%s" % (cn.replace(":", "_"), e))
                     for e in ("key", "csr", "crt"))
    for args in (["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key],
                 ["openssl", "req", "-new", "-key", key, "-subj", "/O=%s/CN=%s" % (org, cn),
                  "-out", csr],
                 ["openssl", "x509", "-req", "-in", csr, "-CA", os.path.join(data, "ca.crt"),
                  "-CAkey", os.path.join(data, "ca.key"), "-CAcreateserial", "-days", "2",
                  "-out", crt]):
        p = run(args)
        expect(p.returncode == 0, "%s: %s" % (args[:2], p.stderr))
    return crt, key


def tls_ctx(crt, key, alpn=None):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.load_cert_chain(crt, key)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def https(api, ctx, method, path):
    c = http.client.HTTPSConnection("127.0.0.1", api.sport, context=ctx, timeout=60)
    try:
        c.request(method, path)
        r = c.getresponse()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
    finally:
        c.close()


def grant(api):
    """RBAC: the test's certificate users (group apf-t-group) may do everything."""
    st, _, body = api.req("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "apf-t-admin"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "cluster-admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                      "name": "apf-t-group"}]})
    expect(st in (201, 409), "ClusterRoleBinding: %d %s" % (st, body[:200]))


def uid_of(api, kind, name):
    st, _, body = api.req("GET", "/apis/flowcontrol.apiserver.k8s.io/v1/%s/%s" % (kind, name))
    expect(st == 200, "GET %s/%s: %d %s" % (kind, name, st, body[:200]))
    return json.loads(body)["metadata"]["uid"]


def metric(text, name, **labels):
    total = None
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all('%s="%s"' % (k, v) in line for k, v in labels.items()):
            total = (total or 0) + float(line.rsplit(" ", 1)[1])
    return total


# ---- ports -------------------------------------------------------------------------------------

def test_ports():
    a = Api(os.path.join(WORK, "a"))
    try:
        for extra in (["--secure-port", str(a.sport), "--insecure-port", "0"],
                      ["--secure-port", "0", "--insecure-port", str(a.pport)]):
            p = run([BIN, "apiserver", "--data-dir", os.path.join(WORK, "b")] + extra, timeout=60)
            expect(p.returncode != 0, "a second server on a port in use started: %s" % extra)
            expect_in("address already in use", p.stderr, "the second server's stderr")
        # the first one still serves alone
        expect(a.ready(), "the first server stopped serving")
    finally:
        a.stop()
    p = run([BIN, "apiserver", "--data-dir", os.path.join(WORK, "c"), "--bind-address", "0.0.0.0",
             "--insecure-port", str(free_port())])
    expect(p.returncode == 2, "--insecure-port with --bind-address 0.0.0.0 exited %d" % p.returncode)
    expect_in("--insecure-port", p.stderr)
    expect_in("loopback", p.stderr)
    expect(not os.path.exists(os.path.join(WORK, "c", "store")), "refused, yet it opened a store")


# ---- cert --------------------------------------------------------------------------------------

def cert_text(data):
    p = run(["openssl", "x509", "-in", os.path.join(data, "apiserver.crt"), "-noout", "-text"])
    expect(p.returncode == 0, p.stderr)
    return p.stdout


def not_after_days(data):
    p = run(["openssl", "x509", "-in", os.path.join(data, "apiserver.crt"), "-noout", "-enddate"])
    end = p.stdout.strip().split("=", 1)[1]
    return (ssl.cert_time_to_seconds(end) - time.time()) / 86400


def verify(data):
    p = run(["openssl", "verify", "-CAfile", os.path.join(data, "ca.crt"),
             os.path.join(data, "apiserver.crt")])
    expect(p.returncode == 0, "the serving certificate does not verify: %s" % p.stdout + p.stderr)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def test_cert():
    data = os.path.join(WORK, "cert")
    a = Api(data)
    a.stop()
    t = cert_text(data)
    for name in ("DNS:kubernetes,", "DNS:kubernetes.default,", "DNS:kubernetes.default.svc,",
                 "DNS:kubernetes.default.svc.cluster.local", "DNS:localhost", "IP Address:127.0.0.1",
                 "IP Address:10.96.0.1", "DNS:%s" % socket.gethostname()):
        expect_in(name, t, "the serving certificate")
    verify(data)
    ca = read(os.path.join(data, "ca.crt"))
    first = read(os.path.join(data, "apiserver.crt"))
    # unchanged flags: the same certificate
    Api(data).stop()
    expect(read(os.path.join(data, "apiserver.crt")) == first, "reissued without a change")
    # another service range: reissued with its first address, same CA
    Api(data, ["--service-cluster-ip-range", "10.100.0.0/16"]).stop()
    t = cert_text(data)
    expect_in("IP Address:10.100.0.1", t, "the reissued certificate")
    expect("IP Address:10.96.0.1" not in t, "the old service IP stayed")
    expect(read(os.path.join(data, "ca.crt")) == ca, "the CA changed")
    verify(data)
    # 10 days left: rotated at start
    crt, key = os.path.join(data, "apiserver.crt"), os.path.join(data, "apiserver.key")
    csr = os.path.join(WORK, "short.csr")
    ext = os.path.join(WORK, "short.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,"
                "DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:127.0.0.1,IP:::1,"
                "IP:10.100.0.1,DNS:%s\n" % socket.gethostname())
    p = run(["openssl", "req", "-new", "-key", key, "-subj", "/CN=kube-apiserver", "-out", csr])
    expect(p.returncode == 0, p.stderr)
    p = run(["openssl", "x509", "-req", "-in", csr, "-CA", os.path.join(data, "ca.crt"), "-CAkey",
             os.path.join(data, "ca.key"), "-CAcreateserial", "-days", "10", "-extfile", ext,
             "-out", crt])
    expect(p.returncode == 0, p.stderr)
    expect(not_after_days(data) < 11, "the short certificate was not written")
    Api(data, ["--service-cluster-ip-range", "10.100.0.0/16"]).stop()
    expect(not_after_days(data) > 300, "a certificate with 10 days left was not rotated")
    expect(read(os.path.join(data, "ca.crt")) == ca, "the CA changed")
    verify(data)


# ---- apf ---------------------------------------------------------------------------------------

def test_apf():
    data = os.path.join(WORK, "apf")
    a = Api(data)
    try:
        st, _, body = a.req("GET", "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas")
        names = sorted(i["metadata"]["name"] for i in json.loads(body)["items"])
        expect(names == sorted(["exempt", "probes", "system-leader-election", "endpoint-controller",
                                "workload-leader-election", "system-node-high", "system-nodes",
                                "kube-controller-manager", "kube-scheduler",
                                "kube-system-service-accounts", "service-accounts",
                                "global-default", "catch-all"]), "bootstrap schemas: %s" % names)
        st, h, _ = a.req("GET", "/api/v1/namespaces")
        hl = dict((k.lower(), v) for k, v in h.items())
        expect(hl.get("x-kubernetes-pf-flowschema-uid") == uid_of(a, "flowschemas", "exempt"),
               "the admin's schema header: %s" % hl)
        expect(hl.get("x-kubernetes-pf-prioritylevel-uid") ==
               uid_of(a, "prioritylevelconfigurations", "exempt"), "the admin's level header")
        crt, key = client_cert(data, "apf-t-user", "apf-t-group")
        grant(a)
        ctx = tls_ctx(crt, key)
        st, hl, body = https(a, ctx, "GET", "/api/v1/namespaces/default/configmaps")
        expect(st == 200, "the certificate user's LIST: %d %s" % (st, body[:200]))
        expect(hl.get("x-kubernetes-pf-flowschema-uid") == uid_of(a, "flowschemas", "global-default"),
               "the certificate user's schema header: %s" % hl)
        # a level of one seat and one queue of one: concurrent big LISTs overflow it
        expect(a.req("POST", "/apis/flowcontrol.apiserver.k8s.io/v1/prioritylevelconfigurations", {
            "apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "PriorityLevelConfiguration",
            "metadata": {"name": "apf-t-tiny"},
            "spec": {"type": "Limited", "limited": {
                "nominalConcurrencyShares": 1, "lendablePercent": 0,
                "limitResponse": {"type": "Queue", "queuing": {
                    "queues": 1, "handSize": 1, "queueLengthLimit": 1}}}}})[0] == 201, "PLC")
        expect(a.req("POST", "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas", {
            "apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "FlowSchema",
            "metadata": {"name": "apf-t-tiny"},
            "spec": {"priorityLevelConfiguration": {"name": "apf-t-tiny"}, "matchingPrecedence": 100,
                     "distinguisherMethod": {"type": "ByUser"},
                     "rules": [{"subjects": [{"kind": "User", "user": {"name": "apf-t-user"}}],
                                "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"],
                                                   "resources": ["*"], "namespaces": ["*"],
                                                   "clusterScope": True}]}]}})[0] == 201, "FS")
        a.req("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                              "metadata": {"name": "apf-t"}})
        c = http.client.HTTPConnection("127.0.0.1", a.pport, timeout=30)
        pad = "x" * 2000
        for i in range(1500):
            c.request("POST", "/api/v1/namespaces/apf-t/configmaps",
                      body=json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": "apf-t-%d" % i}, "data": {"p": pad}}),
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            expect(r.status == 201, "configmap %d: %d" % (i, r.status))
        c.close()
        st, hl, _ = https(a, ctx, "GET", "/api/v1/namespaces/apf-t/configmaps/apf-t-0")
        expect(hl.get("x-kubernetes-pf-flowschema-uid") == uid_of(a, "flowschemas", "apf-t-tiny"),
               "the new schema is not in effect: %s" % hl)
        results, lock = [], threading.Lock()
        barrier = threading.Barrier(24, timeout=60)

        def lister():  # connected first, then all at once: the requests overlap
            c = http.client.HTTPSConnection("127.0.0.1", a.sport, context=ctx, timeout=60)
            try:
                c.connect()
                for _ in range(3):
                    barrier.wait()
                    c.request("GET", "/api/v1/configmaps")
                    resp = c.getresponse()
                    r = (resp.status, dict((k.lower(), v) for k, v in resp.getheaders()),
                         resp.read())
                    with lock:
                        results.append(r)
            except (OSError, threading.BrokenBarrierError, http.client.HTTPException) as e:
                with lock:
                    results.append((-1, {}, str(e).encode()))
            finally:
                c.close()
        ts = [threading.Thread(target=lister) for _ in range(24)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        codes = [r[0] for r in results]
        expect(codes.count(200) >= 1, "no LIST succeeded: %s" % codes)
        rejected = [r for r in results if r[0] == 429]
        expect(rejected, "no 429 from a one-seat level under 24 concurrent LISTs: %s\n%s" % (
            codes, "\n".join(l for l in a.metrics().splitlines() if "apf-t-tiny" in l)))
        expect(set(codes) <= {200, 429}, "unexpected statuses: %s" % codes)
        st, hl, body = rejected[0]
        expect(body == b"Too many requests, please try again later.\n", "429 body: %r" % body)
        expect(hl.get("retry-after") == "1", "429 Retry-After: %s" % hl)
        expect(hl.get("content-type", "").startswith("text/plain"), "429 type: %s" % hl)
        m = a.metrics()
        n = metric(m, "apiserver_flowcontrol_rejected_requests_total", flow_schema="apf-t-tiny",
                   priority_level="apf-t-tiny", reason="queue-full")
        expect(n == len(rejected), "rejected_requests_total %s, saw %d" % (n, len(rejected)))
        for fam in ("apiserver_flowcontrol_current_inqueue_requests",
                    "apiserver_flowcontrol_current_executing_seats",
                    "apiserver_flowcontrol_request_wait_duration_seconds_bucket"):
            expect(metric(m, fam, flow_schema="apf-t-tiny") is not None, "%s missing" % fam)
        expect(metric(m, "apiserver_flowcontrol_current_executing_seats", flow_schema="apf-t-tiny") == 0,
               "seats still held after every LIST finished")
    finally:
        a.stop()


# ---- rapid reset -------------------------------------------------------------------------------

def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload


def hpack_lit(idx, value):
    v = value.encode()
    assert idx < 15 and len(v) < 127
    return bytes([idx, len(v)]) + v  # literal without indexing, indexed name


def test_rapid_reset():
    data = os.path.join(WORK, "rr")
    a = Api(data)
    try:
        a.req("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                              "metadata": {"name": "apf-t"}})
        c = http.client.HTTPConnection("127.0.0.1", a.pport, timeout=30)
        for i in range(1000):
            c.request("POST", "/api/v1/namespaces/apf-t/configmaps",
                      body=json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": "apf-t-%d" % i}, "data": {"p": "y" * 1000}}),
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
        c.close()
        crt, key = client_cert(data, "apf-t-flooder", "apf-t-group")
        grant(a)

        lat, stop = [], threading.Event()

        def prober():  # another client: small GETs on its own connection
            pc = http.client.HTTPConnection("127.0.0.1", a.pport, timeout=60)
            while not stop.is_set() and len(lat) < 5000:
                t0 = time.monotonic()
                pc.request("GET", "/api/v1/namespaces/default")
                r = pc.getresponse()
                r.read()
                lat.append(time.monotonic() - t0)
                time.sleep(0.02)
            pc.close()

        pt = threading.Thread(target=prober)
        pt.start()
        time.sleep(1.0)
        base = sorted(lat)
        rss0 = a.rss_kib()
        m0 = a.metrics()
        d0 = metric(m0, "apiserver_flowcontrol_dispatched_requests_total",
                    flow_schema="global-default") or 0

        raw = socket.create_connection(("127.0.0.1", a.sport), timeout=30)
        s = tls_ctx(crt, key, ["h2"]).wrap_socket(raw)
        expect(s.selected_alpn_protocol() == "h2", "no h2 over ALPN")
        s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0) + frame(4, 1, 0))
        closed, pong = threading.Event(), threading.Event()

        def reader():  # drains the server's frames; notes the PING ACK
            buf = b""
            try:
                while True:
                    d = s.recv(1 << 16)
                    if not d:
                        break
                    buf += d
                    while len(buf) >= 9:
                        ln = int.from_bytes(buf[:3], "big")
                        if len(buf) < 9 + ln:
                            break
                        if buf[3] == 6 and buf[4] & 1:
                            pong.set()
                        buf = buf[9 + ln:]
            except OSError:
                pass
            closed.set()
        rt = threading.Thread(target=reader, daemon=True)
        rt.start()
        block = (b"\x82\x87" + hpack_lit(4, "/api/v1/configmaps") +
                 hpack_lit(1, "127.0.0.1:%d" % a.sport))
        n, sid, sent = 50000, 1, 0
        t0 = time.monotonic()
        while sent < n and not closed.is_set() and time.monotonic() - t0 < 90:
            buf = bytearray()
            for _ in range(500):
                buf += frame(1, 0x5, sid, block) + frame(3, 0, sid, struct.pack(">I", 8))
                sid += 2
                sent += 1
            try:
                s.sendall(bytes(buf))
            except OSError:
                break
        try:  # a PING answered means every frame before it was processed
            s.sendall(frame(6, 0, 0, b"apf-t-pg"))
        except OSError:
            pass
        pong.wait(60)
        flood_secs = time.monotonic() - t0
        expect(pong.is_set(), "no PING ACK after the flood (connection closed: %s)" % closed.is_set())
        time.sleep(1.0)
        rss1 = a.rss_kib()
        stop.set()
        pt.join(60)
        try:
            s.close()
        except OSError:
            pass
        during = sorted(lat[len(base):])
        m1 = a.metrics()
        d1 = metric(m1, "apiserver_flowcontrol_dispatched_requests_total",
                    flow_schema="global-default") or 0
        p99 = during[int(0.99 * (len(during) - 1))] if during else -1
        print("rapid reset: %d streams in %.1f s; RSS %d -> %d KiB; other client's GET p50 %.1f ms "
              "p99 %.1f ms (%d samples; before: p99 %.1f ms); LISTs run %d" % (
                  sent, flood_secs, rss0, rss1, 1000 * during[len(during) // 2] if during else -1,
                  1000 * p99, len(during), 1000 * base[int(0.99 * (len(base) - 1))], d1 - d0))
        expect(sent == n, "the server closed the connection after %d streams" % sent)
        expect(len(during) >= 10, "the other client got %d answers during the flood" % len(during))
        expect(p99 < 1.0, "the other client's GET p99 reached %.0f ms during the flood" % (1000 * p99))
        expect(rss1 - rss0 < 150 * 1024, "RSS grew %d MiB during the flood" % ((rss1 - rss0) // 1024))
        expect(d1 - d0 < sent / 4, "%d of %d reset LISTs ran" % (d1 - d0, sent))
        expect(a.ready(), "the server stopped serving")
    finally:
        a.stop()


def main():
    which = sys.argv[2] if len(sys.argv) > 2 else "all"
    tests = {"ports": test_ports, "cert": test_cert, "apf": test_apf, "rapid_reset": test_rapid_reset}
    try:
        for name, fn in tests.items():
            if which in ("all", name):
                fn()
                print("ok %s" % name)
    except Fail as e:
        print("FAIL: %s (logs in %s)" % (e, WORK))
        return 1
    finally:
        for p in PROCS:
            if p.poll() is None:
                p.kill()
                p.wait()
    shutil.rmtree(WORK, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
