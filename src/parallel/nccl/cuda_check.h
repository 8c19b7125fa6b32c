// Return codes of the GPU runtime and NCCL turned into exceptions that name the failing call,
// and a guard for the calling thread's current GPU device.
#pragma once

#include "parallel/nccl/gpu_runtime.h"

namespace uspdit::parallel {

// Throws std::runtime_error "<call> failed: <error string>" unless code is gpu::kSuccess.
void check_cuda(gpu::Error code, const char* call);

// Throws std::runtime_error "<call> failed: <ncclGetErrorString>" unless code is ncclSuccess.
// With comm, NCCL's own account of the failure (ncclGetLastError) is appended: the error code
// alone ("unhandled system error") rarely says which peer or transport broke.
void check_nccl(ncclResult_t code, const char* call, ncclComm_t comm = nullptr);

// Makes `device` the calling thread's current device for the guard's lifetime. GPU calls act
// on the current device, which code outside the communicator may have switched.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;
};

}  // namespace uspdit::parallel
