# SPDX-License-Identifier: Apache-2.0
ck_component(proxy DEPS ck_client ck_k8s ck_lib PkgConfig::NFTABLES PkgConfig::NFTNL PkgConfig::MNL PkgConfig::JANSSON)
