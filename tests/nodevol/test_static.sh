#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# nodevol suite, static pods: `ckube agent --pod-manifest-path DIR` runs a YAML manifest as
# static pod <name>-<node>; its mirror pod shows in `kubectl get pods` (annotations
# config.mirror/config.hash/config.source/config.seen, owned by the Node) with the static
# pod's status; a deleted mirror pod is recreated without restarting the container; an agent
# restart adopts the static pod; a JSON manifest works too; removing the manifest stops the
# pod and deletes its mirror; nothing is left.
# usage: test_static.sh CKUBE_BIN SRC_DIR   (needs root; exit 77 = SKIP)
. "$(dirname "$0")/lib.sh"
nv_init "$@"
MAN=$T/manifests
mkdir -p "$MAN"
cat >"$MAN/web.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: nvstatic
  labels:
    app: nvstatic
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: $IMG
    command: ["sh", "-c", "echo started >> /tmp/log; sleep 3600"]
YAML
echo "ignored: hidden" >"$MAN/.hidden.yaml"
nv_start_agent --pod-manifest-path "$MAN" --file-check-frequency 20s
SP=nvstatic-$NODE
k() { "$KUBECTL" --kubeconfig "$KC" "$@"; }
mirror_running() { k get pods "$SP" -o jsonpath='{.status.phase}' | grep -qx Running; }
wait_for 60 mirror_running || { k get pods -o wide; pod "$SP" | jq .; tail -30 "$T/agent.log"; fail "mirror pod not Running"; }
k get pods | grep -q "^$SP .*Running" || fail "kubectl get pods does not list $SP"
M=$(pod "$SP")
HASH=$(echo "$M" | jq -r '.metadata.annotations["kubernetes.io/config.hash"]')
[ "$(echo "$M" | jq -r '.metadata.annotations["kubernetes.io/config.mirror"]')" = "$HASH" ] || fail "config.mirror"
[ "$(echo "$M" | jq -r '.metadata.annotations["kubernetes.io/config.source"]')" = file ] || fail "config.source"
echo "$M" | jq -e '.metadata.annotations["kubernetes.io/config.seen"] | length > 0' >/dev/null || fail "config.seen"
NODE_UID=$(node | jq -r .metadata.uid)
echo "$M" | jq -e ".metadata.ownerReferences[0] | .kind==\"Node\" and .name==\"$NODE\" and .uid==\"$NODE_UID\"" >/dev/null ||
    fail "ownerReference to the Node"
[ "${#HASH}" = 32 ] || fail "hash $HASH"
[ -d "$ART/volumes/$HASH" ] || ls "$ART/runtime/sandboxes" >/dev/null || true
CID=$(echo "$M" | jq -r '.status.containerStatuses[0].containerID')
[ "$CID" != null ] || fail "no container status on the mirror"
echo "ok static pod $SP runs; mirror pod listed by kubectl with annotations and owner"

MUID=$(echo "$M" | jq -r .metadata.uid)
k delete pod "$SP" --wait=false >/dev/null || fail "kubectl delete mirror"
recreated() { u=$(pod "$SP" | jq -r .metadata.uid); [ -n "$u" ] && [ "$u" != "$MUID" ] && [ "$u" != null ]; }
wait_for 30 recreated || fail "mirror pod not recreated"
has_status() { pod "$SP" | jq -e '.status.phase=="Running" and .status.containerStatuses[0].containerID != null'; }
wait_for 20 has_status || { pod "$SP" | jq .status; fail "recreated mirror has no status"; }
[ "$(pod "$SP" | jq -r '.status.containerStatuses[0].containerID')" = "$CID" ] || fail "container restarted when the mirror was deleted"
echo "ok deleted mirror pod recreated, container untouched"

nv_stop_agent
nv_start_agent --pod-manifest-path "$MAN" --file-check-frequency 20s
sleep 3
[ "$(pod "$SP" | jq -r '.status.containerStatuses[0].containerID')" = "$CID" ] || fail "static pod restarted by an agent restart"
echo "ok adopted after an agent restart"

# a JSON manifest in a namespace, picked up by inotify (well before the 20 s poll)
printf '%s' "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"nvjson\"},\"spec\":{\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"c\",\"image\":\"$IMG\",\"command\":[\"sleep\",\"3600\"]}]}}" >"$MAN/.tmp"
mv "$MAN/.tmp" "$MAN/j.json"
json_running() { phase_is "nvjson-$NODE" Running; }
wait_for 15 json_running || { tail -20 "$T/agent.log"; fail "JSON manifest not run within 15 s"; }
echo "ok JSON manifest"
SBS_SEEN=$(ls "$ART/runtime/sandboxes")

rm "$MAN/web.yaml" "$MAN/j.json"
wait_for 30 gone "$SP" || fail "mirror pod not deleted once the manifest was removed"
wait_for 30 gone "nvjson-$NODE" || fail "JSON mirror not deleted"
nv_check_clean
echo "ok manifests removed: pods stopped, mirrors deleted, nothing left"
nv_stop_agent
echo PASS
