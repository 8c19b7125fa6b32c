// The Wan 2.1 VAE decoder (latents -> video), fp32, serial or with the frame's rows split across
// the ranks of a group.
//
// Exactly the reference's causal scheme (wan/modules/vae.py, diffusers AutoencoderKLWan):
// conv2 (post_quant_conv) over all latents, then the decoder ONE latent frame at a time, every
// causal conv seeing the last 2 input frames it was given before (zeros before the first); the
// temporal upsamples skip their time conv on the first latent frame, so latent 0 -> 1 frame and
// every later latent -> 4 frames. Output clamped to [-1, 1].
//
// In parallel every rank holds its rows of every activation (split at the latent resolution and
// doubled by each upsample); each 3x3 conv gets the neighbours' boundary rows first (halo), the
// middle attention gathers the normalised frame, and the output rows are gathered at the end.
// RMS_norm (over channels), SiLU, 1x1 and time-only convs need no rows of other ranks.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <map>
#include <string>

#include "parallel/communicator.h"
#include "models/wan_vae/wan_vae_config.h"

namespace uspdit::models::wan_vae {

// diffusers' enable_tiling for AutoencoderKLWan, in output pixels (its defaults).
struct VaeTiling {
  int64_t tile = 256;    // tile_sample_min_height/width
  int64_t stride = 192;  // tile_sample_stride_height/width; tiles overlap by tile − stride
};

class WanVaeDecoder {
 public:
  // `path`: Wan2.1_VAE.pth (encoder keys ignored; config from the tensor shapes), the release
  // directory holding it, or a diffusers AutoencoderKLWan folder (config.json + safetensors;
  // a pipeline root with vae/ too). See wan_vae_loader.h.
  static WanVaeDecoder load(const std::string& path, c10::Device device);

  // From fp32 tensors under the engine (original) names of wan_vae_decoder_specs(config).
  WanVaeDecoder(WanVaeConfig config, std::map<std::string, at::Tensor> weights);

  // z: DiT-space latents [B, z_dim, T, h, w] (not yet un-normalised: z·std + mean is applied
  // here, as WanPipeline and Wan's WanVAE.decode do). Returns [B, 3, 1 + 4(T-1), 8h, 8w] fp32 in
  // [-1, 1]. comm null or of size 1: serial. Otherwise every rank of comm passes the same z and
  // gets the whole video; h must be >= comm->size(). `after_each_latent_frame` (optional) is
  // called as each latent frame is decoded, for a progress bar: the first frame is cheap (1
  // output frame), each later one makes 4.
  at::Tensor decode(const at::Tensor& z, parallel::Communicator* comm = nullptr,
                    const std::function<void()>& after_each_latent_frame = {}) const;

  // Tiled decode for memory, as diffusers' AutoencoderKLWan.tiled_decode: overlapping latent
  // tiles decoded independently (each with its own causal cache, so peak memory is one tile's),
  // then blended linearly over the overlap in the same order. Approximate by construction (a tile
  // does not see past its edge; the seams are blended), equal to diffusers' tiled output. With
  // comm, tiles are dealt round-robin to the ranks and each is broadcast by the rank that made
  // it. `after_each_tile` is called on every rank as each tile arrives.
  at::Tensor decode_tiled(const at::Tensor& z, const VaeTiling& tiling, parallel::Communicator* comm = nullptr,
                          const std::function<void()>& after_each_tile = {}) const;

  const WanVaeConfig& config() const { return config_; }

 private:
  // decode() without the final clamp (tiles are blended before clamping, as in diffusers).
  at::Tensor decode_unclamped(const at::Tensor& z, parallel::Communicator* comm,
                              const std::function<void()>& after_each_latent_frame) const;
  const at::Tensor& weight(const std::string& name) const;
  bool has(const std::string& name) const { return weights_.count(name) != 0; }

  WanVaeConfig config_;
  std::map<std::string, at::Tensor> weights_;
};

}  // namespace uspdit::models::wan_vae
