# SPDX-License-Identifier: Apache-2.0
"""Shared helpers of the Python test suites: a fresh `ckube server` on free ports (Server),
one kubectl binary against it in its own namespace (Ctx), free_port, and expect helpers.

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
    from ckubetest import Server, Ctx, Fail, expect, expect_in

New suites import this instead of carrying their own copy."""

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request

KUBECTL_DIR = "/usr/lib/google-cloud-sdk/bin"


def kubectl_path(version):
    """The preinstalled kubectl of a minor version ("1.33"), or None when missing."""
    p = os.path.join(KUBECTL_DIR, "kubectl." + version)
    return p if os.access(p, os.X_OK) else None


class Fail(Exception):
    pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_for(what, fn, timeout=30, step=0.1):
    """Calls fn until it returns something true (returned) or timeout seconds pass (Fail,
    naming `what` and fn's last answer)."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(step)
    raise Fail("timed out waiting for %s (last: %r)" % (what, last))


class Server:
    def __init__(self, binary, data_dir, extra_args=()):
        self.binary, self.data_dir = binary, data_dir
        self.extra_args = list(extra_args)  # e.g. ["--agent-hollow", "1", "--scheduler"]
        self.sport, self.pport = free_port(), free_port()
        self.proc = None
        self.kubeconfig = None

    def start(self):
        log = open(os.path.join(os.path.dirname(self.data_dir), "server.log"), "ab")
        self.proc = subprocess.Popen(
            [self.binary, "server", "--data-dir", self.data_dir, "--secure-port", str(self.sport),
             "--insecure-port", str(self.pport)] + self.extra_args,
            stdout=subprocess.PIPE, stderr=log, text=True)
        line = self.proc.stdout.readline()
        m = re.match(r"export KUBECONFIG=(\S+)", line or "")
        if not m:
            raise Fail("server did not print the kubeconfig line, got %r (see server.log)" % line)
        self.kubeconfig = m.group(1)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/readyz" % self.pport, timeout=2) as r:
                    if r.status == 200 and r.read() == b"ok":
                        return
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise Fail("server exited with %s" % self.proc.returncode)
            time.sleep(0.1)
        raise Fail("server not ready after 30 s")

    def post(self, path, obj):
        """Setup writes go straight to the plain port, independent of kubectl."""
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.pport, path), method="POST",
                                     data=json.dumps(obj).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            if r.status != 201:
                raise Fail("POST %s: %d" % (path, r.status))

    def get_json(self, path):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.pport, path), timeout=10) as r:
            return json.loads(r.read())

    def watch_lines(self, path, want, timeout=10):
        """Reads watch events from the plain port until `want` returns True for one (or an
        ERROR event arrives); returns the events read."""
        events = []
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.pport, path), timeout=timeout) as r:
            for line in r:
                ev = json.loads(line)
                events.append(ev)
                if ev.get("type") == "ERROR" or want(ev):
                    break
        return events

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise Fail("server did not exit within 15 s of SIGTERM")
            if self.proc.returncode != 0:
                raise Fail("server exited %d after SIGTERM" % self.proc.returncode)


class Ctx:
    """One kubectl binary against the server, in its own namespace."""

    def __init__(self, kubectl, server, workdir, ns):
        self.kubectl, self.server, self.workdir, self.ns = kubectl, server, workdir, ns
        self.env = dict(os.environ, HOME=workdir, KUBECONFIG=server.kubeconfig)
        self.env.pop("KUBE_EDITOR", None)
        self.n = 0
        m = re.search(r"(\d+\.\d+)$", os.path.basename(kubectl))
        self.version = m.group(1) if m else "default"

    def k(self, *args, ok=True, stdin=None, env=None, timeout=60, ns=True):
        cmd = [self.kubectl, "--request-timeout=30s", "--cache-dir",
               os.path.join(self.workdir, "cache")]
        if ns:
            cmd += ["-n", self.ns]
        cmd += list(args)
        e = dict(self.env, **(env or {}))
        p = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=e, timeout=timeout)
        if ok and p.returncode != 0:
            raise Fail("%s\n  rc=%d\n  stdout: %s\n  stderr: %s" % (" ".join(cmd[1:]), p.returncode,
                                                                 p.stdout.strip(), p.stderr.strip()))
        if ok is False and p.returncode == 0:
            raise Fail("%s: expected failure, got success:\n  %s" % (" ".join(cmd[1:]), p.stdout.strip()))
        return p

    def out(self, *args, **kw):
        return self.k(*args, **kw).stdout

    def file(self, text):
        self.n += 1
        path = os.path.join(self.workdir, "m%d.yaml" % self.n)
        with open(path, "w") as f:
            f.write(text)
        return path

    def mk_cm(self, name, data=None, labels=None, finalizers=None):
        """Setup objects go straight to the API (plain port) so a case tests one verb only."""
        meta = {"name": name, "namespace": self.ns}
        if labels:
            meta["labels"] = labels
        if finalizers:
            meta["finalizers"] = finalizers
        self.server.post("/api/v1/namespaces/%s/configmaps" % self.ns,
                         {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data or {}})

    def mk_deploy(self, name, image="nginx:1.25"):
        self.server.post("/apis/apps/v1/namespaces/%s/deployments" % self.ns, {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": self.ns},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}}})

    def jsonpath(self, obj, path):
        return self.out("get", obj, "-o", "jsonpath={%s}" % path)


def expect(cond, msg):
    if not cond:
        raise Fail(msg)


def expect_in(needle, hay, what="output"):
    if needle not in hay:
        raise Fail("expected %r in %s:\n%s" % (needle, what, hay))


def expect_re(pat, hay, what="output"):
    if not re.search(pat, hay, re.M):
        raise Fail("expected /%s/ in %s:\n%s" % (pat, what, hay))
