# SPDX-License-Identifier: Apache-2.0
# Hostile-client robustness suite (label "robustness"): a fresh `ckube apiserver` per scenario
# group, attacked over loopback. CKUBE_ROBUST_SCALE scales the floods (1 = full numbers).
# Scenarios failing today are in KNOWN_FAILURES inside robust.py and print "KNOWN FAILURE".
add_test(NAME robustness/apiserver
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/robustness/robust.py $<TARGET_FILE:ckube>)
set_tests_properties(robustness/apiserver PROPERTIES LABELS robustness TIMEOUT 180
                     ENVIRONMENT "CKUBE_ROBUST_SCALE=0.5")
