#include "models/hunyuan_video/hv_name_map.h"

#include <array>
#include <cctype>
#include <stdexcept>

#include "models/hunyuan_video/hv_tensors.h"

namespace uspdit::models::hunyuan_video {
namespace {

// An engine module (name without .weight/.bias) and the diffusers module(s) it is made of.
struct Rule {
  const char* engine;
  HvOp op;
  std::array<const char*, 4> diffusers;  // unused entries nullptr
};

// clang-format off
constexpr Rule kTopLevel[] = {
    {"img_in.proj", HvOp::kRename, {"x_embedder.proj"}},
    {"txt_in.input_embedder", HvOp::kRename, {"context_embedder.proj_in"}},
    {"txt_in.t_embedder.mlp.0", HvOp::kRename, {"context_embedder.time_text_embed.timestep_embedder.linear_1"}},
    {"txt_in.t_embedder.mlp.2", HvOp::kRename, {"context_embedder.time_text_embed.timestep_embedder.linear_2"}},
    {"txt_in.c_embedder.linear_1", HvOp::kRename, {"context_embedder.time_text_embed.text_embedder.linear_1"}},
    {"txt_in.c_embedder.linear_2", HvOp::kRename, {"context_embedder.time_text_embed.text_embedder.linear_2"}},
    {"time_in.mlp.0", HvOp::kRename, {"time_text_embed.timestep_embedder.linear_1"}},
    {"time_in.mlp.2", HvOp::kRename, {"time_text_embed.timestep_embedder.linear_2"}},
    {"vector_in.in_layer", HvOp::kRename, {"time_text_embed.text_embedder.linear_1"}},
    {"vector_in.out_layer", HvOp::kRename, {"time_text_embed.text_embedder.linear_2"}},
    {"guidance_in.mlp.0", HvOp::kRename, {"time_text_embed.guidance_embedder.linear_1"}},
    {"guidance_in.mlp.2", HvOp::kRename, {"time_text_embed.guidance_embedder.linear_2"}},
    {"final_layer.linear", HvOp::kRename, {"proj_out"}},
    // diffusers' AdaLayerNormContinuous stores (scale, shift); the release (shift, scale).
    {"final_layer.adaLN_modulation.1", HvOp::kSwapHalves, {"norm_out.linear"}},
};

// After "txt_in.individual_token_refiner.blocks.N." / "context_embedder.token_refiner.refiner_blocks.N.".
constexpr Rule kRefinerBlock[] = {
    {"norm1", HvOp::kRename, {"norm1"}},
    {"self_attn_qkv", HvOp::kConcat, {"attn.to_q", "attn.to_k", "attn.to_v"}},
    {"self_attn_proj", HvOp::kRename, {"attn.to_out.0"}},
    {"norm2", HvOp::kRename, {"norm2"}},
    {"mlp.fc1", HvOp::kRename, {"ff.net.0.proj"}},
    {"mlp.fc2", HvOp::kRename, {"ff.net.2"}},
    {"adaLN_modulation.1", HvOp::kRename, {"norm_out.linear"}},  // (gate_msa, gate_mlp) in both
};

// After "double_blocks.N." / "transformer_blocks.N.".
constexpr Rule kDoubleBlock[] = {
    {"img_mod.linear", HvOp::kRename, {"norm1.linear"}},
    {"img_attn_qkv", HvOp::kConcat, {"attn.to_q", "attn.to_k", "attn.to_v"}},
    {"img_attn_q_norm", HvOp::kRename, {"attn.norm_q"}},
    {"img_attn_k_norm", HvOp::kRename, {"attn.norm_k"}},
    {"img_attn_proj", HvOp::kRename, {"attn.to_out.0"}},
    {"img_mlp.fc1", HvOp::kRename, {"ff.net.0.proj"}},
    {"img_mlp.fc2", HvOp::kRename, {"ff.net.2"}},
    {"txt_mod.linear", HvOp::kRename, {"norm1_context.linear"}},
    {"txt_attn_qkv", HvOp::kConcat, {"attn.add_q_proj", "attn.add_k_proj", "attn.add_v_proj"}},
    {"txt_attn_q_norm", HvOp::kRename, {"attn.norm_added_q"}},
    {"txt_attn_k_norm", HvOp::kRename, {"attn.norm_added_k"}},
    {"txt_attn_proj", HvOp::kRename, {"attn.to_add_out"}},
    {"txt_mlp.fc1", HvOp::kRename, {"ff_context.net.0.proj"}},
    {"txt_mlp.fc2", HvOp::kRename, {"ff_context.net.2"}},
};

// After "single_blocks.N." / "single_transformer_blocks.N.".
constexpr Rule kSingleBlock[] = {
    {"linear1", HvOp::kConcat, {"attn.to_q", "attn.to_k", "attn.to_v", "proj_mlp"}},
    {"linear2", HvOp::kRename, {"proj_out"}},
    {"q_norm", HvOp::kRename, {"attn.norm_q"}},
    {"k_norm", HvOp::kRename, {"attn.norm_k"}},
    {"modulation.linear", HvOp::kRename, {"norm.linear"}},
};

// clang-format on

struct Scope {
  const char* engine_prefix;     // followed by "N." for numbered scopes
  const char* diffusers_prefix;  // likewise
  bool numbered;
  const Rule* begin;
  const Rule* end;
};

template <size_t N>
constexpr Scope scope(const char* engine, const char* diffusers, bool numbered, const Rule (&rules)[N]) {
  return {engine, diffusers, numbered, rules, rules + N};
}

// Numbered scopes first: the top-level table has no entry that could match a block name anyway,
// but a block is recognised by its full prefix, never by a substring.
const Scope kScopes[] = {
    scope("txt_in.individual_token_refiner.blocks.", "context_embedder.token_refiner.refiner_blocks.", true,
          kRefinerBlock),
    scope("double_blocks.", "transformer_blocks.", true, kDoubleBlock),
    scope("single_blocks.", "single_transformer_blocks.", true, kSingleBlock),
    scope("", "", false, kTopLevel),
};

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

// The rule and the diffusers module prefix ("transformer_blocks.3." or "") for an engine module.
struct Match {
  const Rule* rule = nullptr;
  std::string diffusers_prefix;
};

Match match(const std::string& module) {
  for (const Scope& s : kScopes) {
    std::string rest = module, index;
    if (s.numbered) {
      const std::string prefix = s.engine_prefix;
      if (!starts_with(module, prefix)) continue;
      size_t i = prefix.size();
      while (i < module.size() && std::isdigit(static_cast<unsigned char>(module[i]))) ++i;
      if (i == prefix.size() || i >= module.size() || module[i] != '.') continue;
      index = module.substr(prefix.size(), i - prefix.size()) + ".";
      rest = module.substr(i + 1);
    }
    for (const Rule* r = s.begin; r != s.end; ++r) {
      if (rest == r->engine) return {r, std::string(s.diffusers_prefix) + index};
    }
    if (s.numbered) break;  // a block name with no rule for its module: no other scope applies
  }
  return {};
}

}  // namespace

const char* layout_name(HvLayout layout) {
  return layout == HvLayout::kDiffusers ? "diffusers" : "original";
}

HvLayout detect_hv_layout(const std::vector<std::string>& names) {
  for (const auto& n : names) {
    if (starts_with(n, "x_embedder.") || starts_with(n, "context_embedder.") ||
        starts_with(n, "transformer_blocks.") || starts_with(n, "single_transformer_blocks.") ||
        starts_with(n, "time_text_embed.")) {
      return HvLayout::kDiffusers;
    }
  }
  return HvLayout::kOriginal;
}

std::vector<HvRecipe> hv_diffusers_recipes(const HvConfig& config) {
  std::vector<HvRecipe> recipes;
  for (const auto& spec : hv_tensor_specs(config)) {
    const auto dot = spec.name.rfind('.');
    const std::string module = spec.name.substr(0, dot), suffix = spec.name.substr(dot);  // ".weight"
    const Match m = match(module);
    if (m.rule == nullptr) throw std::logic_error("hv_name_map: no diffusers recipe for '" + spec.name + "'");
    HvRecipe recipe{spec.name, m.rule->op, {}};
    size_t count = 0;
    while (count < m.rule->diffusers.size() && m.rule->diffusers[count] != nullptr) ++count;
    int64_t rows_left = spec.shape.at(0);
    for (size_t i = 0; i < count; ++i) {
      HvPart part{m.diffusers_prefix + m.rule->diffusers[i] + suffix, spec.shape};
      if (recipe.op == HvOp::kConcat) {
        part.shape[0] = i + 1 < count ? config.hidden : rows_left;
        rows_left -= part.shape[0];
      }
      recipe.parts.push_back(std::move(part));
    }
    recipes.push_back(std::move(recipe));
  }
  return recipes;
}

}  // namespace uspdit::models::hunyuan_video
