# Finds libtorch inside the project's virtual environment (scripts/setup.sh installs it) and
# defines the imported target uspdit::torch_cpu. We link torch_cpu and c10 directly rather than
# use find_package(Torch): the CPU build must not pull CUDA into the configuration (the GPU
# variant adds libtorch's CUDA libraries in cmake/TorchCuda.cmake).
# USPDIT_TORCH_DIR may name any torch package directory instead of the venv's, e.g. a GPU
# machine's preinstalled torch: python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))'.
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
