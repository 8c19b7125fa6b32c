// Making every rank reach the same decision about a step that can fail on some ranks only
// (a checkpoint file missing on one node, an unreadable input): the step runs everywhere, then
// all ranks learn whether any failed, and all throw the first failing rank's message. Without
// this, the ranks that succeeded would wait forever in the next collective.
#pragma once

#include <functional>
#include <string>

#include "parallel/bootstrap.h"
#include "parallel/communicator.h"

namespace uspdit::parallel {

// Runs step; if it throws on any rank, every rank throws UsageError with the message of the
// lowest failing rank (prefixed with that rank when it is not this one). Collective.
void run_agreed(Communicator& comm, const std::function<void()>& step);

// The same before any communicator exists, over the launch's rendezvous (torchrun's store), for
// the start-up decisions (device, backend). torchrun stops every worker as soon as one exits, so
// without this a slower rank's reason would be cut off: here no rank leaves before every rank
// has decided. A rank that failed throws its own message (its reason may differ from rank 0's);
// the others throw the lowest failing rank's. Collective over `rendezvous`; `key` is new per call.
void run_agreed(Bootstrap& rendezvous, const std::string& key, const std::function<void()>& step);

}  // namespace uspdit::parallel
