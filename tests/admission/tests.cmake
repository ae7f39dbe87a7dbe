# SPDX-License-Identifier: Apache-2.0
# Admission suite (label "admission"): PodSecurity, real HTTPS webhooks (validating, mutating,
# failurePolicy), ResourceQuota, LimitRanger, ServiceAccount and NamespaceLifecycle through
# kubectl against a fresh `ckube server`.
add_test(NAME admission/kubectl
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/admission/admission_test.py $<TARGET_FILE:ckube>)
set_tests_properties(admission/kubectl PROPERTIES LABELS admission TIMEOUT 240)
