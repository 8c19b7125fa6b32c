// Tiled decoding exactly as the original repository does it (hyvideo/vae/autoencoder_kl_causal_3d
// .py: temporal_tiled_decode around spatial_tiled_decode, both on after enable_tiling(), which the
// release's pipeline always calls). This file plans the decoder calls and blends their outputs;
// the decoder runs them (serially, or dealt to ranks, hv_vae_decoder.h).
//
// Temporal (T latents > tile_latent_min_tsize): tiles z[i : i + tmin + 1] for i in
// range(0, T, int(tmin·0.75)); each is spatially tiled if h or w > tile_latent_min_size;
// tiles after the first drop their first decoded frame; tile i is blended into by tile i-1 over
// int(tile_sample_min_tsize·0.25) frames (blend_t); kept: [:t_limit + 1] of the first, [:t_limit]
// of the others, t_limit = tile_sample_min_tsize − blend. Release (64 frames): stride 12
// latents, blend 16, keep 49 / 48.
// Spatial (h or w > tile_latent_min_size): tiles z[.., i : i + smin, j : j + smin] for i, j in
// range(0, ·, int(smin·0.75)); for each (i, j) in order, first blend_v from the tile above, then
// blend_h from the tile to the left, both IN PLACE (a neighbour has already been blended by its
// own neighbours); kept [:row_limit, :row_limit], row_limit = tile_sample_min_size − blend,
// blend = int(tile_sample_min_size·0.25). Release (256 px): stride 24 latents, blend 64, keep 192.
// blend: b[x] = a[−e + x]·(1 − x/e) + b[x]·(x/e), e = min(extent, len(a), len(b)), in the tiles'
// dtype. No crop at the end: for the strides the reference derives the kept parts add up to the
// exact size. One deviation that changes nothing: a temporal tile of one latent after the first
// (T ≡ 1 mod stride) decodes to one frame that is dropped; the reference decodes it anyway, the
// plan leaves it out.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "models/hv_vae/hv_vae_config.h"

namespace uspdit::models::hv_vae {

struct HvVaeTiling {
  bool spatial = true, temporal = true;
  int64_t tile_sample_min_size = 256, tile_latent_min_size = 32;   // pixels / latents
  int64_t tile_sample_min_tsize = 64, tile_latent_min_tsize = 16;  // frames / latents
  double overlap_factor = 0.25;

  // As AutoencoderKLCausal3D.__init__: tile_sample_min_size = sample_size, tile_latent_min_size =
  // int(sample_size / 2^(len(block_out_channels) − 1)), tile_sample_min_tsize = sample_tsize,
  // tile_latent_min_tsize = sample_tsize // time_compression_ratio; both kinds on.
  static HvVaeTiling from_config(const HvVaeConfig& config);
  // Neither kind: one decoder call on the whole latent.
  static HvVaeTiling off();
  // diffusers' AutoencoderKLHunyuanVideo as HunyuanVideoPipeline decodes: framewise decoding is
  // always on, with its fixed 16-frame tiles (stride 12, blend 4: the same rule as the release's
  // at sample_tsize 16); spatial tiles (256 px, stride 192) only after enable_tiling().
  static HvVaeTiling diffusers(const HvVaeConfig& config, bool spatial);

  int64_t latent_stride() const;   // int(tile_latent_min_size · (1 − overlap))
  int64_t blend_pixels() const;    // int(tile_sample_min_size · overlap)
  int64_t row_limit() const;       // tile_sample_min_size − blend_pixels()
  int64_t latent_tstride() const;  // int(tile_latent_min_tsize · (1 − overlap))
  int64_t blend_frames() const;    // int(tile_sample_min_tsize · overlap)
  int64_t t_limit() const;         // tile_sample_min_tsize − blend_frames()
};

// Throws UsageError unless every size is positive and the strides are.
void validate(const HvVaeTiling& tiling);

// One decoder call: a box of the latent [B, C, T, h, w].
struct HvVaeTile {
  int64_t t0 = 0, frames = 0, h0 = 0, rows = 0, w0 = 0, cols = 0;  // start and extent, in latents
};

// The decoder calls of one tiled decode in the reference's order, grouped as the reference blends
// them: temporal tiles, each a grid of spatial tiles (1×1 when not spatially tiled).
struct HvVaeTilePlan {
  struct TemporalTile {
    int64_t grid_rows = 1, grid_cols = 1;
    size_t first = 0;         // index of its (0, 0) spatial tile in `tiles`
    bool drop_first = false;  // tiles after the first lose their first decoded frame
    bool spatial = false;     // blended and cut as spatial_tiled_decode does
  };
  std::vector<HvVaeTile> tiles;
  std::vector<TemporalTile> temporal;
  bool temporal_tiled = false;  // blended and cut as temporal_tiled_decode does
};

// The plan for a latent of T frames and h×w positions.
HvVaeTilePlan plan_tiles(int64_t frames, int64_t rows, int64_t cols, const HvVaeTiling& tiling);

// The video from the decoded tiles (plan order, each [B, 3, F, H, W]), blended in place and in
// the reference's order (the tensors in `decoded` are modified).
at::Tensor assemble_tiles(const HvVaeTilePlan& plan, std::vector<at::Tensor>& decoded,
                          const HvVaeTiling& tiling);

// Which rank decodes each tile: largest first to the least-loaded rank (cost = latent volume;
// lowest rank on ties). Deterministic, so every rank computes the same deal.
std::vector<int> deal_tiles(const HvVaeTilePlan& plan, int ranks);

}  // namespace uspdit::models::hv_vae
