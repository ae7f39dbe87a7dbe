#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Hostile-client robustness suite for `ckube apiserver` (plain HTTP on loopback): malformed HTTP,
# slow clients, hostile bodies and query strings, floods, odd names. After every attack it checks
# the server is alive, /readyz answers within 1 s, a ConfigMap create+get+list works and RSS is
# bounded. Scenarios that fail today are listed in KNOWN_FAILURES and print "KNOWN FAILURE".
import base64
import http.client
import json
import os
import resource
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid

# scenario id -> short note of what currently goes wrong (see docs/robustness.md)
KNOWN_FAILURES = {
}

# RssAnon: heap only -- VmRSS also counts LMDB map pages the store touched since it last let
# them go (the store drops them when idle; they are page cache, not leaks).
RSS_FIELD = os.environ.get("CKUBE_ROBUST_RSS_FIELD", "RssAnon") + ":"
SCALE = float(os.environ.get("CKUBE_ROBUST_SCALE", "0.25"))
RSS_SLACK_KB = int(os.environ.get("CKUBE_ROBUST_RSS_SLACK_MB", "256")) * 1024
NS = "default"
CM_PATH = "/api/v1/namespaces/default/configmaps"

results = {"pass": 0, "fail": [], "known": [], "fixed": []}


def scaled(n, lo=1):
    return max(lo, int(n * SCALE))


class Fail(Exception):
    pass


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from ckubetest import free_port  # noqa: E402


class Server:
    def __init__(self, binary, tls=False):
        self.binary = binary
        self.tls = tls
        self.token = "robust-" + uuid.uuid4().hex if tls else None
        self.proc = None
        self.dir = None
        self.port = None
        self.base_rss = 0

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="ckube-robust-")
        self.port = free_port()
        self.log = open(os.path.join(self.dir, "server.log"), "wb")
        ports = (["--secure-port", str(self.port), "--token", self.token] if self.tls
                 else ["--secure-port", "0", "--insecure-port", str(self.port)])
        self.proc = subprocess.Popen(
            [self.binary, "apiserver", "--data-dir", os.path.join(self.dir, "data")] + ports,
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise Fail("server exited at start rc=%s" % self.proc.returncode)
            try:
                st, _, _ = request(self, "GET", "/readyz", timeout=1)
                if st == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            raise Fail("server never became ready")
        healthy_crud(self)
        self.base_rss = self.rss()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def rss(self):
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                for line in f:
                    if line.startswith(RSS_FIELD):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def tail(self, n=8):
        try:
            with open(os.path.join(self.dir, "server.log"), "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.dir:
            self.log.flush()
            with open(os.path.join(self.dir, "server.log"), "rb") as f:
                text = f.read().decode("utf-8", "replace")
            for marker in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer"):
                if marker in text:
                    i = text.index(marker)
                    results["fail"].append("sanitizer")
                    print("FAIL sanitizer report in server log:\n%s" % text[max(0, i - 200):i + 3000])
                    break
            self.log.close()
            shutil.rmtree(self.dir, ignore_errors=True)
        self.proc = None


def request(srv, method, path, body=None, ctype="application/json", timeout=10, headers=None):
    """One request on a fresh connection; returns (status, parsed-json-or-None, raw bytes)."""
    if srv.tls:
        c = http.client.HTTPSConnection("127.0.0.1", srv.port, timeout=timeout, context=insecure_ctx())
    else:
        c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=timeout)
    try:
        h = {"Content-Type": ctype} if body is not None else {}
        if srv.tls and srv.token:
            h["Authorization"] = "Bearer " + srv.token
        h.update(headers or {})
        if isinstance(body, str):
            body = body.encode()
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        raw = r.read()
        try:
            js = json.loads(raw)
        except ValueError:
            js = None
        return r.status, js, raw
    finally:
        c.close()


def insecure_ctx():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def raw_exchange(srv, data, timeout=5, shut_wr=False, chunks=None):
    """Send raw bytes; returns the first bytes answered (b'' if the server just closed)."""
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=timeout)
    try:
        try:
            if chunks:
                for ch in chunks:
                    s.sendall(ch)
            else:
                s.sendall(data)
            if shut_wr:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # server may close early on garbage: fine
        out = b""
        try:
            while len(out) < 65536:
                b = s.recv(65536)
                if not b:
                    break
                out += b
                if b"\r\n\r\n" in out and not shut_wr:
                    hdr = out.split(b"\r\n\r\n", 1)[0].lower()
                    if b"content-length:" in hdr:
                        cl = int(hdr.split(b"content-length:")[1].split(b"\r\n")[0])
                        if len(out.split(b"\r\n\r\n", 1)[1]) >= cl:
                            break
        except socket.timeout:
            raise Fail("no answer and no close within %ss" % timeout)
        except ConnectionResetError:
            pass
        return out
    finally:
        s.close()


def status_of(resp):
    if not resp.startswith(b"HTTP/"):
        return None
    try:
        return int(resp.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def expect_raw(resp, allowed=(400, 404, 405, 408, 411, 413, 414, 415, 431, 501, 505), h2=False):
    """A malformed request may be answered with a 4xx or simply closed; never 5xx/200."""
    if h2 and resp[3:4] == b"\x04":
        # HTTP/2 frames (SETTINGS first, then GOAWAY for the garbage): h2c prior knowledge
        if b"\x07" not in resp[:200]:
            raise Fail("HTTP/2 answer without GOAWAY: %r" % resp[:60])
        return "h2-goaway"
    st = status_of(resp)
    if resp and st is None and not resp.startswith(b"\x15\x03") and b"HTTP/" not in resp[:16]:
        raise Fail("non-HTTP answer %r" % resp[:40])
    if st is not None and st not in allowed:
        raise Fail("got HTTP %d: %r" % (st, resp[:200]))
    return st


def expect_status(res, codes, what=""):
    st, js, raw = res
    if st not in codes:
        raise Fail("%s: got %d want %s: %r" % (what, st, codes, raw[:200]))
    if st >= 400:
        if not js or js.get("kind") != "Status" or js.get("code") != st:
            raise Fail("%s: %d without a matching Status body: %r" % (what, st, raw[:200]))
    return st, js


def cm(name, data=None, **meta):
    m = {"name": name}
    m.update(meta)
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": m, "data": data or {"k": "v"}}


def healthy_crud(srv):
    name = "probe-" + uuid.uuid4().hex[:10]
    st, js, raw = request(srv, "POST", CM_PATH, json.dumps(cm(name)))
    if st != 201:
        raise Fail("probe create: %d %r" % (st, raw[:200]))
    st, js, raw = request(srv, "GET", CM_PATH + "/" + name)
    if st != 200 or js["metadata"]["name"] != name:
        raise Fail("probe get: %d %r" % (st, raw[:200]))
    st, js, raw = request(srv, "GET", CM_PATH + "?fieldSelector=metadata.name%3D" + name)
    if st != 200 or [i["metadata"]["name"] for i in js["items"]] != [name]:
        raise Fail("probe list: %d %r" % (st, raw[:200]))
    request(srv, "DELETE", CM_PATH + "/" + name)


def post_check(srv):
    if not srv.alive():
        raise Fail("server died (rc=%s); log tail:\n%s" % (srv.proc.returncode, srv.tail()))
    t0 = time.time()
    try:
        st, _, _ = request(srv, "GET", "/readyz", timeout=1)
    except OSError as e:
        raise Fail("/readyz did not answer within 1 s: %s" % e)
    if st != 200 or time.time() - t0 > 1.0:
        raise Fail("/readyz %d after %.2fs" % (st, time.time() - t0))
    healthy_crud(srv)
    deadline = time.time() + 5
    while srv.rss() > srv.base_rss + RSS_SLACK_KB and time.time() < deadline:
        time.sleep(0.25)
    if srv.rss() > srv.base_rss + RSS_SLACK_KB:
        raise Fail("RSS %d kB stays above baseline %d kB + %d kB" %
                   (srv.rss(), srv.base_rss, RSS_SLACK_KB))


def run(srv, sid, fn):
    t0 = time.time()
    err = None
    try:
        note = fn(srv)
        post_check(srv)
    except (Fail, OSError, http.client.HTTPException, ValueError, KeyError, TypeError) as e:
        err = "%s: %s" % (type(e).__name__, e) if not isinstance(e, Fail) else str(e)
        note = None
    dt = time.time() - t0
    if err is None:
        if sid in KNOWN_FAILURES:
            results["fixed"].append(sid)
            print("FIXED %s (listed in KNOWN_FAILURES; remove it) %.1fs" % (sid, dt), flush=True)
        else:
            results["pass"] += 1
            print("ok   %s %.1fs%s" % (sid, dt, (" -- " + note) if note else ""), flush=True)
    elif sid in KNOWN_FAILURES:
        results["known"].append(sid)
        print("KNOWN FAILURE %s: %s" % (sid, err.splitlines()[0][:300]), flush=True)
    else:
        results["fail"].append(sid)
        print("FAIL %s (%.1fs): %s" % (sid, dt, err), flush=True)
    if not srv.alive() or err:
        # Give the next scenario a clean server whatever happened here.
        srv.stop()
        srv.start()


# ---------------------------------------------------------------- 1. malformed HTTP

def http_scenarios():
    big = b"X-Big: " + b"a" * (1 << 20) + b"\r\n"
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(10000))
    get = b"GET /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\n"
    post = b"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    body = json.dumps(cm("cl-lie")).encode()
    hello = bytes.fromhex("16030100c8010000c40303") + os.urandom(32) + b"\x00\x00\x02\x13\x01\x01\x00" + b"\x00" * 150
    sc = []

    def add(sid, data, allowed=None, shut=False, chunks=None, timeout=5, absent=None):
        def f(srv):
            resp = raw_exchange(srv, data, timeout=timeout, shut_wr=shut, chunks=chunks)
            st = expect_raw(resp, allowed, h2=True) if allowed else expect_raw(resp, h2=True)
            if absent:
                st2, _, _ = request(srv, "GET", CM_PATH + "/" + absent)
                if st2 != 404:
                    raise Fail("half-written object %s visible (GET %d)" % (absent, st2))
            return "HTTP %s" % st if st else "closed"
        sc.append(("http." + sid, f))

    add("garbage", os.urandom(4096))
    add("bad-request-line", b"GARBAGE\r\n\r\n")
    add("bad-version", b"GET / HTTP/9.9\r\n\r\n")
    add("no-path", b"GET HTTP/1.1\r\nHost: x\r\n\r\n")
    add("header-1MiB", get + big + b"\r\n")
    add("headers-10000", get + many + b"\r\n")
    add("bad-chunked", post + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", shut=True, absent=None)
    add("chunk-size-huge", post + b"Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\nabc", shut=True)
    add("cl-shorter", post + b"Content-Length: 10\r\n\r\n" + body, absent="cl-lie")
    add("cl-longer", post + b"Content-Length: %d\r\n\r\n" % (len(body) + 100) + body, shut=True,
        absent="cl-lie")
    add("cl-negative", post + b"Content-Length: -5\r\n\r\n" + body, absent="cl-lie")
    add("cl-huge", post + b"Content-Length: 99999999999999999999\r\n\r\n" + body, absent="cl-lie")
    add("cl-double", post + b"Content-Length: 5\r\nContent-Length: 500\r\n\r\n" + body, shut=True,
        absent="cl-lie")
    add("h2-preface-garbage", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + os.urandom(512))
    add("tls-clienthello", hello)
    add("half-closed-empty", b"", shut=True)
    add("half-closed-partial", b"GET /api/v1/namesp", shut=True)
    add("nul-in-path", b"GET /api/v1/\x00namespaces HTTP/1.1\r\nHost: x\r\n\r\n")
    add("path-64KiB", b"GET /api/v1/" + b"a" * 65536 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    return sc


# ---------------------------------------------------------------- 2. slow clients

def slowloris(srv):
    n = scaled(500, 50)
    secs = 4
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=2)
        s.sendall(b"GET /readyz HTTP/1.1\r\n")
        socks.append(s)
    try:
        for _ in range(secs):
            for s in socks:
                try:
                    s.send(b"X")
                except OSError:
                    pass
            t0 = time.time()
            st, _, _ = request(srv, "GET", "/readyz", timeout=2)
            if st != 200 or time.time() - t0 > 1:
                raise Fail("readyz %d in %.2fs under slowloris" % (st, time.time() - t0))
            time.sleep(1)
    finally:
        for s in socks:
            s.close()
    return "%d slow connections for %ds" % (n, secs)


WATCH_QUIET = CM_PATH + "?watch=true&resourceVersion=0&labelSelector=none%3D1"


def read_head(s, what):
    """Read a response head (up to the blank line) within the socket's timeout."""
    buf = b""
    try:
        while b"\r\n\r\n" not in buf:
            b = s.recv(4096)
            if not b:
                raise Fail("%s: connection closed after %r" % (what, buf[:80]))
            buf += b
    except socket.timeout:
        raise Fail("%s: no response headers within 2 s for a watch with no events (got %r)" % (what, buf[:40]))
    return buf.split(b"\r\n\r\n", 1)


def read_chunk(s, rest, what):
    """One HTTP/1.1 chunk (size line, data, CRLF) from rest + the socket."""
    while True:
        if b"\r\n" in rest:
            size_line, after = rest.split(b"\r\n", 1)
            n = int(size_line, 16)
            if len(after) >= n + 2:
                if after[n:n + 2] != b"\r\n":
                    raise Fail("%s: chunk of %d bytes not followed by CRLF: %r" % (what, n, after[n:n + 8]))
                return after[:n], after[n + 2:]
        b = s.recv(65536)
        if not b:
            raise Fail("%s: closed inside a chunk: %r" % (what, rest[:80]))
        rest += b


def watch_headers_on(srv, wrap, what):
    # Upstream flushes the 200 + headers of a watch at once, before any event; the first event
    # then arrives as one chunk holding exactly one JSON line.
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=2)
    if wrap:
        s = wrap(s)
    auth = ("Authorization: Bearer %s\r\n" % srv.token).encode() if srv.tls else b""
    name = "wh-" + uuid.uuid4().hex[:10]
    try:
        s.sendall(b"GET " + WATCH_QUIET.encode() + b" HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n")
        head, rest = read_head(s, what)
        if not head.startswith(b"HTTP/1.1 200"):
            raise Fail("%s: watch answered %r" % (what, head[:40]))
        if b"transfer-encoding: chunked" not in head.lower():
            raise Fail("%s: watch body not chunked: %r" % (what, head))
        if rest:
            raise Fail("%s: body bytes before any event: %r" % (what, rest[:40]))
        st, _, raw = request(srv, "POST", CM_PATH, json.dumps(cm(name, labels={"none": "1"})))
        if st != 201:
            raise Fail("%s: create %d %r" % (what, st, raw[:100]))
        s.settimeout(5)
        data, rest = read_chunk(s, rest, what)
        if not data.endswith(b"\n") or data.count(b"\n") != 1:
            raise Fail("%s: first chunk is not one JSON line: %r" % (what, data[:120]))
        ev = json.loads(data)
        if ev.get("type") != "ADDED" or ev["object"]["metadata"]["name"] != name:
            raise Fail("%s: unexpected first event %r" % (what, data[:120]))
    finally:
        s.close()
        request(srv, "DELETE", CM_PATH + "/" + name)


def watch_headers_h2(srv):
    # HTTP/2 over TLS (ALPN h2) through curl: the HEADERS frame must come before any event.
    if not shutil.which("curl"):
        return "h2 not checked (no curl)"
    p = subprocess.Popen(["curl", "-sk", "--http2", "-N", "-D", "-", "-o", "/dev/null", "-H",
                          "Authorization: Bearer " + srv.token,
                          "https://127.0.0.1:%d%s" % (srv.port, WATCH_QUIET)],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        got = []
        t = threading.Thread(target=lambda: got.append(p.stdout.readline()), daemon=True)
        t.start()
        t.join(3)
        if not got or not got[0].startswith(b"HTTP/2 200"):
            raise Fail("h2: no 200 HEADERS within 3 s for a watch with no events (got %r)" % got)
    finally:
        p.kill()
        p.wait()
    return "h2"


def watch_headers(srv):
    watch_headers_on(srv, None, "plain HTTP/1.1")
    tls = Server(srv.binary, tls=True)
    try:
        tls.start()
        ctx = insecure_ctx()
        ctx.set_alpn_protocols(["http/1.1"])
        watch_headers_on(tls, lambda s: ctx.wrap_socket(s), "TLS HTTP/1.1")
        h2 = watch_headers_h2(tls)
    finally:
        tls.stop()
    return "plain HTTP/1.1, TLS HTTP/1.1, " + h2


def fill_big_cms(srv, prefix, count, size):
    payload = "x" * size
    for i in range(count):
        st, _, raw = request(srv, "POST", CM_PATH, json.dumps(cm("%s-%d" % (prefix, i), {"d": payload})))
        if st != 201:
            raise Fail("setup create %d: %r" % (st, raw[:200]))


def unread_list(srv):
    fill_big_cms(srv, "big", 40, 200 * 1024)  # ~8 MiB LIST
    socks = []
    for _ in range(8):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", srv.port))
        s.sendall(b"GET " + CM_PATH.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        socks.append(s)
    try:
        time.sleep(2)
        healthy_crud(srv)
        grown = srv.rss() - srv.base_rss
    finally:
        for s in socks:
            s.close()
    for i in range(40):
        request(srv, "DELETE", CM_PATH + "/big-%d" % i)
    return "8 unread 8 MiB LISTs, RSS +%d MiB" % (grown // 1024)


def big_updates(srv, n, size=256 * 1024, tag="w"):
    """n updates of ~size-byte ConfigMaps over 20 names; returns (heap before, peak heap)."""
    payload = "y" * size
    r0 = peak = srv.rss()
    for i in range(n):
        name = "%s-%d" % (tag, i % 20)
        o = json.dumps(cm(name, {"d": payload, "i": str(i)}))
        st, _, _ = request(srv, "PUT", CM_PATH + "/" + name, o)
        if st == 404:
            st, _, _ = request(srv, "POST", CM_PATH, o)
        if st not in (200, 201):
            raise Fail("update answered %d" % st)
        peak = max(peak, srv.rss())
    for i in range(20):
        request(srv, "DELETE", CM_PATH + "/%s-%d" % (tag, i))
    return r0, peak


def unread_watch(srv):
    """A watcher that never reads must not make the server hold more than without it."""
    n = scaled(400, 120)
    c0, c1 = big_updates(srv, n, tag="ctl")  # control: same load, no watcher
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", srv.port))
    s.sendall(b"GET " + CM_PATH.encode() + b"?watch=true HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.3)
    try:
        r0, peak = big_updates(srv, n)
    finally:
        s.close()
    srv.base_rss = max(srv.base_rss, srv.rss())  # the event history is judged by flood.big-updates-heap
    ctl_mb, grown_mb = (c1 - c0) // 1024, (peak - r0) // 1024
    if grown_mb > ctl_mb + 64:
        raise Fail("heap grew %d MiB with a stuck watcher vs %d MiB without" % (grown_mb, ctl_mb))
    return "%d MiB of events: heap +%d MiB with a stuck watcher, +%d MiB without" % (
        n * 256 // 1024, grown_mb, ctl_mb)


def big_updates_heap(srv):
    """400 updates (100 MiB) of 256 KiB objects over 20 names: live data is 5 MiB, so the heap
    may grow by at most 64 MiB (upstream's watch cache keeps ~100 events, not 10000)."""
    n = 400
    r0, peak = big_updates(srv, n, tag="bu")
    grown_mb = (peak - r0) // 1024
    srv.base_rss = max(srv.base_rss, srv.rss())
    if grown_mb > 64:
        raise Fail("heap grew %d MiB for %d updates of 256 KiB (%d MiB written) and stays"
                   % (grown_mb, n, n // 4))
    return "heap +%d MiB for %d MiB of updates" % (grown_mb, n // 4)


# ---------------------------------------------------------------- 3. bodies

def body_scenarios():
    sc = []

    def add(sid, body, codes, ctype="application/json", method="POST", path=CM_PATH, absent=None):
        def f(srv):
            b = body() if callable(body) else body
            try:
                st, _ = expect_status(request(srv, method, path, b, ctype=ctype, timeout=20), codes, sid)
            except (ConnectionResetError, BrokenPipeError):
                st = "reset"  # the server may stop reading an oversized body early
                if 413 not in codes:
                    raise
            if absent:
                st2, _, _ = request(srv, "GET", CM_PATH + "/" + absent)
                if st2 != 404:
                    raise Fail("rejected object %s exists (GET %d)" % (absent, st2))
            if sid.startswith("yaml-alias"):
                srv.base_rss = max(srv.base_rss, srv.rss())  # judged by body.yaml-alias-bomb-heap
            return "HTTP %s" % st
        sc.append(("body." + sid, f))

    def sized(n, name):
        o = cm(name, {"d": ""})
        base = len(json.dumps(o))
        o["data"]["d"] = "z" * (n - base)
        b = json.dumps(o).encode()
        assert len(b) == n
        return b

    add("3MiB+1", lambda: sized((3 << 20) + 1, "too-big"), (413,), absent="too-big")
    add("3MiB-exact", lambda: sized(3 << 20, "fits-3m"), (201, 422))
    add("nested-100k", "[" * 100000, (400, 422))
    add("nested-obj-100k", '{"a":' * 100000, (400, 422))
    add("nested-in-data", lambda: json.dumps(cm("nest"))[:-1] + ',"x":' + "[" * 50000 + "]" * 50000 + "}",
        (400, 422), absent="nest")
    add("keys-1M", lambda: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"many"},"data":{'
        + ",".join('"k%d":"v"' % i for i in range(150000)) + "}}", (201, 400, 413, 422))
    add("invalid-utf8", b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"u8"},"data":{"a":"\xff\xfe"}}',
        (400, 422), absent="u8")
    add("duplicate-keys", '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup","name":"dup2"}}',
        (400, 422, 201))
    add("number-1e999999", '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"num","generation":1e999999}}',
        (400, 422), absent="num")
    add("nul-bytes", b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"nu\\u0000l"}}', (400, 422))
    add("raw-nul", b'{"apiVersion":"v1",\x00"kind":"ConfigMap"}', (400, 422))
    add("not-object", "[1,2,3]", (400, 422))
    add("empty", "", (400, 422))
    bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
        "%s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n" % ((chr(98 + i), chr(98 + i)) + (chr(97 + i),) * 10)
        for i in range(9))
    add("yaml-alias-bomb", bomb, (400, 413, 415, 422), ctype="application/yaml")

    def bomb_heap(srv):
        """4 concurrent alias bombs (1 KiB each): upstream refuses them cheaply; the heap may
        grow by at most 64 MiB. Its retained heap is then folded into the baseline."""
        r0, peak, codes = srv.rss(), [srv.rss()], []

        def one():
            codes.append(request(srv, "POST", CM_PATH, bomb, ctype="application/yaml", timeout=30)[0])
        th = [threading.Thread(target=one) for _ in range(4)]
        for t in th:
            t.start()
        while any(t.is_alive() for t in th):
            peak.append(srv.rss())
            time.sleep(0.02)
        for t in th:
            t.join()
        srv.base_rss = max(srv.base_rss, srv.rss())
        grown = (max(peak) - r0) // 1024
        if set(codes) - {400, 413, 422}:
            raise Fail("alias bombs answered %s" % codes)
        if grown > 64:
            raise Fail("4 concurrent 1 KiB YAML alias bombs took the heap up %d MiB (answers %s)"
                       % (grown, codes))
        return "heap +%d MiB" % grown
    sc.append(("body.yaml-alias-bomb-heap", bomb_heap))
    add("yaml-garbage", "{{{: : :\n\t- [", (400, 415, 422), ctype="application/yaml")
    add("protobuf-garbage", lambda: b"k8s\x00" + os.urandom(2048), (400, 415, 422),
        ctype="application/vnd.kubernetes.protobuf")
    add("protobuf-no-magic", lambda: os.urandom(512), (400, 415, 422),
        ctype="application/vnd.kubernetes.protobuf")
    add("unknown-ctype", "{}", (415,), ctype="text/bogus")
    add("declared-100MiB", None, (413,))  # replaced below

    def decl100(srv):
        data = (b"POST " + CM_PATH.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % (100 << 20)) + b"{" + b" " * 65536
        resp = raw_exchange(srv, data, timeout=10)
        st = expect_raw(resp, (413,))
        return "HTTP %s" % st if st else "closed"
    sc[-1] = ("body.declared-100MiB", decl100)

    def patches(srv):
        st, js, _ = request(srv, "POST", CM_PATH, json.dumps(cm("pt", {"a": "1"})))
        if st != 201:
            raise Fail("setup %d" % st)
        rv = js["metadata"]["resourceVersion"]
        p = CM_PATH + "/pt"
        notes = []
        cases = [
            ("jsonpatch-100k", json.dumps([{"op": "add", "path": "/data/k%d" % (i % 50), "value": "v"}
                                           for i in range(100000)]),
             "application/json-patch+json", (200, 400, 413, 422)),
            ("jsonpatch-bad-op", '[{"op":"explode","path":"/data"}]', "application/json-patch+json", (400, 422)),
            ("jsonpatch-test-fail", '[{"op":"test","path":"/data/a","value":"2"},{"op":"add","path":"/data/b","value":"x"}]',
             "application/json-patch+json", (422, 409)),
            ("jsonpatch-not-array", '{"op":"add"}', "application/json-patch+json", (400, 422)),
            ("merge-nested", '{"data":' + '{"a":' * 20000 + "1" + "}" * 20000 + "}",
             "application/merge-patch+json", (400, 422)),
            ("smp-patch-on-string", '{"data":{"$patch":"replace","a":"x"},"metadata":{"name":{"$patch":"delete"}}}',
             "application/strategic-merge-patch+json", (400, 422)),
            ("smp-patch-bad", '{"$patch":"explode"}', "application/strategic-merge-patch+json", (400, 422)),
            ("smp-retainkeys-wrong", '{"data":{"$retainKeys":7}}', "application/strategic-merge-patch+json", (400, 422)),
            ("smp-setelementorder", '{"$setElementOrder/data":"x"}', "application/strategic-merge-patch+json", (400, 422, 200)),
        ]
        bad = []
        for name, body, ct, codes in cases:
            try:
                st, _ = expect_status(request(srv, "PATCH", p, body, ctype=ct, timeout=20), codes, name)
                notes.append("%s=%d" % (name, st))
            except Fail as e:
                bad.append(str(e))
            st2, js2, _ = request(srv, "GET", p)
            if st2 != 200:
                bad.append("%s: object gone (%d)" % (name, st2))
                break
            if js2["metadata"]["resourceVersion"] != rv and name not in ("jsonpatch-100k", "smp-setelementorder"):
                bad.append("%s: failed patch changed resourceVersion %s->%s" % (
                    name, rv, js2["metadata"]["resourceVersion"]))
            rv = js2["metadata"]["resourceVersion"]
        request(srv, "DELETE", p)
        if bad:
            raise Fail("; ".join(bad))
        return " ".join(notes)
    sc.append(("body.patches", patches))

    def bad_update(srv):
        st, js, _ = request(srv, "POST", CM_PATH, json.dumps(cm("upd")))
        rv = js["metadata"]["resourceVersion"]
        o = cm("upd", {"bad key!": "x"})
        o["metadata"]["resourceVersion"] = rv
        expect_status(request(srv, "PUT", CM_PATH + "/upd", json.dumps(o)), (422,), "invalid update")
        o = cm("upd")
        o["metadata"]["resourceVersion"] = "1"
        expect_status(request(srv, "PUT", CM_PATH + "/upd", json.dumps(o)), (409,), "stale update")
        st, js, _ = request(srv, "GET", CM_PATH + "/upd")
        if js["metadata"]["resourceVersion"] != rv or js["data"] != {"k": "v"}:
            raise Fail("failed update changed the object: %r" % js)
        request(srv, "DELETE", CM_PATH + "/upd")
    sc.append(("body.failed-update-keeps-rv", bad_update))

    def wrong_types(srv):
        """Fields of the wrong JSON type must be refused (upstream: 400 from the decoder), on
        create and through a merge patch; otherwise one stored object breaks every typed client."""
        bad = []
        for i, meta_data in enumerate(('"metadata":{"name":"wt%d"},"data":{"x":5}',
                                       '"metadata":{"name":"wt%d","labels":[1]}',
                                       '"metadata":{"name":"wt%d","labels":{"a":7}}',
                                       '"metadata":{"name":"wt%d"},"data":[1]',
                                       '"metadata":{"name":"wt%d","annotations":"s"}')):
            body = '{"apiVersion":"v1","kind":"ConfigMap",' + (meta_data % i) + "}"
            st, _, raw = request(srv, "POST", CM_PATH, body)
            if st not in (400, 422):
                bad.append("create %s -> %d" % (meta_data % i, st))
            request(srv, "DELETE", CM_PATH + "/wt%d" % i)
        st, js, _ = request(srv, "POST", CM_PATH, json.dumps(cm("wtp")))
        rv = js["metadata"]["resourceVersion"]
        for patch in ('{"data":[1,2]}', '{"data":{"x":5}}', '{"metadata":{"labels":[1]}}'):
            st, _, _ = request(srv, "PATCH", CM_PATH + "/wtp", patch, ctype="application/merge-patch+json")
            if st not in (400, 422):
                bad.append("merge patch %s -> %d" % (patch, st))
        st, js, _ = request(srv, "GET", CM_PATH + "/wtp")
        if js["metadata"]["resourceVersion"] != rv:
            bad.append("object changed by rejected patches (rv %s -> %s)" % (rv, js["metadata"]["resourceVersion"]))
        request(srv, "DELETE", CM_PATH + "/wtp")
        if bad:
            raise Fail("; ".join(bad))
    sc.append(("body.wrong-json-types", wrong_types))
    return sc


# ---------------------------------------------------------------- 4. query strings

def query_scenarios():
    sc = []
    enc = base64.b64encode

    def add(sid, qs, codes, path=CM_PATH, timeout=10):
        def f(srv):
            q = qs() if callable(qs) else qs
            st, _ = expect_status(request(srv, "GET", path + "?" + q, timeout=timeout), codes, sid)
            return "HTTP %d" % st
        sc.append(("query." + sid, f))


    def sel_1mib(srv):
        # A 1 MiB request line is refused by the HTTP layer (h2o) before the API sees it; like
        # Go's net/http (431, text/plain) the body need not be a Status, but it must be a 4xx.
        st, _, raw = request(srv, "GET", CM_PATH + "?labelSelector=" + "a" * (1 << 20))
        if st not in (400, 414, 431):
            raise Fail("1 MiB labelSelector: %d %r" % (st, raw[:100]))
        return "HTTP %d %r" % (st, raw[:30])
    sc.append(("query.labelSelector-1MiB", sel_1mib))
    add("labelSelector-64KiB", lambda: "labelSelector=" + "a" * (64 << 10), (200, 400))
    add("labelSelector-10000-reqs",
        lambda: "labelSelector=" + "%2C".join("k%d%%3Dv" % i for i in range(10000)), (200, 400, 414))
    add("labelSelector-garbage", "labelSelector=%3D%3D%21%21in%20(", (400,))
    add("fieldSelector-unknown", "fieldSelector=spec.bogus%3Dx", (400,))
    add("fieldSelector-escapes", "fieldSelector=metadata.name%3Da%5C%2Cb%5C%3D%5Cz", (200, 400))
    for v in ("-1", "1e18", "abc", "99999999999999999999"):
        add("limit=" + v, "limit=" + v, (200, 400))
    add("continue-garbage", "limit=1&continue=%%%garbage", (400, 410))
    add("continue-b64-junk", "limit=1&continue=" + enc(b"\xff\x00junk").decode(), (400, 410))

    def cont_tamper(srv):
        for i in range(3):
            request(srv, "POST", CM_PATH, json.dumps(cm("ct-%d" % i)))
        st, js, _ = request(srv, "GET", CM_PATH + "?limit=1")
        tok = js["metadata"].get("continue")
        if not tok:
            raise Fail("no continue token with limit=1 and 3+ items")
        out = []
        trunc = tok[: len(tok) // 2]
        raw = base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4))
        tampered = base64.urlsafe_b64encode(raw.replace(b"default", b"kube-sys")).decode()
        for name, t, path in (("truncated", trunc, CM_PATH), ("tampered", tampered, CM_PATH),
                              ("other-resource", tok, "/api/v1/namespaces/default/secrets"),
                              ("other-namespace", tok, "/api/v1/namespaces/kube-system/configmaps")):
            st, js = expect_status(request(srv, "GET", path + "?limit=1&continue=" + t), (200, 400, 410), name)
            want_ns = path.split("/")[4]
            leaked = [i["metadata"].get("namespace") for i in (js or {}).get("items", [])
                      if i["metadata"].get("namespace") != want_ns]
            if st == 200 and leaked:
                raise Fail("%s continue token listed objects of namespace %s" % (name, leaked[:3]))
            out.append("%s=%d" % (name, st))
        for i in range(3):
            request(srv, "DELETE", CM_PATH + "/ct-%d" % i)
        return " ".join(out)
    sc.append(("query.continue-tampered", cont_tamper))
    for v in ("-1", "99999999999999999999", "abc"):
        add("resourceVersion=" + v, "resourceVersion=" + v, (200, 400, 410, 504))
    add("resourceVersionMatch-bogus", "resourceVersion=1&resourceVersionMatch=Bogus", (400, 422))
    add("timeoutSeconds=-5", "watch=true&timeoutSeconds=-5", (200, 400), timeout=5)
    add("timeoutSeconds=1e12", "timeoutSeconds=1e12", (200, 400))

    def watch_future(srv):
        t0 = time.time()
        c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=15)
        c.request("GET", CM_PATH + "?watch=true&resourceVersion=99999999999&timeoutSeconds=3")
        r = c.getresponse()
        body = r.read()
        c.close()
        dt = time.time() - t0
        if dt > 10:
            raise Fail("watch with future RV did not honour timeoutSeconds (%.1fs)" % dt)
        if r.status == 200 and b"ERROR" not in body:
            # upstream (cacher): waits ~3 s for the RV, then 504 Status "Too large resource version"
            raise Fail("watch with RV far in the future: 200 with %r after %.1fs, want 504 Status"
                       % (body[:80], dt))
        if r.status == 200:
            return "200 ERROR event after %.1fs" % dt
        js = json.loads(body or b"{}")
        if r.status not in (400, 410, 504) or js.get("kind") != "Status":
            raise Fail("watch future RV: %d %r" % (r.status, body[:200]))
        return "HTTP %d" % r.status
    sc.append(("query.watch-future-rv", watch_future))
    add("duplicate-params", "limit=1&limit=2&watch=false&watch=true&timeoutSeconds=1", (200, 400), timeout=5)
    add("percent-garbage", "labelSelector=%zz%&fieldSelector=%", (200, 400))
    return sc


# ---------------------------------------------------------------- 5. floods

def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 65536)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def flood_conns(srv):
    n = min(scaled(2000, 200), raise_nofile() // 2 - 50)
    socks, answered = [], 0
    try:
        for _ in range(n):
            socks.append(socket.create_connection(("127.0.0.1", srv.port), timeout=10))
        req = b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"
        for s in socks:
            s.sendall(req)
        for s in socks:
            try:
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    answered += 1
            except OSError:
                pass
    finally:
        for s in socks:
            s.close()
    if answered < n * 0.95:
        raise Fail("only %d/%d concurrent connections answered" % (answered, n))
    return "%d/%d answered" % (answered, n)


def flood_watches(srv):
    n = min(scaled(2000, 200), raise_nofile() // 2 - 50)
    r0 = srv.rss()
    socks = []
    req = b"GET " + CM_PATH.encode() + b"?watch=true HTTP/1.1\r\nHost: x\r\n\r\n"
    try:
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            s.sendall(req)
            socks.append(s)
        time.sleep(1)
        st, _, _ = request(srv, "POST", CM_PATH, json.dumps(cm("fw-event")))
        # Read every stream after the event, under one global deadline.
        ok = got = 0
        deadline = time.time() + 20
        for s in socks:
            buf = b""
            try:
                while b"fw-event" not in buf and time.time() < deadline:
                    s.settimeout(max(0.05, deadline - time.time()))
                    b = s.recv(65536)
                    if not b:
                        break
                    buf += b
            except OSError:
                pass
            ok += buf.startswith(b"HTTP/1.1 200")
            got += b"fw-event" in buf
        peak = srv.rss()
    finally:
        for s in socks:
            s.close()
    request(srv, "DELETE", CM_PATH + "/fw-event")
    deadline = time.time() + 8
    while time.time() < deadline and srv.rss() > r0 + 32 * 1024:
        time.sleep(0.25)
    after = srv.rss()
    open_w = -1
    deadline = time.time() + 5
    while open_w != 0 and time.time() < deadline:
        _, _, m = request(srv, "GET", "/metrics")
        for line in m.decode("utf-8", "replace").splitlines():
            if line.startswith("ckube_http_watches "):
                open_w = int(float(line.split()[1]))
        if open_w != 0:
            time.sleep(0.25)
    if open_w != 0:
        raise Fail("ckube_http_watches is %d 5 s after all %d watch clients left" % (open_w, n))
    if ok < n * 0.95:
        raise Fail("only %d/%d watches opened" % (ok, n))
    if got < n * 0.95:
        raise Fail("only %d/%d watches saw the event" % (got, n))
    if after > r0 + 64 * 1024 and after > r0 + (peak - r0) // 2:
        raise Fail("RSS did not come back after dropping %d watches: %d -> peak %d -> %d kB"
                   % (n, r0, peak, after))
    return "%d watches, RSS %d->%d->%d MiB" % (n, r0 // 1024, peak // 1024, after // 1024)


def flood_creates(srv):
    total, nthreads, nlist = scaled(20000, 1000), 64, scaled(200, 20)
    acked, errors, lock = [], [], threading.Lock()
    list_codes = {}
    per = total // nthreads

    def creator(t):
        c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
        for i in range(per):
            name = "fc-%d-%d" % (t, i)
            try:
                c.request("POST", CM_PATH, json.dumps(cm(name, labels={"flood": "1"})),
                          {"Content-Type": "application/json"})
                r = c.getresponse()
                r.read()
                with lock:
                    if r.status == 201:
                        acked.append(name)
                    else:
                        errors.append(r.status)
            except (OSError, http.client.HTTPException) as e:
                with lock:
                    errors.append(type(e).__name__)
                c.close()
                c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
        c.close()

    def lister():
        for _ in range(max(1, nlist // 8)):
            try:
                st, js, _ = request(srv, "GET", CM_PATH + "?labelSelector=flood%3D1", timeout=30)
            except OSError as e:
                st = type(e).__name__
            with lock:
                list_codes[st] = list_codes.get(st, 0) + 1

    t0 = time.time()
    th = [threading.Thread(target=creator, args=(t,)) for t in range(nthreads)]
    th += [threading.Thread(target=lister) for _ in range(8)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    dt = time.time() - t0
    st, js, _ = request(srv, "GET", CM_PATH + "?labelSelector=flood%3D1", timeout=60)
    have = {i["metadata"]["name"] for i in js["items"]}
    missing = [n for n in acked if n not in have]
    bad_err = [e for e in errors if e != 429]
    if missing:
        raise Fail("%d acknowledged creates missing from LIST (e.g. %s)" % (len(missing), missing[:3]))
    if bad_err:
        raise Fail("create errors other than 429: %s" % sorted(set(map(str, bad_err)))[:5])
    if set(list_codes) - {200, 429}:
        raise Fail("LIST answers under load: %s" % list_codes)
    return "%d/%d creates acked in %.1fs (%.0f/s), %d 429s, listed %d, LISTs %s" % (
        len(acked), per * nthreads, dt, len(acked) / dt, errors.count(429), len(have), list_codes)


# ---------------------------------------------------------------- 6. names / objects

def name_scenarios():
    sc = []

    def add(sid, path, obj, codes, absent=None):
        def f(srv):
            o = obj() if callable(obj) else obj
            st, _ = expect_status(request(srv, "POST", path, json.dumps(o), timeout=30), codes, sid)
            if absent and st >= 400:
                st2, _, _ = request(srv, "GET", absent)
                if st2 != 404:
                    raise Fail("rejected object visible at %s (%d)" % (absent, st2))
            return "HTTP %d" % st
        sc.append(("names." + sid, f))

    n254 = "a" * 254
    add("name-254", CM_PATH, cm(n254), (422,), absent=CM_PATH + "/" + n254)
    add("name-253", CM_PATH, cm("b" * 253), (201,))
    add("name-unicode", CM_PATH, cm("caf\u00e9-\u2603"), (422,), absent=CM_PATH + "/caf%C3%A9-%E2%98%83")
    add("name-slash", CM_PATH, cm("a/b"), (422, 400))
    add("name-dotdot", CM_PATH, cm(".."), (422, 400))
    add("ns-missing", "/api/v1/namespaces/no-such-ns/configmaps", cm("x"), (404,),
        absent="/api/v1/namespaces/no-such-ns/configmaps/x")
    add("ns-invalid", "/api/v1/namespaces/BAD_NS/configmaps", cm("x"), (400, 404, 422))
    add("url-ns-mismatch", CM_PATH, cm("mm", namespace="kube-system"), (400, 422),
        absent="/api/v1/namespaces/kube-system/configmaps/mm")
    add("kind-mismatch", CM_PATH, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "km"}},
        (400, 422), absent=CM_PATH + "/km")
    add("apiversion-mismatch", CM_PATH, {"apiVersion": "apps/v1", "kind": "ConfigMap", "metadata": {"name": "am"}},
        (400, 422), absent=CM_PATH + "/am")
    add("unknown-resource", "/api/v1/namespaces/default/bogons", cm("x"), (404,))
    add("pod-10000-containers", "/api/v1/namespaces/default/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "huge-pod"},
        "spec": {"containers": [{"name": "c%d" % i, "image": "busybox"} for i in range(10000)]}},
        (201, 422), absent=None)

    def labels_100k():
        o = cm("many-labels")
        o["metadata"]["labels"] = {"l%d" % i: "v" for i in range(100000)}
        return o
    add("labels-100k", CM_PATH, labels_100k, (201, 422))

    def gen_collide(srv):
        codes = {}
        for _ in range(scaled(200, 50)):
            o = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "g-"}}
            st, js, _ = request(srv, "POST", CM_PATH, json.dumps(o))
            codes[st] = codes.get(st, 0) + 1
        if set(codes) - {201, 409}:
            raise Fail("generateName answers %s" % codes)
        return "codes %s" % codes
    sc.append(("names.generateName-many", gen_collide))

    def gen_too_long(srv):
        o = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "g" * 300}}
        st, _ = expect_status(request(srv, "POST", CM_PATH, json.dumps(o)), (422,), "generateName 300")
        return "HTTP %d" % st
    sc.append(("names.generateName-300", gen_too_long))
    return sc


# ---------------------------------------------------------------- 7. TLS port (bearer token)

def tls_scenarios():
    sc = []

    def auth(sid, token, code):
        def f(srv):
            h = {"Authorization": "Bearer " + token} if token is not None else {}
            saved, srv.token = srv.token, None
            try:
                st, _ = expect_status(request(srv, "GET", CM_PATH, headers=h), (code,), sid)
            finally:
                srv.token = saved
            return "HTTP %d" % st
        sc.append(("tls." + sid, f))
    auth("no-token", None, 403)  # system:anonymous, refused by RBAC
    auth("wrong-token", "nope", 401)
    auth("empty-token", "", 401)

    def token_1mib(srv):
        # refused by the HTTP layer (h2o header limit) before authn: plain 4xx is fine, 2xx is not
        saved, srv.token = srv.token, None
        try:
            st, _, raw = request(srv, "GET", CM_PATH, headers={"Authorization": "Bearer " + "a" * (1 << 20)})
        finally:
            srv.token = saved
        if st not in (400, 401, 431):
            raise Fail("1 MiB bearer token: %d %r" % (st, raw[:80]))
        return "HTTP %d" % st
    sc.append(("tls.token-1MiB", token_1mib))

    def plain_on_tls(srv):
        resp = raw_exchange(srv, b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n", timeout=5)
        if status_of(resp) == 200:
            raise Fail("plain HTTP on the TLS port answered 200")
        return "answer %r" % resp[:20]
    sc.append(("tls.plain-http-on-tls-port", plain_on_tls))

    def truncated_hello(srv):
        hello = bytes.fromhex("16030100c8010000c40303") + os.urandom(20)
        resp = raw_exchange(srv, hello, timeout=35, shut_wr=True)
        return "closed" if not resp else "answer %r" % resp[:10]
    sc.append(("tls.truncated-clienthello", truncated_hello))

    def garbage_after_handshake(srv):
        s = insecure_ctx().wrap_socket(socket.create_connection(("127.0.0.1", srv.port), timeout=5))
        try:
            s.sendall(os.urandom(8192))
            try:
                resp = s.recv(256)
            except (ssl.SSLError, OSError):
                resp = b""
        finally:
            s.close()
        expect_raw(resp)
        return "HTTP %s" % status_of(resp) if resp else "closed"
    sc.append(("tls.garbage-after-handshake", garbage_after_handshake))

    def silent_handshakes(srv):
        n = scaled(400, 100)
        socks = [socket.create_connection(("127.0.0.1", srv.port), timeout=5) for _ in range(n)]
        try:
            t0 = time.time()
            st, _, _ = request(srv, "GET", "/readyz", timeout=2)
            dt = time.time() - t0
        finally:
            for x in socks:
                x.close()
        if st != 200 or dt > 1:
            raise Fail("readyz %d in %.2fs with %d silent TLS connections" % (st, dt, n))
        return "%d silent connections, readyz in %.2fs" % (n, dt)
    sc.append(("tls.silent-handshakes", silent_handshakes))
    return sc


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CKUBE_BIN", "ckube")
    only = os.environ.get("CKUBE_ROBUST_ONLY", "")
    global RSS_SLACK_KB
    with open(binary if os.path.sep in binary else shutil.which(binary), "rb") as f:
        if b"__asan_init" in f.read() and "CKUBE_ROBUST_RSS_SLACK_MB" not in os.environ:
            RSS_SLACK_KB = 1024 * 1024  # ASan's quarantine and allocator keep freed memory
            print("sanitized binary: heap slack 1 GiB")
    raise_nofile()
    groups = [
        ("http", http_scenarios()),
        ("slow", [("slow.watch-headers", watch_headers), ("slow.slowloris", slowloris), ("slow.unread-list", unread_list),
                  ("slow.unread-watch", unread_watch)]),
        ("body", body_scenarios()),
        ("query", query_scenarios()),
        ("flood", [("flood.big-updates-heap", big_updates_heap), ("flood.connections", flood_conns), ("flood.watches", flood_watches),
                   ("flood.creates", flood_creates)]),
        ("names", name_scenarios()),
        ("tls", tls_scenarios()),
    ]
    t0 = time.time()
    for gname, scs in groups:
        scs = [(sid, f) for sid, f in scs if not only or only in sid]
        if not scs:
            continue
        srv = Server(binary, tls=(gname == "tls"))
        srv.start()
        try:
            for sid, f in scs:
                run(srv, sid, f)
        finally:
            srv.stop()
    print("robustness: %d passed, %d failed, %d known failures, %d fixed, %.1fs (scale %.2f)" % (
        results["pass"], len(results["fail"]), len(results["known"]), len(results["fixed"]),
        time.time() - t0, SCALE))
    if results["fail"]:
        print("FAILED: " + " ".join(results["fail"]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
