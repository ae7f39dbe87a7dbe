# SPDX-License-Identifier: Apache-2.0
# Runtime suite (label "runtime"): real crun containers, CNI, a local registry. Needs root;
# scripts exit 77 (SKIP) when the machine lacks namespaces or the Debian tools.
foreach(t pod_lifecycle bench bad_input import import_docker)
  add_test(NAME runtime/${t}
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/runtime/test_${t}.sh $<TARGET_FILE:ckube> ${CMAKE_SOURCE_DIR})
  set_tests_properties(runtime/${t} PROPERTIES LABELS runtime TIMEOUT 300 SKIP_RETURN_CODE 77
                       RUN_SERIAL TRUE)
endforeach()
