#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Agent suite, real node: `ckube agent` on crun + CNI against a fresh `ckube server`. A busybox
# image pushed to a local docker-registry is pulled by the agent; an httpd pod becomes Running
# and Ready with a pod IP that serves; kill -9 of the agent and a restart adopts the running
# container (same containerID, restartCount unchanged); a restartPolicy Never pod exiting 7
# ends Failed with exitCode 7; deleting the pods removes the objects and leaves no sandbox,
# container, netns or mount of the agent's root behind.
# usage: test_crun_pod.sh CKUBE_BIN SRC_DIR   (needs root; exit 77 = SKIP)
set -u
. "$(dirname "$0")/../runtime/lib.sh"
rt_init "$@"
ART=$T/agent
NODE=ckagent-$$
AGENT_PID=
SERVER_PID=
cleanup() {
    [ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    ROOT=$ART/runtime
    rt_cleanup
}
trap cleanup EXIT
registry_start "$T/reg" || exit 77
registry_push_busybox test/busybox:1 || fail "push"
IMG=$REGISTRY_ADDR/test/busybox:1

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SP=$(port); PP=$(port); HP=$(port)
"$CKUBE" server --data-dir "$T/data" --secure-port "$SP" --insecure-port "$PP" >"$T/server.out" 2>"$T/server.log" &
SERVER_PID=$!
wait_for 20 grep -q KUBECONFIG "$T/server.out" || fail "server did not start"
KC=$T/data/kubeconfig.yaml
API=http://127.0.0.1:$PP
wait_for 20 curl -fs "$API/readyz" || fail "server not ready"

start_agent() {
    "$CKUBE" agent --kubeconfig "$KC" --node-name "$NODE" --root "$ART" --healthz-port "$HP" -v 2 \
        >>"$T/agent.log" 2>&1 &
    AGENT_PID=$!
    wait_for 20 curl -fs "http://127.0.0.1:$HP/healthz" || { tail -20 "$T/agent.log"; fail "agent healthz"; }
}
start_agent
node_ready() { curl -fs "$API/api/v1/nodes/$NODE" | jq -e '.status.conditions[] | select(.type=="Ready" and .status=="True")'; }
wait_for 20 node_ready || fail "node $NODE not Ready"
curl -fs "$API/api/v1/nodes/$NODE" | jq -e '.status.nodeInfo.containerRuntimeVersion | startswith("crun://")' >/dev/null ||
    fail "runtime version"

mkpod() { # name json-containers policy [volumes-member]
    curl -fs -XPOST -H 'Content-Type: application/json' "$API/api/v1/namespaces/default/pods" -d "{
  \"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"$1\"},
  \"spec\":{\"nodeName\":\"$NODE\",\"restartPolicy\":\"$3\",\"terminationGracePeriodSeconds\":3,
           ${4:+$4,}\"containers\":$2}}" >/dev/null || fail "create pod $1"
}
pod() { curl -fs "$API/api/v1/namespaces/default/pods/$1"; }
mkcm() { # name greeting
    curl -fs -XPOST -H 'Content-Type: application/json' "$API/api/v1/namespaces/default/configmaps" \
        -d "{\"metadata\":{\"name\":\"$1\"},\"data\":{\"greeting\":\"$2\"}}" >/dev/null || fail "create cm $1"
}
mkcm webcfg hello1
curl -fs -XPOST -H 'Content-Type: application/json' "$API/api/v1/namespaces/default/secrets" \
    -d '{"metadata":{"name":"websec"},"data":{"token":"czNjcmV0"}}' >/dev/null || fail "create secret"
VOLS='"volumes":[{"name":"cfg","configMap":{"name":"webcfg"}},{"name":"scratch","emptyDir":{}},{"name":"sec","secret":{"secretName":"websec","items":[{"key":"token","path":"deep/tok"}]}}]'
MOUNTS='"volumeMounts":[{"name":"cfg","mountPath":"/etc/cfg","readOnly":true},{"name":"scratch","mountPath":"/scratch"},{"name":"sec","mountPath":"/etc/sec"}]'
mkpod web "[{\"name\":\"httpd\",\"image\":\"$IMG\",$MOUNTS,\"command\":[\"sh\",\"-c\",\"echo up >/scratch/x; exec httpd -f -p 8080 -h /etc\"]}]" Always "$VOLS"
web_ready() { pod web | jq -e '.status.phase=="Running" and (.status.conditions[]|select(.type=="Ready").status)=="True"'; }
wait_for 60 web_ready || { pod web | jq .status; tail -20 "$T/agent.log"; fail "web not Running+Ready"; }
IP=$(pod web | jq -r .status.podIP)
[ -n "$IP" ] && [ "$IP" != null ] || fail "no pod IP"
curl -fsS -m 5 "http://$IP:8080/hello.txt" | grep -qx hello || fail "pod IP $IP does not serve"
CID=$(pod web | jq -r '.status.containerStatuses[0].containerID')
echo "ok web Running+Ready at $IP ($CID)"
[ "$(curl -fsS -m 5 "http://$IP:8080/cfg/greeting")" = hello1 ] || fail "configMap volume not served"
WUID=$(pod web | jq -r .metadata.uid)
[ -L "$ART/volumes/$WUID/cfg/..data" ] || fail "no ..data symlink"
[ "$(curl -fsS -m 5 "http://$IP:8080/sec/deep/tok")" = s3cret ] || fail "secret volume (items, base64) not served"
[ "$(cat "$ART/volumes/$WUID/scratch/x")" = up ] || fail "emptyDir not shared with the host dir"
curl -fs -XPATCH -H 'Content-Type: application/merge-patch+json' \
    "$API/api/v1/namespaces/default/configmaps/webcfg" -d '{"data":{"greeting":"hello2"}}' >/dev/null ||
    fail "update cm"
served2() { [ "$(curl -fsS -m 2 "http://$IP:8080/cfg/greeting")" = hello2 ]; }
wait_for 25 served2 || fail "configMap update did not reach the pod"
echo "ok configMap volume and its update (..data swap), emptyDir"

# a missing configMap: FailedMount, the pod waits in ContainerCreating, then starts once created
mkpod late "[{\"name\":\"c\",\"image\":\"$IMG\",\"volumeMounts\":[{\"name\":\"v\",\"mountPath\":\"/v\"}],\"command\":[\"sleep\",\"3600\"]}]" Always '"volumes":[{"name":"v","configMap":{"name":"latecfg"}}]'
sleep 3
[ "$(pod late | jq -r '.status.containerStatuses[0].state.waiting.reason')" = ContainerCreating ] ||
    { pod late | jq .status; fail "late pod should wait in ContainerCreating"; }
grep -q 'MountVolume.SetUp failed for volume "v" : configmap "latecfg" not found' "$T/agent.log" ||
    fail "FailedMount message"
mkcm latecfg x
late_running() { pod late | jq -e '.status.phase=="Running"'; }
wait_for 20 late_running || fail "late pod did not start once its configMap existed"
evs() { curl -fs "$API/api/v1/namespaces/default/events" | jq -r ".items[] | select(.involvedObject.name==\"$1\") | .type + \" \" + .reason + \" \" + .message"; }
evs late | grep -q '^Warning FailedMount MountVolume.SetUp failed for volume "v" : configmap "latecfg" not found$' ||
    { evs late; fail "FailedMount event"; }
evs web | grep -q "^Normal Pulling Pulling image \"$IMG\"$" || { evs web; fail "Pulling event"; }
evs web | grep -q "^Normal Pulled Successfully pulled image \"$IMG\" in " || fail "Pulled event"
evs late | grep -q "^Normal Pulled Container image \"$IMG\" already present on machine$" || fail "present event"
echo "ok missing configMap: waits, then starts"

# kill -9 the agent, restart it: the container is adopted, not restarted
kill -9 "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null
start_agent
sleep 3
[ "$(pod web | jq -r '.status.containerStatuses[0].containerID')" = "$CID" ] || fail "container replaced after agent restart"
[ "$(pod web | jq -r '.status.containerStatuses[0].restartCount')" = 0 ] || fail "restartCount changed"
curl -fsS -m 5 "http://$IP:8080/hello.txt" | grep -qx hello || fail "pod stopped serving after agent restart"
echo "ok adopted after agent kill -9"

mkpod seven "[{\"name\":\"c\",\"image\":\"$IMG\",\"command\":[\"sh\",\"-c\",\"echo bye; exit 7\"]}]" Never
seven_failed() { pod seven | jq -e '.status.phase=="Failed"'; }
wait_for 30 seven_failed || { pod seven | jq .status; fail "seven not Failed"; }
[ "$(pod seven | jq '.status.containerStatuses[0].state.terminated.exitCode')" = 7 ] || fail "exit code"
echo "ok Never + exit 7 -> Failed"

# a bad command: a waiting reason with the runtime's message, and the agent keeps going
mkpod badcmd "[{\"name\":\"c\",\"image\":\"$IMG\",\"command\":[\"/no/such/bin\"]}]" Always
badwait() { pod badcmd | jq -e '.status.containerStatuses[0].state.waiting | (.reason=="CreateContainerError" or .reason=="RunContainerError") and (.message|length>0)'; }
wait_for 20 badwait || { pod badcmd | jq .status; fail "bad command: no waiting reason"; }
curl -fs "http://127.0.0.1:$HP/healthz" >/dev/null || fail "agent unhealthy after a bad command"
echo "ok bad command -> $(pod badcmd | jq -r '.status.containerStatuses[0].state.waiting.reason')"
UIDS="$(pod badcmd | jq -r .metadata.uid)"
curl -fs -XDELETE "$API/api/v1/namespaces/default/pods/badcmd" >/dev/null || fail "delete badcmd"
# a missing image: ErrImagePull, then ImagePullBackOff while the pull backoff runs
mkpod noimg "[{\"name\":\"c\",\"image\":\"$REGISTRY_ADDR/test/missing:1\"}]" Always
waitreason() { [ "$(pod noimg | jq -r '.status.containerStatuses[0].state.waiting.reason')" = "$1" ]; }
wait_for 15 waitreason ErrImagePull || { pod noimg | jq .status; fail "no ErrImagePull"; }
wait_for 25 waitreason ImagePullBackOff || { pod noimg | jq .status; fail "no ImagePullBackOff"; }
pod noimg | jq -e ".status.containerStatuses[0].state.waiting.message | startswith(\"Back-off pulling image \\\"$REGISTRY_ADDR/test/missing:1\\\": ErrImagePull: \")" >/dev/null ||
    { pod noimg | jq .status.containerStatuses; fail "ImagePullBackOff message"; }
UIDS="$UIDS $(pod noimg | jq -r .metadata.uid)"
curl -fs -XDELETE "$API/api/v1/namespaces/default/pods/noimg" >/dev/null || fail "delete noimg"
echo "ok missing image: ErrImagePull, then ImagePullBackOff"

SBS=$(ls "$ART/runtime/sandboxes")
UIDS="$UIDS $(pod web | jq -r .metadata.uid) $(pod seven | jq -r .metadata.uid) $(pod late | jq -r .metadata.uid)"
for p in web seven late; do
    curl -fs -XDELETE "$API/api/v1/namespaces/default/pods/$p" >/dev/null || fail "delete $p"
done
gone() { ! curl -fs "$API/api/v1/namespaces/default/pods/$1" >/dev/null; }
wait_for 20 gone web || fail "web not deleted"
wait_for 20 gone seven || fail "seven not deleted"
wait_for 20 gone late || fail "late not deleted"
wait_for 20 gone badcmd || fail "badcmd not deleted"
wait_for 20 gone noimg || fail "noimg not deleted"
[ -z "$(ls -A "$ART/volumes" 2>/dev/null)" ] || fail "volumes left: $(ls "$ART/volumes")"
[ -z "$(ls -A "$ART/pods" 2>/dev/null)" ] || fail "pod log dirs left: $(ls "$ART/pods")"
sleep 1
ROOT=$ART/runtime
[ -z "$(ls -A "$ROOT/sandboxes" 2>/dev/null)" ] || fail "sandboxes left: $(ls "$ROOT/sandboxes")"
[ -z "$(ls -A "$ROOT/containers" 2>/dev/null)" ] || fail "containers left"
if grep -q "$ART" /proc/mounts; then grep "$ART" /proc/mounts >&2; fail "mounts left"; fi
for s in $SBS; do [ -e "/run/netns/ckube-${s:0:24}" ] && fail "netns of sandbox $s left"; done
for u in $UIDS; do
    ls -d /sys/fs/cgroup/*/kubepods/pod"$u" 2>/dev/null | grep -q . && fail "cgroups of pod $u left"
done
pgrep -f "$ART/runtime" >/dev/null && fail "processes of the agent's runtime left"
echo "ok deleted, nothing left"
kill "$AGENT_PID"; wait "$AGENT_PID"; rc=$?
AGENT_PID=
[ $rc = 0 ] || fail "agent exited $rc on SIGTERM"
echo PASS
