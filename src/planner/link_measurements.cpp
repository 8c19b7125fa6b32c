#include "planner/link_measurements.h"

#include <algorithm>

#include "core/error.h"
#include "io/json.h"

namespace uspdit::planner {

void apply_link_measurements(HardwareProfile& hw, const std::string& path) {
  const auto doc = io::Json::parse_file(path, "--links takes the output of `uspdit check --json`");
  const io::Json* links = doc.find("links");
  require(links != nullptr && links->is_array(),
          "--links " + path +
              ": no \"links\" array; write the file with `mpirun -np N uspdit check --json > FILE`");
  double intra = 0, inter = 0;
  for (size_t i = 0; i < links->size(); ++i) {
    const io::Json& link = links->item(i);
    const io::Json* scope = link.find("scope");
    const io::Json* gbps = link.find("bandwidth_gbps");
    if (!scope || !scope->is_string() || !gbps || !gbps->is_number() || gbps->as_number() <= 0) continue;
    const double bytes_per_s = gbps->as_number() * 1e9;  // check's GB are 1e9 bytes
    double& slot = scope->as_string() == "inter-node" ? inter : intra;
    slot = slot == 0 ? bytes_per_s : std::min(slot, bytes_per_s);
  }
  require(intra > 0 || inter > 0, "--links " + path + ": no link with a bandwidth_gbps measurement");
  if (intra > 0) hw.intra_node_bytes_per_s = intra;
  if (inter > 0) hw.inter_node_bytes_per_s = inter;
  hw.link_efficiency = 1.0;
  hw.description += ", links measured (" + path + ")";
}

}  // namespace uspdit::planner
