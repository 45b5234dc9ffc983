# Unit tests of server/http_request: the HTTP/1.1 request-head parser of the event-loop server
# (where a head ends, strict parsing against request smuggling, response heads).
add_executable(http_request_test ${CMAKE_CURRENT_SOURCE_DIR}/http_request_test.cpp)
target_link_libraries(http_request_test PRIVATE dsw_server doctest::doctest)
dsw_target(http_request_test)
add_test(NAME http_request COMMAND http_request_test)
set_tests_properties(http_request PROPERTIES LABELS "unit" TIMEOUT 60)
