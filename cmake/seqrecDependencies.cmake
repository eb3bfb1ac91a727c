# Finds seqrec's dependencies. Used by seqrec's own build and, installed, by seqrecConfig.cmake, so a
# consumer finds again what seqrec was built against.
include_guard(GLOBAL)
include(CMakeFindDependencyMacro)

# Kokkos: Debian's libtrilinos-kokkos-dev is Serial-only and sits in the default prefix; refuse it, so a
# wrong CMAKE_PREFIX_PATH / Kokkos_ROOT fails here instead of silently running on one thread.
find_dependency(Kokkos 3.4)
kokkos_check(DEVICES Cuda RETURN_VALUE SEQREC_KOKKOS_HAS_CUDA)
if(NOT SEQREC_KOKKOS_HAS_CUDA)
  kokkos_check(DEVICES OpenMP)
endif()

# seqrec::blas: a CBLAS for host spaces (OpenBLAS's config first, then FindBLAS + cblas.h).
if((NOT DEFINED SEQREC_ENABLE_BLAS OR SEQREC_ENABLE_BLAS) AND NOT TARGET seqrec::blas)
  find_package(OpenBLAS CONFIG QUIET)
  if(OpenBLAS_FOUND)
    add_library(seqrec::blas INTERFACE IMPORTED)
    set_target_properties(seqrec::blas PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${OpenBLAS_INCLUDE_DIRS}"
                          INTERFACE_LINK_LIBRARIES "${OpenBLAS_LIBRARIES}"
                          INTERFACE_COMPILE_DEFINITIONS "SEQREC_HAVE_CBLAS;SEQREC_HAVE_OPENBLAS")
  else()
    find_package(BLAS QUIET)
    find_path(SEQREC_CBLAS_INCLUDE cblas.h)
    if(BLAS_FOUND AND SEQREC_CBLAS_INCLUDE)
      add_library(seqrec::blas INTERFACE IMPORTED)
      set_target_properties(seqrec::blas PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${SEQREC_CBLAS_INCLUDE}"
                            INTERFACE_LINK_LIBRARIES "${BLAS_LIBRARIES}"
                            INTERFACE_COMPILE_DEFINITIONS SEQREC_HAVE_CBLAS)
    else()
      message(STATUS "seqrec: no CBLAS found; host gemm/gemv use the portable kernels")
    endif()
  endif()
endif()

# cuBLAS for CUDA spaces.
if(SEQREC_KOKKOS_HAS_CUDA)
  find_dependency(CUDAToolkit)
endif()
