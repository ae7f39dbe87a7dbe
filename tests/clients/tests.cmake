# SPDX-License-Identifier: Apache-2.0
# Client-library conformance suite (label "clients"): the real python3-kubernetes (Debian, run by
# /usr/bin/python3) and @kubernetes/client-node (npm, pinned in node/package-lock.json) against a
# fresh `ckube server`. Cases failing on a known ckube deviation print "KNOWN-FAIL <case>".
add_test(NAME clients/python
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/clients/python_client.py $<TARGET_FILE:ckube>)
add_test(NAME clients/node
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/clients/run_node.py $<TARGET_FILE:ckube>)
set_tests_properties(clients/python clients/node PROPERTIES LABELS clients TIMEOUT 300)
