#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs every Debian package that ckube's build, tests, fuzzers and node runtime need.
# Idempotent: runs apt-get only when something is missing.
set -euo pipefail

PKGS=(
  # build
  build-essential cmake pkg-config clang llvm libclang-rt-14-dev git
  # libraries
  liblmdb-dev lmdb-utils libjansson-dev libyaml-dev libssl-dev zlib1g-dev
  libh2o-evloop-dev libwslay-dev libuv1-dev
  libcurl4-openssl-dev libarchive-dev
  libcmocka-dev
  # test peers: the real parts
  python3 curl jq procps psmisc
  crun busybox-static containernetworking-plugins docker-registry skopeo umoci
  iproute2 nftables iptables etcd-server etcd-client
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

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
