# SPDX-License-Identifier: Apache-2.0
# Shared helpers for the runtime suite: prerequisites (exit 77 = SKIP), a private runtime
# root, `crt` wrapper, leak checks (mounts, netns, cgroups, veths) and polling.

rt_init() { # CKUBE_BIN CKUBE_SRC
    CKUBE=${1:?ckube binary}
    SRC=${2:?source dir}
    if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (namespaces, mounts, cgroups)"; exit 77; fi
    for t in crun ip curl jq; do
        command -v $t >/dev/null 2>&1 || { echo "SKIP: $t not installed"; exit 77; }
    done
    [ -x /usr/lib/cni/bridge ] || { echo "SKIP: containernetworking-plugins not installed"; exit 77; }
    unshare -m true 2>/dev/null || { echo "SKIP: cannot create mount namespaces"; exit 77; }
    T=$(mktemp -d /tmp/ck-rt-test.XXXXXX)
    ROOT=$T/root
    VETHS_BEFORE=$(ip -o link show type veth 2>/dev/null | wc -l)
    # shellcheck source=/dev/null
    . "$SRC/tests/lib/registry.sh"
}

crt() { "$CKUBE" crt --root "$ROOT" "$@"; }

rt_cleanup() {
    local p c
    if [ -d "$ROOT" ]; then
        for c in $(crt ps -a -q 2>/dev/null); do crt rm "$c" >/dev/null 2>&1; done
        for p in $(crt pods -q 2>/dev/null); do crt rmp "$p" >/dev/null 2>&1; done
    fi
    registry_stop 2>/dev/null
    grep -q " $T" /proc/mounts || rm -rf "$T"
}

fail() { echo "FAIL: $*" >&2; exit 1; }

# wait_for SECONDS CMD...: polls CMD every 0.1 s.
wait_for() {
    local n=$(($1 * 10)); shift
    while [ $n -gt 0 ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; n=$((n - 1)); done
    return 1
}

# Asserts nothing of pod (id, uid) is left on the host.
assert_no_leftovers() {
    local pod=$1 uid=$2
    if grep -q "$ROOT" /proc/mounts; then grep "$ROOT" /proc/mounts >&2; fail "mounts left under $ROOT"; fi
    if ip netns list | grep -q "ckube-${pod:0:24}"; then fail "netns ckube-${pod:0:24} left"; fi
    [ -e "/run/netns/ckube-${pod:0:24}" ] && fail "netns file left"
    if ls -d /sys/fs/cgroup/*/kubepods/pod"$uid" 2>/dev/null | grep -q .; then
        ls -d /sys/fs/cgroup/*/kubepods/pod"$uid" >&2; fail "cgroups of pod $uid left"
    fi
    local v; v=$(ip -o link show type veth 2>/dev/null | wc -l)
    [ "$v" -le "$VETHS_BEFORE" ] || fail "veths left: $v > $VETHS_BEFORE"
    [ -z "$(ls -A "$ROOT/sandboxes" 2>/dev/null)" ] || fail "sandbox dirs left: $(ls "$ROOT/sandboxes")"
    [ -z "$(ls -A "$ROOT/containers" 2>/dev/null)" ] || fail "container dirs left"
    [ -z "$(ls -A "$ROOT/cni-cache" 2>/dev/null)" ] || fail "cni cache entries left"
    [ -z "$(ls -A "$ROOT/crun" 2>/dev/null)" ] || fail "crun state left: $(ls "$ROOT/crun")"
    if pgrep -f "$ROOT" >/dev/null; then pgrep -af "$ROOT" >&2; fail "processes left"; fi
    return 0
}
