// Additive attention masks as transformers builds them: 0 where a query may see a key and
// finfo(dtype).min (finite, not -inf) where it may not, so softmax gives exactly 0 there and a
// row never turns into NaN.
#pragma once

#include <ATen/core/Tensor.h>

namespace uspdit::nn {

// torch.finfo(dtype).min: -65504 for fp16, -3.39e38 for bf16 and fp32.
double lowest_value(at::ScalarType dtype);

// [B, 1, L, L] in `dtype`: finfo.min where key j > query i or key j is padding (key_mask == 0),
// else 0. Filled, not summed (transformers 4.46 LlamaModel._update_causal_mask). key_mask is
// [B, L] on the device the mask is wanted on.
at::Tensor causal_padding_mask(const at::Tensor& key_mask, at::ScalarType dtype);

// [1, 1, L, L] in `dtype` on `device`: finfo.min above the diagonal (CLIP's causal mask).
at::Tensor causal_mask(int64_t length, at::ScalarType dtype, c10::Device device);

// [B, 1, 1, L] in `dtype`: finfo.min on padded keys (key_mask == 0), else 0 (transformers'
// _prepare_4d_attention_mask).
at::Tensor padding_mask(const at::Tensor& key_mask, at::ScalarType dtype);

}  // namespace uspdit::nn
