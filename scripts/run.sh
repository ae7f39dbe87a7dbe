#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `make run`: for now prints the version (the API server issue makes it start the cluster).
set -euo pipefail
BIN=${1:-build/ckube}
"$BIN" version
