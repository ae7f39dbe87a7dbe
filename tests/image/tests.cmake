# SPDX-License-Identifier: Apache-2.0
# Image store integration suite (label "image"): a real docker-registry on 127.0.0.1.
add_executable(image_it ${CMAKE_SOURCE_DIR}/tests/image/test_image_it.c)
target_link_libraries(image_it PRIVATE ck_image PkgConfig::CMOCKA)
add_test(NAME image/registry COMMAND bash ${CMAKE_SOURCE_DIR}/tests/image/run.sh $<TARGET_FILE:image_it>)
set_tests_properties(image/registry PROPERTIES LABELS image TIMEOUT 600 SKIP_REGULAR_EXPRESSION "SKIP:"
  ENVIRONMENT "CKUBE_SRC=${CMAKE_SOURCE_DIR}")
