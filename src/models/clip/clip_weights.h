// The CLIP text tower's tensors: engine names (transformers 5's CLIPTextModel names, no
// prefix), and the file-name map for the layouts they come in: CLIPTextModel saved by
// transformers 5 (no prefix) or 4.x (`text_model.`), and a whole CLIPModel (`text_model.` beside
// the vision tower and projections, which are never read).
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <vector>

#include "models/clip/clip_config.h"
#include "models/common/checked_load.h"
#include "models/common/tensor_spec.h"
#include "nn/layers.h"

namespace uspdit::models::clip {

struct ClipLayer {
  at::Tensor norm1_weight, norm1_bias;
  nn::Linear q, k, v, out;
  at::Tensor norm2_weight, norm2_bias;
  nn::Linear fc1, fc2;
};

struct ClipTextWeights {
  at::Tensor token_embedding;     // [vocab, hidden]
  at::Tensor position_embedding;  // [max_positions, hidden]
  std::vector<ClipLayer> layers;
  at::Tensor final_norm_weight, final_norm_bias;
};

// Every tensor the text tower reads, held in the run dtype (as transformers' .to(fp16) does).
std::vector<TensorSpec> clip_text_tensor_specs(const ClipTextConfig& config);

// prefix: "text_model." or ""; unexpected: names no rule explains.
struct ClipNameIndex : MappedNames {
  std::vector<std::string> ignored;  // vision tower, projections, logit_scale, position_ids
};
ClipNameIndex index_clip_names(const std::vector<std::string>& file_names, const ClipTextConfig& config);

ClipTextWeights assemble_clip_text_weights(const ClipTextConfig& config,
                                           std::map<std::string, at::Tensor> tensors);

}  // namespace uspdit::models::clip
