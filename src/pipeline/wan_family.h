// Wan 2.1's part of the text-to-video pipeline (t2v_family.h): umt5-xxl text embeddings trimmed
// to the prompt and zero-padded to text_len, the Wan DiT, Wan's samplers (UniPC, DPM++, Euler)
// and the Wan-VAE decode (rows split across ranks, or diffusers-style tiles).
#pragma once

#include <memory>

#include "models/wan/wan_loader.h"
#include "pipeline/t2v_family.h"
#include "pipeline/wan_t2v_files.h"
#include "pipeline/wan_t2v_request.h"

namespace uspdit::models::wan {
class WanModel;
}  // namespace uspdit::models::wan
namespace uspdit::models::wan_vae {
class WanVaeDecoder;
}  // namespace uspdit::models::wan_vae

namespace uspdit::pipeline {

// The pipeline's view of a Wan request (latents [1, 16, (F-1)/4+1, H/8, W/8], the reference's
// negative-prompt default and schedule). Does not validate: see validate(const WanT2vRequest&).
T2vRequest to_t2v_request(const WanT2vRequest& request);

class WanFamily : public T2vFamily {
 public:
  // Reads the DiT's config.json only: the weights load after the text encoder is freed.
  WanFamily(WanT2vFiles files, const T2vSettings& settings);
  ~WanFamily() override;

  TextConditioning encode_text(const std::vector<std::string>& prompts, const T2vRequest& request,
                               const std::function<void()>& tick) override;
  TextConditioning empty_text(int64_t prompts, const T2vRequest& request) const override;
  bool dit_loaded() const override { return dit_ != nullptr; }
  void load_dit() override;
  void release_dit() override { dit_.reset(); }
  at::Tensor predict(parallel::ProcessMesh& mesh, const at::Tensor& latents, const at::Tensor& timesteps,
                     const TextConditioning& text, const T2vRequest& request,
                     cache::StepCache* cache) override;
  std::unique_ptr<sampling::Scheduler> make_scheduler(const T2vRequest& request) const override;
  bool vae_loaded() const override { return vae_ != nullptr; }
  void load_vae() override;
  at::Tensor decode(const at::Tensor& latents, parallel::Communicator* group,
                    const std::function<void()>& tick) override;
  int64_t decode_ticks(const at::Tensor& latents) const override { return latents.size(2); }
  int max_decode_ranks(const at::Tensor& latents) const override { return static_cast<int>(latents.size(3)); }
  std::vector<int64_t> video_shape(const at::Tensor& latents) const override;
  at::Tensor decode_tiled(const at::Tensor& latents, const VaeTiling& tiling, parallel::Communicator* group,
                          const std::function<void()>& tick) override;
  int64_t tile_count(const at::Tensor& latents, const VaeTiling& tiling) const override;
  std::string ways_to_fit(const std::string& stage) const override;

  const models::wan::WanConfig& dit_config() const { return dit_checkpoint_.config; }

 private:
  int64_t text_len(const T2vRequest& request) const;

  WanT2vFiles files_;
  T2vSettings settings_;
  models::wan::WanCheckpoint dit_checkpoint_;
  std::shared_ptr<models::wan::WanModel> dit_;
  std::shared_ptr<models::wan_vae::WanVaeDecoder> vae_;
};

}  // namespace uspdit::pipeline
