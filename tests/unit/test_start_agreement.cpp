// The start-up agreement over the rendezvous (run_agreed on a Bootstrap): torchrun stops every
// worker as soon as one exits, so a rank that fails early must not leave before its slower peers
// have decided and can print their own line. Ranks are threads here, over an in-memory bootstrap.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "parallel/agreement.h"

namespace uspdit::parallel {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The keys of a store shared by every rank's view; get blocks until the key is set.
struct SharedStore {
  std::mutex mutex;
  std::condition_variable changed;
  std::map<std::string, std::vector<uint8_t>> values;
};

class InMemoryBootstrap final : public Bootstrap {
 public:
  InMemoryBootstrap(SharedStore& store, int rank, int world_size)
      : store_(store), rank_(rank), world_size_(world_size) {}

  std::vector<uint8_t> broadcast(const std::string& key, const std::vector<uint8_t>& bytes,
                                 int root) override {
    if (rank_ == root) set(key, bytes);
    return get(key);
  }

  std::vector<std::vector<uint8_t>> all_gather(const std::string& key,
                                               const std::vector<uint8_t>& bytes) override {
    set(key + "/" + std::to_string(rank_), bytes);
    std::vector<std::vector<uint8_t>> out;
    for (int r = 0; r < world_size_; ++r) out.push_back(get(key + "/" + std::to_string(r)));
    return out;
  }

 private:
  void set(const std::string& key, const std::vector<uint8_t>& bytes) {
    std::lock_guard lock(store_.mutex);
    store_.values[key] = bytes;
    store_.changed.notify_all();
  }
  std::vector<uint8_t> get(const std::string& key) {
    std::unique_lock lock(store_.mutex);
    store_.changed.wait(lock, [&] { return store_.values.count(key) > 0; });
    return store_.values[key];
  }

  SharedStore& store_;
  int rank_;
  int world_size_;
};

struct RankResult {
  std::string kind = "ok";  // ok, usage or failed
  std::string message;
  Clock::duration left_after{};
};

// Runs run_agreed on `steps.size()` threads, one rank each, and reports how each one ended.
std::vector<RankResult> agree(const std::vector<std::function<void()>>& steps) {
  SharedStore store;
  std::vector<RankResult> results(steps.size());
  std::vector<std::thread> ranks;
  const auto start = Clock::now();
  for (size_t r = 0; r < steps.size(); ++r) {
    ranks.emplace_back([&, r] {
      InMemoryBootstrap bootstrap(store, static_cast<int>(r), static_cast<int>(steps.size()));
      try {
        run_agreed(bootstrap, "start", steps[r]);
      } catch (const UsageError& e) {
        results[r] = {"usage", e.what(), {}};
      } catch (const std::exception& e) {
        results[r] = {"failed", e.what(), {}};
      }
      results[r].left_after = Clock::now() - start;
    });
  }
  for (auto& t : ranks) t.join();
  return results;
}

TEST(StartAgreement, EveryRankGoesOnWhenNoneFailed) {
  const auto results = agree({[] {}, [] {}, [] {}});
  for (const auto& r : results) EXPECT_EQ(r.kind, "ok") << r.message;
}

TEST(StartAgreement, AFastFailureWaitsForTheSlowestRankToDecide) {
  const auto results = agree({
      [] { throw UsageError("--device cuda, but this node has no GPU"); },
      [] { std::this_thread::sleep_for(300ms); },
  });
  EXPECT_EQ(results[0].kind, "usage");
  EXPECT_EQ(results[0].message, "--device cuda, but this node has no GPU");
  EXPECT_GE(results[0].left_after, 300ms) << "rank 0 left before rank 1 had decided";
  // The rank that could start stops too, naming the rank that could not and keeping its kind.
  EXPECT_EQ(results[1].kind, "usage");
  EXPECT_EQ(results[1].message, "rank 0: --device cuda, but this node has no GPU");
}

TEST(StartAgreement, EachFailingRankKeepsItsOwnReason) {
  const auto results = agree({
      [] {},
      [] { throw std::runtime_error("cannot open /dev/nvidia1"); },
      [] { throw UsageError("--comm nccl: ranks share a GPU"); },
  });
  EXPECT_EQ(results[0].kind, "failed");
  EXPECT_EQ(results[0].message, "rank 1: cannot open /dev/nvidia1");
  EXPECT_EQ(results[1].kind, "failed");
  EXPECT_EQ(results[1].message, "cannot open /dev/nvidia1");
  EXPECT_EQ(results[2].kind, "usage");
  EXPECT_EQ(results[2].message, "--comm nccl: ranks share a GPU");
}

}  // namespace
}  // namespace uspdit::parallel
