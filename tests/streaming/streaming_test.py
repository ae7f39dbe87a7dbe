#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Streaming through the API server with real kubectl binaries (driven by test_streaming.sh,
which starts the server, the agent and the registry). Per kubectl version, with the default
transports, with KUBECTL_REMOTE_COMMAND_WEBSOCKETS / KUBECTL_PORT_FORWARD_WEBSOCKETS=false
(SPDY only) and, for 1.29 / 1.30, =true (their opt-in WebSocket paths): exec exit codes, exec -i, exec -it under a pty with a resize, attach, attach -i, run -i --rm,
cp both ways, port-forward (one page, then 20 concurrent connections). Then a client that
disconnects mid-session and one that stops reading: the server and agent stay responsive,
the session's process goes away, memory stays bounded. Objects are named st-*."""
import argparse
import base64
import fcntl
import json
import os
import pty
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from ckubetest import Fail, expect, expect_in, free_port, kubectl_path, wait_for  # noqa: E402

A = None
WS_OFF = {"KUBECTL_REMOTE_COMMAND_WEBSOCKETS": "false", "KUBECTL_PORT_FORWARD_WEBSOCKETS": "false"}


def kubectl(ver, *args, stdin=None, env=None, timeout=60, check=None):
    e = dict(os.environ, KUBECONFIG=A.kubeconfig)
    e.update(env or {})
    p = subprocess.run([kubectl_path("1." + ver), *args], input=stdin, capture_output=True, env=e,
                       timeout=timeout)
    out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    if check is not None and p.returncode != check:
        raise Fail("kubectl 1.%s %s: exit %d, want %d\nstdout: %s\nstderr: %s" %
                   (ver, " ".join(args), p.returncode, check, out[-2000:], err[-2000:]))
    return p.returncode, out, err


def api(method, path, body=None):
    req = urllib.request.Request(A.api + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")


def mkpod(name, containers):
    if running(name):  # left by an earlier run against the same cluster
        return
    api("POST", "/api/v1/namespaces/default/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"nodeName": A.node, "terminationGracePeriodSeconds": 1,
                 "containers": containers}})


def running(name):
    try:
        p = api("GET", "/api/v1/namespaces/default/pods/" + name)
    except Exception:
        return False
    return p.get("status", {}).get("phase") == "Running"


# ---- scenarios -----------------------------------------------------------------------------

def t_exec(v, env):
    rc, out, err = kubectl(v, "exec", "st-sh", "--", "sh", "-c", "echo out; echo err >&2; exit 3",
                           env=env)
    expect(rc == 3, "1.%s exec exit 3: got %d (%s)" % (v, rc, err))
    expect_in("out", out)
    expect_in("err", err, "stderr")
    kubectl(v, "exec", "st-sh", "--", "true", env=env, check=0)
    rc, out, err = kubectl(v, "exec", "-i", "st-sh", "--", "cat", stdin=b"x\n", env=env, check=0)
    expect(out == "x\n", "1.%s exec -i cat: %r" % (v, out))
    big = os.urandom(300000)
    rc, out, _ = kubectl(v, "exec", "-i", "st-sh", "--", "md5sum", stdin=big, env=env, check=0)
    import hashlib
    expect_in(hashlib.md5(big).hexdigest(), out, "md5 of 300 kB through stdin")


def pty_session(v, args, env, script, timeout=30):
    """Runs kubectl under a pty (100x30). script: list of (send bytes | ("resize", rows, cols)
    | ("expect", regex)). Returns (exit code, transcript)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    e = dict(os.environ, KUBECONFIG=A.kubeconfig, TERM="xterm")
    e.update(env or {})

    def child_setup():
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    p = subprocess.Popen([kubectl_path("1." + v), *args], stdin=slave, stdout=slave, stderr=slave,
                         env=e, preexec_fn=child_setup, close_fds=True)
    os.close(slave)
    buf = b""
    end = time.time() + timeout

    def read_until(pat):
        nonlocal buf
        while time.time() < end:
            m = re.search(pat, buf.decode(errors="replace"))
            if m:
                return m
            r, _, _ = select.select([master], [], [], 0.2)
            if r:
                try:
                    d = os.read(master, 65536)
                except OSError:
                    d = b""
                if not d:
                    break
                buf += d
        raise Fail("1.%s %s: %r not seen in %r" % (v, " ".join(args), pat, buf[-800:]))
    try:
        for step in script:
            if isinstance(step, bytes):
                os.write(master, step)
            elif step[0] == "resize":
                fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", step[1], step[2], 0, 0))
                time.sleep(0.2)
                os.kill(p.pid, signal.SIGWINCH)  # as a terminal emulator's resize
                time.sleep(1)  # kubectl forwards it asynchronously
            elif step[0] == "expect":
                read_until(step[1])
                buf = b""
        while time.time() < end and p.poll() is None:
            r, _, _ = select.select([master], [], [], 0.2)
            if r:
                try:
                    buf += os.read(master, 65536)
                except OSError:
                    pass
        if p.poll() is None:
            p.kill()
            raise Fail("1.%s %s did not exit" % (v, " ".join(args)))
        return p.returncode, buf
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
        os.close(master)


def t_exec_tty(v, env):
    rc, _ = pty_session(v, ["exec", "-it", "st-sh", "--", "sh"], env, [
        ("expect", r"[#$] "), b"stty size\r", ("expect", r"30 100"),
        ("resize", 40, 120), b"stty size\r", ("expect", r"40 120"),
        b"exit 4\r"])
    expect(rc == 4, "1.%s exec -it: exit %d, want 4" % (v, rc))


def t_attach(v, env):
    e = dict(os.environ, KUBECONFIG=A.kubeconfig)
    e.update(env or {})
    p = subprocess.Popen([kubectl_path("1." + v), "attach", "st-tick"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=e)
    try:
        got = b""
        end = time.time() + 15
        while time.time() < end and not re.search(rb"tick \d+", got):
            r, _, _ = select.select([p.stdout], [], [], 0.5)
            if r:
                d = os.read(p.stdout.fileno(), 4096)
                if not d:
                    break
                got += d
        expect(re.search(rb"tick \d+", got), "1.%s attach: no ticks: %r" % (v, got))
    finally:
        p.kill()
        p.wait()
    # attach -i to a cat with stdin: what goes in comes back out
    p = subprocess.Popen([kubectl_path("1." + v), "attach", "-i", "st-cat"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e)
    try:
        word = ("hello-%s-%d" % (v, time.time_ns() % 100000)).encode()
        got = b""
        end = time.time() + 15
        sent = 0
        while time.time() < end and word not in got:
            if time.time() > sent + 1:  # until the session is up, lines may be lost
                p.stdin.write(word + b"\n")
                p.stdin.flush()
                sent = time.time()
            r, _, _ = select.select([p.stdout], [], [], 0.3)
            if r:
                d = os.read(p.stdout.fileno(), 4096)
                if not d:
                    break
                got += d
        expect(word in got, "1.%s attach -i: %r not echoed (%r)" % (v, word, got))
    finally:
        p.kill()
        p.wait()


def t_run(v, env):
    name = "st-run-%s-%s" % (v, "spdy" if env else "ws")
    rc, out, err = kubectl(v, "run", name, "--image", A.image, "--restart=Never", "-i", "--rm",
                           "--", "sh", "-c", "sleep 3; echo run-ok-$((40+2))", env=env,
                           timeout=90)
    expect(rc == 0, "1.%s run -i --rm: exit %d: %s" % (v, rc, err))
    expect_in("run-ok-42", out)
    wait_for("pod %s deleted" % name,
             lambda: name not in [p["metadata"]["name"] for p in
                                  api("GET", "/api/v1/namespaces/default/pods")["items"]],
             timeout=30)


def t_cp(v, env):
    src = os.path.join(A.workdir, "in-%s.txt" % v)
    data = "line %s\n" % v * 5000
    with open(src, "w") as f:
        f.write(data)
    kubectl(v, "cp", src, "st-sh:/tmp/cp-%s.txt" % v, env=env, check=0)
    _, out, _ = kubectl(v, "exec", "st-sh", "--", "cat", "/tmp/cp-%s.txt" % v, env=env, check=0)
    expect(out == data, "1.%s cp in: content differs" % v)
    dst = os.path.join(A.workdir, "out-%s.txt" % v)
    kubectl(v, "cp", "st-sh:/tmp/cp-%s.txt" % v, dst, env=env, check=0)
    with open(dst) as f:
        expect(f.read() == data, "1.%s cp out: content differs" % v)


def t_portforward(v, env):
    lport = free_port()
    e = dict(os.environ, KUBECONFIG=A.kubeconfig)
    e.update(env or {})
    p = subprocess.Popen([kubectl_path("1." + v), "port-forward", "st-web", "%d:8080" % lport],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e)
    try:
        def ready():
            try:
                socket.create_connection(("127.0.0.1", lport), timeout=1).close()
                return True
            except OSError:
                return p.poll() is not None
        wait_for("port-forward listening", ready, timeout=20)
        if p.poll() is not None:
            raise Fail("1.%s port-forward exited: %s" % (v, p.stderr.read()))

        def get():
            with urllib.request.urlopen("http://127.0.0.1:%d/" % lport, timeout=20) as r:
                return r.read().decode()
        expect_in("hello-pf", get(), "page")
        res, errs = [], []

        def worker():
            try:
                res.append(get())
            except Exception as ex:  # noqa: BLE001
                errs.append(repr(ex))
        th = [threading.Thread(target=worker) for _ in range(20)]
        for t in th:
            t.start()
        for t in th:
            t.join(40)
        expect(not errs and len(res) == 20 and all("hello-pf" in r for r in res),
               "1.%s port-forward x20: %d ok, errors %s" % (v, len(res), errs[:3]))
        expect(p.poll() is None, "1.%s port-forward died" % v)
    finally:
        p.kill()
        p.wait()


# ---- robustness ------------------------------------------------------------------------------

def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pod_procs(pattern):
    rc, out, _ = kubectl("33", "exec", "st-sh", "--", "ps", "-o", "pid,args")
    return [l for l in out.splitlines() if pattern in l and "ps -o" not in l]


def t_disconnect():
    e = dict(os.environ, KUBECONFIG=A.kubeconfig)
    for env in ({}, WS_OFF):
        e2 = dict(e, **env)
        p = subprocess.Popen([kubectl_path("1.33"), "exec", "st-sh", "--", "sh", "-c",
                              "sleep 1234; echo never"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=e2)
        wait_for("sleep 1234 running", lambda: pod_procs("sleep 1234"), timeout=20)
        p.kill()
        p.wait()
        wait_for("sleep 1234 gone after the client vanished", lambda: not pod_procs("sleep 1234"),
                 timeout=20)
        kubectl("33", "exec", "st-sh", "--", "true", check=0)


def t_errors():
    """Refusals are Status objects with upstream's code and message."""
    def status(path):
        req = urllib.request.Request(A.api + path)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
    base = "/api/v1/namespaces/default/pods/"
    code, body = status(base + "st-sh/exec?command=true&stdout=true")
    expect(code == 400 and "Upgrade request required" in body, "no upgrade: %d %s" % (code, body))
    code, body = status(base + "st-nope/exec?command=true&stdout=true")
    expect(code == 404 and '"NotFound"' in body, "unknown pod: %d %s" % (code, body))
    code, body = status(base + "st-sh/exec?command=true&stdout=true&container=bogus")
    expect(code == 400 and "container bogus is not valid for pod st-sh" in body,
           "unknown container: %d %s" % (code, body))
    host, port = A.api.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(("GET %sst-sh/exec?command=true&stdout=true HTTP/1.1\r\nHost: x\r\n"
                   "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Protocol: v9.channel.k8s.io\r\n\r\n" % base).encode())
        answer = b""
        while b"}" not in answer:
            d = s.recv(4096)
            if not d:
                break
            answer += d
    expect(answer.startswith(b"HTTP/1.1 403") and b'"Status"' in answer,
           "unknown subprotocol: %r" % answer[:300])
    rc, _, err = kubectl("33", "exec", "st-nope", "--", "true")
    expect(rc == 1 and "NotFound" in err, "kubectl exec of a missing pod: %d %s" % (rc, err))


def t_slow_reader():
    """A raw WebSocket exec of an endless writer that never reads its socket."""
    host, port = A.api.split("//")[1].split(":")
    before = {n: rss_kib(pid) for n, pid in (("server", A.server_pid), ("agent", A.agent_pid))}
    socks = []
    for i in range(3):
        s = socket.create_connection((host, int(port)))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall(("GET /api/v1/namespaces/default/pods/st-sh/exec?command=sh&command=-c&"
                   "command=yes%%20slowreader%d&container=c&stdout=true HTTP/1.1\r\n"
                   "Host: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                   "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n"
                   "Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n" % (i, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            d = s.recv(1)
            if not d:
                raise Fail("slow reader: connection closed during the handshake")
            head += d
        expect(head.startswith(b"HTTP/1.1 101"), "slow reader handshake: %r" % head[:200])
        socks.append(s)
    wait_for("slow writers running", lambda: len(pod_procs("yes slowreader")) >= 3, timeout=20)
    time.sleep(6)
    t0 = time.time()
    kubectl("33", "exec", "st-sh", "--", "true", check=0)
    expect(time.time() - t0 < 10, "exec while clients stall took %.1f s" % (time.time() - t0))
    urllib.request.urlopen(A.api + "/readyz", timeout=5).read()
    after = {n: rss_kib(pid) for n, pid in (("server", A.server_pid), ("agent", A.agent_pid))}
    for n in before:
        expect(after[n] - before[n] < 64 * 1024, "%s RSS grew %d -> %d KiB with stalled readers" %
               (n, before[n], after[n]))
    for s in socks:
        s.close()
    wait_for("slow writers gone", lambda: not pod_procs("yes slowreader"), timeout=30)


def main():
    global A
    ap = argparse.ArgumentParser()
    for a in ("kubeconfig", "api", "node", "image", "versions", "workdir"):
        ap.add_argument("--" + a, required=True)
    ap.add_argument("--agent-pid", type=int, required=True)
    ap.add_argument("--server-pid", type=int, required=True)
    ap.add_argument("--only", default=os.environ.get("STREAMING_ONLY", ""))
    A = ap.parse_args()
    os.makedirs(A.workdir, exist_ok=True)
    img = A.image
    mkpod("st-sh", [{"name": "c", "image": img, "command": ["sleep", "3600"]}])
    mkpod("st-web", [{"name": "web", "image": img, "command": ["sh", "-c",
          "mkdir -p /www && echo hello-pf > /www/index.html && exec httpd -f -p 8080 -h /www"]}])
    mkpod("st-tick", [{"name": "t", "image": img, "command": ["sh", "-c",
          "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.5; done"]}])
    mkpod("st-cat", [{"name": "cat", "image": img, "command": ["cat"], "stdin": True}])
    for n in ("st-sh", "st-web", "st-tick", "st-cat"):
        wait_for("pod %s Running" % n, lambda n=n: running(n), timeout=60)
    tests = [("exec", t_exec), ("exec-tty", t_exec_tty), ("attach", t_attach), ("cp", t_cp),
             ("portforward", t_portforward), ("run", t_run)]
    failures = []
    # the WebSocket paths a version only takes when asked: 1.29 exec/attach/cp, 1.30 port-forward
    optin = {"29": ("ws-optin", {"KUBECTL_REMOTE_COMMAND_WEBSOCKETS": "true"},
                    ("exec", "exec-tty", "attach", "cp")),
             "30": ("ws-optin", {"KUBECTL_PORT_FORWARD_WEBSOCKETS": "true"}, ("portforward",))}
    for v in A.versions.split():
        modes = [("default", {}, None), ("spdy", WS_OFF, None)]
        if v in optin:
            modes.append(optin[v])
        for mode, env, which in modes:
            for name, fn in tests:
                if (A.only and name not in A.only.split(",")) or (which and name not in which):
                    continue
                t0 = time.time()
                try:
                    fn(v, env)
                    print("ok   1.%s %-8s %-12s %.1fs" % (v, mode, name, time.time() - t0),
                          flush=True)
                except Exception as ex:  # noqa: BLE001
                    failures.append("1.%s %s %s: %s" % (v, mode, name, ex))
                    print("FAIL 1.%s %-8s %-12s %s" % (v, mode, name, ex), flush=True)
    for name, fn in (("errors", t_errors), ("disconnect", t_disconnect),
                     ("slow-reader", t_slow_reader)):
        if A.only and name not in A.only.split(","):
            continue
        try:
            fn()
            print("ok   %s" % name, flush=True)
        except Exception as ex:  # noqa: BLE001
            failures.append("%s: %s" % (name, ex))
            print("FAIL %s: %s" % (name, ex), flush=True)
    for n in ("st-sh", "st-web", "st-tick", "st-cat"):
        try:
            api("DELETE", "/api/v1/namespaces/default/pods/%s?gracePeriodSeconds=0" % n)
        except Exception:  # noqa: BLE001
            pass
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
