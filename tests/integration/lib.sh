# SPDX-License-Identifier: Apache-2.0
# Shared by the integration scripts (sourced): it_kubeconfig OUT SERVER_URL CA TOKEN writes an
# admin kubeconfig for kubectl against a test API server.
it_kubeconfig() {
    cat >"$1" <<KC
apiVersion: v1
kind: Config
clusters:
- name: it
  cluster:
    server: $2
    certificate-authority: $3
users:
- name: it
  user:
    token: $4
contexts:
- name: it
  context: {cluster: it, user: it}
current-context: it
KC
}
