#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A real pod's projected service-account token (root; crun, CNI and a local registry):
`ckube server --agent --scheduler --controllers` runs a busybox pod whose projected volume
holds, as upstream's ServiceAccount admission plugin writes it, a serviceAccountToken
(expirationSeconds 3607), kube-root-ca.crt's ca.crt and the downward API namespace. The pod
prints the three files; the test checks the token's claims (bound to this pod and its node,
the API server's audience, a year's life with warnafter at 3607 s, as the kubelet's request
gets), calls the API over HTTPS with it (SelfSubjectReview names the pod's service account,
TokenReview carries the pod-name/pod-uid extras), sees the same token after a resync (the
token manager's cache), and sees it refused once the pod is deleted. Exit 77 = SKIP.

usage: pod_token.py CKUBE_BIN"""

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
from ckubetest import Ctx, Fail, Server, expect, expect_in, kubectl_path, wait_for  # noqa: E402
from test_satoken import ISSUER, Api, claims  # noqa: E402

NS = "satoken-pod"
MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


def start_registry(work):
    lib = os.path.join(HERE, "..", "lib", "registry.sh")
    p = subprocess.run(["bash", "-c", '. "%s" && registry_start "%s" && registry_push_busybox '
                        'satoken/busybox:1 && echo "$REGISTRY_ADDR $REGISTRY_PID"'
                        % (lib, os.path.join(work, "reg"))],
                       capture_output=True, text=True, timeout=120)
    out = (p.stdout + p.stderr).strip()
    if "SKIP" in out:
        skip(out)
    if p.returncode != 0 or not p.stdout.strip():
        raise Fail("registry: %s" % out)
    addr, pid = p.stdout.split()[-2:]
    return addr + "/satoken/busybox:1", int(pid)


def pod_manifest(image):
    # upstream's kube-api-access-<rand> volume, as the ServiceAccount admission plugin adds it
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "reader", "namespace": NS},
        "spec": {
            "serviceAccountName": "default", "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 1,
            "containers": [{
                "name": "c", "image": image, "imagePullPolicy": "IfNotPresent",
                "command": ["sh", "-c", "cat %s/token; echo; cat %s/namespace; echo; "
                            "head -1 %s/ca.crt; sleep 3600" % (MOUNT, MOUNT, MOUNT)],
                "volumeMounts": [{"name": "kube-api-access-satok", "mountPath": MOUNT,
                                  "readOnly": True}]}],
            "volumes": [{"name": "kube-api-access-satok", "projected": {
                "defaultMode": 420,
                "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt",
                                   "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                        "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}}]}}


def run(c, srv, api, image):
    srv.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                    "metadata": {"name": NS}})
    for what in ("serviceaccounts/default", "configmaps/kube-root-ca.crt"):
        wait_for(what, lambda: c.k("get", what.split("/")[0], what.split("/")[1],
                                   ok=None).returncode == 0, timeout=30, step=0.5)
    c.k("create", "-f", c.file(json.dumps(pod_manifest(image))))

    def lines():
        p = c.k("logs", "reader", ok=None)
        ls = p.stdout.splitlines() if p.returncode == 0 else []
        return ls if len(ls) >= 3 else None
    out = wait_for("the pod's output", lines, timeout=120, step=1)
    tok, ns, ca = out[0], out[1], out[2]
    expect(ns == NS, "namespace file %r" % ns)
    expect(ca == "-----BEGIN CERTIFICATE-----", "ca.crt starts with %r" % ca)
    pod = json.loads(c.out("get", "pod", "reader", "-o", "json"))
    cl = claims(tok)
    k8s = cl["kubernetes.io"]
    expect(k8s["pod"] == {"name": "reader", "uid": pod["metadata"]["uid"]}, "pod claim %r" % k8s)
    expect(k8s.get("node", {}).get("name") == pod["spec"]["nodeName"], "node claim %r" % k8s)
    expect(cl["aud"] == [ISSUER], "aud %r" % cl["aud"])
    expect(cl["exp"] - cl["iat"] == 365 * 24 * 3600, "lifetime %d" % (cl["exp"] - cl["iat"]))
    expect(k8s.get("warnafter") == cl["iat"] + 3607, "warnafter %r" % k8s.get("warnafter"))

    who = api.whoami(tok)
    expect(who["username"] == "system:serviceaccount:%s:default" % NS, "whoami %r" % who)
    path = c.file(json.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                              "spec": {"token": tok}}))
    rv = json.loads(c.out("create", "-f", path, "-o", "json", ns=False))["status"]
    extra = rv.get("user", {}).get("extra", {})
    expect(extra.get("authentication.kubernetes.io/pod-name") == ["reader"], "extras %r" % rv)
    expect(extra.get("authentication.kubernetes.io/pod-uid") == [pod["metadata"]["uid"]],
           "extras %r" % rv)

    # a resync (projected volumes are resynced every 10 s) keeps the cached token
    time.sleep(12)
    p = c.k("exec", "reader", "--", "cat", MOUNT + "/token")
    expect(p.stdout.strip() == tok, "the token changed on resync")

    c.k("delete", "pod", "reader", "--wait=true", "--timeout=60s", timeout=90)
    wait_for("the token to die with its pod", lambda: api.status("/version", tok) == 401,
             timeout=10)


def main():
    if os.geteuid() != 0:
        skip("needs root (crun, CNI, network namespaces)")
    for tool in ("crun", "nft"):
        if not shutil.which(tool):
            skip(tool + " not installed")
    if not os.path.exists("/usr/lib/cni/bridge"):
        skip("CNI plugins not installed (/usr/lib/cni)")
    kc = kubectl_path("1.33") or "/usr/bin/kubectl"
    work = tempfile.mkdtemp(prefix="ck-satoken-pod-")
    reg_pid = None
    srv = None
    failed = False
    try:
        image, reg_pid = start_registry(work)
        data = os.path.join(work, "data")
        srv = Server(os.path.abspath(sys.argv[1]), data, ["--agent", "--scheduler", "--controllers"])
        srv.start()
        node = socket.gethostname()
        c = Ctx(kc, srv, work, NS)
        wait_for("node %s Ready" % node, lambda: "True" in c.k(
            "get", "node", node, "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
            ok=None, ns=False).stdout, timeout=60, step=0.5)
        run(c, srv, Api(srv, data), image)
        print("ok pod_token")
    except Fail as e:
        failed = True
        print("FAIL: %s" % e)
    finally:
        if srv and srv.proc and srv.proc.poll() is None:
            subprocess.run([kc, "--kubeconfig", srv.kubeconfig, "-n", NS, "delete", "pods", "--all",
                            "--grace-period=1", "--wait=true", "--timeout=60s"],
                           capture_output=True, timeout=90)
            try:
                srv.proc.send_signal(signal.SIGTERM)
                srv.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                srv.proc.kill()
                srv.proc.wait()
        if reg_pid:
            try:
                os.kill(reg_pid, signal.SIGTERM)
            except OSError:
                pass
        if failed:
            print("logs kept in %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
