# SPDX-License-Identifier: Apache-2.0
# Observability (label observability, issue 20): Debian's prometheus scrapes `ckube server
# --agent-hollow 1 --scheduler` and a standalone agent; upstream's PromQL queries answer for the
# test's load; `promtool check metrics` is clean on every component; health endpoints follow
# upstream (named checks, ?verbose, ?exclude=, /readyz/<check>, etcd down -> readyz 500).
add_test(NAME observability/prometheus
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/observability/observability.py
                 $<TARGET_FILE:ckube>)
set_tests_properties(observability/prometheus PROPERTIES LABELS observability TIMEOUT 120)
