# SPDX-License-Identifier: Apache-2.0
# The etcd suite (label etcd): the etcd store backend's cmocka tests (tests/unit/store/
# test_etcd_*.c, each starts its own etcd) also carry the etcd label, plus a self-test of the
# helper script that runs a throwaway etcd.
foreach(t test_etcd_ops test_etcd_watch test_etcd_tls)
  if(TEST unit/store/${t})
    set_tests_properties(unit/store/${t} PROPERTIES LABELS "unit;etcd" TIMEOUT 60)
  endif()
endforeach()
add_test(NAME etcd/helper COMMAND ${CMAKE_SOURCE_DIR}/tests/etcd/etcd-run.sh check)
set_tests_properties(etcd/helper PROPERTIES LABELS etcd TIMEOUT 30)
# `ckube apiserver --etcd-servers` end to end with real etcd and kubectl: two API servers on one
# etcd, prefix isolation, the watch-history gap (relist + 410 Expired), etcd outages.
add_test(NAME etcd/apiserver
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/etcd/apiserver_etcd.py $<TARGET_FILE:ckube>)
set_tests_properties(etcd/apiserver PROPERTIES LABELS etcd TIMEOUT 240)
