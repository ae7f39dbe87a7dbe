# SPDX-License-Identifier: Apache-2.0
# HTTP front-end fixes (label "httpfix"): immediate 413 on HTTP/2, Impersonate-* headers and
# the pods/services/nodes proxy subresources, driven by curl, raw HTTP and kubectl 1.27/1.33.
add_test(NAME httpfix/frontend
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/httpfix/httpfix.py $<TARGET_FILE:ckube>)
set_tests_properties(httpfix/frontend PROPERTIES LABELS httpfix TIMEOUT 300)
