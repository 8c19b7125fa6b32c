#include "models/wan_vae/wan_vae_name_map.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace uspdit::models::wan_vae {
namespace {

using Rule = std::pair<const char*, const char*>;  // (diffusers prefix, original prefix)

// Whole-prefix renames outside the up path.
constexpr std::array<Rule, 6> kPrefixRules{{
    {"post_quant_conv.", "conv2."},
    {"decoder.conv_in.", "decoder.conv1."},
    {"decoder.mid_block.attentions.0.", "decoder.middle.1."},
    {"decoder.norm_out.", "decoder.head.0."},
    {"decoder.conv_out.", "decoder.head.2."},
    {"quant_conv.", "conv1."},
}};

// Inside a residual block.
constexpr std::array<Rule, 5> kResidualRules{{
    {"norm1.", "residual.0."},
    {"conv1.", "residual.2."},
    {"norm2.", "residual.3."},
    {"conv2.", "residual.6."},
    {"conv_shortcut.", "shortcut."},
}};

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

std::string residual_tail(const std::string& tail) {
  for (const auto& [d, o] : kResidualRules) {
    if (starts_with(tail, d)) return o + tail.substr(std::char_traits<char>::length(d));
  }
  return tail;
}

// Reads "<digits>." at `pos`; returns the number and advances pos past the dot, or -1.
int64_t read_index(const std::string& s, size_t& pos) {
  size_t end = pos;
  while (end < s.size() && std::isdigit(static_cast<unsigned char>(s[end]))) ++end;
  if (end == pos || end >= s.size() || s[end] != '.' || end - pos > 9) return -1;
  const int64_t value = std::stoll(s.substr(pos, end - pos));
  pos = end + 1;
  return value;
}

}  // namespace

const char* layout_name(WanVaeLayout layout) {
  return layout == WanVaeLayout::kDiffusers ? "diffusers" : "original";
}

WanVaeLayout detect_layout(const std::vector<std::string>& names) {
  const bool diffusers = std::any_of(names.begin(), names.end(), [](const std::string& n) {
    return starts_with(n, "post_quant_conv.") || starts_with(n, "decoder.conv_in.") ||
           starts_with(n, "decoder.up_blocks.");
  });
  return diffusers ? WanVaeLayout::kDiffusers : WanVaeLayout::kOriginal;
}

bool is_encoder_key(const std::string& name, WanVaeLayout layout) {
  if (starts_with(name, "encoder.")) return true;
  return layout == WanVaeLayout::kDiffusers ? starts_with(name, "quant_conv.") : starts_with(name, "conv1.");
}

std::string diffusers_to_engine_name(const std::string& name, int64_t num_res_blocks) {
  for (const auto& [d, o] : kPrefixRules) {
    if (starts_with(name, d)) return o + name.substr(std::char_traits<char>::length(d));
  }
  const std::string mid = "decoder.mid_block.resnets.";
  if (starts_with(name, mid)) {
    size_t pos = mid.size();
    const int64_t i = read_index(name, pos);
    if (i == 0 || i == 1)
      return "decoder.middle." + std::to_string(i == 0 ? 0 : 2) + "." + residual_tail(name.substr(pos));
    return name;
  }
  const std::string up = "decoder.up_blocks.";
  if (starts_with(name, up)) {
    size_t pos = up.size();
    const int64_t i = read_index(name, pos);
    if (i < 0) return name;
    const int64_t stride = num_res_blocks + 2;
    if (starts_with(name.substr(pos), "resnets.")) {
      pos += 8;
      const int64_t j = read_index(name, pos);
      if (j < 0) return name;
      return "decoder.upsamples." + std::to_string(i * stride + j) + "." + residual_tail(name.substr(pos));
    }
    if (starts_with(name.substr(pos), "upsamplers.0.")) {
      return "decoder.upsamples." + std::to_string(i * stride + num_res_blocks + 1) + "." +
             name.substr(pos + 13);
    }
  }
  return name;
}

}  // namespace uspdit::models::wan_vae
