#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Service-account tokens end to end, against `ckube server --controllers` with a static token
file. For kubectl 1.27 and 1.33, in a namespace of its own:
- `kubectl create token` of a ServiceAccount (default duration, --duration, --audience,
  --bound-object-kind Pod) answers a JWT whose claims upstream's way (iss, sub, aud, exp,
  kubernetes.io);
- that token over HTTPS: GET /version answers 200 and SelfSubjectReview names
  system:serviceaccount:<ns>:<sa> with upstream's groups; a tampered token is 401;
- a token for another audience is 401 at the API but authenticated by a TokenReview asking
  for that audience; a TokenReview of garbage is not authenticated;
- deleting the ServiceAccount, or recreating it (new uid), or deleting the bound pod makes its
  tokens 401;
- kubectl's own errors: the 10-minute minimum, an unknown ServiceAccount;
- kube-root-ca.crt appears in the new namespace with the cluster CA, and comes back when
  deleted or changed (the root CA publisher);
Once: the OIDC discovery documents (issuer, jwks_uri, the key), the static token file's user,
sa.key's mode 0600, and the token cleaner (expired or unparseable bootstrap-token Secrets in
kube-system are deleted, one expiring a few seconds later too, a valid one stays).

usage: test_satoken.py CKUBE_BIN"""

import base64
import json
import os
import shutil
import ssl
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from ckubetest import Ctx, Fail, Server, expect, expect_in, kubectl_path, wait_for  # noqa: E402

ISSUER = "https://kubernetes.default.svc.cluster.local"
STATIC_TOKEN = "satoken-static-0123456789abcdef"


class Api:
    """HTTPS requests with a bearer token, verified against the cluster CA."""

    def __init__(self, server, data_dir):
        self.base = "https://127.0.0.1:%d" % server.sport
        self.ctx = ssl.create_default_context(cafile=os.path.join(data_dir, "ca.crt"))

    def call(self, path, token, method="GET", body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, method=method, data=data)
        if token:
            req.add_header("Authorization", "Bearer " + token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10, context=self.ctx) as r:
                return r.status, r.headers.get("Content-Type", ""), r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type", ""), e.read()

    def status(self, path, token):
        return self.call(path, token)[0]

    def whoami(self, token):
        st, _, body = self.call("/apis/authentication.k8s.io/v1/selfsubjectreviews", token, "POST",
                                {"apiVersion": "authentication.k8s.io/v1",
                                 "kind": "SelfSubjectReview"})
        expect(st == 201, "SelfSubjectReview: %d %s" % (st, body[:300]))
        return json.loads(body)["status"]["userInfo"]


def claims(token):
    parts = token.split(".")
    expect(len(parts) == 3, "not a JWT: %r" % token[:40])
    pad = "=" * (-len(parts[1]) % 4)
    return json.loads(base64.urlsafe_b64decode(parts[1] + pad))


def token_review(c, token, audiences=None):
    spec = {"token": token}
    if audiences:
        spec["audiences"] = audiences
    path = c.file(json.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                              "spec": spec}))
    return json.loads(c.out("create", "-f", path, "-o", "json", ns=False))["status"]


def wait_401(api, token, what):
    wait_for(what, lambda: api.status("/version", token) == 401, timeout=10)


def run(c, api, ca_pem):
    ns = c.ns
    c.k("create", "namespace", ns, ns=False)
    # the root CA publisher: kube-root-ca.crt in the new namespace, restored after changes
    def root_ca():
        p = c.k("get", "configmap", "kube-root-ca.crt", "-o", "json", ok=None)
        return json.loads(p.stdout) if p.returncode == 0 else None
    cm = wait_for("kube-root-ca.crt in " + ns, root_ca, timeout=30)
    expect(cm["data"].get("ca.crt") == ca_pem, "kube-root-ca.crt carries another CA")
    expect("kubernetes.io/description" in cm["metadata"].get("annotations", {}),
           "no description annotation")
    c.k("delete", "configmap", "kube-root-ca.crt")
    wait_for("kube-root-ca.crt recreated", root_ca, timeout=30)
    c.k("patch", "configmap", "kube-root-ca.crt", "--type=merge", "-p", '{"data":{"ca.crt":"x"}}')
    wait_for("kube-root-ca.crt restored",
             lambda: (root_ca() or {}).get("data", {}).get("ca.crt") == ca_pem, timeout=30)

    c.k("create", "serviceaccount", "robot")
    tok = c.out("create", "token", "robot").strip()
    cl = claims(tok)
    expect(cl["iss"] == ISSUER, "iss %r" % cl["iss"])
    expect(cl["sub"] == "system:serviceaccount:%s:robot" % ns, "sub %r" % cl["sub"])
    expect(cl["aud"] == [ISSUER], "aud %r" % cl["aud"])
    expect(3500 <= cl["exp"] - cl["iat"] <= 3700, "lifetime %d" % (cl["exp"] - cl["iat"]))
    sa_uid = json.loads(c.out("get", "sa", "robot", "-o", "json"))["metadata"]["uid"]
    expect(cl["kubernetes.io"]["serviceaccount"] == {"name": "robot", "uid": sa_uid},
           "kubernetes.io claim %r" % cl["kubernetes.io"])

    expect(api.status("/version", tok) == 200, "GET /version with the token")
    who = api.whoami(tok)
    expect(who["username"] == "system:serviceaccount:%s:robot" % ns, "whoami %r" % who)
    for g in ("system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"):
        expect_in(g, who.get("groups", []), "groups")
    bad = tok[:-4] + ("AAAA" if tok[-4:] != "AAAA" else "BBBB")
    expect(api.status("/version", bad) == 401, "a tampered token is not 401")
    st, ctype, body = api.call("/version", "not-a-token")
    expect(st == 401 and b'"Unauthorized"' in body, "garbage token: %d %s" % (st, body[:200]))

    # --duration, and the 10-minute minimum
    t20 = c.out("create", "token", "robot", "--duration=20m").strip()
    cl = claims(t20)
    expect(1190 <= cl["exp"] - cl["iat"] <= 1210, "--duration 20m gave %d s" % (cl["exp"] - cl["iat"]))
    p = c.k("create", "token", "robot", "--duration=5m", ok=False)
    expect_in("may not specify a duration less than 10 minutes", p.stderr, "kubectl's error")
    p = c.k("create", "token", "nosuch", ok=False)
    expect_in('serviceaccounts "nosuch" not found', p.stderr, "kubectl's error")

    # another audience: refused by the API, accepted by a TokenReview for that audience
    tv = c.out("create", "token", "robot", "--audience=vault").strip()
    expect(claims(tv)["aud"] == ["vault"], "aud %r" % claims(tv)["aud"])
    expect(api.status("/version", tv) == 401, "a vault token was accepted by the API")
    rv = token_review(c, tv, ["vault"])
    expect(rv.get("authenticated") is True, "TokenReview(vault): %r" % rv)
    expect(rv["user"]["username"] == "system:serviceaccount:%s:robot" % ns, "review user %r" % rv)
    expect(rv["user"].get("uid") == sa_uid, "review uid %r" % rv["user"])
    expect(rv.get("audiences") == ["vault"], "review audiences %r" % rv.get("audiences"))
    rg = token_review(c, tok)
    expect(rg.get("authenticated") is True, "TokenReview(good): %r" % rg)
    rb = token_review(c, bad)
    expect(not rb.get("authenticated") and rb.get("error"), "TokenReview(bad): %r" % rb)

    # bound to a pod: valid while the pod lives
    c.k("run", "holder", "--image=busybox", "--restart=Never", "--overrides",
        json.dumps({"spec": {"serviceAccountName": "robot"}}), "--", "sleep", "1")
    tp = c.out("create", "token", "robot", "--bound-object-kind=Pod",
               "--bound-object-name=holder").strip()
    pod_uid = json.loads(c.out("get", "pod", "holder", "-o", "json"))["metadata"]["uid"]
    expect(claims(tp)["kubernetes.io"]["pod"] == {"name": "holder", "uid": pod_uid},
           "pod claim %r" % claims(tp)["kubernetes.io"])
    expect(api.status("/version", tp) == 200, "pod-bound token refused")
    rp = token_review(c, tp)
    expect(rp["user"].get("extra", {}).get("authentication.kubernetes.io/pod-name") == ["holder"],
           "pod-name extra: %r" % rp["user"])
    p = c.k("create", "token", "default", "--bound-object-kind=Pod", "--bound-object-name=holder",
            ok=False)
    expect_in("to pod running with different serviceaccount name", p.stderr, "kubectl's error")
    c.k("delete", "pod", "holder", "--grace-period=0", "--force", "--wait=true")
    wait_401(api, tp, "the pod-bound token to die with its pod")
    expect(api.status("/version", tok) == 200, "the unbound token died with the pod")

    # the ServiceAccount deleted, then recreated with a new uid: the old tokens stay dead
    c.k("delete", "serviceaccount", "robot")
    wait_401(api, tok, "the token to die with its ServiceAccount")
    c.k("create", "serviceaccount", "robot")
    time.sleep(0.5)
    expect(api.status("/version", tok) == 401, "a recreated ServiceAccount revived an old token")
    fresh = c.out("create", "token", "robot").strip()
    expect(api.status("/version", fresh) == 200, "a token of the recreated ServiceAccount")
    c.k("delete", "namespace", ns, "--wait=false", ns=False)


def token_cleaner(c):
    """The token cleaner deletes expired (or unparseable) bootstrap-token Secrets only."""
    def secret(tid, exp):
        b64 = base64.b64encode(exp.encode()).decode()
        c.server.post("/api/v1/namespaces/kube-system/secrets", {
            "apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
            "metadata": {"name": "bootstrap-token-" + tid, "namespace": "kube-system"},
            "data": {"token-id": base64.b64encode(tid.encode()).decode(),
                     "token-secret": base64.b64encode(b"0123456789abcdef").decode(),
                     "expiration": b64}})
    past = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 4))
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    secret("satok1", past)
    secret("satok2", "not-a-time")
    secret("satok3", later)
    secret("satok4", soon)

    def gone(tid):
        return c.k("get", "secret", "bootstrap-token-" + tid, "-n", "kube-system", ok=None,
                   ns=False).returncode != 0
    for tid in ("satok1", "satok2", "satok4"):
        wait_for("expired bootstrap-token-%s deleted" % tid, lambda: gone(tid), timeout=30, step=0.5)
    expect(not gone("satok3"), "a bootstrap token that expires in an hour was deleted")
    c.k("delete", "secret", "bootstrap-token-satok3", "-n", "kube-system", ns=False)


def once(c, api, data_dir, admin_token):
    st, ctype, body = api.call("/.well-known/openid-configuration", admin_token)
    expect(st == 200 and ctype.startswith("application/json"), "openid-configuration %d %s" % (st, ctype))
    doc = json.loads(body)
    expect(doc["issuer"] == ISSUER, "issuer %r" % doc)
    expect(doc["jwks_uri"] == ISSUER + "/openid/v1/jwks", "jwks_uri %r" % doc)
    expect(doc["id_token_signing_alg_values_supported"] == ["RS256"], "algs %r" % doc)
    st, ctype, body = api.call("/openid/v1/jwks", admin_token)
    expect(st == 200 and ctype.startswith("application/jwk-set+json"), "jwks %d %s" % (st, ctype))
    keys = json.loads(body)["keys"]
    expect(len(keys) == 1 and keys[0]["kty"] == "RSA" and keys[0]["use"] == "sig", "keys %r" % keys)
    c.k("create", "serviceaccount", "kid-check", "-n", "default", ns=False)
    t = c.out("create", "token", "kid-check", "-n", "default", ns=False).strip()
    hdr = json.loads(base64.urlsafe_b64decode(t.split(".")[0] + "=" * (-len(t.split(".")[0]) % 4)))
    expect(hdr.get("kid") == keys[0]["kid"] and hdr.get("alg") == "RS256", "header %r" % hdr)
    c.k("delete", "serviceaccount", "kid-check", "-n", "default", ns=False)
    token_cleaner(c)
    mode = os.stat(os.path.join(data_dir, "sa.key")).st_mode & 0o777
    expect(mode == 0o600, "sa.key mode %o" % mode)
    who = api.whoami(STATIC_TOKEN)
    expect(who["username"] == "satoken-static" and "satoken-group" in who.get("groups", []),
           "static token user %r" % who)
    expect(api.status("/version", STATIC_TOKEN[:-1]) == 401, "a prefix of the static token")


def main():
    ckube = sys.argv[1]
    work = tempfile.mkdtemp(prefix="ck-satoken-")
    data = os.path.join(work, "data")
    tokfile = os.path.join(work, "tokens.csv")
    with open(tokfile, "w") as f:
        f.write('%s,satoken-static,4242,"satoken-group,other"\n' % STATIC_TOKEN)
    srv = Server(ckube, data, ["--controllers", "--token-auth-file", tokfile])
    failed = False
    try:
        srv.start()
        api = Api(srv, data)
        with open(os.path.join(data, "ca.crt")) as f:
            ca_pem = f.read()
        ran = 0
        for ver in ("1.27", "1.33"):
            kc = kubectl_path(ver)
            if not kc:
                print("skip kubectl %s: not installed" % ver)
                continue
            c = Ctx(kc, srv, work, "satoken-" + ver.replace(".", ""))
            if ran == 0:
                admin = None
                with open(srv.kubeconfig) as f:
                    for line in f:
                        if line.strip().startswith("token:"):
                            admin = line.split(":", 1)[1].strip()
                once(c, api, data, admin)
            run(c, api, ca_pem)
            ran += 1
            print("ok kubectl %s" % ver)
        expect(ran > 0, "no kubectl found")
    except Fail as e:
        failed = True
        print("FAIL: %s" % e)
    finally:
        try:
            srv.stop()
        except Fail as e:
            failed = True
            print("FAIL: %s" % e)
        if failed:
            print("server log: %s/server.log (kept)" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
