# SPDX-License-Identifier: Apache-2.0
# nodevol suite (label "nodevol"): the node agent's volumes and env, static pods with mirror
# pods, and node-pressure eviction, each against a fresh `ckube server` and a real
# `ckube agent` on crun + CNI with a local docker-registry (needs root; exit 77 = SKIP).
foreach(t volumes static evict gc)
  add_test(NAME nodevol/${t}
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/nodevol/test_${t}.sh $<TARGET_FILE:ckube>
                   ${CMAKE_SOURCE_DIR})
  set_tests_properties(nodevol/${t} PROPERTIES LABELS nodevol TIMEOUT 180
                       SKIP_RETURN_CODE 77 RUN_SERIAL TRUE)
endforeach()
