// Per-rank memory of a text-to-video run, stage by stage, before anything is loaded: what
// `uspdit plan` shows per configuration and what `uspdit generate` checks before reading weights.
//
// The stages are the pipeline's (pipeline/t2v_pipeline.cpp), in its order: the VAE is loaded
// first and stays; the text encoder(s) are loaded on rank 0 (every rank with
// --text-encoder-on-every-rank or one rank), run and freed; the DiT is loaded and denoises; the
// VAE decodes (rows split across ranks, or tiles dealt to them), the DiT still resident unless
// offloaded. A rank's peak is the largest stage plus what the runtime holds before any of it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "parallel/mesh.h"
#include "planner/model_profile.h"

namespace uspdit::planner {

// The DiT's activation terms, in tensors of one element per token of the hidden (or MLP) width
// alive at a block's peak: the blocks' dataflow (counts in the comments) times 4/3 for the
// allocator's slack (freed blocks glibc keeps), checked against measured peaks
// (bench/plan_model.md). One set for every model and device.
struct ActivationFactors {
  double dit_attention = 16.0;     // 12: Q, K, V, the all-to-all's send and receive, output, its exchange
  double dit_mlp_hidden = 4.0;     // 3: per MLP channel: hidden, activation, the fused input
  double dit_residual_fp32 = 4.0;  // 3: fp32 residual stream, its norm and the modulated copy
};

struct StageMemory {
  std::string stage;  // load_vae, encode_text, load_dit, denoise, decode
  int64_t rank0 = 0;  // bytes on rank 0 above the runtime's own
  int64_t other = 0;  // on every other rank
};

struct MemoryEstimate {
  int64_t runtime_bytes = 0;  // held before any stage (libraries, communicator, tokenizers)
  int64_t vae_weights = 0, text_weights = 0, dit_weights = 0;
  int64_t text_activations = 0;    // on the encoding rank
  int64_t dit_activations = 0;     // one rank's largest block, its share of the tokens
  int64_t decode_activations = 0;  // one rank's decode chunk (rows or tile)
  int64_t video_bytes = 0;         // the decoded video every rank ends with (fp32)
  std::vector<StageMemory> stages;
  int64_t peak_rank0 = 0, peak_other = 0;  // runtime + the largest stage
  std::string peak_stage;                  // of the rank with the larger peak

  int64_t peak() const { return peak_rank0 > peak_other ? peak_rank0 : peak_other; }
};

// `runtime_bytes`: what a rank holds before the first stage (the CPU: the process's RSS after
// start-up; a GPU: the context and communicator buffers, cudnn/cublas workspaces).
MemoryEstimate estimate_memory(const ModelProfile& model, const RunShape& run,
                               const parallel::ParallelDegrees& mesh, int64_t runtime_bytes,
                               const ActivationFactors& factors = {});

// Tokens this rank holds in the DiT's blocks: its share of the video tokens (the first ranks get
// one more when the split is uneven) plus its share of joint text, times the batch (2 when both
// CFG branches run on every rank).
int64_t tokens_per_rank(const ModelProfile& model, const RunShape& run,
                        const parallel::ParallelDegrees& mesh);

// "12.34 GiB".
std::string gib(int64_t bytes);

}  // namespace uspdit::planner
