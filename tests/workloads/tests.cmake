# SPDX-License-Identifier: Apache-2.0
# Workloads suite (label "workloads"): StatefulSets and DaemonSets through `ckube
# controller-manager` on `ckube server --agent-hollow 3 --scheduler`, driven by kubectl 1.27 and
# 1.33 (ordered creation, PVCs, rolling updates with partition, history/undo, scale down; one
# daemon pod per eligible node, taints, rolling update).
add_test(NAME workloads/kubectl
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/workloads/workloads_test.py $<TARGET_FILE:ckube>)
set_tests_properties(workloads/kubectl PROPERTIES LABELS workloads TIMEOUT 300)
