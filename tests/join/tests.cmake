# SPDX-License-Identifier: Apache-2.0
# Node join, API side (label "join"): bootstrap tokens, x509 client certificates, the
# authorization stopgap, CSR approval and signing by `ckube server --controllers`, the join
# command and `ckube token create`.
add_test(NAME join/api
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/join/join_api.py $<TARGET_FILE:ckube>)
set_tests_properties(join/api PROPERTIES LABELS join TIMEOUT 180)
