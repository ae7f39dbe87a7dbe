#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`ckube server --agent-hollow 1 --scheduler`: the one-node cluster's components run with the
server. kubectl (1.27 and 1.33) creates a pod with no node; the scheduler binds it to the
hollow node, the agent runs it (Running, Ready, a pod IP), `kubectl delete` removes it; on
SIGTERM the server and every component process end.

usage: components.py CKUBE_BIN"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from ckubetest import Ctx, Fail, Server, expect, kubectl_path  # noqa: E402


def wait(fn, what, timeout=30):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.2)
    raise Fail("timed out waiting for %s (last: %r)" % (what, last))


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


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    binary = os.path.abspath(sys.argv[1])
    workdir = tempfile.mkdtemp(prefix="ckube-server-")
    srv = Server(binary, os.path.join(workdir, "d"), ["--agent-hollow", "1", "--scheduler"])
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
            try:
                run_pod(c)
                print("PASS pod-scheduled-and-run [kubectl %s]" % v, flush=True)
            except Fail as e:
                failed += 1
                print("FAIL pod-scheduled-and-run [kubectl %s]: %s" % (v, e), flush=True)
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
