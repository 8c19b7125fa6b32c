// What `uspdit generate`'s memory preflight knows about the checkpoint it is about to load,
// counted from the weight files' indexes (names and shapes; no weight is read): the parameters
// each stage loads and the VAE decoder's full-resolution width.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "io/tensor_source.h"
#include "pipeline/t2v_family.h"
#include "planner/model_profile.h"

namespace uspdit::pipeline {

struct PlannedRun {
  planner::ModelProfile model;
  planner::RunShape run;
};

// Elements of every tensor `keep` accepts (all when empty).
int64_t count_parameters(const io::TensorSource& source,
                         const std::function<bool(const std::string&)>& keep = {});

// Elements of the largest tensor `keep` accepts (all when empty).
int64_t largest_tensor(const io::TensorSource& source,
                       const std::function<bool(const std::string&)>& keep = {});

// A VAE file's decoder: the parameters generate loads (decoder.* and the post-quant conv, not the
// encoder), and the channels of its last convolution's input (the full-resolution width).
planner::VaeShape vae_decoder_shape(const io::TensorSource& source, planner::VaeDecode decode,
                                    int64_t tile_frames);

// The run's shape from generate's request and the pipeline settings both families share (dtypes,
// VAE tiling, where the text encoder runs, offload); the family adds its VAE's bytes and what is
// its own (Wan's --t5_cpu).
planner::RunShape run_shape(int64_t height, int64_t width, int64_t frames, int steps, bool guided,
                            const T2vSettings& settings);

// A Llama text encoder read up to hidden_states[-1 - skipped]: the embedding and the layers that
// run (names "...layers.N..."), no lm_head.
int64_t llama_parameters_used(const io::TensorSource& source, int64_t skipped_last_layers);

}  // namespace uspdit::pipeline
