// The device the conformance tests run on, so that the same tests check a GPU against the
// committed references: USPDIT_TEST_DEVICE=cpu (default) or cuda (GPU 0). scripts/gpu_check.sh
// sets it. Tests may name devices; src/ may not (test_device_lint.cpp).
#pragma once

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <c10/core/Device.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace uspdit::testing {

inline c10::Device device_under_test() {
  static const c10::Device device = [] {
    const char* env = std::getenv("USPDIT_TEST_DEVICE");
    const std::string name = env != nullptr ? env : "";
    if (name.empty() || name == "cpu") return c10::Device(c10::DeviceType::CPU);
    if (name != "cuda") throw std::invalid_argument("USPDIT_TEST_DEVICE must be cpu or cuda, not " + name);
    if (!at::hasCUDA()) throw std::runtime_error("USPDIT_TEST_DEVICE=cuda, but no CUDA device is visible");
    // The fp32 references are compared at 1e-4; TF32 matmuls and convolutions (10-bit mantissa,
    // cuDNN's default) would not meet it, and on the CPU there is no TF32 to compare with.
    at::globalContext().setAllowTF32CuBLAS(false);
    at::globalContext().setAllowTF32CuDNN(false);
    return c10::Device(c10::DeviceType::CUDA, 0);
  }();
  return device;
}

inline bool testing_on_gpu() {
  return !device_under_test().is_cpu();
}

// An input for the device under test (undefined stays undefined).
inline at::Tensor on_device(const at::Tensor& t) {
  return t.defined() ? t.to(device_under_test()) : t;
}

}  // namespace uspdit::testing
