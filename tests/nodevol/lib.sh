# SPDX-License-Identifier: Apache-2.0
# Shared setup of the nodevol suite: a local registry with busybox, a fresh `ckube server`
# (no agent) and `ckube agent` on crun + CNI under the test's own directory, plus API helpers
# and the leftover checks (volumes, pod dirs, sandboxes, containers, mounts, netns, cgroups).
# usage: . lib.sh; nv_init CKUBE_BIN SRC_DIR; nv_start_agent [agent flags...]
set -u

nv_init() {
    . "$2/tests/runtime/lib.sh"
    rt_init "$@"
    ART=$T/agent
    NODE=nodevol-$$
    AGENT_PID=
    SERVER_PID=
    UIDS=
    SBS_SEEN=
    trap nv_cleanup EXIT
    registry_start "$T/reg" || exit 77
    registry_push_busybox nodevol/busybox:1 || fail "push"
    IMG=$REGISTRY_ADDR/nodevol/busybox:1
    SP=$(nv_port); PP=$(nv_port); HP=$(nv_port); KP=$(nv_port)
    "$CKUBE" server --data-dir "$T/data" --secure-port "$SP" --insecure-port "$PP" \
        >"$T/server.out" 2>"$T/server.log" &
    SERVER_PID=$!
    wait_for 20 grep -q KUBECONFIG "$T/server.out" || fail "server did not start"
    KC=$T/data/kubeconfig.yaml
    API=http://127.0.0.1:$PP
    wait_for 20 curl -fs "$API/readyz" || fail "server not ready"
    KUBECTL=$(command -v kubectl || echo /usr/bin/kubectl)
}

nv_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

nv_start_agent() {
    "$CKUBE" agent --kubeconfig "$KC" --node-name "$NODE" --root "$ART" --healthz-port "$HP" \
        --port "$KP" -v 2 "$@" >>"$T/agent.log" 2>&1 &
    AGENT_PID=$!
    wait_for 20 curl -fs "http://127.0.0.1:$HP/healthz" || { tail -20 "$T/agent.log"; fail "agent healthz"; }
    wait_for 20 nv_node_ready || fail "node $NODE not Ready"
}

nv_stop_agent() {
    [ -n "$AGENT_PID" ] || return 0
    kill "$AGENT_PID"; wait "$AGENT_PID"; local rc=$?
    AGENT_PID=
    [ $rc = 0 ] || fail "agent exited $rc on SIGTERM"
}

nv_node_ready() { curl -fs "$API/api/v1/nodes/$NODE" | jq -e '.status.conditions[] | select(.type=="Ready" and .status=="True")'; }
node() { curl -fs "$API/api/v1/nodes/$NODE"; }
pod() { curl -fs "$API/api/v1/namespaces/default/pods/$1"; }
post() { # path json
    curl -fs -XPOST -H 'Content-Type: application/json' "$API$1" -d "$2" >/dev/null
}
mkpod() { # json of the Pod
    post /api/v1/namespaces/default/pods "$1" || fail "create pod: $1"
}
evs() { curl -fs "$API/api/v1/namespaces/default/events" | jq -r ".items[] | select(.involvedObject.name==\"$1\") | .type + \" \" + .reason + \" \" + .message"; }
phase_is() { [ "$(pod "$1" | jq -r .status.phase)" = "$2" ]; }
gone() { ! curl -fs "$API/api/v1/namespaces/default/pods/$1" >/dev/null; }
remember() { UIDS="$UIDS $(pod "$1" | jq -r .metadata.uid)"; }

# Deletes the pods named and checks nothing of them is left on the node.
nv_delete_and_check() {
    local p s u
    SBS_SEEN="$SBS_SEEN $(ls "$ART/runtime/sandboxes" 2>/dev/null)"
    for p in "$@"; do
        curl -fs -XDELETE "$API/api/v1/namespaces/default/pods/$p" >/dev/null || fail "delete $p"
    done
    for p in "$@"; do wait_for 30 gone "$p" || fail "$p not deleted"; done
    nv_check_clean
}

nv_empty() { [ -z "$(ls -A "$1" 2>/dev/null)" ]; }

nv_check_clean() {
    local s u
    wait_for 10 nv_empty "$ART/volumes" || fail "volumes left: $(ls "$ART/volumes")"
    wait_for 10 nv_empty "$ART/pods" || fail "pod log dirs left: $(ls "$ART/pods")"
    wait_for 10 nv_empty "$ART/runtime/sandboxes" || fail "sandboxes left: $(ls "$ART/runtime/sandboxes")"
    [ -z "$(ls -A "$ART/runtime/containers" 2>/dev/null)" ] || fail "containers left"
    if grep -q "$ART" /proc/mounts; then grep "$ART" /proc/mounts >&2; fail "mounts left"; fi
    for s in $SBS_SEEN; do [ -e "/run/netns/ckube-${s:0:24}" ] && fail "netns of sandbox $s left"; done
    for u in $UIDS; do
        ls -d /sys/fs/cgroup/*/kubepods/pod"$u" 2>/dev/null | grep -q . && fail "cgroups of pod $u left"
    done
    if pgrep -f "$ART/runtime" >/dev/null; then pgrep -af "$ART/runtime" >&2; fail "processes of the agent's runtime left"; fi
    return 0
}

nv_cleanup() {
    [ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    ROOT=$ART/runtime
    local m
    for m in $(grep " $T" /proc/mounts | awk '{print $2}' | sort -r); do umount -l "$m" 2>/dev/null; done
    rt_cleanup
}
