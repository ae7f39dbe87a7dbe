#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every libFuzzer target in the fuzz build for N seconds each, with its seed corpus
# (fuzz/corpus/<target>/) copied to a scratch dir so runs never write into the tree.
set -euo pipefail
FUZZ_BUILD=${1:-build-fuzz}
SECONDS_EACH=${2:-60}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
fail=0
for bin in "$FUZZ_BUILD"/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  work=$(mktemp -d)
  [ -d "$ROOT/fuzz/corpus/$name" ] && cp -r "$ROOT/fuzz/corpus/$name/." "$work/"
  echo "== $name (${SECONDS_EACH}s) =="
  dict=()
  [ -f "$ROOT/fuzz/$name.dict" ] && dict=(-dict="$ROOT/fuzz/$name.dict")
  if ! "$bin" "$work" "${dict[@]}" -max_total_time="$SECONDS_EACH" -max_len=65536 \
       -print_final_stats=1 -artifact_prefix="$FUZZ_BUILD/$name-" 2>"$FUZZ_BUILD/$name.log"; then
    echo "FINDING in $name: see $FUZZ_BUILD/$name.log"; tail -40 "$FUZZ_BUILD/$name.log"; fail=1
  else
    grep -E 'stat::number_of_executed_units|stat::new_units_added' "$FUZZ_BUILD/$name.log" | tr '\n' ' '; echo
  fi
  rm -rf "$work"
done
exit $fail
