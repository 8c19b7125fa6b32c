#include "attention/usp.h"

#include <ATen/ATen.h>

#include <vector>

#include "attention/ulysses.h"
#include "core/error.h"

namespace uspdit::attention {
namespace {

// Which tokens every sequence chunk holds: video chunk c, then (kSplit) text chunk c.
struct ChunkLayout {
  parallel::SequenceSplit video;
  parallel::SequenceSplit text;  // all zero unless kSplit
  at::Tensor text_valid;     // [B, Lt] or undefined

  int64_t length(int c) const { return video.lengths[c] + text.lengths[c]; }

  // Key mask of chunks [first, last) concatenated; undefined when every key there is real.
  at::Tensor key_valid(int first, int last, int64_t batch) const {
    if (!text_valid.defined()) return {};
    std::vector<at::Tensor> parts;
    for (int c = first; c < last; ++c) {
      parts.push_back(at::ones({batch, video.lengths[c]}, text_valid.options()));
      parts.push_back(text_valid.narrow(1, text.offsets[c], text.lengths[c]));
    }
    return at::cat(parts, 1);
  }
};

at::Tensor slice_heads(const at::Tensor& x, int group_rank, int64_t heads_per_rank) {
  return x.narrow(2, group_rank * heads_per_rank, heads_per_rank);
}

// Text rows [B, Lt_r, h, D] computed by every sequence rank (ring r, ulysses u) -> [B, Lt, H, D].
at::Tensor gather_text_output(parallel::Communicator& sequence, const at::Tensor& mine,
                              const parallel::SequenceSplit& rows_per_ring_rank, int U, int64_t B,
                              int64_t h, int64_t D) {
  const int R = rows_per_ring_rank.parts();
  std::vector<int64_t> counts(U * R);
  for (int r = 0; r < R; ++r)
    for (int u = 0; u < U; ++u) counts[r * U + u] = B * rows_per_ring_rank.lengths[r] * h * D;
  auto all = at::empty({B * rows_per_ring_rank.total() * U * h * D}, mine.options());
  sequence.all_gather_v(mine.contiguous().view({-1}), all, counts);
  std::vector<at::Tensor> rows;
  int64_t offset = 0;
  for (int r = 0; r < R; ++r) {
    const int64_t n = rows_per_ring_rank.lengths[r];
    std::vector<at::Tensor> heads;
    for (int u = 0; u < U; ++u) {
      heads.push_back(all.narrow(0, offset, B * n * h * D).view({B, n, h, D}));
      offset += B * n * h * D;
    }
    rows.push_back(at::cat(heads, 2));
  }
  return at::cat(rows, 1);
}

}  // namespace

JointStrategy parse_joint_strategy(const std::string& name, int64_t text_length, int sequence_degree) {
  if (name == "split") return JointStrategy::kSplit;
  if (name == "front") return JointStrategy::kFront;
  if (name == "rear") return JointStrategy::kRear;
  if (name == "auto") {
    return text_length % sequence_degree == 0 ? JointStrategy::kSplit : JointStrategy::kFront;
  }
  throw UsageError("unknown joint strategy '" + name + "': use auto, split, front or rear");
}

const char* joint_strategy_name(JointStrategy strategy) {
  switch (strategy) {
    case JointStrategy::kSplit: return "split";
    case JointStrategy::kFront: return "front";
    case JointStrategy::kRear: return "rear";
  }
  return "?";
}

UspOutput usp_attention(parallel::ProcessMesh& mesh, const at::Tensor& q, const at::Tensor& k,
                        const at::Tensor& v, const parallel::SequenceSplit& video_split,
                        const JointText* text, const UspOptions& options) {
  auto& ulysses = mesh.ulysses();
  auto& ring = mesh.ring();
  const int U = ulysses.size(), R = ring.size(), P = U * R;
  const int u = ulysses.rank(), r = ring.rank(), chunk = r * U + u;
  const int64_t B = q.size(0), H = q.size(2), D = q.size(3), h = H / U;
  if (video_split.parts() != P || video_split.lengths[chunk] != q.size(1)) {
    throw std::invalid_argument("usp_attention: local tokens do not match the sequence split");
  }
  const bool split_text = text && text->strategy == JointStrategy::kSplit;
  const bool replicated_text = text && !split_text;

  ChunkLayout layout{video_split, parallel::SequenceSplit::even(split_text ? text->length : 0, P),
                     text ? text->key_valid : at::Tensor()};
  std::vector<int64_t> ulysses_lengths(U), ring_lengths(R);
  for (int j = 0; j < U; ++j) ulysses_lengths[j] = layout.length(r * U + j);
  for (int j = 0; j < R; ++j) {
    ring_lengths[j] = 0;
    for (int i = 0; i < U; ++i) ring_lengths[j] += layout.length(j * U + i);
  }

  // 1. Q, K, V of this rank's chunk, packed: one all-to-all instead of three.
  auto local_qkv = split_text ? at::stack({at::cat({q, text->q}, 1), at::cat({k, text->k}, 1),
                                           at::cat({v, text->v}, 1)})
                              : at::stack({q, k, v});
  auto qkv = ulysses_scatter_heads(ulysses, local_qkv, ulysses_lengths);  // [3, B, S_r, h, D]
  const int64_t block_tokens = qkv.size(2);
  auto queries = qkv[0];
  auto kv = qkv.narrow(0, 1, 2).contiguous();

  // 2. Replicated text: this rank's heads of the text K/V, and its share of the text queries.
  InjectedBlock injected;
  parallel::SequenceSplit text_rows = parallel::SequenceSplit::even(replicated_text ? text->length : 0, R);
  if (replicated_text) {
    injected.k = slice_heads(text->k, u, h);
    injected.v = slice_heads(text->v, u, h);
    injected.key_valid = text->key_valid;
    injected.at_front = text->strategy == JointStrategy::kFront;
    auto my_text_queries = parallel::take_chunk(slice_heads(text->q, u, h), 1, text_rows, r);
    queries = at::cat({queries, my_text_queries}, 1);
  }

  // 3. Ring over the blocks of the ring group (R == 1: just the local block).
  UspOutput result;
  auto key_valid_of = [&](int ring_rank) {
    return layout.key_valid(ring_rank * U, (ring_rank + 1) * U, B);
  };
  auto acc = ring_attention(ring, queries.contiguous(), kv, ring_lengths, key_valid_of,
                            replicated_text ? &injected : nullptr, options.scale, &result.ring);
  auto out = acc.result(q.scalar_type());  // [B, Sq, h, D]

  // 4. Back to token sharding.
  auto mine = ulysses_gather_heads(ulysses, out.narrow(1, 0, block_tokens).contiguous(), ulysses_lengths);
  if (split_text) {
    const int64_t video_len = video_split.lengths[chunk];
    result.out = mine.narrow(1, 0, video_len);
    result.text_out = mine.narrow(1, video_len, mine.size(1) - video_len);
  } else {
    result.out = mine;
  }
  if (replicated_text) {
    auto text_part = out.narrow(1, block_tokens, out.size(1) - block_tokens);
    result.text_out = gather_text_output(mesh.sequence(), text_part, text_rows, U, B, h, D);
  }
  return result;
}

}  // namespace uspdit::attention
