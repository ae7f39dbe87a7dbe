#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `make bench`: every benchmark, one command. Each prints a human table and `bench`/`*-bench`
# machine lines.
set -euo pipefail
BIN=${1:-build/ckube}
"$BIN" store-bench
if "$BIN" help | grep -qE '^  bench '; then "$BIN" bench "${BENCH_ARGS[@]:-}"; fi
"$BIN" bench scheduler --nodes 5000 --pods 10000
# the node agent: pod start on a real agent (needs root: crun, CNI), hollow-node memory
if [ "$(id -u)" = 0 ]; then "$BIN" bench pods; else "$BIN" bench pods --no-pods; fi
# streaming through the API server: exec round trip, port-forward throughput (needs root)
if [ "$(id -u)" = 0 ]; then "$BIN" bench exec; fi
# the controller manager with the scheduler and 100 hollow nodes: a Deployment of 1,000 to Ready, a foreground delete of 10,000 pods
"$BIN" bench controllers || echo "bench controllers: failed (see above)"
# cluster DNS: 1,000 Services, A queries from 4 client threads over loopback UDP
"$BIN" bench dns || echo "bench dns: failed (see above)"
# priority and fairness: 100 full LISTs of 20,000 pods from one user vs a node's Lease renewals
"$BIN" bench apf || echo "bench apf: failed (see above)"
# the service proxy: 10,000 Services x 10 endpoints into nftables in a private netns (needs root)
if [ "$(id -u)" = 0 ]; then "$BIN" bench proxy || echo "bench proxy: failed (see above)"; fi
