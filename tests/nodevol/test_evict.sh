#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# nodevol suite, eviction: two pods run on a real `ckube agent` - "nvhog" (BestEffort, holds
# ~20 MB) and "nvguard" (Guaranteed, using far less than its request). The agent is restarted
# with --eviction-hard memory.available<100Ti, a threshold above any machine's memory, so
# memory pressure is real without exhausting the host: the node reports MemoryPressure with
# the node.kubernetes.io/memory-pressure:NoSchedule taint, the lowest-ranked pod (nvhog: over
# its requests) is evicted first (phase Failed, reason Evicted, upstream's message, the
# DisruptionTarget condition, an Evicted event) while nvguard still runs; the next round
# evicts nvguard; a new BestEffort pod is rejected at admission. Before that, a pod whose
# emptyDir exceeds its sizeLimit is evicted with no node pressure; after it, disk pressure
# (nodefs.available<100%) evicts the pod using more disk first, with DiskPressure and its taint. An agent without thresholds
# clears the condition and the taint. Nothing is left.
# usage: test_evict.sh CKUBE_BIN SRC_DIR   (needs root; exit 77 = SKIP)
. "$(dirname "$0")/lib.sh"
nv_init "$@"
nv_start_agent --eviction-hard ""
mkpod "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"nvhog\"},\"spec\":{\"nodeName\":\"$NODE\",
  \"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"hog\",\"image\":\"$IMG\",
  \"command\":[\"sh\",\"-c\",\"x=\$(head -c 20000000 /dev/zero | tr '\\\\0' a); touch /tmp/ready; sleep 3600\"]}]}}"
mkpod "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"nvguard\"},\"spec\":{\"nodeName\":\"$NODE\",
  \"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"g\",\"image\":\"$IMG\",\"command\":[\"sleep\",\"3600\"],
  \"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":\"200Mi\"},\"limits\":{\"cpu\":\"100m\",\"memory\":\"200Mi\"}}}]}}"
both() { phase_is nvhog Running && phase_is nvguard Running; }
wait_for 60 both || { pod nvhog | jq .status; pod nvguard | jq .status; fail "pods not Running"; }
remember nvhog
remember nvguard
sleep 3 # the hog fills its memory
node | jq -e '.status.conditions[] | select(.type=="MemoryPressure" and .status=="False")' >/dev/null ||
    fail "MemoryPressure should be False"

evicted() { pod "$1" | jq -e '.status.phase=="Failed" and .status.reason=="Evicted"'; }
# an emptyDir over its sizeLimit: evicted without any node pressure
mkpod "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"nvdisk\"},\"spec\":{\"nodeName\":\"$NODE\",
  \"terminationGracePeriodSeconds\":1,\"volumes\":[{\"name\":\"scratch\",\"emptyDir\":{\"sizeLimit\":\"1Mi\"}}],
  \"containers\":[{\"name\":\"c\",\"image\":\"$IMG\",\"volumeMounts\":[{\"name\":\"scratch\",\"mountPath\":\"/s\"}],
  \"command\":[\"sh\",\"-c\",\"dd if=/dev/zero of=/s/big bs=1024 count=3072; sleep 3600\"]}]}}"
remember nvdisk
wait_for 40 evicted nvdisk || { pod nvdisk | jq .status; fail "nvdisk not evicted"; }
[ "$(pod nvdisk | jq -r .status.message)" = 'Usage of EmptyDir volume "scratch" exceeds the limit "1Mi". ' ] ||
    fail "emptyDir eviction message: $(pod nvdisk | jq -r .status.message)"
phase_is nvhog Running && phase_is nvguard Running || fail "other pods evicted for an emptyDir"
echo "ok emptyDir over its sizeLimit evicted"

nv_stop_agent
nv_start_agent --eviction-hard "memory.available<100Ti" --eviction-pressure-transition-period 5s
wait_for 30 evicted nvhog || { pod nvhog | jq .status; tail -20 "$T/agent.log"; fail "nvhog not evicted"; }
phase_is nvguard Running || fail "nvguard evicted before nvhog was the only one"
[ "$(pod nvguard | jq -r '.status.reason')" = null ] || fail "nvguard has a reason already"
MSG=$(pod nvhog | jq -r .status.message)
echo "$MSG" | grep -Eq '^The node was low on resource: memory\. Threshold quantity: 100Ti, available: [0-9]+(Ki|Mi|Gi)?\. Container hog was using [0-9]+(Ki|Mi)?, which exceeds its request of 0\. $' ||
    fail "eviction message: '$MSG'"
pod nvhog | jq -e '.status.conditions[] | select(.type=="DisruptionTarget" and .status=="True" and .reason=="TerminationByKubelet")' >/dev/null ||
    fail "DisruptionTarget condition"
evs nvhog | grep -qF "Warning Evicted $MSG" || { evs nvhog; fail "Evicted event"; }
pod nvhog | jq -e '.status.containerStatuses[0].state.terminated' >/dev/null || fail "nvhog's container not terminated"
echo "ok nvhog evicted first: $MSG"
pressure() { node | jq -e '.status.conditions[] | select(.type=="MemoryPressure" and .status=="True" and .reason=="KubeletHasInsufficientMemory")'; }
wait_for 15 pressure || { node | jq .status.conditions; fail "MemoryPressure not True"; }
taint() { node | jq -e '.spec.taints[] | select(.key=="node.kubernetes.io/memory-pressure" and .effect=="NoSchedule")'; }
wait_for 15 taint || { node | jq .spec; fail "memory-pressure taint"; }
echo "ok MemoryPressure True with the NoSchedule taint"
wait_for 30 evicted nvguard || { pod nvguard | jq .status; fail "nvguard not evicted in the next round"; }
echo "ok nvguard evicted next"
# admission under memory pressure: a new BestEffort pod is rejected
mkpod "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"nvlate\"},\"spec\":{\"nodeName\":\"$NODE\",
  \"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"c\",\"image\":\"$IMG\",\"command\":[\"sleep\",\"3600\"]}]}}"
remember nvlate
wait_for 20 evicted nvlate || { pod nvlate | jq .status; fail "nvlate not rejected"; }
[ "$(pod nvlate | jq -r .status.message)" = "Pod was rejected: The node had condition: [MemoryPressure]. " ] ||
    fail "rejection message: $(pod nvlate | jq -r .status.message)"
evs nvlate | grep -qx "Warning Evicted The node had condition: \[MemoryPressure\]. " || { evs nvlate; fail "rejection event"; }
pod nvlate | jq -e '[.status.containerStatuses[]? | select(.state.running)] | length == 0' >/dev/null || fail "nvlate started"
echo "ok BestEffort pod rejected under MemoryPressure"

nv_stop_agent
nv_start_agent --eviction-hard ""
nopressure() { node | jq -e '.status.conditions[] | select(.type=="MemoryPressure" and .status=="False")'; }
wait_for 20 nopressure || fail "MemoryPressure stays True"
notaint() { node | jq -e '[.spec.taints // [] | .[] | select(.key=="node.kubernetes.io/memory-pressure")] | length == 0'; }
wait_for 20 notaint || { node | jq .spec; fail "memory-pressure taint not removed"; }
echo "ok pressure gone: condition False, taint removed"

# disk pressure (nodefs.available<100% is always met): the pod using more disk goes first
mkpod "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"nvdu1\"},\"spec\":{\"nodeName\":\"$NODE\",
  \"terminationGracePeriodSeconds\":1,\"volumes\":[{\"name\":\"s\",\"emptyDir\":{}}],
  \"containers\":[{\"name\":\"c\",\"image\":\"$IMG\",\"volumeMounts\":[{\"name\":\"s\",\"mountPath\":\"/s\"}],
  \"command\":[\"sh\",\"-c\",\"dd if=/dev/zero of=/s/big bs=1024 count=4096; sleep 3600\"]}]}}"
mkpod "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"nvdu2\"},\"spec\":{\"nodeName\":\"$NODE\",
  \"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"c\",\"image\":\"$IMG\",\"command\":[\"sleep\",\"3600\"]}]}}"
remember nvdu1; remember nvdu2
du_running() { phase_is nvdu1 Running && phase_is nvdu2 Running; }
wait_for 60 du_running || fail "nvdu pods not Running"
sleep 2
nv_stop_agent
nv_start_agent --eviction-hard "nodefs.available<100%" --eviction-pressure-transition-period 5s
wait_for 30 evicted nvdu1 || { pod nvdu1 | jq .status; tail -20 "$T/agent.log"; fail "nvdu1 not evicted"; }
phase_is nvdu2 Running || fail "nvdu2 evicted before nvdu1 was the only one"
MSG=$(pod nvdu1 | jq -r .status.message)
echo "$MSG" | grep -Eq '^The node was low on resource: ephemeral-storage\. Threshold quantity: [0-9]+(Ki|Mi|Gi|Ti)?, available: [0-9]+(Ki|Mi|Gi|Ti)?\. $' ||
    fail "disk eviction message: '$MSG'"
dpressure() { node | jq -e '.status.conditions[] | select(.type=="DiskPressure" and .status=="True" and .reason=="KubeletHasDiskPressure")'; }
wait_for 15 dpressure || { node | jq .status.conditions; fail "DiskPressure not True"; }
dtaint() { node | jq -e '.spec.taints[] | select(.key=="node.kubernetes.io/disk-pressure" and .effect=="NoSchedule")'; }
wait_for 15 dtaint || { node | jq .spec; fail "disk-pressure taint"; }
echo "ok disk pressure: nvdu1 evicted first ($MSG), DiskPressure with its taint"
nv_stop_agent
nv_start_agent --eviction-hard ""

nv_delete_and_check nvhog nvguard nvlate nvdisk nvdu1 nvdu2
echo "ok deleted, nothing left"
nv_stop_agent
echo PASS
