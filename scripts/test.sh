#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every test: unit tests under ASan+UBSan (clang build), everything else (every
# tests/<suite>/tests.cmake: crash, e2e, etcd, image, integration, layout, robustness, runtime,
# scale) against the release build. Prints one summary line at the end.
set -uo pipefail
BUILD=${1:-build}
ASAN_BUILD=${2:-build-asan}
JOBS=$(nproc)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

summary() { # ctest log -> "passed failed"
  local line; line=$(grep -E 'tests passed, [0-9]+ tests failed out of' "$1" | tail -1)
  if [ -z "$line" ]; then echo "0 0"; return; fi
  local failed total
  failed=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$line")
  total=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/' <<<"$line")
  echo "$((total - failed)) $failed"
}

rc=0
echo "== unit tests (ASan+UBSan) =="
(cd "$ASAN_BUILD" && ctest -L unit -j "$JOBS" --output-on-failure) 2>&1 | tee /tmp/ckube-unit.log
[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
echo "== every other suite: layout, crash, integration, e2e, runtime, ... (release build) =="
(cd "$BUILD" && ctest -LE unit --output-on-failure) 2>&1 | tee /tmp/ckube-other.log
[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1

read -r p1 f1 < <(summary /tmp/ckube-unit.log)
read -r p2 f2 < <(summary /tmp/ckube-other.log)
echo "tests: $((p1 + p2)) passed, $((f1 + f2)) failed"
exit $rc
