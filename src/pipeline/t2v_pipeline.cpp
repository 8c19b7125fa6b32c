#include "pipeline/t2v_pipeline.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>

#include "cache/step_cache.h"
#include "core/device.h"
#include "core/device_errors.h"
#include "core/log.h"
#include "core/memory.h"
#include "core/progress.h"
#include "core/timer.h"
#include "core/where.h"
#include "parallel/agreement.h"
#include "sampling/guidance.h"

namespace uspdit::pipeline {

T2vPipeline::T2vPipeline(parallel::ProcessMesh& mesh, std::unique_ptr<T2vFamily> family, T2vSettings settings)
    : mesh_(mesh), family_(std::move(family)), settings_(settings) {}

T2vPipeline::~T2vPipeline() = default;

void T2vPipeline::stage(const std::string& name, int repeat, const std::function<void()>& work) {
  auto& world = mesh_.world();
  where::set_stage(name);  // for the watchdog's line (parallel/watchdog.h)
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
                                                        core::device_memory(settings_.device),
                                                        family_->ways_to_fit(name)));
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
  line << name << (repeat > 0 ? " (run " + std::to_string(repeat + 1) + ")" : "") << ": " << std::fixed
       << r.seconds << " s, peak " << static_cast<double>(r.peak_rss_bytes) / (1 << 30) << " GiB on rank 0";
  if (r.peak_device_bytes > 0) {
    line << " (host), " << static_cast<double>(r.peak_device_bytes) / (1 << 30) << " GiB on "
         << core::device_label(settings_.device) << ", "
         << static_cast<double>(r.device_free_bytes) / (1 << 30) << " GiB free";
  }
  log::info(line.str());
}

void T2vPipeline::load_dit() {
  if (!family_->dit_loaded()) stage("load_dit", 0, [&] { family_->load_dit(); });
}

void T2vPipeline::load_vae() {
  if (!family_->vae_loaded()) stage("load_vae", 0, [&] { family_->load_vae(); });
}

TextConditioning T2vPipeline::run_text_encoder(const std::vector<std::string>& prompts,
                                               const T2vRequest& request) {
  core::ProgressBar bar("text encoder", static_cast<int64_t>(prompts.size()),
                        settings_.show_progress && rank0());
  return family_->encode_text(prompts, request, [&bar] { bar.advance(); });
  // The family frees its encoder before returning: its memory is free before the DiT is loaded.
}

PromptEmbeddings T2vPipeline::encode_prompts(const T2vRequest& request) {
  auto& world = mesh_.world();
  const bool guided = request.guided;
  const int branch = cfg_parallel() ? mesh_.coord().cfg : -1;  // 0 cond, 1 uncond, -1 both
  PromptEmbeddings out;
  if (settings_.text_encoder_on_every_rank || world.size() == 1) {
    // Each rank encodes what its CFG branch needs: fastest, but every rank holds the encoder.
    std::vector<std::string> prompts;
    if (branch != 1) prompts.push_back(request.prompt);
    if (guided && branch != 0) prompts.push_back(request.negative_prompt);
    TextConditioning embeddings;
    stage("encode_text", 0, [&] {
      embeddings = run_text_encoder(prompts, request);
      core::release_cached_memory(settings_.text_device);  // the encoder's blocks, before the DiT's
    });
    int64_t row = 0;
    if (branch != 1) out.cond = embeddings.row(row++);
    if (guided && branch != 0) out.uncond = embeddings.row(row++);
    return out;
  }
  // One encoder for the whole job: a text encoder can be larger than a GPU's share (umt5-xxl is
  // 11 GB in bf16), and a node running 8 ranks would otherwise hold 8 copies. Rank 0 encodes;
  // the embeddings (a few MB) are broadcast.
  std::vector<std::string> prompts = {request.prompt};
  if (guided) prompts.push_back(request.negative_prompt);
  TextConditioning embeddings;
  stage("encode_text", 0, [&] {
    if (world.rank() == 0) embeddings = run_text_encoder(prompts, request);
    core::release_cached_memory(settings_.text_device);  // the encoder's blocks, before the DiT's
  });
  stage("share_text", 0, [&] {
    if (world.rank() != 0) embeddings = family_->empty_text(static_cast<int64_t>(prompts.size()), request);
    for (at::Tensor* part : embeddings.parts()) world.broadcast(*part, 0);
  });
  if (branch != 1) out.cond = embeddings.row(0);
  if (guided && branch != 0) out.uncond = embeddings.row(1);
  return out;
}

at::Tensor T2vPipeline::initial_noise(const T2vRequest& request) const {
  // Drawn on the CPU from the seed, identically on every rank, then moved: the same video on
  // every device and mesh. torch.randn(shape, generator=torch.Generator().manual_seed(seed))
  // gives the same numbers.
  auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(request.seed));
  return at::randn(request.latent_shape, gen).to(settings_.device);
}

at::Tensor T2vPipeline::denoise(const T2vRequest& request, const PromptEmbeddings& text, at::Tensor latents,
                                int steps_to_run, std::vector<double>* step_seconds) {
  load_dit();
  auto scheduler = family_->make_scheduler(request);
  const auto& timesteps = scheduler->schedule().timesteps;
  core::ProgressBar bar("denoising", steps_to_run, settings_.show_progress && rank0());
  // A fresh cache per run (warm-up and repeats alike): its state is the run's. The reference's
  // always-computed last steps count from the request's steps, not from steps_to_run.
  std::unique_ptr<cache::StepCache> step_cache;
  if (request.cache.enabled()) {
    step_cache = std::make_unique<cache::StepCache>(request.cache, request.steps, request.guided ? 2 : 1);
  }
  for (int i = 0; i < steps_to_run; ++i) {
    where::set_step(i);
    Stopwatch sw;
    const auto t = at::full({1}, timesteps.at(static_cast<size_t>(i)), latents.options().dtype(at::kFloat));
    at::Tensor velocity;
    if (!request.guided) {
      if (step_cache) step_cache->begin_forward(i, {0});
      velocity = family_->predict(mesh_, latents, t, text.cond, request, step_cache.get());
    } else if (cfg_parallel()) {
      // This group's branch, then both branches on every rank: [cond, uncond] in cfg order.
      const bool cond_group = mesh_.coord().cfg == 0;
      if (step_cache) step_cache->begin_forward(i, {cond_group ? 0 : 1});
      auto mine =
          family_->predict(mesh_, latents, t, cond_group ? text.cond : text.uncond, request, step_cache.get())
              .contiguous();
      auto both = at::empty({2 * mine.numel()}, mine.options());
      const int64_t counts[2] = {mine.numel(), mine.numel()};
      mesh_.cfg().all_gather_v(mine.reshape({-1}), both, counts);
      const auto cond = both.narrow(0, 0, mine.numel()).view(mine.sizes());
      const auto uncond = both.narrow(0, mine.numel(), mine.numel()).view(mine.sizes());
      velocity = sampling::classifier_free_guidance(cond, uncond, request.guidance_scale);
    } else {
      // Both branches in one batch-2 forward: one pass over the weights instead of two.
      if (step_cache) step_cache->begin_forward(i, {0, 1});
      auto out = family_->predict(mesh_, at::cat({latents, latents}), at::cat({t, t}),
                                  TextConditioning::cat(text.cond, text.uncond), request, step_cache.get());
      velocity = sampling::classifier_free_guidance(out.narrow(0, 0, 1), out.narrow(0, 1, 1),
                                                    request.guidance_scale);
    }
    latents = scheduler->step(velocity, i, latents);
    if (step_seconds) {
      core::synchronize(settings_.device);  // a GPU step is done when it has run, not when queued
      step_seconds->push_back(sw.seconds());
    }
    bar.advance();
  }
  if (step_cache) {
    last_cache_record_ = step_cache->record();
    if (cfg_parallel()) share_cache_pattern(last_cache_record_);
  }
  return latents;
}

void T2vPipeline::share_cache_pattern(cache::CacheRecord& record) {
  // Each CFG group ran one branch: the other group's pattern is its row; swap it (a few bytes).
  auto& cfg = mesh_.cfg();
  const int branch = mesh_.coord().cfg;
  const auto& mine = record.pattern[static_cast<size_t>(branch)];
  const auto n = static_cast<int64_t>(mine.size());
  auto send = at::empty({n}, at::kChar);
  std::copy(mine.begin(), mine.end(), send.data_ptr<int8_t>());
  auto both = at::empty({2 * n}, at::kChar);
  const int64_t counts[2] = {n, n};
  cfg.host_all_gather_v(send, both, counts);
  for (int b = 0; b < 2; ++b) {
    const auto* p = both.data_ptr<int8_t>() + b * n;
    record.pattern[static_cast<size_t>(b)].assign(p, p + n);
  }
}

void T2vPipeline::log_cache(const cache::CacheRecord& record) const {
  if (rank0()) log::info(record.summary());
}

at::Tensor T2vPipeline::decode(const at::Tensor& latents) {
  load_vae();
  auto& world = mesh_.world();
  if (settings_.vae_tiling) {
    core::ProgressBar bar("decoding tiles", family_->tile_count(latents, *settings_.vae_tiling),
                          settings_.show_progress && rank0());
    parallel::Communicator* group = settings_.parallel_vae && world.size() > 1 ? &world : nullptr;
    return family_->decode_tiled(latents, *settings_.vae_tiling, group, [&bar] { bar.advance(); });
  }
  const int ranks = family_->max_decode_ranks(latents);
  core::ProgressBar bar("decoding", family_->decode_ticks(latents), settings_.show_progress && rank0());
  const auto tick = [&bar] { bar.advance(); };
  if (!settings_.parallel_vae || world.size() == 1) return family_->decode(latents, nullptr, tick);
  if (world.size() <= ranks) return family_->decode(latents, &world, tick);
  // More ranks than can share the decode (small videos on big jobs): the first `ranks` ranks
  // decode, and rank 0 shares the result with the rest.
  if (!decode_group_ || decode_group_ranks_ != ranks) {
    decode_group_ = world.split(world.rank() < ranks ? 0 : 1, world.rank());
    decode_group_ranks_ = ranks;
  }
  at::Tensor video;
  if (world.rank() < ranks) {
    video = family_->decode(latents, decode_group_.get(), tick).contiguous();
  } else {
    video = at::empty(family_->video_shape(latents), latents.options().dtype(at::kFloat));
  }
  world.broadcast(video, 0);
  return video;
}

at::Tensor T2vPipeline::generate(const T2vRequest& request) {
  if (request.latent_shape.size() != 5 || request.steps < 1) {
    throw std::invalid_argument(
        "T2vPipeline::generate: the family's request needs a [1, C, T, h, w] latent shape "
        "and steps >= 1");
  }
  // The VAE first: it is small (0.5 GB for Wan 2.1), and a broken VAE file then fails the run
  // before minutes of text encoding and denoising instead of after.
  load_vae();
  const auto text = encode_prompts(request);
  load_dit();
  const auto noise = initial_noise(request);
  if (settings_.warmup_steps > 0) {
    stage("warmup", 0, [&] {
      denoise(request, text, noise, std::min(settings_.warmup_steps, request.steps),
              &record_.warmup_step_seconds);
    });
  }
  at::Tensor video;
  for (int repeat = 0; repeat < std::max(1, settings_.n_repeats); ++repeat) {
    at::Tensor latents;
    record_.step_seconds.emplace_back();
    load_dit();  // loaded (again, after --offload_model) outside the timed denoising
    stage("denoise", repeat,
          [&] { latents = denoise(request, text, noise, request.steps, &record_.step_seconds.back()); });
    record_.cache = last_cache_record_;
    if (request.cache.enabled()) log_cache(record_.cache);
    if (settings_.offload_model) {
      family_->release_dit();
      core::release_cached_memory(settings_.device);
    }
    stage("decode", repeat, [&] { video = decode(latents); });
  }
  return video[0];
}

}  // namespace uspdit::pipeline
