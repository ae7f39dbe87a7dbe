#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Authorization against upstream's bootstrap policy (see tests.cmake).

The expected table below is what a kube-apiserver 1.33 with --authorization-mode=Node,RBAC
answers for these identities (from its bootstrap roles: view, edit, system:basic-user,
system:discovery, system:public-info-viewer, system:node with the Node authorizer's graph).
Identities are reached with --as/--as-group (the admin is in system:masters, which may
impersonate), and directly: a client certificate signed by the cluster CA, a bearer-less
request (system:anonymous)."""
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from ckubetest import Ctx, Fail, Server, expect, expect_in, kubectl_path, wait_for  # noqa: E402

NS = "authz"
VIEW = ["--as=vera"]
EDIT = ["--as=ed"]
SA = ["--as=system:serviceaccount:%s:robot" % NS]
NODE = ["--as=system:node:n1", "--as-group=system:nodes"]
NODE2 = ["--as=system:node:n2", "--as-group=system:nodes"]
ANON = ["--as=system:anonymous", "--as-group=system:unauthenticated"]

# (who, can-i arguments, expected yes/no). Namespaced checks are in NS unless -A / -n given.
MATRIX = [
    # admin (system:masters)
    ([], ["create", "pods"], True),
    ([], ["delete", "nodes"], True),
    ([], ["create", "clusterroles"], True),
    ([], ["get", "/metrics"], True),
    # view
    (VIEW, ["get", "pods"], True),
    (VIEW, ["list", "pods", "-A"], False),  # a RoleBinding grants only its namespace
    (VIEW, ["watch", "deployments.apps"], True),
    (VIEW, ["get", "pods", "--subresource=log"], True),
    (VIEW, ["create", "pods", "--subresource=exec"], False),
    (VIEW, ["create", "pods"], False),
    (VIEW, ["get", "secrets"], False),
    (VIEW, ["delete", "deployments.apps"], False),
    (VIEW, ["get", "nodes"], False),
    (VIEW, ["get", "roles.rbac.authorization.k8s.io"], False),
    (VIEW, ["get", "/api"], True),
    (VIEW, ["get", "/metrics"], False),
    (VIEW, ["create", "selfsubjectaccessreviews.authorization.k8s.io"], True),
    # edit
    (EDIT, ["create", "pods"], True),
    (EDIT, ["get", "secrets"], True),
    (EDIT, ["create", "pods", "--subresource=exec"], True),
    (EDIT, ["patch", "deployments.apps", "--subresource=scale"], True),
    (EDIT, ["create", "roles.rbac.authorization.k8s.io"], False),
    (EDIT, ["create", "rolebindings.rbac.authorization.k8s.io"], False),
    (EDIT, ["update", "resourcequotas"], False),
    (EDIT, ["impersonate", "serviceaccounts"], True),
    (EDIT, ["list", "namespaces"], True),  # view's namespaces rule, asked in the namespace
    # a service account with no bindings: discovery and self reviews only
    (SA, ["get", "pods"], False),
    (SA, ["get", "/version"], True),
    (SA, ["get", "/apis"], True),
    (SA, ["get", "/.well-known/openid-configuration"], True),
    # a node: system:node's rules, the graph for secrets/configmaps, its own lease
    (NODE, ["get", "nodes"], True),
    (NODE, ["list", "pods", "-A"], True),
    (NODE, ["create", "pods"], True),
    (NODE, ["update", "pods", "--subresource=status"], True),
    (NODE, ["update", "pods"], False),
    (NODE, ["create", "events"], True),
    (NODE, ["delete", "nodes"], False),
    (NODE, ["get", "secrets/s1"], True),      # used by pod p1 on n1
    (NODE, ["get", "configmaps/c1"], True),   # used by pod p1 on n1
    (NODE, ["get", "secrets/other"], False),  # used by no pod of n1
    (NODE2, ["get", "secrets/s1"], False),    # p1 is not on n2
    (NODE, ["list", "secrets"], False),
    (NODE, ["update", "leases.coordination.k8s.io/n1", "-n", "kube-node-lease"], True),
    (NODE, ["update", "leases.coordination.k8s.io/n2", "-n", "kube-node-lease"], False),
    (NODE, ["create", "certificatesigningrequests.certificates.k8s.io"], True),
    # anonymous: the public info endpoints only
    (ANON, ["get", "/version"], True),
    (ANON, ["get", "/healthz"], True),
    (ANON, ["get", "/api"], False),
    (ANON, ["list", "pods"], False),
]


def sar(c, user, groups, args):
    """A SubjectAccessReview created by the admin (anonymous may not ask for itself)."""
    verb, what = args[0], args[1]
    spec = {"user": user, "groups": groups}
    if what.startswith("/"):
        spec["nonResourceAttributes"] = {"verb": verb, "path": what}
    else:
        res, _, grp = what.partition(".")
        spec["resourceAttributes"] = {"verb": verb, "resource": res, "group": grp, "namespace": NS}
    obj = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}
    return json.loads(c.out("create", "-f", c.file(json.dumps(obj)), "-o", "json"))["status"]["allowed"]


def can_i(c, who, args):
    if who is ANON:
        return sar(c, "system:anonymous", ["system:unauthenticated"], args)
    p = c.k("auth", "can-i", *args, *who, ok=None)
    ans = p.stdout.strip().splitlines()[-1].split()[0] if p.stdout.strip() else ""
    if ans not in ("yes", "no"):
        raise Fail("can-i %s %s: rc=%d out=%r err=%r" % (who, args, p.returncode, p.stdout, p.stderr))
    return ans == "yes"


def curl_status(url, cafile=None, cert=None, key=None, token=None, method="GET", body=None):
    ctx = ssl.create_default_context(cafile=cafile) if cafile else ssl._create_unverified_context()
    if cert:
        ctx.load_cert_chain(cert, key)
    h = {"Content-Type": "application/json"}
    if token:
        h["Authorization"] = "Bearer " + token
    req = urllib.request.Request(url, method=method, headers=h,
                                 data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw


def mk_cert(work, data_dir, cn, orgs):
    """A client certificate for cn/orgs signed by the cluster CA (upstream: x509 CN/O)."""
    key, csr, crt = (os.path.join(work, cn + ext) for ext in (".key", ".csr", ".crt"))
    subj = "/CN=%s" % cn + "".join("/O=%s" % o for o in orgs)
    subprocess.run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-subj", subj, "-out", csr], check=True, capture_output=True)
    ext = os.path.join(work, cn + ".ext")
    with open(ext, "w") as f:
        f.write("extendedKeyUsage=clientAuth\n")
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", os.path.join(data_dir, "ca.crt"),
                    "-CAkey", os.path.join(data_dir, "ca.key"), "-CAcreateserial", "-days", "1",
                    "-extfile", ext, "-out", crt], check=True, capture_output=True)
    return crt, key


def main():
    binary, version = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="ck-authz-")
    srv = Server(binary, os.path.join(work, "data"), ["--controllers"])
    ok = False
    try:
        srv.start()
        c = Ctx(kubectl_path(version), srv, work, NS)
        c.k("create", "namespace", NS, ns=False)
        c.k("create", "rolebinding", "vera-view", "--clusterrole=view", "--user=vera")
        c.k("create", "rolebinding", "ed-edit", "--clusterrole=edit", "--user=ed")
        c.k("create", "serviceaccount", "robot")
        c.k("create", "secret", "generic", "s1", "--from-literal=k=v")
        c.k("create", "secret", "generic", "other", "--from-literal=k=v")
        c.k("create", "configmap", "c1", "--from-literal=k=v")
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p1", "namespace": NS},
               "spec": {"nodeName": "n1", "containers": [
                   {"name": "c", "image": "busybox", "envFrom": [{"configMapRef": {"name": "c1"}}]}],
                   "volumes": [{"name": "v", "secret": {"secretName": "s1"}}]}}
        c.k("create", "-f", c.file(json.dumps(pod)))

        # the matrix
        bad = []
        for who, args, want in MATRIX:
            got = can_i(c, who, args)
            if got != want:
                bad.append("%s can-i %s: got %s, want %s" % (" ".join(who) or "admin", " ".join(args),
                                                            got, want))
        expect(not bad, "can-i matrix mismatches:\n  " + "\n  ".join(bad))

        # anonymous may not even ask (SelfSubjectAccessReview is system:basic-user's)
        p = c.k("auth", "can-i", "get", "/version", *ANON, ok=False)
        expect_in('User "system:anonymous" cannot create resource "selfsubjectaccessreviews"', p.stderr,
                  "anonymous can-i")

        # kubectl auth can-i --list (SelfSubjectRulesReview) for the view user
        out = c.out("auth", "can-i", "--list", *VIEW)
        expect_in("pods ", out, "vera's rules")
        line = [l for l in out.splitlines() if l.startswith("pods ")][0]
        expect("get" in line and "list" in line and "create" not in line, "vera's pods rule %r" % line)

        # a refused request gets upstream's Forbidden Status and message
        p = c.k("get", "secrets", *VIEW, ok=False)
        expect_in('secrets is forbidden: User "vera" cannot list resource "secrets" in API group "" '
                  'in the namespace "%s"' % NS, p.stderr, "kubectl's error")

        # impersonation needs the impersonate verb: vera may not act as ed
        c.k("get", "pods", *VIEW)
        crt, key = mk_cert(work, srv.data_dir, "vera", [])
        url = "https://127.0.0.1:%d" % srv.sport
        ca = os.path.join(srv.data_dir, "ca.crt")
        st, b = curl_status(url + "/api/v1/namespaces/%s/pods" % NS, ca, crt, key)
        expect(st == 200, "vera's client certificate lists pods: %d %r" % (st, b))
        req = urllib.request.Request(url + "/api/v1/namespaces/%s/pods" % NS,
                                     headers={"Impersonate-User": "ed"})
        ctx = ssl.create_default_context(cafile=ca)
        ctx.load_cert_chain(crt, key)
        try:
            urllib.request.urlopen(req, context=ctx, timeout=10)
            raise Fail("vera impersonated ed without the impersonate verb")
        except urllib.error.HTTPError as e:
            body = json.loads(e.read())
            expect(e.code == 403 and body.get("reason") == "Forbidden" and
                   'User "vera" cannot impersonate resource "users"' in body.get("message", ""),
                   "impersonation refusal: %d %r" % (e.code, body))
        # ed (edit) may impersonate service accounts in the namespace, as upstream's edit role
        crt2, key2 = mk_cert(work, srv.data_dir, "ed", ["devs"])
        st, b = curl_status(url + "/apis/authentication.k8s.io/v1/selfsubjectreviews", ca, crt2, key2,
                            method="POST", body={"apiVersion": "authentication.k8s.io/v1",
                                                 "kind": "SelfSubjectReview"})
        expect(st == 201 and b["status"]["userInfo"]["username"] == "ed" and
               "devs" in b["status"]["userInfo"]["groups"], "ed's whoami %d %r" % (st, b))

        # anonymous: /version yes, the API no (403 Forbidden, not 401), a bad token 401
        st, b = curl_status(url + "/version")
        expect(st == 200 and "gitVersion" in b, "anonymous /version: %d %r" % (st, b))
        st, b = curl_status(url + "/api/v1/namespaces")
        expect(st == 403 and 'User "system:anonymous" cannot list resource "namespaces"' in b["message"],
               "anonymous namespaces: %d %r" % (st, b))
        st, b = curl_status(url + "/api/v1/namespaces", token="not-a-token")
        expect(st == 401 and b.get("reason") == "Unauthorized", "bad token: %d %r" % (st, b))

        # SubjectAccessReview by the admin for another user, and its validation
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
               "spec": {"user": "ed", "resourceAttributes": {"namespace": NS, "verb": "create",
                                                             "resource": "pods"}}}
        out = json.loads(c.out("create", "-f", c.file(json.dumps(review)), "-o", "json"))
        expect(out["status"]["allowed"] is True and "RoleBinding" in out["status"].get("reason", ""),
               "SAR for ed: %r" % out["status"])
        review["spec"]["user"] = "nobody"
        out = json.loads(c.out("create", "-f", c.file(json.dumps(review)), "-o", "json"))
        expect(out["status"]["allowed"] is False, "SAR for nobody: %r" % out["status"])
        del review["spec"]["resourceAttributes"]
        p = c.k("create", "-f", c.file(json.dumps(review)), ok=False)
        expect_in("exactly one of nonResourceAttributes or resourceAttributes must be specified",
                  p.stderr, "SAR validation")

        # escalation prevention: rita administers the namespace (ClusterRole admin) but may not
        # grant what she does not hold, unless she has the bind/escalate verb
        c.k("create", "rolebinding", "rita-admin", "--clusterrole=admin", "--user=rita")
        RITA = ["--as=rita"]
        c.k("create", "role", "pod-reader", "--verb=get,list", "--resource=pods", *RITA)
        p = c.k("create", "role", "node-reader", "--verb=get", "--resource=nodes", *RITA, ok=False)
        expect_in('roles.rbac.authorization.k8s.io "node-reader" is forbidden: user "rita" (groups=['
                  '"system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n'
                  '{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}', p.stderr, "escalating role")
        c.k("create", "rolebinding", "sam-view", "--clusterrole=view", "--user=sam", *RITA)
        p = c.k("create", "rolebinding", "sam-root", "--clusterrole=cluster-admin", "--user=sam", *RITA,
                ok=False)
        expect_in('rolebindings.rbac.authorization.k8s.io "sam-root" is forbidden: user "rita"', p.stderr,
                  "escalating binding")
        expect_in("is attempting to grant RBAC permissions not currently held", p.stderr, "escalating binding")
        bind = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": {"name": "authz-bind-cluster-admin"},
                "rules": [{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"],
                           "verbs": ["bind"], "resourceNames": ["cluster-admin"]}]}
        c.k("create", "-f", c.file(json.dumps(bind)), ns=False)
        c.k("create", "clusterrolebinding", "authz-rita-bind", "--clusterrole=authz-bind-cluster-admin",
            "--user=rita", ns=False)
        c.k("create", "rolebinding", "sam-root", "--clusterrole=cluster-admin", "--user=sam", *RITA)
        expect(can_i(c, ["--as=sam"], ["delete", "secrets"]), "sam after rita's bind")
        c.k("delete", "clusterrolebinding", "authz-rita-bind", ns=False)
        c.k("delete", "clusterrole", "authz-bind-cluster-admin", ns=False)

        # ClusterRole aggregation (the controller manager's clusterrole-aggregation): a role
        # labelled aggregate-to-view extends view, and so edit and admin
        agg = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
               "metadata": {"name": "authz-widgets",
                            "labels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
               "rules": [{"apiGroups": ["example.com"], "resources": ["widgets"], "verbs": ["get"]}]}
        c.k("create", "-f", c.file(json.dumps(agg)), ns=False)
        # (a SubjectAccessReview: kubectl can-i cannot split an undiscovered resource's group)
        widgets = ["get", "widgets.example.com"]
        wait_for("view to aggregate widgets", lambda: sar(c, "vera", [], widgets), 30, 0.5)
        expect(sar(c, "ed", [], widgets), "edit aggregates view's widgets")
        c.k("delete", "clusterrole", "authz-widgets", ns=False)
        wait_for("view to drop widgets", lambda: not sar(c, "vera", [], widgets), 30, 0.5)

        # roles change the answer at once (the snapshot follows the tables)
        expect(not can_i(c, SA, ["get", "pods"]), "robot before its binding")
        c.k("create", "rolebinding", "robot-view", "--clusterrole=view",
            "--serviceaccount=%s:robot" % NS)
        expect(can_i(c, SA, ["get", "pods"]), "robot after its binding")
        c.k("delete", "rolebinding", "robot-view")
        expect(not can_i(c, SA, ["get", "pods"]), "robot after its binding is gone")
        ok = True
        print("ok: %d can-i checks, rules review, Forbidden messages, impersonation, anonymous, SAR"
              % len(MATRIX))
    finally:
        try:
            srv.stop()
        finally:
            if ok:
                shutil.rmtree(work, ignore_errors=True)
            else:
                print("kept %s" % work)


if __name__ == "__main__":
    try:
        main()
    except Fail as e:
        print("FAIL: %s" % e)
        sys.exit(1)
