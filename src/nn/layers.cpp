#include "nn/layers.h"

#include <ATen/ATen.h>

#include <cmath>

namespace uspdit::nn {

at::Tensor linear(const at::Tensor& x, const Linear& layer) {
  const auto dtype = layer.weight.scalar_type();
  return at::linear(x.to(dtype), layer.weight,
                    layer.bias.defined() ? std::optional<at::Tensor>(layer.bias) : std::nullopt);
}

at::Tensor layer_norm_fp32(const at::Tensor& x, double eps, const at::Tensor& weight, const at::Tensor& bias) {
  auto opt = [](const at::Tensor& t) {
    return t.defined() ? std::optional<at::Tensor>(t.to(at::kFloat)) : std::nullopt;
  };
  return at::layer_norm(x.to(at::kFloat), {x.size(-1)}, opt(weight), opt(bias), eps);
}

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  auto xf = x.to(at::kFloat);
  auto normed = xf * at::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return (normed * weight.to(at::kFloat)).to(x.scalar_type());
}

at::Tensor gelu_tanh(const at::Tensor& x) { return at::gelu(x, "tanh"); }

at::Tensor modulate(const at::Tensor& x, const at::Tensor& shift, const at::Tensor& scale) {
  return x.to(at::kFloat) * (1 + scale.to(at::kFloat)) + shift.to(at::kFloat);
}

at::Tensor timestep_embedding(const at::Tensor& timesteps, int64_t dim, double max_period, at::ScalarType compute) {
  const int64_t half = dim / 2;
  auto exponent = at::arange(half, timesteps.options().dtype(compute)) / static_cast<double>(half);
  auto freqs = at::exp(-std::log(max_period) * exponent);
  auto args = timesteps.to(compute).unsqueeze(1) * freqs.unsqueeze(0);
  return at::cat({at::cos(args), at::sin(args)}, 1).to(at::kFloat);
}

}  // namespace uspdit::nn
