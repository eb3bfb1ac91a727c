# Helpers for seqrec's own executables (tests, examples, benchmarks); not installed.
include_guard(GLOBAL)

# Warnings, -march and sanitizers for code seqrec compiles itself.
function(seqrec_target_defaults target)
  target_link_libraries(${target} PRIVATE seqrec::seqrec)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang" AND NOT SEQREC_KOKKOS_HAS_CUDA)
    target_compile_options(${target} PRIVATE -Wall -Wextra)
  endif()
  if(SEQREC_MARCH)
    target_compile_options(${target} PRIVATE -march=${SEQREC_MARCH})
  endif()
  # sqrt and exp that never set errno may vectorise (optimizer updates, softmax); seqrec never reads errno.
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -fno-math-errno)
  endif()
  if(SEQREC_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${SEQREC_SANITIZE} -fno-omit-frame-pointer
                                             -fno-sanitize-recover=all)
    target_link_options(${target} PRIVATE -fsanitize=${SEQREC_SANITIZE})
  endif()
endfunction()

# Environment every test and example runs with: pinned OpenMP threads (Kokkos warns otherwise).
set(SEQREC_TEST_ENVIRONMENT "OMP_PROC_BIND=spread;OMP_PLACES=threads;OMP_NUM_THREADS=2")

# seqrec_add_header_checks(): one translation unit per public header that includes only that header
# (twice, to check its include guard), compiled as part of `all`; with CUDA, one unit with every header.
function(seqrec_add_header_checks)
  file(GLOB_RECURSE headers RELATIVE ${PROJECT_SOURCE_DIR}/include CONFIGURE_DEPENDS
       ${PROJECT_SOURCE_DIR}/include/seqrec/*.hpp)
  if(NOT SEQREC_HAVE_MPI)
    list(FILTER headers EXCLUDE REGEX "^seqrec/dist")  # they need mpi.h
  endif()
  set(sources)
  if(SEQREC_KOKKOS_HAS_CUDA)
    # Under nvcc a translation unit costs seconds before its first line (front end, device pass), which made
    # ~90 one-header units a quarter of the CUDA build. The host build checks each header alone; here one
    # unit includes them all, which checks that nvcc accepts every one.
    set(content "")
    foreach(h IN LISTS headers)
      string(APPEND content "#include <${h}>\n")
    endforeach()
    set(src ${CMAKE_BINARY_DIR}/header_checks/all_headers.cpp)
    file(CONFIGURE OUTPUT ${src} CONTENT "${content}")
    list(APPEND sources ${src})
  else()
    foreach(h IN LISTS headers)
      string(MAKE_C_IDENTIFIER ${h} id)
      set(src ${CMAKE_BINARY_DIR}/header_checks/${id}.cpp)
      file(CONFIGURE OUTPUT ${src} CONTENT "#include <${h}>\n#include <${h}>\n")
      list(APPEND sources ${src})
    endforeach()
  endif()
  add_library(seqrec_header_checks OBJECT ${sources})
  seqrec_target_defaults(seqrec_header_checks)
  if(SEQREC_HAVE_MPI)
    target_link_libraries(seqrec_header_checks PRIVATE MPI::MPI_CXX)
  endif()
endfunction()
