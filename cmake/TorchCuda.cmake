# The GPU variant (-DUSPDIT_TORCH_CUDA=ON): libtorch's CUDA (or ROCm) backend, the GPU runtime
# headers for src/parallel/nccl, and NCCL (cmake/Nccl.cmake). Defines uspdit::cuda, the compile
# and link requirements of the only code that calls the GPU runtime itself; every other
# translation unit compiles exactly as in the CPU build, so ccache serves them to this variant.
#
# Where the libraries come from: the torch package (USPDIT_TORCH_DIR) and, for the PyPI wheel,
# the NVIDIA wheels beside it in site-packages (nvidia/cu13/lib, nvidia/nccl/lib, ... for CUDA 13;
# nvidia/cuda_runtime/lib, ... for CUDA 12). A torch built against a system CUDA (GPU images)
# finds them in the system paths instead.
#
# Link check only: libtorch_cuda 2.15 needs libcusparseLt, libnvshmem_host, libcufile and
# NCCL >= 2.30 to link. Where these are absent (CI installs torch --no-deps), the executables
# are linked with --allow-shlib-undefined: everything of ours is compiled and resolved, but the
# binaries cannot run. USPDIT_CUDA_LINK_CHECK_ONLY=AUTO decides by trying to link libtorch_cuda.

set(USPDIT_CUDA_LINK_CHECK_ONLY AUTO CACHE STRING
    "GPU variant: link with --allow-shlib-undefined (binaries that cannot run): AUTO, ON or OFF")
set_property(CACHE USPDIT_CUDA_LINK_CHECK_ONLY PROPERTY STRINGS AUTO ON OFF)

get_filename_component(_site "${USPDIT_TORCH_DIR}" DIRECTORY)
file(GLOB _wheel_lib_dirs LIST_DIRECTORIES true "${_site}/nvidia/*/lib")
list(FILTER _wheel_lib_dirs EXCLUDE REGEX "/nvidia/nccl/lib$")  # NCCL is Nccl.cmake's business

# ROCm's libtorch names its backend torch_hip/c10_hip and keeps the c10::cuda API (hipified).
find_library(USPDIT_TORCH_CUDA_LIB NAMES torch_cuda torch_hip PATHS "${USPDIT_TORCH_DIR}/lib" NO_DEFAULT_PATH)
find_library(USPDIT_C10_CUDA_LIB NAMES c10_cuda c10_hip PATHS "${USPDIT_TORCH_DIR}/lib" NO_DEFAULT_PATH)
if(NOT USPDIT_TORCH_CUDA_LIB OR NOT USPDIT_C10_CUDA_LIB)
  message(FATAL_ERROR "USPDIT_TORCH_CUDA=ON, but ${USPDIT_TORCH_DIR}/lib has no libtorch_cuda/libc10_cuda "
                      "(a CPU-only torch?). Point -DUSPDIT_TORCH_DIR at a CUDA or ROCm torch.")
endif()
set(USPDIT_ROCM OFF)
if(USPDIT_TORCH_CUDA_LIB MATCHES "torch_hip")
  set(USPDIT_ROCM ON)
endif()

# --no-as-needed: nothing references libtorch_cuda's symbols directly; loading it registers the
# CUDA dispatch keys. Link-only, so no translation unit's flags change.
target_link_libraries(uspdit_torch INTERFACE
  "-Wl,--no-as-needed" "${USPDIT_TORCH_CUDA_LIB}" "${USPDIT_C10_CUDA_LIB}" "-Wl,--as-needed")

add_library(uspdit_cuda INTERFACE)
add_library(uspdit::cuda ALIAS uspdit_cuda)
if(USPDIT_ROCM)
  # Unverified: no ROCm libtorch is reachable from CI. Flags as torch.utils.cpp_extension's
  # COMMON_HIP_FLAGS; ROCm's headers then give the hip* twins src/parallel/nccl/gpu_runtime.h uses.
  set(USPDIT_ROCM_PATH "$ENV{ROCM_PATH}" CACHE PATH "ROCm installation")
  if(NOT USPDIT_ROCM_PATH)
    set(USPDIT_ROCM_PATH /opt/rocm CACHE PATH "ROCm installation" FORCE)
  endif()
  find_library(USPDIT_HIP_RUNTIME_LIB amdhip64 PATHS "${USPDIT_ROCM_PATH}/lib" "${USPDIT_TORCH_DIR}/lib" REQUIRED)
  target_include_directories(uspdit_cuda SYSTEM INTERFACE "${USPDIT_ROCM_PATH}/include")
  target_compile_definitions(uspdit_cuda INTERFACE USE_ROCM=1 __HIP_PLATFORM_AMD__=1)
  target_link_libraries(uspdit_cuda INTERFACE "${USPDIT_HIP_RUNTIME_LIB}")
  set(_gpu_runtime "HIP (${USPDIT_HIP_RUNTIME_LIB})")
else()
  # The CUDA major of libtorch pins libcudart's SONAME (libcudart.so.13): headers and the runtime
  # we link must have that major. The wheel's own copies first, then a toolkit.
  file(STRINGS "${USPDIT_TORCH_DIR}/version.py" _torch_cuda_line REGEX "^cuda")
  string(REGEX MATCH "'([0-9]+)\\.([0-9]+)'" _m "${_torch_cuda_line}")
  set(_torch_cuda_major "${CMAKE_MATCH_1}")
  find_package(CUDAToolkit QUIET)
  set(_toolkit_inc "")
  set(_toolkit_lib "")
  if(CUDAToolkit_FOUND AND (NOT _torch_cuda_major OR CUDAToolkit_VERSION_MAJOR EQUAL _torch_cuda_major))
    set(_toolkit_inc ${CUDAToolkit_INCLUDE_DIRS})
    set(_toolkit_lib ${CUDAToolkit_LIBRARY_DIR})
  endif()
  file(GLOB _wheel_inc_dirs LIST_DIRECTORIES true "${_site}/nvidia/cu*/include" "${_site}/nvidia/cuda_runtime/include")
  find_path(USPDIT_CUDA_INCLUDE_DIR cuda_runtime_api.h PATHS ${_wheel_inc_dirs} ${_toolkit_inc} NO_DEFAULT_PATH
            DOC "CUDA runtime headers of libtorch's CUDA major")
  find_library(USPDIT_CUDART_LIB NAMES "libcudart.so.${_torch_cuda_major}" cudart
               PATHS ${_wheel_lib_dirs} ${_toolkit_lib} NO_DEFAULT_PATH DOC "libcudart of libtorch's CUDA major")
  if(NOT USPDIT_CUDA_INCLUDE_DIR OR NOT USPDIT_CUDART_LIB)
    message(FATAL_ERROR "torch in ${USPDIT_TORCH_DIR} is built for CUDA ${_torch_cuda_major}, but no CUDA "
                        "${_torch_cuda_major} runtime headers/libcudart were found (toolkit: ${CUDAToolkit_VERSION}). "
                        "Install the torch wheel with its NVIDIA dependencies, or set CUDAToolkit_ROOT.")
  endif()
  target_include_directories(uspdit_cuda SYSTEM INTERFACE "${USPDIT_CUDA_INCLUDE_DIR}")
  target_link_libraries(uspdit_cuda INTERFACE "${USPDIT_CUDART_LIB}")
  set(_gpu_runtime "CUDA ${_torch_cuda_major} (${USPDIT_CUDART_LIB})")
endif()

if(USPDIT_WITH_NCCL)
  include(${CMAKE_CURRENT_LIST_DIR}/Nccl.cmake)
endif()

# Does libtorch_cuda link for real? A one-line program linked the way uspdit is answers it.
if(USPDIT_CUDA_LINK_CHECK_ONLY STREQUAL "AUTO")
  set(_probe_dir "${CMAKE_BINARY_DIR}/CMakeFiles/uspdit_torch_cuda_link")
  file(WRITE "${_probe_dir}/main.cpp" "int main() { return 0; }\n")
  set(_probe_libs "-Wl,--no-as-needed" "${USPDIT_TORCH_CUDA_LIB}" "${USPDIT_C10_CUDA_LIB}"
                  "${USPDIT_TORCH_CPU_LIB}" "${USPDIT_C10_LIB}")
  if(USPDIT_HAVE_NCCL)
    list(APPEND _probe_libs "${USPDIT_NCCL_LIBRARY}")
  endif()
  set(_probe_opts "")
  foreach(_dir IN LISTS _wheel_lib_dirs USPDIT_NCCL_LIBRARY_DIR)
    list(APPEND _probe_opts "-Wl,-rpath-link,${_dir}")
  endforeach()
  try_compile(_torch_cuda_links "${_probe_dir}/build" "${_probe_dir}/main.cpp"
              LINK_LIBRARIES ${_probe_libs} LINK_OPTIONS ${_probe_opts} OUTPUT_VARIABLE _probe_log)
  if(_torch_cuda_links)
    set(_link_check_only OFF)
  else()
    string(REGEX MATCHALL "lib[^ ,/]+, needed by|undefined reference to `[^']*'" _probe_why "${_probe_log}")
    list(TRANSFORM _probe_why REPLACE ", needed by" " not found")
    list(REMOVE_DUPLICATES _probe_why)
    list(SUBLIST _probe_why 0 6 _probe_why)
    string(REPLACE ";" "\n  " _probe_why "${_probe_why}")
    message(STATUS "libtorch_cuda does not link here (NVIDIA wheels absent?), e.g.:\n  ${_probe_why}\n"
                   "   -> link check only: the GPU binaries are linked but cannot run")
    set(_link_check_only ON)
  endif()
else()
  set(_link_check_only ${USPDIT_CUDA_LINK_CHECK_ONLY})
endif()
set(USPDIT_CUDA_RUNNABLE ON)
if(_link_check_only)
  set(USPDIT_CUDA_RUNNABLE OFF)
  # Our own objects still resolve every symbol; only the libraries' unresolved references pass.
  add_link_options("LINKER:--allow-shlib-undefined")
else()
  foreach(_dir IN LISTS _wheel_lib_dirs USPDIT_NCCL_LIBRARY_DIR)
    add_link_options("LINKER:-rpath-link,${_dir}")
  endforeach()
  # The binary needs libnccl.so.2 and libcudart itself: its rpath names the copies libtorch uses,
  # and as DT_RPATH (not RUNPATH) it beats LD_LIBRARY_PATH, which on GPU hosts often points at an
  # older toolkit NCCL that would then satisfy libtorch's NEEDED too (gpu.md §2, run-time).
  if(USPDIT_CUDART_LIB)
    get_filename_component(_cudart_dir "${USPDIT_CUDART_LIB}" DIRECTORY)
    list(APPEND CMAKE_BUILD_RPATH "${_cudart_dir}")
  endif()
  list(APPEND CMAKE_BUILD_RPATH ${USPDIT_NCCL_LIBRARY_DIR})
  add_link_options("LINKER:--disable-new-dtags")
endif()
message(STATUS "GPU variant: ${USPDIT_TORCH_CUDA_LIB}, ${_gpu_runtime}, "
               "runnable=${USPDIT_CUDA_RUNNABLE}, NCCL=${USPDIT_HAVE_NCCL}")
