#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `make run`: starts a single-node ckube cluster in the foreground on ./.ckube (Ctrl-C stops it):
# the API server, the node agent (node name = hostname), the scheduler and the controller manager.
# The server prints `export KUBECONFIG=...`; run that line in another shell to use kubectl.
set -euo pipefail
BIN=${1:-build/ckube}
shift || true
exec "$BIN" server --data-dir ./.ckube --agent --scheduler --controllers "$@"
