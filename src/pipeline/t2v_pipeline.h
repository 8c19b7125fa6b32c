// Text-to-video on a process mesh, for any model family (t2v_family.h): prompt → text
// conditioning → flow-matching denoising with classifier-free guidance → VAE decode → video.
//
// Parallelism: the DiT runs sequence-parallel on the mesh's ulysses × ring group; with cfg = 2
// the conditional and unconditional branches run on two such groups at once and swap their
// predictions (one all-gather per step); the VAE decode is shared by the whole world. Every rank
// draws the same noise (CPU generator, so also the same on any device) and runs the same
// scheduler arithmetic, so the latents never need a broadcast and every configuration produces
// the same video.
//
// Memory: the text encoder is loaded (on rank 0 only, by default), run once per prompt and freed
// before the DiT is loaded.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "parallel/mesh.h"
#include "pipeline/run_record.h"
#include "pipeline/t2v_family.h"

namespace uspdit::pipeline {

class T2vPipeline {
 public:
  T2vPipeline(parallel::ProcessMesh& mesh, std::unique_ptr<T2vFamily> family, T2vSettings settings);
  virtual ~T2vPipeline();

  // The whole run; every rank of the mesh calls it and every rank returns the video
  // [3, F, H, W] fp32 in [-1, 1]. Measurements accumulate in record().
  at::Tensor generate(const T2vRequest& request);

  // The stages, public for tests and for callers that want only part of the run.
  PromptEmbeddings encode_prompts(const T2vRequest& request);
  at::Tensor initial_noise(const T2vRequest& request) const;  // request.latent_shape
  at::Tensor denoise(const T2vRequest& request, const PromptEmbeddings& text, at::Tensor latents,
                     int steps_to_run, std::vector<double>* step_seconds);
  at::Tensor decode(const at::Tensor& latents);  // [1, 3, F, H, W]

  const RunRecord& record() const { return record_; }
  // What step caching did in the latest denoise() (warm-up, a repeat or a direct call).
  const cache::CacheRecord& last_cache_record() const { return last_cache_record_; }
  T2vFamily& family() { return *family_; }
  const T2vSettings& settings() const { return settings_; }

 private:
  void load_dit();  // as stage "load_dit" when not loaded
  void load_vae();  // as stage "load_vae" when not loaded
  TextConditioning run_text_encoder(const std::vector<std::string>& prompts, const T2vRequest& request);
  // Runs `work` as stage `name`: time, own peak memory, bytes sent; a failure on one rank fails
  // it on every rank.
  void stage(const std::string& name, int repeat, const std::function<void()>& work);
  bool cfg_parallel() const { return mesh_.degrees().cfg == 2; }
  bool rank0() const { return mesh_.world().rank() == 0; }
  // CFG-parallel: each group knows its own branch's pattern; both groups get both.
  void share_cache_pattern(cache::CacheRecord& record);
  void log_cache(const cache::CacheRecord& record) const;

  parallel::ProcessMesh& mesh_;
  std::unique_ptr<T2vFamily> family_;
  T2vSettings settings_;
  std::unique_ptr<parallel::Communicator>
      decode_group_;  // when the world has more ranks than can share a decode
  int decode_group_ranks_ = 0;
  RunRecord record_;
  cache::CacheRecord last_cache_record_;  // the latest denoise() run's caching
};

}  // namespace uspdit::pipeline
