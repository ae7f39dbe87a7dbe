# SPDX-License-Identifier: Apache-2.0
# Node agent end-to-end (label "node_e2e", issue 12 bars 1 and 3): real pods on crun + CNI from
# a local docker-registry. kubectl-1.27 / kubectl-1.33: `ckube server --agent --scheduler
# --controllers` driven by that kubectl; adopt: kill -9 of a separate `ckube agent` and its
# restart. Needs root (exit 77 = SKIP otherwise); RUN_SERIAL as they run real pods.
foreach(mode 1.27 1.33)
  add_test(NAME node_e2e/kubectl-${mode}
           COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/node_e2e/node_e2e.py $<TARGET_FILE:ckube> ${mode})
  set_tests_properties(node_e2e/kubectl-${mode} PROPERTIES LABELS node_e2e TIMEOUT 400
                       SKIP_RETURN_CODE 77 RUN_SERIAL TRUE)
endforeach()
add_test(NAME node_e2e/adopt
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/node_e2e/node_e2e.py $<TARGET_FILE:ckube> adopt)
set_tests_properties(node_e2e/adopt PROPERTIES LABELS node_e2e TIMEOUT 300 SKIP_RETURN_CODE 77
                     RUN_SERIAL TRUE)
# `ckube bench pods` itself, small: 20 pods on a real agent and 100 hollow nodes; it must
# finish, print its bench lines and clean up (bench_check.py looks for leftovers).
add_test(NAME node_e2e/bench_pods
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/node_e2e/bench_check.py $<TARGET_FILE:ckube>)
set_tests_properties(node_e2e/bench_pods PROPERTIES LABELS node_e2e TIMEOUT 240 SKIP_RETURN_CODE 77
                     RUN_SERIAL TRUE)
