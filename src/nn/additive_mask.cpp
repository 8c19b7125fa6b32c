#include "nn/additive_mask.h"

#include <ATen/ATen.h>

#include <limits>
#include <stdexcept>

namespace uspdit::nn {

double lowest_value(at::ScalarType dtype) {
  switch (dtype) {
    case at::kHalf:
      return static_cast<double>(std::numeric_limits<c10::Half>::lowest());
    case at::kBFloat16:
      return static_cast<double>(std::numeric_limits<c10::BFloat16>::lowest());
    case at::kFloat:
      return std::numeric_limits<float>::lowest();
    case at::kDouble:
      return std::numeric_limits<double>::lowest();
    default:
      throw std::invalid_argument("lowest_value: not a floating-point dtype");
  }
}

at::Tensor causal_padding_mask(const at::Tensor& key_mask, at::ScalarType dtype) {
  const int64_t batch = key_mask.size(0), len = key_mask.size(1);
  const auto device = key_mask.device();
  const auto blocked = at::ones({len, len}, at::TensorOptions().dtype(at::kBool).device(device)).triu(1);
  const auto padded = (key_mask == 0).view({batch, 1, 1, len});
  const auto any = at::logical_or(blocked.view({1, 1, len, len}), padded);
  return at::zeros({batch, 1, len, len}, at::TensorOptions().dtype(dtype).device(device))
      .masked_fill(any, lowest_value(dtype));
}

at::Tensor causal_mask(int64_t length, at::ScalarType dtype, c10::Device device) {
  return at::full({length, length}, lowest_value(dtype), at::TensorOptions().dtype(dtype).device(device))
      .triu(1)
      .view({1, 1, length, length});
}

at::Tensor padding_mask(const at::Tensor& key_mask, at::ScalarType dtype) {
  const int64_t batch = key_mask.size(0), len = key_mask.size(1);
  return at::zeros({batch, 1, 1, len}, key_mask.options().dtype(dtype))
      .masked_fill((key_mask == 0).view({batch, 1, 1, len}), lowest_value(dtype));
}

}  // namespace uspdit::nn
