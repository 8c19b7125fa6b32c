#include "attention/usp_problem.h"

#include <ATen/ATen.h>

#include <vector>

#include "core/device.h"
#include "parallel/sequence_gather.h"

namespace uspdit::attention {

GlobalInputs make_global_inputs(const AttnProblem& p) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(p.seed);
  auto opts = at::TensorOptions().dtype(at::kFloat);
  auto randn = [&](int64_t len) {
    return at::randn({p.batch, len, p.heads, p.head_dim}, gen, opts).to(p.dtype);
  };
  GlobalInputs g;
  g.q = randn(p.seq_len);
  g.k = randn(p.seq_len);
  g.v = randn(p.seq_len);
  if (p.text_len > 0) {
    g.text_q = randn(p.text_len);
    g.text_k = randn(p.text_len);
    g.text_v = randn(p.text_len);
    if (p.text_padding > 0) {
      // Row 0 has `text_padding` padded tokens at the end; other rows have none, so the mask
      // really differs across the batch, as with CFG's conditional/unconditional pair.
      g.text_valid = at::ones({p.batch, p.text_len}, at::kBool);
      g.text_valid[0].narrow(0, p.text_len - p.text_padding, p.text_padding).fill_(false);
    }
  }
  return g;
}

ShardedInputs shard_inputs(const GlobalInputs& g, const parallel::ProcessMesh& mesh, JointStrategy strategy) {
  const auto& d = mesh.degrees();
  const int chunk = mesh.sequence_chunk();
  ShardedInputs s;
  s.video_split = parallel::SequenceSplit::even(g.q.size(1), d.sequence_parallel());
  s.q = parallel::take_chunk(g.q, 1, s.video_split, chunk).contiguous();
  s.k = parallel::take_chunk(g.k, 1, s.video_split, chunk).contiguous();
  s.v = parallel::take_chunk(g.v, 1, s.video_split, chunk).contiguous();
  if (g.text_q.defined()) {
    JointText t;
    t.length = g.text_q.size(1);
    t.strategy = strategy;
    t.key_valid = g.text_valid;
    if (strategy == JointStrategy::kSplit) {
      auto split = parallel::SequenceSplit::even(t.length, d.sequence_parallel());
      t.q = parallel::take_chunk(g.text_q, 1, split, chunk).contiguous();
      t.k = parallel::take_chunk(g.text_k, 1, split, chunk).contiguous();
      t.v = parallel::take_chunk(g.text_v, 1, split, chunk).contiguous();
    } else {
      t.q = g.text_q;
      t.k = g.text_k;
      t.v = g.text_v;
    }
    s.text = t;
  }
  return s;
}

void move_to(ShardedInputs& in, const at::Device& device) {
  auto move = [&](at::Tensor& t) {
    if (t.defined()) t = t.to(device);
  };
  move(in.q);
  move(in.k);
  move(in.v);
  if (in.text) {
    move(in.text->q);
    move(in.text->k);
    move(in.text->v);
    move(in.text->key_valid);
  }
}

GatheredOutput gather_output(parallel::ProcessMesh& mesh, const UspOutput& out, const ShardedInputs& in,
                             JointStrategy strategy) {
  GatheredOutput g;
  g.video = parallel::gather_sequence(mesh.sequence(), out.out, in.video_split);
  if (in.text) {
    if (strategy == JointStrategy::kSplit) {
      g.text = parallel::gather_sequence(mesh.sequence(), out.text_out,
                             parallel::SequenceSplit::even(in.text->length, mesh.degrees().sequence_parallel()));
    } else {
      g.text = out.text_out;  // already complete on every rank
    }
  }
  return g;
}

GatheredOutput reference_output(const GlobalInputs& g) {
  GatheredOutput ref;
  if (!g.text_q.defined()) {
    ref.video = attention(g.q, g.k, g.v);
    return ref;
  }
  const int64_t B = g.q.size(0), L = g.q.size(1);
  auto q = at::cat({g.q, g.text_q}, 1), k = at::cat({g.k, g.text_k}, 1), v = at::cat({g.v, g.text_v}, 1);
  at::Tensor valid;
  if (g.text_valid.defined()) valid = at::cat({at::ones({B, L}, at::kBool), g.text_valid}, 1);
  auto out = attention(q, k, v, valid);
  ref.video = out.narrow(1, 0, L);
  ref.text = out.narrow(1, L, out.size(1) - L);
  return ref;
}

double max_abs_error(const GatheredOutput& a, const GatheredOutput& b) {
  auto host = [](const at::Tensor& t) { return core::to_host(t).to(at::kFloat); };
  double err = (host(a.video) - host(b.video)).abs().max().item<double>();
  if (a.text.defined() || b.text.defined()) {
    if (!a.text.defined() || !b.text.defined()) return INFINITY;
    err = std::max(err, (host(a.text) - host(b.text)).abs().max().item<double>());
  }
  return err;
}

TrafficFormula traffic_formula(int64_t batch, int64_t tokens, int64_t heads, int64_t head_dim,
                               int ulysses, int ring) {
  const double P = static_cast<double>(ulysses) * ring;
  const double per_rank = static_cast<double>(batch) * tokens / P * heads * head_dim;
  TrafficFormula f;
  f.ulysses_elements = 4.0 * (ulysses - 1) / ulysses * per_rank;
  // After the Ulysses all-to-all a ring rank holds U chunks of H/U heads: the same L/P·H·D elements.
  f.ring_elements = 2.0 * (ring - 1) * per_rank;
  return f;
}

}  // namespace uspdit::attention
