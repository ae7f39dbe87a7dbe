#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Where a pod's start time goes, from a kept `ckube bench pods` run:

    CKBENCH_KEEP=1 ckube bench pods --hollow 0 --agent-v 3   # prints "state in DIR"
    python3 tests/node_e2e/pod_start_profile.py DIR

Lines up DIR/pods.tsv (per pod: create request sent, Running seen by the watch; wall clock)
with the agent's -v 3 log (CNI ADD results, "sandbox ... ready", "started container",
"status phase Running", each stamped by the pod worker thread that did it) and prints p50 /
p90 / mean of each step. "queue" is the wait for a free pod worker (from the create, or from
the end of the worker's previous pod); "netns+loopback" starts there, so it also holds the
informer's delivery. Not a test: a profiling aid for the bench."""
import datetime
import re
import statistics
import sys


def main():
    d = sys.argv[1]
    created, seen = {}, {}
    with open(d + "/pods.tsv") as f:
        for line in f:
            n, c, r = line.split("\t")
            created[n], seen[n] = float(c), float(r)
    day = datetime.datetime.fromtimestamp(min(created.values()), datetime.timezone.utc).replace(
        hour=0, minute=0, second=0, microsecond=0).timestamp()
    per, rows, free_at = {}, {}, {}
    with open(d + "/agent.log") as f:
        for line in f:
            m = re.match(r"I\d{4} (\d\d):(\d\d):(\d\d\.\d+)\s+(\d+)", line)
            if not m:
                continue
            h, mi, s, tid = m.groups()
            ts = day + int(h) * 3600 + int(mi) * 60 + float(s)
            cur = per.setdefault(tid, {})
            if "cni ADD loopback" in line:
                cur["lo"] = ts
            elif "cni ADD bridge" in line:
                cur["br"] = ts
            elif "cni ADD portmap" in line:
                cur["pm"] = ts
            elif "ready, ip" in line:
                m = re.search(r"\(ckbench-pods/(ckbench-pod-\d+)\)", line)
                if m:
                    cur.update(sb=ts, name=m.group(1), free=free_at.get(tid, 0))
            elif "started container" in line and "ckbench-pod-" in line:
                cur["st"] = ts
            elif "status phase Running" in line and "ckbench-pod-" in line:
                name = re.search(r"(ckbench-pod-\d+)", line).group(1)
                if cur.get("name") == name:
                    cur["ph"] = ts
                    rows[name] = dict(cur)
                per[tid] = {}
                free_at[tid] = ts
    steps = ["queue for a worker", "netns+loopback ADD", "bridge ADD (veth, IPAM, ipMasq)",
             "portmap ADD", "container create+start+events", "status patch", "patch -> watch",
             "total (create -> watch)"]
    parts = {k: [] for k in steps}
    for n, r in rows.items():
        if n not in created or not all(k in r for k in ("lo", "br", "pm", "sb", "st", "ph")):
            continue
        start = max(created[n], r["free"])
        vals = [start - created[n], r["lo"] - start, r["br"] - r["lo"], r["pm"] - r["br"],
                r["st"] - r["sb"], r["ph"] - r["st"], seen[n] - r["ph"], seen[n] - created[n]]
        for k, v in zip(steps, vals):
            parts[k].append(v)
    print("%d pods analysed" % len(parts[steps[0]]))
    for k in steps:
        v = sorted(parts[k])
        if v:
            print("  %-34s p50 %7.1f ms  p90 %7.1f ms  mean %7.1f ms" % (
                k, 1000 * v[len(v) // 2], 1000 * v[len(v) * 9 // 10], 1000 * statistics.mean(v)))


if __name__ == "__main__":
    main()
