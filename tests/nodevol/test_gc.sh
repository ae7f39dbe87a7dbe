#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# nodevol suite, garbage collection: with --image-gc-high-threshold 1 (the disk is always
# "full") the agent's image GC removes an image once no container uses it any more, and keeps
# the image of a running pod (and of a finished pod's dead container while it exists); a
# crash-looping container keeps at most one dead instance. Nothing is left.
# usage: test_gc.sh CKUBE_BIN SRC_DIR   (needs root; exit 77 = SKIP)
. "$(dirname "$0")/lib.sh"
nv_init "$@"
registry_push_twolayer nodevol/two:1 || fail "push two"
IMG2=$REGISTRY_ADDR/nodevol/two:1
nv_start_agent --image-gc-high-threshold 1 --image-gc-low-threshold 0 \
    --minimum-image-ttl-duration 4s --image-gc-period 2s
imgs() { "$CKUBE" crt --root "$ART/runtime" --image-root "$ART/images" images 2>/dev/null; }
mkpod "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"nvkeep\"},\"spec\":{\"nodeName\":\"$NODE\",
  \"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"c\",\"image\":\"$IMG\",\"command\":[\"sleep\",\"3600\"]}]}}"
mkpod "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"nvonce\"},\"spec\":{\"nodeName\":\"$NODE\",
  \"restartPolicy\":\"Never\",\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"c\",\"image\":\"$IMG2\"}]}}"
mkpod "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"nvcrash\"},\"spec\":{\"nodeName\":\"$NODE\",
  \"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"c\",\"image\":\"$IMG\",\"command\":[\"sh\",\"-c\",\"exit 1\"]}]}}"
wait_for 60 phase_is nvkeep Running || fail "nvkeep not Running"
wait_for 60 phase_is nvonce Succeeded || { pod nvonce | jq .status; fail "nvonce not Succeeded"; }
remember nvkeep; remember nvonce; remember nvcrash
sleep 6 # past the minimum TTL and a few GC periods: both images are still in use
imgs | grep -q "nodevol/two" || { imgs; grep -i "image" "$T/agent.log" | tail; fail "image of a dead container removed"; }
imgs | grep -q "nodevol/busybox" || fail "image of a running pod removed"
restarted() { [ "$(pod nvcrash | jq -r '.status.containerStatuses[0].restartCount')" -ge 2 ]; }
wait_for 60 restarted || { pod nvcrash | jq .status; fail "nvcrash did not restart twice"; }
crt() { "$CKUBE" crt --root "$ART/runtime" --image-root "$ART/images" "$@"; }
SB=
for s in $(crt pods -q); do crt inspectp "$s" | grep -q '"nvcrash"' && SB=$s; done
[ -n "$SB" ] || fail "no sandbox of nvcrash"
n=$(crt ps -a -q --pod "$SB" | wc -l)
[ "$n" -ge 1 ] && [ "$n" -le 2 ] || { crt ps -a --pod "$SB"; fail "nvcrash has $n containers (one dead kept at most)"; }
echo "ok images in use kept; dead containers bounded ($n containers of nvcrash after restarts)"
SBS_SEEN=$(ls "$ART/runtime/sandboxes")
curl -fs -XDELETE "$API/api/v1/namespaces/default/pods/nvonce" >/dev/null || fail "delete nvonce"
wait_for 20 gone nvonce || fail "nvonce not deleted"
collected() { ! imgs | grep -q "nodevol/two"; }
wait_for 20 collected || { imgs; tail -20 "$T/agent.log"; fail "unused image not collected"; }
imgs | grep -q "nodevol/busybox" || fail "image of a running pod removed"
grep -q "image GC: removed image .*nodevol/two" "$T/agent.log" || fail "no image GC log line"
echo "ok unused image collected, the running pod's image kept"
nv_delete_and_check nvkeep nvcrash
echo "ok deleted, nothing left"
nv_stop_agent
echo PASS
