#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`ckube bench scheduler --server URL --token T --external` (issue 14, bar 3): against a running
`ckube server` on its secure port with the kubeconfig's token, the bench only creates Node
objects and pods and times the bindings made by the cluster's own scheduler (a separate
`ckube scheduler` here). Checks the machine lines and that every bench pod really is bound
(by the API, not by the bench's word); then that without a scheduler the bench does not
report a rate (it must be able to fail)."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from ckubetest import Server, Fail, expect  # noqa: E402

NODES, PODS = 40, 150


def token_of(kubeconfig):
    with open(kubeconfig) as f:
        m = re.search(r"token:\s*\"?([^\s\"]+)", f.read())
    if not m:
        raise Fail("no token in %s" % kubeconfig)
    return m.group(1)


def bench(binary, srv, extra, timeout):
    cmd = [binary, "bench", "scheduler", "--server", "https://127.0.0.1:%d" % srv.sport,
           "--token", token_of(srv.kubeconfig), "--external", "--nodes", str(NODES),
           "--pods", str(PODS), "--threads", "4"] + extra
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def main():
    binary = sys.argv[1]
    work = tempfile.mkdtemp(prefix="ckube-schedbench-")
    srv = Server(binary, os.path.join(work, "data"))
    sched = None
    passed = False
    try:
        srv.start()
        slog = open(os.path.join(work, "scheduler.log"), "wb")
        sched = subprocess.Popen([binary, "scheduler", "--kubeconfig", srv.kubeconfig, "--port",
                                  "0"], stdout=subprocess.DEVNULL, stderr=slog)
        r = bench(binary, srv, [], 150)
        out = r.stdout
        expect(r.returncode == 0, "bench exit %d: %s %s" % (r.returncode, out, r.stderr))
        expect("(external scheduler)" in out, "external mode banner: %r" % out)
        vals = {}
        for k in ("sched_pods_per_s", "sched_spread_pods_per_s"):
            m = re.search(r"^bench %s ([0-9.]+) 1/s$" % k, out, re.M)
            expect(m, "line %s in %r" % (k, out))
            vals[k] = float(m.group(1))
            expect(vals[k] > 0, "%s = %s" % (k, vals[k]))
        items = srv.get_json("/api/v1/namespaces/default/pods")["items"]
        mine = [p for p in items if p["metadata"]["name"].startswith("sched-")]
        expect(len(mine) == 2 * PODS, "bench pods: %d, want %d" % (len(mine), 2 * PODS))
        unbound = [p["metadata"]["name"] for p in mine if not p["spec"].get("nodeName")]
        expect(not unbound, "pods the bench counted but not bound: %r" % unbound[:5])
        nodes = [n for n in srv.get_json("/api/v1/nodes")["items"]
                 if n["metadata"]["name"].startswith("bench-node-")]
        expect(len(nodes) == NODES, "bench nodes: %d" % len(nodes))

        # no scheduler: nothing binds, so the bench must fail and report no rate
        sched.terminate()
        sched.wait(timeout=10)
        sched = None
        srv.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                        "metadata": {"name": "schedbench-none"}})
        r = subprocess.run([binary, "bench", "scheduler", "--server",
                            "http://127.0.0.1:%d" % srv.pport, "--external", "--nodes", "2",
                            "--namespace", "schedbench-none",
                            "--pods", "5", "--workload", "basic", "--threads", "1",
                            "--timeout", "3"], capture_output=True, text=True, timeout=60)
        expect(r.returncode != 0, "bench without a scheduler succeeded: %s" % r.stdout)
        expect("0 of 5 pods bound" in r.stdout, "unbound round: %r" % r.stdout)
        expect(re.search(r"^bench sched_pods_per_s 0\.0 1/s$", r.stdout, re.M),
               "rate without a scheduler: %r" % r.stdout)
        print("PASS scheduler bench external (%.0f pods/s, spread %.0f pods/s)"
              % (vals["sched_pods_per_s"], vals["sched_spread_pods_per_s"]))
        passed = True
        return 0
    except Fail as e:
        print("FAIL: %s (logs in %s)" % (e, work))
        return 1
    finally:
        if sched:
            sched.terminate()
            try:
                sched.wait(timeout=10)
            except subprocess.TimeoutExpired:
                sched.kill()
        srv.stop()
        if passed:
            shutil.rmtree(work, ignore_errors=True)  # kept for the logs when failing


if __name__ == "__main__":
    sys.exit(main())
