# SPDX-License-Identifier: Apache-2.0
# Service-account tokens end to end (label "satoken"): `kubectl create token` (1.27, 1.33)
# against `ckube server --controllers`, the tokens used over HTTPS, their invalidation,
# TokenReview, the OIDC documents, the static token file and kube-root-ca.crt.
add_test(NAME satoken/kubectl
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/satoken/test_satoken.py $<TARGET_FILE:ckube>)
set_tests_properties(satoken/kubectl PROPERTIES LABELS satoken TIMEOUT 240)
# A real pod's projected token (root, crun, CNI, a local registry; 77 = SKIP otherwise).
add_test(NAME satoken/pod_token
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/satoken/pod_token.py $<TARGET_FILE:ckube>)
set_tests_properties(satoken/pod_token PROPERTIES LABELS satoken TIMEOUT 300
                     SKIP_RETURN_CODE 77 RUN_SERIAL TRUE)
