#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Logs suite, no root needed: `ckube server --agent-hollow 1 --agent-port P` (the in-process
# agent). Its kubelet server serves a certificate issued by the cluster CA (verified here with
# ca.crt), the Node reports port P, a request without a client certificate gets 401, the API
# server's kubelet-client certificate is accepted, and a hollow pod's /containerLogs is an
# empty 200 (hollow containers write nothing); /stats/summary lists the pod; pods/log of an
# unscheduled pod is 204, of an unknown container 400.
# usage: test_hollow_logs.sh CKUBE_BIN
set -u
CKUBE=${1:?ckube binary}
for t in curl jq python3; do command -v $t >/dev/null || { echo "SKIP: $t missing"; exit 77; }; done
T=$(mktemp -d /tmp/ck-hlogs.XXXXXX)
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$T/server.log" ] && tail -20 "$T/server.log" >&2; exit 1; }
wait_for() {
    local n=$(($1 * 10)); shift
    while [ $n -gt 0 ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; n=$((n - 1)); done
    return 1
}
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SP=$(port); PP=$(port); KP=$(port)
NODE=hlogs-$$
"$CKUBE" server --data-dir "$T/data" --secure-port "$SP" --insecure-port "$PP" --agent-hollow 1 \
    --agent-port "$KP" >"$T/server.out" 2>"$T/server.log" &
SERVER_PID=$!
API=http://127.0.0.1:$PP
D=$T/data
wait_for 20 curl -fs "$API/readyz" || fail "server not ready"
node() { curl -fs "$API/api/v1/nodes" | jq -e '.items[0].status.daemonEndpoints.kubeletEndpoint.Port'; }
wait_for 20 node || fail "no node"
N=$(curl -fs "$API/api/v1/nodes" | jq -r '.items[0].metadata.name')
[ "$(curl -fs "$API/api/v1/nodes/$N" | jq .status.daemonEndpoints.kubeletEndpoint.Port)" = "$KP" ] ||
    fail "the node does not report port $KP"
K=https://127.0.0.1:$KP
kc() { curl -sS --cacert "$D/ca.crt" --cert "$D/kubelet-client.crt" --key "$D/kubelet-client.key" "$@"; }
[ "$(kc "$K/healthz")" = ok ] || fail "/healthz with the CA-verified serving certificate"
code=$(curl -s --cacert "$D/ca.crt" -o /dev/null -w '%{http_code}' "$K/pods")
[ "$code" = 401 ] || fail "no client certificate: $code"
curl -fs -XPOST -H 'Content-Type: application/json' "$API/api/v1/namespaces/default/pods" -d "{
  \"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"hp\"},
  \"spec\":{\"nodeName\":\"$N\",\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}" >/dev/null ||
    fail "create pod"
running() { curl -fs "$API/api/v1/namespaces/default/pods/hp" | jq -e '.status.phase=="Running"'; }
wait_for 20 running || fail "hollow pod not Running"
code=$(kc -o "$T/log" -w '%{http_code}' "$K/containerLogs/default/hp/c?follow=true")
[ "$code" = 200 ] && [ ! -s "$T/log" ] || fail "hollow /containerLogs: $code $(cat "$T/log")"
code=$(kc -o "$T/log" -w '%{http_code}' "$K/containerLogs/default/nope/c")
[ "$code" = 404 ] && grep -q 'pod "nope" does not exist' "$T/log" || fail "unknown pod: $code"
kc -f "$K/pods" | jq -e '[.items[].metadata.name] == ["hp"]' >/dev/null || fail "/pods"
kc -f "$K/stats/summary" | jq -e '[.pods[].podRef.name] == ["hp"] and .pods[0].containers[0].name == "c"' >/dev/null ||
    fail "/stats/summary"
# an unscheduled pod has no logs yet: 204 (upstream: no location, no content)
curl -fs -XPOST -H 'Content-Type: application/json' "$API/api/v1/namespaces/default/pods" -d '{
  "apiVersion":"v1","kind":"Pod","metadata":{"name":"nowhere"},
  "spec":{"containers":[{"name":"c","image":"busybox"}]}}' >/dev/null || fail "create pod nowhere"
code=$(curl -s -o "$T/log" -w '%{http_code}' "$API/api/v1/namespaces/default/pods/nowhere/log")
[ "$code" = 204 ] && [ ! -s "$T/log" ] || fail "unscheduled pod's log: $code $(cat "$T/log")"
code=$(curl -s -o "$T/log" -w '%{http_code}' "$API/api/v1/namespaces/default/pods/nowhere/log?container=zz")
[ "$code" = 400 ] && grep -q 'container zz is not valid for pod nowhere' "$T/log" || fail "bad container: $code"
kill "$SERVER_PID"; wait "$SERVER_PID"; rc=$?
SERVER_PID=
[ $rc = 0 ] || fail "server exited $rc on SIGTERM"
if grep -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$T/server.log"; then fail "sanitizer report"; fi
echo PASS
