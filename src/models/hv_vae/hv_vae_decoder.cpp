#include "models/hv_vae/hv_vae_decoder.h"

#include <ATen/ATen.h>

#include <stdexcept>
#include <vector>

#include "core/error.h"
#include "models/hv_vae/hv_vae_attention.h"
#include "models/hv_vae/hv_vae_loader.h"

namespace uspdit::models::hv_vae {
namespace {

constexpr double kNormEps = 1e-6;

// One decoder call. `run` is the weights' dtype: the dtype autocast gives convolutions, linears
// and attention; GroupNorm computes in `norm` — fp32 under autocast (its fp32 list), so its
// output, the SiLU after it and the residual sums that meet it stay fp32 as in the release; the
// weights' dtype without autocast (diffusers).
class DecoderPass {
 public:
  DecoderPass(const HvVaeConfig& config, const std::map<std::string, at::Tensor>& weights, at::ScalarType run,
              at::ScalarType norm)
      : config_(config), weights_(weights), run_(run), norm_(norm) {}

  at::Tensor operator()(const at::Tensor& scaled) const {
    auto x = conv(scaled, "post_quant_conv", 1);
    x = conv(x, "decoder.conv_in.conv", 3);
    x = resnet(x, "decoder.mid_block.resnets.0.");
    if (config_.mid_block_add_attention) x = attention(x, "decoder.mid_block.attentions.0.");
    x = resnet(x, "decoder.mid_block.resnets.1.");
    x = x.to(run_);  // DecoderCausal3D: sample.to(upscale_dtype) before the up blocks
    const auto blocks = decoder_up_blocks(config_);
    for (size_t i = 0; i < blocks.size(); ++i) {
      const std::string p = "decoder.up_blocks." + std::to_string(i) + ".";
      for (int64_t j = 0; j <= config_.layers_per_block; ++j)
        x = resnet(x, p + "resnets." + std::to_string(j) + ".");
      if (blocks[i].upsample_space || blocks[i].upsample_time)
        x = upsample(x, p + "upsamplers.0.conv.conv", blocks[i].upsample_time ? 2 : 1,
                     blocks[i].upsample_space ? 2 : 1);
    }
    x = at::silu(group_norm(x, "decoder.conv_norm_out"));
    return conv(x, "decoder.conv_out.conv", 3);
  }

 private:
  const at::Tensor& w(const std::string& name) const {
    auto it = weights_.find(name);
    if (it == weights_.end()) throw std::logic_error("HvVaeDecoder: no weight " + name);
    return it->second;
  }

  // CausalConv3d: replicate padding, k−1 frames in front and none behind, k/2 on each side of H
  // and W (padding copies values, so casting first is the same as the reference's pad-then-cast).
  at::Tensor conv(const at::Tensor& x, const std::string& name, int64_t k) const {
    auto in = x.to(run_);
    if (k > 1) in = at::replication_pad3d(in, {k / 2, k / 2, k / 2, k / 2, k - 1, 0});
    return at::conv3d(in, w(name + ".weight"), w(name + ".bias"));
  }

  at::Tensor group_norm(const at::Tensor& x, const std::string& name) const {
    return at::group_norm(x.to(norm_), config_.norm_num_groups, w(name + ".weight").to(norm_),
                          w(name + ".bias").to(norm_), kNormEps);
  }

  at::Tensor resnet(const at::Tensor& x, const std::string& p) const {
    auto h = conv(at::silu(group_norm(x, p + "norm1")), p + "conv1.conv", 3);
    h = conv(at::silu(group_norm(h, p + "norm2")), p + "conv2.conv", 3);
    const auto shortcut =
        weights_.count(p + "conv_shortcut.conv.weight") ? conv(x, p + "conv_shortcut.conv", 1) : x;
    return h + shortcut;
  }

  at::Tensor linear(const at::Tensor& x, const std::string& name) const {
    return at::linear(x.to(run_), w(name + ".weight"), w(name + ".bias"));
  }

  // diffusers Attention (1 head of the full width, GroupNorm on the input, residual) over the
  // tokens b (f h w) c, block-causal over frames.
  at::Tensor attention(const at::Tensor& x, const std::string& p) const {
    const int64_t B = x.size(0), C = x.size(1), T = x.size(2), H = x.size(3), W = x.size(4);
    auto tokens = [&](const at::Tensor& t) { return t.permute({0, 2, 3, 4, 1}).reshape({B, T * H * W, C}); };
    const auto normed = tokens(group_norm(x, p + "group_norm"));
    auto q = linear(normed, p + "to_q").unsqueeze(1);
    auto k = linear(normed, p + "to_k").unsqueeze(1);
    auto v = linear(normed, p + "to_v").unsqueeze(1);
    auto out = linear(block_causal_attention(q, k, v, T).squeeze(1), p + "to_out.0") + tokens(x);
    return out.view({B, T, H, W, C}).permute({0, 4, 1, 2, 3});
  }

  // UpsampleCausal3D: frame 0 nearest ×(s, s) in space only, the others nearest ×(t, s, s), then
  // a causal conv. Interpolation runs in the input's dtype (fp16 in the release).
  at::Tensor upsample(const at::Tensor& x, const std::string& name, int64_t t, int64_t s) const {
    const int64_t T = x.size(2), H = x.size(3), W = x.size(4);
    const auto st = static_cast<double>(t), ss = static_cast<double>(s);
    // contiguous(): strided interpolate inputs have been miscomputed on some versions (pytorch#81665).
    auto first = at::upsample_nearest2d(x.select(2, 0).contiguous(), {H * s, W * s}, ss, ss).unsqueeze(2);
    at::Tensor y = first;
    if (T > 1) {
      auto rest =
          at::upsample_nearest3d(x.narrow(2, 1, T - 1).contiguous(), {(T - 1) * t, H * s, W * s}, st, ss, ss);
      y = at::cat({first, rest}, 2);
    }
    return conv(y, name, 3);
  }

  const HvVaeConfig& config_;
  const std::map<std::string, at::Tensor>& weights_;
  at::ScalarType run_;
  at::ScalarType norm_;
};

}  // namespace

HvVaeDecoder HvVaeDecoder::load(const std::string& path, c10::Device device, at::ScalarType dtype) {
  auto loaded = load_hv_vae(path, device, dtype);
  return HvVaeDecoder(std::move(loaded.config), std::move(loaded.weights));
}

HvVaeDecoder::HvVaeDecoder(HvVaeConfig config, std::map<std::string, at::Tensor> weights)
    : config_(std::move(config)), weights_(std::move(weights)) {
  validate(config_, "HvVaeDecoder");
  const auto specs = hv_vae_decoder_specs(config_);
  dtype_ = weights_.count(specs.front().name) ? weights_.at(specs.front().name).scalar_type() : at::kFloat;
  if (dtype_ != at::kFloat && dtype_ != at::kHalf)
    throw std::invalid_argument("HvVaeDecoder: weights must be fp32 or fp16");
  for (const auto& spec : specs) {
    auto it = weights_.find(spec.name);
    if (it == weights_.end() || it->second.sizes().vec() != spec.shape ||
        it->second.scalar_type() != dtype_) {
      throw std::invalid_argument("HvVaeDecoder: weight " + spec.name +
                                  " missing, or not of the spec's shape and " +
                                  "the dtype of post_quant_conv.weight");
    }
  }
}

const at::Tensor& HvVaeDecoder::weight(const std::string& name) const {
  auto it = weights_.find(name);
  if (it == weights_.end()) throw std::logic_error("HvVaeDecoder: no weight " + name);
  return it->second;
}

int64_t HvVaeDecoder::decoded_frames(int64_t latent_frames) const {
  for (const auto& b : decoder_up_blocks(config_)) {
    if (b.upsample_time) latent_frames = 2 * latent_frames - 1;
  }
  return latent_frames;
}

at::Tensor HvVaeDecoder::decode_tile(const at::Tensor& scaled) const {
  return DecoderPass(config_, weights_, dtype_, autocast_ ? at::kFloat : dtype_)(scaled).contiguous();
}

at::Tensor HvVaeDecoder::decode(const at::Tensor& z, const HvVaeTiling& tiling, parallel::Communicator* comm,
                                const std::function<void()>& after_each_tile) const {
  require(z.dim() == 5 && z.size(1) == config_.latent_channels && z.size(2) >= 1 && z.size(3) >= 1 &&
              z.size(4) >= 1,
          "VAE decode: latents must be [B, " + std::to_string(config_.latent_channels) + ", T, h, w], got " +
              std::to_string(z.dim()) + "-D" +
              (z.dim() >= 2 ? " with " + std::to_string(z.size(1)) + " channels" : std::string()));
  // The pipeline divides its fp32 latents by the scaling factor before vae.decode (no shift).
  const auto scaled = z.to(at::kFloat) / config_.scaling_factor;
  const auto plan = plan_tiles(z.size(2), z.size(3), z.size(4), tiling);
  auto box = [&](const HvVaeTile& t) {
    return scaled.narrow(2, t.t0, t.frames).narrow(3, t.h0, t.rows).narrow(4, t.w0, t.cols);
  };
  std::vector<at::Tensor> decoded(plan.tiles.size());
  const int ranks = comm ? comm->size() : 1;
  if (ranks == 1 || plan.tiles.size() == 1) {
    for (size_t k = 0; k < plan.tiles.size(); ++k) {
      decoded[k] = decode_tile(box(plan.tiles[k]));
      if (after_each_tile) after_each_tile();
    }
  } else {
    const int rank = comm->rank();
    const auto owner = deal_tiles(plan, ranks);
    for (size_t k = 0; k < plan.tiles.size(); ++k) {
      if (owner[k] == rank) decoded[k] = decode_tile(box(plan.tiles[k]));
    }
    // Every tile from its owner, in plan order (all ranks make the same calls in the same order).
    int64_t scale = 1;  // pixels per latent
    for (const auto& b : decoder_up_blocks(config_)) scale *= b.upsample_space ? 2 : 1;
    const auto options = weight("decoder.conv_out.conv.weight").options();
    for (size_t k = 0; k < plan.tiles.size(); ++k) {
      const auto& t = plan.tiles[k];
      if (owner[k] != rank)
        decoded[k] = at::empty(
            {z.size(0), config_.out_channels, decoded_frames(t.frames), scale * t.rows, scale * t.cols},
            options);
      comm->broadcast(decoded[k], owner[k]);
      if (after_each_tile) after_each_tile();
    }
  }
  return assemble_tiles(plan, decoded, tiling).contiguous();
}

}  // namespace uspdit::models::hv_vae
