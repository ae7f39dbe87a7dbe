# SPDX-License-Identifier: Apache-2.0
# Service allocation and default/kubernetes (label "svcapi"): --service-cluster-ip-range and
# --service-node-port-range with upstream's errors, kubectl 1.27 and 1.33 against `ckube
# server`, and the kubernetes Endpoints of two API servers on one etcd.
add_test(NAME svcapi/kubectl
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/svcapi/svcapi_test.py $<TARGET_FILE:ckube>)
set_tests_properties(svcapi/kubectl PROPERTIES LABELS svcapi TIMEOUT 240)
