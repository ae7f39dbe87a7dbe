# SPDX-License-Identifier: Apache-2.0
# The nftables service proxy end-to-end (label "proxy", issue 16 bar 1): ClusterIP to both
# backends from a pod, NodePort from the host, readiness, reject of unallocated VIPs, the table
# restored after the Service's deletion. Needs root (exit 77 = SKIP otherwise); RUN_SERIAL as it
# runs real pods.
add_test(NAME proxy/e2e COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/proxy/proxy_e2e.py $<TARGET_FILE:ckube>)
set_tests_properties(proxy/e2e PROPERTIES LABELS proxy TIMEOUT 300 SKIP_RETURN_CODE 77 RUN_SERIAL TRUE)
# `ckube proxy` alone against `ckube server`: its table, /healthz, /metrics, cleanup (root).
add_test(NAME proxy/standalone COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/proxy/standalone.py $<TARGET_FILE:ckube>)
set_tests_properties(proxy/standalone PROPERTIES LABELS proxy TIMEOUT 120 SKIP_RETURN_CODE 77)
