#include "parallel/mesh.h"

#include <sstream>

#include "core/error.h"

namespace uspdit::parallel {

std::string describe(const ParallelDegrees& d) {
  std::ostringstream out;
  out << "ulysses " << d.ulysses << " × ring " << d.ring << " × cfg " << d.cfg;
  return out.str();
}

MeshCoord coord_of(int rank, const ParallelDegrees& d) {
  MeshCoord c;
  c.ulysses = rank % d.ulysses;
  c.ring = (rank / d.ulysses) % d.ring;
  c.cfg = rank / (d.ulysses * d.ring);
  return c;
}

int rank_of(const MeshCoord& c, const ParallelDegrees& d) {
  return (c.cfg * d.ring + c.ring) * d.ulysses + c.ulysses;
}

std::vector<ParallelDegrees> valid_degrees(int world, int heads, bool allow_cfg) {
  std::vector<ParallelDegrees> out;
  if (world < 1 || heads < 1) return out;
  for (int cfg = 1; cfg <= (allow_cfg ? 2 : 1); ++cfg) {
    if (world % cfg != 0) continue;
    int sp = world / cfg;
    for (int u = sp; u >= 1; --u) {
      if (sp % u == 0 && heads % u == 0) out.push_back({u, sp / u, cfg});
    }
  }
  return out;
}

void validate_degrees(const ParallelDegrees& d, int world, int heads, const std::string& model,
                      bool allow_cfg) {
  std::string problem;
  if (d.ulysses < 1 || d.ring < 1 || d.cfg < 1) {
    problem = "every degree must be >= 1 (got " + describe(d) + ")";
  } else if (d.cfg > 2) {
    problem = "cfg degree must be 1 or 2 (got " + std::to_string(d.cfg) + ")";
  } else if (d.cfg == 2 && !allow_cfg) {
    problem = "cfg degree 2 needs classifier-free guidance, which this run does not use";
  } else if (d.world() != world) {
    problem = describe(d) + " = " + std::to_string(d.world()) + " ranks, but the job has " +
              std::to_string(world);
  } else if (heads % d.ulysses != 0) {
    problem = "ulysses degree " + std::to_string(d.ulysses) + " does not divide the " +
              std::to_string(heads) + " attention heads";
  } else {
    return;
  }
  std::ostringstream msg;
  msg << "invalid parallel configuration: " << problem << ". Valid for " << model << " ("
      << heads << " heads) on " << world << " ranks (--ulysses-degree U --ring-degree R"
      << (allow_cfg ? " [--use_cfg_parallel]" : "") << "): ";
  auto choices = valid_degrees(world, heads, allow_cfg);
  if (choices.empty()) msg << "none";
  for (size_t i = 0; i < choices.size(); ++i) {
    const auto& c = choices[i];
    msg << (i ? ", " : "") << "U=" << c.ulysses << " R=" << c.ring << (c.cfg == 2 ? " cfg=2" : "");
  }
  throw UsageError(msg.str());
}

ProcessMesh::ProcessMesh(Communicator& world, const ParallelDegrees& degrees)
    : world_(world), degrees_(degrees), coord_(coord_of(world.rank(), degrees)) {
  if (degrees.world() != world.size()) {
    throw UsageError("mesh " + describe(degrees) + " does not match world size " +
                     std::to_string(world.size()));
  }
  const auto& c = coord_;
  const int U = degrees.ulysses, R = degrees.ring;
  // Colors identify the group; keys order ranks within it by their coordinate on that axis.
  ulysses_ = world.split(c.cfg * R + c.ring, c.ulysses);
  ring_ = world.split(c.cfg * U + c.ulysses, c.ring);
  sequence_ = world.split(c.cfg, c.ring * U + c.ulysses);
  cfg_ = world.split(c.ring * U + c.ulysses, c.cfg);
}

}  // namespace uspdit::parallel
