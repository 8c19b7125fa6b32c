# NCCL (RCCL on ROCm) for the GPU variant's communicator (src/parallel/nccl): sets
# USPDIT_HAVE_NCCL, USPDIT_NCCL_LIBRARY_DIR and the imported target uspdit::nccl. Included by
# cmake/TorchCuda.cmake; a GPU variant without NCCL is a configuration error, not a silent skip
# (-DUSPDIT_WITH_NCCL=OFF builds it without the communicator).
#
# Where NCCL is looked for: -DUSPDIT_NCCL_INCLUDE_DIR / -DUSPDIT_NCCL_LIBRARY when given (they
# win over any search), then the torch wheel's own nvidia/nccl (the NCCL libtorch_cuda was built
# for: 2.15 needs >= 2.30, newer than the CUDA 13.0 toolkit's 2.28), then NCCL_ROOT (CMake
# variable or environment), the CUDA toolkit, /usr/local and the system paths. The wheel ships
# only the SONAME file libnccl.so.2, hence the explicit name.
set(USPDIT_HAVE_NCCL OFF)
set(_nccl_wheel "${_site}/nvidia/nccl")
set(_nccl_hints ${NCCL_ROOT} $ENV{NCCL_ROOT} ${CUDAToolkit_INCLUDE_DIRS} ${CUDAToolkit_LIBRARY_DIR})
if(USPDIT_ROCM)
  # RCCL's header takes hipStream_t; the sources include it through gpu_runtime.h.
  set(_nccl_header rccl/rccl.h)
  set(_nccl_names rccl)
  list(APPEND _nccl_hints "${USPDIT_ROCM_PATH}")
else()
  set(_nccl_header nccl.h)
  set(_nccl_names libnccl.so.2 nccl)
endif()

# find_* skip the search when the cache variable is already set, e.g. from the command line.
find_path(USPDIT_NCCL_INCLUDE_DIR ${_nccl_header} PATHS "${_nccl_wheel}/include" NO_DEFAULT_PATH)
find_path(USPDIT_NCCL_INCLUDE_DIR ${_nccl_header}
  HINTS ${_nccl_hints} PATHS /usr/local/include PATH_SUFFIXES include
  DOC "directory holding nccl.h (rccl/rccl.h on ROCm)")
find_library(USPDIT_NCCL_LIBRARY NAMES ${_nccl_names} PATHS "${_nccl_wheel}/lib" NO_DEFAULT_PATH)
find_library(USPDIT_NCCL_LIBRARY NAMES ${_nccl_names}
  HINTS ${_nccl_hints} PATHS /usr/local/lib PATH_SUFFIXES lib lib64
  DOC "libnccl (librccl on ROCm) to link")
if(NOT USPDIT_NCCL_INCLUDE_DIR OR NOT EXISTS "${USPDIT_NCCL_INCLUDE_DIR}/${_nccl_header}" OR
   NOT USPDIT_NCCL_LIBRARY OR NOT EXISTS "${USPDIT_NCCL_LIBRARY}")
  message(FATAL_ERROR "GPU variant: ${_nccl_header} or the NCCL library not found "
                      "(include: ${USPDIT_NCCL_INCLUDE_DIR}, library: ${USPDIT_NCCL_LIBRARY}). Install the torch "
                      "wheel with its NVIDIA dependencies, pass -DNCCL_ROOT=... or -DUSPDIT_NCCL_INCLUDE_DIR=... "
                      "-DUSPDIT_NCCL_LIBRARY=..., or build without the communicator: -DUSPDIT_WITH_NCCL=OFF")
endif()

# ncclCommSplit arrived in NCCL 2.18; older headers would fail the build much less clearly.
file(STRINGS "${USPDIT_NCCL_INCLUDE_DIR}/${_nccl_header}" _nccl_version_lines
     REGEX "^#define NCCL_(MAJOR|MINOR|PATCH) ")
string(REGEX REPLACE ".*NCCL_MAJOR ([0-9]+).*" "\\1" _nccl_major "${_nccl_version_lines}")
string(REGEX REPLACE ".*NCCL_MINOR ([0-9]+).*" "\\1" _nccl_minor "${_nccl_version_lines}")
string(REGEX REPLACE ".*NCCL_PATCH ([0-9]+).*" "\\1" _nccl_patch "${_nccl_version_lines}")
set(USPDIT_NCCL_VERSION "${_nccl_major}.${_nccl_minor}.${_nccl_patch}")
if(NOT USPDIT_NCCL_VERSION MATCHES "^[0-9]+\\.[0-9]+\\.[0-9]+$")
  set(USPDIT_NCCL_VERSION "unknown")  # e.g. a vendor header: let the compiler judge it
elseif(USPDIT_NCCL_VERSION VERSION_LESS 2.18)
  message(FATAL_ERROR "${USPDIT_NCCL_INCLUDE_DIR}/${_nccl_header} is NCCL ${USPDIT_NCCL_VERSION}, "
                      "2.18 or newer is needed (ncclCommSplit)")
endif()

add_library(uspdit::nccl UNKNOWN IMPORTED)
# Imported include directories are SYSTEM: nccl.h pulls in cuda_fp16/bf16/fp8 headers that are
# not ours to keep free of -Wpedantic warnings.
set_target_properties(uspdit::nccl PROPERTIES
  IMPORTED_LOCATION "${USPDIT_NCCL_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${USPDIT_NCCL_INCLUDE_DIR}")
get_filename_component(USPDIT_NCCL_LIBRARY_DIR "${USPDIT_NCCL_LIBRARY}" DIRECTORY)
set(USPDIT_HAVE_NCCL ON)
message(STATUS "NCCL: ${USPDIT_NCCL_VERSION} (${USPDIT_NCCL_LIBRARY})")
