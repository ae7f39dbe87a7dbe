#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Encryption of Secrets at rest, the audit log and data-dir permissions, end to end: a real
`ckube server` (and `ckube apiserver` on a real etcd when /usr/bin/etcd exists) driven by the
real kubectl.

- A Secret written before encryption is on still reads (identity); with aesgcm on, a new
  Secret's unique value is in no file under the data dir (plain or base64), the store holds
  upstream's k8s:enc:aesgcm:v1:<key>: prefix, kubectl reads it, a restart reads it, and
  `kubectl get secrets -o json | kubectl replace -f -` re-encrypts the old one; then secretbox
  and aescbc (with the earlier keys still listed) the same way; a wrong key gives a clear error
  in the log and the server keeps serving.
- The audit log (--audit-policy-file, --audit-log-path outside the data dir): a Metadata event
  for a GET (no objects), a RequestResponse event with request and response objects for a
  create, the Audit-Id response header matching the event, a 401 event, omitted stages and
  rotation by --audit-log-maxsize/--audit-log-maxbackup.
- Modes: the data dir 0700; keys, tokens, the kubeconfig and the store's files 0600; wider
  modes left by someone else are tightened at start.

usage: encaudit.py CKUBE_BIN [--keep]
"""
import base64
import glob
import http.client
import json
import os
import secrets
import shutil
import ssl
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from ckubetest import Ctx, Fail, Server, expect, expect_in, free_port, kubectl_path, wait_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ETCD_RUN = os.path.join(HERE, "..", "etcd", "etcd-run.sh")
KUBECTL = kubectl_path("1.33") or "/usr/bin/kubectl"
KEY_A = base64.b64encode(b"encaudit-aesgcm-key-0123456789ab").decode()  # 32 bytes
KEY_A2 = base64.b64encode(b"encaudit-WRONG-key-0123456789abc").decode()
KEY_S = base64.b64encode(b"encaudit-secretbox-key-012345678").decode()
KEY_C = base64.b64encode(b"encaudit-aescbc-").decode()  # 16 bytes


def enc_config(path, providers):
    with open(path, "w") as f:
        f.write("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n"
                "resources:\n  - resources: [secrets]\n    providers:\n" + providers)
    return path


AESGCM = "      - aesgcm:\n          keys:\n            - name: key1\n              secret: %s\n" % KEY_A
AESGCM_WRONG = "      - aesgcm:\n          keys:\n            - name: key1\n              secret: %s\n" % KEY_A2
SECRETBOX = "      - secretbox:\n          keys:\n            - name: sb1\n              secret: %s\n" % KEY_S
AESCBC = "      - aescbc:\n          keys:\n            - name: cbc1\n              secret: %s\n" % KEY_C
IDENTITY = "      - identity: {}\n"

POLICY = """apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: None
    nonResourceURLs: ["/healthz*", "/readyz*", "/livez*"]
  - level: RequestResponse
    resources: [{group: "", resources: [configmaps]}]
    verbs: [create]
  - level: Metadata
    resources: [{group: "", resources: [secrets]}]
  - level: Request
    verbs: [watch]
    omitStages: [ResponseStarted]
  - level: Metadata
"""


def files_under(d):
    for root, _, names in os.walk(d):
        for n in names:
            p = os.path.join(root, n)
            if os.path.isfile(p) and not os.path.islink(p):
                yield p


def scan(d, needles):
    """Every file under d holding one of needles (bytes): [(path, needle)]."""
    hits = []
    for p in files_under(d):
        with open(p, "rb") as f:
            data = f.read()
        for n in needles:
            if n in data:
                hits.append((p, n))
    return hits


def count_in(d, needle):
    n = 0
    for p in files_under(d):
        with open(p, "rb") as f:
            n += f.read().count(needle)
    return n


def forms(value):
    v = value.encode()
    return [v, base64.b64encode(v)]


class Run:
    def __init__(self, ckube, work):
        self.ckube, self.work = ckube, work
        self.data = os.path.join(work, "data")
        self.audit = os.path.join(work, "audit", "audit.log")
        os.makedirs(os.path.dirname(self.audit), exist_ok=True)
        self.policy = os.path.join(work, "policy.yaml")
        with open(self.policy, "w") as f:
            f.write(POLICY)
        self.srv = None
        self.ctx = None

    def start(self, enc=None, audit_args=()):
        args = []
        if enc:
            args += ["--encryption-provider-config", enc]
        args += list(audit_args)
        self.srv = Server(self.ckube, self.data, args)
        self.srv.start()
        self.ctx = Ctx(KUBECTL, self.srv, self.work, "default")
        return self.ctx

    def stop(self):
        if self.srv:
            self.srv.stop()
            self.srv = None

    def secret(self, name, value):
        self.ctx.k("create", "secret", "generic", name, "--from-literal=pw=" + value)

    def read(self, name):
        return base64.b64decode(self.ctx.jsonpath("secret/" + name, ".data.pw")).decode()


def phase_encryption(r):
    old, new1, new2, new3 = ("encaudit-%s-%s" % (w, secrets.token_hex(12))
                             for w in ("old", "gcm", "sbox", "cbc"))
    # written before encryption is on
    r.start()
    r.secret("encaudit-old", old)
    r.stop()
    # the scan itself must see a value stored without encryption (else it proves nothing)
    expect(scan(r.data, forms(old)), "the file scan misses a Secret stored in plain text")

    # aesgcm (identity listed: the old Secret still reads)
    gcm = enc_config(os.path.join(r.work, "gcm.yaml"), AESGCM + IDENTITY)
    r.start(gcm)
    expect(r.read("encaudit-old") == old, "the Secret written before encryption does not read")
    r.secret("encaudit-gcm", new1)
    expect(r.read("encaudit-gcm") == new1, "kubectl get does not show the aesgcm Secret's value")
    hits = scan(r.data, forms(new1))
    expect(not hits, "the aesgcm Secret's value is in plain text in the data dir: %s" % hits)
    before = count_in(r.data, b"k8s:enc:aesgcm:v1:key1:")
    expect(before >= 1, "the store holds no k8s:enc:aesgcm:v1:key1: value")
    # re-encrypt everything, as upstream's documentation says
    out = r.ctx.out("get", "secrets", "-o", "json")
    r.ctx.k("replace", "-f", "-", stdin=out)
    after = count_in(r.data, b"k8s:enc:aesgcm:v1:key1:")
    expect(after >= before + 1, "replace did not re-encrypt (aesgcm values %d -> %d)" % (before, after))
    r.stop()
    r.start(gcm)
    expect(r.read("encaudit-gcm") == new1, "after a restart the aesgcm Secret does not read")
    expect(r.read("encaudit-old") == old, "after a restart the re-encrypted Secret does not read")
    r.stop()
    print("ok: aesgcm (identity fallback, re-encryption by replace, restart)", flush=True)

    # secretbox first, aesgcm still listed for what it wrote
    sb = enc_config(os.path.join(r.work, "sb.yaml"), SECRETBOX + AESGCM + IDENTITY)
    r.start(sb)
    expect(r.read("encaudit-gcm") == new1, "secretbox config: the aesgcm Secret does not read")
    r.secret("encaudit-sbox", new2)
    expect(r.read("encaudit-sbox") == new2, "kubectl get does not show the secretbox Secret")
    hits = scan(r.data, forms(new2) + forms(new1))
    expect(not hits, "a Secret's value is in plain text in the data dir: %s" % hits)
    expect(count_in(r.data, b"k8s:enc:secretbox:v1:sb1:") >= 1, "no secretbox value in the store")
    r.stop()
    print("ok: secretbox (key rotation from aesgcm)", flush=True)

    # aescbc first
    cbc = enc_config(os.path.join(r.work, "cbc.yaml"), AESCBC + SECRETBOX + AESGCM + IDENTITY)
    r.start(cbc)
    r.secret("encaudit-cbc", new3)
    expect(r.read("encaudit-cbc") == new3, "kubectl get does not show the aescbc Secret")
    expect(r.read("encaudit-sbox") == new2, "aescbc config: the secretbox Secret does not read")
    hits = scan(r.data, forms(new3) + forms(new2) + forms(new1))
    expect(not hits, "a Secret's value is in plain text in the data dir: %s" % hits)
    expect(count_in(r.data, b"k8s:enc:aescbc:v1:cbc1:") >= 1, "no aescbc value in the store")
    r.stop()
    print("ok: aescbc", flush=True)

    # the wrong key under the right name: a clear error, no crash, the server keeps serving
    wrong = enc_config(os.path.join(r.work, "wrong.yaml"), AESGCM_WRONG)
    log = os.path.join(r.work, "server.log")
    size = os.path.getsize(log)
    r.start(wrong)
    p = r.ctx.k("get", "secret", "encaudit-gcm", ok=False)
    expect(new1 not in p.stdout, "a wrong key still read the value")
    expect(r.ctx.out("get", "configmaps", "-A", "-o", "name") is not None, "the server stopped serving")
    with open(log, "rb") as f:
        f.seek(size)
        tail = f.read().decode(errors="replace")
    expect_in('unable to transform key "/registry/core/secrets/default/encaudit-gcm"', tail,
              "the server log")
    expect_in("cipher: message authentication failed", tail, "the server log")
    r.stop()
    print("ok: a wrong key is a clear error", flush=True)


def phase_modes(r):
    # loosen what an earlier version might have left, then start: tightened
    os.chmod(r.data, 0o755)
    for n in ("token", "ca.key", "apiserver.key"):
        p = os.path.join(r.data, n)
        if os.path.exists(p):
            os.chmod(p, 0o644)
    r.start()
    bad = []
    mode = lambda p: stat.S_IMODE(os.stat(p).st_mode)  # noqa: E731
    if mode(r.data) != 0o700:
        bad.append("%s %o" % (r.data, mode(r.data)))
    secret_names = [p for p in glob.glob(os.path.join(r.data, "*"))
                    if p.endswith((".key", ".pem")) or os.path.basename(p) in
                    ("token", "kubeconfig.yaml", "join-command")]
    expect(len(secret_names) >= 4, "too few key/token files to check: %s" % secret_names)
    for p in secret_names + glob.glob(os.path.join(r.data, "store", "*")):
        want = 0o700 if os.path.isdir(p) else 0o600
        if mode(p) & 0o077 or (mode(p) != want and not os.path.isdir(p)):
            bad.append("%s %o" % (p, mode(p)))
    if mode(os.path.join(r.data, "store")) != 0o700:
        bad.append("store %o" % mode(os.path.join(r.data, "store")))
    expect(not bad, "wrong modes after ckube server started: %s" % bad)
    r.stop()
    print("ok: modes (0700 data dir, 0600 keys/tokens/kubeconfig/store files)", flush=True)


def events(path):
    out = []
    for p in sorted(glob.glob(os.path.join(os.path.dirname(path), "*"))):
        with open(p) as f:
            for line in f:
                out.append(json.loads(line))
    return out


def phase_audit(r):
    args = ["--audit-policy-file", r.policy, "--audit-log-path", r.audit,
            "--audit-log-maxsize", "1", "--audit-log-maxbackup", "1"]
    ctx = r.start(os.path.join(r.work, "cbc.yaml"), args)
    ctx.k("get", "secret", "encaudit-old", "-o", "name")
    val = "v-" + secrets.token_hex(8)
    ctx.k("create", "configmap", "encaudit-cm", "--from-literal=k=" + val)
    # a request by hand: the Audit-Id header, then one without valid credentials
    tls = ssl._create_unverified_context()
    with open(os.path.join(r.data, "token")) as f:
        token = f.read().strip()
    c = http.client.HTTPSConnection("127.0.0.1", r.srv.sport, context=tls, timeout=10)
    c.request("GET", "/api/v1/namespaces/default/configmaps/encaudit-cm",
              headers={"Authorization": "Bearer " + token,
                       "X-Forwarded-For": "10.1.2.3, bogus, 10.1.2.4"})
    resp = c.getresponse()
    resp.read()
    audit_id = resp.getheader("Audit-Id")
    expect(resp.status == 200 and audit_id, "no Audit-Id header on a GET (%d)" % resp.status)
    c.request("GET", "/api/v1/namespaces", headers={"Authorization": "Bearer wrong-token"})
    resp = c.getresponse()
    resp.read()
    expect(resp.status == 401, "a wrong token got %d" % resp.status)

    def have():
        evs = events(r.audit)
        return evs if any(e.get("auditID") == audit_id for e in evs) and \
            any(e["responseStatus"]["code"] == 401 for e in evs if "responseStatus" in e) else None
    evs = wait_for("the audit events", have, timeout=10)
    for e in evs:
        expect(e["kind"] == "Event" and e["apiVersion"] == "audit.k8s.io/v1", "not an Event: %s" % e)
        expect(e["stage"] != "RequestReceived", "an omitted stage was written: %s" % e)
        expect(not e.get("requestURI", "").startswith("/readyz"), "a None-level request was logged")
    get = [e for e in evs if e["verb"] == "get" and e.get("objectRef", {}).get("name") == "encaudit-old"]
    expect(get, "no event for kubectl get secret")
    g = get[0]
    expect(g["level"] == "Metadata" and g["stage"] == "ResponseComplete", "GET event: %s" % g)
    expect(g["objectRef"] == {"resource": "secrets", "namespace": "default", "name": "encaudit-old",
                              "apiVersion": "v1"}, "GET objectRef: %s" % g["objectRef"])
    expect("requestObject" not in g and "responseObject" not in g, "Metadata event with objects")
    expect(g["responseStatus"]["code"] == 200, "GET responseStatus: %s" % g["responseStatus"])
    expect(g["user"]["username"] in ("system:admin", "kubernetes-admin") and
           "system:masters" in g["user"]["groups"],
           "GET user: %s" % g["user"])
    expect(g["sourceIPs"] == ["127.0.0.1"] and g["userAgent"].startswith("kubectl"),
           "GET source: %s %s" % (g["sourceIPs"], g.get("userAgent")))
    expect(g["annotations"].get("authorization.k8s.io/decision") == "allow", "GET decision")
    expect(g["requestReceivedTimestamp"] <= g["stageTimestamp"], "timestamps out of order")
    cr = [e for e in evs if e["verb"] == "create" and e.get("objectRef", {}).get("resource") == "configmaps"
          and e["objectRef"].get("namespace") == "default"]
    expect(cr, "no event for kubectl create configmap")
    c0 = cr[0]
    expect(c0["level"] == "RequestResponse", "create event level %s" % c0["level"])
    expect(c0["objectRef"].get("name") == "encaudit-cm", "create objectRef: %s" % c0["objectRef"])
    expect(c0["requestObject"]["data"]["k"] == val, "create requestObject: %s" % c0.get("requestObject"))
    expect(c0["responseObject"]["metadata"]["uid"], "create responseObject lacks the uid")
    expect(c0["responseStatus"]["code"] == 201, "create responseStatus: %s" % c0["responseStatus"])
    # a watch: Request level with ResponseStarted omitted, ResponseComplete when it ends
    w = ctx.k("get", "configmaps", "--watch", "--request-timeout=2s", ok=None)
    expect("encaudit-cm" in w.stdout, "the watch did not list: %s %s" % (w.stdout, w.stderr))
    watches = wait_for("the watch's event", lambda: [e for e in events(r.audit) if e["verb"] == "watch"],
                       timeout=10)
    expect(all(e["stage"] == "ResponseComplete" and e["level"] == "Request" for e in watches),
           "watch events: %s" % watches)
    mine = [e for e in evs if e["auditID"] == audit_id]
    expect(len(mine) == 1 and mine[0]["level"] == "Metadata" and "responseObject" not in mine[0],
           "the Audit-Id header's event: %s" % mine)
    expect(mine[0]["sourceIPs"] == ["10.1.2.3", "10.1.2.4", "127.0.0.1"],
           "sourceIPs with X-Forwarded-For: %s" % mine[0]["sourceIPs"])
    bad = [e for e in evs if e["responseStatus"]["code"] == 401]
    expect(bad[0]["user"] == {} and bad[0]["requestURI"] == "/api/v1/namespaces", "401 event: %s" % bad[0])
    print("ok: audit events (Metadata GET, RequestResponse create, Audit-Id, 401)", flush=True)

    # rotation: > 1 MiB of events, at most one backup kept beside the live file
    for i in range(3000):
        c.request("GET", "/api/v1/namespaces/default/configmaps/encaudit-cm?n=%d" % i,
                  headers={"Authorization": "Bearer " + token})
        rr = c.getresponse()
        rr.read()
    c.close()

    def rotated():
        names = os.listdir(os.path.dirname(r.audit))
        return names if len(names) == 2 else None
    names = wait_for("a rotated audit log", rotated, timeout=20)
    expect("audit.log" in names and any(n.startswith("audit-") and n.endswith(".log") for n in names),
           "rotated names: %s" % names)
    for n in names:
        p = os.path.join(os.path.dirname(r.audit), n)
        expect(os.path.getsize(p) <= (1 << 20) + 4096, "%s is over --audit-log-maxsize" % n)
        expect(stat.S_IMODE(os.stat(p).st_mode) == 0o600, "%s is not 0600" % n)
    r.stop()
    print("ok: audit log rotation (%s)" % ", ".join(sorted(names)), flush=True)


def phase_etcd(ckube, work):
    if not os.access("/usr/bin/etcd", os.X_OK):
        print("SKIP: etcd variant (no /usr/bin/etcd)", flush=True)
        return
    ed = os.path.join(work, "etcd")
    url = subprocess.run([ETCD_RUN, "start", ed], check=True, capture_output=True, text=True,
                         timeout=60).stdout.strip()
    proc = None
    try:
        gcm = enc_config(os.path.join(work, "etcd-gcm.yaml"), AESGCM + IDENTITY)
        port = free_port()
        adir = os.path.join(work, "etcd-api")
        log = open(os.path.join(work, "etcd-api.log"), "ab")
        proc = subprocess.Popen([ckube, "apiserver", "--data-dir", adir, "--secure-port", "0",
                                 "--insecure-port", str(port), "--etcd-servers", url,
                                 "--etcd-prefix", "/encaudit", "--encryption-provider-config", gcm],
                                stdout=log, stderr=log)

        def ready():
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/readyz")
                return c.getresponse().status == 200
            except OSError:
                return False
        wait_for("the etcd API server", ready, timeout=30)
        val = "encaudit-etcd-" + secrets.token_hex(12)
        body = json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "encaudit-etcd"},
                           "stringData": {"pw": val}})
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("POST", "/api/v1/namespaces/default/secrets", body=body,
                  headers={"Content-Type": "application/json"})
        resp = c.getresponse()
        resp.read()
        expect(resp.status == 201, "etcd: create Secret got %d" % resp.status)
        c.request("GET", "/api/v1/namespaces/default/secrets/encaudit-etcd")
        got = json.loads(c.getresponse().read())
        expect(base64.b64decode(got["data"]["pw"]).decode() == val, "etcd: the Secret does not read")
        # etcd wrote it durably before answering; scan its data (WAL and snapshot files)
        hits = scan(ed, forms(val))
        expect(not hits, "etcd: the Secret's value is in plain text in etcd's files: %s" % hits)
        expect(count_in(ed, b"k8s:enc:aesgcm:v1:key1:") >= 1, "etcd: no aesgcm value in etcd's files")
        print("ok: etcd backend (aesgcm, nothing plain in etcd's data dir)", flush=True)
    finally:
        if proc:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        subprocess.run([ETCD_RUN, "stop", ed], check=False, timeout=30)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    ckube = os.path.abspath(sys.argv[1])
    keep = "--keep" in sys.argv
    work = tempfile.mkdtemp(prefix="encaudit-")
    r = Run(ckube, work)
    rc = 0
    try:
        phase_encryption(r)
        phase_audit(r)
        phase_modes(r)
        phase_etcd(ckube, work)
        print("PASS", flush=True)
    except Fail as e:
        print("FAIL: %s\n(work dir %s)" % (e, work), flush=True)
        rc = 1
        keep = True
    finally:
        try:
            r.stop()
        except Fail as e:
            print("FAIL: %s" % e, flush=True)
            rc = 1
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
