// Checkpoint key layouts of the Wan 2.1 DiT. The engine uses the original release's names; a
// diffusers checkpoint (WanTransformer3DModel) is renamed into them. The map is data: a table
// of (diffusers, original) name pieces.
#pragma once

#include <string>
#include <vector>

namespace uspdit::models::wan {

enum class WanLayout { kOriginal, kDiffusers };

const char* layout_name(WanLayout layout);

// Diffusers checkpoints have `condition_embedder.*` / `blocks.N.attn1.*` keys, the original has
// `time_embedding.*` / `blocks.N.self_attn.*`.
WanLayout detect_layout(const std::vector<std::string>& names);

// The engine (original) name of a diffusers key; the key unchanged if no rule applies.
std::string diffusers_to_engine_name(const std::string& name);

}  // namespace uspdit::models::wan
