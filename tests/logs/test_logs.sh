#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Logs suite: `ckube apiserver` + `ckube agent` (crun, CNI, a busybox image from a local
# docker-registry), driven by kubectl 1.27 and 1.33:
#   kubectl logs (one container, -c, the container-name errors), logs -f sees a line the pod
#   writes within a second and ends when the container does, --tail, --since, --timestamps,
#   --limit-bytes, -p after a restart, a ContainerCreating pod's error; pods/log over plain
#   HTTP/1.1 streams too (kubectl itself talks HTTP/2 over TLS);
#   the agent's HTTPS port: the Node reports it, a request without a client certificate is
#   refused (401), the API server's kubelet-client certificate works (/pods, /healthz,
#   /stats/summary, /metrics/resource, /containerLogs and its validation errors).
# usage: test_logs.sh CKUBE_BIN SRC_DIR   (needs root; exit 77 = SKIP)
set -u
. "$(dirname "$0")/../runtime/lib.sh"
rt_init "$@"
ART=$T/agent
NODE=cklogs-$$
AGENT_PID=
SERVER_PID=
K127=/usr/lib/google-cloud-sdk/bin/kubectl.1.27
K133=/usr/lib/google-cloud-sdk/bin/kubectl.1.33
[ -x "$K127" ] || K127=$(command -v kubectl)
[ -x "$K133" ] || K133=$(command -v kubectl)
[ -n "$K127" ] && [ -n "$K133" ] || { echo "SKIP: kubectl not installed"; exit 77; }
cleanup() {
    [ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    ROOT=$ART/runtime
    rt_cleanup
}
trap cleanup EXIT
registry_start "$T/reg" || exit 77
registry_push_busybox logs/busybox:1 || fail "push"
IMG=$REGISTRY_ADDR/logs/busybox:1

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SP=$(port); PP=$(port); HP=$(port); KP=$(port)
TOKEN=logs-token-$$
"$CKUBE" apiserver --data-dir "$T/data" --secure-port "$SP" --insecure-port "$PP" --token "$TOKEN" \
    >"$T/server.out" 2>"$T/server.log" &
SERVER_PID=$!
API=http://127.0.0.1:$PP
wait_for 20 curl -fs "$API/readyz" || { cat "$T/server.log"; fail "apiserver not ready"; }
D=$T/data
[ -s "$D/kubelet-client.crt" ] && [ -s "$D/kubelet-client.key" ] || fail "no kubelet client certificate in the data dir"
openssl x509 -in "$D/kubelet-client.crt" -noout -subject | grep -q 'O *= *system:masters, CN *= *kube-apiserver-kubelet-client' ||
    { openssl x509 -in "$D/kubelet-client.crt" -noout -subject; fail "kubelet client certificate subject"; }
openssl verify -CAfile "$D/ca.crt" "$D/kubelet-client.crt" >/dev/null || fail "kubelet client certificate not issued by the CA"
KC=$T/kubeconfig
cat >"$KC" <<KCEOF
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:$SP", certificate-authority: "$D/ca.crt"}
users:
- name: u
  user: {token: "$TOKEN"}
contexts:
- name: c
  context: {cluster: c, user: u, namespace: default}
current-context: c
KCEOF
export KUBECONFIG=$KC

"$CKUBE" agent --kubeconfig "$KC" --node-name "$NODE" --root "$ART" --healthz-port "$HP" --port "$KP" \
    --client-ca-file "$D/ca.crt" -v 2 >>"$T/agent.log" 2>&1 &
AGENT_PID=$!
wait_for 20 curl -fs "http://127.0.0.1:$HP/healthz" || { tail -20 "$T/agent.log"; fail "agent healthz"; }
node_ready() { curl -fs "$API/api/v1/nodes/$NODE" | jq -e '.status.conditions[] | select(.type=="Ready" and .status=="True")'; }
wait_for 20 node_ready || fail "node $NODE not Ready"
[ "$(curl -fs "$API/api/v1/nodes/$NODE" | jq .status.daemonEndpoints.kubeletEndpoint.Port)" = "$KP" ] ||
    fail "daemonEndpoints.kubeletEndpoint.Port is not the agent's port $KP"
echo "ok node reports kubelet port $KP"

# ---- the agent's HTTPS port: authn -------------------------------------------------------
KURL=https://127.0.0.1:$KP
code=$(curl -sk -o /dev/null -w '%{http_code}' "$KURL/pods")
[ "$code" = 401 ] || fail "no client certificate: got $code, want 401"
code=$(curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer wrong" "$KURL/healthz")
[ "$code" = 401 ] || fail "a wrong token: got $code, want 401"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=intruder \
    -keyout "$T/other.key" -out "$T/other.crt" 2>/dev/null || fail "openssl"
code=$(curl -sk -o /dev/null -w '%{http_code}' --cert "$T/other.crt" --key "$T/other.key" "$KURL/pods")
[ "$code" = 401 ] || fail "a certificate of another CA: got $code, want 401"
KCURL() { curl -sS --cacert "$D/ca.crt" --cert "$D/kubelet-client.crt" --key "$D/kubelet-client.key" "$@"; }
# the agent made a self-signed serving certificate: verify with it
SELF=$ART/pki/kubelet.crt
[ -s "$SELF" ] || fail "no self-signed serving certificate in $ART/pki"
kcurl() { curl -sS --cacert "$SELF" --cert "$D/kubelet-client.crt" --key "$D/kubelet-client.key" "$@"; }
[ "$(kcurl "$KURL/healthz")" = ok ] || fail "/healthz with the API server's client certificate"
kcurl -f "$KURL/pods" | jq -e '.kind=="PodList" and (.items|type=="array")' >/dev/null || fail "/pods"
[ "$(curl -sk -H "Authorization: Bearer $TOKEN" "$KURL/healthz")" = ok ] ||
    fail "the agent's own kubeconfig token is refused"
echo "ok kubelet server: 401 without a client certificate, 200 with the API server's"

# ---- pods ---------------------------------------------------------------------------------
mkpod() { # name spec-json-members
    curl -fs -XPOST -H 'Content-Type: application/json' "$API/api/v1/namespaces/default/pods" -d "{
  \"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"$1\"},
  \"spec\":{\"nodeName\":\"$NODE\",\"terminationGracePeriodSeconds\":2,$2}}" >/dev/null || fail "create pod $1"
}
pod() { curl -fs "$API/api/v1/namespaces/default/pods/$1"; }
running() { pod "$1" | jq -e '.status.phase=="Running" and ([.status.containerStatuses[].state.running]|all)'; }
# talker: prints its lines, then whatever the test drops into its emptyDir
mkpod talker "\"volumes\":[{\"name\":\"w\",\"emptyDir\":{}}],\"containers\":[{\"name\":\"c\",\"image\":\"$IMG\",\"volumeMounts\":[{\"name\":\"w\",\"mountPath\":\"/w\"}],
  \"command\":[\"sh\",\"-c\",\"for i in 1 2 3 4 5; do echo line \$i; done; echo oops >&2; while :; do if [ -f /w/say ]; then cat /w/say; rm /w/say; fi; if [ -f /w/stop ]; then exit 0; fi; sleep 0.1; done\"]}]"
mkpod two "\"containers\":[{\"name\":\"a\",\"image\":\"$IMG\",\"command\":[\"sh\",\"-c\",\"echo from-a; sleep 3600\"]},{\"name\":\"b\",\"image\":\"$IMG\",\"command\":[\"sh\",\"-c\",\"echo from-b; sleep 3600\"]}]"
mkpod crash "\"volumes\":[{\"name\":\"w\",\"emptyDir\":{}}],\"containers\":[{\"name\":\"c\",\"image\":\"$IMG\",\"volumeMounts\":[{\"name\":\"w\",\"mountPath\":\"/w\"}],
  \"command\":[\"sh\",\"-c\",\"n=\$(cat /w/n 2>/dev/null || echo 0); n=\$((n+1)); echo \$n >/w/n; echo attempt \$n; sleep 1; exit 1\"]}]"
mkpod late "\"volumes\":[{\"name\":\"v\",\"configMap\":{\"name\":\"logs-missing-cm\"}}],\"containers\":[{\"name\":\"c\",\"image\":\"$IMG\",\"volumeMounts\":[{\"name\":\"v\",\"mountPath\":\"/v\"}],\"command\":[\"sleep\",\"3600\"]}]"
wait_for 60 running talker || { pod talker | jq .status; tail -20 "$T/agent.log"; fail "talker not Running"; }
wait_for 30 running two || { pod two | jq .status; fail "two not Running"; }
TUID=$(pod talker | jq -r .metadata.uid)
WDIR=$ART/volumes/$TUID/w
[ -d "$WDIR" ] || fail "no emptyDir at $WDIR"
want_lines() { [ "$("$K133" logs talker 2>/dev/null | grep -c '^line ')" = 5 ]; }
wait_for 10 want_lines || fail "talker's lines never showed"

for K in "$K127" "$K133"; do
    V=$("$K" version --client -o json | jq -r .clientVersion.gitVersion)
    out=$("$K" logs talker) || fail "$V: kubectl logs"
    [ "$(echo "$out" | head -6)" = "$(printf 'line 1\nline 2\nline 3\nline 4\nline 5\noops')" ] ||
        { echo "$out"; fail "$V: logs body"; }
    [ "$("$K" logs talker --tail=2)" = "$(echo "$out" | tail -2)" ] || fail "$V: --tail=2"
    [ "$("$K" logs talker --tail=0)" = "" ] || fail "$V: --tail=0"
    [ "$("$K" logs talker --limit-bytes=9)" = "line 1
li" ] || fail "$V: --limit-bytes"
    "$K" logs talker --timestamps | head -1 | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}(\.[0-9]*[1-9])?Z line 1$' ||
        { "$K" logs talker --timestamps | head -2; fail "$V: --timestamps"; }
    [ "$("$K" logs talker --since=1h)" = "$out" ] || fail "$V: --since=1h"
    [ "$("$K" logs talker --since=1s | grep -c .)" = 0 ] || fail "$V: --since=1s (nothing that recent)"
    [ "$("$K" logs two -c b)" = from-b ] || fail "$V: -c b"
    # kubectl picks the first container itself (the API server's error is checked below)
    out=$("$K" logs two 2>"$T/stderr") || fail "$V: logs two"
    [ "$out" = from-a ] && grep -q 'Defaulted container "a" out of: a, b' "$T/stderr" ||
        { cat "$T/stderr"; fail "$V: logs two (defaulted container)"; }
    err=$("$K" logs two -c nope 2>&1) && fail "$V: -c nope succeeded"
    echo "$err" | grep -q 'container nope is not valid for pod two' || { echo "$err"; fail "$V: -c nope error"; }
    err=$("$K" logs late 2>&1) && fail "$V: logs of a ContainerCreating pod succeeded"
    echo "$err" | grep -q 'container "c" in pod "late" is waiting to start: ContainerCreating' ||
        { echo "$err"; fail "$V: waiting error"; }
    err=$("$K" logs nosuchpod 2>&1) && fail "$V: logs of a missing pod"
    echo "$err" | grep -q 'pods "nosuchpod" not found' || { echo "$err"; fail "$V: NotFound"; }
    # -f: a line the container writes shows within a second
    "$K" logs -f talker >"$T/follow.out" 2>&1 &
    FP=$!
    wait_for 5 grep -q oops "$T/follow.out" || { kill $FP; fail "$V: logs -f shows nothing"; }
    echo "said-$V" >"$WDIR/say"
    t0=$(date +%s%N)
    wait_for 3 grep -q "said-$V" "$T/follow.out" || { kill $FP; cat "$T/follow.out"; fail "$V: logs -f did not follow"; }
    ms=$((($(date +%s%N) - t0) / 1000000))
    [ $ms -lt 1000 ] || { kill $FP; fail "$V: logs -f took ${ms} ms for a new line"; }
    kill $FP; wait $FP 2>/dev/null
    echo "ok $V: logs, -c, --tail, --limit-bytes, --timestamps, --since, errors; -f shows a new line in ${ms} ms"
done

# pods/log over HTTP/2 (TLS, ALPN h2) streams
curl -sN --http2 --cacert "$D/ca.crt" -H "Authorization: Bearer $TOKEN" -o "$T/h2.out" \
    "https://127.0.0.1:$SP/api/v1/namespaces/default/pods/talker/log?follow=true" &
CP=$!
wait_for 5 grep -q oops "$T/h2.out" || { kill $CP; fail "HTTP/2 follow: nothing"; }
echo said-h2 >"$WDIR/say"
wait_for 2 grep -q said-h2 "$T/h2.out" || { kill $CP; fail "HTTP/2 follow did not stream"; }
kill $CP; wait $CP 2>/dev/null
ver=$(curl -s --http2 --cacert "$D/ca.crt" -H "Authorization: Bearer $TOKEN" -o /dev/null -w '%{http_version}' \
    "https://127.0.0.1:$SP/api/v1/namespaces/default/pods/talker/log?tailLines=1")
[ "$ver" = 2 ] || fail "pods/log was not served over HTTP/2 ($ver)"
echo "ok pods/log over HTTP/2 streams"

# pods/log over plain HTTP/1.1 (chunked) streams as well, and ends when the container does
curl -sN --http1.1 "$API/api/v1/namespaces/default/pods/talker/log?follow=true&tailLines=1" >"$T/h1.out" &
CP=$!
wait_for 5 grep -q said-h2 "$T/h1.out" || { kill $CP; fail "HTTP/1.1 follow: nothing"; }
[ "$(wc -l <"$T/h1.out")" = 1 ] || fail "HTTP/1.1 follow: tailLines=1 gave $(wc -l <"$T/h1.out") lines"
echo said-h1 >"$WDIR/say"
wait_for 2 grep -q said-h1 "$T/h1.out" || { kill $CP; fail "HTTP/1.1 follow did not stream"; }
touch "$WDIR/stop" # the container exits 0: the follow ends
ended() { ! kill -0 $CP 2>/dev/null; }
wait_for 15 ended || { kill $CP; fail "follow did not end when the container exited"; }
wait $CP
echo "ok pods/log over HTTP/1.1 streams; follow ends with the container"

# 422 and 400 as upstream
code=$(curl -s -o "$T/st.json" -w '%{http_code}' "$API/api/v1/namespaces/default/pods/two/log")
[ "$code" = 400 ] && jq -e '.reason=="BadRequest" and .message=="a container name must be specified for pod two, choose one of: [a b]"' "$T/st.json" >/dev/null ||
    { cat "$T/st.json"; fail "no container for a two-container pod: $code"; }
code=$(curl -s -o "$T/st.json" -w '%{http_code}' "$API/api/v1/namespaces/default/pods/two/log?container=a&tailLines=-1")
[ "$code" = 422 ] && jq -e '.reason=="Invalid" and (.message|test("tailLines: Invalid value: -1: must be greater than or equal to 0"))' "$T/st.json" >/dev/null ||
    { cat "$T/st.json"; fail "tailLines=-1: $code"; }
code=$(curl -s -o "$T/st.json" -w '%{http_code}' "$API/api/v1/namespaces/default/pods/two/log?container=a&sinceSeconds=5&sinceTime=2026-01-01T00:00:00Z")
[ "$code" = 422 ] || { cat "$T/st.json"; fail "sinceSeconds+sinceTime: $code"; }
code=$(curl -s -o "$T/st.json" -w '%{http_code}' "$API/api/v1/namespaces/default/pods/two/log?container=a&previous=true")
[ "$code" = 400 ] && jq -e '.reason=="BadRequest" and .message=="previous terminated container \"a\" in pod \"two\" not found"' "$T/st.json" >/dev/null ||
    { cat "$T/st.json"; fail "previous without a restart: $code"; }
echo "ok pods/log validation (422) and the kubelet's 400s"

# -p after a restart
restarted() { pod crash | jq -e '.status.containerStatuses[0].restartCount >= 1 and .status.containerStatuses[0].lastState.terminated != null'; }
wait_for 60 restarted || { pod crash | jq .status; fail "crash never restarted"; }
# the previous instance is attempt restartCount while the new one runs, restartCount+1 while
# it waits in CrashLoopBackOff (lastState is then the one that just exited)
for K in "$K127" "$K133"; do
    N=$(pod crash | jq .status.containerStatuses[0].restartCount)
    prev=$("$K" logs -p crash) || fail "logs -p"
    N2=$(pod crash | jq .status.containerStatuses[0].restartCount)
    k=${prev#attempt }
    [ "$prev" = "attempt $k" ] && [ "$k" -ge "$N" ] && [ "$k" -le $((N2 + 1)) ] ||
        fail "logs -p: '$prev' with restartCount $N..$N2"
done
echo "ok logs -p after a restart (restartCount $N)"

# ---- the agent's other routes ----------------------------------------------------------
kcurl -f "$KURL/pods" | jq -e '[.items[].metadata.name] | index("talker") != null' >/dev/null || fail "/pods lacks talker"
kcurl -f "$KURL/stats/summary" >"$T/sum.json" || fail "/stats/summary"
jq -e ".node.nodeName==\"$NODE\" and .node.memory.workingSetBytes > 0 and .node.cpu.usageCoreNanoSeconds > 0 and
       ([.pods[] | select(.podRef.name==\"two\") | .containers | length] == [2]) and
       ([.pods[] | select(.podRef.name==\"two\") | .memory.workingSetBytes > 0] == [true])" "$T/sum.json" >/dev/null ||
    { jq . "$T/sum.json" | head -60; fail "/stats/summary content"; }
kcurl -f "$KURL/metrics/resource" >"$T/res.txt" || fail "/metrics/resource"
grep -Eq '^node_cpu_usage_seconds_total [0-9.]+ [0-9]+$' "$T/res.txt" || fail "node_cpu_usage_seconds_total"
grep -Eq '^node_memory_working_set_bytes [1-9][0-9]* [0-9]+$' "$T/res.txt" || fail "node_memory_working_set_bytes"
grep -Eq '^container_memory_working_set_bytes\{container="a",namespace="default",pod="two"\} [0-9]+ [0-9]+$' "$T/res.txt" ||
    { cat "$T/res.txt"; fail "container_memory_working_set_bytes"; }
grep -Eq '^pod_cpu_usage_seconds_total\{namespace="default",pod="two"\} ' "$T/res.txt" || fail "pod_cpu_usage_seconds_total"
kcurl -f "$KURL/metrics" | grep -q '^kubelet_running_pods ' || fail "/metrics"
[ "$(kcurl -f "$KURL/containerLogs/default/two/a")" = from-a ] || fail "/containerLogs"
code=$(kcurl -o "$T/e.txt" -w '%{http_code}' "$KURL/containerLogs/default/two/zz")
[ "$code" = 404 ] && grep -q 'container "zz" not found in pod "two"' "$T/e.txt" || fail "/containerLogs unknown container: $code"
code=$(kcurl -o "$T/e.txt" -w '%{http_code}' "$KURL/containerLogs/default/two/a?limitBytes=0")
[ "$code" = 422 ] || fail "/containerLogs limitBytes=0: $code"
# nodes/proxy reaches the kubelet with the API server's kubelet client certificate
curl -fs "$API/api/v1/nodes/$NODE/proxy/stats/summary" | jq -e ".node.nodeName==\"$NODE\"" >/dev/null ||
    fail "nodes/proxy/stats/summary"
curl -fs "$API/api/v1/nodes/$NODE/proxy/metrics/resource" | grep -q '^node_memory_working_set_bytes ' ||
    fail "nodes/proxy/metrics/resource"
echo "ok /pods, /stats/summary, /metrics/resource, /metrics, /containerLogs, nodes/proxy"

for p in talker two crash late; do
    curl -fs -XDELETE "$API/api/v1/namespaces/default/pods/$p" >/dev/null || fail "delete $p"
done
gone() { ! curl -fs "$API/api/v1/namespaces/default/pods/$1" >/dev/null; }
for p in talker two crash late; do wait_for 30 gone $p || fail "$p not deleted"; done
kill "$AGENT_PID"; wait "$AGENT_PID"; rc=$?
AGENT_PID=
[ $rc = 0 ] || { tail -30 "$T/agent.log"; fail "agent exited $rc on SIGTERM"; }
kill "$SERVER_PID"; wait "$SERVER_PID"; rc=$?
SERVER_PID=
[ $rc = 0 ] || { tail -30 "$T/server.log"; fail "apiserver exited $rc on SIGTERM"; }
# sanitizer builds: any report fails the test
if grep -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$T/agent.log" "$T/server.log"; then
    fail "sanitizer report"
fi
echo PASS
