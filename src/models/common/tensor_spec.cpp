#include "models/common/tensor_spec.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <stdexcept>

namespace uspdit::models {

std::vector<std::string> spec_names(const std::vector<TensorSpec>& specs) {
  std::vector<std::string> names;
  names.reserve(specs.size());
  for (const auto& spec : specs) names.push_back(spec.name);
  return names;
}

void add_linear_spec(std::vector<TensorSpec>& specs, const std::string& name, int64_t out_features,
                     int64_t in_features, bool fp32) {
  specs.push_back({name + ".weight", {out_features, in_features}, fp32});
  specs.push_back({name + ".bias", {out_features}, fp32});
}

std::map<std::string, at::Tensor> random_tensors(const std::vector<TensorSpec>& specs, at::ScalarType dtype,
                                                 uint64_t seed, c10::Device device) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::map<std::string, at::Tensor> tensors;
  for (const auto& spec : specs) {
    auto t = at::randn(spec.shape, gen, at::TensorOptions().dtype(at::kFloat));
    const bool norm_weight = spec.name.find("norm") != std::string::npos && spec.name.ends_with(".weight");
    if (norm_weight) {
      t = 1.0 + 0.1 * t;  // near 1, but not 1: a mis-wired norm must show
    } else if (spec.shape.size() >= 2 && spec.name.find("modulation") == std::string::npos) {
      int64_t fan_in = 1;
      for (size_t i = 1; i < spec.shape.size(); ++i) fan_in *= spec.shape[i];
      t = t / std::sqrt(static_cast<double>(fan_in));
    } else {
      t = 0.1 * t;
    }
    tensors[spec.name] = t.to(device, holding_dtype(spec, dtype));
  }
  return tensors;
}

at::Tensor TensorTaker::operator()(const std::string& name) {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw std::logic_error("weights: missing " + name + " after loading");
  return it->second;
}

}  // namespace uspdit::models
