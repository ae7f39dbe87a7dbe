# SPDX-License-Identifier: Apache-2.0
# Garbage collector suite (label "gc"): `ckube server --controllers` (API server plus the
# controller manager), driven by kubectl 1.27 and 1.33: dependents of kinds outside the
# workload set (ConfigMap, Secret, Role) follow a Deployment in background, lose their
# reference under --cascade=orphan, a ConfigMap owned by a ConfigMap goes with it (background
# and foreground), dangling owners, and owners of a kind discovery does not know.
add_test(NAME gc/discovery
         COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/gc/gc_test.py $<TARGET_FILE:ckube>)
set_tests_properties(gc/discovery PROPERTIES LABELS "gc;controllers" TIMEOUT 240)
