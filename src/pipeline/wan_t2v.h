// Wan 2.1 text-to-video: the shared pipeline (t2v_pipeline.h) with Wan's family plugged in
// (wan_family.h), taking Wan's own request. Everything but the request conversion and its checks
// is the skeleton's.
#pragma once

#include "parallel/mesh.h"
#include "pipeline/t2v_pipeline.h"
#include "pipeline/wan_family.h"
#include "pipeline/wan_t2v_files.h"
#include "pipeline/wan_t2v_request.h"

namespace uspdit::pipeline {

using WanT2vSettings = T2vSettings;

class WanT2vPipeline : public T2vPipeline {
 public:
  WanT2vPipeline(parallel::ProcessMesh& mesh, WanT2vFiles files, WanT2vSettings settings);

  using T2vPipeline::denoise;
  using T2vPipeline::encode_prompts;
  using T2vPipeline::generate;
  using T2vPipeline::initial_noise;

  // validate(request), then the skeleton's run.
  at::Tensor generate(const WanT2vRequest& request);
  PromptEmbeddings encode_prompts(const WanT2vRequest& request) {
    return encode_prompts(to_t2v_request(request));
  }
  at::Tensor initial_noise(const WanT2vRequest& request) const {
    return initial_noise(to_t2v_request(request));
  }
  at::Tensor denoise(const WanT2vRequest& request, const PromptEmbeddings& text, at::Tensor latents,
                     int steps_to_run, std::vector<double>* step_seconds) {
    return denoise(to_t2v_request(request), text, std::move(latents), steps_to_run, step_seconds);
  }
};

}  // namespace uspdit::pipeline
