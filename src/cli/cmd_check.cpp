// placeholder, replaced by the check implementation in this session
#include "cli/commands.h"
#include "core/error.h"
namespace uspdit::cli {
int run_check(Args&) { throw UsageError("check: not built yet"); }
}
