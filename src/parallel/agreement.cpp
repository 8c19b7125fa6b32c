#include "parallel/agreement.h"

#include <ATen/ATen.h>

#include <climits>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/log.h"
#include "core/path_error.h"

namespace uspdit::parallel {

void run_agreed(Communicator& comm, const std::function<void()>& step) {
  std::string message;
  bool failed = false, usage = true;
  try {
    step();
  } catch (const UsageError& e) {
    failed = true;
    message = e.what();
  } catch (const std::filesystem::filesystem_error& e) {
    failed = true;
    message = core::describe_path_error(e);
  } catch (const std::exception& e) {
    failed = true;
    message = e.what();
    usage = false;
  }
  // Under max, the lowest failing rank wins (INT_MAX - rank); -1 when every rank succeeded.
  auto first = at::full({1}, static_cast<int64_t>(failed ? INT_MAX - comm.rank() : -1), at::kLong);
  // A GPU communicator (NCCL) cannot promise the agreement below after a partial failure: peers
  // may already wait in a collective this rank never joins. Say it here first, so the cause is on
  // the log even if the job then hangs until the launcher's watchdog ends it.
  if (failed && !comm.accepts(first)) log::error(message);
  comm.host_all_reduce_max(first);
  if (first.item<int64_t>() < 0) return;
  const int root = static_cast<int>(INT_MAX - first.item<int64_t>());
  // Root's message and whether it was a usage error, so every rank exits with the same code.
  auto header = at::tensor({static_cast<int64_t>(message.size()), static_cast<int64_t>(usage)}, at::kLong);
  comm.host_broadcast(header, root);
  const int64_t length = header[0].item<int64_t>();
  auto bytes = at::zeros({length + 1}, at::kByte);
  if (comm.rank() == root) std::copy(message.begin(), message.end(), bytes.data_ptr<uint8_t>());
  comm.host_broadcast(bytes, root);
  std::string text(reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>()), length);
  if (comm.rank() != root) text = "rank " + std::to_string(root) + ": " + text;
  if (header[1].item<int64_t>() != 0) throw UsageError(text);
  throw std::runtime_error(text);
}

void run_agreed(Bootstrap& rendezvous, const std::string& key, const std::function<void()>& step) {
  enum Outcome : uint8_t { kOk = 0, kUsage = 1, kFailed = 2 };
  std::vector<uint8_t> mine{kOk};
  try {
    step();
  } catch (const UsageError& e) {
    const std::string text = e.what();
    mine.assign(1, kUsage);
    mine.insert(mine.end(), text.begin(), text.end());
  } catch (const std::filesystem::filesystem_error& e) {
    const std::string text = core::describe_path_error(e);
    mine.assign(1, kUsage);
    mine.insert(mine.end(), text.begin(), text.end());
  } catch (const std::exception& e) {
    const std::string text = e.what();
    mine.assign(1, kFailed);
    mine.insert(mine.end(), text.begin(), text.end());
  }
  // Every rank's outcome, gathered even when this one failed: that wait is what keeps it alive
  // until its peers have decided too.
  const auto outcomes = rendezvous.all_gather(key, mine);
  auto rethrow = [](const std::vector<uint8_t>& outcome, const std::string& prefix) {
    const std::string text = prefix + std::string(outcome.begin() + 1, outcome.end());
    if (outcome[0] == kUsage) throw UsageError(text);
    throw std::runtime_error(text);
  };
  if (mine[0] != kOk) rethrow(mine, "");
  for (size_t r = 0; r < outcomes.size(); ++r) {
    if (!outcomes[r].empty() && outcomes[r][0] != kOk)
      rethrow(outcomes[r], "rank " + std::to_string(r) + ": ");
  }
}

}  // namespace uspdit::parallel
