#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Streaming suite, real node: `ckube server --scheduler` + `ckube agent` on crun + CNI with a
# busybox image from a local docker-registry; then streaming_test.py drives exec, attach,
# run -i --rm, cp and port-forward through the API server with real kubectl binaries.
# usage: test_streaming.sh CKUBE_BIN SRC_DIR [kubectl minor versions, default "27 29 30 31 33"]
# (needs root; exit 77 = SKIP)
set -u
. "$(dirname "$0")/../runtime/lib.sh"
rt_init "$1" "$2"
VERSIONS=${3:-27 29 30 31 33}
ART=$T/agent
NODE=ckstream-$$
AGENT_PID=
SERVER_PID=
cleanup() {
    [ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    ROOT=$ART/runtime
    rt_cleanup
}
trap cleanup EXIT
for v in $VERSIONS; do
    [ -x /usr/lib/google-cloud-sdk/bin/kubectl.1.$v ] || { echo "SKIP: kubectl 1.$v missing"; exit 77; }
done
registry_start "$T/reg" || exit 77
registry_push_busybox test/busybox:1 || fail "push"
IMG=$REGISTRY_ADDR/test/busybox:1

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SP=$(port); PP=$(port); HP=$(port); KP=$(port)
"$CKUBE" server --scheduler --data-dir "$T/data" --secure-port "$SP" --insecure-port "$PP" \
    >"$T/server.out" 2>"$T/server.log" &
SERVER_PID=$!
wait_for 20 grep -q KUBECONFIG "$T/server.out" || fail "server did not start"
KC=$T/data/kubeconfig.yaml
API=http://127.0.0.1:$PP
wait_for 20 curl -fs "$API/readyz" || fail "server not ready"

# the kubelet port: --port when the agent has it, else the streaming server's variable
AGENT_ARGS=()
if "$CKUBE" agent --help 2>&1 | grep -q -- '--port'; then
    AGENT_ARGS=(--port "$KP")
fi
CKUBE_STREAMING_PORT=$KP "$CKUBE" agent --kubeconfig "$KC" --node-name "$NODE" --root "$ART" \
    --healthz-port "$HP" -v 2 "${AGENT_ARGS[@]}" >>"$T/agent.log" 2>&1 &
AGENT_PID=$!
wait_for 20 curl -fs "http://127.0.0.1:$HP/healthz" || { tail -20 "$T/agent.log"; fail "agent healthz"; }
node_ready() { curl -fs "$API/api/v1/nodes/$NODE" | jq -e '.status.conditions[] | select(.type=="Ready" and .status=="True")'; }
wait_for 30 node_ready || fail "node $NODE not Ready"
ADV=$(curl -fs "$API/api/v1/nodes/$NODE" | jq -r '.status.daemonEndpoints.kubeletEndpoint.Port')
[ "$ADV" = "$KP" ] || { echo "SKIP: the agent advertises kubelet port $ADV, not $KP"; exit 77; }

python3 "$(dirname "$0")/streaming_test.py" --kubeconfig "$KC" --api "$API" --node "$NODE" \
    --image "$IMG" --versions "$VERSIONS" --workdir "$T/work" --agent-pid "$AGENT_PID" \
    --server-pid "$SERVER_PID"
rc=$?
if [ $rc != 0 ]; then
    echo "--- server.log (tail)"; tail -30 "$T/server.log"
    echo "--- agent.log (tail)"; tail -30 "$T/agent.log"
fi
# pods made by the test are deleted by it; wait until the runtime is empty
for p in $(curl -fs "$API/api/v1/namespaces/default/pods" | jq -r '.items[].metadata.name' | grep '^st-'); do
    curl -fs -XDELETE "$API/api/v1/namespaces/default/pods/$p?gracePeriodSeconds=0" >/dev/null
done
gone() { [ -z "$(curl -fs "$API/api/v1/namespaces/default/pods" | jq -r '.items[].metadata.name' | grep '^st-')" ]; }
wait_for 30 gone
exit $rc
