// HunyuanVideo's part of the text-to-video pipeline (t2v_family.h), as the release's
// sample_video.py runs it (hyvideo/inference.py, pipelines/pipeline_hunyuan_video.py):
//   text    the prompt strip()ped and put into the video prompt template, Llama 3 tokens padded
//           to 351, the llava-llama-3-8b language model's hidden_states[-3], states and mask
//           cropped to [95:] (the template's tokens, BOS included): 256 positions; CLIP-L's
//           pooled output of the 77-token prompt. Both encoders are loaded, run and freed
//           inside encode_text, before the DiT loads.
//   DiT     the HunyuanVideo transformer with the embedded guidance (embedded_cfg_scale cast to
//           the DiT's dtype, then ×1000 in that dtype: 6016 in bf16, 6000 in fp32) and fp32
//           timesteps.
//   sampler the original FlowMatchDiscreteScheduler's schedule (or diffusers', --schedule) with
//           Euler in fp32.
//   VAE     the causal 3-D VAE on latents / scaling_factor, tiled as the release (on by default).
#pragma once

#include <memory>
#include <string>

#include "models/hunyuan_video/hv_config.h"
#include "models/hv_vae/hv_vae_tiling.h"
#include "pipeline/hv_t2v_files.h"
#include "pipeline/t2v_family.h"
#include "sampling/hv_flow_schedule.h"

namespace uspdit::models::hunyuan_video {
class HvModel;
}  // namespace uspdit::models::hunyuan_video
namespace uspdit::models::hv_vae {
class HvVaeDecoder;
}  // namespace uspdit::models::hv_vae

namespace uspdit::pipeline {

// The prompt template of hyvideo/constants.py: "dit-llm-encode-video" for videos (crop 95),
// "dit-llm-encode" for a single frame (crop 36); the tokenizer's max_length is 256 + 95 = 351 for
// both (computed once from the video template), so an image keeps 315 positions.
struct HvPromptTemplate {
  std::string text;    // with one "{}" for the prompt
  int64_t crop_start;  // template tokens before the prompt, BOS included
};
HvPromptTemplate hv_prompt_template(bool video);
inline constexpr int64_t kHvTextLen = 256;       // --text-len
inline constexpr int64_t kHvMaxLength = 351;     // text_len + the video template's crop_start
inline constexpr int64_t kHvClipMaxLength = 77;  // --text-len-2
// hyvideo/constants.py NEGATIVE_PROMPT: the negative branch when --cfg-scale > 1 and no --neg-prompt.
extern const char* const kHvNegativePrompt;
// template.format(prompt.strip()) (Python's str.strip(): ASCII whitespace and the Unicode spaces);
// diffusers formats the prompt as given (strip false).
std::string hv_templated_prompt(const std::string& prompt, const HvPromptTemplate& tmpl, bool strip = true);

// What the HunyuanVideo plug-in needs beyond T2vRequest.
// schedule.kind is the reference the whole run follows (hv_reference.h).
struct HvT2vOptions {
  double embedded_cfg_scale = 6.0;
  sampling::HvScheduleOptions schedule;
  bool video = true;                     // frames > 1: the video template (the original reference)
  bool vae_spatial_tiles = true;         // --vae-tiling (the diffusers reference: enable_tiling())
  at::ScalarType vae_dtype = at::kHalf;  // --vae-precision
  std::string joint_strategy = "auto";   // the DiT's joint text placement (hv_model.h)
};

// The pipeline's view of a HunyuanVideo request: latents [1, in_channels, (F-1)/4+1, H/8, W/8];
// guided without --neg-prompt (or with an empty one), the original reference's NEGATIVE_PROMPT.
// Does not validate (validate(HvT2vRequest)).
T2vRequest to_t2v_request(const HvT2vRequest& request, const models::hunyuan_video::HvConfig& dit);
// The plug-in's options from the request and load settings.
HvT2vOptions hv_t2v_options(const HvT2vRequest& request, const HvT2vLoadSettings& load,
                            const std::string& joint_strategy = "auto");

class HvFamily : public T2vFamily {
 public:
  // Reads the DiT's config only: the weights load after the text encoders are freed.
  HvFamily(HvT2vFiles files, const T2vSettings& settings, HvT2vOptions options);
  ~HvFamily() override;

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
  // Untiled: one decoder call on the whole latent, on every rank of `group` (the release has no
  // split decode; the tiled one deals its tiles to the ranks).
  at::Tensor decode(const at::Tensor& latents, parallel::Communicator* group,
                    const std::function<void()>& tick) override;
  int64_t decode_ticks(const at::Tensor&) const override { return 1; }
  int max_decode_ranks(const at::Tensor&) const override { return 1 << 20; }
  std::vector<int64_t> video_shape(const at::Tensor& latents) const override;
  // The release's tiling, sizes from the VAE's config (sample_size / sample_tsize), or diffusers'
  // (HvVaeTiling::diffusers); the pixel sizes in `tiling` are Wan's and not used.
  at::Tensor decode_tiled(const at::Tensor& latents, const VaeTiling& tiling, parallel::Communicator* group,
                          const std::function<void()>& tick) override;
  int64_t tile_count(const at::Tensor& latents, const VaeTiling& tiling) const override;
  std::string ways_to_fit(const std::string& stage) const override;

  const models::hunyuan_video::HvConfig& dit_config() const { return dit_config_; }
  // The guidance input for a batch of `batch`: embedded_cfg_scale in the DiT's dtype, ×1000 in
  // that dtype, as fp32.
  at::Tensor guidance(int64_t batch) const;
  int64_t text_len() const;  // positions kept after the crop: 256 (video) or 315 (image)

 private:
  bool diffusers() const { return options_.schedule.kind == sampling::HvScheduleKind::diffusers; }
  // The prompt template: diffusers' HunyuanVideoPipeline uses the video one for any frame count.
  HvPromptTemplate prompt_template() const { return hv_prompt_template(options_.video || diffusers()); }
  models::hv_vae::HvVaeTiling vae_tiling() const;

  HvT2vFiles files_;
  T2vSettings settings_;
  HvT2vOptions options_;
  models::hunyuan_video::HvConfig dit_config_;
  std::shared_ptr<models::hunyuan_video::HvModel> dit_;
  std::shared_ptr<models::hv_vae::HvVaeDecoder> vae_;
};

}  // namespace uspdit::pipeline
