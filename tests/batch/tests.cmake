# SPDX-License-Identifier: Apache-2.0
# Batch suite (label "batch"): `ckube server --agent-hollow 2 --scheduler --controllers`, driven
# by kubectl 1.27 and 1.33: Jobs (parallelism, backoff, podFailurePolicy, deadline, Indexed,
# suspend), TTL-after-finished and a CronJob's scheduled run.
add_test(NAME batch/kubectl
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/batch/batch_test.py $<TARGET_FILE:ckube>)
set_tests_properties(batch/kubectl PROPERTIES LABELS batch TIMEOUT 240)
