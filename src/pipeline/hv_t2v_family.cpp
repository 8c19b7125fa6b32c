#include "pipeline/hv_t2v_family.h"

#include <ATen/ATen.h>

#include "core/dtype.h"
#include "core/error.h"
#include "models/clip/clip_encoder.h"
#include "models/clip/clip_tokenizer.h"
#include "models/hunyuan_video/hv_loader.h"
#include "models/hunyuan_video/hv_model.h"
#include "models/hv_vae/hv_vae_decoder.h"
#include "models/llama/llama_encoder.h"
#include "models/llama/llama_tokenizer.h"

namespace uspdit::pipeline {

namespace hv = models::hunyuan_video;

const char* const kHvNegativePrompt =
    "Aerial view, aerial view, overexposed, low quality, deformation, a poor composition, bad hands, bad "
    "teeth, bad eyes, bad limbs, distortion";

HvPromptTemplate hv_prompt_template(bool video) {
  // hyvideo/constants.py, verbatim (Python's adjacent strings joined: no space before "2.").
  if (video) {
    return {
        "<|start_header_id|>system<|end_header_id|>\n\nDescribe the video by detailing the following "
        "aspects: 1. The main content and theme of the video.2. The color, shape, size, texture, "
        "quantity, text, and spatial relationships of the objects.3. Actions, events, behaviors "
        "temporal relationships, physical movement changes of the objects.4. background environment, "
        "light, style and atmosphere.5. camera angles, movements, and transitions used in the "
        "video:<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n{}<|eot_id|>",
        95};
  }
  return {
      "<|start_header_id|>system<|end_header_id|>\n\nDescribe the image by detailing the color, shape, "
      "size, texture, quantity, text, spatial relationships of the objects and background:<|eot_id|>"
      "<|start_header_id|>user<|end_header_id|>\n\n{}<|eot_id|>",
      36};
}

std::string hv_templated_prompt(const std::string& prompt, const HvPromptTemplate& tmpl, bool strip) {
  // str.strip() for the ASCII whitespace prompts carry (Unicode spaces such as U+3000 are kept:
  // a known, harmless difference on the rare prompt that starts or ends with one).
  const char* space = " \t\n\r\v\f\x1c\x1d\x1e\x1f";
  const auto first = prompt.find_first_not_of(space);
  const std::string stripped = !strip ? prompt
                               : first == std::string::npos
                                   ? ""
                                   : prompt.substr(first, prompt.find_last_not_of(space) - first + 1);
  std::string out = tmpl.text;
  out.replace(out.find("{}"), 2, stripped);
  return out;
}

T2vRequest to_t2v_request(const HvT2vRequest& request, const hv::HvConfig& dit) {
  T2vRequest r;
  r.prompt = request.prompt;
  const bool diffusers = request.schedule.kind == sampling::HvScheduleKind::diffusers;
  // The release's pipeline replaces a missing or empty negative prompt by NEGATIVE_PROMPT;
  // HunyuanVideoPipeline encodes what it is given ("" included).
  r.negative_prompt = request.negative_prompt.value_or("");
  if (!diffusers && r.negative_prompt.empty()) r.negative_prompt = kHvNegativePrompt;
  r.guided = request.uses_cfg();
  r.guidance_scale = request.cfg_scale;
  r.steps = request.steps;
  r.seed = request.seed;
  r.latent_shape = {1, dit.in_channels, request.latent_frames(), request.latent_height(),
                    request.latent_width()};
  r.solver = sampling::Solver::euler;
  r.shift = request.schedule.shift;
  r.cache = request.cache;
  return r;
}

HvT2vOptions hv_t2v_options(const HvT2vRequest& request, const HvT2vLoadSettings& load,
                            const std::string& joint_strategy) {
  HvT2vOptions options;
  options.embedded_cfg_scale = request.embedded_cfg_scale;
  options.schedule = request.schedule;
  // diffusers' latents and fed timesteps follow the DiT's dtype (hv_flow_schedule.h).
  options.schedule.model_dtype = parse_dtype(load.precision);
  options.video = request.frames > 1;
  options.vae_spatial_tiles = load.vae_tiling;
  options.vae_dtype = parse_dtype(load.vae_precision);
  options.joint_strategy = joint_strategy;
  return options;
}

HvFamily::HvFamily(HvT2vFiles files, const T2vSettings& settings, HvT2vOptions options)
    : files_(std::move(files)),
      settings_(settings),
      options_(std::move(options)),
      dit_config_(hv::locate_hv_checkpoint(files_.dit).config) {}

HvFamily::~HvFamily() = default;

int64_t HvFamily::text_len() const {
  return kHvMaxLength - prompt_template().crop_start;
}

namespace {

at::Tensor ids_tensor(const std::vector<int64_t>& values) {
  return at::tensor(values, at::TensorOptions().dtype(at::kLong)).unsqueeze(0);
}

}  // namespace

TextConditioning HvFamily::encode_text(const std::vector<std::string>& prompts, const T2vRequest&,
                                       const std::function<void()>& tick) {
  const auto tmpl = prompt_template();
  // diffusers casts the text states and the pooled vector to the DiT's dtype before the loop.
  const auto as_dit_input = [&](const at::Tensor& t) {
    return diffusers() ? t.to(settings_.dit_dtype).to(at::kFloat) : t.to(at::kFloat);
  };
  const auto llama_tokenizer = models::llama::LlamaTokenizer::load(files_.tokenizer);
  const auto clip_tokenizer = models::clip::ClipTokenizer::load(files_.tokenizer_2);
  std::vector<at::Tensor> states, masks, pooled;
  {
    const auto llama = models::llama::LlamaTextEncoder::load(files_.text_encoder, settings_.text_dtype,
                                                             settings_.text_device);
    require(llama.config().hidden_size == dit_config_.text_dim,
            "text encoder " + files_.text_encoder + " is " + std::to_string(llama.config().hidden_size) +
                " wide, but the DiT expects text_states_dim " + std::to_string(dit_config_.text_dim));
    for (const auto& prompt : prompts) {
      const auto tokens =
          llama_tokenizer.encode_padded(hv_templated_prompt(prompt, tmpl, !diffusers()), kHvMaxLength);
      const auto mask = ids_tensor(tokens.mask);
      const auto hidden = llama.forward(ids_tensor(tokens.ids), mask);  // hidden_states[-3]
      // The template's tokens are cropped off; the states stay as the encoder left them (fp16 in
      // the release), only held in fp32 here (exact).
      states.push_back(as_dit_input(hidden.narrow(1, tmpl.crop_start, text_len())).to(settings_.device));
      masks.push_back(mask.narrow(1, tmpl.crop_start, text_len()).to(settings_.device, at::kFloat));
    }
  }  // the Llama's memory is free before CLIP's is taken
  {
    const auto clip = models::clip::ClipTextEncoder::load(files_.text_encoder_2, settings_.text_dtype,
                                                          settings_.text_device);
    require(clip.config().hidden_size == dit_config_.pooled_dim,
            "text encoder " + files_.text_encoder_2 + " is " + std::to_string(clip.config().hidden_size) +
                " wide, but the DiT expects text_states_dim_2 " + std::to_string(dit_config_.pooled_dim));
    for (const auto& prompt : prompts) {
      // CLIP gets the raw prompt (stripped by the release, no template) and its attention mask, as
      // the release (diffusers passes no mask: the same pooled output, CLIP is causal and pools at EOS).
      const auto tokens = clip_tokenizer.encode_padded(hv_templated_prompt(prompt, {"{}", 0}, !diffusers()),
                                                       kHvClipMaxLength);
      pooled.push_back(
          as_dit_input(clip.pooled(ids_tensor(tokens.ids), ids_tensor(tokens.mask))).to(settings_.device));
      tick();
    }
  }
  TextConditioning out;
  out.states = at::cat(states, 0).contiguous();
  out.mask = at::cat(masks, 0).contiguous();
  out.pooled = at::cat(pooled, 0).contiguous();
  return out;
}

TextConditioning HvFamily::empty_text(int64_t prompts, const T2vRequest&) const {
  const auto f32 = at::TensorOptions().dtype(at::kFloat).device(settings_.device);
  TextConditioning out;
  out.states = at::empty({prompts, text_len(), dit_config_.text_dim}, f32);
  out.mask = at::empty({prompts, text_len()}, f32);
  out.pooled = at::empty({prompts, dit_config_.pooled_dim}, f32);
  return out;
}

void HvFamily::load_dit() {
  const auto ckpt = hv::locate_hv_checkpoint(files_.dit);
  dit_ = std::make_shared<hv::HvModel>(
      ckpt.config, hv::load_hv_weights(ckpt, ckpt.config, settings_.dit_dtype, settings_.device));
}

at::Tensor HvFamily::guidance(int64_t batch) const {
  // torch.tensor([g] * B, dtype=fp32).to(dit dtype) * 1000.0: both roundings in the DiT's dtype.
  const auto g = at::full({batch}, options_.embedded_cfg_scale, at::TensorOptions().dtype(at::kFloat))
                     .to(settings_.dit_dtype);
  return (g * 1000.0).to(at::kFloat).to(settings_.device);
}

at::Tensor HvFamily::predict(parallel::ProcessMesh& mesh, const at::Tensor& latents,
                             const at::Tensor& timesteps, const TextConditioning& text, const T2vRequest&,
                             cache::StepCache* cache) {
  hv::HvInputs in{latents, timesteps, text.states, text.mask, text.pooled, {}, cache};
  if (dit_config_.guidance_embed) in.guidance = guidance(latents.size(0));
  return dit_->forward(mesh, in, options_.joint_strategy);
}

std::unique_ptr<sampling::Scheduler> HvFamily::make_scheduler(const T2vRequest& request) const {
  auto schedule = options_.schedule;
  schedule.shift = request.shift;
  return sampling::make_hv_euler_scheduler(request.steps, schedule);
}

void HvFamily::load_vae() {
  vae_ = std::make_shared<models::hv_vae::HvVaeDecoder>(
      models::hv_vae::HvVaeDecoder::load(files_.vae, settings_.device, options_.vae_dtype));
  vae_->set_autocast(!diffusers());  // diffusers decodes latents.to(vae.dtype) without autocast
}

models::hv_vae::HvVaeTiling HvFamily::vae_tiling() const {
  return diffusers() ? models::hv_vae::HvVaeTiling::diffusers(vae_->config(), options_.vae_spatial_tiles) : vae_->tiling();
}

at::Tensor HvFamily::decode(const at::Tensor& latents, parallel::Communicator* group,
                            const std::function<void()>& tick) {
  return vae_->decode(latents, models::hv_vae::HvVaeTiling::off(), group, tick).to(at::kFloat);
}

std::vector<int64_t> HvFamily::video_shape(const at::Tensor& latents) const {
  return {latents.size(0), 3, 1 + 4 * (latents.size(2) - 1), 8 * latents.size(3), 8 * latents.size(4)};
}

at::Tensor HvFamily::decode_tiled(const at::Tensor& latents, const VaeTiling&, parallel::Communicator* group,
                                  const std::function<void()>& tick) {
  return vae_->decode(latents, vae_tiling(), group, tick).to(at::kFloat);
}

int64_t HvFamily::tile_count(const at::Tensor& latents, const VaeTiling&) const {
  const auto plan =
      models::hv_vae::plan_tiles(latents.size(2), latents.size(3), latents.size(4), vae_tiling());
  return static_cast<int64_t>(plan.tiles.size());
}

std::string HvFamily::ways_to_fit(const std::string& stage) const {
  if (stage == "encode_text") {
    return "--text-encoder-precision fp16 (the reference's; fp32 doubles the 8B Llama's 16 GB), or a GPU "
           "with "
           "more memory on rank 0 (it runs the text encoders alone)";
  }
  if (stage == "load_dit") {
    return "--precision bf16 or --use-fp8 (every rank holds the whole DiT, so more ranks do not help "
           "here), or a GPU with more memory";
  }
  if (stage == "decode" || stage == "load_vae") {
    return "--vae-tiling (the default: one tile at a time, tiles dealt to the ranks), --vae-precision fp16";
  }
  return "more ranks (--ulysses-degree/--ring-degree split the sequence), --precision bf16, or a smaller "
         "--video-size/--video-length";
}

}  // namespace uspdit::pipeline
