#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Integration suite for src/image: starts two private registries on 127.0.0.1 (http and
# https), pushes the busybox test images (OCI, v2s2, a 2-layer image, an OCI index), then runs
# the cmocka program given as $1 against them. Prints "SKIP: ..." (exit 0) when the machine
# lacks the Debian packages or root.
set -u
IT_BIN="$1"
SRC="${CKUBE_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
# shellcheck source=../lib/registry.sh
source "$SRC/tests/lib/registry.sh"
registry_require || exit 0
if [ "$(id -u)" != 0 ]; then
    echo "SKIP: image integration tests need root (whiteout devices, overlay mounts)"
    exit 0
fi
WORK=$(mktemp -d /tmp/ckube-image-it.XXXXXX)
TLS_PID= AUTH_PID=
cleanup() {
    registry_stop
    [ -n "$AUTH_PID" ] && kill "$AUTH_PID" 2>/dev/null && wait "$AUTH_PID" 2>/dev/null
    [ -n "$TLS_PID" ] && kill "$TLS_PID" 2>/dev/null && wait "$TLS_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

registry_start "$WORK/tls" tls || exit 1
TLS_PID=$REGISTRY_PID REGISTRY_PID=
export IT_TLS_ADDR=$REGISTRY_ADDR IT_TLS_CA=$REGISTRY_CA
registry_push_busybox probe/busybox:tls || exit 1
mkdir -p "$WORK/reg" && cp -a "$WORK/tls/oci" "$WORK/tls/.built" "$WORK/reg/" # reuse the build

registry_start "$WORK/reg" || exit 1
export IT_REG=$REGISTRY_ADDR IT_REG_DIR=$REGISTRY_DIR IT_WORK=$WORK
registry_push_busybox probe/busybox:oci oci &&
    registry_push_busybox probe/busybox:v2s2 v2s2 &&
    registry_push_twolayer probe/two:1 oci &&
    registry_push_twolayer probe/two:v2s2 v2s2 &&
    registry_push_twolayer probe/victim:1 oci &&
    registry_push_index probe/multi:1 &&
    registry_push_index probe/dlist:1 v2s2 || exit 1
# a token-auth registry serving the same layout (python3 stdlib); skipped by the test if absent
if command -v python3 >/dev/null 2>&1; then
    python3 "$SRC/tests/image/fake_auth_registry.py" "$REGISTRY_DIR/oci" "$WORK/auth.port" &
    AUTH_PID=$!
    for _ in $(seq 1 50); do [ -s "$WORK/auth.port" ] && break; sleep 0.1; done
    [ -s "$WORK/auth.port" ] && export IT_AUTH_ADDR="127.0.0.1:$(cat "$WORK/auth.port")"
fi
export IT_BUSYBOX_DIGEST=$(registry_manifest_digest probe/busybox:oci)
export IT_MULTI_DIGEST=$(registry_manifest_digest probe/multi:1)
"$IT_BIN"
