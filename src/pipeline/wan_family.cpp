#include "pipeline/wan_family.h"

#include <ATen/ATen.h>

#include "core/error.h"
#include "io/checkpoint.h"
#include "models/umt5/umt5_encoder.h"
#include "models/umt5/umt5_tokenizer.h"
#include "models/wan/wan_model.h"
#include "models/wan_vae/wan_vae_decoder.h"

namespace uspdit::pipeline {

T2vRequest to_t2v_request(const WanT2vRequest& r) {
  T2vRequest out;
  out.prompt = r.prompt;
  out.negative_prompt = r.negative();
  out.guided = r.uses_cfg();
  out.guidance_scale = r.guide_scale;
  out.steps = r.steps;
  out.seed = r.seed;
  out.text_len = r.text_len;
  out.latent_shape = {1, 16, r.latent_frames(), r.latent_height(), r.latent_width()};
  out.solver = r.solver;
  out.shift = r.shift;
  return out;
}

WanFamily::WanFamily(WanT2vFiles files, const T2vSettings& settings)
    : files_(std::move(files)),
      settings_(settings),
      dit_checkpoint_(models::wan::locate_wan_checkpoint(files_.dit)) {}

WanFamily::~WanFamily() = default;

int64_t WanFamily::text_len(const T2vRequest& request) const {
  return request.text_len > 0 ? request.text_len : dit_checkpoint_.config.text_len;
}

TextConditioning WanFamily::encode_text(const std::vector<std::string>& prompts, const T2vRequest& request,
                                        const std::function<void()>& tick) {
  const int64_t len = text_len(request);
  const int64_t width = dit_checkpoint_.config.text_dim;
  const auto tokenizer = models::umt5::Umt5Tokenizer::load(files_.tokenizer);
  const auto encoder =
      models::umt5::Umt5Encoder::load(files_.text_encoder, settings_.text_dtype, settings_.text_device);
  require(encoder.config().dim == width, "text encoder " + files_.text_encoder + " is " +
                                             std::to_string(encoder.config().dim) +
                                             " wide, but the DiT expects text_dim " + std::to_string(width) +
                                             " (is --t5-checkpoint the umt5-xxl of this model?)");
  std::vector<at::Tensor> rows;
  for (const auto& prompt : prompts) {
    const auto tokens = tokenizer.encode({prompt}, len);
    // Wan keeps the encoder output of the prompt's own tokens and zero-pads to text_len.
    const auto encoded = encoder.encode(tokens);
    rows.push_back(encoded * tokens.mask.unsqueeze(-1).to(encoded.device(), at::kFloat));
    tick();
  }
  TextConditioning out;
  out.states = at::cat(rows, 0).to(settings_.device).contiguous();
  return out;
  // The encoder goes out of scope here: its memory is free before the DiT is loaded.
}

TextConditioning WanFamily::empty_text(int64_t prompts, const T2vRequest& request) const {
  TextConditioning out;
  out.states = at::empty({prompts, text_len(request), dit_checkpoint_.config.text_dim},
                         at::TensorOptions().dtype(at::kFloat).device(settings_.device));
  return out;
}

void WanFamily::load_dit() {
  const auto& ckpt = dit_checkpoint_;
  auto source = io::open_checkpoint(ckpt.weights_dir);
  dit_ = std::make_shared<models::wan::WanModel>(
      ckpt.config,
      models::wan::load_wan_weights(*source, ckpt.config, settings_.dit_dtype, settings_.device));
}

at::Tensor WanFamily::predict(parallel::ProcessMesh& mesh, const at::Tensor& latents,
                              const at::Tensor& timesteps, const TextConditioning& text, const T2vRequest&) {
  return dit_->forward(mesh, {latents, timesteps, text.states});
}

std::unique_ptr<sampling::Scheduler> WanFamily::make_scheduler(const T2vRequest& request) const {
  return sampling::make_scheduler(request.solver, request.steps, request.shift);
}

void WanFamily::load_vae() {
  vae_ = std::make_shared<models::wan_vae::WanVaeDecoder>(
      models::wan_vae::WanVaeDecoder::load(files_.vae, settings_.device));
}

at::Tensor WanFamily::decode(const at::Tensor& latents, parallel::Communicator* group,
                             const std::function<void()>& tick) {
  return vae_->decode(latents, group, tick);
}

std::vector<int64_t> WanFamily::video_shape(const at::Tensor& latents) const {
  return {latents.size(0), 3, 1 + 4 * (latents.size(2) - 1), 8 * latents.size(3), 8 * latents.size(4)};
}

at::Tensor WanFamily::decode_tiled(const at::Tensor& latents, const VaeTiling& tiling,
                                   parallel::Communicator* group, const std::function<void()>& tick) {
  return vae_->decode_tiled(latents, models::wan_vae::VaeTiling{tiling.tile, tiling.stride}, group, tick);
}

int64_t WanFamily::tile_count(const at::Tensor& latents, const VaeTiling& tiling) const {
  const int64_t stride = tiling.stride / 8;
  return ((latents.size(3) + stride - 1) / stride) * ((latents.size(4) + stride - 1) / stride);
}

std::string WanFamily::ways_to_fit(const std::string& stage) const {
  if (stage == "encode_text") return "--t5_cpu (the text encoder on the host), or --text-dtype bf16";
  if (stage == "load_dit") {
    return "--dtype bf16 (every rank holds the whole DiT, so more ranks do not help here), or a GPU with "
           "more memory";
  }
  if (stage == "decode" || stage == "load_vae") {
    return "--enable_tiling (one tile at a time), or more ranks (the rows are split across them)";
  }
  return "more ranks (--ulysses_degree/--ring_degree split the sequence), --dtype bf16, or a smaller "
         "--size/--frame_num";
}

}  // namespace uspdit::pipeline
