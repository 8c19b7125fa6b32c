#include "parallel/watched_communicator.h"

#include <ATen/ATen.h>

#include "parallel/watchdog.h"

namespace uspdit::parallel {
namespace {

// Leaves the collective on every way out, an exception included.
class Entered {
 public:
  Entered(uint32_t group, uint64_t sequence, const char* op,
          const std::shared_ptr<const std::vector<int>>& members)
      : dog_(Watchdog::active()) {
    if (dog_) dog_->enter(group, sequence, op, members);
  }
  ~Entered() {
    if (dog_) dog_->leave();
  }
  Entered(const Entered&) = delete;
  Entered& operator=(const Entered&) = delete;

 private:
  Watchdog* dog_;
};

class WatchedOp final : public PendingOp {
 public:
  WatchedOp(std::unique_ptr<PendingOp> inner, uint32_t group, uint64_t sequence,
            std::shared_ptr<const std::vector<int>> members)
      : inner_(std::move(inner)), group_(group), sequence_(sequence), members_(std::move(members)) {}
  void wait() override {
    Entered entered(group_, sequence_, "send_recv", members_);
    inner_->wait();
  }

 private:
  std::unique_ptr<PendingOp> inner_;
  uint32_t group_;
  uint64_t sequence_;
  std::shared_ptr<const std::vector<int>> members_;
};

// FNV-1a over the parent's id, the split's number in the parent and the color: equal on the
// members of one new group, different (with overwhelming odds) between groups.
uint32_t child_group(uint32_t parent, uint32_t split_number, int color) {
  uint32_t h = 2166136261u;
  for (uint32_t word : {parent, split_number, static_cast<uint32_t>(color)}) {
    for (int i = 0; i < 4; ++i) {
      h ^= (word >> (8 * i)) & 0xffu;
      h *= 16777619u;
    }
  }
  return h == 0 ? 1 : h;  // 0 is the world
}

}  // namespace

WatchedCommunicator::WatchedCommunicator(std::unique_ptr<Communicator> inner, uint32_t group,
                                         std::vector<int> members)
    : Communicator(inner->shared_stats()),
      inner_(std::move(inner)),
      group_(group),
      members_(std::make_shared<const std::vector<int>>(std::move(members))) {}

template <typename Call>
auto WatchedCommunicator::watched(const char* op, Call&& call) {
  Entered entered(group_, ++sequence_, op, members_);
  return call();
}

void WatchedCommunicator::all_to_all_v(const at::Tensor& send, std::span<const int64_t> send_counts,
                                       at::Tensor& recv, std::span<const int64_t> recv_counts) {
  watched("all_to_all_v", [&] { inner_->all_to_all_v(send, send_counts, recv, recv_counts); });
}

void WatchedCommunicator::all_gather_v(const at::Tensor& send, at::Tensor& recv,
                                       std::span<const int64_t> counts) {
  watched("all_gather_v", [&] { inner_->all_gather_v(send, recv, counts); });
}

std::unique_ptr<PendingOp> WatchedCommunicator::send_recv_async(const at::Tensor& send, int dst,
                                                                at::Tensor& recv, int src) {
  const uint64_t sequence = ++sequence_;
  auto op = [&] {
    Entered entered(group_, sequence, "send_recv", members_);
    return inner_->send_recv_async(send, dst, recv, src);
  }();
  return std::make_unique<WatchedOp>(std::move(op), group_, sequence, members_);
}

void WatchedCommunicator::broadcast(at::Tensor& tensor, int root) {
  watched("broadcast", [&] { inner_->broadcast(tensor, root); });
}

void WatchedCommunicator::all_reduce_max(at::Tensor& tensor) {
  watched("all_reduce_max", [&] { inner_->all_reduce_max(tensor); });
}

void WatchedCommunicator::all_reduce_sum(at::Tensor& tensor) {
  watched("all_reduce_sum", [&] { inner_->all_reduce_sum(tensor); });
}

void WatchedCommunicator::barrier() {
  watched("barrier", [&] { inner_->barrier(); });
}

std::unique_ptr<Communicator> WatchedCommunicator::split(int color, int key) {
  std::vector<int> members;
  auto sub = watched("split", [&] {
    auto group = inner_->split(color, key);
    // The new group's world ranks, for the watchdog's "did not arrive" (once per split).
    auto mine = at::full({1}, members_->at(static_cast<size_t>(rank())), at::kInt);
    auto all = at::empty({group->size()}, at::kInt);
    const std::vector<int64_t> counts(static_cast<size_t>(group->size()), 1);
    group->host_all_gather_v(mine, all, counts);
    members.assign(all.data_ptr<int>(), all.data_ptr<int>() + group->size());
    return group;
  });
  return std::make_unique<WatchedCommunicator>(std::move(sub), child_group(group_, ++splits_, color),
                                               std::move(members));
}

}  // namespace uspdit::parallel
