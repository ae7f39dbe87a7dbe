#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`ckube proxy` on its own (kube-proxy's shape): against `ckube server` (no agent, no
controllers), a NodePort Service with a hand-written EndpointSlice (one ready endpoint, one
terminating) gets its VIP, NodePort and DNAT in the proxy's own nft table; endpoint changes
(one more, one unready) rewrite only its endpoint-map elements (near-equal intervals of its
slot, element-only syncs, every rule unchanged); /healthz answers ok and /metrics has
kubeproxy_sync_proxy_rules_duration_seconds; the Service's deletion removes its rules and its
elements; a table deleted behind the proxy's back is rewritten (failed partial sync, then a full
one); SIGTERM removes the table. Own names: table proxysa-<pid>, namespace proxysa. Needs
root for nftables (77 = SKIP otherwise). No packets are sent."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from ckubetest import Server, Fail, expect, free_port  # noqa: E402

TABLE = "proxysa-%d" % os.getpid()
NS = "proxysa"


def nft_table():
    p = subprocess.run(["nft", "list", "table", "ip", TABLE], capture_output=True, text=True)
    return p.stdout if p.returncode == 0 else None


def wait(what, fn, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.2)
    raise Fail("timed out after %ds waiting for %s" % (timeout, what))


def put(port, path, obj):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method="PUT",
                                 data=json.dumps(obj).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        r.read()


def ep_elements(t, ip):
    """The endpoint-map intervals of ip (lo, hi), from `nft list table`."""
    return [(int(a), int(b)) for a, b in
            re.findall(r"(\d+)-(\d+) : %s \. 8080" % re.escape(ip), t or "")]


def without_elements(t):
    """The table without its endpoint maps' elements."""
    return re.sub(r"elements = \{[^}]*\}", "", re.sub(r"\s+", " ", t or ""))


def ep(ip, node, ready, terminating=False):
    return {"addresses": [ip], "nodeName": node,
            "conditions": {"ready": ready, "serving": ready or terminating,
                           "terminating": terminating}}


def get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()


def main():
    if os.geteuid() != 0 or not shutil.which("nft"):
        print("SKIP: needs root and nft")
        return 77
    binary = os.path.abspath(sys.argv[1])
    work = tempfile.mkdtemp(prefix="proxysa-")
    srv = Server(binary, os.path.join(work, "data"))
    proxy = None
    rc = 0
    try:
        srv.start()
        hport, mport = free_port(), free_port()
        log = open(os.path.join(work, "proxy.log"), "wb")
        proxy = subprocess.Popen(
            [binary, "proxy", "--kubeconfig", srv.kubeconfig, "--hostname-override", "sa-node",
             "--node-ip", "192.0.2.77", "--cluster-cidr", "10.244.0.0/16", "--nft-table", TABLE,
             "--healthz-port", str(hport), "--metrics-port", str(mport), "-v", "4"],
            stdout=log, stderr=log)
        wait("the table", nft_table, 20)
        expect("ip daddr 10.96.0.0/12 reject" in nft_table(),
               "no reject of the service CIDR:\n" + nft_table())
        wait("healthz", lambda: get("http://127.0.0.1:%d/healthz" % hport) == "ok", 10)
        srv.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                        "metadata": {"name": NS}})
        srv.post("/api/v1/namespaces/%s/services" % NS, {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "sa"},
            "spec": {"type": "NodePort", "ports": [{"name": "http", "port": 80,
                                                    "targetPort": 8080}]}})
        svc = srv.get_json("/api/v1/namespaces/%s/services/sa" % NS)
        vip, np = svc["spec"]["clusterIP"], svc["spec"]["ports"][0]["nodePort"]
        srv.post("/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices" % NS, {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "sa-1", "labels": {"kubernetes.io/service-name": "sa"}},
            "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": [
                {"addresses": ["10.244.1.5"], "nodeName": "sa-node",
                 "conditions": {"ready": True, "serving": True, "terminating": False}},
                {"addresses": ["10.244.2.6"], "nodeName": "other",
                 "conditions": {"ready": False, "serving": True, "terminating": True}}]})
        t = wait("the endpoint's element", lambda: ep_elements(nft_table(), "10.244.1.5")
                 and nft_table(), 10)
        (lo, hi), = ep_elements(t, "10.244.1.5")
        expect(lo % 65536 == 0 and hi == lo + 65535, "one endpoint owns %d-%d" % (lo, hi))
        expect(re.search(r"dnat ip to numgen random mod 65536 offset %d map @endpoints-\d+" % lo
                         if lo else r"dnat ip to numgen random mod 65536 map @endpoints-\d+", t),
               "no DNAT through the endpoint map:\n" + t)
        expect("%s . tcp . 80 : goto service-" % vip in t, "no service-ips element for %s" % vip)
        expect("tcp . %d : goto external-" % np in t, "no NodePort %d element" % np)
        expect("10.244.2.6" not in t, "a terminating endpoint is used while one is ready")
        expect("192.0.2.77" in t, "the node IP is not in nodeport-ips")
        print("ok VIP %s, NodePort %d and DNAT in table %s" % (vip, np, TABLE))
        # endpoint changes: only the endpoint map's elements change
        rules = without_elements(t)
        sl = srv.get_json("/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices/sa-1" % NS)
        sl["endpoints"] = [ep("10.244.1.5", "sa-node", True), ep("10.244.1.7", "other", True)]
        put(srv.pport, "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices/sa-1" % NS, sl)
        t = wait("two endpoints", lambda: ep_elements(nft_table(), "10.244.1.7") and nft_table(),
                 10)
        expect(ep_elements(t, "10.244.1.5") == [(lo, lo + 32767)] and
               ep_elements(t, "10.244.1.7") == [(lo + 32768, lo + 65535)],
               "not two halves of %d-%d:\n%s" % (lo, hi, t))
        expect(without_elements(t) == rules, "rules changed with the endpoints:\n" + t)
        sl = srv.get_json("/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices/sa-1" % NS)
        sl["endpoints"] = [ep("10.244.1.5", "sa-node", False), ep("10.244.1.7", "other", True)]
        put(srv.pport, "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices/sa-1" % NS, sl)
        t = wait("the unready endpoint gone",
                 lambda: not ep_elements(nft_table(), "10.244.1.5") and nft_table(), 10)
        expect(ep_elements(t, "10.244.1.7") == [(lo, hi)], "the ready one lacks %d-%d" % (lo, hi))
        expect(without_elements(t) == rules, "rules changed with readiness:\n" + t)
        with open(os.path.join(work, "proxy.log"), errors="replace") as f:
            n = f.read().count("element-only sync")
        expect(n >= 2, "%d element-only syncs logged" % n)
        print("ok endpoint changes rewrite only map elements (%d element-only syncs)" % n)
        m = get("http://127.0.0.1:%d/metrics" % mport)
        c = re.search(r"^kubeproxy_sync_proxy_rules_duration_seconds_count (\d+)", m, re.M)
        expect(c and int(c.group(1)) >= 2, "sync histogram missing or empty")
        expect(re.search(r"^kubeproxy_sync_proxy_rules_nftables_total [1-9]", m, re.M),
               "rule count missing")
        print("ok /metrics: %s syncs" % c.group(1))
        req = urllib.request.Request("http://127.0.0.1:%d/api/v1/namespaces/%s/services/sa"
                                     % (srv.pport, NS), method="DELETE")
        urllib.request.urlopen(req, timeout=10).read()
        wait("the VIP gone", lambda: vip not in (nft_table() or vip), 10)
        expect("10.244.1.7" not in nft_table(), "the endpoint's element stayed")
        print("ok the Service's rules are gone with it")
        # someone removes the table: the next partial sync fails, a full one rewrites it
        subprocess.run(["nft", "delete", "table", "ip", TABLE], check=True)
        srv.post("/api/v1/namespaces/%s/services" % NS, {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "sb"},
            "spec": {"ports": [{"port": 81}]}})
        vip2 = srv.get_json("/api/v1/namespaces/%s/services/sb" % NS)["spec"]["clusterIP"]
        wait("the table rewritten", lambda: vip2 in (nft_table() or ""), 10)
        t = nft_table() or ""
        expect("%s . tcp . 81 : goto reject-chain" % vip2 in t, "sb (no endpoints) not rejected")
        expect("ip daddr 10.96.0.0/12 reject" in t, "base rules missing after the rewrite")
        m = get("http://127.0.0.1:%d/metrics" % mport)
        expect(re.search(r"^kubeproxy_sync_proxy_rules_nftables_sync_failures_total [1-9]", m,
                         re.M), "the failed transaction was not counted")
        print("ok a deleted table is rewritten by a full sync")
        proxy.send_signal(signal.SIGTERM)
        proxy.wait(timeout=30)
        expect(proxy.returncode == 0, "proxy exited %s" % proxy.returncode)
        expect(nft_table() is None, "table left after SIGTERM")
        print("ok the table is removed on exit")
    except (Fail, OSError, subprocess.TimeoutExpired, subprocess.CalledProcessError) as e:
        print("FAIL: %s" % e)
        rc = 1
        try:
            with open(os.path.join(work, "proxy.log"), errors="replace") as f:
                print("---- proxy.log ----\n" + f.read()[-3000:])
        except OSError:
            pass
    finally:
        if proxy and proxy.poll() is None:
            proxy.kill()
            proxy.wait()
        try:
            srv.stop()
        except Fail as e:
            print("server stop: %s" % e)
        if nft_table() is not None:
            subprocess.run(["nft", "delete", "table", "ip", TABLE])
        shutil.rmtree(work, ignore_errors=True)
    print("PASS" if rc == 0 else "FAILED")
    return rc


if __name__ == "__main__":
    sys.exit(main())
