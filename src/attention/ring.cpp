#include "attention/ring.h"

#include <ATen/ATen.h>

#include <memory>

#include "core/timer.h"

namespace uspdit::attention {

AttentionAccumulator ring_attention(parallel::Communicator& ring, const at::Tensor& q, const at::Tensor& kv,
                                    std::span<const int64_t> block_lengths,
                                    const std::function<at::Tensor(int)>& key_valid_of,
                                    const InjectedBlock* injected, std::optional<double> scale,
                                    RingTimings* timings) {
  const int R = ring.size(), r = ring.rank();
  const int next = (r + 1) % R, prev = (r - 1 + R) % R;
  AttentionAccumulator acc;
  RingTimings local;
  auto attend = [&](const at::Tensor& k, const at::Tensor& v, const at::Tensor& key_valid) {
    Stopwatch sw;
    acc.add(attend_block(q, k, v, key_valid, scale));
    local.compute_seconds += sw.seconds();
  };
  if (injected && injected->at_front) attend(injected->k, injected->v, injected->key_valid);

  at::Tensor current = kv;
  for (int step = 0; step < R; ++step) {
    const int owner = (r - step + R) % R;  // whose block `current` is
    std::unique_ptr<parallel::PendingOp> transfer;
    at::Tensor incoming;
    if (step + 1 < R) {
      // The block we will need next belongs to the rank one further back.
      const int next_owner = (owner - 1 + R) % R;
      auto shape = kv.sizes().vec();
      shape[2] = block_lengths[next_owner];
      incoming = at::empty(shape, kv.options());
      transfer = ring.send_recv_async(current, next, incoming, prev);
    }
    attend(current[0], current[1], key_valid_of(owner));
    if (transfer) {
      Stopwatch sw;
      transfer->wait();
      local.wait_seconds += sw.seconds();
      current = incoming;
    }
  }

  if (injected && !injected->at_front) attend(injected->k, injected->v, injected->key_valid);
  if (timings) {
    timings->compute_seconds += local.compute_seconds;
    timings->wait_seconds += local.wait_seconds;
  }
  return acc;
}

}  // namespace uspdit::attention
