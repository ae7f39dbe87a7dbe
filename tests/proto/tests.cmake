# SPDX-License-Identifier: Apache-2.0
# Protobuf suite (label "proto"): kubectl 1.32 and 1.33 typed creates that send
# application/vnd.kubernetes.protobuf bodies (create role/rolebinding/clusterrole/
# clusterrolebinding/priorityclass/ingress, auth can-i --list, auth reconcile, autoscale), and
# raw GET / LIST / WATCH answered in protobuf, decoded by a small reader in the test.
add_test(NAME proto/kubectl
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/proto/proto_kubectl.py $<TARGET_FILE:ckube>)
set_tests_properties(proto/kubectl PROPERTIES LABELS proto TIMEOUT 300)
