// What a model family plugs into the shared text-to-video pipeline (t2v_pipeline.h): its text
// encoder(s) and prompt handling, the DiT forward with its extra inputs, the sampler, the VAE
// decode and what to suggest when memory runs out. Everything else — stages and their records,
// the text broadcast, guidance modes, the denoise loop, decode across ranks, warm-up, repeats,
// offload, progress — is the pipeline's and the same for every family.
//
// A virtual class rather than a struct of std::functions: a family holds state that several hooks
// share (the checkpoint's config, the loaded DiT and VAE, which the pipeline frees and reloads for
// --offload_model), and the compiler checks that a family implements every hook.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cache/cache_config.h"
#include "core/device.h"
#include "parallel/communicator.h"
#include "parallel/mesh.h"
#include "sampling/scheduler.h"

namespace uspdit::cache {
class StepCache;
}  // namespace uspdit::cache

namespace uspdit::pipeline {

// What every family's request boils down to for the pipeline. A family converts its own request
// (e.g. WanT2vRequest, with its sizes and flag names) into this after validating it.
struct T2vRequest {
  std::string prompt;
  std::string negative_prompt;  // the family's default already applied; read only when guided
  bool guided = false;          // classifier-free guidance: a second (negative) branch per step
  double guidance_scale = 1.0;  // the CFG scale when guided
  int steps = 50;
  int64_t seed = 0;
  int64_t text_len = 0;               // tokens per prompt; 0 = the family's own
  std::vector<int64_t> latent_shape;  // [1, C, T, h, w]: the initial noise
  // The sampler: the family builds its scheduler from these (sampling/scheduler.h).
  sampling::Solver solver = sampling::Solver::euler;
  double shift = 1.0;
  // The points to sample at, when the family's request computed them (e.g. diffusers' schedule
  // for a -Diffusers folder); empty: the family's default for solver, steps and shift.
  sampling::FlowSchedule schedule;
  // Step caching, resolved to the model's reference numbers by the family (cache/cache_flags.h).
  cache::CacheConfig cache;
};

// One or more prompts' text conditioning as a DiT takes it, batch first, fp32 on the pipeline's
// device. The slots cover the families we know: sequence states (umt5, Llama), an optional
// attention mask over them and an optional pooled vector (CLIP).
struct TextConditioning {
  at::Tensor states;  // [B, L, D]
  at::Tensor mask;    // [B, L], or undefined when the family has none
  at::Tensor pooled;  // [B, P], or undefined when the family has none

  bool defined() const { return states.defined(); }
  TextConditioning row(int64_t index) const;  // prompt `index` of the batch, as a batch of 1
  // a's prompts then b's (a batch-2 forward of cond and uncond).
  static TextConditioning cat(const TextConditioning& a, const TextConditioning& b);
  std::vector<at::Tensor*> parts();  // the defined slots, in a fixed order (what is broadcast)
};

// The two branches' conditioning. uncond is undefined when the request needs no guidance, or on
// the cond group of a CFG-parallel mesh (and cond on the uncond group).
struct PromptEmbeddings {
  TextConditioning cond;
  TextConditioning uncond;
};

// diffusers-style spatial VAE tiles, in output pixels: approximate, peak memory of one tile.
struct VaeTiling {
  int64_t tile = 256;    // tile side
  int64_t stride = 192;  // tiles overlap by tile − stride
};

// How the pipeline runs, whatever the family.
struct T2vSettings {
  // Where the DiT, the sampler's state and the VAE run (the runtime's device decision), and the
  // text encoder (the same, or the host with Wan's --t5_cpu).
  c10::Device device = core::host_device();
  c10::Device text_device = core::host_device();
  at::ScalarType dit_dtype = at::kFloat;
  at::ScalarType text_dtype = at::kFloat;
  int warmup_steps = 0;      // untimed denoising steps before the measured runs
  int n_repeats = 1;         // measured runs (denoise + decode) of the same request
  bool parallel_vae = true;  // false: every rank decodes the whole video alone
  // Tiled VAE decode (tiles dealt to the ranks). Off: the exact decode, rows split across ranks.
  std::optional<VaeTiling> vae_tiling;
  // false (default): rank 0 runs the text encoder and broadcasts the embeddings, so a job holds
  // one copy of it; true: every rank encodes its own branch's prompts (no waiting, N copies).
  bool text_encoder_on_every_rank = false;
  // --offload_model: the DiT leaves the device after denoising, so the VAE decode has its memory
  // (a further --n_repeats run loads it again).
  bool offload_model = false;
  bool show_progress = true;
};

class T2vFamily {
 public:
  virtual ~T2vFamily() = default;

  // Tokenizes and encodes `prompts` on the text device (loading the encoder(s) and freeing them
  // before returning), result on the pipeline's device with batch = prompts.size(). `tick` after
  // each prompt.
  virtual TextConditioning encode_text(const std::vector<std::string>& prompts, const T2vRequest& request,
                                       const std::function<void()>& tick) = 0;
  // Uninitialised tensors shaped as encode_text's result for `prompts` prompts, on the pipeline's
  // device: what the ranks that did not encode receive the broadcast into.
  virtual TextConditioning empty_text(int64_t prompts, const T2vRequest& request) const = 0;

  virtual bool dit_loaded() const = 0;
  virtual void load_dit() = 0;
  virtual void release_dit() = 0;
  // The DiT's prediction for `latents` [B, C, T, h, w] at `timesteps` [B] (fp32) with `text` of
  // batch B, on `mesh` (sequence parallel over its ulysses × ring group). `cache`: the run's step
  // cache, told the step and each row's branch already; null when the run caches nothing.
  virtual at::Tensor predict(parallel::ProcessMesh& mesh, const at::Tensor& latents,
                             const at::Tensor& timesteps, const TextConditioning& text,
                             const T2vRequest& request, cache::StepCache* cache) = 0;
  virtual std::unique_ptr<sampling::Scheduler> make_scheduler(const T2vRequest& request) const = 0;

  virtual bool vae_loaded() const = 0;
  virtual void load_vae() = 0;
  // latents [1, C, T, h, w] → video [1, 3, F, H, W] fp32 in [-1, 1]. group null: serial; else
  // every rank of group passes the same latents, shares the work and gets the whole video.
  // `tick` once per decode_ticks() unit.
  virtual at::Tensor decode(const at::Tensor& latents, parallel::Communicator* group,
                            const std::function<void()>& tick) = 0;
  virtual int64_t decode_ticks(const at::Tensor& latents) const = 0;
  // The most ranks that can share one decode (more wait for rank 0's result).
  virtual int max_decode_ranks(const at::Tensor& latents) const = 0;
  virtual std::vector<int64_t> video_shape(const at::Tensor& latents) const = 0;
  // Tiled decode, tiles dealt to group's ranks; `tick` once per tile (tile_count of them).
  virtual at::Tensor decode_tiled(const at::Tensor& latents, const VaeTiling& tiling,
                                  parallel::Communicator* group, const std::function<void()>& tick) = 0;
  virtual int64_t tile_count(const at::Tensor& latents, const VaeTiling& tiling) const = 0;

  // What frees memory in `stage` ("encode_text", "load_dit", "denoise", "decode", ...), in this
  // family's flag names, for the out-of-memory line.
  virtual std::string ways_to_fit(const std::string& stage) const = 0;
};

}  // namespace uspdit::pipeline
