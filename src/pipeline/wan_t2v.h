// Wan 2.1 text-to-video on a process mesh: prompt -> umt5 embeddings -> flow-matching denoising
// with classifier-free guidance -> Wan-VAE decode -> video tensor.
//
// Parallelism: the DiT runs sequence-parallel on the mesh's ulysses × ring group; with cfg = 2
// the conditional and unconditional branches run on two such groups at once and swap their
// predictions (one all-gather per step); the VAE decode splits every frame's rows across the
// whole world. Every rank draws the same noise (CPU generator, so also the same on any device)
// and runs the same scheduler arithmetic, so the latents never need a broadcast and every
// configuration produces the same video.
//
// Memory: the text encoder is loaded (on rank 0 only, by default), run once per prompt and freed
// before the DiT is loaded.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/device.h"
#include "parallel/mesh.h"
#include "models/wan/wan_loader.h"
#include "models/wan_vae/wan_vae_decoder.h"
#include "pipeline/run_record.h"
#include "pipeline/wan_t2v_files.h"
#include "pipeline/wan_t2v_request.h"

namespace uspdit::models::wan {
class WanModel;
}  // namespace uspdit::models::wan

namespace uspdit::pipeline {

struct WanT2vSettings {
  // Where the DiT, the sampler's state and the VAE run (the runtime's device decision), and the
  // text encoder (the same, or the host with Wan's --t5_cpu).
  c10::Device device = core::host_device();
  c10::Device text_device = core::host_device();
  at::ScalarType dit_dtype = at::kFloat;
  at::ScalarType text_dtype = at::kFloat;
  int warmup_steps = 0;  // untimed denoising steps before the measured runs
  int n_repeats = 1;     // measured runs (denoise + decode) of the same request
  bool parallel_vae = true;  // false: every rank decodes the whole video alone
  // diffusers-style tiled VAE decode (approximate; peak memory of one tile; tiles dealt to the
  // ranks). Off: the exact decode, rows split across the ranks.
  std::optional<models::wan_vae::VaeTiling> vae_tiling;
  // false (default): rank 0 runs the text encoder and broadcasts the embeddings, so a job holds
  // one copy of umt5-xxl; true: every rank encodes its own branch's prompts (no waiting, N copies).
  bool text_encoder_on_every_rank = false;
  // Wan's --offload_model: the DiT leaves the device after denoising, so the VAE decode has its
  // memory (a further --n_repeats run loads it again).
  bool offload_model = false;
  bool show_progress = true;
};

// Prompt embeddings as the DiT takes them: [1, text_len, text_dim] fp32, rows past the prompt's
// tokens zero (Wan trims the encoder output to the prompt and pads with zeros).
struct PromptEmbeddings {
  at::Tensor cond;
  at::Tensor uncond;  // undefined when the request needs no guidance, or on the cond CFG group
};

class WanT2vPipeline {
 public:
  WanT2vPipeline(parallel::ProcessMesh& mesh, WanT2vFiles files, WanT2vSettings settings);
  ~WanT2vPipeline();

  // The whole run; every rank of the mesh calls it and every rank returns the video
  // [3, F, H, W] fp32 in [-1, 1]. Measurements accumulate in record().
  at::Tensor generate(const WanT2vRequest& request);

  // The stages, public for tests and for callers that want only part of the run.
  PromptEmbeddings encode_prompts(const WanT2vRequest& request);
  at::Tensor initial_noise(const WanT2vRequest& request) const;  // [1, 16, T, h, w]
  at::Tensor denoise(const WanT2vRequest& request, const PromptEmbeddings& text, at::Tensor latents,
                     int steps_to_run, std::vector<double>* step_seconds);
  at::Tensor decode(const at::Tensor& latents);  // [1, 3, F, H, W]

  const RunRecord& record() const { return record_; }
  const models::wan::WanModel& dit();

 private:
  void load_vae();
  // Tokenizes and encodes `prompts` ([n, len, width] fp32, rows past each prompt zero).
  at::Tensor run_text_encoder(const std::vector<std::string>& prompts, int64_t len, int64_t width);
  // Runs `work` as stage `name`: time, own peak memory, bytes sent.
  void stage(const std::string& name, int repeat, const std::function<void()>& work);
  bool cfg_parallel() const { return mesh_.degrees().cfg == 2; }
  bool rank0() const { return mesh_.world().rank() == 0; }

  parallel::ProcessMesh& mesh_;
  WanT2vFiles files_;
  WanT2vSettings settings_;
  models::wan::WanCheckpoint dit_checkpoint_;
  std::shared_ptr<models::wan::WanModel> dit_;
  std::shared_ptr<models::wan_vae::WanVaeDecoder> vae_;
  std::unique_ptr<parallel::Communicator> decode_group_;  // when the world has more ranks than latent rows
  int decode_group_rows_ = 0;
  RunRecord record_;
};

}  // namespace uspdit::pipeline
