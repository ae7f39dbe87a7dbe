# SPDX-License-Identifier: Apache-2.0
# Scale suite (label "scale"): resource bars measured against a real `ckube apiserver`.
# scale/idle_watchers: 1,000 idle watches per transport (HTTP/1.1, TLS+HTTP/2 multiplexed,
# TLS+HTTP/1.1, TLS+HTTP/2 one connection each) must cost the server < 64 KiB of VmRSS each,
# on first open and after two reconnects; scale_watch_clients holds the streams (libcurl
# multi). Build it with ckube: --target ckube scale_watch_clients.
add_executable(scale_watch_clients ${CMAKE_SOURCE_DIR}/tests/scale/watch_clients.c)
target_link_libraries(scale_watch_clients PRIVATE PkgConfig::CURL)
add_test(NAME scale/idle_watchers
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/scale/idle_watchers.py
                 $<TARGET_FILE:ckube> $<TARGET_FILE:scale_watch_clients>)
set_tests_properties(scale/idle_watchers PROPERTIES LABELS scale TIMEOUT 300)
