#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The admission chain through kubectl against a fresh `ckube server` (API server only).

PodSecurity enforce (upstream's exact message) and warn (kubectl's Warning line); real HTTPS
webhooks served by this test (a CA and a serving certificate made with openssl, python's
http.server + ssl): a validating webhook denies a labelled ConfigMap, failurePolicy Ignore
and Fail with the webhook down, a mutating webhook adds a label through a JSONPatch;
a service-reference webhook reached through the Service's endpoints; ResourceQuota
pods: 1 refuses the second pod and the resourcequota controller fills status.used;
LimitRange defaults and max; the ServiceAccount plugin's projected token volume; Priority
(built-in, missing and user classes); DefaultStorageClass; a pod in a terminating namespace
is refused; --disable-admission-plugins turns PodSecurity off."""

import base64
import http.server
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from ckubetest import Server, Ctx, Fail, expect, expect_in, free_port, wait_for  # noqa: E402

PRIV_POD = """apiVersion: v1
kind: Pod
metadata:
  name: %s
spec:
  containers:
  - name: c
    image: busybox
    securityContext:
      privileged: true
"""

PLAIN_POD = """apiVersion: v1
kind: Pod
metadata:
  name: %s
spec:
  containers:
  - name: c
    image: busybox
"""


def make_certs(d):
    """A CA and a serving certificate for 127.0.0.1 signed by it."""
    def run(*a):
        subprocess.run(a, check=True, capture_output=True, cwd=d)
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
        "-out", "ca.crt", "-days", "1", "-subj", "/CN=adm-test-ca")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out",
        "srv.csr", "-subj", "/CN=127.0.0.1")
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:adm-hook.adm-webhooks.svc\n")
    run("openssl", "x509", "-req", "-in", "srv.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "srv.crt", "-days", "1", "-extfile", "ext.cnf")
    with open(os.path.join(d, "ca.crt"), "rb") as f:
        return base64.b64encode(f.read()).decode()


class Hook(http.server.BaseHTTPRequestHandler):
    calls = []

    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        review = json.loads(self.rfile.read(n))
        req = review["request"]
        Hook.calls.append((self.path, req))
        obj = req.get("object") or req.get("oldObject") or {}
        labels = (obj.get("metadata") or {}).get("labels") or {}
        resp = {"uid": req["uid"], "allowed": True}
        if req["operation"] == "DELETE" and labels.get("adm-protect") == "yes":
            resp = {"uid": req["uid"], "allowed": False,
                    "status": {"message": "protected configmaps may not be deleted"}}
        if self.path.startswith("/validate") and labels.get("adm-deny") in ("yes", "svc"):
            resp = {"uid": req["uid"], "allowed": False,
                    "status": {"code": 403, "message": "configmaps labelled adm-deny are not allowed"}}
        if self.path.startswith("/mutate") and labels.get("adm-mutate") == "yes":
            patch = [{"op": "add", "path": "/metadata/labels/adm-mutated", "value": "true"}]
            resp["patchType"] = "JSONPatch"
            resp["patch"] = base64.b64encode(json.dumps(patch).encode()).decode()
            resp["warnings"] = ["adm-test mutated this object"]
        body = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                           "response": resp}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def start_hook(d):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d, "srv.crt"), os.path.join(d, "srv.key"))
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    return srv


def ns_ctx(c, ns):
    return Ctx(c.kubectl, c.server, c.workdir, ns)


def case_psa_enforce(c):
    c.k("create", "namespace", c.ns, ns=False)
    c.k("label", "namespace", c.ns, "pod-security.kubernetes.io/enforce=restricted", ns=False)
    p = c.k("apply", "-f", c.file(PRIV_POD % "priv"), ok=False)
    expect_in('pods "priv" is forbidden: violates PodSecurity "restricted:latest": privileged '
              '(container "c" must not set securityContext.privileged=true), '
              'allowPrivilegeEscalation != false (container "c" must set '
              'securityContext.allowPrivilegeEscalation=false), unrestricted capabilities '
              '(container "c" must set securityContext.capabilities.drop=["ALL"]), '
              'runAsNonRoot != true (pod or container "c" must set '
              'securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set '
              'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
              p.stderr, "kubectl's error")
    expect_in("Error from server (Forbidden)", p.stderr, "kubectl's error")
    # a pod meeting restricted is admitted
    good = """apiVersion: v1
kind: Pod
metadata:
  name: good
spec:
  securityContext:
    runAsNonRoot: true
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: c
    image: busybox
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
"""
    c.k("apply", "-f", c.file(good))
    # with a pinned version the message names it
    c.k("label", "namespace", c.ns, "pod-security.kubernetes.io/enforce-version=v1.30", ns=False)
    p = c.k("apply", "-f", c.file(PRIV_POD % "priv2"), ok=False)
    expect_in('violates PodSecurity "restricted:v1.30": privileged', p.stderr, "kubectl's error")


def case_psa_warn(c):
    c.k("create", "namespace", c.ns, ns=False)
    c.k("label", "namespace", c.ns, "pod-security.kubernetes.io/warn=baseline", ns=False)
    p = c.k("apply", "-f", c.file(PRIV_POD % "priv"))
    expect_in('Warning: would violate PodSecurity "baseline:latest": privileged (container "c" '
              'must not set securityContext.privileged=true)', p.stderr, "kubectl's stderr")
    expect(c.jsonpath("pod/priv", ".metadata.name") == "priv", "the pod was not created")
    # enforcing a level the pod violates warns about it (upstream's namespace evaluation)
    p = c.k("label", "namespace", c.ns, "pod-security.kubernetes.io/enforce=baseline", ns=False)
    expect_in('Warning: existing pods in namespace "%s" violate the new PodSecurity enforce '
              'level "baseline:latest"' % c.ns, p.stderr, "kubectl's stderr")
    expect_in("Warning: priv: privileged", p.stderr, "kubectl's stderr")
    c.k("label", "namespace", c.ns, "pod-security.kubernetes.io/enforce-", ns=False)
    # a Deployment whose template violates the level gets the warning too
    dep = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec:
      hostNetwork: true
      containers: [{name: c, image: busybox}]
"""
    p = c.k("apply", "-f", c.file(dep))
    expect_in('Warning: would violate PodSecurity "baseline:latest": host namespaces '
              '(hostNetwork=true)', p.stderr, "kubectl's stderr")


def webhook_cfg(kind, name, path, url_port, ca, ns, failure="Fail", obj_sel=None, ops=("CREATE",)):
    wh = {"name": name, "admissionReviewVersions": ["v1"], "sideEffects": "None",
          "failurePolicy": failure, "timeoutSeconds": 5,
          "clientConfig": {"url": "https://127.0.0.1:%d%s" % (url_port, path), "caBundle": ca},
          "rules": [{"operations": list(ops), "apiGroups": [""], "apiVersions": ["v1"],
                     "resources": ["configmaps"]}],
          "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}
    if obj_sel:
        wh["objectSelector"] = {"matchLabels": obj_sel}
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind,
            "metadata": {"name": name}, "webhooks": [wh]}


def case_webhooks(c, hook_port, ca):
    c.k("create", "namespace", c.ns, ns=False)
    down = free_port()  # nothing listens there
    cfgs = [
        webhook_cfg("ValidatingWebhookConfiguration", "adm-deny.example.com", "/validate",
                    hook_port, ca, c.ns, obj_sel={"adm-deny": "yes"}),
        webhook_cfg("ValidatingWebhookConfiguration", "adm-down-ignore.example.com", "/validate",
                    down, ca, c.ns, failure="Ignore", obj_sel={"adm-down": "ignore"}),
        webhook_cfg("ValidatingWebhookConfiguration", "adm-down-fail.example.com", "/validate",
                    down, ca, c.ns, failure="Fail", obj_sel={"adm-down": "fail"}),
        webhook_cfg("MutatingWebhookConfiguration", "adm-mutate.example.com", "/mutate",
                    hook_port, ca, c.ns, obj_sel={"adm-mutate": "yes"}),
    ]
    protect = webhook_cfg("ValidatingWebhookConfiguration", "adm-protect.example.com",
                          "/validate", hook_port, ca, c.ns, obj_sel={"adm-protect": "yes"},
                          ops=("DELETE",))
    cfgs.append(protect)
    # a service reference: the Service's endpoints lead to this test's server (TLS checks
    # the name adm-hook.<ns>.svc)
    svc_hook = webhook_cfg("ValidatingWebhookConfiguration", "adm-svc.example.com", "/validate",
                           0, ca, c.ns, obj_sel={"adm-deny": "svc"})
    svc_hook["webhooks"][0]["clientConfig"] = {
        "service": {"namespace": c.ns, "name": "adm-hook", "path": "/validate", "port": 443},
        "caBundle": ca}
    cfgs.append(svc_hook)
    c.k("apply", "-f", c.file(json.dumps({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "adm-hook"},
        "spec": {"ports": [{"port": 443, "targetPort": hook_port}]}})))
    c.k("apply", "-f", c.file(json.dumps({
        "apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "adm-hook"},
        "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"port": hook_port}]}]})))
    for cfg in cfgs:
        c.k("apply", "-f", c.file(json.dumps(cfg)), ns=False)
    try:
        before = len(Hook.calls)
        c.k("create", "configmap", "plain")
        expect(len(Hook.calls) == before, "a webhook was called for an object its selector "
               "does not match")
        cm = """apiVersion: v1
kind: ConfigMap
metadata:
  name: %s
  labels: {%s}
"""
        p = c.k("apply", "-f", c.file(cm % ("denied", "adm-deny: 'yes'")), ok=False)
        expect_in('admission webhook "adm-deny.example.com" denied the request: configmaps '
                  'labelled adm-deny are not allowed', p.stderr, "kubectl's error")
        req = Hook.calls[-1][1]
        expect(req["operation"] == "CREATE" and req["resource"]["resource"] == "configmaps"
               and req["namespace"] == c.ns and req["name"] == "denied"
               and req["userInfo"]["username"], "AdmissionReview request: %r" % req)
        c.k("get", "configmap", "denied", ok=False)
        p = c.k("apply", "-f", c.file(cm % ("svcdenied", "adm-deny: svc")), ok=False)
        expect_in('admission webhook "adm-svc.example.com" denied the request: configmaps '
                  'labelled adm-deny are not allowed', p.stderr, "kubectl's error")
        # the webhook is down: Ignore lets the request through, Fail refuses it
        c.k("apply", "-f", c.file(cm % ("ignored", "adm-down: ignore")))
        p = c.k("apply", "-f", c.file(cm % ("failed", "adm-down: fail")), ok=False)
        expect_in('Internal error occurred: failed calling webhook "adm-down-fail.example.com": '
                  'failed to call webhook: Post "https://127.0.0.1:%d/validate?timeout=5s"' % down,
                  p.stderr, "kubectl's error")
        # the mutating webhook's JSONPatch adds a label; its warning reaches kubectl
        p = c.k("apply", "-f", c.file(cm % ("mutated", "adm-mutate: 'yes'")))
        expect_in("Warning: adm-test mutated this object", p.stderr, "kubectl's stderr")
        expect(c.jsonpath("configmap/mutated", ".metadata.labels.adm-mutated") == "true",
               "the mutating webhook's label is missing")
        # DELETE is admitted too, one object at a time for a deletecollection
        c.k("apply", "-f", c.file(cm % ("keep", "adm-protect: 'yes'")))
        p = c.k("delete", "configmap", "keep", ok=False)
        expect_in('admission webhook "adm-protect.example.com" denied the request: protected '
                  'configmaps may not be deleted', p.stderr, "kubectl's error")
        url = ("http://127.0.0.1:%d/api/v1/namespaces/%s/configmaps?labelSelector=adm-protect"
               "%%3Dyes" % (c.server.pport, c.ns))
        try:
            urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=10)
            raise Fail("deletecollection of a protected configmap succeeded")
        except urllib.error.HTTPError as e:
            body = json.loads(e.read())
            expect(e.code == 403 and "protected configmaps may not be deleted" in
                   body.get("message", ""), "deletecollection answered %d %r" % (e.code, body))
        expect(c.jsonpath("configmap/keep", ".metadata.name") == "keep", "keep was deleted")
        # updates are not matched by CREATE-only rules
        before = len(Hook.calls)
        c.k("label", "configmap", "mutated", "x=y")
        expect(len(Hook.calls) == before, "a CREATE rule matched an UPDATE")
    finally:
        for cfg in cfgs:
            res = ("validatingwebhookconfiguration" if cfg["kind"].startswith("Validating")
                   else "mutatingwebhookconfiguration")
            c.k("delete", res, cfg["metadata"]["name"], ns=False, ok=None)


def start_cm(c, logdir):
    """`ckube controller-manager` running the resourcequota controller only."""
    log = open(os.path.join(logdir, "cm.log"), "ab")
    proc = subprocess.Popen([c.server.binary, "controller-manager", "--kubeconfig",
                             c.server.kubeconfig, "--secure-port", "0", "--controllers",
                             "resourcequota", "--leader-elect=false"],
                            stdout=subprocess.PIPE, stderr=log, text=True)
    line = proc.stdout.readline()
    if "serving" not in (line or ""):
        proc.kill()
        proc.wait()
        raise Fail("controller-manager did not start: %r" % line)
    return proc


def case_quota(c):
    c.k("create", "namespace", c.ns, ns=False)
    c.k("create", "quota", "q", "--hard=pods=1,configmaps=5,requests.cpu=2")
    c.k("apply", "-f", c.file(PLAIN_POD % "first"))
    p = c.k("apply", "-f", c.file(PLAIN_POD % "second"), ok=False)
    expect_in('pods "second" is forbidden: exceeded quota: q, requested: pods=1, used: pods=1, '
              'limited: pods=1', p.stderr, "kubectl's error")
    c.k("delete", "pod", "first", "--grace-period=0", "--force")
    c.k("apply", "-f", c.file(PLAIN_POD % "second"))
    c.k("create", "configmap", "c1")
    # the resourcequota controller keeps status.used
    cm = start_cm(c, c.workdir)
    try:
        def used():
            st = json.loads(c.out("get", "quota", "q", "-o", "json")).get("status") or {}
            return st if st.get("used") == {"pods": "1", "configmaps": "1",
                                            "requests.cpu": "0"} else None
        st = wait_for("the quota's status.used", used, timeout=30, step=0.5)
        expect(st.get("hard") == {"pods": "1", "configmaps": "5", "requests.cpu": "2"},
               "status.hard %r" % st.get("hard"))
        c.k("delete", "configmap", "c1")
        wait_for("status.used.configmaps 0", lambda: json.loads(
            c.out("get", "quota", "q", "-o", "json"))["status"]["used"].get("configmaps") == "0",
            timeout=30, step=0.5)
    finally:
        cm.send_signal(15)
        try:
            cm.wait(timeout=20)
        except subprocess.TimeoutExpired:
            cm.kill()
            cm.wait()


def case_limitrange(c):
    c.k("create", "namespace", c.ns, ns=False)
    lr = """apiVersion: v1
kind: LimitRange
metadata:
  name: lr
spec:
  limits:
  - type: Container
    default: {cpu: 300m, memory: 128Mi}
    defaultRequest: {cpu: 100m, memory: 64Mi}
    max: {cpu: "1"}
"""
    c.k("apply", "-f", c.file(lr))
    c.k("apply", "-f", c.file(PLAIN_POD % "p"))
    res = json.loads(c.jsonpath("pod/p", ".spec.containers[0].resources"))
    expect(res == {"limits": {"cpu": "300m", "memory": "128Mi"},
                   "requests": {"cpu": "100m", "memory": "64Mi"}}, "resources: %r" % res)
    note = c.jsonpath("pod/p", ".metadata.annotations.kubernetes\\.io/limit-ranger")
    expect(note == "LimitRanger plugin set: cpu, memory request for container c; cpu, memory "
           "limit for container c", "annotation: %r" % note)
    big = """apiVersion: v1
kind: Pod
metadata:
  name: big
spec:
  containers:
  - name: c
    image: busybox
    resources: {limits: {cpu: "2"}}
"""
    p = c.k("apply", "-f", c.file(big), ok=False)
    expect_in('pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2',
              p.stderr, "kubectl's error")


def case_serviceaccount(c):
    c.k("create", "namespace", c.ns, ns=False)
    if c.k("get", "serviceaccount", "default", ok=None).returncode != 0:
        c.k("create", "serviceaccount", "default")
    c.k("apply", "-f", c.file(PLAIN_POD % "p"))
    pod = json.loads(c.out("get", "pod", "p", "-o", "json"))
    spec = pod["spec"]
    expect(spec["serviceAccountName"] == "default", "serviceAccountName %r" %
           spec.get("serviceAccountName"))
    vols = [v for v in spec.get("volumes", []) if v["name"].startswith("kube-api-access-")]
    expect(len(vols) == 1 and len(vols[0]["name"]) == len("kube-api-access-") + 5,
           "volumes: %r" % spec.get("volumes"))
    v = vols[0]
    want = {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
            "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}
    expect(v["projected"] == want, "projected volume: %r" % v["projected"])
    mounts = spec["containers"][0].get("volumeMounts", [])
    expect({"name": v["name"], "readOnly": True,
            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"} in mounts,
           "mounts: %r" % mounts)
    # automountServiceAccountToken: false on the pod: no volume
    no = """apiVersion: v1
kind: Pod
metadata:
  name: noauto
spec:
  automountServiceAccountToken: false
  containers: [{name: c, image: busybox}]
"""
    c.k("apply", "-f", c.file(no))
    vols = c.jsonpath("pod/noauto", ".spec.volumes")
    expect("kube-api-access" not in vols, "volume added despite automount false: %r" % vols)


def case_priority_storageclass(c):
    c.k("create", "namespace", c.ns, ns=False)
    pc = """apiVersion: v1
kind: Pod
metadata:
  name: %s
spec:
  priorityClassName: %s
  containers: [{name: c, image: busybox}]
"""
    c.k("apply", "-f", c.file(pc % ("crit", "system-cluster-critical")))
    got = c.jsonpath("pod/crit", ".spec.priority") + "/" + c.jsonpath(
        "pod/crit", ".spec.preemptionPolicy")
    expect(got == "2000000000/PreemptLowerPriority", "priority: %r" % got)
    p = c.k("apply", "-f", c.file(pc % ("nope", "adm-missing-class")), ok=False)
    expect_in('pods "nope" is forbidden: no PriorityClass with name adm-missing-class was found',
              p.stderr, "kubectl's error")
    c.k("apply", "-f", c.file("""apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: adm-low}
value: 7
preemptionPolicy: Never
"""), ns=False)
    try:
        c.k("apply", "-f", c.file(pc % ("low", "adm-low")))
        got = c.jsonpath("pod/low", ".spec.priority") + "/" + c.jsonpath(
            "pod/low", ".spec.preemptionPolicy")
        expect(got == "7/Never", "priority: %r" % got)
    finally:
        c.k("delete", "priorityclass", "adm-low", ns=False, ok=None)
    # DefaultStorageClass: a claim without storageClassName gets the default class
    c.k("apply", "-f", c.file("""apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: adm-default-sc
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: example.com/none
"""), ns=False)
    try:
        c.k("apply", "-f", c.file("""apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: claim}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
"""))
        got = c.jsonpath("pvc/claim", ".spec.storageClassName")
        expect(got == "adm-default-sc", "storageClassName %r" % got)
    finally:
        c.k("delete", "storageclass", "adm-default-sc", ns=False, ok=None)


def case_terminating(c):
    c.k("create", "namespace", c.ns, ns=False)
    c.mk_cm("held", finalizers=["adm-test/hold"])
    try:
        c.k("delete", "namespace", c.ns, "--wait=false", ns=False)
        p = c.k("apply", "-f", c.file(PLAIN_POD % "late"), ok=False)
        expect_in('pods "late" is forbidden: unable to create new content in namespace %s '
                  'because it is being terminated' % c.ns, p.stderr, "kubectl's error")
    finally:
        c.k("patch", "configmap", "held", "--type=merge", "-p",
            '{"metadata":{"finalizers":null}}', ok=None)


def main():
    binary = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="adm-test-")
    failed = 0
    server = Server(binary, os.path.join(tmp, "data"))
    hook = None
    try:
        ca = make_certs(tmp)
        hook = start_hook(tmp)
        server.start()
        c = Ctx("/usr/bin/kubectl", server, tmp, "adm-x")
        cases = [("psa_enforce", lambda x: case_psa_enforce(x)),
                 ("psa_warn", lambda x: case_psa_warn(x)),
                 ("webhooks", lambda x: case_webhooks(x, hook.server_address[1], ca)),
                 ("quota", lambda x: case_quota(x)),
                 ("limitrange", lambda x: case_limitrange(x)),
                 ("serviceaccount", lambda x: case_serviceaccount(x)),
                 ("priority_storageclass", lambda x: case_priority_storageclass(x)),
                 ("terminating", lambda x: case_terminating(x))]
        for name, fn in cases:
            t0 = time.time()
            try:
                fn(ns_ctx(c, "adm-" + name.replace("_", "-")))
                print("ok %s (%.1fs)" % (name, time.time() - t0))
            except Fail as e:
                failed += 1
                print("FAIL %s: %s" % (name, e))
    except Fail as e:
        failed += 1
        print("FAIL setup: %s" % e)
    finally:
        if hook:
            hook.shutdown()
        try:
            server.stop()
        except Fail as e:
            print("FAIL %s" % e)
            failed += 1
    # the engine's flag turns a default plugin off
    if not failed:
        s2 = Server(binary, os.path.join(tmp, "data2"), ["--disable-admission-plugins",
                                                          "PodSecurity"])
        try:
            s2.start()
            c = Ctx("/usr/bin/kubectl", s2, tmp, "adm-off")
            c.k("create", "namespace", c.ns, ns=False)
            c.k("label", "namespace", c.ns, "pod-security.kubernetes.io/enforce=restricted",
                ns=False)
            c.k("apply", "-f", c.file(PRIV_POD % "priv"))
            print("ok disable_flag")
        except Fail as e:
            failed += 1
            print("FAIL disable_flag: %s" % e)
        finally:
            try:
                s2.stop()
            except Fail as e:
                print("FAIL %s" % e)
                failed += 1
    if failed:
        print("logs kept in %s" % tmp)
        log = os.path.join(tmp, "server.log")
        if os.path.exists(log):
            with open(log, errors="replace") as fh:
                print("".join(fh.readlines()[-30:]))
        sys.exit(1)
    shutil.rmtree(tmp, ignore_errors=True)
    print("admission: all passed")


if __name__ == "__main__":
    main()
