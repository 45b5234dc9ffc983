# One helper switches on warnings and sanitizers for every project target.
#
#   DSW_WERROR=ON           turn warnings into errors (CI sets it)
#   DSW_SANITIZE=address,undefined | thread | ""   build every target with these sanitizers
option(DSW_WERROR "Treat compiler warnings as errors" OFF)
set(DSW_SANITIZE "" CACHE STRING "Sanitizers for every target: address,undefined or thread")

function(dsw_target target)
  target_compile_features(${target} PUBLIC cxx_std_17)
  set_target_properties(${target} PROPERTIES CXX_EXTENSIONS OFF)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
    -Wunused -Woverloaded-virtual -Wconversion -Wno-sign-conversion
    -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
  if(DSW_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(DSW_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${DSW_SANITIZE} -fno-omit-frame-pointer
                           -fno-sanitize-recover=all)
    target_link_options(${target} PRIVATE -fsanitize=${DSW_SANITIZE})
  endif()
endfunction()
