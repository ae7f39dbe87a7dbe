# SPDX-License-Identifier: Apache-2.0
# Server-side apply suite (label "apply"): a fresh `ckube server` driven by the real kubectl
# 1.27 and 1.33 (kubectl apply --server-side, field managers, conflicts, the upgrade from
# client-side apply, managedFields as upstream shapes them).
add_test(NAME apply/kubectl
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/apply/apply_e2e.py $<TARGET_FILE:ckube>)
set_tests_properties(apply/kubectl PROPERTIES LABELS apply TIMEOUT 300)
