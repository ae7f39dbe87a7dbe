#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Bar 2: `ckube crt bench` from a pulled image prints "bench crt_start_ms <v> ms" last and
# cleans up after itself. The goal (< 100 ms on 2 cores) is reported, not enforced, since
# the machine is shared; a sanity ceiling of 2 s catches real regressions.
set -u
. "$(dirname "$0")/lib.sh"
rt_init "$@"
trap rt_cleanup EXIT
registry_start "$T/reg" || exit 1
registry_push_busybox bench/busybox:1 || fail "push"
crt pull --insecure "$REGISTRY_ADDR/bench/busybox:1" >/dev/null || fail "pull"
out=$(crt bench --image "$REGISTRY_ADDR/bench/busybox:1" -n ${BENCH_N:-15}) || fail "bench: $out"
echo "$out"
last=$(echo "$out" | tail -1)
echo "$last" | grep -qE '^bench crt_start_ms [0-9]+(\.[0-9]+)? ms$' || fail "bad last line '$last'"
v=$(echo "$last" | awk '{print $3}')
awk -v v="$v" 'BEGIN{exit !(v > 0 && v < 2000)}' || fail "median $v ms out of range"
[ -z "$(ls -A "$ROOT/containers")" ] || fail "bench left containers"
[ -z "$(ls -A "$ROOT/sandboxes")" ] || fail "bench left sandboxes"
echo "PASS: bench ($v ms median)"
