# Hostile input, availability and soak tests of `serve` (test/server/hostile_test.py,
# test/server/soak_test.py): the real binary over TLS on 127.0.0.1, bounded in time and count.
# Groups that measure latency or start-up time run alone (RUN_SERIAL) so parallel CTest jobs do
# not skew them.
foreach(group bodies headers connections startup)
  add_test(NAME hostile_${group}
           COMMAND ${DSW_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/hostile_test.py ${DSW_BINARY} ${group})
  set_tests_properties(hostile_${group} PROPERTIES LABELS "integration" TIMEOUT 120)
endforeach()
set_tests_properties(hostile_connections hostile_startup PROPERTIES RUN_SERIAL TRUE)

# Soak, CI length: 120,000 mixed reviews through wrk (~25 s here) with two certificate rotations;
# scripts/soak.sh runs the long version (500,000). Alone, because it keeps both cores busy.
add_test(NAME soak_short
         COMMAND ${DSW_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/soak_test.py ${DSW_BINARY}
                 --requests 120000 --max-seconds 100)
set_tests_properties(soak_short PROPERTIES LABELS "soak" TIMEOUT 180 RUN_SERIAL TRUE)
