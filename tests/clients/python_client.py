#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Conformance of the real Python client (Debian's python3-kubernetes, run by /usr/bin/python3)
against a fresh `ckube server`: TLS with the cluster CA and the bearer token of the kubeconfig the
server writes. Covers CRUD of ConfigMaps, Deployments, Services and Namespaces, label selectors,
paging, watch from a resourceVersion, merge / JSON / strategic merge patches, server-side apply,
Status errors parsed by the client, and a reflector (list + kubernetes.watch.Watch loop that
relists on 410 Gone) converging after creates and deletes.

usage: python_client.py CKUBE_BIN [--only CASE,...]
Each case prints "PASS <case>", "FAIL <case>: ..." or, for a ckube deviation listed in KNOWN,
"KNOWN-FAIL <case>: <reason>". The exit status is non-zero if any other case fails."""

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from ckubetest import Fail, Server, expect  # noqa: E402

from kubernetes import client, config, watch  # noqa: E402
from kubernetes.client.rest import ApiException  # noqa: E402

# Cases that fail because of a ckube deviation from upstream, with the reason. Keep it honest:
# a listed case that passes prints "UNEXPECTED-PASS" so it can be removed from here.
KNOWN = {}


class Api:
    """The typed APIs over one ApiClient built from the server's kubeconfig."""

    def __init__(self, kubeconfig):
        self.client = config.new_client_from_config(config_file=kubeconfig)
        self.core = client.CoreV1Api(self.client)
        self.apps = client.AppsV1Api(self.client)

    def patch_as(self, ctype, fn, *args, **kw):
        """python3-kubernetes 22 always sends the first PATCH content type of the operation
        (application/json-patch+json); a default header set for one call picks another."""
        self.client.set_default_header("Content-Type", ctype)
        try:
            return fn(*args, **kw)
        finally:
            self.client.default_headers.pop("Content-Type", None)


def cm(name, data=None, labels=None):
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels),
                              data=data or {"a": "1"})


def deployment(name, replicas=1, image="nginx:1.25"):
    labels = {"app": name}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1DeploymentSpec(
            replicas=replicas, selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[client.V1Container(name="c", image=image)]))))


def expect_api_error(fn, status, reason):
    """Calls fn, expects an ApiException with that status and a Status body of that reason;
    returns the parsed Status."""
    try:
        fn()
    except ApiException as e:
        expect(e.status == status, "status %s, want %s: %s" % (e.status, status, e.body))
        st = json.loads(e.body)
        expect(st.get("kind") == "Status" and st.get("reason") == reason,
               "Status body %r, want reason %s" % (st, reason))
        return st
    raise Fail("expected ApiException %d %s, got success" % (status, reason))


def new_ns(api, name):
    api.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    return name


# ---- cases ------------------------------------------------------------------------------

def case_crud_configmap(api, ns):
    created = api.core.create_namespaced_config_map(ns, cm("c1", {"k": "v"}))
    expect(created.metadata.uid and created.metadata.resource_version, "no uid/resourceVersion")
    got = api.core.read_namespaced_config_map("c1", ns)
    expect(got.data == {"k": "v"}, "read data %r" % got.data)
    got.data["k"] = "v2"
    upd = api.core.replace_namespaced_config_map("c1", ns, got)
    expect(upd.data["k"] == "v2", "replace: %r" % upd.data)
    expect(upd.metadata.resource_version != got.metadata.resource_version, "rv did not change")
    # a stale resourceVersion on replace is a 409 Conflict
    got.data["k"] = "v3"
    expect_api_error(lambda: api.core.replace_namespaced_config_map("c1", ns, got), 409, "Conflict")
    items = api.core.list_namespaced_config_map(ns).items
    expect([i.metadata.name for i in items if i.metadata.name == "c1"] == ["c1"], "list: %r" % items)
    st = api.core.delete_namespaced_config_map("c1", ns)
    expect(st.status == "Success", "delete answered %r" % st)
    expect_api_error(lambda: api.core.read_namespaced_config_map("c1", ns), 404, "NotFound")


def case_crud_deployment(api, ns):
    d = api.apps.create_namespaced_deployment(ns, deployment("web", 2))
    expect(d.metadata.generation == 1, "generation %r" % d.metadata.generation)
    expect(d.spec.strategy.type == "RollingUpdate", "defaulted strategy %r" % d.spec.strategy)
    d = api.apps.read_namespaced_deployment("web", ns)
    d.spec.template.spec.containers[0].image = "nginx:1.26"
    d = api.apps.replace_namespaced_deployment("web", ns, d)
    expect(d.metadata.generation == 2, "generation after spec change %r" % d.metadata.generation)
    sc = api.apps.read_namespaced_deployment_scale("web", ns)
    expect(sc.spec.replicas == 2, "scale %r" % sc.spec)
    sc.spec.replicas = 3
    api.apps.replace_namespaced_deployment_scale("web", ns, sc)
    expect(api.apps.read_namespaced_deployment("web", ns).spec.replicas == 3, "scale not applied")
    lst = api.apps.list_namespaced_deployment(ns)
    expect([x.metadata.name for x in lst.items] == ["web"], "list %r" % lst.items)
    api.apps.delete_namespaced_deployment("web", ns)
    expect_api_error(lambda: api.apps.read_namespaced_deployment("web", ns), 404, "NotFound")


def case_crud_service(api, ns):
    svc = client.V1Service(
        metadata=client.V1ObjectMeta(name="svc"),
        spec=client.V1ServiceSpec(selector={"app": "web"},
                                  ports=[client.V1ServicePort(port=80, target_port=8080)]))
    s = api.core.create_namespaced_service(ns, svc)
    expect(s.spec.cluster_ip and s.spec.cluster_ip != "None", "clusterIP %r" % s.spec.cluster_ip)
    expect(s.spec.ports[0].protocol == "TCP", "port defaults %r" % s.spec.ports)
    s.metadata.labels = {"tier": "fe"}
    s = api.core.replace_namespaced_service("svc", ns, s)
    expect(s.metadata.labels == {"tier": "fe"}, "labels %r" % s.metadata.labels)
    api.core.delete_namespaced_service("svc", ns)
    expect_api_error(lambda: api.core.read_namespaced_service("svc", ns), 404, "NotFound")


def case_crud_namespace(api, ns):
    name = ns + "-x"
    n = api.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    expect(n.status.phase == "Active", "phase %r" % n.status.phase)
    expect(n.metadata.labels.get("kubernetes.io/metadata.name") == name, "labels %r" % n.metadata.labels)
    api.core.create_namespaced_config_map(name, cm("inside"))
    api.core.delete_namespace(name)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            api.core.read_namespace(name)
        except ApiException as e:
            expect(e.status == 404, "read_namespace: %s" % e)
            return
        time.sleep(0.1)
    raise Fail("namespace %s still there 10 s after delete" % name)


def case_label_selectors(api, ns):
    for n, grp in (("l1", "a"), ("l2", "b"), ("l3", "a"), ("l4", None)):
        api.core.create_namespaced_config_map(ns, cm(n, labels={"grp": grp} if grp else {"x": "y"}))

    def names(sel):
        return sorted(i.metadata.name for i in api.core.list_namespaced_config_map(ns, label_selector=sel).items)
    expect(names("grp=a") == ["l1", "l3"], "grp=a: %r" % names("grp=a"))
    expect(names("grp in (a,b)") == ["l1", "l2", "l3"], "in: %r" % names("grp in (a,b)"))
    expect(names("!grp") == ["l4"], "!grp: %r" % names("!grp"))
    expect(names("grp!=a") == ["l2", "l4"], "grp!=a: %r" % names("grp!=a"))
    fs = api.core.list_namespaced_config_map(ns, field_selector="metadata.name=l2").items
    expect([i.metadata.name for i in fs] == ["l2"], "field selector: %r" % fs)
    expect_api_error(lambda: api.core.list_namespaced_config_map(ns, label_selector="grp in a"), 400, "BadRequest")


def case_paging(api, ns):
    for i in range(7):
        api.core.create_namespaced_config_map(ns, cm("p%d" % i))
    seen, token, pages, rv = [], None, 0, None
    while True:
        kw = {"limit": 3}
        if token:
            kw["_continue"] = token
        page = api.core.list_namespaced_config_map(ns, **kw)
        pages += 1
        expect(len(page.items) <= 3, "page of %d items" % len(page.items))
        if rv is None:
            rv = page.metadata.resource_version
            expect(page.metadata.remaining_item_count == 4, "remainingItemCount %r" % page.metadata.remaining_item_count)
        else:
            expect(page.metadata.resource_version == rv, "page rv %s != first page rv %s" % (page.metadata.resource_version, rv))
        if pages == 1:
            api.core.create_namespaced_config_map(ns, cm("p9"))  # not in this snapshot
        seen += [i.metadata.name for i in page.items]
        token = page.metadata._continue
        if not token:
            break
    expect(seen == ["p%d" % i for i in range(7)], "paged names %r" % seen)
    expect(pages == 3, "%d pages" % pages)
    expect_api_error(lambda: api.core.list_namespaced_config_map(ns, limit=3, _continue="garbage!"), 400, "BadRequest")


def case_watch(api, ns):
    api.core.create_namespaced_config_map(ns, cm("before"))
    rv = api.core.list_namespaced_config_map(ns).metadata.resource_version
    got = []

    def writer():
        time.sleep(0.3)
        api.core.create_namespaced_config_map(ns, cm("w1"))
        api.patch_as("application/merge-patch+json", api.core.patch_namespaced_config_map,
                     "w1", ns, {"data": {"a": "2"}})
        api.core.delete_namespaced_config_map("w1", ns)
    t = threading.Thread(target=writer)
    t.start()
    w = watch.Watch()
    for ev in w.stream(api.core.list_namespaced_config_map, ns, resource_version=rv, timeout_seconds=10):
        got.append((ev["type"], ev["object"].metadata.name, ev["object"].metadata.resource_version))
        if ev["type"] == "DELETED":
            w.stop()
    t.join()
    expect([g[:2] for g in got] == [("ADDED", "w1"), ("MODIFIED", "w1"), ("DELETED", "w1")],
           "events %r" % got)
    rvs = [int(g[2]) for g in got]
    expect(rvs == sorted(rvs) and rvs[0] > int(rv), "event resourceVersions %r after %s" % (rvs, rv))
    # rv "0"/unset: synthetic ADDED for the current state first
    w = watch.Watch()
    first = next(iter(w.stream(api.core.list_namespaced_config_map, ns, timeout_seconds=5)))
    w.stop()
    expect(first["type"] == "ADDED" and first["object"].metadata.name == "before", "first event %r" % (first,))


def case_patch_merge_json_strategic(api, ns):
    api.apps.create_namespaced_deployment(ns, deployment("pd"))
    d = api.patch_as("application/merge-patch+json", api.apps.patch_namespaced_deployment,
                     "pd", ns, {"metadata": {"labels": {"m": "1"}}, "spec": {"replicas": 2}})
    expect(d.metadata.labels == {"m": "1"} and d.spec.replicas == 2, "merge patch: %r %r" % (d.metadata.labels, d.spec.replicas))
    d = api.patch_as("application/json-patch+json", api.apps.patch_namespaced_deployment, "pd", ns,
                     [{"op": "replace", "path": "/spec/replicas", "value": 4},
                      {"op": "add", "path": "/metadata/annotations", "value": {"j": "p"}}])
    expect(d.spec.replicas == 4 and d.metadata.annotations == {"j": "p"}, "json patch: %r" % d.spec.replicas)
    # strategic merge: containers merge by name (a second container is added, the first kept)
    d = api.patch_as("application/strategic-merge-patch+json", api.apps.patch_namespaced_deployment, "pd", ns,
                     {"spec": {"template": {"spec": {"containers": [{"name": "side", "image": "busybox"}]}}}})
    names = [c.name for c in d.spec.template.spec.containers]
    expect(names == ["side", "c"] or names == ["c", "side"], "strategic merge containers %r" % names)
    # a failing json-patch test op is 422 (upstream: Invalid is not used, the reason is Invalid)
    expect_api_error(lambda: api.patch_as(
        "application/json-patch+json", api.apps.patch_namespaced_deployment, "pd", ns,
        [{"op": "test", "path": "/spec/replicas", "value": 99}]), 422, "Invalid")


def case_server_side_apply(api, ns):
    # python3-kubernetes 22 serialises only JSON content types itself: an apply body is sent as
    # text (JSON is YAML)
    body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": "ssa", "namespace": ns}, "data": {"a": "1"}})
    c = api.patch_as("application/apply-patch+yaml", api.core.patch_namespaced_config_map,
                     "ssa", ns, body, field_manager="mgr-a")
    expect(c.data == {"a": "1"}, "apply create: %r" % c.data)
    mf = [(m.manager, m.operation) for m in c.metadata.managed_fields]
    expect(("mgr-a", "Apply") in mf, "managedFields %r" % mf)
    # another manager changing an owned field: 409 with FieldManagerConflict causes
    body2 = body.replace('"a": "1"', '"a": "2"')
    st = expect_api_error(lambda: api.patch_as(
        "application/apply-patch+yaml", api.core.patch_namespaced_config_map, "ssa", ns, body2,
        field_manager="mgr-b"), 409, "Conflict")
    causes = (st.get("details") or {}).get("causes") or []
    expect(any(x.get("reason") == "FieldManagerConflict" for x in causes), "causes %r" % causes)
    c = api.patch_as("application/apply-patch+yaml", api.core.patch_namespaced_config_map,
                     "ssa", ns, body2, field_manager="mgr-b", force=True)
    expect(c.data == {"a": "2"}, "forced apply: %r" % c.data)
    # fieldManager is required for apply
    expect_api_error(lambda: api.patch_as(
        "application/apply-patch+yaml", api.core.patch_namespaced_config_map, "ssa", ns, body2), 400, "BadRequest")


def case_status_errors(api, ns):
    st = expect_api_error(lambda: api.core.read_namespaced_config_map("missing", ns), 404, "NotFound")
    expect(st.get("details", {}).get("name") == "missing" and st["details"].get("kind") == "configmaps",
           "404 details %r" % st.get("details"))
    api.core.create_namespaced_config_map(ns, cm("dup"))
    expect_api_error(lambda: api.core.create_namespaced_config_map(ns, cm("dup")), 409, "AlreadyExists")
    st = expect_api_error(lambda: api.core.create_namespaced_config_map(ns, cm("Bad_Name")), 422, "Invalid")
    causes = st.get("details", {}).get("causes") or []
    expect(causes and causes[0].get("field") == "metadata.name", "causes %r" % causes)
    expect_api_error(lambda: api.core.read_namespace("no-such-ns"), 404, "NotFound")
    expect_api_error(lambda: api.core.create_namespaced_config_map("no-such-ns", cm("x")), 404, "NotFound")


def case_delete_propagation(api, ns):
    api.apps.create_namespaced_deployment(ns, deployment("fg"))
    d = api.apps.delete_namespaced_deployment("fg", ns, propagation_policy="Foreground")
    got = api.apps.read_namespaced_deployment("fg", ns)
    expect(got.metadata.deletion_timestamp is not None, "no deletionTimestamp")
    expect(got.metadata.finalizers == ["foregroundDeletion"], "finalizers %r" % got.metadata.finalizers)
    expect(d is not None, "delete answer")
    # the garbage collector's part, by hand: removing the finalizer lets it go
    api.patch_as("application/merge-patch+json", api.apps.patch_namespaced_deployment,
                 "fg", ns, {"metadata": {"finalizers": None}})
    expect_api_error(lambda: api.apps.read_namespaced_deployment("fg", ns), 404, "NotFound")
    api.core.create_namespaced_config_map(ns, cm("orph"))
    api.core.delete_namespaced_config_map("orph", ns, body=client.V1DeleteOptions(propagation_policy="Orphan"))
    expect(api.core.read_namespaced_config_map("orph", ns).metadata.finalizers == ["orphan"], "orphan finalizer")


class Reflector:
    """What client-go's reflector does, with kubernetes.watch: LIST, then WATCH from the list's
    resourceVersion; a 410 Gone (the client retries once itself, then raises) means relist."""

    def __init__(self, api, ns):
        self.api, self.ns = api, ns
        self.store, self.relists, self.lock = {}, 0, threading.Lock()
        self.stop = threading.Event()
        self.error = None

    def relist(self):
        lst = self.api.core.list_namespaced_config_map(self.ns)
        with self.lock:
            self.store = {i.metadata.name: i.metadata.resource_version for i in lst.items}
            self.relists += 1
        return lst.metadata.resource_version

    def run(self, start_rv=None):
        try:
            rv = start_rv or self.relist()
            while not self.stop.is_set():
                w = watch.Watch()
                try:
                    for ev in w.stream(self.api.core.list_namespaced_config_map, self.ns,
                                       resource_version=rv, allow_watch_bookmarks=True,
                                       _request_timeout=30):
                        o = ev["object"]
                        rv = o.metadata.resource_version
                        with self.lock:
                            if ev["type"] in ("ADDED", "MODIFIED"):
                                self.store[o.metadata.name] = rv
                            elif ev["type"] == "DELETED":
                                self.store.pop(o.metadata.name, None)
                        if self.stop.is_set():
                            w.stop()
                except ApiException as e:
                    if e.status != 410:
                        raise
                    rv = self.relist()
        except Exception as e:  # noqa: BLE001 - reported by the case
            self.error = e

    def names(self):
        with self.lock:
            return sorted(self.store)


def wait_converged(refl, want, what):
    deadline = time.time() + 15
    while time.time() < deadline:
        if refl.error:
            raise Fail("reflector failed: %r" % refl.error)
        if refl.names() == sorted(want):
            return
        time.sleep(0.1)
    raise Fail("%s: informer has %r, want %r" % (what, refl.names(), sorted(want)))


def case_informer_relist_410(api, ns, old_api):
    """old_api: a client of a second server that compacts every second and keeps a tiny watch
    history, so that a watch from an old resourceVersion answers 410 Gone."""
    ons = new_ns(old_api, ns)
    old_api.core.create_namespaced_config_map(ons, cm("i0"))
    stale_rv = old_api.core.list_namespaced_config_map(ons).metadata.resource_version
    for i in range(1, 6):
        old_api.core.create_namespaced_config_map(ons, cm("i%d" % i))
    old_api.core.delete_namespaced_config_map("i0", ons)
    deadline = time.time() + 10  # two compaction intervals and a margin
    while time.time() < deadline:
        try:
            old_api.core.list_namespaced_config_map(ons, resource_version=stale_rv, resource_version_match="Exact")
        except ApiException as e:
            if e.status == 410:
                break
        time.sleep(0.5)
    else:
        raise Fail("resourceVersion %s never compacted (no 410 from an Exact LIST)" % stale_rv)
    refl = Reflector(old_api, ons)
    t = threading.Thread(target=refl.run, args=(stale_rv,), daemon=True)
    t.start()
    wait_converged(refl, ["i%d" % i for i in range(1, 6)], "after the 410 relist")
    expect(refl.relists >= 1, "no relist happened")
    old_api.core.create_namespaced_config_map(ons, cm("late"))
    old_api.core.delete_namespaced_config_map("i3", ons)
    wait_converged(refl, ["i1", "i2", "i4", "i5", "late"], "after creates and deletes")
    refl.stop.set()


def case_informer(api, ns):
    refl = Reflector(api, ns)
    api.core.create_namespaced_config_map(ns, cm("a0"))
    t = threading.Thread(target=refl.run, daemon=True)
    t.start()
    wait_converged(refl, ["a0"], "initial list")
    for i in range(1, 4):
        api.core.create_namespaced_config_map(ns, cm("a%d" % i))
    api.core.delete_namespaced_config_map("a0", ns)
    api.core.delete_namespaced_config_map("a2", ns)
    wait_converged(refl, ["a1", "a3"], "after creates and deletes")
    refl.stop.set()


CASES = [
    ("crud_configmap", case_crud_configmap),
    ("crud_deployment", case_crud_deployment),
    ("crud_service", case_crud_service),
    ("crud_namespace", case_crud_namespace),
    ("label_selectors", case_label_selectors),
    ("paging", case_paging),
    ("watch", case_watch),
    ("patch", case_patch_merge_json_strategic),
    ("server_side_apply", case_server_side_apply),
    ("status_errors", case_status_errors),
    ("delete_propagation", case_delete_propagation),
    ("informer", case_informer),
    ("informer_relist_410", case_informer_relist_410),
]


def start_server(binary, work, name, extra=None):
    """A fresh server; extra flags go through a one-line wrapper so ckubetest.Server is reused."""
    if extra:
        wrapper = os.path.join(work, name + ".sh")
        with open(wrapper, "w") as f:
            f.write('#!/bin/sh\nexec "%s" "$@" %s\n' % (os.path.abspath(binary), " ".join(extra)))
        os.chmod(wrapper, 0o755)
        binary = wrapper
    os.makedirs(os.path.join(work, name))
    s = Server(binary, os.path.join(work, name, "data"))
    s.start()
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ckube")
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    only = set(x for x in a.only.split(",") if x)
    work = tempfile.mkdtemp(prefix="ckube-pyclient-")
    servers = []
    failed = passed = known = 0
    try:
        s = start_server(a.ckube, work, "main")
        servers.append(s)
        api = Api(s.kubeconfig)
        old_api = None
        for name, fn in CASES:
            if only and name not in only:
                continue
            ns = "py-" + name.replace("_", "-")
            t0 = time.time()
            try:
                if name == "informer_relist_410":
                    if old_api is None:
                        o = start_server(a.ckube, work, "compacting",
                                         ["--compaction-interval", "1s", "--watch-history", "2"])
                        servers.append(o)
                        old_api = Api(o.kubeconfig)
                    fn(api, ns, old_api)
                else:
                    fn(api, new_ns(api, ns))
                ok, msg = True, ""
            except Exception as e:  # noqa: BLE001 - every failure is reported per case
                ok = False
                msg = str(e) if isinstance(e, Fail) else traceback.format_exc()
            dt = time.time() - t0
            if name in KNOWN:
                if ok:
                    print("UNEXPECTED-PASS %s (listed in KNOWN: %s)" % (name, KNOWN[name]))
                    passed += 1
                else:
                    print("KNOWN-FAIL %s: %s" % (name, KNOWN[name]))
                    print("    " + msg.strip().replace("\n", "\n    "))
                    known += 1
            elif ok:
                print("PASS %s (%.1fs)" % (name, dt))
                passed += 1
            else:
                print("FAIL %s: %s" % (name, msg))
                failed += 1
            sys.stdout.flush()
    finally:
        for s in servers:
            try:
                s.stop()
            except Fail as e:
                print("FAIL server stop: %s" % e)
                failed += 1
        shutil.rmtree(work, ignore_errors=True)
    if known:
        print("python-kubernetes: %d known failures (KNOWN-FAIL above)" % known)
    print("python-kubernetes: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
