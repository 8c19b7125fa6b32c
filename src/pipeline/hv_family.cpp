// HunyuanVideo's family file: the registry descriptor (forward, bench dit, plan) and generate's
// flags and checks; the text-to-video plug-in itself is hv_t2v_family.h.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <ctime>
#include <filesystem>

#include "cache/cache_flags.h"
#include "core/dtype.h"
#include "core/error.h"
#include "io/checkpoint.h"
#include "models/common/hf_model_dir.h"
#include "models/hunyuan_video/hv_loader.h"
#include "models/hunyuan_video/hv_model.h"
#include "models/hunyuan_video/hv_tensors.h"
#include "pipeline/family_registry.h"
#include "pipeline/forward_inputs.h"
#include "pipeline/hv_reference.h"
#include "pipeline/hv_t2v_family.h"
#include "pipeline/hv_t2v_files.h"
#include "pipeline/hv_t2v_request.h"

namespace uspdit::pipeline {
namespace {

namespace fs = std::filesystem;
namespace hv = models::hunyuan_video;

// `uspdit generate` with sample_video.py's flag names, e.g.
//   --model-base ckpts --video-size 720 1280 --video-length 129 --infer-steps 50 --prompt "..."
//   --flow-reverse --seed 42 --ulysses-degree 8 --ring-degree 1 --save-path ./results
class HvT2vJob final : public T2vJob {
 public:
  HvT2vJob(core::Args& args, const std::string& location) {
    load_.model_base = location;
    read_hv_t2v_flags(args, request_, load_, notes_);
    joint_strategy_ = args.get_string("joint-strategy", "auto");
    cache_flags_ = cache::read_cache_flags(args);
    pipeline::validate(load_);  // the precisions, before apply_settings parses them
  }

  void apply_settings(T2vSettings& settings, const c10::Device& device) const override {
    settings.dit_dtype = parse_dtype(load_.precision);
    settings.text_dtype = parse_dtype(load_.text_encoder_precision);
    settings.text_device = device;
    settings.offload_model = load_.use_cpu_offload;
    // diffusers' decode is always framewise (16-frame tiles), so it takes the tiled path too.
    if (load_.vae_tiling || diffusers()) settings.vae_tiling = VaeTiling{256, 192};
  }

  void check_files() override {
    files_ = locate_hv_t2v_files(load_);
    const auto dit = hv::locate_hv_checkpoint(files_.dit);
    dit_config_ = dit.config;
    // the weights' index: a truncated file fails now
    dit_params_ = count_parameters(*hv::open_hv_source(dit));
    check_hv_t2v_files(files_, dit_config_);
    startup_lines_ = apply_hv_reference(request_, load_, files_.layout);
    count_stage_parameters();
  }

  std::vector<std::string> startup_lines() const override {
    auto lines = startup_lines_;
    if (request_.cache.enabled()) lines.push_back(request_.cache.describe());
    return lines;
  }
  video::Rounding frame_rounding() const override {
    return diffusers() ? video::Rounding::kHalfToEven : video::Rounding::kTruncate;
  }

  void validate() override {
    pipeline::validate(request_);
    request_.cache = cache::hunyuan_cache_config(cache_flags_, request_.height, request_.steps);
  }

  int heads() const override { return static_cast<int>(dit_config_.heads); }
  std::string model_label() const override { return "HunyuanVideo"; }
  std::string no_guidance_hint() const override {
    return "--use_cfg_parallel needs classifier-free guidance: pass --cfg-scale > 1 with a --neg-prompt "
           "(the default --cfg-scale 1 has a single branch; --embedded-cfg-scale is not a second branch)";
  }
  T2vRequest request() const override { return to_t2v_request(request_, dit_config_); }
  std::string output_path() const override {
    if (!load_.save_file.empty()) return load_.save_file;
    std::time_t now = std::time(nullptr);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%d-%H:%M:%S", std::localtime(&now));

    return (fs::path(load_.save_path) / hv_video_file_name(stamp, request_.seed, request_.prompt)).string();
  }
  std::string describe() const override {
    return "HunyuanVideo from " + load_.model_base + " (" + files_.layout + " layout), " +
           std::to_string(request_.width) + "x" + std::to_string(request_.height) + ", " +
           std::to_string(request_.frames) + " frames, " + std::to_string(request_.steps) + " steps";
  }
  std::vector<std::string> notes() const override { return notes_; }
  BenchConfig bench_config() const override {
    BenchConfig config;
    config.text = {{"model", "hunyuanvideo"},
                   {"ckpt_dir", load_.model_base},
                   {"layout", files_.layout},
                   {"prompt", request_.prompt},
                   {"schedule", sampling::hv_schedule_name(request_.schedule.kind)},
                   {"cache", std::string(cache::cache_method_name(request_.cache.method))},
                   {"dtype", load_.precision}};
    config.numbers = {{"width", static_cast<double>(request_.width)},
                      {"height", static_cast<double>(request_.height)},
                      {"num_frames", static_cast<double>(request_.frames)},
                      {"num_inference_steps", request_.steps},
                      {"shift", request_.schedule.shift},
                      {"embedded_guidance_scale", request_.embedded_cfg_scale},
                      {"guidance_scale", request_.cfg_scale},
                      {"seed", static_cast<double>(request_.seed)}};
    return config;
  }
  std::string bench_stem() const override { return "hunyuanvideo"; }
  std::unique_ptr<T2vFamily> make_family(const T2vSettings& settings) const override {
    return std::make_unique<HvFamily>(files_, settings, hv_t2v_options(request_, load_, joint_strategy_));
  }
  std::optional<PlannedRun> planned_run(const T2vSettings& settings) const override {
    PlannedRun p;
    p.model.name = "hunyuanvideo";
    const auto& c = dit_config_;
    p.model.dit = {planner::TextAttention::joint,
                   c.hidden,
                   c.heads,
                   c.mlp_hidden(),
                   c.double_blocks,
                   c.single_blocks,
                   c.text_dim,
                   kTextTokens,
                   dit_params_};
    p.model.dit.patch_t = c.patch[0], p.model.dit.patch_s = c.patch[1];
    // The Llama reads the prompt in the release's template (95 more tokens), CLIP 77.
    p.model.text_encoders = {
        {"llama", llama_params_, c.text_dim, 3 * c.text_dim, 0, kTextTokens + 95, llama_largest_},
        {"clip", clip_params_, c.pooled_dim, 4 * c.pooled_dim, 0, 77}};
    p.model.vae = vae_;
    p.run = run_shape(request_.height, request_.width, request_.frames, request_.steps, request_.uses_cfg(),
                      settings);
    p.run.vae_bytes = static_cast<int>(c10::elementSize(parse_dtype(load_.vae_precision)));
    return p;
  }

 private:
  bool diffusers() const { return request_.schedule.kind == sampling::HvScheduleKind::diffusers; }

  cache::CacheFlags cache_flags_;
  HvT2vRequest request_;
  std::vector<std::string> startup_lines_;
  HvT2vLoadSettings load_;
  std::vector<std::string> notes_;
  HvT2vFiles files_;
  // Text tokens the DiT sees per prompt (the release's text_len).
  static constexpr int64_t kTextTokens = 256;

  // What the memory preflight needs from the text encoders' and the VAE's indexes.
  void count_stage_parameters() {
    const auto llama = models::locate_hf_model_dir(files_.text_encoder, "text_encoder", "llama text encoder");
    const auto llama_source = io::open_checkpoint(llama.weights);
    llama_params_ = llama_parameters_used(*llama_source, 2);  // hidden_states[-3]
    llama_largest_ = largest_tensor(*llama_source);
    const auto clip =
        models::locate_hf_model_dir(files_.text_encoder_2, "text_encoder_2", "clip text encoder");
    clip_params_ = count_parameters(*io::open_checkpoint(clip.weights));
    const std::string vae = hv_vae_weights_file(files_.vae);
    std::shared_ptr<const io::TensorSource> source;
    try {
      source = io::open_checkpoint(vae);
    } catch (const UsageError&) {
      source = io::open_checkpoint(vae, "state_dict");
    }
    // The release tiles 64 + 1 frames (16 latents); diffusers' decode is framewise, 16 frames.
    vae_ = vae_decoder_shape(*source, planner::VaeDecode::tiles, diffusers() ? 16 : 65);
  }

  hv::HvConfig dit_config_;
  std::string joint_strategy_;
  int64_t dit_params_ = 0, llama_params_ = 0, llama_largest_ = 0, clip_params_ = 0;
  planner::VaeShape vae_;
};

LoadedDit load_hv_dit(const std::string& path, const DitLoadOptions& o) {
  const std::string key = o.ema ? "ema" : "module";
  auto ckpt = hv::locate_hv_checkpoint(path);
  auto model = std::make_shared<hv::HvModel>(ckpt.config,
                                             hv::load_hv_weights(ckpt, ckpt.config, o.dtype, o.device, key));
  LoadedDit dit;
  dit.heads = static_cast<int>(ckpt.config.heads);
  dit.description = "HunyuanVideo DiT " + ckpt.weights + " (" + std::to_string(ckpt.config.double_blocks) +
                    "+" + std::to_string(ckpt.config.single_blocks) + " blocks, '" + key + "')";
  dit.forward = [model, joint = o.joint_strategy](parallel::ProcessMesh& mesh, const io::TensorSource& in,
                                                  const c10::Device& on) {
    hv::HvInputs x{forward_input(in, on, "hidden_states"),
                   forward_input(in, on, "timestep"),
                   forward_input(in, on, "encoder_hidden_states"),
                   forward_input(in, on, "encoder_attention_mask", false),
                   forward_input(in, on, "pooled_projections"),
                   forward_input(in, on, "guidance", false)};
    return model->forward(mesh, x, joint);
  };
  return dit;
}

BenchDit bench_hv_dit(const BenchDitShape& s) {
  auto config = hv::hv_preset("hunyuanvideo");
  config.double_blocks = s.layers;
  config.single_blocks = s.single_layers;
  const auto& on = s.device;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  auto model = std::make_shared<hv::HvModel>(config, hv::random_hv_weights(config, s.dtype, 0, on));
  auto in = std::make_shared<hv::HvInputs>();
  in->hidden_states = at::randn({s.batch, 16, (s.frames - 1) / 4 + 1, s.height / 8, s.width / 8}, gen).to(on);
  in->timestep = at::full({s.batch}, 500.0f).to(on);
  in->encoder_hidden_states = at::randn({s.batch, s.text_len, config.text_dim}, gen).to(on);
  in->encoder_attention_mask = at::ones({s.batch, s.text_len});
  if (s.text_padding > 0)
    in->encoder_attention_mask.narrow(1, s.text_len - s.text_padding, s.text_padding).fill_(0);
  in->encoder_attention_mask = in->encoder_attention_mask.to(on);
  in->pooled_projections = at::randn({s.batch, config.pooled_dim}, gen).to(on);
  in->guidance = at::full({s.batch}, 6000.0f).to(on);
  BenchDit dit;
  dit.step = [model, in, joint = s.joint_strategy](parallel::ProcessMesh& mesh) {
    return model->forward(mesh, *in, joint);
  };
  dit.heads = config.heads, dit.head_dim = config.head_dim(),
  dit.attention_calls = s.layers + s.single_layers;
  dit.joint_text = s.text_len;
  return dit;
}

bool holds_hv_files(const fs::path& path) {
  if (fs::is_regular_file(path)) return path.extension() == ".pt" || path.extension() == ".pth";
  return !release_dit_under(path.string(), false).empty() || !release_dit_under(path.string(), true).empty();
}

}  // namespace

// Layers: the 20 double-stream and 40 single-stream blocks each have one joint attention. The
// 256 joint text tokens are under 0.3% of a 720p video and not counted by the planner.
ModelFamily hunyuan_video_descriptor() {
  ModelFamily f;
  f.id = "hunyuanvideo";
  f.display_name = "HunyuanVideo";
  f.model_prefixes = {"hunyuan"};
  f.plan_models = {{.name = "hunyuanvideo",
                    .aliases = {"hunyuan-video", "hunyuan", "tencent/hunyuanvideo"},
                    .heads = 24,
                    .head_dim = 128,
                    .layers = 60,
                    .default_seq_len = 33 * 45 * 80,
                    .default_shape = "1280x720, 129 frames"}};
  f.config_classes = {"HYVideoDiffusionTransformer", "HunyuanVideoTransformer3DModel"};
  f.holds_files = holds_hv_files;
  f.text_encoders = "llava-llama-3-8b + CLIP-L";
  f.vae = "884-16c-hy causal 3-D VAE";
  f.has_ema = true;
  f.bench_single_layers = true;
  f.t2v = {.fps = 24, .crf = 25};  // sample_video.py: imageio at 24 fps, quality 5 = crf 25
  f.load_dit = load_hv_dit;
  f.bench_dit = bench_hv_dit;
  f.read_t2v_job = [](core::Args& args, const std::string& location) -> std::unique_ptr<T2vJob> {
    return std::make_unique<HvT2vJob>(args, location);
  };
  return f;
}

}  // namespace uspdit::pipeline
