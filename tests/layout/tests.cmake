# SPDX-License-Identifier: Apache-2.0
# Source layout check (label "layout", so it runs in the release-build pass of scripts/test.sh):
# no include cycle between src/ folders or between sub-folders of a component, no .c/.h over
# 1000 lines unless marked ckube:generated-data, src/apiserver split into documented
# sub-folders. The self-test first proves each rule fires on a fake tree.
add_test(NAME layout/check
         COMMAND python3 ${CMAKE_SOURCE_DIR}/scripts/check_layout.py --with-self-test
                 --root ${CMAKE_SOURCE_DIR})
set_tests_properties(layout/check PROPERTIES LABELS layout TIMEOUT 60)
