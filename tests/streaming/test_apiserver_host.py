#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Streaming through the API server without root: `ckube server` and tests/stream's host (the
agent's streaming server over a local runtime: commands run on this machine, port-forward
dials 127.0.0.1) registered as the node of pod default/p1. kubectl 1.27 and 1.33, default
transports and SPDY only: exec exit code, exec -i, port-forward to a local HTTP server. The
node's endpoint is plain HTTP on loopback, which the API server reaches after its TLS attempt.
usage: test_apiserver_host.py CKUBE STREAM_HOST"""
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from ckubetest import Fail, Server, expect, expect_in, free_port, kubectl_path, wait_for  # noqa: E402

WS_OFF = {"KUBECTL_REMOTE_COMMAND_WEBSOCKETS": "false", "KUBECTL_PORT_FORWARD_WEBSOCKETS": "false"}


def call(srv, method, path, obj):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (srv.pport, path), method=method,
                                 data=json.dumps(obj).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        body = b"hello-from-host\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def main():
    ckube, host_bin = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="ck-stream-host.")
    srv = Server(ckube, os.path.join(work, "data"))
    host = subprocess.Popen([host_bin], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    failures = []
    try:
        port = int(host.stdout.readline().split()[1])
        srv.start()
        node = call(srv, "POST", "/api/v1/nodes", {"metadata": {"name": "st-host"}})
        node["status"] = {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                          "daemonEndpoints": {"kubeletEndpoint": {"Port": port}}}
        call(srv, "PUT", "/api/v1/nodes/st-host/status", node)
        pod = call(srv, "POST", "/api/v1/namespaces/default/pods", {
            "metadata": {"name": "p1"},
            "spec": {"nodeName": "st-host", "containers": [{"name": "c1", "image": "none"}]}})
        pod["status"] = {"phase": "Running"}
        call(srv, "PUT", "/api/v1/namespaces/default/pods/p1/status", pod)
        env0 = dict(os.environ, KUBECONFIG=srv.kubeconfig)
        for v in ("1.27", "1.33"):
            for mode, extra in (("default", {}), ("spdy", WS_OFF)):
                env = dict(env0, **extra)
                k = kubectl_path(v)
                try:
                    p = subprocess.run([k, "exec", "p1", "--", "sh", "-c", "echo hi; exit 3"],
                                       capture_output=True, env=env, timeout=60)
                    expect(p.returncode == 3 and p.stdout == b"hi\n",
                           "exec: %d %r %r" % (p.returncode, p.stdout, p.stderr))
                    p = subprocess.run([k, "exec", "-i", "p1", "--", "cat"], input=b"x\n",
                                       capture_output=True, env=env, timeout=60)
                    expect(p.returncode == 0 and p.stdout == b"x\n",
                           "exec -i: %d %r %r" % (p.returncode, p.stdout, p.stderr))
                    lport = free_port()
                    pf = subprocess.Popen([k, "port-forward", "p1", "%d:%d" % (
                        lport, web.server_address[1])], stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, env=env)
                    try:
                        def page():
                            try:
                                with urllib.request.urlopen("http://127.0.0.1:%d/" % lport,
                                                            timeout=5) as r:
                                    return r.read().decode()
                            except OSError:
                                if pf.poll() is not None:
                                    raise Fail("port-forward exited: %s" % pf.stderr.read())
                                return None
                        expect_in("hello-from-host", wait_for("page", page, timeout=30))
                    finally:
                        pf.kill()
                        pf.wait()
                    print("ok   %s %s" % (v, mode), flush=True)
                except Exception as ex:  # noqa: BLE001
                    failures.append("%s %s: %s" % (v, mode, ex))
                    print("FAIL %s %s: %s" % (v, mode, ex), flush=True)
    finally:
        web.shutdown()
        host.stdin.close()
        host.wait(timeout=20)
        srv.stop()
    if failures:
        return 1
    subprocess.run(["rm", "-rf", work])
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
