# SPDX-License-Identifier: Apache-2.0
# Image store integration suite (label "image"): a real docker-registry on 127.0.0.1.
add_executable(image_it ${CMAKE_SOURCE_DIR}/tests/image/test_image_it.c)
target_link_libraries(image_it PRIVATE ck_image PkgConfig::CMOCKA)
add_test(NAME image/registry COMMAND bash ${CMAKE_SOURCE_DIR}/tests/image/run.sh $<TARGET_FILE:image_it>)
set_tests_properties(image/registry PROPERTIES LABELS image TIMEOUT 600 SKIP_REGULAR_EXPRESSION "SKIP:"
  ENVIRONMENT "CKUBE_SRC=${CMAKE_SOURCE_DIR}")
# The agent's image manager (needs root, crun, CNI, docker-registry; exit 77 = SKIP): a
# registries-file mirror, imagePullPolicy Always re-resolving a tag, the registry down.
add_test(NAME image/agent_pull
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/image/test_agent_images.sh $<TARGET_FILE:ckube> ${CMAKE_SOURCE_DIR})
set_tests_properties(image/agent_pull PROPERTIES LABELS image TIMEOUT 300 SKIP_RETURN_CODE 77
                     RUN_SERIAL TRUE)
