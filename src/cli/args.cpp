#include "cli/args.h"

#include <cstdlib>
#include <sstream>
#include <string>

#include "core/error.h"
#include "parallel/watchdog.h"

namespace uspdit::cli {

parallel::CommBackend comm_backend(Args& args) {
  const char* from_env = std::getenv("USPDIT_COMM");
  return parallel::parse_comm_backend(args.get_string("comm", from_env && *from_env ? from_env : "auto"));
}

core::DeviceRequest device_request(Args& args) {
  return core::parse_device_request(args.get_string("device", "auto"));
}

void read_collective_timeout(Args& args) {
  const double seconds = args.get_double("timeout", parallel::kDefaultCollectiveTimeoutSeconds);
  std::ostringstream shown;
  shown << seconds;
  require(seconds >= 0, "--timeout must be >= 0 seconds (0 turns the collective watchdog off), got " + shown.str());
  parallel::set_collective_timeout(seconds);
}

}  // namespace uspdit::cli
