#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The agent's image manager against a local docker-registry (real crun, CNI, `ckube server`):
# - a registries file mirror: example.invalid/... (a name that never resolves) is pulled
#   through the mirror endpoint (plain http), with upstream's Pulling/Pulled events;
# - imagePullPolicy Always re-resolves a present tag: unchanged (the tag's blobs are removed
#   from the registry's storage first, so any download would fail) it downloads nothing and the
#   pod runs; after the tag is re-pushed with another image the new image is pulled and runs;
# - Always with the registry stopped: ErrImagePull, then ImagePullBackOff, although the image
#   is present; IfNotPresent uses the present image ("already present on machine").
# usage: test_agent_images.sh CKUBE_BIN SRC_DIR   (needs root; exit 77 = SKIP)
set -u
. "$(dirname "$0")/../runtime/lib.sh"
rt_init "$@"
ART=$T/agent
NODE=ckimg-$$
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
registry_push_busybox ckimg/app:1 || fail "push"
IMG=$REGISTRY_ADDR/ckimg/app:1
MIRRORED=example.invalid/ckimg/app:1

cat >"$T/registries.yaml" <<Y
mirrors:
  example.invalid:
    endpoint:
      - "http://$REGISTRY_ADDR"
Y

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SP=$(port); PP=$(port); HP=$(port)
"$CKUBE" server --data-dir "$T/data" --secure-port "$SP" --insecure-port "$PP" >"$T/server.out" 2>"$T/server.log" &
SERVER_PID=$!
wait_for 20 grep -q KUBECONFIG "$T/server.out" || fail "server did not start"
KC=$T/data/kubeconfig.yaml
API=http://127.0.0.1:$PP
wait_for 20 curl -fs "$API/readyz" || fail "server not ready"
"$CKUBE" agent --kubeconfig "$KC" --node-name "$NODE" --root "$ART" --healthz-port "$HP" \
    --port 0 --registry-config "$T/registries.yaml" -v 2 >>"$T/agent.log" 2>&1 &
AGENT_PID=$!
wait_for 20 curl -fs "http://127.0.0.1:$HP/healthz" || { tail -20 "$T/agent.log"; fail "agent healthz"; }
node_ready() { curl -fs "$API/api/v1/nodes/$NODE" | jq -e '.status.conditions[] | select(.type=="Ready" and .status=="True")'; }
wait_for 20 node_ready || fail "node $NODE not Ready"

mkpod() { # name image policy
    curl -fs -XPOST -H 'Content-Type: application/json' "$API/api/v1/namespaces/default/pods" -d "{
  \"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"$1\"},
  \"spec\":{\"nodeName\":\"$NODE\",\"restartPolicy\":\"Never\",\"terminationGracePeriodSeconds\":1,
   \"containers\":[{\"name\":\"c\",\"image\":\"$2\",\"imagePullPolicy\":\"$3\",
     \"command\":[\"sh\",\"-c\",\"if [ -e /etc/new.txt ]; then echo NEW; else echo OLD; fi; exec sleep 3600\"]}]}}" \
        >/dev/null || fail "create pod $1"
}
pod() { curl -fs "$API/api/v1/namespaces/default/pods/$1"; }
running() { pod "$1" | jq -e '.status.phase=="Running"' >/dev/null; }
logs() { cat "$ART/pods/default_$1_$(pod "$1" | jq -r .metadata.uid)/c/0.log" 2>/dev/null; }
logged() { logs "$1" | grep -q " $2\$"; } # CRI log lines: "TIME stdout F TEXT"
evs() { curl -fs "$API/api/v1/namespaces/default/events" | jq -r ".items[] | select(.involvedObject.name==\"$1\") | .type + \" \" + .reason + \" \" + .message"; }
image_id() { pod "$1" | jq -r '.status.containerStatuses[0].imageID'; }
PODS=""
run_pod() { # name image policy expected-output
    mkpod "$1" "$2" "$3"
    PODS="$PODS $1"
    wait_for 60 running "$1" || { pod "$1" | jq .status; tail -20 "$T/agent.log"; fail "$1 not Running"; }
    wait_for 10 logged "$1" "$4" || fail "$1: log '$(logs "$1")', want $4"
}
pulled_re() { # image: upstream's Pulled message for a pull
    printf '^Normal Pulled Successfully pulled image "%s" in [0-9.]+m?s \\([0-9.]+m?s including waiting\\)\\. Image size: [1-9][0-9]* bytes\\.$' "$1"
}

# 1. a mirror: example.invalid never resolves, so the image can only come through the mirror
run_pod mir "$MIRRORED" IfNotPresent OLD
evs mir | grep -qx "Normal Pulling Pulling image \"$MIRRORED\"" || { evs mir; fail "Pulling event"; }
evs mir | grep -Eq "$(pulled_re "$MIRRORED")" || { evs mir; fail "Pulled event"; }
"$CKUBE" crt --root "$ART/runtime" --image-root "$ART/images" images | grep -q "^example.invalid/ckimg/app:1 " ||
    fail "the mirrored image is not stored under its own name"
echo "ok a mirror endpoint serves example.invalid"

# 2. Always with an unchanged tag: a HEAD of the manifest, no download
run_pod alw1 "$IMG" Always OLD
ID1=$(image_id alw1)
MDIG=$(registry_manifest_digest ckimg/app:1)
for b in $(curl -fs -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "$REGISTRY_URL/v2/ckimg/app/manifests/1" | jq -r '.config.digest, .layers[].digest'); do
    rm -f "$(registry_blob_path "$b")"
done
curl -fs -o /dev/null "$REGISTRY_URL/v2/ckimg/app/blobs/$(curl -fs -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "$REGISTRY_URL/v2/ckimg/app/manifests/1" | jq -r '.config.digest')" && fail "the registry still serves the config"
run_pod alw2 "$IMG" Always OLD
[ "$(image_id alw2)" = "$ID1" ] || fail "imageID changed without a new push: $(image_id alw2) vs $ID1"
evs alw2 | grep -qx "Normal Pulling Pulling image \"$IMG\"" || { evs alw2; fail "Always: no Pulling event"; }
evs alw2 | grep -Eq "$(pulled_re "$IMG")" || { evs alw2; fail "Always: no Pulled event"; }
grep -q "is up to date ($MDIG)" "$T/agent.log" || fail "no up-to-date resolution in the agent log"
echo "ok Always with an unchanged tag: resolved, nothing downloaded"

# 3. the tag re-pushed with another image: Always pulls it and the container runs it
registry_push_twolayer ckimg/app:1 || fail "re-push"
[ "$(registry_manifest_digest ckimg/app:1)" != "$MDIG" ] || fail "the re-push did not change the digest"
run_pod alw3 "$IMG" Always NEW
[ "$(image_id alw3)" != "$ID1" ] || fail "Always kept the old image"
evs alw3 | grep -Eq "$(pulled_re "$IMG")" || { evs alw3; fail "Pulled event after re-push"; }
# IfNotPresent keeps using what is present (now the new image)
run_pod ifp "$IMG" IfNotPresent NEW
evs ifp | grep -qx "Normal Pulled Container image \"$IMG\" already present on machine" ||
    { evs ifp; fail "already present event"; }
echo "ok Always after a re-push: the new image runs"

# 4. Always with the registry gone: ErrImagePull then ImagePullBackOff, the local copy unused
registry_stop
mkpod down "$IMG" Always
PODS="$PODS down"
reason() { [ "$(pod down | jq -r '.status.containerStatuses[0].state.waiting.reason')" = "$1" ]; }
wait_for 30 reason ErrImagePull || { pod down | jq .status; fail "no ErrImagePull with the registry down"; }
wait_for 30 reason ImagePullBackOff || { pod down | jq .status; fail "no ImagePullBackOff"; }
pod down | jq -e ".status.containerStatuses[0].state.waiting.message | startswith(\"Back-off pulling image \\\"$IMG\\\": ErrImagePull: \")" >/dev/null ||
    { pod down | jq .status.containerStatuses; fail "ImagePullBackOff message"; }
evs down | grep -q "^Warning Failed Failed to pull image \"$IMG\": " || { evs down; fail "Failed event"; }
evs down | grep -qx "Warning Failed Error: ErrImagePull" || fail "Error: ErrImagePull event"
evs down | grep -qx "Normal BackOff Back-off pulling image \"$IMG\"" || fail "BackOff event"
running down && fail "an Always pod ran without its registry"
run_pod ifp2 "$IMG" IfNotPresent NEW
echo "ok Always with the registry down: ErrImagePull, ImagePullBackOff; IfNotPresent still runs"

for p in $PODS; do curl -fs -XDELETE "$API/api/v1/namespaces/default/pods/$p" >/dev/null || fail "delete $p"; done
gone() { ! curl -fs "$API/api/v1/namespaces/default/pods/$1" >/dev/null; }
for p in $PODS; do wait_for 30 gone "$p" || fail "$p not deleted"; done
sleep 1
[ -z "$(ls -A "$ART/runtime/sandboxes" 2>/dev/null)" ] || fail "sandboxes left"
if grep -q "$ART" /proc/mounts; then grep "$ART" /proc/mounts >&2; fail "mounts left"; fi
kill "$AGENT_PID"; wait "$AGENT_PID"; rc=$?
AGENT_PID=
[ $rc = 0 ] || fail "agent exited $rc on SIGTERM"
echo PASS
