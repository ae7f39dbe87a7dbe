# SPDX-License-Identifier: Apache-2.0
# Crash suite: programs that SIGKILL a writer mid-flight and check durability on restart.
add_executable(crash_store ${CMAKE_SOURCE_DIR}/tests/crash/crash_store.c)
target_link_libraries(crash_store PRIVATE ck_store)
add_test(NAME crash/store COMMAND crash_store --cycles 30)
set_tests_properties(crash/store PROPERTIES LABELS crash TIMEOUT 180)

# store-bench smoke run: short phases, and the machine-readable last line must be exact.
add_test(NAME crash/store-bench-smoke
         COMMAND $<TARGET_FILE:ckube> store-bench --seconds 0.2 --no-sync)
set_tests_properties(crash/store-bench-smoke PROPERTIES LABELS crash TIMEOUT 60
  PASS_REGULAR_EXPRESSION
  "\nstore-bench puts_per_s_1=[0-9]+ puts_per_s_8=[0-9]+ puts_per_s_64=[0-9]+ range_mb_per_s=[0-9]+\n$")
