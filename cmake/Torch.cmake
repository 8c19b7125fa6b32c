# Finds libtorch inside the project's virtual environment (scripts/setup.sh installs it) and
# defines the imported target uspdit::torch_cpu. We link torch_cpu and c10 directly rather than
# use find_package(Torch): the CPU build must not pull CUDA into the configuration.
set(USPDIT_VENV "${PROJECT_SOURCE_DIR}/.venv" CACHE PATH "virtual environment holding the torch wheel")
if(NOT USPDIT_TORCH_DIR)
  execute_process(
    COMMAND "${USPDIT_VENV}/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    OUTPUT_VARIABLE _purelib OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "No Python in ${USPDIT_VENV}. Run scripts/setup.sh first.")
  endif()
  set(USPDIT_TORCH_DIR "${_purelib}/torch" CACHE PATH "torch package directory")
endif()
find_library(USPDIT_TORCH_CPU_LIB torch_cpu PATHS "${USPDIT_TORCH_DIR}/lib" NO_DEFAULT_PATH)
find_library(USPDIT_C10_LIB c10 PATHS "${USPDIT_TORCH_DIR}/lib" NO_DEFAULT_PATH)
if(NOT USPDIT_TORCH_CPU_LIB OR NOT USPDIT_C10_LIB)
  message(FATAL_ERROR "libtorch not found under ${USPDIT_TORCH_DIR}. Run scripts/setup.sh first.")
endif()
add_library(uspdit_torch INTERFACE)
add_library(uspdit::torch ALIAS uspdit_torch)
# SYSTEM: libtorch's headers are not ours to keep warning-free.
target_include_directories(uspdit_torch SYSTEM INTERFACE
  "${USPDIT_TORCH_DIR}/include"
  "${USPDIT_TORCH_DIR}/include/torch/csrc/api/include")
target_link_libraries(uspdit_torch INTERFACE "${USPDIT_TORCH_CPU_LIB}" "${USPDIT_C10_LIB}")
target_compile_definitions(uspdit_torch INTERFACE _GLIBCXX_USE_CXX11_ABI=1)
set(CMAKE_BUILD_RPATH "${USPDIT_TORCH_DIR}/lib")
message(STATUS "libtorch: ${USPDIT_TORCH_DIR}")

# GPU runs need libtorch's CUDA backend (CUDA tensors, cuBLAS, the CUDA attention kernels) in
# the process. -DUSPDIT_TORCH_CUDA=ON links it, with --no-as-needed because nothing references
# its symbols directly: it registers the CUDA dispatch keys when loaded. It needs the NVIDIA
# runtime libraries the wheel depends on (USPDIT_TORCH_WITH_DEPS=1 scripts/setup.sh installs the
# wheel with them). Not built in CI: this machine has no GPU and installs no NVIDIA wheels.
option(USPDIT_TORCH_CUDA "Link libtorch's CUDA backend (GPU runs)" OFF)
if(USPDIT_TORCH_CUDA)
  find_library(USPDIT_TORCH_CUDA_LIB torch_cuda PATHS "${USPDIT_TORCH_DIR}/lib" NO_DEFAULT_PATH REQUIRED)
  find_library(USPDIT_C10_CUDA_LIB c10_cuda PATHS "${USPDIT_TORCH_DIR}/lib" NO_DEFAULT_PATH REQUIRED)
  target_link_libraries(uspdit_torch INTERFACE
    "-Wl,--no-as-needed" "${USPDIT_TORCH_CUDA_LIB}" "${USPDIT_C10_CUDA_LIB}" "-Wl,--as-needed")
endif()
