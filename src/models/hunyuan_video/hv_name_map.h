// Checkpoint key layouts of the HunyuanVideo DiT. The engine uses the original release's names
// (fused q/k/v, final modulation as (shift, scale)); a diffusers checkpoint
// (HunyuanVideoTransformer3DModel) is turned into them by recipes: which diffusers tensors make
// an engine tensor and how (renamed, stacked along dim 0, or its two halves swapped). The
// recipes come from a table of (original, diffusers) module-name pieces: data, not code paths.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/hunyuan_video/hv_config.h"

namespace uspdit::models::hunyuan_video {

enum class HvLayout { kOriginal, kDiffusers };

const char* layout_name(HvLayout layout);

// Diffusers checkpoints have `x_embedder.*` / `transformer_blocks.N.*` / `context_embedder.*`
// keys, the original `img_in.*` / `double_blocks.N.*` / `txt_in.*`.
HvLayout detect_hv_layout(const std::vector<std::string>& names);

enum class HvOp {
  kRename,      // one part, taken as it is
  kConcat,      // the parts stacked along dim 0, in order
  kSwapHalves,  // one part whose two halves along dim 0 change places ((scale, shift) -> (shift, scale))
};

struct HvPart {
  std::string name;            // diffusers tensor name
  std::vector<int64_t> shape;  // the shape it must have for the config
};

struct HvRecipe {
  std::string engine;  // engine (original) tensor name
  HvOp op = HvOp::kRename;
  std::vector<HvPart> parts;
};

// One recipe per tensor of hv_tensor_specs(config), in the same order. A concatenated part has
// `hidden` rows, except the last, which takes the rest (q, k, v: hidden each; the single blocks'
// proj_mlp: mlp_hidden).
std::vector<HvRecipe> hv_diffusers_recipes(const HvConfig& config);

}  // namespace uspdit::models::hunyuan_video
