// What every model's weight list has in common: a spec per tensor (engine name, shape, whether it
// stays fp32 whatever the run dtype), seeded random tensors for a spec list (benchmarks and
// parallel tests need no checkpoint), and taking tensors back out of a name map by name.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "nn/layers.h"

namespace uspdit::models {

struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  bool fp32 = false;
};

// The dtype a tensor is held in for a run in `dtype`.
inline at::ScalarType holding_dtype(const TensorSpec& spec, at::ScalarType dtype) {
  return spec.fp32 ? at::kFloat : dtype;
}

// The names of a spec list, in order (what io::match_names compares a checkpoint against).
std::vector<std::string> spec_names(const std::vector<TensorSpec>& specs);

// Appends `<name>.weight` [out, in] and `<name>.bias` [out].
void add_linear_spec(std::vector<TensorSpec>& specs, const std::string& name, int64_t out_features,
                     int64_t in_features, bool fp32 = false);

// Seeded random tensors: linear/conv weights N(0, 1/fan_in) (activations stay O(1) through many
// layers), norm weights 1 + N(0, 0.01), biases and modulation tables N(0, 0.01). Drawn on the
// CPU generator and moved to `device`, so every device gets the same numbers.
std::map<std::string, at::Tensor> random_tensors(const std::vector<TensorSpec>& specs, at::ScalarType dtype,
                                                 uint64_t seed, c10::Device device);

// Takes tensors out of a complete name map; a missing name is a bug (the loader checked).
class TensorTaker {
 public:
  explicit TensorTaker(std::map<std::string, at::Tensor> tensors) : tensors_(std::move(tensors)) {}
  at::Tensor operator()(const std::string& name);
  nn::Linear linear(const std::string& name) { return {(*this)(name + ".weight"), (*this)(name + ".bias")}; }

 private:
  std::map<std::string, at::Tensor> tensors_;
};

}  // namespace uspdit::models
