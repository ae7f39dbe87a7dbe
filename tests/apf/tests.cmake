# SPDX-License-Identifier: Apache-2.0
# Priority and fairness and the transport's hardening (label "apf"): a port in use, the
# insecure port's loopback rule, the serving certificate's SANs, reissue and rotation, the
# bootstrap FlowSchemas with their response headers and metrics, upstream's 429 from a full
# queue, and an HTTP/2 rapid-reset flood against RSS and another client's latency.
foreach(t ports cert apf rapid_reset)
  add_test(NAME apf/${t}
           COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/apf/apf_test.py $<TARGET_FILE:ckube> ${t})
  set_tests_properties(apf/${t} PROPERTIES LABELS apf TIMEOUT 240)
endforeach()
