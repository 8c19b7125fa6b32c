// The run's one device decision, and everything that has to know what kind of device it is.
//
// `--device auto|cuda|cpu` and the launcher's local rank are turned into one c10::Device, once,
// by the command; loaders, models, samplers and the VAE receive that device and never name a
// device type themselves (tests/unit/test_device_lint.cpp fails the build if one does). GPU
// specifics reached through libtorch's device-generic interfaces (accelerator hooks, c10::Event,
// the caching allocator's stats) live here, so this file compiles and is unit-tested in the
// CPU build; the CUDA build links libtorch's CUDA backend, which fills those interfaces.
// ROCm builds of libtorch present their GPUs as the same CUDA device type.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace uspdit::core {

enum class DeviceRequest { kAuto, kCpu, kCuda };

// The host (CPU): where files are read and written and noise is drawn, and the default of
// settings that have not been given the run's device yet.
inline c10::Device host_device() {
  return c10::Device(c10::DeviceType::CPU);
}

// "auto", "cpu", "cuda" (also "gpu" and "cuda:N"-free spellings only: the index comes from the
// local rank). Throws UsageError listing the choices.
DeviceRequest parse_device_request(const std::string& text);
const char* device_request_name(DeviceRequest request);

// What this process can see of GPUs.
struct AcceleratorInfo {
  bool backend_linked = false;  // libtorch's CUDA/ROCm backend is in this process
  int count = 0;                // GPUs it reports (CUDA_VISIBLE_DEVICES applied)
  bool rocm = false;
};
AcceleratorInfo probe_accelerators();

// The decision, a pure function of its inputs (unit-tested): auto means cuda when a GPU is
// visible; cuda takes GPU local_rank % count, so 8 ranks on 8 GPUs get one each and 16 ranks
// on 8 share two per GPU. cuda with no GPU throws UsageError naming --device cpu.
c10::Device choose_device(DeviceRequest request, int local_rank, const AcceleratorInfo& gpus);

// "cpu", "cuda:3".
std::string device_label(const c10::Device& device);

// Makes `device` this thread's current GPU (a no-op for the CPU). Kernels launched without an
// explicit device, NCCL and the caching allocator all follow the current device. The first call
// also sets PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True unless the user set an allocator
// configuration.
void make_current(const c10::Device& device);

// Waits until everything queued on the device has finished (a no-op for the CPU): stage
// timings and peak memory are read after it.
void synchronize(const c10::Device& device);

// Copies host tensors to the device through pinned staging buffers: the caller converts a
// weight straight into staging(), upload() queues the copy and returns the device tensor.
// Two buffers alternate, so converting the next weight overlaps the previous copy; host memory
// stays near two tensors, whatever the model's size. On the CPU, staging() is a plain tensor
// and upload() returns it.
class DeviceUploader {
 public:
  explicit DeviceUploader(c10::Device device);
  ~DeviceUploader();
  DeviceUploader(const DeviceUploader&) = delete;
  DeviceUploader& operator=(const DeviceUploader&) = delete;

  const c10::Device& device() const { return device_; }
  // A contiguous host tensor of this shape and dtype to fill (valid until the next staging()).
  at::Tensor staging(at::IntArrayRef shape, at::ScalarType dtype);
  // `host` must be the last staging() tensor (or any host tensor on the CPU path).
  at::Tensor upload(const at::Tensor& host);
  // Waits for the copies in flight (before the staging buffers could be freed).
  void finish();

 private:
  struct Buffer;
  c10::Device device_;
  std::vector<std::unique_ptr<Buffer>> buffers_;
  size_t next_ = 0;
};

// Any tensor moved to `device` (plain copy; for small tensors built on the host, such as
// noise drawn on the CPU generator or tables computed once).
at::Tensor to_device(const at::Tensor& tensor, const c10::Device& device);

// A tensor's values in host memory (for files and messages); the tensor itself when already there.
at::Tensor to_host(const at::Tensor& tensor);

// Memory of this rank's device, for stage records and error messages.
struct DeviceMemory {
  int64_t peak_allocated = 0;  // caching allocator's peak since the last reset
  int64_t reserved = 0;        // held by the caching allocator now
  int64_t free = 0;            // the driver's view (cudaMemGetInfo), includes other processes
  int64_t total = 0;
};
// Zeros for the CPU (its peak is the process's RSS, core/memory.h).
DeviceMemory device_memory(const c10::Device& device);
void reset_device_peak(const c10::Device& device);
// Returns cached blocks to the driver (after freeing a model, before loading the next).
void release_cached_memory(const c10::Device& device);

}  // namespace uspdit::core
