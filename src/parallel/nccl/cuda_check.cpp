#include "parallel/nccl/cuda_check.h"

#include <stdexcept>
#include <string>

namespace uspdit::parallel {

void check_cuda(gpu::Error code, const char* call) {
  if (code == gpu::kSuccess) return;
  throw std::runtime_error(std::string(call) + " failed: " + gpu::error_string(code) + " (GPU error " +
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
  check_cuda(gpu::get_device(&previous_), "cudaGetDevice");
  if (previous_ != device) check_cuda(gpu::set_device(device), "cudaSetDevice");
}

DeviceGuard::~DeviceGuard() {
  int current = -1;
  // Restoring is best effort: a destructor cannot report, and the next guarded call sets its own.
  if (gpu::get_device(&current) == gpu::kSuccess && current != previous_) gpu::set_device(previous_);
}

}  // namespace uspdit::parallel
