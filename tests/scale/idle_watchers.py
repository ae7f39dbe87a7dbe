#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Idle-watch memory bar: with 1,000 idle watches open, the API server's VmRSS grows by less
# than 64 KiB per watcher. One fresh `ckube apiserver` per transport (plain HTTP/1.1, TLS +
# HTTP/2 multiplexed, TLS + HTTP/1.1, TLS + HTTP/2 one connection each); the streams are held
# by the watch_clients helper (libcurl multi). Measured on the first open and again after the
# clients reconnected ROUNDS-1 times, both against the fresh baseline. Also proves the watches
# are alive (one event reaches all of them) and that closing them brings the server's
# ckube_http_watches gauge back to 0. Prints `scale idle_watch_<transport>[_roundN]_bytes_per_
# watcher N`; exits 1 if any is >= 64 KiB.
# usage: idle_watchers.py CKUBE_BIN WATCH_CLIENTS_BIN
import ctypes
import http.client
import json
import os
import resource
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import uuid

WATCHERS = int(os.environ.get("CKUBE_SCALE_WATCHERS", "1000"))
BAR_BYTES = int(os.environ.get("CKUBE_SCALE_BAR_BYTES", str(64 * 1024)))
# 0: every watch starts at once (a reconnect storm, the default); N: 50 more every N ms
RAMP_MS = int(os.environ.get("CKUBE_SCALE_RAMP_MS", "0"))
# open/close cycles per server; the first and the last are measured against the same baseline
ROUNDS = max(1, int(os.environ.get("CKUBE_SCALE_ROUNDS", "3")))
TRANSPORTS = os.environ.get("CKUBE_SCALE_TRANSPORTS",
                            "http1,h2tls,http1tls,h2tls_conn").split(",")
# http1: plain HTTP/1.1, one connection per watch; h2tls: TLS + HTTP/2, 100 streams per
# connection (client-go/kubectl sharing a transport); http1tls: TLS + HTTP/1.1, one connection
# per watch; h2tls_conn: TLS + HTTP/2, one connection per watch (1,000 separate kubectl -w).
MODE = {"http1": "h1", "h2tls": "h2", "http1tls": "h1tls", "h2tls_conn": "h2conn"}


class Fail(Exception):
    pass


def die_with_parent():
    """Child preexec: SIGTERM when this driver dies (e.g. killed by ctest's timeout)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def log(msg):
    print(msg, flush=True)


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from ckubetest import free_port  # noqa: E402


class Server:
    """A fresh `ckube apiserver` in a temp data dir, plain or TLS-only."""

    def __init__(self, binary, tls):
        self.tls = tls
        self.dir = tempfile.mkdtemp(prefix="ckube-scale-")
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.token = "scale-" + uuid.uuid4().hex
        ports = (["--secure-port", str(self.port), "--token", self.token] if tls
                 else ["--secure-port", "0", "--insecure-port", str(self.port)])
        self.logf = open(os.path.join(self.dir, "server.log"), "wb")
        self.proc = subprocess.Popen([binary, "apiserver", "--data-dir", self.data] + ports,
                                     stdout=self.logf, stderr=subprocess.STDOUT,
                                     preexec_fn=die_with_parent)
        self.ctx = None
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise Fail("server exited at start rc=%s: %s" % (self.proc.returncode,
                                                                  self.tail()))
            try:
                if self.tls and self.ctx is None:
                    if not os.path.exists(os.path.join(self.data, "ca.crt")):
                        raise OSError("no CA yet")
                    self.ctx = ssl.create_default_context(
                        cafile=os.path.join(self.data, "ca.crt"))
                if self.request("GET", "/readyz", timeout=2)[0] == 200:
                    return
            except (OSError, ssl.SSLError, http.client.HTTPException):
                self.ctx = None if self.tls else self.ctx
            time.sleep(0.1)
        raise Fail("server never became ready: " + self.tail())

    @property
    def base(self):
        return "%s://127.0.0.1:%d" % ("https" if self.tls else "http", self.port)

    def request(self, method, path, body=None, timeout=10):
        if self.tls:
            c = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                            context=self.ctx)
        else:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        hdrs = {"Accept": "application/json"}
        if self.tls:
            hdrs["Authorization"] = "Bearer " + self.token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        try:
            c.request(method, path, body=data, headers=hdrs)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def create(self, path, obj):
        st, body = self.request("POST", path, obj)
        if st != 201:
            raise Fail("POST %s -> %d %s" % (path, st, body[:300]))
        return json.loads(body)

    def gauge(self):
        st, body = self.request("GET", "/metrics")
        if st != 200:
            raise Fail("/metrics -> %d" % st)
        for line in body.decode().splitlines():
            if line.startswith("ckube_http_watches "):
                return int(float(line.split()[1]))
        raise Fail("/metrics has no ckube_http_watches")

    def mem_kb(self):
        out = {}
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "RssAnon", "RssFile", "Threads"):
                    out[k] = int(v.split()[0])
        return out

    def alive(self):
        if self.proc.poll() is not None:
            raise Fail("server died rc=%s: %s" % (self.proc.returncode, self.tail()))

    def tail(self, n=10):
        try:
            with open(os.path.join(self.dir, "server.log"), "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Clients:
    """The watch_clients helper holding the streams; talks over its stdin/stdout."""

    def __init__(self, helper, srv, mode, paths):
        args = [helper, "--base", srv.base, "--mode", mode, "--count", str(WATCHERS),
                "--ramp-ms", str(RAMP_MS)]
        if srv.tls:
            args += ["--token", srv.token, "--cacert", os.path.join(srv.data, "ca.crt")]
        self.proc = subprocess.Popen(args + paths, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1,
                                     preexec_fn=die_with_parent)
        if self.line(30) != "ready":
            raise Fail("watch_clients did not start")

    def line(self, timeout=10):
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not r:
            raise Fail("watch_clients did not answer within %ds" % timeout)
        s = self.proc.stdout.readline()
        if not s:
            raise Fail("watch_clients exited rc=%s" % self.proc.poll())
        return s.strip()

    def cmd(self, c):
        self.proc.stdin.write(c + "\n")
        self.proc.stdin.flush()
        return self.line()

    def status(self):
        s = self.cmd("status").split()
        if s[0] != "status":
            raise Fail("watch_clients said " + " ".join(s))
        return {k: int(v) for k, v in (kv.split("=") for kv in s[1:])}

    def sockets(self):
        """Established TCP connections the helper holds (curl's wakeup socketpair excluded)."""
        inodes = set()
        for fd in os.listdir("/proc/%d/fd" % self.proc.pid):
            try:
                link = os.readlink("/proc/%d/fd/%s" % (self.proc.pid, fd))
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
        n = 0
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                with open(table) as f:
                    next(f)
                    for line in f:
                        cols = line.split()
                        if cols[3] == "01" and cols[9] in inodes:
                            n += 1
            except OSError:
                pass
        return n

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(20)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


def wait_for(what, fn, timeout, srv):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        srv.alive()
        last = fn()
        if last is True:
            return
        time.sleep(0.2)
    raise Fail("timed out after %ds waiting for %s (last: %s)" % (timeout, what, last))


def seed(srv):
    """A few objects so the start-of-watch state and the selectors have something to do."""
    cms = "/api/v1/namespaces/default/configmaps"
    pods = "/api/v1/namespaces/default/pods"
    for i in range(6):
        labels = {"app": "idle"} if i % 2 == 0 else {"app": "other"}
        srv.create(cms, {"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": "seed-%d" % i, "labels": labels},
                         "data": {"k": "v" * 200}})
    for i in range(2):
        srv.create(pods, pod("seed-pod-%d" % i, "a" if i == 0 else "c"))
    st, body = srv.request("GET", cms)
    if st != 200:
        raise Fail("LIST configmaps -> %d" % st)
    return json.loads(body)["metadata"]["resourceVersion"]


def pod(name, tier):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "idle", "tier": tier}},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}


def watch_paths(rv):
    """Mixed resources, scopes, selectors and start points; each gets WATCHERS/8 streams.
    Every one of them matches the probe ConfigMap or the probe Pod created later."""
    ns = "/api/v1/namespaces/default"
    return [
        ns + "/configmaps?watch=true",
        ns + "/configmaps?watch=true&labelSelector=app%3Didle",
        ns + "/configmaps?watch=true&allowWatchBookmarks=true&resourceVersion=" + rv,
        "/api/v1/configmaps?watch=true&allowWatchBookmarks=true",
        ns + "/pods?watch=true",
        ns + "/pods?watch=true&labelSelector=app%3Didle%2Ctier%20in%20%28a%2Cb%29",
        ns + "/pods?watch=true&fieldSelector=status.phase%21%3DSucceeded&resourceVersion=" + rv,
        "/api/v1/pods?watch=true&labelSelector=app%3Didle&timeoutSeconds=900",
    ]


def open_watches(srv, helper, mode, rv):
    t0 = time.time()
    clients = Clients(helper, srv, mode, watch_paths(rv))
    wait_for("ckube_http_watches == %d" % WATCHERS,
             lambda: (lambda g: g == WATCHERS or g)(srv.gauge()), 60, srv)
    st = clients.status()
    if st["done"]:
        raise Fail("%d watches ended early" % st["done"])
    return clients, time.time() - t0


def measure(srv, clients, name, label, before, opened):
    """Settles, then returns VmRSS growth per watcher since `before`; checks the connections."""
    mode = MODE[name]
    time.sleep(2)
    after = srv.mem_kb()
    srv.alive()
    conns = clients.sockets()
    if srv.gauge() != WATCHERS:
        raise Fail("gauge dropped after settling: %d" % srv.gauge())
    per = (after["VmRSS"] - before["VmRSS"]) * 1024 // WATCHERS
    anon = (after["RssAnon"] - before["RssAnon"]) * 1024 // WATCHERS
    log("%s: %d watches open in %.1fs over %d client sockets; VmRSS %d -> %d KiB, "
        "RssAnon %d -> %d KiB, RssFile %d -> %d KiB, threads %d"
        % (name, WATCHERS, opened, conns, before["VmRSS"], after["VmRSS"], before["RssAnon"],
           after["RssAnon"], before["RssFile"], after["RssFile"], after["Threads"]))
    log("scale idle_watch_%s%s_anon_bytes_per_watcher %d" % (name, label, anon))
    log("scale idle_watch_%s%s_bytes_per_watcher %d" % (name, label, per))
    if mode == "h2" and not (WATCHERS // 100 <= conns <= WATCHERS // 20):
        raise Fail("HTTP/2 used %d connections for %d streams (expected ~%d multiplexed)"
                   % (conns, WATCHERS, WATCHERS // 100))
    if mode != "h2" and conns < WATCHERS:
        raise Fail("%s used only %d connections for %d watches" % (name, conns, WATCHERS))
    return per


def probe(srv, clients, name):
    """Alive: one ConfigMap and one Pod that every watcher's filter matches reach all."""
    marker = "probe-" + uuid.uuid4().hex[:12]
    if clients.cmd("expect " + marker) != "ok":
        raise Fail("watch_clients refused the marker")
    t1 = time.time()
    srv.create("/api/v1/namespaces/default/configmaps",
               {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": marker, "labels": {"app": "idle"}}})
    srv.create("/api/v1/namespaces/default/pods", pod(marker, "b"))
    wait_for("the probe event at every watcher",
             lambda: (lambda s: s["seen"] == WATCHERS or s)(clients.status()), 30, srv)
    log("%s: probe event reached all %d watchers in %.2fs" % (name, WATCHERS, time.time() - t1))
    st = clients.status()
    want_h2 = WATCHERS if MODE[name].startswith("h2") else 0
    if st["headers"] != WATCHERS or st["h2"] != want_h2 or st["done"]:
        raise Fail("after the probe: %d of %d got 200, %d spoke HTTP/2 (want %d), %d ended"
                   % (st["headers"], WATCHERS, st["h2"], want_h2, st["done"]))


def close_watches(srv, clients, name, verbose):
    clients.close()
    t2 = time.time()
    wait_for("ckube_http_watches == 0", lambda: (lambda g: g == 0 or g)(srv.gauge()), 30, srv)
    if verbose:
        log("%s: all watches gone %.1fs after the clients closed" % (name, time.time() - t2))


def run_transport(binary, helper, name):
    """Round 1 on a fresh server is the bar as stated; the last round measures the same
    1,000 open watches after ROUNDS-1 full reconnects (clients that come back, e.g. after a
    network blip or with HTTP/1.1 watch timeouts), against the same fresh baseline."""
    srv = Server(binary, tls=MODE[name] != "h1")
    clients = None
    out = []
    try:
        rv = seed(srv)
        time.sleep(1.5)  # let the server settle (commit thread, first allocations)
        before = srv.mem_kb()
        for rnd in range(ROUNDS):
            clients, opened = open_watches(srv, helper, MODE[name], rv)
            last = rnd == ROUNDS - 1
            if rnd == 0 or last:
                label = "" if rnd == 0 else "_round%d" % (rnd + 1)
                out.append((name + label, measure(srv, clients, name, label, before, opened)))
                probe(srv, clients, name)
            close_watches(srv, clients, name, rnd == 0 or last)
            clients = None
        return out
    finally:
        if clients:
            clients.close()
        srv.stop()


def main():
    if len(sys.argv) != 3:
        print("usage: idle_watchers.py CKUBE_BIN WATCH_CLIENTS_BIN", file=sys.stderr)
        return 2
    binary, helper = sys.argv[1], sys.argv[2]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * WATCHERS + 256  # the helper's sockets; the server raises its own soft limit
    if hard != resource.RLIM_INFINITY and hard < need:
        print("FAIL: RLIMIT_NOFILE hard limit %d < %d" % (hard, need), file=sys.stderr)
        return 1
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    failed = []
    for name in TRANSPORTS:
        try:
            for what, per in run_transport(binary, helper, name):
                if per >= BAR_BYTES:
                    failed.append("%s: %d bytes per watcher >= %d" % (what, per, BAR_BYTES))
        except Fail as e:
            failed.append("%s: %s" % (name, e))
    for f in failed:
        log("FAIL " + f)
    if failed:
        return 1
    log("PASS: every transport under %d bytes per idle watcher" % BAR_BYTES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
