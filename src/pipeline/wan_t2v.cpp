#include "pipeline/wan_t2v.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <sstream>

#include "core/device.h"
#include "core/device_errors.h"
#include "core/error.h"
#include "core/log.h"
#include "core/memory.h"
#include "core/progress.h"
#include "core/timer.h"
#include "parallel/agreement.h"
#include "io/checkpoint.h"
#include "models/umt5/umt5_encoder.h"
#include "models/umt5/umt5_tokenizer.h"
#include "models/wan/wan_loader.h"
#include "models/wan/wan_model.h"
#include "models/wan_vae/wan_vae_decoder.h"
#include "sampling/guidance.h"
#include "sampling/scheduler.h"

namespace uspdit::pipeline {

WanT2vPipeline::WanT2vPipeline(parallel::ProcessMesh& mesh, WanT2vFiles files, WanT2vSettings settings)
    : mesh_(mesh),
      files_(std::move(files)),
      settings_(settings),
      // config.json only: the weights load after the text encoder is freed.
      dit_checkpoint_(models::wan::locate_wan_checkpoint(files_.dit)) {}

WanT2vPipeline::~WanT2vPipeline() = default;

namespace {

// What frees memory in each stage of a Wan run, for the out-of-memory line.
std::string ways_to_fit(const std::string& stage) {
  if (stage == "encode_text") return "--t5_cpu (the text encoder on the host), or --text-dtype bf16";
  if (stage == "load_dit") {
    return "--dtype bf16 (every rank holds the whole DiT, so more ranks do not help here), or a GPU with more memory";
  }
  if (stage == "decode" || stage == "load_vae") {
    return "--enable_tiling (one tile at a time), or more ranks (the rows are split across them)";
  }
  return "more ranks (--ulysses_degree/--ring_degree split the sequence), --dtype bf16, or a smaller "
         "--size/--frame_num";
}

}  // namespace

void WanT2vPipeline::stage(const std::string& name, int repeat, const std::function<void()>& work) {
  auto& world = mesh_.world();
  reset_peak_rss();
  core::reset_device_peak(settings_.device);
  const int64_t bytes_before = world.stats().bytes_sent;
  Stopwatch sw;
  // A failure on one rank (a file unreadable on one node) fails the stage on every rank.
  parallel::run_agreed(world, [&] {
    try {
      work();
      core::synchronize(settings_.device);  // the stage's GPU work is done when its time is read
    } catch (const c10::OutOfMemoryError& e) {
      // One line on every rank (run_agreed shares the first failure), not an allocator dump.
      throw std::runtime_error(core::out_of_memory_line(name, e.what_without_backtrace(), settings_.device,
                                                        core::device_memory(settings_.device), ways_to_fit(name)));
    }
  });
  StageRecord r;
  r.name = name;
  r.repeat = repeat;
  r.seconds = sw.seconds();
  r.peak_rss_bytes = peak_rss_bytes();
  r.bytes_sent = world.stats().bytes_sent - bytes_before;
  const auto memory = core::device_memory(settings_.device);
  r.peak_device_bytes = memory.peak_allocated;
  r.device_free_bytes = memory.free;
  record_.stages.push_back(r);
  std::ostringstream line;
  line.precision(3);
  line << name << (repeat > 0 ? " (run " + std::to_string(repeat + 1) + ")" : "") << ": " << std::fixed << r.seconds
       << " s, peak " << static_cast<double>(r.peak_rss_bytes) / (1 << 30) << " GiB on rank 0";
  if (r.peak_device_bytes > 0) {
    line << " (host), " << static_cast<double>(r.peak_device_bytes) / (1 << 30) << " GiB on "
         << core::device_label(settings_.device) << ", " << static_cast<double>(r.device_free_bytes) / (1 << 30)
         << " GiB free";
  }
  log::info(line.str());
}

const models::wan::WanModel& WanT2vPipeline::dit() {
  if (!dit_) {
    stage("load_dit", 0, [&] {
      const auto& ckpt = dit_checkpoint_;
      auto source = io::open_checkpoint(ckpt.weights_dir);
      dit_ = std::make_shared<models::wan::WanModel>(
          ckpt.config, models::wan::load_wan_weights(*source, ckpt.config, settings_.dit_dtype, settings_.device));
    });
  }
  return *dit_;
}

at::Tensor WanT2vPipeline::run_text_encoder(const std::vector<std::string>& prompts, int64_t len, int64_t width) {
  core::ProgressBar bar("text encoder", static_cast<int64_t>(prompts.size()), settings_.show_progress && rank0());
  const auto tokenizer = models::umt5::Umt5Tokenizer::load(files_.tokenizer);
  const auto encoder = models::umt5::Umt5Encoder::load(files_.text_encoder, settings_.text_dtype, settings_.text_device);
  require(encoder.config().dim == width, "text encoder " + files_.text_encoder + " is " +
                                             std::to_string(encoder.config().dim) + " wide, but the DiT expects text_dim " +
                                             std::to_string(width) + " (is --t5-checkpoint the umt5-xxl of this model?)");
  std::vector<at::Tensor> rows;
  for (const auto& prompt : prompts) {
    const auto tokens = tokenizer.encode({prompt}, len);
    // Wan keeps the encoder output of the prompt's own tokens and zero-pads to text_len.
    const auto encoded = encoder.encode(tokens);
    rows.push_back(encoded * tokens.mask.unsqueeze(-1).to(encoded.device(), at::kFloat));
    bar.advance();
  }
  return at::cat(rows, 0).to(settings_.device).contiguous();
  // The encoder goes out of scope here: its memory is free before the DiT is loaded.
}

PromptEmbeddings WanT2vPipeline::encode_prompts(const WanT2vRequest& request) {
  const auto& dit_config = dit_checkpoint_.config;
  const int64_t len = request.text_len > 0 ? request.text_len : dit_config.text_len;
  auto& world = mesh_.world();
  const bool guided = request.uses_cfg();
  const int branch = cfg_parallel() ? mesh_.coord().cfg : -1;  // 0 cond, 1 uncond, -1 both
  PromptEmbeddings out;
  if (settings_.text_encoder_on_every_rank || world.size() == 1) {
    // Each rank encodes what its CFG branch needs: fastest, but every rank holds the encoder.
    std::vector<std::string> prompts;
    if (branch != 1) prompts.push_back(request.prompt);
    if (guided && branch != 0) prompts.push_back(request.negative());
    at::Tensor embeddings;
    stage("encode_text", 0, [&] {
      embeddings = run_text_encoder(prompts, len, dit_config.text_dim);
      core::release_cached_memory(settings_.text_device);  // the encoder's blocks, before the DiT's
    });
    int64_t row = 0;
    if (branch != 1) out.cond = embeddings.narrow(0, row++, 1);
    if (guided && branch != 0) out.uncond = embeddings.narrow(0, row++, 1);
    return out;
  }
  // One encoder for the whole job: umt5-xxl is 11 GB in bf16, and a node running 8 ranks
  // would otherwise hold 8 copies. Rank 0 encodes; the embeddings (a few MB) are broadcast.
  std::vector<std::string> prompts = {request.prompt};
  if (guided) prompts.push_back(request.negative());
  at::Tensor embeddings;
  stage("encode_text", 0, [&] {
    if (world.rank() == 0) embeddings = run_text_encoder(prompts, len, dit_config.text_dim);
    core::release_cached_memory(settings_.text_device);  // the encoder's blocks, before the DiT's
  });
  stage("share_text", 0, [&] {
    if (world.rank() != 0) {
      embeddings = at::empty({static_cast<int64_t>(prompts.size()), len, dit_config.text_dim},
                             at::TensorOptions().dtype(at::kFloat).device(settings_.device));
    }
    world.broadcast(embeddings, 0);
  });
  if (branch != 1) out.cond = embeddings.narrow(0, 0, 1);
  if (guided && branch != 0) out.uncond = embeddings.narrow(0, 1, 1);
  return out;
}

at::Tensor WanT2vPipeline::initial_noise(const WanT2vRequest& request) const {
  // Drawn on the CPU from the seed, identically on every rank, then moved: the same video on
  // every device and mesh. torch.randn(shape, generator=torch.Generator().manual_seed(seed))
  // gives the same numbers.
  auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(request.seed));
  return at::randn({1, 16, request.latent_frames(), request.latent_height(), request.latent_width()}, gen)
      .to(settings_.device);
}

at::Tensor WanT2vPipeline::denoise(const WanT2vRequest& request, const PromptEmbeddings& text, at::Tensor latents,
                                   int steps_to_run, std::vector<double>* step_seconds) {
  const auto& model = dit();
  auto scheduler = sampling::make_scheduler(request.solver, request.steps, request.shift);
  const auto& timesteps = scheduler->schedule().timesteps;
  const bool guided = request.uses_cfg();
  core::ProgressBar bar("denoising", steps_to_run, settings_.show_progress && rank0());
  for (int i = 0; i < steps_to_run; ++i) {
    Stopwatch sw;
    const auto t = at::full({1}, timesteps.at(static_cast<size_t>(i)), latents.options().dtype(at::kFloat));
    at::Tensor velocity;
    if (!guided) {
      velocity = model.forward(mesh_, {latents, t, text.cond});
    } else if (cfg_parallel()) {
      // This group's branch, then both branches on every rank: [cond, uncond] in cfg order.
      const bool cond_group = mesh_.coord().cfg == 0;
      auto mine = model.forward(mesh_, {latents, t, cond_group ? text.cond : text.uncond}).contiguous();
      auto both = at::empty({2 * mine.numel()}, mine.options());
      const int64_t counts[2] = {mine.numel(), mine.numel()};
      mesh_.cfg().all_gather_v(mine.reshape({-1}), both, counts);
      const auto cond = both.narrow(0, 0, mine.numel()).view(mine.sizes());
      const auto uncond = both.narrow(0, mine.numel(), mine.numel()).view(mine.sizes());
      velocity = sampling::classifier_free_guidance(cond, uncond, request.guide_scale);
    } else {
      // Both branches in one batch-2 forward: one pass over the weights instead of two.
      auto out = model.forward(mesh_, {at::cat({latents, latents}), at::cat({t, t}), at::cat({text.cond, text.uncond})});
      velocity = sampling::classifier_free_guidance(out.narrow(0, 0, 1), out.narrow(0, 1, 1), request.guide_scale);
    }
    latents = scheduler->step(velocity, i, latents);
    if (step_seconds) {
      core::synchronize(settings_.device);  // a GPU step is done when it has run, not when queued
      step_seconds->push_back(sw.seconds());
    }
    bar.advance();
  }
  return latents;
}

void WanT2vPipeline::load_vae() {
  if (vae_) return;
  stage("load_vae", 0, [&] {
    vae_ = std::make_shared<models::wan_vae::WanVaeDecoder>(models::wan_vae::WanVaeDecoder::load(files_.vae, settings_.device));
  });
}

at::Tensor WanT2vPipeline::decode(const at::Tensor& latents) {
  load_vae();
  auto& world = mesh_.world();
  if (settings_.vae_tiling) {
    const int64_t stride = settings_.vae_tiling->stride / 8;
    const int64_t tiles = ((latents.size(3) + stride - 1) / stride) * ((latents.size(4) + stride - 1) / stride);
    core::ProgressBar bar("decoding tiles", tiles, settings_.show_progress && rank0());
    parallel::Communicator* group = settings_.parallel_vae && world.size() > 1 ? &world : nullptr;
    return vae_->decode_tiled(latents, *settings_.vae_tiling, group, [&bar] { bar.advance(); });
  }
  const int rows = static_cast<int>(latents.size(3));
  core::ProgressBar bar("decoding", latents.size(2), settings_.show_progress && rank0());
  const auto tick = [&bar] { bar.advance(); };
  if (!settings_.parallel_vae || world.size() == 1) return vae_->decode(latents, nullptr, tick);
  if (world.size() <= rows) return vae_->decode(latents, &world, tick);
  // More ranks than latent rows (small videos on big jobs): the first `rows` ranks decode, and
  // rank 0 shares the result with the rest.
  if (!decode_group_ || decode_group_rows_ != rows) {
    decode_group_ = world.split(world.rank() < rows ? 0 : 1, world.rank());
    decode_group_rows_ = rows;
  }
  at::Tensor video;
  if (world.rank() < rows) {
    video = vae_->decode(latents, decode_group_.get(), tick).contiguous();
  } else {
    video = at::empty({latents.size(0), 3, 1 + 4 * (latents.size(2) - 1), 8 * latents.size(3), 8 * latents.size(4)},
                      latents.options().dtype(at::kFloat));
  }
  world.broadcast(video, 0);
  return video;
}

at::Tensor WanT2vPipeline::generate(const WanT2vRequest& request) {
  validate(request);
  // The VAE first: it is small (0.5 GB for Wan 2.1), and a broken VAE file then fails the run
  // before minutes of text encoding and denoising instead of after.
  load_vae();
  const auto text = encode_prompts(request);
  dit();
  const auto noise = initial_noise(request);
  if (settings_.warmup_steps > 0) {
    stage("warmup", 0, [&] {
      denoise(request, text, noise, std::min(settings_.warmup_steps, request.steps), &record_.warmup_step_seconds);
    });
  }
  at::Tensor video;
  for (int repeat = 0; repeat < std::max(1, settings_.n_repeats); ++repeat) {
    at::Tensor latents;
    record_.step_seconds.emplace_back();
    dit();  // loaded (again, after --offload_model) outside the timed denoising
    stage("denoise", repeat, [&] { latents = denoise(request, text, noise, request.steps, &record_.step_seconds.back()); });
    if (settings_.offload_model) {
      dit_.reset();
      core::release_cached_memory(settings_.device);
    }
    stage("decode", repeat, [&] { video = decode(latents); });
  }
  return video[0];
}

}  // namespace uspdit::pipeline
