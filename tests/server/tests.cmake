# SPDX-License-Identifier: Apache-2.0
# `ckube server` with its components (label "server"): hollow agent + scheduler run pods that
# kubectl creates, and every component ends with the server.
add_test(NAME server/components
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/server/components.py $<TARGET_FILE:ckube>)
set_tests_properties(server/components PROPERTIES LABELS server TIMEOUT 180)
