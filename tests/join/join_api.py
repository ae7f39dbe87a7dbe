#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The API side of joining a node, against a real `ckube server --controllers` over HTTPS
(Python's ssl with client certificates, openssl for keys and requests, kubectl 1.33):

- the join command (printed, and in <data-dir>/join-command) carries a bootstrap token and the
  sha256 of the CA's SubjectPublicKeyInfo (checked against openssl's);
- the bootstrap token authenticates as system:bootstrap:<id>, may read /version and list CSRs,
  and is refused pods with upstream's 403 message; an expired token, a wrong secret, a token
  not marked for authentication and a bad extra group get 401;
- a kubelet client CSR it creates is approved (AutoApproved, upstream's message) and signed
  within seconds; the issued certificate authenticates as system:node:<name> in system:nodes
  (SelfSubjectReview) and lists nodes; the node renews its own certificate (the "self"
  message) but gets no certificate for another node;
- a certificate from another CA gets 401; kube-public/cluster-info is readable anonymously and
  carries the token's JWS; everything else anonymous gets 403 (RBAC);
- `kubectl certificate approve/deny` on other CSRs: approved kube-apiserver-client CSRs are
  signed (expirationSeconds honoured, at least 10 min), denied ones are not, a kubelet-serving
  CSR without SANs fails with SignerValidationFailure; `kubectl get csr` prints its columns;
- `ckube token create --print-join-command` makes a token that authenticates;
- a restarted server keeps its token and renews its expiration; --bootstrap-token replaces it.

Every object this test creates is named jx-*; the data dir is a temp dir.

usage: join_api.py CKUBE_BIN"""

import base64
import hashlib
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from ckubetest import Ctx, Fail, Server, expect, expect_in, kubectl_path, wait_for  # noqa: E402

CSR_PATH = "/apis/certificates.k8s.io/v1/certificatesigningrequests"


class Api:
    """HTTPS to the server as one identity: a bearer token, a client certificate, or nobody."""

    def __init__(self, srv, token=None, cert=None, key=None):
        self.base = "https://127.0.0.1:%d" % srv.sport
        self.ctx = ssl.create_default_context(cafile=os.path.join(srv.data_dir, "ca.crt"))
        if cert:
            self.ctx.load_cert_chain(cert, key)
        self.token = token

    def call(self, method, path, body=None):
        h = {"Accept": "application/json"}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        req = urllib.request.Request(self.base + path, method=method, data=data, headers=h)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=15) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, {"raw": raw.decode(errors="replace")}


def run(*cmd, stdin=None):
    p = subprocess.run(list(cmd), input=stdin, capture_output=True, timeout=60)
    if p.returncode != 0:
        raise Fail("%s: rc=%d %s" % (" ".join(cmd), p.returncode, p.stderr.decode()))
    return p.stdout


def new_key(path):
    run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", path)


def new_csr(key, subj, sans=None):
    cmd = ["openssl", "req", "-new", "-key", key, "-subj", subj]
    if sans:
        cmd += ["-addext", "subjectAltName=" + sans]
    return run(*cmd)


def csr_obj(name, pem, signer, usages, expiration=None):
    spec = {"request": base64.b64encode(pem).decode(), "signerName": signer, "usages": usages}
    if expiration:
        spec["expirationSeconds"] = expiration
    return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"name": name}, "spec": spec}


def expect_status(got, code, what, message=None):
    status, body = got
    expect(status == code, "%s: want %d, got %d %s" % (what, code, status, body))
    if message is not None:
        expect(body.get("message") == message,
               "%s: message\n  want %r\n  got  %r" % (what, message, body.get("message")))
    if code >= 400:
        expect(body.get("kind") == "Status" and body.get("code") == code,
               "%s: not a Status: %s" % (what, body))


def conditions(obj):
    return {c["type"]: c for c in obj.get("status", {}).get("conditions", [])}


def wait_issued(api, name, timeout=15):
    def issued():
        st, obj = api.call("GET", CSR_PATH + "/" + name)
        return obj if st == 200 and obj.get("status", {}).get("certificate") else None
    return wait_for("certificate of csr " + name, issued, timeout, 0.2)


def write_cert(obj, path):
    with open(path, "wb") as f:
        f.write(base64.b64decode(obj["status"]["certificate"]))


def cert_text(path):
    return run("openssl", "x509", "-in", path, "-noout", "-subject", "-dates", "-ext",
               "keyUsage,extendedKeyUsage,basicConstraints").decode()


def whoami(api):
    st, r = api.call("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                     {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
    expect(st == 201 or st == 200, "selfsubjectreview: %d %s" % (st, r))
    return r["status"]["userInfo"]


def b64(s):
    return base64.b64encode(s.encode()).decode()


def token_secret(tid, secret, **extra):
    data = {"token-id": tid, "token-secret": secret, "usage-bootstrap-authentication": "true"}
    data.update(extra)
    return {"apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
            "metadata": {"name": "bootstrap-token-" + tid, "namespace": "kube-system"},
            "data": {k: b64(v) for k, v in data.items() if v is not None}}


def case_join_command(srv, tmp):
    path = os.path.join(srv.data_dir, "join-command")
    wait_for("join-command", lambda: os.path.exists(path), 15, 0.1)  # written after the kubeconfig
    with open(path) as f:
        line = f.read().strip()
    m = re.fullmatch(r"ckube agent --server https://127\.0\.0\.1:%d --token ([a-z0-9]{6})\.([a-z0-9]{16}) "
                     r"--ca-cert-hash sha256:([0-9a-f]{64})" % srv.sport, line)
    expect(m, "join-command: %r" % line)
    der = run("openssl", "pkey", "-pubin", "-outform", "der",
              stdin=run("openssl", "x509", "-pubkey", "-noout", "-in",
                        os.path.join(srv.data_dir, "ca.crt")))
    expect(hashlib.sha256(der).hexdigest() == m.group(3), "CA hash differs from openssl's")
    with open(os.path.join(srv.data_dir, "bootstrap-token")) as f:
        expect(f.read().strip() == m.group(1) + "." + m.group(2), "bootstrap-token file")
    expect(os.stat(os.path.join(srv.data_dir, "bootstrap-token")).st_mode & 0o077 == 0,
           "bootstrap-token is not 0600")
    return m.group(1), m.group(1) + "." + m.group(2)


def case_bootstrap_authz(srv, tid, tok):
    api = Api(srv, token=tok)
    st, v = api.call("GET", "/version")
    expect(st == 200 and v.get("major") == "1", "bootstrap /version: %d %s" % (st, v))
    expect_status(api.call("GET", CSR_PATH), 200, "bootstrap lists CSRs")
    expect_status(api.call("GET", "/api/v1/pods"), 403, "bootstrap lists pods",
                  'pods is forbidden: User "system:bootstrap:%s" cannot list resource "pods" in '
                  'API group "" at the cluster scope' % tid)
    expect_status(api.call("GET", "/api/v1/namespaces/default/secrets/x"), 403, "bootstrap gets a secret",
                  'secrets "x" is forbidden: User "system:bootstrap:%s" cannot get resource '
                  '"secrets" in API group "" in the namespace "default"' % tid)
    expect_status(api.call("DELETE", CSR_PATH + "/jx-none"), 403, "bootstrap deletes a CSR")
    expect_status(api.call("GET", "/metrics"), 403, "bootstrap /metrics",
                  'forbidden: User "system:bootstrap:%s" cannot get path "/metrics"' % tid)
    who = whoami(api)
    expect(who["username"] == "system:bootstrap:" + tid and
           who["groups"] == ["system:bootstrappers", "system:bootstrappers:kubeadm:default-node-token",
                             "system:authenticated"], "bootstrap identity: %s" % who)


def case_bad_tokens(srv):
    admin = Api(srv, token=open(os.path.join(srv.data_dir, "token")).read().strip())
    past = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    future = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    cases = [
        ("jxexp1", "0123456789abcdef", {"expiration": past}, "expired"),
        ("jxbad2", "0123456789abcdef", {"expiration": "tomorrow"}, "unparseable expiration"),
        ("jxnau3", "0123456789abcdef", {"usage-bootstrap-authentication": "false"}, "no usage"),
        ("jxgrp4", "0123456789abcdef", {"auth-extra-groups": "system:masters"}, "bad extra group"),
    ]
    for tid, sec, extra, what in cases:
        expect_status(admin.call("POST", "/api/v1/namespaces/kube-system/secrets",
                                 token_secret(tid, sec, **extra)), 201, "create " + what)
        expect_status(Api(srv, token=tid + "." + sec).call("GET", "/version"), 401, what,
                      "Unauthorized")
    good = token_secret("jxgood", "0123456789abcdef", expiration=future,
                        **{"auth-extra-groups": "system:bootstrappers:jx,system:bootstrappers:jx"})
    expect_status(admin.call("POST", "/api/v1/namespaces/kube-system/secrets", good), 201, "good token")
    who = whoami(Api(srv, token="jxgood.0123456789abcdef"))
    expect(who["groups"] == ["system:bootstrappers", "system:bootstrappers:jx", "system:authenticated"],
           "extra groups: %s" % who)
    expect_status(Api(srv, token="jxgood.0123456789abcdeX").call("GET", "/version"), 401, "wrong secret")
    expect_status(Api(srv, token="jxgood.0123456789abcdee").call("GET", "/version"), 401, "wrong secret")
    expect_status(Api(srv, token="jxnone.0123456789abcdef").call("GET", "/version"), 401, "no secret")
    expect_status(Api(srv, token="not-a-token").call("GET", "/api/v1/pods"), 401, "unknown token")


def case_node_csr(srv, tmp, tok):
    boot = Api(srv, token=tok)
    key = os.path.join(tmp, "node.key")
    new_key(key)
    pem = new_csr(key, "/O=system:nodes/CN=system:node:jx-node")
    t0 = time.time()
    expect_status(boot.call("POST", CSR_PATH, csr_obj("jx-node-1", pem, "kubernetes.io/kube-apiserver-client-kubelet",
                                                      ["digital signature", "key encipherment", "client auth"])),
                  201, "bootstrap creates a CSR")
    obj = wait_issued(boot, "jx-node-1")
    expect(time.time() - t0 < 10, "signed after %.1f s" % (time.time() - t0))
    c = conditions(obj).get("Approved", {})
    expect(c.get("status") == "True" and c.get("reason") == "AutoApproved" and
           c.get("message") == "Auto approving kubelet client certificate after SubjectAccessReview.",
           "approval condition: %s" % c)
    expect(obj["spec"]["username"] == "system:bootstrap:" + tok[:6], "requestor: %s" % obj["spec"])
    crt = os.path.join(tmp, "node.crt")
    write_cert(obj, crt)
    text = cert_text(crt)
    expect_in("CN = system:node:jx-node", text)
    expect_in("TLS Web Client Authentication", text)
    expect_in("CA:FALSE", text)
    node = Api(srv, cert=crt, key=key)
    who = whoami(node)
    expect(who["username"] == "system:node:jx-node" and who["groups"] == ["system:nodes", "system:authenticated"],
           "node identity: %s" % who)
    st, nodes = node.call("GET", "/api/v1/nodes")
    expect(st == 200 and nodes.get("kind") == "NodeList", "node lists nodes: %d %s" % (st, nodes))
    # renewal: the node asks for itself -> the "self" approval
    key2 = os.path.join(tmp, "node2.key")
    new_key(key2)
    expect_status(node.call("POST", CSR_PATH, csr_obj("jx-node-renew", new_csr(key2, "/O=system:nodes/CN=system:node:jx-node"),
                                                      "kubernetes.io/kube-apiserver-client-kubelet",
                                                      ["digital signature", "client auth"])), 201, "renewal CSR")
    obj = wait_issued(node, "jx-node-renew")
    expect(conditions(obj)["Approved"]["message"] ==
           "Auto approving self kubelet client certificate after SubjectAccessReview.", "renewal message")
    # a node asking for another node's certificate is not approved
    expect_status(node.call("POST", CSR_PATH, csr_obj("jx-node-other", new_csr(key2, "/O=system:nodes/CN=system:node:jx-other"),
                                                      "kubernetes.io/kube-apiserver-client-kubelet",
                                                      ["digital signature", "client auth"])), 201, "other CSR")
    # a bootstrap CSR that is not a kubelet client request (extra O) stays pending
    expect_status(boot.call("POST", CSR_PATH, csr_obj("jx-node-bad", new_csr(key2, "/O=system:masters/CN=system:node:jx-node"),
                                                      "kubernetes.io/kube-apiserver-client-kubelet",
                                                      ["digital signature", "client auth"])), 201, "bad CSR")
    time.sleep(3)
    for name in ("jx-node-other", "jx-node-bad"):
        st, obj = node.call("GET", CSR_PATH + "/" + name)
        expect(st == 200 and not conditions(obj) and not obj["status"].get("certificate"),
               "%s should stay pending: %s" % (name, obj.get("status")))
    # a certificate from another CA is not accepted, even with system:masters in it
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", os.path.join(tmp, "evil.key"), "-out", os.path.join(tmp, "evil.crt"),
        "-subj", "/O=system:masters/CN=jx-evil", "-days", "1")
    expect_status(Api(srv, cert=os.path.join(tmp, "evil.crt"), key=os.path.join(tmp, "evil.key"))
                  .call("GET", "/api/v1/nodes"), 401, "foreign certificate", "Unauthorized")


def case_anonymous(srv, tid, tok):
    anon = Api(srv)
    st, cm = anon.call("GET", "/api/v1/namespaces/kube-public/configmaps/cluster-info")
    expect(st == 200, "anonymous cluster-info: %d %s" % (st, cm))
    kc = cm["data"]["kubeconfig"]
    expect_in("server: https://127.0.0.1:%d" % srv.sport, kc)
    jws = cm["data"].get("jws-kubeconfig-" + tid, "")
    h, _, s = jws.partition("..")
    expect(h and s, "no detached JWS for %s: %r" % (tid, jws))
    import hmac
    enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=")  # noqa: E731
    mac = hmac.new(tok.split(".")[1].encode(), h.encode() + b"." + enc(kc.encode()), hashlib.sha256).digest()
    expect(enc(mac).decode() == s, "JWS signature does not verify with the token")
    # anything else is refused by RBAC (system:anonymous is authenticated, as upstream's
    # --anonymous-auth; kubeadm's role grants only the cluster-info ConfigMap)
    expect_status(anon.call("GET", "/api/v1/namespaces/kube-public/configmaps"), 403, "anonymous list")
    expect_status(anon.call("GET", "/api/v1/pods"), 403, "anonymous pods")


def case_kubectl(srv, tmp, c):
    key = os.path.join(tmp, "user.key")
    new_key(key)
    for name, subj, signer, usages, exp in [
            ("jx-alice", "/CN=jx-alice/O=jx-devs", "kubernetes.io/kube-apiserver-client", ["client auth"], 600),
            ("jx-bob", "/CN=jx-bob", "kubernetes.io/kube-apiserver-client", ["client auth"], None),
            ("jx-serve", "/O=system:nodes/CN=system:node:jx-node", "kubernetes.io/kubelet-serving",
             ["digital signature", "server auth"], None)]:
        obj = csr_obj(name, new_csr(key, subj), signer, usages, exp)
        c.k("create", "-f", c.file(json.dumps(obj)), ns=False)
    out = c.out("get", "csr", ns=False)
    expect(re.search(r"^NAME\s+AGE\s+SIGNERNAME\s+REQUESTOR\s+REQUESTEDDURATION\s+CONDITION\s*$", out, re.M),
           "kubectl get csr columns:\n" + out)
    expect(re.search(r"^jx-alice\s+\S+\s+kubernetes.io/kube-apiserver-client\s+kubernetes-admin\s+10m\s+Pending\s*$",
                     out, re.M), "jx-alice row:\n" + out)
    c.k("certificate", "approve", "jx-alice", "jx-serve", ns=False)
    c.k("certificate", "deny", "jx-bob", ns=False)
    admin = Api(srv, token=open(os.path.join(srv.data_dir, "token")).read().strip())
    obj = wait_issued(admin, "jx-alice")
    crt = os.path.join(tmp, "alice.crt")
    write_cert(obj, crt)
    dates = run("openssl", "x509", "-in", crt, "-noout", "-startdate", "-enddate").decode()
    nb = ssl.cert_time_to_seconds(re.search(r"notBefore=(.*)", dates).group(1))
    na = ssl.cert_time_to_seconds(re.search(r"notAfter=(.*)", dates).group(1))
    expect(abs((na - nb) - 900) <= 2, "600 s requested: 10 min + 5 min backdate, got %d s" % (na - nb))
    who = whoami(Api(srv, cert=crt, key=key))
    expect(who["username"] == "jx-alice" and who["groups"] == ["jx-devs", "system:authenticated"],
           "alice identity: %s" % who)

    def failed():
        st, o = admin.call("GET", CSR_PATH + "/jx-serve")
        return conditions(o).get("Failed")
    f = wait_for("jx-serve Failed", failed, 15, 0.2)
    expect(f.get("reason") == "SignerValidationFailure" and f.get("message") == "DNS or IP subjectAltName is required",
           "jx-serve failure: %s" % f)
    time.sleep(1)
    st, bob = admin.call("GET", CSR_PATH + "/jx-bob")
    expect("Denied" in conditions(bob) and not bob["status"].get("certificate"), "jx-bob: %s" % bob["status"])
    out = c.out("get", "csr", ns=False)
    expect(re.search(r"^jx-alice\s.*Approved,Issued\s*$", out, re.M) and
           re.search(r"^jx-bob\s.*Denied\s*$", out, re.M) and
           re.search(r"^jx-serve\s.*Approved,Failed\s*$", out, re.M), "conditions:\n" + out)


def case_token_create(binary, srv, c):
    p = subprocess.run([binary, "token", "create", "--kubeconfig", srv.kubeconfig, "--ttl", "1h",
                        "--print-join-command"], capture_output=True, text=True, timeout=30)
    expect(p.returncode == 0, "token create: %s" % p.stderr)
    m = re.fullmatch(r"ckube agent --server https://127\.0\.0\.1:%d --token ([a-z0-9]{6}\.[a-z0-9]{16}) "
                     r"--ca-cert-hash sha256:[0-9a-f]{64}\n" % srv.sport, p.stdout)
    expect(m, "token create output: %r" % p.stdout)
    who = whoami(Api(srv, token=m.group(1)))
    expect(who["username"] == "system:bootstrap:" + m.group(1)[:6], "new token identity: %s" % who)
    exp = c.out("get", "secret", "-n", "kube-system", "bootstrap-token-" + m.group(1)[:6],
                "-o", "jsonpath={.data.expiration}", ns=False)
    left = time.mktime(time.strptime(base64.b64decode(exp).decode(), "%Y-%m-%dT%H:%M:%SZ")) - time.mktime(time.gmtime())
    expect(3500 < left <= 3600, "--ttl 1h: expiration %ds away" % left)


def case_restart(binary, srv, tmp, tok):
    """A restarted server keeps its token (renewing the expiration to 24 h); --bootstrap-token
    replaces it."""
    srv.stop()
    srv2 = Server(binary, srv.data_dir, ["--controllers"])
    try:
        srv2.start()
        path = os.path.join(srv.data_dir, "join-command")

        def rewritten():
            line = open(path).read() if os.path.exists(path) else ""
            return line if ":%d " % srv2.sport in line else None
        line = wait_for("join-command of the restarted server", rewritten, 15, 0.1)
        expect(" --token %s " % tok in line, "restart changed the token: %r" % line)
        admin = Api(srv2, token=open(os.path.join(srv.data_dir, "token")).read().strip())
        st, sec = admin.call("GET", "/api/v1/namespaces/kube-system/secrets/bootstrap-token-" + tok[:6])
        exp = base64.b64decode(sec["data"]["expiration"]).decode()
        left = time.mktime(time.strptime(exp, "%Y-%m-%dT%H:%M:%SZ")) - time.mktime(time.gmtime())
        expect(86400 - 120 < left <= 86400, "expiration %s is %ds away" % (exp, left))
        expect_status(Api(srv2, token=tok).call("GET", CSR_PATH), 200, "token after restart")
    finally:
        srv2.stop()
    given = "jxgivn.abcdefghij012345"
    srv3 = Server(binary, srv.data_dir, ["--bootstrap-token", given])
    try:
        srv3.start()
        wait_for("join-command with --bootstrap-token",
                 lambda: " --token %s " % given in open(os.path.join(srv.data_dir, "join-command")).read(),
                 15, 0.1)
        who = whoami(Api(srv3, token=given))
        expect(who["username"] == "system:bootstrap:jxgivn", "given token identity: %s" % who)
    finally:
        srv3.stop()


def main():
    binary = os.path.abspath(sys.argv[1])
    kubectl = kubectl_path("1.33") or "kubectl"
    tmp = tempfile.mkdtemp(prefix="ckube-join-")
    srv = Server(binary, os.path.join(tmp, "data"), ["--controllers"])
    failed = False
    try:
        srv.start()
        c = Ctx(kubectl, srv, tmp, "default")
        tid, tok = case_join_command(srv, tmp)
        steps = [("join command", lambda: None),
                 ("bootstrap authz", lambda: case_bootstrap_authz(srv, tid, tok)),
                 ("bad tokens", lambda: case_bad_tokens(srv)),
                 ("node CSR", lambda: case_node_csr(srv, tmp, tok)),
                 ("anonymous", lambda: case_anonymous(srv, tid, tok)),
                 ("kubectl certificate", lambda: case_kubectl(srv, tmp, c)),
                 ("token create", lambda: case_token_create(binary, srv, c)),
                 ("restart", lambda: case_restart(binary, srv, tmp, tok))]
        for name, fn in steps:
            try:
                fn()
                print("ok   %s" % name)
            except Fail as e:
                failed = True
                print("FAIL %s: %s" % (name, e))
    except Fail as e:
        failed = True
        print("FAIL setup: %s" % e)
    finally:
        try:
            srv.stop()
        except Fail as e:
            failed = True
            print("FAIL stop: %s" % e)
        if failed:
            log = os.path.join(tmp, "server.log")
            if os.path.exists(log):
                print("--- server.log (tail)")
                print("".join(open(log, errors="replace").readlines()[-40:]))
        shutil.rmtree(tmp, ignore_errors=True)
    print("FAIL" if failed else "PASS")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
