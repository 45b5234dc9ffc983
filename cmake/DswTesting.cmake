# Registering tests: one function for a doctest executable, and the Python interpreter the
# script tests run with.

# Debian's python3 carries the modules the script tests import (python3-jsonpatch, python3-yaml,
# python3-kubernetes: scripts/install-deps.sh --test). A python of pyenv or a virtualenv that
# comes first in PATH usually lacks them, so the system's is looked for first; pass
# -DPython3_EXECUTABLE=... to choose another.
set(Python3_FIND_VIRTUALENV STANDARD)
if(NOT DEFINED Python3_EXECUTABLE AND NOT DEFINED Python3_ROOT_DIR AND EXISTS /usr/bin/python3)
  set(Python3_ROOT_DIR /usr)
  set(Python3_FIND_STRATEGY LOCATION)
endif()
find_package(Python3 3.9 REQUIRED COMPONENTS Interpreter)
execute_process(COMMAND ${Python3_EXECUTABLE} -c "import jsonpatch, yaml"
                RESULT_VARIABLE _dsw_py_modules OUTPUT_QUIET ERROR_QUIET)
if(NOT _dsw_py_modules EQUAL 0)
  message(FATAL_ERROR "${Python3_EXECUTABLE} cannot import jsonpatch and yaml, which the tests "
                      "need: run scripts/install-deps.sh --test, or pass "
                      "-DPython3_EXECUTABLE=/usr/bin/python3")
endif()

# doctest's main(), compiled once for every doctest executable.
add_library(dsw_doctest_main OBJECT ${PROJECT_SOURCE_DIR}/test/doctest_main.cpp)
target_link_libraries(dsw_doctest_main PUBLIC doctest::doctest)

# dsw_doctest(NAME ctest-name SOURCES file.cpp... LIBS target... [OWN_MAIN] [LABELS label...]
#             [TIMEOUT seconds] [INCLUDES dir...] [ENVIRONMENT VAR=value...])
# Builds one doctest executable (named after its first source) with the project's warnings and
# sanitizers and DSW_SOURCE_DIR defined, and registers it with CTest (label unit and 60 s unless
# told otherwise). OWN_MAIN: the sources define main() themselves (set-up before the tests run).
function(dsw_doctest)
  cmake_parse_arguments(T "OWN_MAIN" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS;INCLUDES;ENVIRONMENT" ${ARGN})
  list(GET T_SOURCES 0 first)
  get_filename_component(exe ${first} NAME_WE)
  if(T_OWN_MAIN)
    add_executable(${exe} ${T_SOURCES})
  else()
    add_executable(${exe} ${T_SOURCES} $<TARGET_OBJECTS:dsw_doctest_main>)
  endif()
  target_link_libraries(${exe} PRIVATE ${T_LIBS} doctest::doctest)
  target_compile_definitions(${exe} PRIVATE DSW_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  if(T_INCLUDES)
    target_include_directories(${exe} PRIVATE ${T_INCLUDES})
  endif()
  dsw_target(${exe})
  add_test(NAME ${T_NAME} COMMAND ${exe})
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 60)
  endif()
  set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT})
  if(T_ENVIRONMENT)
    set_tests_properties(${T_NAME} PROPERTIES ENVIRONMENT "${T_ENVIRONMENT}")
  endif()
endfunction()
