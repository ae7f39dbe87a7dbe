# SPDX-License-Identifier: Apache-2.0
"""Front-end deviations real clients hit, against a fresh `ckube server` (with
--proxy-allow-loopback, so the proxy may reach the loopback backends this suite starts):

  413    request bodies over the limit on HTTP/2 are answered 413 at once (kubectl 1.27 and
         1.33 over h2 + TLS, curl --http2 with and without a content-length), not
         REFUSED_STREAM (which kubectl retried for minutes)
  imp    Impersonate-* headers (kubectl --as/--as-group, raw headers)
  proxy  services/pods/nodes proxy subresources (kubectl get --raw, kubectl proxy)

usage: httpfix.py CKUBE_BINARY"""

import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from ckubetest import Ctx, Fail, Server, expect, expect_in, free_port, kubectl_path  # noqa: E402

LIMIT = 3 << 20


class HxServer(Server):
    def start(self):  # Server.start with one more flag
        import re
        log = open(os.path.join(os.path.dirname(self.data_dir), "server.log"), "ab")
        self.proc = subprocess.Popen(
            [self.binary, "server", "--data-dir", self.data_dir, "--secure-port", str(self.sport),
             "--insecure-port", str(self.pport), "--proxy-allow-loopback"],
            stdout=subprocess.PIPE, stderr=log, text=True)
        m = re.match(r"export KUBECONFIG=(\S+)", self.proc.stdout.readline() or "")
        if not m:
            raise Fail("server did not print the kubeconfig line")
        self.kubeconfig = m.group(1)
        for _ in range(300):
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/readyz" % self.pport, timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise Fail("server not ready")

    def raw(self, method, path, body=None, headers=None, secure=False):
        """(status, headers, body bytes) from the plain port (or the secure one with the token)."""
        url = ("https://127.0.0.1:%d" % self.sport if secure else "http://127.0.0.1:%d" % self.pport) + path
        h = dict(headers or {})
        if secure:
            h.setdefault("Authorization", "Bearer " + self.token())
        req = urllib.request.Request(url, data=body, method=method, headers=h)
        ctx = ssl._create_unverified_context() if secure else None

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **k):
                return None
        opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=ctx))
        try:
            with opener.open(req, timeout=20) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def token(self):
        with open(os.path.join(self.data_dir, "token")) as f:
            return f.read().strip()


# ---------------------------------------------------------------- backends

class Echo(http.server.BaseHTTPRequestHandler):
    """Answers every method with JSON describing the request; /redir answers 302 to /target,
    /abs to an absolute URL on the backend itself."""

    def log_message(self, *a):
        pass

    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if self.path.startswith("/redir"):
            self.send_response(302)
            self.send_header("Location", "/target/x")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path.startswith("/abs"):
            self.send_response(302)
            self.send_header("Location", "http://%s/abs-target" % self.headers.get("Host"))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        out = json.dumps({"method": self.command, "path": self.path, "body": body.decode(),
                          "headers": {k.lower(): v for k, v in self.headers.items()},
                          "server": self.server.tag}).encode()
        self.send_response(207 if self.path.startswith("/status207") else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Backend", self.server.tag)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = answer


def backend(tag, tls_dir=None):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    srv.tag = tag
    if tls_dir:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(tls_dir, "apiserver.crt"), os.path.join(tls_dir, "apiserver.key"))
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


# ---------------------------------------------------------------- 413

def big_configmap_file(workdir, mib):
    p = os.path.join(workdir, "big-%d.txt" % mib)
    with open(p, "w") as f:
        line = "x" * 1023 + "\n"
        f.write(line * (mib * 1024))
    return p


def case_413_kubectl(c, srv, workdir):
    path = big_configmap_file(workdir, 9)
    t0 = time.time()
    p = c.k("create", "configmap", "huge-" + c.version.replace(".", ""), "--from-file=" + path, ok=False,
            timeout=60)
    dt = time.time() - t0
    expect(dt < 10, "kubectl %s took %.1f s to fail (REFUSED_STREAM retries?)" % (c.version, dt))
    expect_in("Request entity too large: limit is %d" % LIMIT, p.stderr, "stderr")
    # the connection stays usable and the object does not exist
    c.k("get", "configmap", "huge-" + c.version.replace(".", ""), ok=False)
    return "%.2f s" % dt


def curl_h2(srv, args, data_path=None, stdin=None):
    cmd = ["curl", "-sk", "--http2", "-o", "-", "-w", "\n%{http_code} %{http_version}",
           "-H", "Authorization: Bearer " + srv.token(), "-H", "Content-Type: application/json"] + args
    t0 = time.time()
    p = subprocess.run(cmd, input=stdin, capture_output=True, timeout=30)
    body, _, tail = p.stdout.rpartition(b"\n")
    return body.decode(errors="replace"), tail.decode(), time.time() - t0


def case_413_curl(srv, workdir):
    if not shutil.which("curl"):
        return "SKIP: no curl"
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c413"}, "data": {"a": "y" * (9 << 20)}}
    path = os.path.join(workdir, "c413.json")
    with open(path, "w") as f:
        json.dump(obj, f)
    url = "https://127.0.0.1:%d/api/v1/namespaces/default/configmaps" % srv.sport
    notes = []
    # declared content-length: refused before the body
    body, tail, dt = curl_h2(srv, ["--data-binary", "@" + path, url])
    expect(tail == "413 2", "curl h2 with content-length: %r %r" % (tail, body[:200]))
    st = json.loads(body)
    expect(st["reason"] == "RequestEntityTooLarge" and st["code"] == 413 and
           st["message"] == "Request entity too large: limit is %d" % LIMIT, "413 Status: %r" % st)
    notes.append("declared %.2fs" % dt)
    # no content-length (streamed upload): refused when the DATA frames cross the limit
    with open(path, "rb") as f:
        data = f.read()
    body, tail, dt = curl_h2(srv, ["-T", "-", "-X", "POST", url], stdin=data)
    expect(tail == "413 2", "curl h2 streamed: %r %r" % (tail, body[:200]))
    notes.append("streamed %.2fs" % dt)
    # 3 MiB exactly still passes the transport (the engine judges it)
    small = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c3m"},
                        "data": {"a": "z"}}).encode()
    small = small[:-2] + b" " * (LIMIT - len(small)) + small[-2:]
    body, tail, _ = curl_h2(srv, ["-T", "-", "-X", "POST", url], stdin=small)
    expect(tail.split()[0] in ("201", "422"), "exactly 3 MiB over h2: %r %r" % (tail, body[:200]))
    # anonymous big body: refused by authorization (403) before the body counts, not 413
    p = subprocess.run(["curl", "-sk", "--http2", "-o", "/dev/null", "-w", "%{http_code}",
                        "--data-binary", "@" + path, url], capture_output=True, timeout=30)
    expect(p.stdout == b"403", "anonymous big body: %r" % p.stdout)
    # the server is still healthy
    st, _, _ = srv.raw("GET", "/readyz")
    expect(st == 200, "readyz %d" % st)
    return ", ".join(notes)


# ---------------------------------------------------------------- impersonation

def case_imp_kubectl(c, srv, workdir):
    out = c.out("auth", "whoami", "--as=jane", "--as-group=devs", ns=False)
    expect_in("jane", out)
    expect_in("[devs system:authenticated]", out)
    out = c.out("auth", "whoami", "--as=system:serviceaccount:kube-system:builder", ns=False)
    expect_in("[system:serviceaccounts system:serviceaccounts:kube-system system:authenticated]", out)
    # system:anonymous may not create a SelfSubjectReview (system:basic-user is for the
    # authenticated), as upstream
    p = c.k("auth", "whoami", "--as=system:anonymous", ns=False, ok=False)
    expect_in("you do not have permission to call it", p.stderr)  # kubectl's text for a 403
    out = c.out("auth", "whoami", "-o", "json", "--as=jane", "--as-group=a", "--as-group=system:authenticated",
                ns=False)
    ui = json.loads(out)["status"]["userInfo"]
    expect(ui["username"] == "jane" and ui["groups"] == ["a", "system:authenticated"], "userInfo %r" % ui)
    # impersonating still reaches the API (admin may impersonate today)
    p = c.k("get", "configmaps", "--as=jane", ok=False)  # RBAC: jane holds no role
    expect_in('User "jane" cannot list resource "configmaps"', p.stderr)
    c.out("get", "configmaps", "--as=jane", "--as-group=system:masters")
    return "ok"


def whoami_raw(srv, headers, secure=True):
    body = json.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}).encode()
    return srv.raw("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", body,
                   dict(headers, **{"Content-Type": "application/json"}), secure=secure)


def case_imp_raw(srv):
    st, _, b = whoami_raw(srv, {"Impersonate-User": "bob", "Impersonate-Group": "g1"})
    expect(st == 201, "whoami as bob: %d %r" % (st, b))
    ui = json.loads(b)["status"]["userInfo"]
    expect(ui["username"] == "bob" and ui["groups"] == ["g1", "system:authenticated"], "bob %r" % ui)
    # groups without a user: upstream's plain-text 500
    st, h, b = whoami_raw(srv, {"Impersonate-Group": "g1"})
    expect(st == 500 and b"without impersonating a user" in b and b"{Group  g1    }" in b,
           "group without user: %d %r" % (st, b))
    expect(h.get("Content-Type", "").startswith("text/plain"), "content type %r" % h.get("Content-Type"))
    # no token: system:anonymous may not impersonate (403) on the API; a health check without
    # credentials does not run as anyone, so impersonating there is 401
    url = "https://127.0.0.1:%d" % srv.sport
    for path, code in (("/api/v1/namespaces", 403), ("/healthz", 401)):
        req = urllib.request.Request(url + path, headers={"Impersonate-User": "jane"})
        try:
            urllib.request.urlopen(req, context=ssl._create_unverified_context(), timeout=10)
            raise Fail("unauthenticated impersonation of %s accepted" % path)
        except urllib.error.HTTPError as e:
            expect(e.code == code, "unauthenticated impersonation %s: %d" % (path, e.code))
    # the plain port's user (system:admin) may impersonate too
    st, _, b = whoami_raw(srv, {"Impersonate-User": "carol"}, secure=False)
    expect(st == 201 and json.loads(b)["status"]["userInfo"]["username"] == "carol", "plain %d %r" % (st, b))
    # the impersonated user is who the engine sees (it records the creator's managers etc.)
    # ... and RBAC judges the impersonated user: dave holds no role
    st, _, b = srv.raw("GET", "/api/v1/namespaces/default", headers={"Impersonate-User": "dave"}, secure=True)
    expect(st == 403 and b'User \\"dave\\" cannot get resource \\"namespaces\\"' in b, "GET as dave: %d %r" % (st, b))
    st, _, b = srv.raw("GET", "/api/v1/namespaces/default",
                       headers={"Impersonate-User": "dave", "Impersonate-Group": "system:masters"}, secure=True)
    expect(st == 200, "GET as dave in system:masters: %d" % st)
    return "ok"


# ---------------------------------------------------------------- proxy

def setup_proxy_objects(srv, web_port, node_http_port, kubelet_port):
    ns = "/api/v1/namespaces/default"
    srv.post(ns + "/pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-0"},
                            "spec": {"containers": [{"name": "c", "image": "x",
                                                     "ports": [{"containerPort": web_port}]}]}})
    req = urllib.request.Request("http://127.0.0.1:%d%s/pods/web-0/status" % (srv.pport, ns), method="PATCH",
                                 data=json.dumps({"status": {"podIP": "127.0.0.1",
                                                             "podIPs": [{"ip": "127.0.0.1"}]}}).encode(),
                                 headers={"Content-Type": "application/merge-patch+json"})
    urllib.request.urlopen(req, timeout=10).read()
    srv.post(ns + "/services", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                                "spec": {"ports": [{"name": "http", "port": 8080, "targetPort": web_port}]}})
    srv.post(ns + "/endpoints", {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "web"},
                                 "subsets": [{"addresses": [{"ip": "127.0.0.1", "targetRef": {
                                     "kind": "Pod", "namespace": "default", "name": "web-0"}}],
                                              "ports": [{"name": "http", "port": web_port}]}]})
    srv.post(ns + "/services", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "empty"},
                                "spec": {"ports": [{"port": 80}]}})
    srv.post(ns + "/endpoints", {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "empty"}})
    # an Endpoints address that is no pod's IP is never a target (upstream's isValidAddress)
    srv.post(ns + "/services", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "stray"},
                                "spec": {"ports": [{"port": 80}]}})
    srv.post(ns + "/endpoints", {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "stray"},
                                 "subsets": [{"addresses": [{"ip": "127.0.0.1"}],
                                              "ports": [{"port": web_port}]}]})
    srv.post("/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
                               "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                                          "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}}}})


def case_proxy_raw(srv, web, kubelet, plain_node):
    ns = "/api/v1/namespaces/default"
    # services by port number, port name; pods with and without a port
    for path in (ns + "/services/web:8080/proxy/a/b?q=1&r=%2F", ns + "/services/web:http/proxy/a/b?q=1&r=%2F",
                 ns + "/services/http:web:8080/proxy/a/b?q=1&r=%2F", ns + "/pods/web-0/proxy/a/b?q=1&r=%2F",
                 ns + "/pods/web-0:%d/proxy/a/b?q=1&r=%%2F" % web.server_port):
        st, h, b = srv.raw("GET", path, headers={"X-Custom": "yes"}, secure=True)
        expect(st == 200, "GET %s: %d %r" % (path, st, b[:300]))
        got = json.loads(b)
        expect(got["path"] == "/a/b?q=1&r=%2F", "%s: backend saw %r" % (path, got["path"]))
        expect(got["headers"].get("x-custom") == "yes", "%s: custom header lost" % path)
        expect("authorization" not in got["headers"], "%s: Authorization forwarded" % path)
        expect(got["headers"].get("x-forwarded-for") == "127.0.0.1", "%s: X-Forwarded-For %r" % (
            path, got["headers"].get("x-forwarded-for")))
        expect(h.get("X-Backend") == "web" and h.get("Access-Control-Allow-Origin") is None,
               "%s: response headers %r" % (path, dict(h)))
    # any method, with a body; status codes pass through
    for m in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        st, _, b = srv.raw(m, ns + "/services/web:8080/proxy/status207", b"payload-" + m.encode(),
                           {"Content-Type": "text/plain", "Impersonate-User": "x",
                            "Impersonate-Group": "system:masters"}, secure=True)
        got = json.loads(b)
        expect(st == 207 and got["method"] == m and got["body"] == "payload-" + m,
               "%s via proxy: %d %r" % (m, st, got))
        expect("impersonate-user" not in got["headers"], "Impersonate-User forwarded")
    st, h, b = srv.raw("HEAD", ns + "/services/web:8080/proxy/x", secure=True)
    expect(st == 200 and b == b"", "HEAD %d %r" % (st, b))
    # Location: same-host paths go back under the proxy path
    st, h, _ = srv.raw("GET", ns + "/services/web:8080/proxy/redir", secure=True)
    expect(st == 302 and h["Location"] == ns + "/services/web:8080/proxy/target/x", "redirect %d %r" % (
        st, h.get("Location")))
    st, h, _ = srv.raw("GET", ns + "/pods/web-0/proxy/abs", secure=True)
    expect(st == 302 and h["Location"] == ns + "/pods/web-0/proxy/abs-target", "abs redirect %r" % h.get("Location"))
    # no trailing path: 301 to .../proxy/ (upstream's proxyRedirectsforRootPath)
    st, h, _ = srv.raw("GET", ns + "/services/web:8080/proxy?x=1", secure=True)
    expect(st == 301 and h["Location"] == ns + "/services/web:8080/proxy/?x=1", "root redirect %d %r" % (
        st, h.get("Location")))
    # errors, as upstream
    cases = [
        (ns + "/services/empty/proxy/", 503, "ServiceUnavailable", 'no endpoints available for service "empty"'),
        (ns + "/services/stray/proxy/", 503, "ServiceUnavailable", 'no endpoints available for service "stray"'),
        (ns + "/services/web:9999/proxy/", 503, "ServiceUnavailable", 'no service port 9999 found for service "web"'),
        (ns + "/services/web:nope/proxy/", 503, "ServiceUnavailable", 'no endpoints available for service "web:nope"'),
        (ns + "/services/missing/proxy/", 404, "NotFound", 'endpoints "missing" not found'),
        (ns + "/services/ftp:web:80/proxy/", 400, "BadRequest", 'invalid service request "ftp:web:80"'),
        (ns + "/pods/missing/proxy/", 404, "NotFound", 'pods "missing" not found'),
        (ns + "/pods/web-0:1/proxy/", 503, "ServiceUnavailable", "error trying to reach service"),
        ("/api/v1/nodes/n9/proxy/", 404, "NotFound", 'nodes "n9" not found'),
    ]
    for path, code, reason, msg in cases:
        st, _, b = srv.raw("GET", path, secure=True)
        s = json.loads(b)
        expect(st == code and s.get("reason") == reason and msg in s.get("message", ""),
               "%s: %d %r" % (path, st, s))
    # nodes: the kubelet port over https; another port with the given scheme
    st, _, b = srv.raw("GET", "/api/v1/nodes/n1/proxy/metrics", secure=True)
    expect(st == 200 and json.loads(b)["server"] == "kubelet", "node proxy: %d %r" % (st, b[:200]))
    st, _, b = srv.raw("GET", "/api/v1/nodes/http:n1:%d/proxy/x" % plain_node.server_port, secure=True)
    expect(st == 200 and json.loads(b)["server"] == "plain", "node http proxy: %d %r" % (st, b[:200]))
    return "ok"


def case_proxy_loopback_refused(binary, workdir):
    """Without --proxy-allow-loopback, loopback targets are refused as upstream does."""
    srv = Server(binary, os.path.join(workdir, "d2"))
    srv.start()
    try:
        srv.post("/api/v1/namespaces/default/pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "lo"},
                                                     "spec": {"containers": [{"name": "c", "image": "x"}]}})
        req = urllib.request.Request("http://127.0.0.1:%d/api/v1/namespaces/default/pods/lo/status" % srv.pport,
                                     method="PATCH", data=b'{"status":{"podIPs":[{"ip":"127.0.0.1"}]}}',
                                     headers={"Content-Type": "application/merge-patch+json"})
        urllib.request.urlopen(req, timeout=10).read()
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/api/v1/namespaces/default/pods/lo:80/proxy/" % srv.pport,
                                   timeout=10)
            raise Fail("loopback pod proxied")
        except urllib.error.HTTPError as e:
            s = json.loads(e.read())
            expect(e.code == 400 and s["message"] == "address not allowed", "loopback pod: %d %r" % (e.code, s))
    finally:
        srv.stop()
    return "ok"


def case_proxy_kubectl(c, srv, workdir):
    out = c.out("get", "--raw", "/api/v1/namespaces/default/services/web:8080/proxy/hello")
    expect(json.loads(out)["path"].split("?")[0] == "/hello", "get --raw: %r" % out)  # + ?timeout=30s
    p = c.k("get", "--raw", "/api/v1/namespaces/default/services/empty/proxy/", ok=False)
    expect_in("no endpoints available for service", p.stderr, "stderr")
    # kubectl proxy in front of the API server
    port = free_port()
    env = dict(c.env)
    proc = subprocess.Popen([c.kubectl, "proxy", "--port", str(port), "--address", "127.0.0.1"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        body = None
        for _ in range(100):
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/namespaces/default/pods/web-0/proxy/kp?z=1"
                                            % port, timeout=5) as r:
                    body = json.loads(r.read())
                    break
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
        expect(body is not None and body["path"] == "/kp?z=1", "kubectl proxy: %r" % body)
        req = urllib.request.Request("http://127.0.0.1:%d/api/v1/namespaces/default/services/web:http/proxy/p"
                                     % port, data=b"via-kubectl-proxy", method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            got = json.loads(r.read())
        expect(got["method"] == "POST" and got["body"] == "via-kubectl-proxy", "kubectl proxy POST %r" % got)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return "ok"


# ---------------------------------------------------------------- main

def case_warning_kubectl(c, srv, workdir):
    """Warning headers reach kubectl (one quoted-string after "299 - ", RFC 7234): a field
    kubectl does not validate client-side (--validate=false) comes back as the server's
    fieldValidation=Warn warning."""
    name = "warn-" + c.version.replace(".", "")
    path = os.path.join(workdir, name + ".yaml")
    with open(path, "w") as f:
        f.write("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\nbogus: 1\n" % name)
    p = c.k("create", "-f", path, "--validate=warn")
    expect_in('unknown field "bogus"', p.stderr, "stderr")
    return p.stderr.strip().splitlines()[0]


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    binary = os.path.abspath(sys.argv[1])
    workdir = tempfile.mkdtemp(prefix="ckube-httpfix-")
    srv = HxServer(binary, os.path.join(workdir, "d"))
    failed, results = 0, []
    backends = []
    try:
        srv.start()
        web = backend("web")
        plain_node = backend("plain")
        kubelet = backend("kubelet", tls_dir=srv.data_dir)
        backends = [web, plain_node, kubelet]
        setup_proxy_objects(srv, web.server_port, plain_node.server_port, kubelet.server_port)
        ctxs = []
        for v in ("1.27", "1.33"):
            kp = kubectl_path(v)
            if kp:
                wd = os.path.join(workdir, "k" + v)
                os.makedirs(wd)
                ctxs.append(Ctx(kp, srv, wd, "default"))
        cases = [("413.curl-h2", lambda: case_413_curl(srv, workdir)),
                 ("imp.raw", lambda: case_imp_raw(srv)),
                 ("proxy.raw", lambda: case_proxy_raw(srv, backends[0], backends[2], backends[1])),
                 ("proxy.loopback-refused", lambda: case_proxy_loopback_refused(binary, workdir))]
        for c in ctxs:
            cases += [("413.kubectl-" + c.version, lambda c=c: case_413_kubectl(c, srv, workdir)),
                      ("imp.kubectl-" + c.version, lambda c=c: case_imp_kubectl(c, srv, workdir)),
                      ("proxy.kubectl-" + c.version, lambda c=c: case_proxy_kubectl(c, srv, workdir)),
                      ("warning.kubectl-" + c.version, lambda c=c: case_warning_kubectl(c, srv, workdir))]
        if not ctxs:
            print("SKIP kubectl cases: no kubectl 1.27/1.33 in /usr/lib/google-cloud-sdk/bin")
        for name, fn in cases:
            t0 = time.time()
            try:
                note = fn()
                results.append("PASS %-26s %5.1fs  %s" % (name, time.time() - t0, note))
            except Exception as e:  # noqa: BLE001 - report every failure, keep going
                failed += 1
                results.append("FAIL %-26s %5.1fs  %s" % (name, time.time() - t0, e))
            print(results[-1], flush=True)
        srv.stop()
    finally:
        for b in backends:
            b.shutdown()
        if srv.proc and srv.proc.poll() is None:
            srv.proc.kill()
        if failed:
            print("server log kept in %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print("%d failed, %d passed" % (failed, len(results) - failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
