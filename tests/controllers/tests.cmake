# SPDX-License-Identifier: Apache-2.0
# Controller suite (label "controllers"): a fresh `ckube server` (API server only) plus
# `ckube controller-manager`, driven by kubectl 1.27 and 1.33. No kubelet: the test patches
# pods/status to Running+Ready as a fake kubelet would.
add_test(NAME controllers/kubectl
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/controllers/controllers_test.py $<TARGET_FILE:ckube>)
set_tests_properties(controllers/kubectl PROPERTIES LABELS controllers TIMEOUT 480)
# svcapi: the EndpointSlice mirroring controller (Endpoints of selector-less Services).
add_test(NAME controllers/mirror
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/controllers/mirror_test.py $<TARGET_FILE:ckube>)
set_tests_properties(controllers/mirror PROPERTIES LABELS controllers TIMEOUT 240)
