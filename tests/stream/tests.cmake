# SPDX-License-Identifier: Apache-2.0
# Streaming suite (label "stream"): the agent's SPDY streaming server driven by an independent
# Python SPDY/3.1 client (zlib with the SPDY/3 dictionary) through a host with a local runtime.
add_executable(stream_host ${CMAKE_SOURCE_DIR}/tests/stream/stream_host.c)
target_link_libraries(stream_host PRIVATE ck_agent ck_stream)
add_test(NAME stream/agent_spdy
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/stream/test_agent_spdy.py $<TARGET_FILE:stream_host>
                 ${CMAKE_SOURCE_DIR})
set_tests_properties(stream/agent_spdy PROPERTIES LABELS stream TIMEOUT 120)
