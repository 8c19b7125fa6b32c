#include "parallel/nccl/cuda_check.h"

#include <stdexcept>
#include <string>

namespace uspdit::parallel {

void check_cuda(cudaError_t code, const char* call) {
  if (code == cudaSuccess) return;
  throw std::runtime_error(std::string(call) + " failed: " + cudaGetErrorString(code) + " (CUDA error " +
                           std::to_string(static_cast<int>(code)) + ")");
}

void check_nccl(ncclResult_t code, const char* call, ncclComm_t comm) {
  if (code == ncclSuccess) return;
  std::string message = std::string(call) + " failed: " + ncclGetErrorString(code);
  if (comm != nullptr) {
    const char* detail = ncclGetLastError(comm);
    if (detail != nullptr && *detail != '\0') message += std::string(" (") + detail + ")";
  }
  throw std::runtime_error(message);
}

DeviceGuard::DeviceGuard(int device) {
  check_cuda(cudaGetDevice(&previous_), "cudaGetDevice");
  if (previous_ != device) check_cuda(cudaSetDevice(device), "cudaSetDevice");
}

DeviceGuard::~DeviceGuard() {
  int current = -1;
  // Restoring is best effort: a destructor cannot report, and the next guarded call sets its own.
  if (cudaGetDevice(&current) == cudaSuccess && current != previous_) cudaSetDevice(previous_);
}

}  // namespace uspdit::parallel
