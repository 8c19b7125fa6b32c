#include "pipeline/wan_family.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <optional>
#include <tuple>

#include "cache/cache_flags.h"
#include "core/dtype.h"
#include "core/error.h"
#include "io/checkpoint.h"
#include "models/umt5/umt5_encoder.h"
#include "models/umt5/umt5_tokenizer.h"
#include "models/wan/wan_model.h"
#include "models/wan/wan_tensors.h"
#include "models/wan_vae/wan_vae_decoder.h"
#include "pipeline/family_registry.h"
#include "pipeline/forward_inputs.h"
#include "pipeline/wan_sampling_choice.h"

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
  out.schedule = r.schedule();
  out.cache = r.cache;
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
                              const at::Tensor& timesteps, const TextConditioning& text, const T2vRequest&,
                              cache::StepCache* cache) {
  return dit_->forward(mesh, {latents, timesteps, text.states, cache});
}

std::unique_ptr<sampling::Scheduler> WanFamily::make_scheduler(const T2vRequest& request) const {
  if (!request.schedule.timesteps.empty()) return sampling::make_scheduler(request.solver, request.schedule);
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

// ---- The Wan 2.1 descriptor: forward, bench dit, plan and generate's flags. ----
namespace {

// Wan names its tasks by model size; the DiT's config tells which one a directory holds.
std::string task_of(const models::wan::WanConfig& config) {
  return config.dim >= 5120 ? "t2v-14B" : "t2v-1.3B";
}

// A flag's value as a number (`what`: "a number" / "an integer"), else UsageError naming the flag.
double parse_number(const std::string& text, const std::string& flag, bool integer = false) {
  try {
    size_t used = 0;
    const double value = std::stod(text, &used);
    if (used == text.size() && (!integer || value == static_cast<double>(static_cast<int>(value))))
      return value;
  } catch (const std::logic_error&) {
  }
  throw UsageError(flag + " " + text + (integer ? ": expected an integer" : ": expected a number"));
}

int parse_steps(const std::string& text) {
  return static_cast<int>(parse_number(text, "--sample_steps", true));
}

// `uspdit generate` with Wan's generate.py and xDiT's flag names, e.g.
//   --ckpt_dir DIR --task t2v-1.3B --size 832*480 --frame_num 81 --sample_steps 50
//   --sample_shift 5 --sample_guide_scale 5 --base_seed 42 --save_file out.mp4   (Wan)
//   --height 480 --width 832 --num_frames 81 --num_inference_steps 50 --guidance_scale 5 --seed 42
class WanT2vJob final : public T2vJob {
 public:
  WanT2vJob(core::Args& args, std::string ckpt_dir) : ckpt_dir_(std::move(ckpt_dir)) {
    task_ = args.get("task");
    request_.prompt = args.get_string("prompt", "");
    negative_prompt_ = args.get("negative-prompt");
    if (const auto size = args.get("size")) {
      int64_t w = 0, h = 0;
      parse_wan_size(*size, w, h);
      size_flag_ = {w, h};
    }
    if (args.has("width")) width_flag_ = args.get_int("width", 0);
    if (args.has("height")) height_flag_ = args.get_int("height", 0);
    if (args.has("frame-num") || args.has("num-frames"))
      frames_flag_ = args.get_int_any({"frame-num", "num-frames"}, 0);
    // Solver, shift and steps: the flag when given, else the folder's scheduler (check_files).
    if (const auto steps = args.get_any({"sample-steps", "num-inference-steps"})) {
      sampling_flags_.steps = parse_steps(*steps);
    }
    if (const auto shift = args.get_any({"sample-shift", "shift", "flow-shift"})) {
      sampling_flags_.shift = parse_number(*shift, "--sample_shift");
    }
    sampling_flags_.solver = args.get_any({"sample-solver", "solver"});
    sampling_flags_.schedule = args.get("schedule");
    if (args.has("sample-guide-scale") || args.has("guidance-scale")) {
      guide_scale_flag_ = args.get_double_any({"sample-guide-scale", "guidance-scale"}, 5.0);
    }
    request_.seed = args.get_int_any({"base-seed", "seed"}, 0);
    request_.text_len = args.get_int_any({"text-len", "max-sequence-length"}, 0);
    save_file_ = args.get_string("save-file", "");
    // --dtype sets every stage that computes in it; a stage's own flag overrides it.
    // (resolved in check_files: the folder's generate_defaults.json may name the model's dtype)
    if (const auto dtype = args.get("dtype")) dtype_flag_ = parse_dtype(*dtype);
    if (const auto text_dtype = args.get_any({"text-dtype", "t5-dtype"}))
      text_dtype_flag_ = parse_dtype(*text_dtype);
    // xDiT's --enable_tiling: diffusers-style tiles (approximate, less memory); sizes in pixels.
    const VaeTiling tiling{args.get_int("vae-tile-size", 256), args.get_int("vae-tile-stride", 192)};
    if (args.flag("enable-tiling")) tiling_ = tiling;
    // xDiT's --enable_slicing decodes a batch one sample at a time; generate always decodes one.
    (void)args.flag("enable-slicing");
    // Wan's --t5_cpu: the text encoder runs on the host (no GPU memory for umt5-xxl's 11 GB).
    t5_cpu_ = args.flag("t5-cpu");
    offload_model_ = args.flag("offload-model");
    cache_flags_ = cache::read_cache_flags(args);
    overrides_.text_encoder = args.get_string("t5-checkpoint", "");
    overrides_.tokenizer = args.get_string("tokenizer", "");
    overrides_.vae = args.get_string("vae-checkpoint", "");
    require(
        tiling.stride > 0 && tiling.tile >= tiling.stride && tiling.tile % 8 == 0 && tiling.stride % 8 == 0,
        "--vae-tile-size and --vae-tile-stride must be multiples of 8 pixels with size >= stride > 0");
  }

  void apply_settings(T2vSettings& settings, const c10::Device& device) const override {
    settings.dit_dtype = dit_dtype_;
    settings.text_dtype = text_dtype_;
    settings.vae_tiling = tiling_;
    settings.text_device = t5_cpu_ ? core::host_device() : device;
    settings.offload_model = offload_model_;
  }

  void check_files() override {
    files_ = locate_wan_t2v_files(ckpt_dir_, overrides_);
    const auto dit = models::wan::locate_wan_checkpoint(files_.dit);
    dit_config_ = dit.config;
    defaults_ = read_model_defaults(ckpt_dir_);
    sampling_ = choose_wan_sampling(ckpt_dir_, files_.layout, sampling_flags_, defaults_);
    sampling_.apply(request_);
    apply_folder_defaults();
    // Opening a checkpoint reads only its index (safetensors header, zip directory): cheap, and
    // it catches truncated or corrupt weight files now rather than after the text encoder ran.
    dit_params_ = count_parameters(*io::open_checkpoint(dit.weights_dir));
    const auto text = io::open_checkpoint(files_.text_encoder);
    text_params_ = count_parameters(*text);
    text_largest_ = largest_tensor(*text);
    vae_ = vae_decoder_shape(*io::open_checkpoint(files_.vae), planner::VaeDecode::causal_frames, 0);
  }

  void validate() override {
    request_.task = task_.value_or(task_of(dit_config_));
    pipeline::validate(request_);
    request_.cache = cache::wan_cache_config(cache_flags_, request_.task, request_.steps);
  }

  int heads() const override { return static_cast<int>(dit_config_.num_heads); }
  std::string model_label() const override { return defaults_.name.value_or("Wan 2.1 " + request_.task); }
  std::string no_guidance_hint() const override {
    return "--use_cfg_parallel needs classifier-free guidance: --sample_guide_scale 1 has a single branch";
  }
  T2vRequest request() const override { return to_t2v_request(request_); }
  std::string output_path() const override {
    if (!save_file_.empty()) return save_file_;
    return defaults_.name.value_or("wan_" + request_.task) + "_" + std::to_string(request_.width) + "x" +
           std::to_string(request_.height) + "x" + std::to_string(request_.frames) + "_seed" +
           std::to_string(request_.seed) + ".mp4";
  }
  std::string describe() const override {
    return model_label() + " from " + ckpt_dir_ + " (" + files_.layout + " layout), " +
           std::to_string(request_.width) + "x" + std::to_string(request_.height) + ", " +
           std::to_string(request_.frames) + " frames, " + std::to_string(request_.steps) + " steps";
  }
  std::vector<std::string> startup_lines() const override {
    std::vector<std::string> lines = {
        sampling_.log_line(), "dtypes: text encoder " + dtype_name(text_dtype_) + " (" + text_dtype_from_ +
                                  "), DiT " + dtype_name(dit_dtype_) + " (" + dit_dtype_from_ +
                                  "), VAE fp32 (always), sampler fp32 (always)"};
    if (!from_folder_.empty()) {
      std::string which;
      for (const auto& what : from_folder_) which += (which.empty() ? "" : ", ") + what;
      lines.push_back("model defaults: " + which + " from " + defaults_.file + " (a flag overrides each)");
    }
    if (request_.cache.enabled()) lines.push_back(request_.cache.describe());
    return lines;
  }
  std::vector<std::string> notes() const override {
    const auto warning = defaults_.trained_sizes.empty()
                             ? untrained_size_warning(request_)
                             : untrained_size_warning(request_, model_label(), defaults_.trained_sizes);
    return warning.empty() ? std::vector<std::string>{} : std::vector<std::string>{warning};
  }
  BenchConfig bench_config() const override {
    BenchConfig config;
    config.text = {{"model", "wan2.1-" + request_.task},
                   {"ckpt_dir", ckpt_dir_},
                   {"layout", files_.layout},
                   {"prompt", request_.prompt},
                   {"solver", std::string(sampling::solver_name(request_.solver))},
                   {"schedule", std::string(sampling::schedule_reference_name(request_.reference))},
                   {"dtype", dtype_name(dit_dtype_)},
                   {"cache", std::string(cache::cache_method_name(request_.cache.method))}};
    config.numbers = {{"width", static_cast<double>(request_.width)},
                      {"height", static_cast<double>(request_.height)},
                      {"num_frames", static_cast<double>(request_.frames)},
                      {"num_inference_steps", request_.steps},
                      {"shift", request_.shift},
                      {"guidance_scale", request_.guide_scale},
                      {"seed", static_cast<double>(request_.seed)}};
    return config;
  }
  std::string bench_stem() const override { return "wan_" + request_.task; }
  std::unique_ptr<T2vFamily> make_family(const T2vSettings& settings) const override {
    return std::make_unique<WanFamily>(files_, settings);
  }
  std::optional<PlannedRun> planned_run(const T2vSettings& settings) const override {
    PlannedRun p;
    p.model.name = "wan2.1-" + request_.task;
    const auto& c = dit_config_;
    p.model.dit = {planner::TextAttention::cross,
                   c.dim,
                   c.num_heads,
                   c.ffn_dim,
                   c.num_layers,
                   0,
                   c.text_dim,
                   request_.text_len > 0 ? request_.text_len : c.text_len,
                   dit_params_};
    p.model.dit.patch_t = c.patch[0], p.model.dit.patch_s = c.patch[1];
    p.model.text_encoders = {
        {"umt5", text_params_, c.text_dim, 3 * c.text_dim, 0, p.model.dit.text_len, text_largest_}};
    p.model.vae = vae_;
    p.run = run_shape(request_.height, request_.width, request_.frames, request_.steps, request_.uses_cfg(),
                      settings);
    p.run.vae_bytes = 4;  // Wan's VAE always runs in fp32
    p.run.text_encoder_on_host = t5_cpu_;
    return p;
  }

 private:
  // Size, length, guidance, negative prompt and dtypes: the flag, else the folder's
  // generate_defaults.json, else generate.py's (1280*720, 81 frames, guidance 5, Wan's negative
  // prompt, bf16).
  void apply_folder_defaults() {
    if (size_flag_) {
      std::tie(request_.width, request_.height) = *size_flag_;
    } else if (defaults_.width) {
      request_.width = *defaults_.width, request_.height = *defaults_.height;
    }
    request_.width = width_flag_.value_or(request_.width);
    request_.height = height_flag_.value_or(request_.height);
    request_.frames = frames_flag_.value_or(defaults_.frames.value_or(81));
    request_.guide_scale = guide_scale_flag_.value_or(defaults_.guide_scale.value_or(5.0));
    request_.negative_prompt = negative_prompt_.value_or(defaults_.negative_prompt.value_or(""));
    const auto folder_dtype =
        defaults_.dtype ? std::optional<at::ScalarType>(parse_dtype(*defaults_.dtype)) : std::nullopt;
    dit_dtype_ = dtype_flag_.value_or(folder_dtype.value_or(at::kBFloat16));
    dit_dtype_from_ = dtype_flag_ ? "--dtype" : folder_dtype ? defaults_.source() : "default";
    text_dtype_ = text_dtype_flag_.value_or(dit_dtype_);
    text_dtype_from_ = text_dtype_flag_ ? "--text-dtype" : dit_dtype_from_;
    from_folder_.clear();
    if (!size_flag_ && !width_flag_ && !height_flag_ && defaults_.width) from_folder_.push_back("size");
    if (!frames_flag_ && defaults_.frames) from_folder_.push_back("frames");
    if (!guide_scale_flag_ && defaults_.guide_scale) from_folder_.push_back("guidance");
    if (!negative_prompt_ && defaults_.negative_prompt) from_folder_.push_back("negative prompt");
  }

  std::string ckpt_dir_;
  std::optional<std::string> task_;
  std::optional<std::pair<int64_t, int64_t>> size_flag_;
  std::optional<int64_t> width_flag_, height_flag_, frames_flag_;
  std::optional<double> guide_scale_flag_;
  std::optional<at::ScalarType> dtype_flag_, text_dtype_flag_;
  std::optional<std::string> negative_prompt_;
  ModelDefaults defaults_;
  std::vector<std::string> from_folder_;  // settings that came from generate_defaults.json
  WanT2vRequest request_;
  WanSamplingFlags sampling_flags_;
  WanSamplingChoice sampling_;
  std::string text_dtype_from_, dit_dtype_from_;
  std::string save_file_;
  at::ScalarType dit_dtype_ = at::kBFloat16, text_dtype_ = at::kBFloat16;
  std::optional<VaeTiling> tiling_;
  bool t5_cpu_ = false, offload_model_ = false;
  cache::CacheFlags cache_flags_;
  WanT2vFileOverrides overrides_;
  WanT2vFiles files_;
  models::wan::WanConfig dit_config_;
  int64_t dit_params_ = 0, text_params_ = 0, text_largest_ = 0;
  planner::VaeShape vae_;
};

LoadedDit load_wan_dit(const std::string& path, const DitLoadOptions& o) {
  auto ckpt = models::wan::locate_wan_checkpoint(path);
  auto source = io::open_checkpoint(ckpt.weights_dir);
  auto model = std::make_shared<models::wan::WanModel>(
      ckpt.config, models::wan::load_wan_weights(*source, ckpt.config, o.dtype, o.device));
  LoadedDit dit;
  dit.heads = static_cast<int>(ckpt.config.num_heads);
  dit.description =
      "Wan 2.1 DiT " + ckpt.weights_dir + " (" + std::to_string(ckpt.config.num_layers) + " layers)";
  dit.forward = [model](parallel::ProcessMesh& mesh, const io::TensorSource& in, const c10::Device& on) {
    return model->forward(mesh, {forward_input(in, on, "hidden_states"), forward_input(in, on, "timestep"),
                                 forward_input(in, on, "encoder_hidden_states")});
  };
  return dit;
}

BenchDit bench_wan_dit(const BenchDitShape& s) {
  auto config = models::wan::wan_preset(s.model);
  config.num_layers = s.layers;
  const auto& on = s.device;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  auto model = std::make_shared<models::wan::WanModel>(
      config, models::wan::random_wan_weights(config, s.dtype, 0, on));
  auto in = std::make_shared<models::wan::WanInputs>();
  in->hidden_states = at::randn({s.batch, 16, (s.frames - 1) / 4 + 1, s.height / 8, s.width / 8}, gen).to(on);
  in->timestep = at::full({s.batch}, 500.0f).to(on);
  in->encoder_hidden_states = at::randn({s.batch, s.text_len, config.text_dim}, gen).to(on);
  BenchDit dit;
  dit.step = [model, in](parallel::ProcessMesh& mesh) { return model->forward(mesh, *in); };
  dit.heads = config.num_heads, dit.head_dim = config.head_dim(), dit.attention_calls = s.layers;
  return dit;
}

}  // namespace

// Tokens per sample = latent frames × (latent height / 2) × (latent width / 2). Layers count the
// attention calls that carry sequence-parallel traffic: one self-attention per block (the
// cross-attention reads replicated text and sends nothing).
ModelFamily wan21_descriptor() {
  ModelFamily f;
  f.id = "wan2.1";
  f.display_name = "Wan 2.1";
  f.model_prefixes = {"wan"};
  f.plan_models = {{.name = "wan2.1-t2v-14b",
                    .aliases = {"wan2.1-14b", "wan-14b", "wan14b", "wan-ai/wan2.1-t2v-14b"},
                    .heads = 40,
                    .head_dim = 128,
                    .layers = 40,
                    .default_seq_len = 21 * 45 * 80,
                    .default_shape = "1280x720, 81 frames"},
                   {.name = "wan2.1-t2v-1.3b",
                    .aliases = {"wan2.1-1.3b", "wan-1.3b", "wan1.3b", "wan-ai/wan2.1-t2v-1.3b"},
                    .heads = 12,
                    .head_dim = 128,
                    .layers = 30,
                    .default_seq_len = 21 * 30 * 52,
                    .default_shape = "832x480, 81 frames"}};
  f.config_classes = {"WanModel", "WanTransformer3DModel"};
  f.text_encoders = "umt5-xxl";
  f.vae = "Wan-VAE";
  f.t2v = {.fps = 16, .crf = 10};  // Wan's cache_video: imageio quality 8 = libx264 crf 10
  f.load_dit = load_wan_dit;
  f.bench_dit = bench_wan_dit;
  f.read_t2v_job = [](core::Args& args, const std::string& location) -> std::unique_ptr<T2vJob> {
    return std::make_unique<WanT2vJob>(args, location);
  };
  return f;
}

}  // namespace uspdit::pipeline
