#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Service allocation and the default/kubernetes Service, with kubectl 1.27 and 1.33:

- flags: `ckube apiserver` refuses bad --service-cluster-ip-range / --service-node-port-range
  values with kube-apiserver's messages;
- ranges: `ckube server --service-cluster-ip-range 10.123.0.0/24 --service-node-port-range
  31000-31099` gives default/kubernetes 10.123.0.1 and every Service a ClusterIP and NodePort
  of those ranges; upstream's 422s for an IP or port out of range or already allocated; type
  changes allocate and release; an apply without nodePort keeps it; deletes release;
- default/kubernetes: https 443 -> the secure port, its Endpoints (skip-mirror) and its
  EndpointSlice (kubernetes.io/service-name) list this server;
- several API servers on one etcd: the Endpoints list every server (one subset per port),
  converge and then stay put (no flapping), and a server that stops leaves them.

usage: svcapi_test.py CKUBE_BIN"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from ckubetest import (Server, Ctx, Fail, expect, expect_in, free_port,  # noqa: E402
                       kubectl_path, wait_for)

ETCD_RUN = os.path.join(HERE, "..", "etcd", "etcd-run.sh")


def case_flags(binary, tmp):
    bad = [
        (["--service-cluster-ip-range", "bogus"], "service-cluster-ip-range[0] is not a valid cidr"),
        (["--service-cluster-ip-range", "10.0.0.0/8"],
         "specified --service-cluster-ip-range is too large; for 32-bit addresses, the mask must "
         "be >= 12"),
        (["--service-cluster-ip-range", "10.0.0.0/30"],
         "the service cluster IP range must be at least 8 IP addresses"),
        (["--service-node-port-range", "abc"],
         'invalid argument "abc" for "--service-node-port-range" flag: unable to parse port '
         'range: abc: strconv.Atoi: parsing "abc": invalid syntax'),
        (["--service-node-port-range", "32767-30000"],
         "end port cannot be less than start port: 32767-30000"),
        (["--service-node-port-range", "30000-70000"],
         "the port range cannot be greater than 65535: 30000-70000"),
        (["--advertise-address", "nowhere"],
         'invalid argument "nowhere" for "--advertise-address" flag'),
    ]
    for args, msg in bad:
        p = subprocess.run([binary, "apiserver", "--data-dir", os.path.join(tmp, "flags"),
                            "--secure-port", "0", "--insecure-port", str(free_port())] + args,
                           capture_output=True, text=True, timeout=20)
        expect(p.returncode != 0, "%s: accepted" % args)
        expect_in(msg, p.stderr, "stderr of %s" % args)
    # --advertise-address: the address default/kubernetes' endpoints carry
    port = free_port()
    p = subprocess.Popen([binary, "apiserver", "--data-dir", os.path.join(tmp, "adv"),
                          "--secure-port", "0", "--insecure-port", str(port),
                          "--advertise-address", "10.20.30.40"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for("the advertise-address server", lambda: _ready(port), 20)
        ep = plain_get(port, "/api/v1/namespaces/default/endpoints/kubernetes")
        expect(ep["subsets"] == [{"addresses": [{"ip": "10.20.30.40"}],
                                  "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}],
               "endpoints with --advertise-address: %s" % ep.get("subsets"))
    finally:
        p.terminate()
        p.wait(15)
    print("ok flags", flush=True)


def svc(c, name, spec):
    return c.file(json.dumps({"apiVersion": "v1", "kind": "Service",
                              "metadata": {"name": name, "namespace": c.ns}, "spec": spec}))


def getj(c, *what):
    return json.loads(c.out("get", *what, "-o", "json"))


def case_ranges(c, sport):
    k = getj(c, "service", "kubernetes", "-n", "default")
    expect(k["spec"]["clusterIP"] == "10.123.0.1", "kubernetes clusterIP: %s" % k["spec"])
    expect(k["spec"]["ports"] == [{"name": "https", "port": 443, "protocol": "TCP",
                                   "targetPort": sport}], "kubernetes ports: %s" % k["spec"])
    expect(k["metadata"]["labels"] == {"component": "apiserver", "provider": "kubernetes"},
           "kubernetes labels: %s" % k["metadata"])
    c.k("create", "service", "clusterip", "web", "--tcp=80:8080")
    c.k("create", "service", "nodeport", "np", "--tcp=80:8080")
    web = getj(c, "service", "web")["spec"]
    np = getj(c, "service", "np")["spec"]
    for s in (web, np):
        expect(s["clusterIP"].startswith("10.123.0.") and s["clusterIPs"] == [s["clusterIP"]],
               "clusterIP out of 10.123.0.0/24: %s" % s)
    port = np["ports"][0]["nodePort"]
    expect(31000 <= port <= 31099, "nodePort out of 31000-31099: %s" % np)
    # upstream's 422s
    p = c.k("apply", "-f", svc(c, "bad", {"clusterIP": "10.99.0.5", "ports": [{"port": 80}]}),
            ok=False)
    expect_in('The Service "bad" is invalid: spec.clusterIPs: Invalid value: []string{'
              '"10.99.0.5"}: failed to allocate IP 10.99.0.5: the provided IP (10.99.0.5) is not '
              'in the valid range. The range of valid IPs is 10.123.0.0/24', p.stderr)
    p = c.k("apply", "-f", svc(c, "bad", {"clusterIP": web["clusterIP"], "ports": [{"port": 80}]}),
            ok=False)
    expect_in('spec.clusterIPs: Invalid value: []string{"%s"}: failed to allocate IP %s: provided '
              'IP is already allocated' % (web["clusterIP"], web["clusterIP"]), p.stderr)
    p = c.k("apply", "-f", svc(c, "bad", {"type": "NodePort",
                                          "ports": [{"port": 80, "nodePort": 30080}]}), ok=False)
    expect_in('The Service "bad" is invalid: spec.ports[0].nodePort: Invalid value: 30080: '
              'provided port is not in the valid range. The range of valid ports is 31000-31099',
              p.stderr)
    p = c.k("apply", "-f", svc(c, "bad", {"type": "NodePort",
                                          "ports": [{"port": 80, "nodePort": port}]}), ok=False)
    expect_in("spec.ports[0].nodePort: Invalid value: %d: provided port is already allocated"
              % port, p.stderr)
    # an apply that leaves nodePort out keeps it (upstream's patchAllocatedValues)
    c.k("apply", "-f", svc(c, "kept", {"type": "NodePort", "ports": [{"port": 80}]}))
    kept = getj(c, "service", "kept")["spec"]["ports"][0]["nodePort"]
    c.k("apply", "-f", svc(c, "kept", {"type": "NodePort", "ports": [{"port": 80}],
                                       "sessionAffinity": "ClientIP"}))
    expect(getj(c, "service", "kept")["spec"]["ports"][0]["nodePort"] == kept,
           "an apply without nodePort changed it")
    # NodePort -> ClusterIP releases the port: another Service may ask for it
    # (the nodePort left as it was goes with the type, upstream's dropTypeDependentFields)
    c.k("patch", "service", "np", "-p", '{"spec":{"type":"ClusterIP"}}')
    expect("nodePort" not in getj(c, "service", "np")["spec"]["ports"][0],
           "NodePort -> ClusterIP kept the nodePort")
    c.k("apply", "-f", svc(c, "takes", {"type": "NodePort",
                                        "ports": [{"port": 80, "nodePort": port}]}))
    # ClusterIP -> NodePort allocates one
    c.k("patch", "service", "web", "-p", '{"spec":{"type":"NodePort"}}')
    wp = getj(c, "service", "web")["spec"]["ports"][0].get("nodePort", 0)
    expect(31000 <= wp <= 31099 and wp != port, "ClusterIP -> NodePort: nodePort %s" % wp)
    # delete releases the IP
    c.k("delete", "service", "web")
    c.k("apply", "-f", svc(c, "again", {"clusterIP": web["clusterIP"], "ports": [{"port": 80}]}))
    expect(getj(c, "service", "again")["spec"]["clusterIP"] == web["clusterIP"],
           "the released IP was not given again")
    out = c.out("get", "services")
    expect_in("again", out)
    # a Service deleted behind a finalizer keeps its IP until the finalizer goes
    c.k("apply", "-f", c.file(json.dumps({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "fin", "namespace": c.ns, "finalizers": ["svcapi.test/hold"]},
        "spec": {"ports": [{"port": 80}]}})))
    fip = getj(c, "service", "fin")["spec"]["clusterIP"]
    c.k("delete", "service", "fin", "--wait=false")
    p = c.k("apply", "-f", svc(c, "fin2", {"clusterIP": fip, "ports": [{"port": 80}]}), ok=False)
    expect_in("provided IP is already allocated", p.stderr)
    c.k("patch", "service", "fin", "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
    wait_for("fin gone", lambda: "service/fin" not in c.out("get", "services", "-o",
                                                             "name").split(), 10)
    c.k("apply", "-f", svc(c, "fin2", {"clusterIP": fip, "ports": [{"port": 80}]}))
    c.k("delete", "service", "fin2")
    for n in ("np", "kept", "takes", "again"):
        c.k("delete", "service", n)


def case_kubernetes_endpoints(c, sport):
    ep = getj(c, "endpoints", "kubernetes", "-n", "default")
    expect(ep["metadata"].get("labels") == {"endpointslice.kubernetes.io/skip-mirror": "true"},
           "kubernetes Endpoints labels: %s" % ep["metadata"])
    expect(ep["subsets"] == [{"addresses": [{"ip": "127.0.0.1"}],
                              "ports": [{"name": "https", "port": sport, "protocol": "TCP"}]}],
           "kubernetes Endpoints: %s" % ep["subsets"])
    sl = getj(c, "endpointslices.discovery.k8s.io", "kubernetes", "-n", "default")
    expect(sl["metadata"]["labels"] == {"kubernetes.io/service-name": "kubernetes"},
           "kubernetes EndpointSlice labels: %s" % sl["metadata"])
    expect(sl["addressType"] == "IPv4" and
           sl["endpoints"] == [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}] and
           sl["ports"] == [{"name": "https", "port": sport, "protocol": "TCP"}],
           "kubernetes EndpointSlice: %s" % sl)
    out = c.out("get", "endpoints", "kubernetes", "-n", "default")
    expect_in("127.0.0.1:%d" % sport, out)


def plain_get(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
        return json.loads(r.read())


def case_several_apiservers(binary, tmp):
    edir = os.path.join(tmp, "etcd")
    url = subprocess.run([ETCD_RUN, "start", edir], check=True, capture_output=True, text=True,
                         timeout=30).stdout.strip()
    procs = []
    try:
        ports = []
        for i in range(2):
            port = free_port()
            log = open(os.path.join(tmp, "api%d.log" % i), "ab")
            procs.append(subprocess.Popen(
                [binary, "apiserver", "--data-dir", os.path.join(tmp, "api%d" % i),
                 "--secure-port", "0", "--insecure-port", str(port), "--etcd-servers", url,
                 "--etcd-prefix", "/svcapi"], stdout=log, stderr=log))
            log.close()
            ports.append(port)
            wait_for("api%d ready" % i, lambda: _ready(port), 20)

        def both():
            subs = plain_get(ports[0], "/api/v1/namespaces/default/endpoints/kubernetes")
            got = sorted(p["port"] for s in subs.get("subsets", []) for p in s["ports"])
            return subs if got == sorted(ports) else None
        # the first server adds the second within a reconcile period (10 s)
        ep = wait_for("both servers in the kubernetes Endpoints", both, 25, 0.5)
        rv = ep["metadata"]["resourceVersion"]
        expect(all(s["addresses"] == [{"ip": "127.0.0.1"}] for s in ep["subsets"]),
               "subsets: %s" % ep["subsets"])
        time.sleep(12)  # more than a reconcile period of both: nothing flaps
        ep2 = plain_get(ports[1], "/api/v1/namespaces/default/endpoints/kubernetes")
        expect(ep2["metadata"]["resourceVersion"] == rv,
               "the kubernetes Endpoints changed without a change of servers: %s -> %s" % (
                   ep["subsets"], ep2["subsets"]))
        sl = plain_get(ports[1], "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/"
                                 "kubernetes")
        expect(sl["ports"][0]["port"] == min(ports), "slice ports: %s" % sl["ports"])
        # a server that stops leaves the Endpoints
        procs[1].terminate()
        procs[1].wait(15)

        def one():
            subs = plain_get(ports[0], "/api/v1/namespaces/default/endpoints/kubernetes")
            got = [p["port"] for s in subs.get("subsets", []) for p in s["ports"]]
            return got == [ports[0]]
        wait_for("the stopped server's address gone", one, 10, 0.3)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        subprocess.run([ETCD_RUN, "stop", edir], check=False, timeout=30)
    print("ok several API servers: the kubernetes Endpoints list each, stay put, and follow "
          "a stop", flush=True)


def _ready(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/readyz" % port, timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def main():
    binary = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="svcapi-")
    ok = False
    server = None
    try:
        case_flags(binary, tmp)
        server = Server(binary, os.path.join(tmp, "data"),
                        ["--service-cluster-ip-range", "10.123.0.0/24",
                         "--service-node-port-range", "31000-31099"])
        server.start()
        kubectls = [p for p in (kubectl_path("1.27"), kubectl_path("1.33")) if p]
        expect(kubectls, "no kubectl 1.27/1.33 found")
        for i, kc in enumerate(kubectls):
            ns = "svcapi%d" % i
            wd = os.path.join(tmp, ns)
            os.makedirs(wd)
            c = Ctx(kc, server, wd, ns)
            c.k("create", "namespace", ns, ns=False)
            case_ranges(c, server.sport)
            case_kubernetes_endpoints(c, server.sport)
            print("ok ranges, 422s and default/kubernetes (kubectl %s)" % c.version, flush=True)
        server.stop()
        server = None
        if shutil.which("etcd") or os.access("/usr/bin/etcd", os.X_OK):
            case_several_apiservers(binary, tmp)
        else:
            print("skip several API servers: no etcd", flush=True)
        ok = True
    except Fail as e:
        print("FAIL: %s" % e, flush=True)
    finally:
        if server:
            server.stop()
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("kept %s" % tmp)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
