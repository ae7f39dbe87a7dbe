# SPDX-License-Identifier: Apache-2.0
# API groups suite (label "e2e"): a fresh `ckube server` driven by kubectl 1.27 and 1.33 through
# the newer groups and versions (autoscaling/v1, certificates, admissionregistration, node,
# storage CSI, flowcontrol v1/v1beta3, events.k8s.io sharing core events, componentstatuses,
# authentication v1beta1).
add_test(NAME groups/kubectl
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/groups/groups_e2e.py $<TARGET_FILE:ckube>)
set_tests_properties(groups/kubectl PROPERTIES LABELS e2e TIMEOUT 300)
