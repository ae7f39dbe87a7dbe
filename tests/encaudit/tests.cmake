# SPDX-License-Identifier: Apache-2.0
# Encryption of Secrets at rest (aesgcm, secretbox, aescbc, identity, re-encryption, wrong key;
# the embedded store and etcd), the audit log (policy levels, objects, Audit-Id, rotation) and
# data-dir permissions, with a real `ckube server` and kubectl (label encaudit).
add_test(NAME encaudit/kubectl
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/encaudit/encaudit.py $<TARGET_FILE:ckube>)
set_tests_properties(encaudit/kubectl PROPERTIES LABELS encaudit TIMEOUT 240)
