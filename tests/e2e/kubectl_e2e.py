#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""kubectl-driven end-to-end tests: start a fresh `ckube server` on a temporary data dir with
free ports, wait for /readyz, and run the REAL kubectl (1.27 and 1.33 by default) against it,
asserting on its actual output. Ends with a restart test (kill -9, restart on the same data dir,
every object, uid and resourceVersion is back).

usage: kubectl_e2e.py CKUBE_BIN [--kubectl PATH ...] [--only CASE,...] [--run-skipped]
Cases listed in SKIP print "SKIP <case>: <reason>" and are not run (unless --run-skipped);
the exit status is non-zero if any enabled case fails."""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

KUBECTLS = ["/usr/lib/google-cloud-sdk/bin/kubectl.1.27", "/usr/lib/google-cloud-sdk/bin/kubectl.1.33"]

# Cases that do not pass yet, with the reason. Keys are "case" (every kubectl) or
# "case@1.33" (one kubectl). Keep this list honest: run with --run-skipped to see which of
# them work now, and remove them here when they do.
SKIP = {}


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from ckubetest import Ctx, Fail, Server, expect, expect_in, expect_re, free_port  # noqa: E402


def cm_yaml(name, ns, data=None, labels=None, extra=""):
    s = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\n" % (name, ns)
    if labels:
        s += "  labels:\n" + "".join("    %s: %s\n" % (k, json.dumps(str(v))) for k, v in labels.items())
    s += extra
    if data:
        # quoted: an unquoted 1 is a YAML number, which the API (like upstream) refuses for data
        s += "data:\n" + "".join("  %s: %s\n" % (k, json.dumps(str(v))) for k, v in data.items())
    return s


def deploy_yaml(name, ns, image="nginx:1.25", replicas=1, extra_spec=""):
    return ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\n  namespace: %s\n"
            "spec:\n  replicas: %d\n  selector:\n    matchLabels:\n      app: %s\n%s"
            "  template:\n    metadata:\n      labels:\n        app: %s\n    spec:\n"
            "      containers:\n      - name: c\n        image: %s\n"
            % (name, ns, replicas, name, extra_spec, name, image))


# ---- cases ------------------------------------------------------------------------------

def case_version(c):
    v = json.loads(c.out("version", "-o", "json", ns=False))
    sv = v.get("serverVersion") or {}
    expect(re.match(r"v1\.\d+\.\d+", sv.get("gitVersion", "")), "serverVersion.gitVersion: %r" % sv)
    expect(sv.get("platform", "").startswith("linux/"), "serverVersion.platform: %r" % sv)


def case_api_resources(c):
    o = c.out("api-resources", ns=False)
    expect_re(r"^NAME\s+SHORTNAMES\s+APIVERSION\s+NAMESPACED\s+KIND", o)
    expect_re(r"^pods\s+po\s+v1\s+true\s+Pod$", o)
    expect_re(r"^namespaces\s+ns\s+v1\s+false\s+Namespace$", o)
    expect_re(r"^deployments\s+deploy\s+apps/v1\s+true\s+Deployment$", o)
    expect_re(r"^configmaps\s+cm\s+v1\s+true\s+ConfigMap$", o)
    o = c.out("api-resources", "--namespaced=false", "-o", "name", ns=False)
    expect_in("namespaces\n", o)
    expect("pods\n" not in o, "pods listed as cluster-scoped:\n" + o)


def case_api_versions(c):
    lines = c.out("api-versions", ns=False).split()
    for gv in ("v1", "apps/v1", "batch/v1"):
        expect(gv in lines, "api-versions lacks %s: %s" % (gv, lines))


def case_get_empty(c):
    p = c.k("get", "pods")
    expect(p.stdout == "", "stdout not empty: %r" % p.stdout)
    expect_in("No resources found in %s namespace." % c.ns, p.stderr, "stderr")


def case_create_and_get_outputs(c):
    f = c.file(cm_yaml("out1", c.ns, {"k": "v"}, {"tier": "web"}))
    expect_in("configmap/out1 created", c.out("create", "-f", f))
    expect(c.out("get", "cm", "out1", "-o", "name").strip() == "configmap/out1", "-o name")
    o = json.loads(c.out("get", "cm", "out1", "-o", "json"))
    expect(o["kind"] == "ConfigMap" and o["data"] == {"k": "v"}, "-o json: %r" % o)
    expect(o["metadata"]["namespace"] == c.ns and o["metadata"]["uid"], "metadata: %r" % o)
    expect(re.match(r"^\d+$", o["metadata"]["resourceVersion"]), "resourceVersion")
    expect(o["metadata"]["labels"] == {"tier": "web"}, "labels")
    y = c.out("get", "cm", "out1", "-o", "yaml")
    expect_re(r"^  name: out1$", y)
    expect_re(r"^kind: ConfigMap$", y)
    t = c.out("get", "cm", "out1")
    expect_re(r"^NAME\s+DATA\s+AGE$", t)
    expect_re(r"^out1\s+1\s+\d+s$", t)
    pod = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: wide1\n  namespace: %s\nspec:\n"
           "  containers:\n  - name: c\n    image: busybox\n" % c.ns)
    expect_in("pod/wide1 created", c.out("create", "-f", c.file(pod)))
    w = c.out("get", "pod", "wide1", "-o", "wide")
    expect_re(r"^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$", w)
    expect_re(r"^wide1\s+0/1\s+Pending\s+0\s+\S+\s+<none>\s+<none>\s+<none>\s+<none>$", w)


def case_get_selectors(c):
    for n, app in (("sel-a1", "a"), ("sel-a2", "a"), ("sel-b1", "b")):
        c.mk_cm(n, {"x": "1"}, {"app": app})
    o = c.out("get", "cm", "-l", "app=a", "-o", "name").split()
    expect(sorted(o) == ["configmap/sel-a1", "configmap/sel-a2"], "-l app=a: %s" % o)
    o = c.out("get", "cm", "-l", "app!=a,app", "-o", "name").split()
    expect(o == ["configmap/sel-b1"], "-l app!=a,app: %s" % o)
    o = c.out("get", "cm", "--field-selector", "metadata.name=sel-a2", "-o", "name").split()
    expect(o == ["configmap/sel-a2"], "--field-selector: %s" % o)
    o = c.out("get", "cm", "-A", "-l", "app")
    expect_re(r"^NAMESPACE\s+NAME\s+DATA\s+AGE$", o)
    expect_re(r"^%s\s+sel-b1\s+1\s+" % re.escape(c.ns), o)


def case_get_chunked(c):
    for i in range(5):
        c.mk_cm("chunk%d" % i, {"i": str(i)}, {"case": "chunk"})
    p = c.k("get", "cm", "-l", "case=chunk", "--chunk-size=2", "-o", "name", "-v=6")
    names = [n for n in p.stdout.split() if n.startswith("configmap/chunk")]
    expect(names == ["configmap/chunk%d" % i for i in range(5)], "chunked list: %s" % p.stdout)
    expect_in("limit=2", p.stderr, "kubectl -v=6 log")
    expect_re(r"continue=", p.stderr, "kubectl -v=6 log")


def case_apply(c):
    f = c.file(cm_yaml("ap1", c.ns, {"a": "1"}))
    expect_in("configmap/ap1 created", c.out("apply", "-f", f))
    f2 = c.file(cm_yaml("ap1", c.ns, {"a": "2", "b": "3"}))
    expect_in("configmap/ap1 configured", c.out("apply", "-f", f2))
    expect(c.jsonpath("cm/ap1", ".data.a") == "2", "data.a after apply")
    expect(c.jsonpath("cm/ap1", ".data.b") == "3", "data.b after apply")
    expect_in("configmap/ap1 unchanged", c.out("apply", "-f", f2))
    expect_in("configmap/ap1 unchanged", c.out("apply", "-f", f2))
    # removing a key that apply set removes it (last-applied three-way merge)
    expect_in("configmap/ap1 configured", c.out("apply", "-f", c.file(cm_yaml("ap1", c.ns, {"a": "2"}))))
    expect(c.jsonpath("cm/ap1", ".data.b") == "", "data.b should be pruned")


def case_apply_deployment(c):
    f = c.file(deploy_yaml("apd", c.ns))
    expect_in("deployment.apps/apd created", c.out("apply", "-f", f))
    expect_in("deployment.apps/apd unchanged", c.out("apply", "-f", f))
    f2 = c.file(deploy_yaml("apd", c.ns, image="nginx:1.26", replicas=2))
    expect_in("deployment.apps/apd configured", c.out("apply", "-f", f2))
    expect(c.jsonpath("deploy/apd", ".spec.template.spec.containers[0].image") == "nginx:1.26", "image")
    expect(c.jsonpath("deploy/apd", ".spec.replicas") == "2", "replicas")


def case_edit(c):
    c.mk_cm("ed1", {"foo": "bar"})
    ed = os.path.join(c.workdir, "editor.sh")
    with open(ed, "w") as f:
        f.write("#!/bin/sh\nsed -i 's/foo: bar/foo: edited/' \"$1\"\n")
    os.chmod(ed, 0o755)
    expect_in("configmap/ed1 edited", c.out("edit", "cm/ed1", env={"KUBE_EDITOR": ed}))
    expect(c.jsonpath("cm/ed1", ".data.foo") == "edited", "edit did not apply")


def case_label_annotate(c):
    c.mk_cm("la1", {"a": "b"})
    expect_in("configmap/la1 labeled", c.out("label", "cm", "la1", "team=red"))
    expect(c.jsonpath("cm/la1", ".metadata.labels.team") == "red", "label")
    p = c.k("label", "cm", "la1", "team=blue", ok=False)
    expect_in("already has a value", p.stderr, "stderr")
    expect_in("configmap/la1 labeled", c.out("label", "cm", "la1", "team=blue", "--overwrite"))
    expect_in("configmap/la1 unlabeled", c.out("label", "cm", "la1", "team-"))
    expect_re(r"^configmap/la1 annotated?$", c.out("annotate", "cm", "la1", "note=hello world"))  # 1.27 prints "annotate"
    expect(c.jsonpath("cm/la1", ".metadata.annotations.note") == "hello world", "annotation")


def case_scale_set_image(c):
    c.mk_deploy("sc1")
    expect_in("deployment.apps/sc1 scaled", c.out("scale", "deployment", "sc1", "--replicas=3"))
    expect(c.jsonpath("deploy/sc1", ".spec.replicas") == "3", "replicas after scale")
    expect_in("deployment.apps/sc1 image updated", c.out("set", "image", "deployment/sc1", "c=nginx:9"))
    expect(c.jsonpath("deploy/sc1", ".spec.template.spec.containers[0].image") == "nginx:9", "image")


def case_patch(c):
    c.mk_cm("pt1", {"k1": "v1"})
    expect_in("configmap/pt1 patched", c.out("patch", "cm", "pt1", "--type=json",
                                             "-p", '[{"op":"add","path":"/data/k2","value":"v2"}]'))
    expect(c.jsonpath("cm/pt1", ".data.k2") == "v2", "json patch")
    expect_in("configmap/pt1 patched", c.out("patch", "cm", "pt1", "--type=merge",
                                             "-p", '{"data":{"k1":null,"k3":"v3"}}'))
    expect(c.jsonpath("cm/pt1", ".data.k1") == "" and c.jsonpath("cm/pt1", ".data.k3") == "v3", "merge patch")
    c.mk_deploy("pt2")
    sp = '{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"busybox"}]}}}}'
    expect_in("deployment.apps/pt2 patched", c.out("patch", "deploy", "pt2", "--type=strategic", "-p", sp))
    names = c.jsonpath("deploy/pt2", ".spec.template.spec.containers[*].name").split()
    expect(sorted(names) == ["c", "side"], "strategic merge by name: %s" % names)
    p = c.k("patch", "cm", "pt1", "--type=json", "-p", '[{"op":"test","path":"/data/k3","value":"x"}]', ok=False)
    expect_re(r"The request is invalid|Error from server", p.stderr, "stderr")
    expect(c.jsonpath("cm/pt1", ".data.k3") == "v3", "failed patch changed the object")


def case_delete(c):
    for n, l in (("d1", "x"), ("d2", "y"), ("d3", "y"), ("d4", "z")):
        c.mk_cm(n, {"a": "b"}, {"grp": l})
    expect_re(r'^configmap "d1" deleted', c.out("delete", "cm", "d1"))
    o = c.out("delete", "cm", "-l", "grp=y")
    expect_re(r'^configmap "d2" deleted', o)
    expect_re(r'^configmap "d3" deleted', o)
    c.k("get", "cm", "d2", ok=False)
    expect_re(r'^configmap "d4" deleted', c.out("delete", "cm", "--all"))
    p = c.k("get", "cm")
    expect_in("No resources found", p.stderr, "stderr")


def case_finalizers(c):
    c.mk_cm("fin1", {"a": "b"}, finalizers=["example.com/hold"])
    expect_re(r'^configmap "fin1" deleted', c.out("delete", "cm", "fin1", "--wait=false"))
    ts = c.jsonpath("cm/fin1", ".metadata.deletionTimestamp")
    expect(re.match(r"\d{4}-\d\d-\d\dT", ts), "deletionTimestamp not set: %r" % ts)
    c.out("patch", "cm", "fin1", "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
    deadline = time.time() + 10
    while time.time() < deadline:
        if c.k("get", "cm", "fin1", ok=None).returncode != 0:
            return
        time.sleep(0.2)
    raise Fail("object with removed finalizers was not deleted")


def case_get_watch(c):
    c.mk_cm("w0", {"a": "b"}, {"case": "watch"})
    cmd = [c.kubectl, "--cache-dir", os.path.join(c.workdir, "cache"), "-n", c.ns, "get", "cm", "-w", "-l", "case=watch",
           "--request-timeout=20s"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=c.env)
    try:
        first = p.stdout.readline()
        expect_re(r"^NAME\s+DATA\s+AGE", first, "first watch line")
        seen = p.stdout.readline()
        expect_re(r"^w0\s+1\s+", seen, "initial list line")
        c.mk_cm("w1", {"a": "b"}, {"case": "watch"})
        line = p.stdout.readline()
        expect_re(r"^w1\s+1\s+", line, "watch event line")
        c.out("label", "cm", "w0", "x=y")
        line = p.stdout.readline()
        expect_re(r"^w0\s+1\s+", line, "watch modify line")
    finally:
        p.kill()
        p.communicate()


def case_wait_delete(c):
    c.mk_cm("wd1", {"a": "b"})
    bg = subprocess.Popen(["sh", "-c", "sleep 1; %s -n %s delete cm wd1" % (c.kubectl, c.ns)],
                          env=c.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        o = c.out("wait", "--for=delete", "cm/wd1", "--timeout=20s")
        expect_in("configmap/wd1 condition met", o)
    finally:
        bg.wait()


def case_describe(c):
    c.mk_cm("ds1", {"key1": "val1"})
    o = c.out("describe", "cm", "ds1")
    expect_re(r"^Name:\s+ds1$", o)
    expect_re(r"^Namespace:\s+%s$" % re.escape(c.ns), o)
    expect_in("key1", o)
    expect_in("val1", o)


def case_describe_workloads(c):
    """describe for the kinds operators look at most: pods, deployments, nodes."""
    c.server.post("/api/v1/namespaces/%s/pods" % c.ns, {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "dp1", "labels": {"app": "dp"}},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}})
    o = c.out("describe", "pod", "dp1")
    expect_re(r"^Name:\s+dp1$", o)
    expect_re(r"^Status:\s+Pending$", o)
    expect_re(r"^\s+Image:\s+nginx:1.25$", o)
    c.mk_deploy("dd1")
    o = c.out("describe", "deployment", "dd1")
    expect_re(r"^Name:\s+dd1$", o)
    expect_re(r"^StrategyType:\s+RollingUpdate$", o)
    expect_re(r"^Replicas:\s+1 desired", o)
    node = "e2e-node-%s" % c.ns
    c.server.post("/api/v1/nodes", {
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": node, "labels": {"kubernetes.io/os": "linux"}},
        "status": {"capacity": {"cpu": "2", "memory": "4Gi", "pods": "110"}}})
    o = c.out("describe", "node", node, ns=False)
    expect_re(r"^Name:\s+%s$" % re.escape(node), o)
    expect_in("kubernetes.io/os=linux", o)
    c.k("delete", "node", node, ns=False)


def case_get_every_resource(c):
    """`kubectl get <r>` succeeds for every listable resource the server advertises."""
    names = c.out("api-resources", "--verbs=list", "-o", "name").split()
    expect(len(names) > 20, "too few listable resources: %r" % names)
    for r in names:
        p = c.k("get", r, "-A", ok=None, ns=False)
        expect(p.returncode == 0, "get %s failed: %s" % (r, p.stderr.strip()[:300]))


def case_create_generators(c):
    ns2 = c.ns + "-gen"
    expect_in("namespace/%s created" % ns2, c.out("create", "namespace", ns2, ns=False))
    expect_in("configmap/g1 created", c.out("create", "configmap", "g1", "--from-literal=a=1"))
    expect_in("secret/s1 created", c.out("create", "secret", "generic", "s1", "--from-literal=pw=hunter2"))
    expect(c.jsonpath("secret/s1", ".data.pw") == "aHVudGVyMg==", "secret data base64")
    expect_in("deployment.apps/gd1 created", c.out("create", "deployment", "gd1", "--image=nginx"))
    expect_in("job.batch/gj1 created", c.out("create", "job", "gj1", "--image=busybox", "--", "true"))
    o = c.out("get", "namespace", ns2, ns=False)
    expect_re(r"^%s\s+Active\s+" % re.escape(ns2), o)


def case_explain(c):
    o = c.out("explain", "pods.spec.containers", ns=False)
    expect_re(r"^KIND:\s+Pod", o)
    expect_in("FIELDS:", o)
    expect_in("image", o)


def case_unknown_field(c):
    f = c.file(deploy_yaml("uf1", c.ns, extra_spec="  bogusField: 1\n"))
    p = c.k("apply", "-f", f, ok=False)
    expect_in('unknown field "spec.bogusField"', p.stderr, "stderr")


def case_get_all(c):
    c.mk_deploy("ga1")
    o = c.out("get", "all")
    expect_re(r"^deployment\.apps/ga1\s+", o)


def case_dry_run(c):
    o = c.out("create", "configmap", "dr1", "--from-literal=a=b", "--dry-run=server")
    expect_in("configmap/dr1 created (server dry run)", o)
    p = c.k("get", "cm", "dr1", ok=False)
    expect_in('configmaps "dr1" not found', p.stderr, "stderr")


def case_errors(c):
    f = c.file(cm_yaml("er1", c.ns, {"a": "b"}))
    c.out("create", "-f", f)
    p = c.k("create", "-f", f, ok=False)
    expect_in("Error from server (AlreadyExists)", p.stderr, "stderr")
    expect_in('configmaps "er1" already exists', p.stderr, "stderr")
    p = c.k("get", "cm", "nope-nope", ok=False)
    expect_in('Error from server (NotFound): configmaps "nope-nope" not found', p.stderr, "stderr")
    o = json.loads(c.out("get", "cm", "er1", "-o", "json"))
    c.out("label", "cm", "er1", "bump=1")
    o["data"]["a"] = "stale"
    p = c.k("replace", "-f", c.file(json.dumps(o)), ok=False)
    expect_in("Error from server (Conflict)", p.stderr, "stderr")
    p = c.k("create", "-f", c.file(cm_yaml("Bad_Name", c.ns, {"a": "b"})), ok=False)
    expect_in('The ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"', p.stderr, "stderr")
    p = c.k("get", "nosuchkind", ok=False)
    expect_in("the server doesn't have a resource type \"nosuchkind\"", p.stderr, "stderr")


def case_raw_endpoints(c):
    o = c.out("get", "--raw", "/readyz?verbose", ns=False)
    expect_in("[+]ping ok", o)
    expect_in("readyz check passed", o)
    expect(c.out("get", "--raw", "/livez", ns=False) == "ok", "/livez")
    m = c.out("get", "--raw", "/metrics", ns=False)
    expect_re(r'^ckube_http_requests_total\{method="GET",code="200"\} \d+$', m, "/metrics")
    expect_re(r"^ckube_http_request_duration_seconds_count \d+$", m, "/metrics")


def case_replace_delete_f(c):
    f = c.file(cm_yaml("rp1", c.ns, {"a": "1"}))
    c.mk_cm("rp1", {"a": "0"})
    expect_in("configmap/rp1 replaced", c.out("replace", "-f", f))
    expect(c.jsonpath("cm/rp1", ".data.a") == "1", "replace did not apply")
    expect_re(r'^configmap "rp1" deleted', c.out("delete", "-f", f))
    c.k("get", "cm", "rp1", ok=False)


def case_server_side_apply(c):
    f = c.file(cm_yaml("ssa1", c.ns, {"a": "1"}))
    expect_in("configmap/ssa1 serverside-applied", c.out("apply", "--server-side", "-f", f))
    mf = json.loads(c.out("get", "cm", "ssa1", "-o", "json", "--show-managed-fields"))
    managers = [m.get("manager") for m in mf["metadata"].get("managedFields", [])]
    expect("kubectl" in managers, "managedFields managers: %s" % managers)
    f2 = c.file(cm_yaml("ssa1", c.ns, {"a": "2"}))
    p = c.k("apply", "--server-side", "--field-manager=other", "-f", f2, ok=False)
    expect_in("conflict", p.stderr.lower(), "stderr")
    expect_in("configmap/ssa1 serverside-applied",
              c.out("apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", f2))
    expect(c.jsonpath("cm/ssa1", ".data.a") == "2", "forced apply")


def case_namespace_delete(c):
    ns = c.ns + "-del"
    c.server.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    c.server.post("/api/v1/namespaces/%s/configmaps" % ns,
                  {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "inside"}})
    expect_re(r'^namespace "%s" deleted' % re.escape(ns), c.out("delete", "namespace", ns, "--wait=false", ns=False))
    o = c.out("wait", "--for=delete", "namespace/" + ns, "--timeout=30s", ns=False)
    # "condition met" while it terminates; kubectl prints nothing if it is already gone
    expect(o.strip() in ("", "namespace/%s condition met" % ns), "wait output: %r" % o)
    c.k("get", "namespace", ns, ok=False, ns=False)
    p = c.k("get", "cm", "inside", "-n", ns, ok=False, ns=False)
    expect_in("not found", p.stderr, "stderr")


def case_output_formats(c):
    for n, tier in (("of-b", "2"), ("of-a", "1"), ("of-c", "3")):
        c.mk_cm(n, {"x": "y"}, {"case": "of", "tier": tier})
    o = c.out("get", "cm", "-l", "case=of", "-o", "custom-columns=N:.metadata.name,T:.metadata.labels.tier",
              "--sort-by=.metadata.labels.tier")
    rows = [l.split() for l in o.strip().splitlines()]
    expect(rows == [["N", "T"], ["of-a", "1"], ["of-b", "2"], ["of-c", "3"]], "custom-columns/sort-by: %s" % rows)
    o = c.out("get", "cm", "of-a", "--show-labels")
    expect_re(r"^of-a\s+1\s+\S+\s+case=of,tier=1$", o)


def case_watch_events_json(c):
    cmd = [c.kubectl, "--cache-dir", os.path.join(c.workdir, "cache"), "-n", c.ns, "get", "cm", "-w",
           "-l", "case=wj", "--output-watch-events", "-o", "json", "--request-timeout=20s"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=c.env)
    try:
        time.sleep(1.0)
        c.mk_cm("wj1", {"a": "b"}, {"case": "wj"})
        buf = ""
        deadline = time.time() + 15
        while time.time() < deadline:
            buf += p.stdout.readline()
            try:
                ev = json.loads(buf)
                break
            except ValueError:
                continue
        else:
            raise Fail("no JSON watch event within 15 s: %r" % buf)
        expect(ev.get("type") == "ADDED" and ev["object"]["metadata"]["name"] == "wj1", "event: %r" % ev)
    finally:
        p.kill()
        p.communicate()


CASES = [
    ("version", case_version),
    ("api-resources", case_api_resources),
    ("api-versions", case_api_versions),
    ("get-empty", case_get_empty),
    ("create-get-outputs", case_create_and_get_outputs),
    ("get-selectors", case_get_selectors),
    ("get-chunked", case_get_chunked),
    ("apply", case_apply),
    ("apply-deployment", case_apply_deployment),
    ("edit", case_edit),
    ("label-annotate", case_label_annotate),
    ("scale-set-image", case_scale_set_image),
    ("patch", case_patch),
    ("delete", case_delete),
    ("finalizers", case_finalizers),
    ("get-watch", case_get_watch),
    ("wait-delete", case_wait_delete),
    ("describe", case_describe),
    ("describe-workloads", case_describe_workloads),
    ("get-every-resource", case_get_every_resource),
    ("create-generators", case_create_generators),
    ("explain", case_explain),
    ("unknown-field", case_unknown_field),
    ("get-all", case_get_all),
    ("dry-run-server", case_dry_run),
    ("errors", case_errors),
    ("raw-endpoints", case_raw_endpoints),
    ("replace-delete-f", case_replace_delete_f),
    ("server-side-apply", case_server_side_apply),
    ("namespace-delete", case_namespace_delete),
    ("output-formats", case_output_formats),
    ("watch-events-json", case_watch_events_json),
]


def cli_checks(binary, tmp):
    """Bad command lines and a corrupt data dir give a clear error and a non-zero exit."""
    bad = [
        (["apiserver"], 2, "usage: ckube apiserver"),
        (["apiserver", "--data-dir", tmp + "/x", "--secure-port", "70000"], 2, "bad --secure-port"),
        (["apiserver", "--data-dir", tmp + "/x", "--secure-port", "0"], 2, "both ports are off"),
        (["apiserver", "--data-dir", tmp + "/x", "--bogus"], 2, "unknown flag --bogus"),
        (["apiserver", "--data-dir", tmp + "/x", "--token", ""], 1, "--token must be non-empty"),
    ]
    d = os.path.join(tmp, "badtoken")
    os.makedirs(d)
    with open(os.path.join(d, "token"), "w") as f:
        f.write("has space\n")
    bad.append((["apiserver", "--data-dir", d, "--secure-port", str(free_port())], 1,
                "does not hold a valid token"))
    for args, rc, msg in bad:
        p = subprocess.run([binary] + args, capture_output=True, text=True, timeout=30)
        expect(p.returncode == rc, "%s: exit %d, want %d\n%s" % (args, p.returncode, rc, p.stderr))
        expect_in(msg, p.stderr, "stderr of %s" % args)


def snapshot(c):
    """(kind, ns, name) -> (uid, resourceVersion) for everything listable we created."""
    o = json.loads(c.out("get", "configmaps,secrets,deployments,jobs,pods", "-A", "-o", "json", ns=False))
    snap = {}
    for it in o["items"]:
        m = it["metadata"]
        snap[(it["kind"], m.get("namespace"), m["name"])] = (m["uid"], m["resourceVersion"])
    for it in json.loads(c.out("get", "namespaces", "-o", "json", ns=False))["items"]:
        m = it["metadata"]
        snap[("Namespace", None, m["name"])] = (m["uid"], m["resourceVersion"])
    return snap


def case_restart(c, server):
    # a watcher that saw everything up to rv0, then lost its connection
    cms = "/api/v1/namespaces/%s/configmaps" % c.ns
    rv0 = server.get_json(cms)["metadata"]["resourceVersion"]
    server.post(cms, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "missed-by-watcher"}})
    before = snapshot(c)
    expect(len(before) > 10, "too few objects to compare: %d" % len(before))
    keep = ("ca.crt", "apiserver.crt", "token")
    files = {f: open(os.path.join(server.data_dir, f), "rb").read() for f in keep}
    server.kill9()
    server.start()
    for f in keep:
        expect(open(os.path.join(server.data_dir, f), "rb").read() == files[f], "%s changed on restart" % f)
    after = snapshot(c)
    missing = [k for k in before if k not in after]
    expect(not missing, "objects lost over kill -9: %s" % missing[:10])
    changed = [k for k in before if before[k] != after[k]]
    expect(not changed, "uid/resourceVersion changed over kill -9: %s" % changed[:10])
    # resuming that watch after the restart delivers the event it missed (or 410 Gone)
    evs = server.watch_lines(cms + "?watch=1&resourceVersion=%s&timeoutSeconds=5" % rv0,
                             lambda e: e.get("object", {}).get("metadata", {}).get("name") == "missed-by-watcher")
    last = evs[-1] if evs else {}
    if last.get("type") == "ERROR":
        expect(last["object"].get("code") == 410, "watch resume after restart: %r" % last)
    else:
        expect(last.get("type") == "ADDED" and
               last["object"]["metadata"]["name"] == "missed-by-watcher",
               "watch resumed from %s after restart did not deliver the missed event: %r" % (rv0, evs[-3:]))
    # the server keeps working after restart: a write gets a newer resourceVersion
    server.post("/api/v1/namespaces/%s/configmaps" % c.ns, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "after-restart"}})
    rv = int(c.jsonpath("cm/after-restart", ".metadata.resourceVersion"))
    expect(rv > max(int(v[1]) for v in before.values()), "resourceVersion went backwards: %d" % rv)


def tls_check(server):
    """The secure port answers a missing token as system:anonymous (RBAC: a JSON 403 Status)
    and a wrong token with a JSON 401 Status, as upstream."""
    ctx = ssl.create_default_context(cafile=os.path.join(server.data_dir, "ca.crt"))
    for hdr, code, reason in (({}, 403, "Forbidden"), ({"Authorization": "Bearer wrong"}, 401, "Unauthorized")):
        req = urllib.request.Request("https://127.0.0.1:%d/api/v1/namespaces" % server.sport, headers=hdr)
        try:
            urllib.request.urlopen(req, context=ctx, timeout=5)
            raise Fail("unauthenticated request succeeded")
        except urllib.error.HTTPError as e:
            body = json.loads(e.read())
            expect(e.code == code and body.get("reason") == reason, "%d Status: %r" % (code, body))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ckube")
    ap.add_argument("--kubectl", action="append")
    ap.add_argument("--only", default="")
    ap.add_argument("--run-skipped", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    a = ap.parse_args()
    kubectls = [k for k in (a.kubectl or KUBECTLS) if os.access(k, os.X_OK)]
    if not kubectls:
        print("SKIP all: no kubectl found")
        return 0
    only = set(filter(None, a.only.split(",")))
    tmp = tempfile.mkdtemp(prefix="ckube-e2e-")
    server = Server(os.path.abspath(a.ckube), os.path.join(tmp, "data"))
    failed, passed, skipped = [], 0, []
    try:
        if not only or "cli" in only:
            cli_checks(server.binary, tmp)
            passed += 1
            print("PASS cli", flush=True)
        server.start()
        tls_check(server)
        ctxs = []
        for kc in kubectls:
            ver = re.sub(r"[^0-9]", "", os.path.basename(kc)) or "x"
            wd = os.path.join(tmp, "kubectl-" + ver)
            os.makedirs(wd)
            c = Ctx(kc, server, wd, "e2e-v" + ver)
            server.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                "metadata": {"name": c.ns}})
            ctxs.append(c)
        for name, fn in CASES:
            if only and name not in only:
                continue
            if name in SKIP and not a.run_skipped:
                print("SKIP %s: %s" % (name, SKIP[name]))
                skipped.append(name)
                continue
            for c in ctxs:
                label = "%s [%s]" % (name, os.path.basename(c.kubectl))
                key = "%s@%s" % (name, c.version)
                if key in SKIP and not a.run_skipped:
                    print("SKIP %s: %s" % (label, SKIP[key]))
                    skipped.append(label)
                    continue
                t0 = time.time()
                try:
                    fn(c)
                    passed += 1
                    print("PASS %s (%.1fs)" % (label, time.time() - t0), flush=True)
                except Exception as e:  # noqa: BLE001 - report every failure and go on
                    failed.append(label)
                    print("FAIL %s: %s" % (label, e), flush=True)
                    if not isinstance(e, Fail):
                        traceback.print_exc()
        if not only or "restart" in only:
            if "restart" in SKIP and not a.run_skipped:
                print("SKIP restart: %s" % SKIP["restart"])
            else:
                try:
                    case_restart(ctxs[-1], server)
                    passed += 1
                    print("PASS restart", flush=True)
                except Exception as e:  # noqa: BLE001
                    failed.append("restart")
                    print("FAIL restart: %s" % e, flush=True)
        server.stop()
    except Fail as e:
        failed.append("setup")
        print("FAIL setup: %s" % e)
    finally:
        if server.proc and server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait()
        if a.keep or failed:
            print("logs kept in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("e2e: %d passed, %d failed, %d skipped%s" % (passed, len(failed), len(skipped),
                                                     (": " + ", ".join(failed)) if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
