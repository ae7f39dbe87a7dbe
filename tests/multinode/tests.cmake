# SPDX-License-Identifier: Apache-2.0
# Multi-node end-to-end (label "multinode", issue 16 bar 2): three `ckube agent`s, each in its
# own network namespace on a test bridge, against one `ckube server`; node IPAM podCIDRs,
# host-gw routes, pod-to-pod traffic across nodes, a killed agent's pods evicted and
# recreated elsewhere. Needs root, crun, CNI plugins and the registry tools (77 = SKIP).
add_test(NAME multinode/three_nodes
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/multinode/multinode.py $<TARGET_FILE:ckube>)
set_tests_properties(multinode/three_nodes PROPERTIES LABELS multinode TIMEOUT 300
                     SKIP_RETURN_CODE 77 RUN_SERIAL TRUE)
# The join alone (bootstrap token, CSR, certificate files, renewal of a 40 s certificate,
# restart reuse, refused pins and tokens): one agent on the host, no pods.
add_test(NAME multinode/join
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/multinode/join.py $<TARGET_FILE:ckube>)
set_tests_properties(multinode/join PROPERTIES LABELS multinode TIMEOUT 200 SKIP_RETURN_CODE 77
                     RUN_SERIAL TRUE)
