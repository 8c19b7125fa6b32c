// What the planner's memory and time models need to know about a model and a run, as plain
// numbers: the DiT's shapes and parameter count, the text encoders' and the VAE's sizes, and the
// request (video size, frames, steps, guidance, dtypes, where each stage runs). No tensors, no
// files: `uspdit plan` builds these from published configurations, `uspdit generate` from the
// checkpoint it is about to load (pipeline/ counts the parameters in the files' indexes).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace uspdit::planner {

// How the DiT attends to text: Wan cross-attends to it (text replicated on every rank, no
// traffic); HunyuanVideo appends its text tokens to the video tokens (joint attention).
enum class TextAttention { cross, joint };

struct DitShape {
  TextAttention text_attention = TextAttention::cross;
  int64_t hidden = 0;
  int64_t heads = 0;
  int64_t ffn = 0;            // MLP width
  int64_t blocks = 0;         // Wan blocks; HunyuanVideo double-stream blocks
  int64_t single_blocks = 0;  // HunyuanVideo single-stream blocks
  int64_t text_dim = 0;       // width of the text encoder's states the DiT reads
  int64_t text_len = 0;       // text tokens per prompt the DiT sees
  int64_t params = 0;         // every parameter of the DiT
  int64_t latent_channels = 16;
  int64_t patch_t = 1, patch_s = 2;     // latent patch (time, space)
  int64_t vae_time = 4, vae_space = 8;  // VAE compression (time, space)
  int64_t head_dim() const { return heads > 0 ? hidden / heads : 0; }
  int64_t attention_layers() const { return blocks + single_blocks; }
  // The prediction's elements per video token: one patch of latent channels.
  int64_t output_elements_per_token() const { return patch_t * patch_s * patch_s * latent_channels; }
};

struct TextEncoderShape {
  std::string name;
  int64_t params = 0;  // the parameters that are loaded (e.g. a Llama's layers up to the one read)
  int64_t hidden = 0;
  int64_t ffn = 0;
  int64_t layers = 0;
  int64_t tokens = 0;  // tokens per prompt it encodes
  // Elements of its largest tensor (the token embedding, first in the file): while it is read,
  // the file's pages and the loaded copy are both resident.
  int64_t largest_tensor = 0;
};

// How a VAE decodes: Wan's causal decoder runs one latent frame (4 video frames) at a time over
// the whole picture (rows split across ranks); HunyuanVideo's decodes a spatio-temporal tile at a
// time (tiles dealt to ranks), or the whole video in one call without tiling.
enum class VaeDecode { causal_frames, tiles };

struct VaeShape {
  VaeDecode decode = VaeDecode::causal_frames;
  int64_t params = 0;
  int64_t full_res_channels = 0;  // channels of the decoder's last (full-resolution) stage
  int64_t tile_frames = 0;        // tiled decode: video frames per temporal tile (0: whole video)
  // Full-resolution tensors (pixels × full_res_channels) alive at the decoder's peak, per pixel of
  // the chunk it decodes at once: the decoder's own dataflow plus the causal convolutions' caches
  // and the allocator's slack. Measured once per decoder architecture on a real-width VAE with
  // random weights (bench/plan_model.md): Wan 2.1's 18, HunyuanVideo's 13.
  double live_tensors = 0;
};

// The published decoders' live_tensors (see VaeShape).
inline constexpr double kWanVaeLiveTensors = 18.0;
inline constexpr double kHunyuanVaeLiveTensors = 13.0;

struct ModelProfile {
  std::string name;
  DitShape dit;
  std::vector<TextEncoderShape> text_encoders;
  VaeShape vae;
};

// The run: `generate`'s request in the numbers the models read.
struct RunShape {
  int64_t height = 0, width = 0, frames = 0;
  int steps = 50;
  bool guided = false;  // classifier-free guidance (two branches per step)
  int dit_bytes = 2;    // bytes per element of the DiT's weights and activations
  int text_bytes = 2;   // the text encoders'
  int vae_bytes = 4;    // the VAE's
  bool vae_tiled = false;
  int64_t vae_tile = 256, vae_tile_stride = 192;  // pixels, when tiled
  bool text_encoder_on_every_rank = false;        // else rank 0 encodes and broadcasts
  bool text_encoder_on_host = false;              // Wan's --t5_cpu: not in the device's memory
  bool offload_dit_for_decode = false;            // --offload_model: the DiT leaves before decoding
  bool parallel_vae = true;  // false (--serial-vae): every rank decodes the whole video alone

  int64_t latent_frames(const DitShape& d) const { return (frames - 1) / d.vae_time + 1; }
  int64_t latent_height(const DitShape& d) const { return height / d.vae_space; }
  int64_t latent_width(const DitShape& d) const { return width / d.vae_space; }
  // Video tokens per sample after patching.
  int64_t video_tokens(const DitShape& d) const;
};

// Parameter counts of the published DiTs from their shapes (the module layouts of Wan 2.1 and
// HunyuanVideo), so `plan` needs no files.
int64_t wan_dit_params(int64_t dim, int64_t ffn, int64_t layers, int64_t text_dim);
int64_t hunyuan_dit_params(int64_t hidden, int64_t ffn, int64_t double_blocks, int64_t single_blocks,
                           int64_t text_dim);

// The published models by `uspdit plan`'s names (wan2.1-t2v-1.3b, wan2.1-t2v-14b,
// hunyuanvideo): their DiT, text encoders (umt5-xxl; llava-llama-3-8b + CLIP-L) and VAE.
// nullptr for other names.
const ModelProfile* published_profile(const std::string& plan_model_name);

// The model with `layers` attention blocks instead of its own (HunyuanVideo: layers / 2 double
// and the rest single), its DiT parameters recounted.
ModelProfile with_layers(const ModelProfile& model, int64_t layers);

// The run shape `plan` assumes for a published model (Wan 1.3B: 832x480, 14B: 1280x720, 81
// frames, CFG; HunyuanVideo: 1280x720, 129 frames, no CFG, fp16 tiled VAE), 50 steps, bf16.
RunShape default_run(const ModelProfile& model);

}  // namespace uspdit::planner
