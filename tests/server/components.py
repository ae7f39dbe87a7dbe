#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`ckube server --agent-hollow 1 --scheduler --controllers`: the one-node cluster's components
run with the server. kubectl (1.27 and 1.33) creates a pod with no node; the scheduler binds it
to the hollow node, the agent runs it (Running, Ready, a pod IP), `kubectl delete` removes it;
a Deployment of 2 replicas becomes available through the controller manager, the scheduler and
the agent together; on SIGTERM the server and every component process end.

usage: components.py CKUBE_BIN"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from ckubetest import Ctx, Fail, Server, expect, kubectl_path, wait_for  # noqa: E402


def wait(fn, what, timeout=30):
    return wait_for(what, fn, timeout, 0.2)


def children_of(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(x) for x in out.stdout.split()]


def run_pod(c):
    name = "web-" + c.version.replace(".", "")
    c.k("run", name, "--image=busybox", "--restart=Never", "--", "sleep", "3600")

    def running():
        pod = json.loads(c.out("get", "pod", name, "-o", "json"))
        st = pod.get("status", {})
        ready = [x for x in st.get("conditions", []) if x.get("type") == "Ready"]
        if st.get("phase") == "Running" and ready and ready[0].get("status") == "True" \
                and st.get("podIP"):
            return pod
        return None
    pod = wait(running, "pod %s Running and Ready" % name)
    expect(pod["spec"].get("nodeName") == "hollow-node-0", "bound to %r" % pod["spec"].get("nodeName"))
    ev = c.out("get", "events", "--field-selector", "involvedObject.name=" + name)
    expect("Scheduled" in ev and "Successfully assigned" in ev, "no Scheduled event:\n" + ev)
    c.k("delete", "pod", name, "--wait=true", timeout=60)
    c.k("get", "pod", name, ok=False)


def run_deployment(c):
    name = "dep-" + c.version.replace(".", "")
    c.k("create", "deployment", name, "--image=busybox", "--replicas=2")
    c.k("rollout", "status", "deployment/" + name, "--timeout=60s", timeout=90)
    pods = json.loads(c.out("get", "pods", "-l", "app=" + name, "-o", "json"))["items"]
    expect(len(pods) == 2, "%d pods" % len(pods))
    expect(all(p["status"].get("phase") == "Running" for p in pods), "pods not Running")
    c.k("delete", "deployment", name, "--cascade=foreground", "--wait=true", timeout=60)
    wait(lambda: not json.loads(c.out("get", "pods", "-l", "app=" + name, "-o", "json"))["items"],
         "the deployment's pods to go")


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    binary = os.path.abspath(sys.argv[1])
    workdir = tempfile.mkdtemp(prefix="ckube-server-")
    srv = Server(binary, os.path.join(workdir, "d"), ["--agent-hollow", "1", "--scheduler", "--controllers"])
    failed = 0
    try:
        srv.start()
        for v in ("1.27", "1.33"):
            kp = kubectl_path(v)
            if not kp:
                continue
            wd = os.path.join(workdir, "k" + v)
            os.makedirs(wd)
            c = Ctx(kp, srv, wd, "default")
            for case, fn in (("pod-scheduled-and-run", run_pod), ("deployment-available", run_deployment)):
                try:
                    fn(c)
                    print("PASS %s [kubectl %s]" % (case, v), flush=True)
                except Fail as e:
                    failed += 1
                    print("FAIL %s [kubectl %s]: %s" % (case, v, e), flush=True)
        kids = children_of(srv.proc.pid)
        expect(kids, "the server started no component process")
        srv.stop()
        time.sleep(0.5)
        left = [k for k in kids if os.path.exists("/proc/%d" % k)]
        if left:
            failed += 1
            print("FAIL shutdown: component processes left: %s" % left)
        else:
            print("PASS shutdown (%d component process(es) ended with the server)" % len(kids))
    except Fail as e:
        failed += 1
        print("FAIL %s" % e)
    finally:
        if srv.proc and srv.proc.poll() is None:
            srv.proc.kill()
        if failed:
            print("logs kept in %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print("%d failed" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
