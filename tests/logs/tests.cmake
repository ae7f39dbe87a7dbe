# SPDX-License-Identifier: Apache-2.0
# Logs suite (label "logs"): the agent's kubelet server (HTTPS, authn, /containerLogs, /pods,
# /stats/summary, /metrics/resource) and the API server's pods/log through it, driven by real
# kubectl 1.27 and 1.33 against `ckube apiserver` + `ckube agent` on crun with a local
# docker-registry (needs root; exit 77 = SKIP when the machine lacks the tools).
add_test(NAME logs/kubectl_logs
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/logs/test_logs.sh $<TARGET_FILE:ckube> ${CMAKE_SOURCE_DIR})
set_tests_properties(logs/kubectl_logs PROPERTIES LABELS logs TIMEOUT 180 SKIP_RETURN_CODE 77
                     RUN_SERIAL TRUE)
add_test(NAME logs/hollow_kubelet
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/logs/test_hollow_logs.sh $<TARGET_FILE:ckube>)
set_tests_properties(logs/hollow_kubelet PROPERTIES LABELS logs TIMEOUT 60 SKIP_RETURN_CODE 77)
# the streaming routes over the kubelet server's TLS front (the stream suite's SPDY client)
add_executable(kubelet_tls_host ${CMAKE_SOURCE_DIR}/tests/logs/kubelet_tls_host.c)
target_link_libraries(kubelet_tls_host PRIVATE ck_agent ck_stream)
add_test(NAME logs/spdy_over_tls
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/logs/test_tls_stream.py
                 $<TARGET_FILE:kubelet_tls_host> ${CMAKE_SOURCE_DIR})
set_tests_properties(logs/spdy_over_tls PROPERTIES LABELS logs TIMEOUT 120)
