// Making every rank reach the same decision about a step that can fail on some ranks only
// (a checkpoint file missing on one node, an unreadable input): the step runs everywhere, then
// all ranks learn whether any failed, and all throw the first failing rank's message. Without
// this, the ranks that succeeded would wait forever in the next collective.
#pragma once

#include <functional>

#include "parallel/communicator.h"

namespace uspdit::parallel {

// Runs step; if it throws on any rank, every rank throws UsageError with the message of the
// lowest failing rank (prefixed with that rank when it is not this one). Collective.
void run_agreed(Communicator& comm, const std::function<void()>& step);

}  // namespace uspdit::parallel
