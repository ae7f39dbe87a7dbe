#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs every Debian package that ckube's build, tests, fuzzers and node runtime need, then
# the npm packages of the client conformance suite (tests/clients/node, `npm ci`).
# Idempotent: runs apt-get only when something is missing, npm only when node_modules is stale.
set -euo pipefail

PKGS=(
  # build
  build-essential cmake pkg-config clang llvm libclang-rt-14-dev git
  # libraries
  liblmdb-dev lmdb-utils libjansson-dev libyaml-dev libssl-dev zlib1g-dev
  libdeflate-dev               # src/store: hardware-accelerated CRC-32 of log records
  libh2o-evloop-dev libwslay-dev libuv1-dev
  libcurl4-openssl-dev libarchive-dev
  libcmocka-dev
  libnftables-dev libnftnl-dev libmnl-dev libldns-dev  # service proxy (nftables), cluster DNS
  libjwt-dev libcjose-dev      # service-account tokens (JWT/JOSE)
  libsodium-dev                # secretbox encryption of Secrets at rest
  # test peers: the real parts
  python3 curl jq procps psmisc openssl
  # client conformance suite (tests/clients): the real client libraries
  python3-kubernetes
  crun busybox-static containernetworking-plugins docker-registry skopeo umoci
  prometheus  # tests/observability: a real Prometheus scraping ckube, and promtool
  iproute2 nftables iptables etcd-server etcd-client
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# npm for tests/clients/node: Debian's nodejs/npm only when no node toolchain is installed
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)

# tests/clients/node: the pinned @kubernetes/client-node (package-lock.json), reinstalled when
# the lock file is newer than node_modules.
npm_ci() {
  local dir
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/clients/node"
  [ -f "$dir/package-lock.json" ] || return 0
  if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
     [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "deps.sh: npm ci in $dir" >&2
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
}

if [ ${#missing[@]} -eq 0 ]; then
  npm_ci
  exit 0
fi

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
# policy-rc.d: packages such as docker-registry and etcd-server must not start their services.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
npm_ci
