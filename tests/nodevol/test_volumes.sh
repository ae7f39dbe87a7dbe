#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# nodevol suite, volumes and env: a real `ckube agent` (crun + CNI) runs a pod with
# downwardAPI, projected (configMap + secret + downwardAPI + serviceAccountToken), hostPath
# (DirectoryOrCreate with a subPath, FileOrCreate) and emptyDir medium Memory (sizeLimit)
# volumes, a readOnly mount, and env from valueFrom/envFrom. The container copies what it sees
# into the hostPath; a label update reaches the downwardAPI file through the ..data swap.
# Bad input: a hostPath type mismatch (FailedMount with upstream's message, the pod waits in
# ContainerCreating) and a missing configMap key (CreateContainerConfigError). Finally every
# pod is deleted and nothing is left.
# usage: test_volumes.sh CKUBE_BIN SRC_DIR   (needs root; exit 77 = SKIP)
. "$(dirname "$0")/lib.sh"
nv_init "$@"
nv_start_agent

post /api/v1/namespaces/default/configmaps '{"metadata":{"name":"nvcfg"},"data":{"greeting":"hi","mode":"fast"}}' || fail "cm"
post /api/v1/namespaces/default/secrets '{"metadata":{"name":"nvsec"},"data":{"token":"czNjcmV0"}}' || fail "secret"
# satoken: the projected serviceAccountToken comes from TokenRequest for this service account;
# with it, ServiceAccount admission adds kube-api-access-*, which reads kube-root-ca.crt (the
# controller manager's publisher is not running here)
post /api/v1/namespaces/default/serviceaccounts '{"metadata":{"name":"default"}}' || fail "serviceaccount"
post /api/v1/namespaces/default/configmaps '{"metadata":{"name":"kube-root-ca.crt"},"data":{"ca.crt":"nodevol"}}' ||
    fail "kube-root-ca.crt"
HOSTDIR=$T/host
mkdir -p "$HOSTDIR"
SCRIPT='cp /etc/dapi/labels /out/labels; cp /etc/dapi/name /out/name; cp /etc/dapi/cpu /out/cpu;
cp /etc/proj/greeting /out/p-greeting; cp /etc/proj/tok /out/p-tok; cp /etc/proj/ns /out/p-ns;
cp /etc/proj/satoken /out/p-satoken;
ls /etc/proj > /out/p-ls; env > /out/env; grep " /mem " /proc/mounts > /out/mem-mount;
echo x > /etc/ro/f 2>/dev/null && echo writable > /out/ro || echo readonly > /out/ro;
echo sub > /out/sub-written; echo file > /hostfile;
while true; do cp /etc/dapi/labels /out/labels.now; sleep 0.5; done'
SCRIPT_JSON=$(printf '%s' "$SCRIPT" | jq -Rs .)
mkpod "$(cat <<JSON
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"vols","labels":{"app":"nv","tier":"one"},
 "annotations":{"note":"a\"b"}},
 "spec":{"nodeName":"$NODE","terminationGracePeriodSeconds":1,
  "volumes":[
   {"name":"dapi","downwardAPI":{"defaultMode":384,"items":[
     {"path":"labels","fieldRef":{"fieldPath":"metadata.labels"}},
     {"path":"name","fieldRef":{"fieldPath":"metadata.name"},"mode":420},
     {"path":"cpu","resourceFieldRef":{"containerName":"c","resource":"limits.cpu","divisor":"1m"}}]}},
   {"name":"proj","projected":{"sources":[
     {"configMap":{"name":"nvcfg","items":[{"key":"greeting","path":"greeting"}]}},
     {"secret":{"name":"nvsec","items":[{"key":"token","path":"tok"}]}},
     {"downwardAPI":{"items":[{"path":"ns","fieldRef":{"fieldPath":"metadata.namespace"}}]}},
     {"configMap":{"name":"nv-absent","optional":true}},
     {"serviceAccountToken":{"path":"satoken","expirationSeconds":3600}}]}},
   {"name":"hp","hostPath":{"path":"$HOSTDIR/made","type":"DirectoryOrCreate"}},
   {"name":"hpf","hostPath":{"path":"$HOSTDIR/file","type":"FileOrCreate"}},
   {"name":"mem","emptyDir":{"medium":"Memory","sizeLimit":"8Mi"}},
   {"name":"ro","emptyDir":{}}],
  "containers":[{"name":"c","image":"$IMG","command":["sh","-c",$SCRIPT_JSON],
   "resources":{"limits":{"cpu":"250m","memory":"64Mi"}},
   "volumeMounts":[{"name":"dapi","mountPath":"/etc/dapi"},{"name":"proj","mountPath":"/etc/proj"},
     {"name":"hp","mountPath":"/out"},{"name":"hp","mountPath":"/sub","subPath":"deeper/dir"},
     {"name":"hpf","mountPath":"/hostfile"},{"name":"mem","mountPath":"/mem"},
     {"name":"ro","mountPath":"/etc/ro","readOnly":true}],
   "envFrom":[{"prefix":"CM_","configMapRef":{"name":"nvcfg"}}],
   "env":[{"name":"POD_NAME","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}},
     {"name":"POD_IP","valueFrom":{"fieldRef":{"fieldPath":"status.podIP"}}},
     {"name":"NODE","valueFrom":{"fieldRef":{"fieldPath":"spec.nodeName"}}},
     {"name":"MEM_MI","valueFrom":{"resourceFieldRef":{"resource":"limits.memory","divisor":"1Mi"}}},
     {"name":"GREETING","valueFrom":{"configMapKeyRef":{"name":"nvcfg","key":"greeting"}}},
     {"name":"SECRET","valueFrom":{"secretKeyRef":{"name":"nvsec","key":"token"}}},
     {"name":"OPTIONAL","valueFrom":{"configMapKeyRef":{"name":"nvcfg","key":"nokey","optional":true}}},
     {"name":"EXPANDED","value":"\$(GREETING)-\$(POD_NAME)-\$\$(GREETING)-\$(UNDEFINED)"}]}]}}
JSON
)"
running() { phase_is vols Running && [ -s "$HOSTDIR/made/labels.now" ]; }
wait_for 60 running || { pod vols | jq .status; tail -30 "$T/agent.log"; fail "vols not Running"; }
remember vols
O=$HOSTDIR/made
[ "$(cat "$O/labels")" = "$(printf 'app="nv"\ntier="one"')" ] || { cat "$O/labels"; fail "downwardAPI labels"; }
[ "$(cat "$O/name")" = vols ] || fail "downwardAPI name"
[ "$(cat "$O/cpu")" = 250 ] || fail "downwardAPI limits.cpu with divisor 1m: $(cat "$O/cpu")"
VUID=$(pod vols | jq -r .metadata.uid)
[ "$(stat -c %a "$ART/volumes/$VUID/dapi/..data/labels")" = 600 ] || fail "defaultMode 0600"
[ "$(stat -c %a "$ART/volumes/$VUID/dapi/..data/name")" = 644 ] || fail "item mode 0644"
[ "$(cat "$O/p-greeting")" = hi ] || fail "projected configMap"
[ "$(cat "$O/p-tok")" = s3cret ] || fail "projected secret"
[ "$(cat "$O/p-ns")" = default ] || fail "projected downwardAPI"
grep -qx satoken "$O/p-ls" || fail "no projected serviceAccountToken file"
grep -Eq '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' "$O/p-satoken" ||
    fail "the projected token is not a JWT: $(head -c 80 "$O/p-satoken")"
echo "ok downwardAPI and projected volumes"
[ -d "$HOSTDIR/made/deeper/dir" ] || fail "subPath not created in the hostPath"
[ "$(cat "$HOSTDIR/file")" = file ] || fail "hostPath FileOrCreate not shared"
grep -q 'tmpfs' "$O/mem-mount" && grep -q 'size=8192k' "$O/mem-mount" || { cat "$O/mem-mount"; fail "emptyDir Memory: tmpfs of 8Mi"; }
[ "$(cat "$O/ro")" = readonly ] || fail "readOnly mount is writable"
echo "ok hostPath (DirectoryOrCreate + subPath, FileOrCreate), emptyDir Memory, readOnly"
E=$O/env
IP=$(pod vols | jq -r .status.podIP)
grep -qx "POD_NAME=vols" "$E" || fail "env fieldRef metadata.name"
grep -qx "POD_IP=$IP" "$E" || { grep POD_IP "$E"; fail "env status.podIP ($IP)"; }
grep -qx "NODE=$NODE" "$E" || fail "env spec.nodeName"
grep -qx "MEM_MI=64" "$E" || fail "env resourceFieldRef"
grep -qx "GREETING=hi" "$E" || fail "env configMapKeyRef"
grep -qx "SECRET=s3cret" "$E" || fail "env secretKeyRef"
grep -q "^OPTIONAL=" "$E" && fail "optional missing key set"
grep -qx "CM_greeting=hi" "$E" && grep -qx "CM_mode=fast" "$E" || fail "envFrom with prefix"
grep -qx 'EXPANDED=hi-vols-$(GREETING)-$(UNDEFINED)' "$E" || { grep EXPANDED "$E"; fail "env expansion"; }
echo "ok env: fieldRef, resourceFieldRef, configMapKeyRef, secretKeyRef, envFrom, \$(VAR)"

curl -fs -XPATCH -H 'Content-Type: application/merge-patch+json' "$API/api/v1/namespaces/default/pods/vols" \
    -d '{"metadata":{"labels":{"tier":"two"}}}' >/dev/null || fail "label update"
updated() { [ "$(cat "$O/labels.now")" = "$(printf 'app="nv"\ntier="two"')" ]; }
wait_for 20 updated || { cat "$O/labels.now"; fail "label update did not reach the downwardAPI file"; }
echo "ok label update reached the running pod"

# bad input: hostPath type mismatch, missing configMap key
mkpod "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"badhp\"},\"spec\":{\"nodeName\":\"$NODE\",
  \"terminationGracePeriodSeconds\":1,\"volumes\":[{\"name\":\"h\",\"hostPath\":{\"path\":\"$HOSTDIR/file\",\"type\":\"Directory\"}}],
  \"containers\":[{\"name\":\"c\",\"image\":\"$IMG\",\"command\":[\"sleep\",\"3600\"],\"volumeMounts\":[{\"name\":\"h\",\"mountPath\":\"/h\"}]}]}}"
mkpod "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"badkey\"},\"spec\":{\"nodeName\":\"$NODE\",
  \"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"c\",\"image\":\"$IMG\",\"command\":[\"sleep\",\"3600\"],
  \"env\":[{\"name\":\"X\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"nvcfg\",\"key\":\"nokey\"}}}]}]}}"
hp_event() { evs badhp | grep -qx "Warning FailedMount MountVolume.SetUp failed for volume \"h\" : hostPath type check failed: $HOSTDIR/file is not a directory"; }
wait_for 20 hp_event || { evs badhp; fail "hostPath FailedMount event"; }
[ "$(pod badhp | jq -r '.status.containerStatuses[0].state.waiting.reason')" = ContainerCreating ] ||
    { pod badhp | jq .status; fail "badhp should wait in ContainerCreating"; }
keywait() { pod badkey | jq -e '.status.containerStatuses[0].state.waiting | .reason=="CreateContainerConfigError" and .message=="couldn'"'"'t find key nokey in ConfigMap default/nvcfg"'; }
wait_for 20 keywait || { pod badkey | jq .status.containerStatuses; fail "CreateContainerConfigError"; }
evs badkey | grep -q "^Warning Failed Error: couldn't find key nokey in ConfigMap default/nvcfg$" || { evs badkey; fail "Failed event"; }
curl -fs "http://127.0.0.1:$HP/healthz" >/dev/null || fail "agent unhealthy"
echo "ok bad input: FailedMount (hostPath type), CreateContainerConfigError (missing key)"
remember badhp
remember badkey

nv_delete_and_check vols badhp badkey
[ -d "$HOSTDIR/made" ] || fail "the hostPath directory must stay"
echo "ok deleted, nothing left"
nv_stop_agent
echo PASS
