// `uspdit plan --links FILE`: the link bandwidths `uspdit check --json` measured on the job's own
// machines, in place of a profile's datasheet figures. The slowest measured link of each scope
// (intra-node, inter-node) decides, as the slowest hop decides a ring or an all-to-all.
#pragma once

#include <string>

#include "planner/hardware_profiles.h"

namespace uspdit::planner {

// Replaces hw's link bandwidths by the measured ones found in the file (a scope the file has no
// measurement of keeps the profile's figure) and sets its link efficiency to 1 (measured rates
// are achieved rates). UsageError naming the file when it is not `uspdit check --json` output.
void apply_link_measurements(HardwareProfile& hw, const std::string& path);

}  // namespace uspdit::planner
