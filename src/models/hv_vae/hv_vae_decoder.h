// The HunyuanVideo causal 3-D VAE decoder (latents -> video), as the original repository runs it
// (hyvideo/vae: AutoencoderKLCausal3D.decode with enable_tiling(); numerically the same network
// as diffusers' AutoencoderKLHunyuanVideo decoder).
//
// One decoder call (decode_tile): post_quant_conv (1×1×1) -> conv_in -> mid block (resnet,
// block-causal attention with GroupNorm first, resnet) -> up blocks (layers_per_block + 1
// resnets, then UpsampleCausal3D: the first frame upsampled in space only, the others nearest ×
// (t, 2, 2), then a causal conv) -> GroupNorm -> SiLU -> conv_out. Every CausalConv3d pads
// replicate: k−1 frames in front (the first frame repeated), k/2 on each side of H and W.
// ResnetBlockCausal3D: GN(eps 1e-6) -> SiLU -> conv1 -> GN -> SiLU -> conv2, plus the input (1×1×1
// conv shortcut when the width changes). T latents -> 1 + 4(T−1) frames, ×8 in H and W.
//
// Precision: fp32 weights run everything in fp32 (the exact path the tests compare with
// diffusers). fp16 weights reproduce the release's torch.autocast(fp16) run: convolutions,
// linears and attention in fp16, GroupNorm in fp32 on upcast input (so SiLU and padding run on
// fp32 and the residual adds promote), the mid block's output cast to fp16 before the up blocks,
// tiles blended in fp16. set_autocast(false) is diffusers' decode (`latents.to(vae.dtype)`, no
// autocast): GroupNorm, SiLU and the residual sums in the weights' dtype as well.
//
// Output: [B, 3, F, H, W] in the weights' dtype, NOT clamped: roughly [−1, 1] as the VAE returns
// it; the pipeline applies (x/2 + 0.5).clamp(0, 1).
//
// Parallel: the tiles of a tiled decode are dealt to the ranks (deal_tiles), each rank decodes
// its own, every tile is then broadcast by its owner in plan order, and every rank blends all of
// them in the reference's order: the whole video on every rank, bit-identical to the serial tiled
// decode. A decode that is one tile (untiled, or small enough) runs whole on every rank.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <map>
#include <string>

#include "models/hv_vae/hv_vae_config.h"
#include "models/hv_vae/hv_vae_tiling.h"
#include "parallel/communicator.h"

namespace uspdit::models::hv_vae {

class HvVaeDecoder {
 public:
  // `path`: see load_hv_vae (hv_vae_loader.h). dtype: kFloat (exact) or kHalf (the release).
  static HvVaeDecoder load(const std::string& path, c10::Device device, at::ScalarType dtype = at::kFloat);

  // Weights under the engine names of hv_vae_decoder_specs(config), all of one dtype (fp32 or
  // fp16) on one device.
  HvVaeDecoder(HvVaeConfig config, std::map<std::string, at::Tensor> weights);

  // z: DiT latents [B, latent_channels, T, h, w] (any float dtype). Decodes z / scaling_factor
  // with `tiling` (the release: tiling() below). comm null or of size 1: serial. Otherwise every
  // rank of comm passes the same z and gets the whole video. `after_each_tile` is called on every
  // rank as each decoded tile becomes available to it (for a progress bar).
  at::Tensor decode(const at::Tensor& z, const HvVaeTiling& tiling, parallel::Communicator* comm = nullptr,
                    const std::function<void()>& after_each_tile = {}) const;

  // One decoder call on already-scaled latents (post_quant_conv + decoder), no tiling.
  at::Tensor decode_tile(const at::Tensor& scaled) const;

  // The release's tiling for this config (HvVaeTiling::from_config): on, sizes from
  // sample_size / sample_tsize.
  HvVaeTiling tiling() const { return HvVaeTiling::from_config(config_); }
  // Frames a decoder call makes of `latent_frames` latents.
  int64_t decoded_frames(int64_t latent_frames) const;
  const HvVaeConfig& config() const { return config_; }
  at::ScalarType dtype() const { return dtype_; }
  // true (default): GroupNorm in fp32 as under the release's torch.autocast; false: in dtype().
  void set_autocast(bool on) { autocast_ = on; }

 private:
  const at::Tensor& weight(const std::string& name) const;

  HvVaeConfig config_;
  std::map<std::string, at::Tensor> weights_;
  at::ScalarType dtype_ = at::kFloat;
  bool autocast_ = true;
};

}  // namespace uspdit::models::hv_vae
