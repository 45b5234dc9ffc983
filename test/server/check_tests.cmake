# Tests of the offline `check` command: unit tests of server/yaml_document and end-to-end runs
# of the real binary on test/fixtures/examples and test/fixtures/check.
add_executable(yaml_document_test ${CMAKE_CURRENT_SOURCE_DIR}/yaml_document_test.cpp)
target_link_libraries(yaml_document_test PRIVATE dsw_server doctest::doctest)
dsw_target(yaml_document_test)
add_test(NAME check.yaml_document COMMAND yaml_document_test)

add_test(NAME check.cli
  COMMAND ${DSW_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/check_cli_test.py ${DSW_BINARY}
          ${PROJECT_SOURCE_DIR}/test/fixtures)
set_tests_properties(check.yaml_document check.cli PROPERTIES LABELS "cli" TIMEOUT 120)
