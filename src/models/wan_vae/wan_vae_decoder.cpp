#include "models/wan_vae/wan_vae_decoder.h"

#include <ATen/ATen.h>

#include <algorithm>

#include <cmath>
#include <functional>
#include <stdexcept>
#include <vector>

#include "core/error.h"
#include "models/wan_vae/wan_vae_loader.h"
#include "models/wan_vae/wan_vae_rows.h"

namespace uspdit::models::wan_vae {
namespace {

// Frames of history a causal conv with time kernel 3 sees (the reference's CACHE_T).
constexpr int64_t kHistory = 2;

// What one causal conv remembers between latent frames: its last kHistory input frames (halo
// rows included for spatial convs). `skipped`: a temporal upsample that has seen only the first
// latent frame, for which it ran no time conv (the reference's 'Rep').
struct ConvCache {
  at::Tensor frames;
  bool skipped = false;
};

at::Tensor last_frames(const at::Tensor& x, int64_t n) {
  const int64_t t = x.size(2);
  return x.narrow(2, t - std::min(n, t), std::min(n, t)).clone();
}

// Prepends zero frames to `x`, which starts with `history` cached frames, up to kHistory of them.
at::Tensor pad_history(const at::Tensor& x, int64_t history) {
  if (history >= kHistory) return x;
  return at::constant_pad_nd(x, {0, 0, 0, 0, kHistory - history, 0});
}

// F.normalize over channels (dim 1, eps 1e-12) · sqrt(C) · gamma: RMS_norm of the reference.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& gamma) {
  auto norm = at::linalg_vector_norm(x, 2, at::IntArrayRef{1}, /*keepdim=*/true).clamp_min(1e-12);
  return x / norm * std::sqrt(static_cast<double>(x.size(1))) * gamma;
}

// One decode call: the caches of every causal conv, visited in the same order for every latent
// frame (the reference's feat_cache / feat_idx).
class DecodeRun {
 public:
  using Lookup = std::function<const at::Tensor&(const std::string&)>;
  using Has = std::function<bool(const std::string&)>;

  DecodeRun(const WanVaeConfig& config, Lookup w, Has has, const RowShard& rows)
      : config_(config),
        w_(std::move(w)),
        has_(std::move(has)),
        rows_(rows),
        stages_(decoder_stages(config)) {}

  // x [B, z_dim, 1, h_local, w] after conv2 -> [B, 3, 1 or 4, 8 h_local, 8 w].
  at::Tensor frame(const at::Tensor& latent) {
    next_ = 0;
    auto x = causal_conv(latent, "decoder.conv1");
    x = residual(x, "decoder.middle.0.");
    x = attention(x, "decoder.middle.1.");
    x = residual(x, "decoder.middle.2.");
    int64_t k = 0;
    for (const auto& s : stages_) {
      for (int64_t j = 0; j <= config_.num_res_blocks; ++j)
        x = residual(x, "decoder.upsamples." + std::to_string(k++) + ".");
      if (s.upsample) x = upsample(x, "decoder.upsamples." + std::to_string(k++) + ".", s.temporal);
    }
    x = at::silu(rms_norm(x, w_("decoder.head.0.gamma")));
    return causal_conv(x, "decoder.head.2");
  }

 private:
  ConvCache& cache() {
    if (next_ == caches_.size()) caches_.emplace_back();
    return caches_[next_++];
  }

  // CausalConv3d with kernel 3x3x3 and padding 1: zeros in front in time (or the cached frames),
  // the neighbours' rows (or zeros) above and below, zeros left and right.
  at::Tensor causal_conv(const at::Tensor& x, const std::string& name) {
    ConvCache& c = cache();
    const int64_t history = c.frames.defined() ? c.frames.size(2) : 0;
    const int64_t B = x.size(0), C = x.size(1), T = x.size(2), h = x.size(3), W = x.size(4);
    // One zeroed buffer [history slots | new frames] x [halo | rows | halo]: no separate copies
    // for the halo, the concatenation with the cache and the causal zero padding.
    auto in = at::zeros({B, C, kHistory + T, h + 2, W}, x.options());
    if (history > 0) in.narrow(2, kHistory - history, history).copy_(c.frames);
    rows_.halo_into(x, in.narrow(2, kHistory, T));
    c.frames = last_frames(in.narrow(2, kHistory - history, history + T), kHistory);
    return at::conv3d(in, w_(name + ".weight"), w_(name + ".bias"), at::IntArrayRef{1, 1, 1},
                      at::IntArrayRef{0, 0, 1});
  }

  at::Tensor residual(const at::Tensor& x, const std::string& p) {
    at::Tensor shortcut = x;
    if (has_(p + "shortcut.weight"))
      shortcut = at::conv3d(x, w_(p + "shortcut.weight"), w_(p + "shortcut.bias"));
    auto y = at::silu(rms_norm(x, w_(p + "residual.0.gamma")));
    y = causal_conv(y, p + "residual.2");
    y = at::silu(rms_norm(y, w_(p + "residual.3.gamma")));
    y = causal_conv(y, p + "residual.6");
    return y + shortcut;
  }

  // Single-head attention over each frame's h·w positions (scale 1/sqrt(C)); in parallel the
  // keys and values need the whole frame, so the normalised rows are gathered first.
  at::Tensor attention(const at::Tensor& x, const std::string& p) {
    const int64_t B = x.size(0), C = x.size(1), T = x.size(2), h = x.size(3), W = x.size(4);
    auto frames = x.permute({0, 2, 1, 3, 4}).reshape({B * T, C, h, W});
    auto normed = rows_.gather(rms_norm(frames, w_(p + "norm.gamma")), 1);
    const int64_t H = normed.size(2);
    auto qkv = at::conv2d(normed, w_(p + "to_qkv.weight"), w_(p + "to_qkv.bias"));
    qkv = qkv.reshape({B * T, 1, 3 * C, H * W}).permute({0, 1, 3, 2}).contiguous();
    auto parts = qkv.chunk(3, -1);
    auto q = parts[0].narrow(2, rows_.begin(1) * W, h * W);
    auto out = at::scaled_dot_product_attention(q, parts[1], parts[2]);
    out = out.squeeze(1).permute({0, 2, 1}).reshape({B * T, C, h, W});
    out = at::conv2d(out, w_(p + "proj.weight"), w_(p + "proj.bias"));
    return out.view({B, T, C, h, W}).permute({0, 2, 1, 3, 4}) + x;
  }

  // Resample 'upsample3d' / 'upsample2d': (time conv doubling the frames,) then per frame
  // nearest 2x (nearest-exact at factor 2 is plain nearest) and a 3x3 conv halving the channels.
  at::Tensor upsample(at::Tensor x, const std::string& p, bool temporal) {
    const int64_t B = x.size(0), C = x.size(1);
    if (temporal) {
      ConvCache& c = cache();
      if (!c.frames.defined() && !c.skipped) {
        c.skipped = true;
      } else {
        const int64_t T = x.size(2);
        const int64_t history = c.frames.defined() ? c.frames.size(2) : 0;
        auto in = history > 0 ? at::cat({c.frames, x}, 2) : x;
        // After the skipped first frame the history starts with a zero frame.
        c.frames = last_frames(c.skipped ? at::cat({at::zeros_like(x.narrow(2, 0, 1)), x}, 2) : in, kHistory);
        c.skipped = false;
        auto y = at::conv3d(pad_history(in, history), w_(p + "time_conv.weight"), w_(p + "time_conv.bias"));
        // Channels [2, C]: the two output frames of each input frame, interleaved in time.
        y = y.reshape({B, 2, C, T, x.size(3), x.size(4)});
        x = at::stack({y.select(1, 0), y.select(1, 1)}, 3).reshape({B, C, 2 * T, x.size(3), x.size(4)});
      }
    }
    const int64_t T = x.size(2), h = x.size(3), W = x.size(4);
    auto frames = x.permute({0, 2, 1, 3, 4}).reshape({B * T, C, h, W});
    frames = at::upsample_nearest2d(frames, {2 * h, 2 * W});
    auto y = at::conv2d(rows_.halo(frames), w_(p + "resample.1.weight"), w_(p + "resample.1.bias"),
                        at::IntArrayRef{1, 1}, at::IntArrayRef{0, 1});
    return y.view({B, T, y.size(1), 2 * h, 2 * W}).permute({0, 2, 1, 3, 4});
  }

  const WanVaeConfig& config_;
  Lookup w_;
  Has has_;
  const RowShard& rows_;
  std::vector<WanVaeStage> stages_;
  std::vector<ConvCache> caches_;
  size_t next_ = 0;
};

}  // namespace

WanVaeDecoder WanVaeDecoder::load(const std::string& path, c10::Device device) {
  auto loaded = load_wan_vae(path, device);
  return WanVaeDecoder(std::move(loaded.config), std::move(loaded.weights));
}

WanVaeDecoder::WanVaeDecoder(WanVaeConfig config, std::map<std::string, at::Tensor> weights)
    : config_(std::move(config)), weights_(std::move(weights)) {
  validate(config_, "WanVaeDecoder");
  for (const auto& spec : wan_vae_decoder_specs(config_)) {
    auto it = weights_.find(spec.name);
    if (it == weights_.end() || it->second.sizes().vec() != spec.shape ||
        it->second.scalar_type() != at::kFloat) {
      throw std::invalid_argument("WanVaeDecoder: weight " + spec.name +
                                  " missing or not fp32 of the spec's shape");
    }
  }
}

const at::Tensor& WanVaeDecoder::weight(const std::string& name) const {
  auto it = weights_.find(name);
  if (it == weights_.end()) throw std::logic_error("WanVaeDecoder: no weight " + name);
  return it->second;
}

at::Tensor WanVaeDecoder::decode(const at::Tensor& z, parallel::Communicator* comm,
                                 const std::function<void()>& after_each_latent_frame) const {
  return decode_unclamped(z, comm, after_each_latent_frame).clamp_(-1.0, 1.0);
}

at::Tensor WanVaeDecoder::decode_unclamped(const at::Tensor& z, parallel::Communicator* comm,
                                           const std::function<void()>& after_each_latent_frame) const {
  require(z.dim() == 5 && z.size(1) == config_.z_dim && z.size(2) >= 1 && z.size(3) >= 1 && z.size(4) >= 1,
          "VAE decode: latents must be [B, " + std::to_string(config_.z_dim) + ", T, h, w], got " +
              std::to_string(z.dim()) + "-D " +
              (z.dim() >= 2 ? "with " + std::to_string(z.size(1)) + " channels" : ""));
  if (comm != nullptr && comm->size() == 1) comm = nullptr;
  RowShard rows(comm, z.size(3));

  // WanPipeline: latents / (1 / std) + mean, the statistics as fp32 tensors.
  std::vector<float> mean(config_.latents_mean.begin(), config_.latents_mean.end());
  std::vector<float> inv_std;
  for (double s : config_.latents_std) inv_std.push_back(1.0f / static_cast<float>(s));
  const std::vector<int64_t> per_channel{1, config_.z_dim, 1, 1, 1};
  auto x = z.to(at::kFloat).narrow(3, rows.begin(), rows.count());
  x = x / at::tensor(inv_std).view(per_channel).to(x.device()) + at::tensor(mean).view(per_channel).to(x.device());
  x = at::conv3d(x, weight("conv2.weight"), weight("conv2.bias"));

  DecodeRun run(
      config_, [this](const std::string& n) -> const at::Tensor& { return weight(n); },
      [this](const std::string& n) { return has(n); }, rows);
  std::vector<at::Tensor> frames;
  for (int64_t t = 0; t < x.size(2); ++t) {
    frames.push_back(run.frame(x.narrow(2, t, 1)));
    if (after_each_latent_frame) after_each_latent_frame();
  }
  return rows.gather(at::cat(frames, 2), 8).contiguous();
}

namespace {

// diffusers' blend_v / blend_h: the first `extent` rows (columns) of b fade in from the last
// `extent` of a, in place, with the same coefficients (y / extent as a double).
void blend(const at::Tensor& a, at::Tensor& b, int64_t extent, int64_t dim) {
  extent = std::min({a.size(dim), b.size(dim), extent});
  for (int64_t y = 0; y < extent; ++y) {
    const double t = static_cast<double>(y) / static_cast<double>(extent);
    auto by = b.select(dim, y);
    by.copy_(a.select(dim, a.size(dim) - extent + y) * (1 - t) + by * t);
  }
}

}  // namespace

at::Tensor WanVaeDecoder::decode_tiled(const at::Tensor& z, const VaeTiling& tiling, parallel::Communicator* comm,
                                       const std::function<void()>& after_each_tile) const {
  constexpr int64_t kScale = 8;  // pixels per latent row/column
  require(tiling.stride > 0 && tiling.tile >= tiling.stride && tiling.stride % kScale == 0 && tiling.tile % kScale == 0,
          "VAE tiling: tile " + std::to_string(tiling.tile) + " and stride " + std::to_string(tiling.stride) +
              " must be multiples of 8 pixels with tile >= stride > 0");
  require(z.dim() == 5, "VAE decode: latents must be [B, z_dim, T, h, w]");
  const int64_t tile = tiling.tile / kScale, stride = tiling.stride / kScale;
  const int64_t h = z.size(3), w = z.size(4), frames = 1 + 4 * (z.size(2) - 1);
  const int ranks = comm ? comm->size() : 1, rank = comm ? comm->rank() : 0;
  std::vector<std::vector<at::Tensor>> tiles;
  int64_t index = 0;
  for (int64_t i = 0; i < h; i += stride) {
    auto& row = tiles.emplace_back();
    for (int64_t j = 0; j < w; j += stride, ++index) {
      const auto part = z.narrow(3, i, std::min(tile, h - i)).narrow(4, j, std::min(tile, w - j));
      const int owner = static_cast<int>(index % ranks);
      at::Tensor decoded = owner == rank ? decode_unclamped(part, nullptr, {})
                                         : at::empty({z.size(0), 3, frames, kScale * part.size(3), kScale * part.size(4)},
                                                     z.options().dtype(at::kFloat));
      if (ranks > 1) comm->broadcast(decoded, owner);
      row.push_back(decoded);
      if (after_each_tile) after_each_tile();
    }
  }
  const int64_t overlap = tiling.tile - tiling.stride;
  std::vector<at::Tensor> out_rows;
  for (size_t i = 0; i < tiles.size(); ++i) {
    std::vector<at::Tensor> out_row;
    for (size_t j = 0; j < tiles[i].size(); ++j) {
      auto& t = tiles[i][j];
      if (i > 0) blend(tiles[i - 1][j], t, overlap, 3);
      if (j > 0) blend(tiles[i][j - 1], t, overlap, 4);
      out_row.push_back(t.narrow(3, 0, std::min(tiling.stride, t.size(3))).narrow(4, 0, std::min(tiling.stride, t.size(4))));
    }
    out_rows.push_back(at::cat(out_row, 4));
  }
  auto video = at::cat(out_rows, 3);
  return video.narrow(3, 0, kScale * h).narrow(4, 0, kScale * w).clamp(-1.0, 1.0).contiguous();
}

}  // namespace uspdit::models::wan_vae
