# SPDX-License-Identifier: Apache-2.0
# Authorization (label "authz"): a `kubectl auth can-i` matrix over admin, view and edit users,
# a service account, a node and anonymous against upstream's bootstrap policy, the Node
# authorizer's graph, SubjectAccessReview, rules reviews, impersonation and anonymous access,
# with kubectl 1.27 and 1.33 and curl.
foreach(v 1.27 1.33)
  add_test(NAME authz/kubectl-${v}
           COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/authz/test_authz.py $<TARGET_FILE:ckube> ${v})
  set_tests_properties(authz/kubectl-${v} PROPERTIES LABELS authz TIMEOUT 300)
endforeach()
