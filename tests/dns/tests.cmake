# SPDX-License-Identifier: Apache-2.0
# Cluster DNS (label "dns", issue 16). api: `ckube server` + `ckube dns` on a loopback port,
# Services / EndpointSlices from kubectl, queried over UDP and TCP (tests/dns/dnslib.py);
# bench: a short `ckube bench dns` must answer every query; pod_e2e: the agent's DNS and
# pods' resolv.conf on real pods (root, crun, CNI, registry tools; exit 77 = SKIP).
add_test(NAME dns/api
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/dns/dns_api.py $<TARGET_FILE:ckube>)
set_tests_properties(dns/api PROPERTIES LABELS dns TIMEOUT 180)
add_test(NAME dns/bench
         COMMAND $<TARGET_FILE:ckube> bench dns --services 100 --threads 2 --seconds 1)
set_tests_properties(dns/bench PROPERTIES LABELS dns TIMEOUT 120) # exit 0: all answered right
add_test(NAME dns/pod_e2e
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/dns/dns_pod_e2e.py $<TARGET_FILE:ckube>)
set_tests_properties(dns/pod_e2e PROPERTIES LABELS dns TIMEOUT 300 SKIP_RETURN_CODE 77
                     RUN_SERIAL TRUE)
