# Client library integration tests against a real `ckube apiserver` (label: integration).
add_executable(it_informer_converge ${CMAKE_SOURCE_DIR}/tests/integration/informer_converge.c)
target_link_libraries(it_informer_converge PRIVATE ck_client)
add_test(NAME integration/client
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/integration/client.sh
                 $<TARGET_FILE:ckube> $<TARGET_FILE:it_informer_converge>)
set_tests_properties(integration/client PROPERTIES LABELS integration TIMEOUT 300)
add_test(NAME integration/top_lists
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/integration/top_lists.sh $<TARGET_FILE:ckube>)
set_tests_properties(integration/top_lists PROPERTIES LABELS integration TIMEOUT 120)
add_test(NAME integration/list_transports
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/integration/list_transports.sh $<TARGET_FILE:ckube>)
set_tests_properties(integration/list_transports PROPERTIES LABELS integration TIMEOUT 600)
