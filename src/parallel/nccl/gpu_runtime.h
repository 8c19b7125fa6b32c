// The one place where CUDA and ROCm differ for the communicator: the runtime API (cuda* vs hip*)
// and the collective library's header (NCCL's nccl.h vs RCCL's rccl/rccl.h, same nccl* API).
// Everything else in src/parallel/nccl is written once against the gpu* names below and
// libtorch's c10::cuda streams, which ROCm's libtorch keeps under the same names (hipified).
// The build defines USE_ROCM for a ROCm libtorch (cmake/TorchCuda.cmake). The ROCm branch has
// never been compiled: no ROCm libtorch is reachable from CI.
//
// Two known nccl.h/rccl.h differences need nothing here: all-to-all is grouped ncclSend/ncclRecv
// (NCCL names the native one ncclAlltoAll, RCCL ncclAllToAll; alias it here if it is ever
// used), and RCCL's ncclComm_t is `const struct ncclComm*`, which the code only passes along.
#pragma once

#ifdef USE_ROCM
#include <hip/hip_runtime_api.h>
#include <rccl/rccl.h>

#define USPDIT_GPU(name) hip##name
#else
#include <cuda_runtime_api.h>
#include <nccl.h>

#define USPDIT_GPU(name) cuda##name
#endif

namespace uspdit::parallel::gpu {

using Error = USPDIT_GPU(Error_t);
using Stream = USPDIT_GPU(Stream_t);
using Event = USPDIT_GPU(Event_t);
inline constexpr Error kSuccess = USPDIT_GPU(Success);
inline constexpr Error kErrorInvalidValue = USPDIT_GPU(ErrorInvalidValue);
inline constexpr unsigned kEventDisableTiming = USPDIT_GPU(EventDisableTiming);

inline const char* error_string(Error e) {
  return USPDIT_GPU(GetErrorString)(e);
}
inline Error driver_get_version(int* version) {
  return USPDIT_GPU(DriverGetVersion)(version);
}
// The runtime API version the build was compiled against (CUDA: major*1000 + minor*10).
#ifdef USE_ROCM
inline constexpr int kRuntimeVersion = HIP_VERSION;
#else
inline constexpr int kRuntimeVersion = CUDART_VERSION;
#endif
inline Error get_device_count(int* count) {
  return USPDIT_GPU(GetDeviceCount)(count);
}
inline Error get_device(int* device) {
  return USPDIT_GPU(GetDevice)(device);
}
inline Error set_device(int device) {
  return USPDIT_GPU(SetDevice)(device);
}
inline Error event_create(Event* event) {
  return USPDIT_GPU(EventCreateWithFlags)(event, kEventDisableTiming);
}
inline Error event_destroy(Event event) {
  return USPDIT_GPU(EventDestroy)(event);
}
inline Error event_record(Event event, Stream stream) {
  return USPDIT_GPU(EventRecord)(event, stream);
}
inline Error stream_synchronize(Stream stream) {
  return USPDIT_GPU(StreamSynchronize)(stream);
}
inline Error stream_wait_event(Stream stream, Event event) {
  return USPDIT_GPU(StreamWaitEvent)(stream, event, 0);
}

}  // namespace uspdit::parallel::gpu

#undef USPDIT_GPU
