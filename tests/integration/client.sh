#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Client library integration tests against a real `ckube apiserver` on loopback:
#  1. informer convergence (1,000 writes, forced disconnect, forced 410 + relist);
#  2. example-controller keeps ckube.io/key-count in line (within 2 s of a change);
#  3. leader election: two candidates, exactly one leads; killing it hands over within 20 s.
# Usage: client.sh CKUBE_BIN INFORMER_TEST_BIN
set -uo pipefail
CKUBE=$1
IT=$2
WORK=$(mktemp -d /tmp/ckube-it.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$WORK"/*.log; do echo "--- $f"; tail -20 "$f"; done; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
# Watch history: the engine keeps this many events in memory and the rest in the store until
# it compacts (every second here). The test writes more than that while the informer is away
# and waits out two compactions, so the informer's resume gets 410 and must relist.
HISTORY=${CKUBE_IT_HISTORY:-1000}
"$CKUBE" apiserver --data-dir "$WORK/data" --secure-port 0 --insecure-port "$PORT" \
  --watch-history "$HISTORY" --compaction-interval 1s >"$WORK/apiserver.log" 2>&1 &
PIDS+=($!)
URL="http://127.0.0.1:$PORT"
for _ in $(seq 100); do curl -sf "$URL/readyz" >/dev/null && break; sleep 0.1; done
curl -sf "$URL/readyz" >/dev/null || fail "apiserver did not become ready"

echo "== informer convergence"
"$IT" "$URL" 1000 $((HISTORY * 2)) 2500 || fail "informer convergence"

cat >"$WORK/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: it
  cluster:
    server: $URL
users:
- name: it
  user: {}
contexts:
- name: it
  context: {cluster: it, user: it}
current-context: it
KC
K() { kubectl --kubeconfig "$WORK/kubeconfig" "$@"; }
ann() { K get configmap "$1" -n default -o jsonpath='{.metadata.annotations.ckube\.io/key-count}' 2>/dev/null; }
wait_ann() { # name want within-seconds
  local end=$((SECONDS + $3))
  while [ $SECONDS -le $end ]; do [ "$(ann "$1")" = "$2" ] && return 0; sleep 0.1; done
  return 1
}

echo "== example-controller"
K create configmap pre -n default --from-literal=a=1 >/dev/null || fail "create configmap"
"$CKUBE" example-controller --kubeconfig "$WORK/kubeconfig" >"$WORK/example.log" 2>&1 &
PIDS+=($!)
wait_ann pre 1 5 || fail "existing configmap not annotated"
K create configmap three -n default --from-literal=a=1 --from-literal=b=2 --from-literal=c=3 >/dev/null
wait_ann three 3 2 || fail "new configmap not annotated within 2s (got '$(ann three)')"
K patch configmap three -n default --type=merge -p '{"data":{"d":"4"}}' >/dev/null
wait_ann three 4 2 || fail "changed configmap not re-annotated within 2s (got '$(ann three)')"
K patch configmap three -n default --type=json -p '[{"op":"remove","path":"/data/a"},{"op":"remove","path":"/data/b"}]' >/dev/null
wait_ann three 2 2 || fail "shrunk configmap not re-annotated within 2s (got '$(ann three)')"
# a hand edit of the annotation is corrected
K annotate configmap three -n default --overwrite ckube.io/key-count=99 >/dev/null
wait_ann three 2 2 || fail "tampered annotation not corrected"
kill "${PIDS[-1]}"

echo "== leader election"
"$CKUBE" example-controller --kubeconfig "$WORK/kubeconfig" --leader-elect --id cand-a >"$WORK/cand-a.log" 2>&1 &
A=$!; PIDS+=($A)
sleep 1
"$CKUBE" example-controller --kubeconfig "$WORK/kubeconfig" --leader-elect --id cand-b >"$WORK/cand-b.log" 2>&1 &
B=$!; PIDS+=($B)
holder() { K get lease ckube-example -n kube-system -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }
for _ in $(seq 50); do [ -n "$(holder)" ] && break; sleep 0.2; done
sleep 5
LEADERS=$(grep -l '^started leading' "$WORK"/cand-*.log | wc -l)
[ "$LEADERS" -eq 1 ] || fail "expected exactly one leader, saw $LEADERS"
H=$(holder)
[ "$H" = cand-a ] || [ "$H" = cand-b ] || fail "lease holder is '$H'"
if [ "$H" = cand-a ]; then LPID=$A; OTHER=cand-b; else LPID=$B; OTHER=cand-a; fi
grep -q '^started leading' "$WORK/$H.log" || fail "holder $H never said it leads"
kill -9 "$LPID"; wait "$LPID" 2>/dev/null
T0=$SECONDS
while [ $((SECONDS - T0)) -le 20 ]; do
  grep -q '^started leading' "$WORK/$OTHER.log" && break
  sleep 0.2
done
grep -q '^started leading' "$WORK/$OTHER.log" || fail "$OTHER did not take over within 20s"
[ "$(holder)" = "$OTHER" ] || fail "lease holder is '$(holder)', expected $OTHER"
echo "takeover after $((SECONDS - T0))s"
echo "OK"
