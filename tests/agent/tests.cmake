# SPDX-License-Identifier: Apache-2.0
# Agent suite (label "agent"): `ckube agent` against a fresh `ckube server`.
# hollow: N hollow nodes (no root needed). crun_pod: a real busybox pod on crun + CNI from a
# local docker-registry (needs root; exit 77 = SKIP when the machine lacks the tools).
add_test(NAME agent/hollow
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/agent/hollow.py $<TARGET_FILE:ckube>)
set_tests_properties(agent/hollow PROPERTIES LABELS agent TIMEOUT 120)
add_test(NAME agent/crun_pod
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/agent/test_crun_pod.sh $<TARGET_FILE:ckube> ${CMAKE_SOURCE_DIR})
set_tests_properties(agent/crun_pod PROPERTIES LABELS agent TIMEOUT 120 SKIP_RETURN_CODE 77
                     RUN_SERIAL TRUE)
add_test(NAME agent/hollow_scale
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/agent/hollow_scale.py $<TARGET_FILE:ckube> 1000)
set_tests_properties(agent/hollow_scale PROPERTIES LABELS agent TIMEOUT 120 RUN_SERIAL TRUE)
# lifecycle (engineer life): probes, postStart/preStop hooks and sidecars on crun (needs root).
add_test(NAME agent/lifecycle
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/agent/lifecycle.py $<TARGET_FILE:ckube> ${CMAKE_SOURCE_DIR})
set_tests_properties(agent/lifecycle PROPERTIES LABELS agent TIMEOUT 240 SKIP_RETURN_CODE 77
                     RUN_SERIAL TRUE)
