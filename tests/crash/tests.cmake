# SPDX-License-Identifier: Apache-2.0
# Crash suite: programs that SIGKILL a writer mid-flight and check durability on restart.
add_executable(crash_store ${CMAKE_SOURCE_DIR}/tests/crash/crash_store.c)
target_link_libraries(crash_store PRIVATE ck_store)
add_test(NAME crash/store COMMAND crash_store --cycles 30)
set_tests_properties(crash/store PROPERTIES LABELS crash TIMEOUT 180)
