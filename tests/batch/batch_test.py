#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Jobs, CronJobs and TTL-after-finished on a real cluster: `ckube server --agent-hollow 2
--scheduler --controllers` (API server, two hollow nodes, scheduler, controller manager),
driven by kubectl 1.27 and 1.33. Hollow containers behave as their command says
(`sh -c "sleep 1"` succeeds after a second, `sh -c "exit 3"` fails with code 3).

Cases per kubectl version, each in its own namespace (b-<case>-<version>):
  parallel   completions=5 parallelism=2 completes; a pod watch never sees more than 2 active
             pods and sees exactly 5 created; the tracking finalizers are gone afterwards
  backoff    a failing Job (backoffLimit 1) ends Failed/BackoffLimitExceeded after the 10 s
             pod re-create backoff, with FailureTarget first
  policy     podFailurePolicy FailJob on exit code 42 fails at once (reason PodFailurePolicy)
  deadline   activeDeadlineSeconds 2 on a long pod: Failed/DeadlineExceeded, pod deleted
  indexed    Indexed completions=3: completedIndexes 0-2, per-index hostname and annotation
  perindex   backoffLimitPerIndex 1 on Indexed pods that fail: one retry per index (failure-count
             annotations 0 and 1), then Failed/FailedIndexes with failedIndexes "0,1"
  successpolicy  Indexed with successPolicy succeededCount 1: SuccessCriteriaMet and Complete
             with reason SuccessPolicy after the first index
  adopt      a Job with manualSelector adopts a matching running pod, counts it and makes no other
  suspend    a suspended Job makes no pods (Suspended True), resuming runs it to completion
  ttl        ttlSecondsAfterFinished 3: the Job and its pods are deleted, not before
  cron       a CronJob "*/1 * * * *" (created at the start, checked at the end) creates
             <name>-<minutes since epoch> with the scheduled-timestamp annotation and records
             lastScheduleTime/lastSuccessfulTime; `create job --from=cronjob` works and
             successfulJobsHistoryLimit 1 deletes the older finished Job; a suspended
             CronJob with the same schedule runs nothing; the controllers' events are posted

usage: batch_test.py CKUBE_BIN"""

import json
import os
import shutil
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from ckubetest import Ctx, Fail, Server, expect, kubectl_path, wait_for  # noqa: E402


class PodWatch(threading.Thread):
    """Follows the pods of one namespace from resourceVersion 0: how many were ever created
    and the most that were active (not finished, not being deleted) at once."""

    def __init__(self, server, ns):
        super().__init__(daemon=True)
        self.port, self.ns = server.pport, ns
        self.created, self.state = set(), {}
        self.max_active, self.stop = 0, False
        self.lock = threading.Lock()

    def run(self):
        rv = "0"
        while not self.stop:
            try:
                url = ("http://127.0.0.1:%d/api/v1/namespaces/%s/pods?watch=1&resourceVersion=%s"
                       "&timeoutSeconds=60" % (self.port, self.ns, rv))
                with urllib.request.urlopen(url, timeout=90) as r:
                    for line in r:
                        ev = json.loads(line)
                        obj = ev["object"]
                        md = obj.get("metadata", {})
                        rv = md.get("resourceVersion", rv)
                        with self.lock:
                            uid = md.get("uid")
                            if ev["type"] == "ADDED":
                                self.created.add(uid)
                            if ev["type"] == "DELETED":
                                self.state.pop(uid, None)
                            elif ev["type"] in ("ADDED", "MODIFIED"):
                                phase = obj.get("status", {}).get("phase")
                                self.state[uid] = (phase not in ("Succeeded", "Failed") and
                                                   not md.get("deletionTimestamp"))
                            self.max_active = max(self.max_active, sum(self.state.values()))
            except Exception:  # noqa: BLE001 - a closed watch: resume
                time.sleep(0.2)

    def counts(self):
        with self.lock:
            return len(self.created), self.max_active


def job(c, name):
    return json.loads(c.out("get", "job", name, "-o", "json"))


def cond(j, ctype):
    for x in j.get("status", {}).get("conditions", []):
        if x["type"] == ctype and x["status"] == "True":
            return x
    return None


def pods_of(c, name):
    return json.loads(c.out("get", "pods", "-l", "job-name=" + name, "-o", "json"))["items"]


def manifest(name, command, **spec):
    tmpl = {"spec": {"restartPolicy": "Never",
                     "containers": [{"name": "c", "image": "busybox", "command": command}]}}
    body = {"template": tmpl}
    body.update(spec)
    return json.dumps({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
                       "spec": body})


def case_parallel(c, server):
    w = PodWatch(server, c.ns)
    w.start()
    time.sleep(0.3)
    c.k("apply", "-f", c.file(manifest("par", ["sh", "-c", "sleep 1"], completions=5, parallelism=2)))
    c.k("wait", "--for=condition=complete", "job/par", "--timeout=60s", timeout=70)
    j = job(c, "par")
    st = j["status"]
    expect(st.get("succeeded") == 5 and not st.get("failed"), "status %r" % st)
    expect(cond(j, "SuccessCriteriaMet") and cond(j, "Complete")["reason"] == "CompletionsReached",
           "conditions %r" % st.get("conditions"))
    expect(st.get("completionTime") and st.get("startTime"), "times %r" % st)
    wait_for("all 5 pods seen", lambda: w.counts()[0] >= 5, timeout=10)
    created, most = w.counts()
    w.stop = True
    expect(created == 5, "%d pods created for completions=5" % created)
    expect(most <= 2, "%d pods active at once with parallelism=2" % most)
    wait_for("tracking finalizers removed", lambda: all(
        "batch.kubernetes.io/job-tracking" not in p["metadata"].get("finalizers", [])
        for p in pods_of(c, "par")), timeout=20)
    out = c.out("get", "job", "par")
    expect("5/5" in out, "kubectl get job:\n" + out)
    ev = wait_for("job events", lambda: (lambda o: o if "Completed" in o else None)(
        c.out("get", "events", "--field-selector", "involvedObject.name=par")), timeout=10)
    expect(ev.count("SuccessfulCreate") >= 1 and "Created pod: par-" in ev, "events:\n" + ev)


def case_backoff(c, server):
    c.k("apply", "-f", c.file(manifest("bad", ["sh", "-c", "exit 3"], backoffLimit=1)))
    c.k("wait", "--for=condition=failed", "job/bad", "--timeout=60s", timeout=70)
    j = job(c, "bad")
    failed = cond(j, "Failed")
    expect(failed["reason"] == "BackoffLimitExceeded" and
           failed["message"] == "Job has reached the specified backoff limit", "Failed %r" % failed)
    expect(cond(j, "FailureTarget"), "no FailureTarget condition")
    expect(j["status"].get("failed") == 2 and not j["status"].get("active"), "status %r" % j["status"])
    pods = sorted(pods_of(c, "bad"), key=lambda p: p["metadata"]["creationTimestamp"])
    expect(len(pods) == 2, "%d pods for backoffLimit 1" % len(pods))
    t = [time.mktime(time.strptime(p["metadata"]["creationTimestamp"], "%Y-%m-%dT%H:%M:%SZ"))
         for p in pods]
    expect(t[1] - t[0] >= 9, "second pod %ds after the first: no 10 s backoff" % (t[1] - t[0]))


def case_policy(c, server):
    c.k("apply", "-f", c.file(manifest(
        "pfp", ["sh", "-c", "exit 42"], backoffLimit=6,
        podFailurePolicy={"rules": [{"action": "FailJob", "onExitCodes": {
            "containerName": "c", "operator": "In", "values": [42]}}]})))
    c.k("wait", "--for=condition=failed", "job/pfp", "--timeout=30s", timeout=40)
    j = job(c, "pfp")
    f = cond(j, "Failed")
    expect(f["reason"] == "PodFailurePolicy" and "failed with exit code 42 matching FailJob rule at "
           "index 0" in f["message"], "Failed %r" % f)
    expect(len(pods_of(c, "pfp")) == 1, "a FailJob rule must not retry")


def case_deadline(c, server):
    c.k("apply", "-f", c.file(manifest("dl", ["sh", "-c", "sleep 300"], activeDeadlineSeconds=2)))
    c.k("wait", "--for=condition=failed", "job/dl", "--timeout=45s", timeout=55)
    j = job(c, "dl")
    expect(cond(j, "Failed")["reason"] == "DeadlineExceeded", "Failed %r" % cond(j, "Failed"))
    expect(not j["status"].get("active"), "active pods left: %r" % j["status"])
    wait_for("deadline pod deleted", lambda: not [p for p in pods_of(c, "dl")
                                                  if not p["metadata"].get("deletionTimestamp")])


def case_indexed(c, server):
    c.k("apply", "-f", c.file(manifest("idx", ["sh", "-c", "sleep 1"], completions=3, parallelism=3,
                                       completionMode="Indexed")))
    c.k("wait", "--for=condition=complete", "job/idx", "--timeout=60s", timeout=70)
    j = job(c, "idx")
    expect(j["status"].get("completedIndexes") == "0-2", "completedIndexes %r" % j["status"])
    seen = set()
    for p in pods_of(c, "idx"):
        ix = p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
        expect(p["spec"].get("hostname") == "idx-" + ix, "hostname %r" % p["spec"].get("hostname"))
        expect(p["metadata"]["name"].startswith("idx-%s-" % ix), "name %s" % p["metadata"]["name"])
        env = p["spec"]["containers"][0].get("env", [])
        expect(any(e["name"] == "JOB_COMPLETION_INDEX" for e in env), "no JOB_COMPLETION_INDEX")
        seen.add(ix)
    expect(seen == {"0", "1", "2"}, "indexes %r" % seen)


def case_perindex(c, server):
    c.k("apply", "-f", c.file(manifest("pix", ["sh", "-c", "exit 3"], completions=2, parallelism=2,
                                       completionMode="Indexed", backoffLimitPerIndex=1)))
    c.k("wait", "--for=condition=failed", "job/pix", "--timeout=60s", timeout=70)
    j = job(c, "pix")
    f = cond(j, "Failed")
    expect(f["reason"] == "FailedIndexes" and f["message"] == "Job has failed indexes", "Failed %r" % f)
    expect(j["status"].get("failedIndexes") == "0,1" and j["status"].get("failed") == 4,
           "status %r" % j["status"])
    counts = sorted((p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"],
                     p["metadata"]["annotations"]["batch.kubernetes.io/job-index-failure-count"])
                    for p in pods_of(c, "pix"))
    expect(counts == [("0", "0"), ("0", "1"), ("1", "0"), ("1", "1")], "pods %r" % counts)


def case_adopt(c, server):
    c.k("apply", "-f", c.file(json.dumps({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "adoptee", "labels": {"app": "adopt"}},
        "spec": {"restartPolicy": "Never", "containers": [
            {"name": "c", "image": "busybox", "command": ["sh", "-c", "sleep 4"]}]}})))
    body = json.loads(manifest("adopter", ["sh", "-c", "sleep 1"], manualSelector=True,
                               selector={"matchLabels": {"app": "adopt"}}))
    body["spec"]["template"]["metadata"] = {"labels": {"app": "adopt"}}
    c.k("apply", "-f", c.file(json.dumps(body)))
    c.k("wait", "--for=condition=complete", "job/adopter", "--timeout=60s", timeout=70)
    pods = json.loads(c.out("get", "pods", "-o", "json"))["items"]
    expect([p["metadata"]["name"] for p in pods] == ["adoptee"],
           "the Job made pods besides the one it adopted: %r" % [p["metadata"]["name"] for p in pods])
    md = pods[0]["metadata"]
    expect(md.get("ownerReferences", [{}])[0].get("kind") == "Job", "not adopted: %r" % md)
    expect("batch.kubernetes.io/job-tracking" not in md.get("finalizers", []), "finalizer left")
    expect(job(c, "adopter")["status"].get("succeeded") == 1, "adopted pod not counted")


def case_successpolicy(c, server):
    c.k("apply", "-f", c.file(manifest("sp", ["sh", "-c", "sleep 1"], completions=3, parallelism=1,
                                       completionMode="Indexed",
                                       successPolicy={"rules": [{"succeededCount": 1}]})))
    c.k("wait", "--for=condition=complete", "job/sp", "--timeout=60s", timeout=70)
    j = job(c, "sp")
    for t in ("SuccessCriteriaMet", "Complete"):
        x = cond(j, t)
        expect(x and x["reason"] == "SuccessPolicy" and x["message"] == "Matched rules at index 0",
               "%s: %r" % (t, x))
    expect(j["status"].get("completedIndexes") == "0" and len(pods_of(c, "sp")) == 1,
           "status %r" % j["status"])


def case_suspend(c, server):
    c.k("apply", "-f", c.file(manifest("sus", ["sh", "-c", "sleep 1"], suspend=True, completions=2,
                                       parallelism=2)))
    wait_for("Suspended condition", lambda: cond(job(c, "sus"), "Suspended"))
    time.sleep(1)
    expect(not pods_of(c, "sus"), "a suspended Job made pods")
    expect(not job(c, "sus")["status"].get("startTime"), "startTime set while suspended")
    c.k("patch", "job", "sus", "--type=merge", "-p", '{"spec":{"suspend":false}}')
    c.k("wait", "--for=condition=complete", "job/sus", "--timeout=60s", timeout=70)
    s = [x for x in job(c, "sus")["status"]["conditions"] if x["type"] == "Suspended"][0]
    expect(s["status"] == "False" and s["reason"] == "JobResumed", "Suspended %r" % s)


def case_ttl(c, server):
    c.k("apply", "-f", c.file(manifest("ttl", ["sh", "-c", "sleep 1"], ttlSecondsAfterFinished=3)))
    c.k("wait", "--for=condition=complete", "job/ttl", "--timeout=60s", timeout=70)
    done = time.time()
    wait_for("ttl job deleted", lambda: c.k("get", "job", "ttl", ok=None).returncode != 0, timeout=30)
    # the finish time has whole seconds: at least 2 of the 3 s remain after `wait` returns
    expect(time.time() - done >= 1.0, "deleted %.1fs after completion, TTL 3 s" % (time.time() - done))
    wait_for("ttl pods deleted", lambda: not pods_of(c, "ttl"), timeout=30)


CRON = """apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "*/1 * * * *"
  successfulJobsHistoryLimit: 1
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: c, image: busybox, command: ["sh", "-c", "sleep 1"]}]
"""


def cron_start(c):
    c.k("apply", "-f", c.file(CRON))
    # the same schedule, suspended: checked to have run nothing once "tick" has run
    c.k("apply", "-f", c.file(CRON.replace("name: tick", "name: paused").replace(
        "spec:\n  schedule", "spec:\n  suspend: true\n  schedule", 1)))
    return time.time()


def cron_check(c, started):
    # the next minute boundary after creation, plus the controller's slack
    due = (int(started) // 60 + 1) * 60
    mins = due // 60

    def scheduled():
        cj = json.loads(c.out("get", "cronjob", "tick", "-o", "json"))
        st = cj.get("status", {})
        return cj if st.get("lastSuccessfulTime") and not st.get("active") else None
    cj = wait_for("the scheduled run", scheduled, timeout=max(10, due - time.time() + 30), step=0.5)
    st = cj["status"]
    want_ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(mins * 60))
    expect(st.get("lastScheduleTime") == want_ts, "lastScheduleTime %r, want %s" %
           (st.get("lastScheduleTime"), want_ts))
    name = "tick-%d" % mins
    j = job(c, name)
    expect(j["metadata"]["annotations"].get("batch.kubernetes.io/cronjob-scheduled-timestamp") ==
           want_ts, "annotations %r" % j["metadata"].get("annotations"))
    ref = j["metadata"]["ownerReferences"][0]
    expect(ref["kind"] == "CronJob" and ref["name"] == "tick" and ref["controller"], "ref %r" % ref)
    expect(cond(j, "Complete"), "scheduled job not complete")
    paused = json.loads(c.out("get", "cronjob", "paused", "-o", "json"))
    expect(paused["spec"].get("suspend") is True and
           not paused.get("status", {}).get("lastScheduleTime"), "suspended CronJob ran: %r" %
           paused.get("status"))
    expect(not [x for x in json.loads(c.out("get", "jobs", "-o", "json"))["items"]
                if x["metadata"]["name"].startswith("paused-")], "suspended CronJob made a Job")
    ev = c.out("get", "events", "--field-selector", "involvedObject.kind=CronJob")
    expect("Created job " + name in ev and "SawCompletedJob" in ev, "cronjob events:\n" + ev)
    # kubectl create job --from=cronjob (client-side); history limit 1 keeps only the newest
    c.k("create", "job", "manual", "--from=cronjob/tick")
    c.k("wait", "--for=condition=complete", "job/manual", "--timeout=60s", timeout=70)
    m = job(c, "manual")
    expect(m["metadata"]["annotations"].get("cronjob.kubernetes.io/instantiate") == "manual",
           "manual job annotations %r" % m["metadata"].get("annotations"))
    if m["metadata"]["ownerReferences"][0].get("controller"):
        wait_for("history limit deletes the older job",
                 lambda: c.k("get", "job", name, ok=None).returncode != 0, timeout=30)
    else:
        # kubectl before 1.28 sets no controller: true, so the CronJob does not own the manual
        # Job (metav1.GetControllerOf) and it does not count against the history limit
        time.sleep(2)
        c.k("get", "job", name)
    c.k("get", "job", "manual")


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    binary = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="ckube-batch-")
    srv = Server(binary, os.path.join(tmp, "data"),
                 ["--agent-hollow", "2", "--scheduler", "--controllers"])
    failed = 0
    cases = [("parallel", case_parallel), ("backoff", case_backoff), ("policy", case_policy),
             ("deadline", case_deadline), ("indexed", case_indexed), ("suspend", case_suspend),
             ("ttl", case_ttl), ("perindex", case_perindex), ("adopt", case_adopt),
             ("successpolicy", case_successpolicy)]
    try:
        srv.start()
        ctxs = {}
        for ver in ("1.27", "1.33"):
            kc = kubectl_path(ver)
            if not kc:
                print("SKIP kubectl %s missing" % ver)
                continue
            ctxs[ver] = kc
        if not ctxs:
            raise Fail("no kubectl")

        def ctx(name, ver):
            ns = "b-%s-%s" % (name, ver.replace(".", ""))
            srv.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                            "metadata": {"name": ns}})
            wd = os.path.join(tmp, ns)
            os.makedirs(wd)
            return Ctx(ctxs[ver], srv, wd, ns)
        crons = {ver: ctx("cron", ver) for ver in ctxs}
        started = {ver: cron_start(c) for ver, c in crons.items()}
        work = [(ver, name, fn) for ver in ctxs for name, fn in cases]
        results = []

        def run(ver, name, fn):
            t0 = time.time()
            try:
                fn(ctx(name, ver), srv)
                results.append("ok %s kubectl %s (%.1fs)" % (name, ver, time.time() - t0))
            except Fail as e:
                results.append("FAIL %s kubectl %s: %s" % (name, ver, e))
        # the cases are independent (own namespaces): run them side by side
        threads = [threading.Thread(target=run, args=w) for w in work]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=150)
        expect(not any(t.is_alive() for t in threads), "cases still running after 150 s")
        for ver, c in crons.items():
            t0 = time.time()
            try:
                cron_check(c, started[ver])
                results.append("ok cron kubectl %s (%.1fs)" % (ver, time.time() - t0))
            except Fail as e:
                results.append("FAIL cron kubectl %s: %s" % (ver, e))
        for r in sorted(results):
            print(r)
            failed += r.startswith("FAIL")
    except Fail as e:
        failed += 1
        print("FAIL setup: %s" % e)
    finally:
        try:
            srv.stop()
        except Fail as e:
            print("FAIL %s" % e)
            failed += 1
    if failed:
        log = os.path.join(tmp, "server.log")
        print("logs kept in %s" % tmp)
        if os.path.exists(log):
            with open(log, errors="replace") as fh:
                print("---- server.log (tail)\n" + "".join(fh.readlines()[-40:]))
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    print("batch: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
