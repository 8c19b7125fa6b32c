#include "cli/args.h"

#include <cstdlib>

namespace uspdit::cli {

parallel::CommBackend comm_backend(Args& args) {
  const char* from_env = std::getenv("USPDIT_COMM");
  return parallel::parse_comm_backend(args.get_string("comm", from_env && *from_env ? from_env : "auto"));
}

core::DeviceRequest device_request(Args& args) {
  return core::parse_device_request(args.get_string("device", "auto"));
}

}  // namespace uspdit::cli
