// The communication libraries this build uses, for `uspdit --version`. Defined in
// parallel/runtime.cpp, the one file that knows whether this build has NCCL.
#pragma once

#include <string>
#include <vector>

namespace uspdit::parallel {

// One line each: the MPI library (what it reports before MPI_Init) and, in a build with NCCL,
// the CUDA runtime it was built for, the driver and the NCCL it loaded.
std::vector<std::string> communication_library_versions();

}  // namespace uspdit::parallel
