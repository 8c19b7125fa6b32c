// placeholder, replaced by the plan implementation in this session
#include "cli/commands.h"
#include "core/error.h"
namespace uspdit::cli {
int run_plan(Args&) { throw UsageError("plan: not built yet"); }
}
