// The planner behind `uspdit plan`: which (ulysses, ring, cfg) meshes can run a model on a
// cluster, what each one sends per rank, how much of that leaves the node, and which to use.
//
// Pure arithmetic on the mesh layout of mesh.h (ulysses contiguous, ring strided by U, cfg
// outermost; rank r lives on node r / gpus_per_node): no MPI, no tensors, so it runs on a
// laptop before anyone books a cluster.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "parallel/mesh.h"

namespace uspdit::parallel {

// What the planner needs to know about a model: its attention shape and a representative
// video length. Text tokens are not counted: Wan's cross-attention replicates text (no traffic),
// and HunyuanVideo's 256 joint text tokens are under 0.3% of a 720p video. The published models'
// entries live with their families (pipeline/family_registry.h: plan_models, find_plan_model).
struct ModelSpec {
  std::string name;
  std::vector<std::string> aliases;
  int heads = 0;
  int head_dim = 0;
  int layers = 0;               // attention calls with sequence-parallel traffic per DiT step
  int64_t default_seq_len = 0;  // video tokens per sample
  std::string default_shape;    // what default_seq_len corresponds to, for the help text
};

// "250.90 MB": decimal units, as link bandwidths are quoted.
std::string format_bytes(double bytes);

// Bytes per element for a --dtype name (bf16, fp16, fp32, fp8); UsageError if unknown.
int dtype_bytes(const std::string& name);

struct PlanRequest {
  std::string model = "custom";  // label for output and messages
  int heads = 0;
  int head_dim = 0;
  int layers = 1;
  int64_t seq_len = 0;  // video tokens per sample
  int dtype_bytes = 2;
  int gpus_per_node = 8;
  int nodes = 1;
  bool cfg = false;  // classifier-free guidance: two branches per step, so cfg degree 2 is allowed
  // The DiT's prediction for one sample, in bytes as it is exchanged (fp32: latent elements × 4).
  // Every step the sequence group all-gathers it and, on cfg-2 meshes, the two halves swap
  // theirs. 0: not counted (a custom model with no latent shape).
  double output_bytes = 0;

  int world() const { return gpus_per_node * nodes; }
};

// Bytes one rank sends, split by whether the receiver is on the same node.
struct Traffic {
  double intra_node = 0;
  double inter_node = 0;
  double total() const { return intra_node + inter_node; }
};

struct PlanEntry {
  ParallelDegrees degrees;
  // Per attention call and per DiT step, for the rank that sends the most over the network:
  // every rank sends the same total, but the slowest link decides how long a call takes.
  Traffic per_call;
  Traffic per_step;
  double ulysses_bytes_per_call = 0;  // the all-to-all share of per_call.total()
  double ring_bytes_per_call = 0;     // the K/V ring share
  // Once per step, included in per_step: the prediction's all-gather over the sequence group,
  // and on cfg-2 meshes the exchange of the prediction with the other half.
  double gather_bytes_per_step = 0;
  double cfg_exchange_bytes_per_step = 0;
};

struct Plan {
  PlanRequest request;
  std::vector<PlanEntry> configurations;  // every valid mesh, in valid_degrees order
  size_t recommended = 0;                 // index into configurations
  std::string reason;                     // one sentence: why the recommended one

  const PlanEntry& best() const { return configurations[recommended]; }
};

// Traffic of one mesh for the request (the degrees are not validated here).
PlanEntry estimate_traffic(const PlanRequest& request, const ParallelDegrees& degrees);

// Every valid mesh with its traffic, and the recommendation. UsageError on nonsensical input
// (a count below 1) or when no mesh can run the request.
Plan make_plan(const PlanRequest& request);

}  // namespace uspdit::parallel
