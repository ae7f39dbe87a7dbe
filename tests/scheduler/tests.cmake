# SPDX-License-Identifier: Apache-2.0
# Scheduler suite (label "scheduler"): a fresh `ckube server` (API only), Node objects created by
# the test, and `ckube scheduler` against it.
add_test(NAME scheduler/e2e
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/scheduler/sched_e2e.py $<TARGET_FILE:ckube>)
set_tests_properties(scheduler/e2e PROPERTIES LABELS scheduler TIMEOUT 120)
add_test(NAME scheduler/bench-external
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/scheduler/sched_bench_external.py
                 $<TARGET_FILE:ckube>)
set_tests_properties(scheduler/bench-external PROPERTIES LABELS scheduler TIMEOUT 200)
