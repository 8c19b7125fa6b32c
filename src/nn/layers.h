// The building blocks DiTs share, as functions over tensors. Precision rules follow the
// reference models: norms and modulation are computed in fp32; matmuls run in the weights' dtype.
#pragma once

#include <ATen/core/Tensor.h>

namespace uspdit::nn {

struct Linear {
  at::Tensor weight;  // [out, in]
  at::Tensor bias;    // [out] or undefined
};

// x @ W^T + b, computed in the weight's dtype (x is cast to it); result in that dtype.
at::Tensor linear(const at::Tensor& x, const Linear& layer);

// LayerNorm over the last dimension in fp32, optionally with affine weight/bias. Returns fp32.
at::Tensor layer_norm_fp32(const at::Tensor& x, double eps, const at::Tensor& weight = {},
                           const at::Tensor& bias = {});

// RMSNorm over the last dimension: x / sqrt(mean(x²) + eps) · weight, the statistics in fp32.
// Returns x's dtype.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

// GELU with the tanh approximation.
at::Tensor gelu_tanh(const at::Tensor& x);

// x · (1 + scale) + shift, in fp32 (adaLN modulation).
at::Tensor modulate(const at::Tensor& x, const at::Tensor& shift, const at::Tensor& scale);

// Sinusoidal timestep embedding [B] -> [B, dim]: [cos(t·f_i), sin(t·f_i)], f_i = 10000^(-i/half),
// returned in fp32. `compute` is the precision of the arguments t·f_i: models must use their
// reference's (Wan's original: fp64; HunyuanVideo: fp32), because for t·f up to ~6000 (guidance
// 6.0 · 1000) fp32 rounding moves the sines by ~1e-3.
at::Tensor timestep_embedding(const at::Tensor& timesteps, int64_t dim, double max_period = 10000.0,
                              at::ScalarType compute = at::kDouble);

}  // namespace uspdit::nn
