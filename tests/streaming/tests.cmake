# SPDX-License-Identifier: Apache-2.0
# Streaming through the API server (label "streaming"): kubectl 1.27, 1.29, 1.30, 1.31, 1.33
# exec / attach / run -i / cp / port-forward over WebSocket and SPDY against `ckube server` and
# `ckube agent` on crun + CNI (needs root and a local docker-registry; exit 77 = SKIP).
add_test(NAME streaming/kubectl
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/streaming/test_streaming.sh $<TARGET_FILE:ckube>
                 ${CMAKE_SOURCE_DIR})
set_tests_properties(streaming/kubectl PROPERTIES LABELS streaming TIMEOUT 600
                     SKIP_RETURN_CODE 77 RUN_SERIAL TRUE)
# No root needed: the API server in front of tests/stream's host (a local runtime) as a node.
add_test(NAME streaming/apiserver_host
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/streaming/test_apiserver_host.py
                 $<TARGET_FILE:ckube> $<TARGET_FILE:stream_host>)
set_tests_properties(streaming/apiserver_host PROPERTIES LABELS streaming TIMEOUT 180)
