# Installs seqrec (configured without tests/examples) into a fresh prefix, then configures, builds and runs
# a consumer that only knows find_package(seqrec). Run by ctest as `install_consumer`.
file(REMOVE_RECURSE ${WORK})
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}")
  endif()
endfunction()
run(${CMAKE_COMMAND} -S ${SEQREC_SOURCE} -B ${WORK}/build -DCMAKE_CXX_COMPILER=${CXX} -DKokkos_DIR=${Kokkos_DIR}
    -DCMAKE_INSTALL_PREFIX=${WORK}/prefix -DSEQREC_BUILD_TESTS=OFF -DSEQREC_BUILD_EXAMPLES=OFF
    -DSEQREC_BUILD_BENCHMARKS=OFF -DSEQREC_HEADER_CHECKS=OFF)
run(${CMAKE_COMMAND} --install ${WORK}/build)
if(NOT EXISTS ${WORK}/prefix/include/seqrec/seqrec.hpp)
  message(FATAL_ERROR "install did not place include/seqrec/seqrec.hpp")
endif()
run(${CMAKE_COMMAND} -S ${SEQREC_SOURCE}/tests/install/consumer -B ${WORK}/consumer -DCMAKE_CXX_COMPILER=${CXX}
    -DCMAKE_PREFIX_PATH=${WORK}/prefix -DKokkos_DIR=${Kokkos_DIR})
run(${CMAKE_COMMAND} --build ${WORK}/consumer)
run(${WORK}/consumer/consumer)
message(STATUS "consumer built against the installed seqrec and ran")
