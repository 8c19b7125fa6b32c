#include "models/wan/wan_name_map.h"

#include <array>
#include <utility>

namespace uspdit::models::wan {
namespace {

using Rule = std::pair<const char*, const char*>;  // diffusers -> original

// Whole-name prefixes outside the blocks.
constexpr std::array<Rule, 7> kTopLevel = {{
    {"condition_embedder.time_embedder.linear_1.", "time_embedding.0."},
    {"condition_embedder.time_embedder.linear_2.", "time_embedding.2."},
    {"condition_embedder.time_proj.", "time_projection.1."},
    {"condition_embedder.text_embedder.linear_1.", "text_embedding.0."},
    {"condition_embedder.text_embedder.linear_2.", "text_embedding.2."},
    {"proj_out.", "head.head."},
    {"scale_shift_table", "head.modulation"},
}};

// The part after "blocks.N.". diffusers' norm2 is the affine cross-attention norm, which the
// original calls norm3 (the original's norm1/norm2 have no weights).
constexpr std::array<Rule, 16> kInBlock = {{
    {"scale_shift_table", "modulation"},
    {"attn1.to_q.", "self_attn.q."},
    {"attn1.to_k.", "self_attn.k."},
    {"attn1.to_v.", "self_attn.v."},
    {"attn1.to_out.0.", "self_attn.o."},
    {"attn1.norm_q.", "self_attn.norm_q."},
    {"attn1.norm_k.", "self_attn.norm_k."},
    {"attn2.to_q.", "cross_attn.q."},
    {"attn2.to_k.", "cross_attn.k."},
    {"attn2.to_v.", "cross_attn.v."},
    {"attn2.to_out.0.", "cross_attn.o."},
    {"attn2.norm_q.", "cross_attn.norm_q."},
    {"attn2.norm_k.", "cross_attn.norm_k."},
    {"norm2.", "norm3."},
    {"ffn.net.0.proj.", "ffn.0."},
    {"ffn.net.2.", "ffn.2."},
}};

std::string apply(const std::string& name, const Rule* begin, const Rule* end) {
  for (const Rule* r = begin; r != end; ++r) {
    const std::string from = r->first;
    if (name.rfind(from, 0) == 0) return r->second + name.substr(from.size());
  }
  return name;
}

}  // namespace

const char* layout_name(WanLayout layout) {
  return layout == WanLayout::kDiffusers ? "diffusers" : "original";
}

WanLayout detect_layout(const std::vector<std::string>& names) {
  for (const auto& n : names) {
    if (n.rfind("condition_embedder.", 0) == 0 || n.find(".attn1.") != std::string::npos) {
      return WanLayout::kDiffusers;
    }
  }
  return WanLayout::kOriginal;
}

std::string diffusers_to_engine_name(const std::string& name) {
  const std::string blocks = "blocks.";
  if (name.rfind(blocks, 0) == 0) {
    const auto dot = name.find('.', blocks.size());
    if (dot == std::string::npos) return name;
    const std::string prefix = name.substr(0, dot + 1), rest = name.substr(dot + 1);
    return prefix + apply(rest, kInBlock.data(), kInBlock.data() + kInBlock.size());
  }
  return apply(name, kTopLevel.data(), kTopLevel.data() + kTopLevel.size());
}

}  // namespace uspdit::models::wan
