# SPDX-License-Identifier: Apache-2.0
# kubectl e2e suite (label "e2e"): a fresh `ckube server` driven by the real kubectl 1.27 and
# 1.33. Cases that do not pass yet are listed in SKIP inside kubectl_e2e.py and print "SKIP".
add_test(NAME e2e/kubectl
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/e2e/kubectl_e2e.py $<TARGET_FILE:ckube>)
set_tests_properties(e2e/kubectl PROPERTIES LABELS e2e TIMEOUT 900)
