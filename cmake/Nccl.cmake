# Finds the CUDA runtime and NCCL for the CUDA communicator (src/parallel/nccl). Sets
# USPDIT_HAVE_NCCL and defines the imported target uspdit::nccl. When either is missing the
# NCCL backend is skipped with a STATUS message and the CPU (MPI) build proceeds unchanged.
#
# Where NCCL is looked for: -DUSPDIT_NCCL_INCLUDE_DIR / -DUSPDIT_NCCL_LIBRARY when given (they
# win over any search), then NCCL_ROOT (CMake variable or environment), then the CUDA toolkit's
# include/lib directories, then /usr/local and the system paths. RCCL exposes the same API as
# nccl.h, so a ROCm build can pass a directory whose nccl.h is RCCL's header and librccl.so
# through these two variables; the cuda_runtime.h calls in src/parallel/nccl would still need
# hipify for ROCm, which this build does not do.
set(USPDIT_HAVE_NCCL OFF)
find_package(CUDAToolkit QUIET)
if(NOT CUDAToolkit_FOUND)
  message(STATUS "NCCL backend skipped: no CUDA toolkit found (set CUDAToolkit_ROOT); "
                 "building the CPU/MPI backend only")
  return()
endif()

# find_* skip the search when the cache variable is already set, e.g. from the command line.
set(_nccl_hints ${NCCL_ROOT} $ENV{NCCL_ROOT})
find_path(USPDIT_NCCL_INCLUDE_DIR nccl.h
  HINTS ${_nccl_hints} ${CUDAToolkit_INCLUDE_DIRS}
  PATHS /usr/local/include
  PATH_SUFFIXES include
  DOC "directory holding nccl.h (or RCCL's compatible header)")
find_library(USPDIT_NCCL_LIBRARY nccl
  HINTS ${_nccl_hints} ${CUDAToolkit_LIBRARY_DIR}
  PATHS /usr/local/lib
  PATH_SUFFIXES lib lib64
  DOC "libnccl (or librccl) to link")
if(NOT USPDIT_NCCL_INCLUDE_DIR OR NOT USPDIT_NCCL_LIBRARY)
  message(STATUS "NCCL backend skipped: nccl.h or libnccl not found (CUDA ${CUDAToolkit_VERSION}); "
                 "pass -DNCCL_ROOT=... or -DUSPDIT_NCCL_INCLUDE_DIR=... -DUSPDIT_NCCL_LIBRARY=...")
  return()
endif()

if(NOT EXISTS "${USPDIT_NCCL_INCLUDE_DIR}/nccl.h")
  message(STATUS "NCCL backend skipped: USPDIT_NCCL_INCLUDE_DIR=${USPDIT_NCCL_INCLUDE_DIR} has no nccl.h")
  return()
endif()
if(NOT EXISTS "${USPDIT_NCCL_LIBRARY}")
  message(STATUS "NCCL backend skipped: USPDIT_NCCL_LIBRARY=${USPDIT_NCCL_LIBRARY} does not exist")
  return()
endif()

# ncclCommSplit arrived in NCCL 2.18; older headers would fail the build much less clearly.
file(STRINGS "${USPDIT_NCCL_INCLUDE_DIR}/nccl.h" _nccl_version_lines REGEX "^#define NCCL_(MAJOR|MINOR|PATCH) ")
string(REGEX REPLACE ".*NCCL_MAJOR ([0-9]+).*" "\\1" _nccl_major "${_nccl_version_lines}")
string(REGEX REPLACE ".*NCCL_MINOR ([0-9]+).*" "\\1" _nccl_minor "${_nccl_version_lines}")
string(REGEX REPLACE ".*NCCL_PATCH ([0-9]+).*" "\\1" _nccl_patch "${_nccl_version_lines}")
set(USPDIT_NCCL_VERSION "${_nccl_major}.${_nccl_minor}.${_nccl_patch}")
if(NOT USPDIT_NCCL_VERSION MATCHES "^[0-9]+\\.[0-9]+\\.[0-9]+$")
  set(USPDIT_NCCL_VERSION "unknown")  # e.g. a vendor header: let the compiler judge it
elseif(USPDIT_NCCL_VERSION VERSION_LESS 2.18)
  message(STATUS "NCCL backend skipped: ${USPDIT_NCCL_INCLUDE_DIR}/nccl.h is NCCL ${USPDIT_NCCL_VERSION}, "
                 "2.18 or newer is needed (ncclCommSplit)")
  return()
endif()

add_library(uspdit::nccl UNKNOWN IMPORTED)
# Imported include directories are SYSTEM: nccl.h pulls in cuda_fp16/bf16/fp8 headers that are
# not ours to keep free of -Wpedantic warnings.
set_target_properties(uspdit::nccl PROPERTIES
  IMPORTED_LOCATION "${USPDIT_NCCL_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${USPDIT_NCCL_INCLUDE_DIR}")
set(USPDIT_HAVE_NCCL ON)
message(STATUS "NCCL backend: NCCL ${USPDIT_NCCL_VERSION} (${USPDIT_NCCL_LIBRARY}), CUDA ${CUDAToolkit_VERSION}")
