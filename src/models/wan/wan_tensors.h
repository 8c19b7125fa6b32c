// Every tensor of a Wan 2.1 DiT: its engine name, its shape for a config, and whether it stays
// fp32 whatever the run's dtype (norms, modulation, time embedding — the reference's rules).
// The loader checks checkpoints against this list; the random initialiser fills it; both then
// assemble WanWeights from the same name → tensor map.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <vector>

#include "models/wan/wan_config.h"
#include "models/wan/wan_weights.h"

namespace uspdit::models::wan {

struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  bool fp32 = false;
};

std::vector<TensorSpec> wan_tensor_specs(const WanConfig& config);

// Builds WanWeights from a complete map (every spec present, right shape and dtype).
WanWeights assemble_wan_weights(const WanConfig& config, std::map<std::string, at::Tensor> tensors);

// Seeded random weights in the real layout (for benchmarks and parallel-invariance tests).
WanWeights random_wan_weights(const WanConfig& config, at::ScalarType dtype, uint64_t seed);

// The dtype a tensor is held in for a run in `dtype`.
inline at::ScalarType holding_dtype(const TensorSpec& spec, at::ScalarType dtype) {
  return spec.fp32 ? at::kFloat : dtype;
}

}  // namespace uspdit::models::wan
