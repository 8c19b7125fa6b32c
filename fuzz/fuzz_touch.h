// Reads every byte a tensor view spans (up to 1 MiB), without ATen kernels: a view reaching past
// its mapping faults here, under the fuzzer, instead of in a model loader.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace uspdit::fuzz {

inline void touch_every_byte(const at::Tensor& view) {
  if (!view.defined() || view.numel() == 0) return;
  // The span from element [0, ..., 0] to the last one, in bytes (views here are not negative-strided).
  int64_t last = 0;
  for (int64_t d = 0; d < view.dim(); ++d) last += (view.size(d) - 1) * view.stride(d);
  const int64_t span = (last + 1) * static_cast<int64_t>(view.element_size());
  const auto* bytes = static_cast<const uint8_t*>(view.data_ptr());
  volatile uint8_t sink = 0;
  for (int64_t i = 0; i < span && i < (1 << 20); ++i) sink = sink ^ bytes[i];
}

}  // namespace uspdit::fuzz
