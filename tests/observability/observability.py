#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Observability with the tools dashboards use (issue 20). Debian's Prometheus scrapes a
`ckube server --agent-hollow 1 --scheduler --controllers` (the API server, the scheduler and
controller-manager children) and a
standalone `ckube agent --hollow 1` every second, over loopback, with its own storage;
after the test's own load (creates, lists, a watch) and two more scrapes, Prometheus's HTTP
API must answer upstream's queries with values for that load. `promtool check metrics` must
print nothing for every component's /metrics; health endpoints follow upstream's protocol;
with etcd as the store, killing etcd turns /readyz 500 while /livez stays 200.

usage: observability.py CKUBE_BIN"""

import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from ckubetest import Fail, Server, expect, expect_in, free_port, wait_for  # noqa: E402

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
ETCD_RUN = os.path.join(SRC, "tests", "etcd", "etcd-run.sh")
PODS = 5


def log(msg):
    print("observability: " + msg, flush=True)


def wait(fn, what, timeout=30, step=0.2):
    return wait_for(what, fn, timeout, step)


def http(url, headers=None, timeout=10):
    """(status, content type, body text) without raising on 4xx/5xx."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


def probe(url):
    try:
        return http(url, timeout=2)[0] == 200
    except OSError:
        return False


def rfc3339(ts):
    """Seconds since the epoch of an RFC 3339 time with up to nanoseconds (Prometheus)."""
    m = re.match(r"(\d+-\d+-\d+T\d+:\d+:\d+)(?:\.(\d+))?(Z|[+-]\d+:\d+)$", ts)
    if not m:
        raise Fail("bad time %r" % ts)
    base = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
    tz = datetime.timezone.utc if m.group(3) == "Z" else datetime.datetime.strptime(
        m.group(3).replace(":", ""), "%z").tzinfo
    frac = float("0." + m.group(2)) if m.group(2) else 0.0
    return base.replace(tzinfo=tz).timestamp() + frac


def read_lines_matching(stream, prefixes, timeout):
    """For each prefix, the first line of stream that starts with it (read on a thread,
    bounded wait; the lines may come in any order)."""
    found = {}

    def reader():
        for line in stream:
            for p in prefixes:
                if line.startswith(p) and p not in found:
                    found[p] = line.strip()
            if len(found) == len(prefixes):
                return

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    t.join(timeout)
    missing = [p for p in prefixes if p not in found]
    if missing:
        raise Fail("no %r line within %d s" % (missing, timeout))
    return [found[p] for p in prefixes]


# ---- promtool and health -----------------------------------------------------------------

def promtool_clean(name, url):
    st, ctype, text = http(url + "/metrics")
    expect(st == 200, "%s /metrics: %d" % (name, st))
    expect(ctype == "text/plain; version=0.0.4; charset=utf-8",
           "%s /metrics content type %r" % (name, ctype))
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    out = (p.stdout + p.stderr).strip()
    expect(p.returncode == 0 and out == "", "promtool check metrics on %s:\n%s" % (name, out))
    st, ctype, om = http(url + "/metrics",
                         {"Accept": "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"})
    expect(st == 200 and ctype.startswith("application/openmetrics-text; version=1.0.0") and
           om.endswith("# EOF\n"), "%s OpenMetrics: %d %r %r" % (name, st, ctype, om[-40:]))
    expect_in("# TYPE process_cpu_seconds counter\n", om, "%s OpenMetrics page" % name)
    log("%s: promtool clean (%d lines), OpenMetrics served" % (name, text.count("\n")))
    return text


def health_protocol(name, url, checks):
    st, _, body = http(url + "/readyz?verbose")
    expect(st == 200 and body.endswith("readyz check passed\n"), "%s readyz: %d %r" % (name, st, body))
    for c in checks:
        expect_in("[+]%s ok\n" % c, body, "%s /readyz?verbose" % name)
    st, _, body = http(url + "/readyz?verbose&exclude=%s&exclude=nosuch" % checks[0])
    expect_in("[+]%s excluded: ok\n" % checks[0], body)
    expect_in('warn: some health checks cannot be excluded: no matches for "nosuch"', body)
    expect(http(url + "/readyz/" + checks[-1])[::2] == (200, "ok"), "%s /readyz/%s" % (name, checks[-1]))
    expect(http(url + "/livez/nosuch")[0] == 404, "%s /livez/nosuch not 404" % name)
    expect(http(url + "/healthz")[::2] == (200, "ok"), "%s /healthz" % name)
    st, _, body = http(url + "/livez?verbose")
    expect(st == 200 and "[+]ping ok\n" in body and body.endswith("livez check passed\n"),
           "%s livez: %d %r" % (name, st, body))


# ---- Prometheus --------------------------------------------------------------------------

class Prometheus:
    def __init__(self, root, targets):
        self.dir = os.path.join(root, "prometheus")
        os.makedirs(self.dir)
        self.port = free_port()
        cfg = {"global": {"scrape_interval": "1s", "scrape_timeout": "900ms",
                          "evaluation_interval": "1s"},
               "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [t]}]}
                                  for job, t in targets.items()]}
        with open(os.path.join(self.dir, "prometheus.yml"), "w") as f:
            json.dump(cfg, f)  # YAML is a superset of JSON
        self.proc = subprocess.Popen(
            ["prometheus", "--config.file=" + os.path.join(self.dir, "prometheus.yml"),
             "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "log"), "w"))
        self.base = "http://127.0.0.1:%d" % self.port

    def api(self, path, **params):
        url = self.base + path + ("?" + urllib.parse.urlencode(params) if params else "")
        st, _, body = http(url)
        expect(st == 200, "prometheus %s: %d %s" % (path, st, body[:300]))
        return json.loads(body)["data"]

    def targets(self):
        try:
            return self.api("/api/v1/targets")["activeTargets"]
        except (OSError, Fail):
            return []

    def scraped_after(self, t):
        """True once every target was scraped successfully at least once after t."""
        ts = self.targets()
        if not ts:
            return False
        for x in ts:
            if x["health"] != "up":
                if x.get("lastError"):
                    log("target %s: %s" % (x["labels"]["job"], x["lastError"]))
                return False
            if rfc3339(x["lastScrape"]) <= t:
                return False
        return True

    def query(self, q):
        return self.api("/api/v1/query", query=q)["result"]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def values(result, label):
    return {r["metric"].get(label, ""): float(r["value"][1]) for r in result}


# ---- the load ----------------------------------------------------------------------------

def load(srv, kubectl, prefix="obs", n=PODS):
    """Creates n pods, LISTs, GETs one and watches until the last one's ADDED. A warm-up round
    runs before Prometheus's first scrape: a series must exist before the load for rate() to
    see it grow (a new series' first sample is not an increase)."""
    for i in range(n):
        srv.post("/api/v1/namespaces/default/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "%s-%d" % (prefix, i)},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
    for _ in range(3):
        subprocess.run(kubectl + ["get", "pods", "-A"], check=True, capture_output=True, timeout=30)
    srv.get_json("/api/v1/namespaces/default/pods/%s-0" % prefix)
    evs = srv.watch_lines("/api/v1/namespaces/default/pods?watch=1&timeoutSeconds=2",
                          lambda ev: ev["object"]["metadata"]["name"] == "%s-%d" % (prefix, n - 1))
    expect(len(evs) >= n, "watch saw %d events" % len(evs))


def check_queries(prom):
    by_verb = values(prom.query("sum(rate(apiserver_request_total[1m])) by (verb)"), "verb")
    log("rate by verb: %s" % {k: round(v, 3) for k, v in by_verb.items()})
    for verb in ("CREATE", "LIST", "GET", "WATCH"):
        expect(by_verb.get(verb, 0) > 0, "no %s rate in %s" % (verb, by_verb))
    p99 = values(prom.query("histogram_quantile(0.99, sum(rate("
                            "apiserver_request_duration_seconds_bucket[1m])) by (le, verb))"), "verb")
    log("p99 by verb: %s" % p99)
    for verb in ("CREATE", "LIST"):
        v = p99.get(verb)
        expect(v is not None and v == v and 0 < v <= 60, "p99 for %s: %r" % (verb, v))
    pods = prom.query('apiserver_storage_objects{resource="pods"}')
    expect(len(pods) == 1 and float(pods[0]["value"][1]) >= PODS + 1,
           "apiserver_storage_objects{resource=\"pods\"}: %s" % pods)
    rss = values(prom.query("process_resident_memory_bytes"), "job")
    log("process_resident_memory_bytes: %s" % rss)
    for job in ("apiserver", "scheduler", "controller-manager", "agent"):
        expect(rss.get(job, 0) > 1 << 20, "process_resident_memory_bytes for %s: %s" % (job, rss))
    sched = prom.query('sum(scheduler_schedule_attempts_total{result="scheduled"})')
    expect(sched and float(sched[0]["value"][1]) >= PODS, "scheduled attempts: %s" % sched)
    adds = values(prom.query('workqueue_adds_total{job="agent"}'), "name")
    expect(adds.get("nodes", 0) > 0, "agent workqueue_adds_total: %s" % adds)
    etcd = prom.query('sum(rate(etcd_request_duration_seconds_count{operation="create",'
                      'type="pods"}[1m]))')
    expect(etcd and float(etcd[0]["value"][1]) > 0, "etcd_request_duration_seconds: %s" % etcd)
    watchers = prom.query('apiserver_registered_watchers{kind="Pod"}')
    expect(watchers and float(watchers[0]["value"][1]) >= 1, "registered watchers: %s" % watchers)


# ---- the store check on etcd -------------------------------------------------------------

def etcd_readiness(binary, root):
    edir = os.path.join(root, "etcd")
    url = subprocess.run([ETCD_RUN, "start", edir], check=True, capture_output=True, text=True,
                         timeout=30).stdout.strip()
    port = free_port()
    api = subprocess.Popen([binary, "apiserver", "--data-dir", os.path.join(root, "etcd-api"),
                            "--secure-port", str(free_port()), "--insecure-port", str(port),
                            "--etcd-servers", url],
                           stdout=subprocess.DEVNULL, stderr=open(os.path.join(root, "etcd-api.log"), "w"))
    base = "http://127.0.0.1:%d" % port
    try:
        wait(lambda: api.poll() is None and probe(base + "/readyz"), "apiserver on etcd ready", 30)
        st, _, body = http(base + "/readyz?verbose")
        expect_in("[+]etcd ok\n", body)
        subprocess.run([ETCD_RUN, "stop", edir], check=False, timeout=30)
        t0 = time.time()
        wait(lambda: http(base + "/readyz")[0] == 500, "readyz 500 with etcd down", 15)
        st, _, body = http(base + "/readyz?verbose")
        expect(st == 500 and "[-]etcd failed: reason withheld\n" in body and
               body.endswith("readyz check failed\n"), "readyz with etcd down: %d %r" % (st, body))
        expect(http(base + "/readyz/etcd")[0] == 500, "/readyz/etcd with etcd down")
        expect(http(base + "/readyz?exclude=etcd&exclude=etcd-readiness")[0] == 200,
               "readyz excluding etcd with etcd down")
        st, _, body = http(base + "/livez")
        expect((st, body) == (200, "ok"), "livez with etcd down: %d %r" % (st, body))
        log("etcd down: readyz 500 after %.1f s, livez 200" % (time.time() - t0))
        subprocess.run([ETCD_RUN, "start", edir], check=True, capture_output=True, timeout=30)
        wait(lambda: http(base + "/readyz")[0] == 200, "readyz back after etcd restart", 20)
    finally:
        api.terminate()
        try:
            api.wait(10)
        except subprocess.TimeoutExpired:
            api.kill()
        subprocess.run([ETCD_RUN, "stop", edir], check=False, timeout=30)


def main():
    binary = os.path.abspath(sys.argv[1])
    root = tempfile.mkdtemp(prefix="ckube-obs-")
    srv = agent = prom = None
    ok = False
    try:
        srv = Server(binary, os.path.join(root, "data"),
                     ["--agent-hollow", "1", "--scheduler", "--controllers"])
        srv.start()
        lines = read_lines_matching(srv.proc.stdout,
                                    ["scheduler: serving", "controller-manager: serving"], 30)
        sched_port, cm_port = (int(x.rsplit(":", 1)[1]) for x in lines)
        kubectl = ["kubectl", "--kubeconfig", srv.kubeconfig]
        agent_port = free_port()
        agent = subprocess.Popen([binary, "agent", "--kubeconfig", srv.kubeconfig, "--hollow", "1",
                                  "--node-name", "obs-extra", "--root", os.path.join(root, "agent"),
                                  "--healthz-port", str(agent_port)],
                                 stdout=subprocess.DEVNULL, stderr=open(os.path.join(root, "agent.log"), "w"))
        urls = {"apiserver": "http://127.0.0.1:%d" % srv.pport,
                "scheduler": "http://127.0.0.1:%d" % sched_port,
                "controller-manager": "http://127.0.0.1:%d" % cm_port,
                "agent": "http://127.0.0.1:%d" % agent_port}
        wait(lambda: agent.poll() is None and probe(urls["agent"] + "/healthz"), "agent healthz", 20)

        # health: kubectl's view, then the protocol on every component
        out = subprocess.run(kubectl + ["get", "--raw", "/readyz?verbose"], check=True,
                             capture_output=True, text=True, timeout=30).stdout
        for c in ("ping", "log", "etcd", "etcd-readiness", "informer-sync",
                  "poststarthook/bootstrap-controller", "shutdown"):
            expect_in("[+]%s ok\n" % c, out, "kubectl get --raw /readyz?verbose")
        expect_in("readyz check passed", out)
        health_protocol("apiserver", urls["apiserver"], ["etcd", "ping"])
        health_protocol("scheduler", urls["scheduler"], ["informer-sync", "ping"])
        health_protocol("agent", urls["agent"], ["syncloop", "ping"])
        health_protocol("controller-manager", urls["controller-manager"], ["informer-sync", "ping"])
        log("health protocol ok on every component")

        load(srv, kubectl, "warm", 1)
        prom = Prometheus(root, {job: u[len("http://"):] for job, u in urls.items()})
        t = time.time()
        wait(lambda: prom.scraped_after(t), "first scrapes", 30, 0.25)
        load(srv, kubectl)
        wait(lambda: len(json.loads(subprocess.run(
            kubectl + ["get", "pods", "-o", "json"], capture_output=True, text=True,
            timeout=30).stdout or "{}").get("items", [])) == PODS + 1 and all(
                p["spec"].get("nodeName") for p in json.loads(subprocess.run(
                    kubectl + ["get", "pods", "-o", "json"], capture_output=True, text=True,
                    timeout=30).stdout)["items"]), "pods scheduled", 30)
        t_load = time.time()
        wait(lambda: prom.scraped_after(t_load + 1.0), "two scrapes after the load", 30, 0.25)
        check_queries(prom)
        log("Prometheus answers upstream's queries for the load")

        for name, u in urls.items():
            promtool_clean(name, u)

        etcd_readiness(binary, root)
        ok = True
    finally:
        if prom:
            prom.stop()
        if agent:
            agent.terminate()
            try:
                agent.wait(10)
            except subprocess.TimeoutExpired:
                agent.kill()
        if srv:
            srv.stop()
        if ok:
            shutil.rmtree(root, ignore_errors=True)
        else:
            log("kept %s for inspection" % root)
    print("observability: PASS")


if __name__ == "__main__":
    try:
        main()
    except Fail as e:
        print("observability: FAIL: %s" % e, flush=True)
        sys.exit(1)
