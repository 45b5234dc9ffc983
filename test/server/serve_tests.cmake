# Integration tests of `serve`: the real binary over TLS on 127.0.0.1 (test/server/serve_test.py).
# One CTest entry per area so that they run in parallel and fail separately. Bounded: each group
# finishes in well under its TIMEOUT; the latency checks run alone (RUN_SERIAL).
foreach(group http tls startup rotation shutdown concurrency)
  add_test(NAME serve_${group}
           COMMAND ${DSW_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/serve_test.py ${DSW_BINARY} ${group})
  set_tests_properties(serve_${group} PROPERTIES LABELS "integration" TIMEOUT 120)
endforeach()
set_tests_properties(serve_concurrency PROPERTIES RUN_SERIAL TRUE)

# Pure pieces of the server (log rendering, metrics exposition).
add_executable(serve_units_test serve_units_test.cpp)
target_link_libraries(serve_units_test PRIVATE dsw_server doctest::doctest)
dsw_target(serve_units_test)
add_test(NAME serve_units COMMAND serve_units_test)
set_tests_properties(serve_units PROPERTIES LABELS "unit" TIMEOUT 60)
