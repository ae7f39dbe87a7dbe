#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The agent's streaming server against an independent SPDY/3.1 client written here (stdlib
zlib with the SPDY/3 dictionary, frames as moby/spdystream and kubectl send them): exec exit
codes in the v4 Status, stdin echo, tty with resize, port-forward both ways (two concurrent
pairs), PING answered, negotiation errors, a vanished client leaves no process or fd, idle
sessions are reaped."""
import json, os, re, socket, struct, subprocess, sys, threading, time, urllib.parse, zlib

HOST, SRC = sys.argv[1], sys.argv[2]
d = bytes(int(x, 16) for x in re.findall(r"0x([0-9a-f]{2})", open(SRC + "/src/stream/spdy_dict.c").read()))
assert len(d) == 1423 and zlib.adler32(d) == 0xE3C6A7C2
IDLE = 3


class Spdy:
    def __init__(self, port, path, protos, method="POST"):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        req = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
        req += "".join(f"X-Stream-Protocol-Version: {p}\r\n" for p in protos) + "\r\n"
        self.s.sendall(req.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            c = self.s.recv(1)
            if not c:
                break
            head += c
        self.head = head.decode()
        self.status = int(self.head.split(" ")[1]) if self.head else 0
        self.z = zlib.compressobj(9, zlib.DEFLATED, 15, 8, 0, d)
        self.dz = zlib.decompressobj(zdict=d)
        self.buf = b""
        self.next = 1
        self.data, self.fin, self.rst, self.replied = {}, set(), set(), set()
        self.goaway = False
        self.pings = []
        self.eof = False

    def block(self, hdrs):
        raw = struct.pack(">I", len(hdrs))
        for k, v in hdrs.items():
            raw += struct.pack(">I", len(k)) + k.encode() + struct.pack(">I", len(v)) + v.encode()
        return self.z.compress(raw) + self.z.flush(zlib.Z_SYNC_FLUSH)

    def ctrl(self, t, flags, payload):
        self.s.sendall(bytes([0x80, 3, t >> 8, t & 255, flags]) + len(payload).to_bytes(3, "big") + payload)

    def open(self, hdrs, wait=True):
        sid = self.next
        self.next += 2
        self.ctrl(1, 0, struct.pack(">II", sid, 0) + b"\0\0" + self.block(hdrs))
        if wait:
            self.until(lambda: sid in self.replied or sid in self.rst)
        return sid

    def send(self, sid, data, fin=False):
        self.s.sendall(struct.pack(">I", sid) + bytes([1 if fin else 0]) + len(data).to_bytes(3, "big") + data)

    def pump(self, timeout):
        self.s.settimeout(timeout)
        try:
            c = self.s.recv(65536)
        except socket.timeout:
            return
        except OSError:
            c = b""
        if not c:
            self.eof = True
            return
        self.buf += c
        while len(self.buf) >= 8:
            ln = int.from_bytes(self.buf[5:8], "big")
            if len(self.buf) < 8 + ln:
                break
            f, p, self.buf = self.buf[:8], self.buf[8:8 + ln], self.buf[8 + ln:]
            flags = f[4]
            if f[0] & 0x80:
                t = f[2] << 8 | f[3]
                if t == 2:
                    sid = struct.unpack(">I", p[:4])[0] & 0x7FFFFFFF
                    self.dz.decompress(p[4:])
                    self.replied.add(sid)
                elif t == 3:
                    self.rst.add(struct.unpack(">I", p[:4])[0])
                elif t == 6:
                    self.pings.append(struct.unpack(">I", p)[0])
                elif t == 7:
                    self.goaway = True
            else:
                sid = struct.unpack(">I", f[:4])[0]
                self.data[sid] = self.data.get(sid, b"") + p
                if flags & 1:
                    self.fin.add(sid)

    def until(self, cond, timeout=10):
        end = time.time() + timeout
        while not cond():
            if time.time() > end:
                raise AssertionError("timeout; data=%r fin=%r rst=%r" % (self.data, self.fin, self.rst))
            if self.eof:
                raise AssertionError("connection closed; data=%r" % self.data)
            self.pump(0.2)


host = subprocess.Popen([HOST, str(IDLE)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
PORT = int(host.stdout.readline().split()[1])
failures = []


def check(name, fn):
    try:
        fn()
        print("ok  ", name)
    except Exception as e:  # noqa
        failures.append(name)
        print("FAIL", name, repr(e))


def q(args):
    return "&".join("command=" + urllib.parse.quote(a, safe="") for a in args)


def exec_session(args, flags, protos=("v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io",
                                        "v2.channel.k8s.io", "channel.k8s.io")):
    c = Spdy(PORT, "/exec/default/p1/c1?" + q(args) + flags, protos)
    assert c.status == 101, c.head
    ids = {"error": c.open({"streamtype": "error"})}
    return c, ids


def t_exit3():
    c, ids = exec_session(["sh", "-c", "echo out; echo err >&2; exit 3"], "&output=1&error=1")
    assert "X-Stream-Protocol-Version: v4.channel.k8s.io" in c.head, c.head
    ids["stdout"] = c.open({"streamtype": "stdout"})
    ids["stderr"] = c.open({"streamtype": "stderr"})
    c.until(lambda: all(i in c.fin or i in c.rst for i in ids.values()) and c.goaway)
    st = json.loads(c.data[ids["error"]])
    assert st["status"] == "Failure" and st["reason"] == "NonZeroExitCode", st
    assert st["message"].startswith("command terminated with non-zero exit code: "), st
    assert st["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}], st
    assert c.data[ids["stdout"]] == b"out\n" and c.data[ids["stderr"]] == b"err\n", c.data


def t_cat():
    c, ids = exec_session(["cat"], "&input=1&output=1&error=1")
    for t in ("stdin", "stdout", "stderr"):
        ids[t] = c.open({"streamtype": t})
    c.send(ids["stdin"], b"hello\n")
    c.until(lambda: c.data.get(ids["stdout"]) == b"hello\n")
    c.send(ids["stdin"], b"", fin=True)
    c.until(lambda: ids["error"] in c.fin and ids["stdout"] in c.fin)
    assert json.loads(c.data[ids["error"]]) == {"metadata": {}, "status": "Success"}
    c.ctrl(6, 0, struct.pack(">I", 1))  # keepalive after the end is harmless


def t_tty_resize():
    c, ids = exec_session(["sh", "-c", "stty size; read l; stty size"], "&input=1&output=1&tty=1")
    ids["stdin"] = c.open({"streamtype": "stdin"})
    ids["stdout"] = c.open({"streamtype": "stdout"})
    ids["resize"] = c.open({"streamtype": "resize"})
    c.send(ids["resize"], b'{"Width":100,"Height":30}\n')
    c.until(lambda: b"30 100" in c.data.get(ids["stdout"], b""))
    c.send(ids["resize"], b'{"Width":120,')
    c.send(ids["resize"], b'"Height":40}\n')
    time.sleep(0.2)
    c.send(ids["stdin"], b"x\n")
    c.until(lambda: b"40 120" in c.data.get(ids["stdout"], b""))
    c.until(lambda: ids["error"] in c.fin)
    assert json.loads(c.data[ids["error"]])["status"] == "Success"


def t_v2_text_error():
    c, ids = exec_session(["sh", "-c", "exit 5"], "&output=1", protos=("v2.channel.k8s.io",))
    assert "v2.channel.k8s.io" in c.head
    ids["stdout"] = c.open({"streamtype": "stdout"})
    c.until(lambda: ids["error"] in c.fin)
    assert b"exit code 5" in c.data[ids["error"]], c.data


def echo_server():
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)

    def serve(cs):
        while True:
            b = cs.recv(65536)
            if not b:
                break
            cs.sendall(b"echo:" + b)
        cs.close()

    def loop():
        while True:
            cs, _ = ls.accept()
            threading.Thread(target=serve, args=(cs,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return ls.getsockname()[1]


def t_portforward():
    p = str(echo_server())
    c = Spdy(PORT, "/portForward/default/p1", ["portforward.k8s.io"])
    assert c.status == 101 and "portforward.k8s.io" in c.head, c.head
    pairs = []
    for rid in ("0", "1"):
        e = c.open({"streamtype": "error", "port": p, "requestid": rid})
        c.send(e, b"", fin=True)
        dsid = c.open({"streamtype": "data", "port": p, "requestid": rid})
        pairs.append((e, dsid))
    for i, (e, dsid) in enumerate(pairs):
        c.send(dsid, b"ping%d" % i)
    for i, (e, dsid) in enumerate(pairs):
        c.until(lambda: c.data.get(dsid) == b"echo:ping%d" % i)
    big = os.urandom(300000)
    e, dsid = pairs[0]
    for off in range(0, len(big), 32768):
        c.send(dsid, big[off:off + 32768])
    c.until(lambda: len(c.data.get(dsid, b"")) >= len(b"echo:ping0") + len(big) + 5, timeout=20)
    assert big[:1000] in c.data[dsid]
    for e, dsid in pairs:
        c.send(dsid, b"", fin=True)
    c.until(lambda: all(d in c.fin and e in c.fin for e, d in pairs))
    assert not any(c.data.get(e) for e, _ in pairs), c.data
    # a port nobody listens on: text on the error stream, data reset
    e = c.open({"streamtype": "error", "port": "1", "requestid": "9"})
    dsid = c.open({"streamtype": "data", "port": "1", "requestid": "9"})
    c.until(lambda: e in c.fin and dsid in c.rst)
    assert c.data[e].startswith(b"error forwarding port 1 to pod"), c.data[e]
    # keepalive
    c.ctrl(6, 0, struct.pack(">I", 7))
    c.until(lambda: 7 in c.pings)


def t_negotiation():
    c = Spdy(PORT, "/exec/default/p1/c1?command=true&output=1", ["v5.channel.k8s.io"])
    assert c.status == 403 and "X-Accepted-Stream-Protocol-Versions: v4.channel.k8s.io" in c.head, c.head
    c = Spdy(PORT, "/exec/default/nope/c1?command=true&output=1", ["v4.channel.k8s.io"])
    assert c.status == 404, c.head
    c = Spdy(PORT, "/exec/default/p1/c1?command=true", ["v4.channel.k8s.io"])
    assert c.status == 400, c.head
    s = socket.create_connection(("127.0.0.1", PORT))
    s.sendall(b"GET /exec/default/p1/c1?command=true&output=1 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert s.recv(100).startswith(b"HTTP/1.1 400"), "plain request"


def procs_matching(word):
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if word in open(f"/proc/{pid}/cmdline", "rb").read():
                    out.append(pid)
            except OSError:
                pass
    return out


def nfds():
    return len(os.listdir(f"/proc/{host.pid}/fd"))


def active():
    host.stdin.write("active\n")
    host.stdin.flush()
    return int(host.stdout.readline().split()[1])


def t_vanish():
    base = nfds()
    c, ids = exec_session(["sh", "-c", "sleep 987; echo never"], "&input=1&output=1&tty=1")
    ids["stdin"] = c.open({"streamtype": "stdin"})
    ids["stdout"] = c.open({"streamtype": "stdout"})
    ids["resize"] = c.open({"streamtype": "resize"})
    c2, ids2 = exec_session(["sh", "-c", "sleep 986"], "&input=1&output=1&error=1")
    for t in ("stdin", "stdout", "stderr"):
        ids2[t] = c2.open({"streamtype": t})
    end = time.time() + 5
    while not (procs_matching(b"987") and procs_matching(b"986")) and time.time() < end:
        time.sleep(0.1)
    assert procs_matching(b"987") and procs_matching(b"986")
    c.s.close()
    c2.s.shutdown(socket.SHUT_RDWR)
    c2.s.close()
    end = time.time() + 5
    while (procs_matching(b"sleep\x00987") or procs_matching(b"sleep\x00986") or active()) and time.time() < end:
        time.sleep(0.1)
    assert not procs_matching(b"sleep\x00987") and not procs_matching(b"sleep\x00986"), ("process left behind", procs_matching(b"sleep\x00987"), procs_matching(b"sleep\x00986"))
    assert active() == 0
    assert nfds() <= base, (nfds(), base)


def t_idle():
    c, ids = exec_session(["sh", "-c", "sleep 985"], "&output=1")
    ids["stdout"] = c.open({"streamtype": "stdout"})
    t0 = time.time()
    while not c.eof and time.time() - t0 < IDLE + 5:
        c.pump(0.2)
    assert c.eof and time.time() - t0 >= IDLE - 0.5, ("idle session not reaped", c.eof, time.time() - t0)
    end = time.time() + 3
    while procs_matching(b"sleep\x00985") and time.time() < end:
        time.sleep(0.1)
    assert not procs_matching(b"sleep\x00985"), "idle process left"
    # a client that never creates its streams is dropped after the stream timeout (5 s)
    c = Spdy(PORT, "/exec/default/p1/c1?command=true&output=1", ["v4.channel.k8s.io"])
    t0 = time.time()
    while not c.eof and time.time() - t0 < 10:
        c.pump(0.2)
    assert c.eof, "stream-less session not dropped"


for name, fn in [("exec exit 3 -> NonZeroExitCode Status", t_exit3), ("stdin to cat echoes", t_cat),
                 ("tty with resize", t_tty_resize), ("v2 error text", t_v2_text_error),
                 ("port-forward both ways, 2 pairs, 300 KB, dial error, ping", t_portforward),
                 ("negotiation and routing errors", t_negotiation),
                 ("vanished client: no process or fd left", t_vanish), ("idle and stream-less sessions reaped", t_idle)]:
    check(name, fn)
host.stdin.close()
print(host.stdout.read().strip())
host.wait(timeout=20)
print("failures:", failures)
sys.exit(1 if failures else 0)
