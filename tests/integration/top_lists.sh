#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# LIST cost accounting end to end: a real `ckube apiserver` (HTTPS + bearer token) on loopback,
# real kubectl LISTs, then `ckube top-lists` (kubeconfig and --server/--token forms) and
# /metrics must show kubectl's pods and configmaps rows with the exact request counts.
# Usage: top_lists.sh CKUBE_BIN
set -uo pipefail
. "$(dirname "$0")/lib.sh"
CKUBE=$1
WORK=$(mktemp -d /tmp/ckube-toplists.XXXXXX)
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- apiserver.log"; tail -20 "$WORK/apiserver.log"; exit 1; }

free_port() {
  local p
  while :; do
    p=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    [ "$p" != 18080 ] && echo "$p" && return
  done
}
PORT=$(free_port)
TOKEN=toplists-$RANDOM$RANDOM
"$CKUBE" apiserver --data-dir "$WORK/data" --secure-port "$PORT" --token "$TOKEN" \
  >"$WORK/apiserver.log" 2>&1 &
PID=$!
URL="https://127.0.0.1:$PORT"
CA="$WORK/data/ca.crt"
for _ in $(seq 100); do [ -f "$CA" ] && curl -sf --cacert "$CA" "$URL/readyz" >/dev/null && break; sleep 0.1; done
curl -sf --cacert "$CA" "$URL/readyz" >/dev/null || fail "apiserver did not become ready"

it_kubeconfig "$WORK/kubeconfig" "$URL" "$CA" "$TOKEN"
K() { kubectl --kubeconfig "$WORK/kubeconfig" "$@"; }

echo "== kubectl LISTs"
K create configmap one --from-literal=a=1 >/dev/null || fail "create configmap"
K create configmap two --from-literal=b=2 >/dev/null || fail "create configmap"
for _ in 1 2 3; do K get pods -A >/dev/null 2>&1 || fail "kubectl get pods -A"; done
K get configmaps >/dev/null || fail "kubectl get configmaps"

echo "== ckube top-lists (kubeconfig)"
OUT=$("$CKUBE" top-lists --kubeconfig "$WORK/kubeconfig" --sort requests) || fail "top-lists: $OUT"
echo "$OUT"
head -1 <<<"$OUT" | grep -Eq '^USER-AGENT +RESOURCE +REQUESTS +SCANNED +RETURNED +BYTES +SECONDS$' ||
  fail "unexpected header"
# kubectl 1.33's User-Agent product is "kubectl"
read -r _ _ REQ _ <<<"$(awk '$1 == "kubectl" && $2 == "pods"' <<<"$OUT")"
[ "${REQ:-}" = 3 ] || fail "kubectl/pods requests '${REQ:-}', want 3"
read -r _ _ REQ _ RET _ <<<"$(awk '$1 == "kubectl" && $2 == "configmaps"' <<<"$OUT")"
[ "${REQ:-}" = 1 ] || fail "kubectl/configmaps requests '${REQ:-}', want 1"
[ "${RET:-}" -ge 2 ] || fail "kubectl/configmaps returned '${RET:-}', want >= 2"

echo "== ckube top-lists (--server/--token, json, limit)"
J=$("$CKUBE" top-lists --server "$URL" --token "$TOKEN" --certificate-authority "$CA" \
  --sort requests --limit 1 -o json) || fail "top-lists json: $J"
N=$(python3 -c 'import json,sys; r=json.load(sys.stdin); print(len(r["items"]), r["items"][0]["userAgent"], r["items"][0]["resource"], r["items"][0]["requests"])' <<<"$J")
[ "$N" = "1 kubectl pods 3" ] || fail "json report: $N"
"$CKUBE" top-lists --server "$URL" --token wrong --certificate-authority "$CA" >/dev/null 2>&1 &&
  fail "a wrong token was accepted"
"$CKUBE" top-lists --kubeconfig "$WORK/kubeconfig" --sort nonsense >/dev/null 2>&1 &&
  fail "a bad --sort was accepted"

echo "== /metrics"
M=$(curl -sf --cacert "$CA" -H "Authorization: Bearer $TOKEN" "$URL/metrics") || fail "GET /metrics"
grep -q '^# TYPE ckube_apiserver_list_cost_requests_total counter$' <<<"$M" || fail "no TYPE line"
grep -q '^ckube_apiserver_list_cost_requests_total{user_agent="kubectl",resource="pods"} 3$' <<<"$M" ||
  fail "no kubectl/pods requests sample: $(grep list_cost_requests <<<"$M")"
grep -q '^ckube_apiserver_list_cost_requests_total{user_agent="kubectl",resource="configmaps"} 1$' <<<"$M" ||
  fail "no kubectl/configmaps requests sample"
for m in objects_scanned_total objects_returned_total bytes_total seconds_total max_seconds; do
  grep -Eq "^ckube_apiserver_list_cost_${m}\{user_agent=\"kubectl\",resource=\"pods\"\} [0-9.e+-]+$" <<<"$M" ||
    fail "no $m sample"
done
BYTES=$(sed -n 's/^ckube_apiserver_list_cost_bytes_total{user_agent="kubectl",resource="configmaps"} //p' <<<"$M")
[ "${BYTES:-0}" -gt 100 ] || fail "configmaps bytes '$BYTES'"
echo "OK"
