#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Bar 3: bad input gives a clear error and leaves nothing half-created: a missing image, a
# corrupt layer (digest mismatch), an unreachable registry, bad CNI configs (invalid JSON,
# missing plugin, plugin error), bad pod/container configs, unknown ids.
set -u
. "$(dirname "$0")/lib.sh"
rt_init "$@"
trap rt_cleanup EXIT
registry_start "$T/reg" || exit 1
registry_push_busybox good/busybox:1 || fail "push"
registry_push_twolayer bad/two:1 || fail "push"

expect_err() { # PATTERN CMD...: CMD must fail and print PATTERN on stderr
    local pat=$1; shift
    local err; err=$("$@" 2>&1 >/dev/null) && fail "succeeded: $*"
    echo "$err" | grep -qiE "$pat" || fail "error for '$*' lacks /$pat/: $err"
    echo "ok: $* -> $(echo "$err" | head -1)"
}
no_new_images() { [ "$(crt images -q | wc -l)" = 1 ] || fail "images appeared: $(crt images -q)"; }
no_runtime_state() {
    [ -z "$(ls -A "$ROOT/sandboxes")" ] || fail "sandbox dir left"
    [ -z "$(ls -A "$ROOT/containers")" ] || fail "container dir left"
    [ -z "$(ls -A "$ROOT/cni-cache")" ] || fail "cni cache left"
    ls /run/netns 2>/dev/null | grep -q "^ckube-" && [ "$(ls /run/netns | grep -c '^ckube-')" -gt "$NETNS_BEFORE" ] &&
        fail "netns left"
    return 0
}
NETNS_BEFORE=$(ls /run/netns 2>/dev/null | grep -c '^ckube-')
crt pull --insecure "$REGISTRY_ADDR/good/busybox:1" >/dev/null || fail "pull good"

# 1. missing image / tag
expect_err "not found|unknown|404" crt pull --insecure "$REGISTRY_ADDR/good/nope:1"
expect_err "not found|unknown|404" crt pull --insecure "$REGISTRY_ADDR/good/busybox:2"
no_new_images
# 2. corrupt layer: overwrite the (unique) top layer blob in the registry's storage
LAYER=$(curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "$REGISTRY_URL/v2/bad/two/manifests/1" | jq -r '.layers[1].digest')
BLOB=$(registry_blob_path "$LAYER")
[ -f "$BLOB" ] || fail "no blob file $BLOB"
printf 'garbage' | dd of="$BLOB" bs=1 seek=100 conv=notrunc 2>/dev/null
expect_err "digest|mismatch|corrupt" crt pull --insecure "$REGISTRY_ADDR/bad/two:1"
no_new_images
# 3. unreachable registry (nothing listens on port 1)
start=$(date +%s)
expect_err "unreachable|connect|refused|unavailable" crt pull --insecure 127.0.0.1:1/x/y:1
[ $(($(date +%s) - start)) -lt 30 ] || fail "unreachable registry took too long"
no_new_images

cat >"$T/pod.json" <<J
{"metadata":{"name":"bad","namespace":"e2e","uid":"bad-$$"}}
J
# 4. bad CNI configs: each fails runp with a clear error and leaves nothing
echo '{"cniVersion":"1.0.0","name":"x","plugins":[' >"$T/broken.conflist"
expect_err "invalid JSON|cni config" crt --cni-conf "$T/broken.conflist" runp "$T/pod.json"
echo '{"cniVersion":"1.0.0","name":"x","plugins":[{"type":"no-such-plugin"}]}' >"$T/missing.conflist"
expect_err "failed to find plugin \"no-such-plugin\"" crt --cni-conf "$T/missing.conflist" runp "$T/pod.json"
no_runtime_state
cat >"$T/badsubnet.conflist" <<J
{"cniVersion":"1.0.0","name":"badnet","plugins":[{"type":"bridge","bridge":"ckbad0",
 "ipam":{"type":"host-local","ranges":[[{"subnet":"10.300.0.0/16"}]],"dataDir":"$T/ipam"}}]}
J
expect_err "cni plugin error|invalid|subnet" crt --cni-conf "$T/badsubnet.conflist" runp "$T/pod.json"
no_runtime_state
ip link del ckbad0 2>/dev/null
expect_err "cni config" crt --cni-conf /nonexistent.conflist pods
# 5. bad pod / container configs and ids
echo '{"metadata":{"name":"x"}}' >"$T/nouid.json"
expect_err "uid" crt runp "$T/nouid.json"
echo '{not json' >"$T/garbage.json"
expect_err "line 1" crt runp "$T/garbage.json"
POD=$(crt runp "$T/pod.json") || fail "runp"
echo '{"metadata":{"name":"c"},"image":{"image":"never/pulled:1"},"command":["true"]}' >"$T/c1.json"
expect_err "not found" crt create "$POD" "$T/c1.json"
echo "{\"metadata\":{\"name\":\"c\"},\"image\":{\"image\":\"$REGISTRY_ADDR/good/busybox:1\"},\"command\":[\"/no/such/binary\"]}" >"$T/c2.json"
expect_err "no/such/binary|not found|No such file" crt create "$POD" "$T/c2.json"
echo "{\"metadata\":{\"name\":\"c\"},\"image\":{\"image\":\"$REGISTRY_ADDR/good/busybox:1\"},\"command\":[1]}" >"$T/c3.json"
expect_err "command\[0\]" crt create "$POD" "$T/c3.json"
[ -z "$(ls -A "$ROOT/containers")" ] || fail "failed creates left container dirs"
grep -q "$ROOT/containers" /proc/mounts && fail "failed creates left mounts"
expect_err "not found" crt create 0123456789abcdef "$T/c1.json"
expect_err "not found" crt start ffffffffffffffffffffffffffffffff
expect_err "not found" crt inspect ../../etc
expect_err "not found" crt exec ffffffffffffffffffffffffffffffff true
expect_err "unknown command" crt frobnicate
crt rmp "$POD" >/dev/null || fail "rmp"
assert_no_leftovers "$POD" "bad-$$"
echo "PASS: bad input"
